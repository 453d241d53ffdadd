// adapters/lora_merge.cc — adapter merging (concat, linear, TIES, DARE) and baking into weights.
#include "adapters/lora_merge.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "kernels/quant.h"

namespace odlm {
namespace {

// out [n_out, n_in] += f · B [n_out, r] · A [r, n_in]
void AddProduct(const LoraPair& p, float f, float* out) {
  for (int64_t o = 0; o < p.n_out; ++o) {
    float* row = out + o * p.n_in;
    for (int64_t k = 0; k < p.rank; ++k) {
      const float bk = f * p.b[o * p.rank + k];
      if (bk == 0.0f) continue;
      const float* a = &p.a[k * p.n_in];
      for (int64_t i = 0; i < p.n_in; ++i) row[i] += bk * a[i];
    }
  }
}

// Orthonormalizes the R columns of q [n, R]: Gram-Schmidt with a second pass against float
// round-off; a column with nothing left beyond the earlier ones (rank deficiency) becomes zero, so
// that round-off noise never turns into a spurious direction.
void Orthonormalize(std::vector<float>* q, int64_t n, int64_t R) {
  std::vector<double> col(n);
  for (int64_t c = 0; c < R; ++c) {
    double norm0 = 0;
    for (int64_t i = 0; i < n; ++i) {
      col[i] = (*q)[i * R + c];
      norm0 += col[i] * col[i];
    }
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t p = 0; p < c; ++p) {
        double dot = 0;
        for (int64_t i = 0; i < n; ++i) dot += col[i] * (*q)[i * R + p];
        for (int64_t i = 0; i < n; ++i) col[i] -= dot * (*q)[i * R + p];
      }
    }
    double norm = 0;
    for (int64_t i = 0; i < n; ++i) norm += col[i] * col[i];
    const bool keep = norm > 1e-10 * norm0 && norm > 1e-30;
    const double inv = keep ? 1.0 / std::sqrt(norm) : 0.0;
    for (int64_t i = 0; i < n; ++i) (*q)[i * R + c] = static_cast<float>(col[i] * inv);
  }
}

// Factors d [n_out, n_in] ≈ B [n_out, R] · A [R, n_in] by subspace iteration.
void Factor(const std::vector<float>& d, int64_t n_out, int64_t n_in, int64_t R, uint64_t seed,
            std::vector<float>* b, std::vector<float>* a) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> z(n_in * R);  // [n_in, R]
  for (float& v : z) v = normal(rng);
  std::vector<float> q(n_out * R, 0.0f);  // [n_out, R]
  for (int iter = 0; iter < 4; ++iter) {
    std::fill(q.begin(), q.end(), 0.0f);  // q = d · z
    for (int64_t o = 0; o < n_out; ++o) {
      for (int64_t i = 0; i < n_in; ++i) {
        const float v = d[o * n_in + i];
        if (v == 0.0f) continue;
        for (int64_t c = 0; c < R; ++c) q[o * R + c] += v * z[i * R + c];
      }
    }
    Orthonormalize(&q, n_out, R);
    std::fill(z.begin(), z.end(), 0.0f);  // z = dᵀ · q
    for (int64_t o = 0; o < n_out; ++o) {
      for (int64_t i = 0; i < n_in; ++i) {
        const float v = d[o * n_in + i];
        if (v == 0.0f) continue;
        for (int64_t c = 0; c < R; ++c) z[i * R + c] += v * q[o * R + c];
      }
    }
    if (iter < 3) Orthonormalize(&z, n_in, R);
  }
  // B = q, A = qᵀ d = zᵀ (z was computed from the final q without normalizing).
  b->assign(q.begin(), q.end());
  a->assign(R * n_in, 0.0f);
  for (int64_t i = 0; i < n_in; ++i) {
    for (int64_t c = 0; c < R; ++c) (*a)[c * n_in + i] = z[i * R + c];
  }
}

}  // namespace

bool ParseMergeMethod(std::string_view name, MergeMethod* method) {
  if (name == "linear" || name == "task_arithmetic") {
    *method = MergeMethod::kLinear;
  } else if (name == "ties") {
    *method = MergeMethod::kTies;
  } else if (name == "dare") {
    *method = MergeMethod::kDare;
  } else if (name == "cat" || name == "concat") {
    *method = MergeMethod::kConcat;
  } else {
    return false;
  }
  return true;
}

StatusOr<std::unique_ptr<LoraAdapter>> MergeAdapters(std::span<const LoraAdapter* const> adapters,
                                                     const MergeOptions& o,
                                                     const LoraBaseShape& base) {
  if (adapters.empty()) return InvalidArgumentError("nothing to merge: no adapters");
  std::vector<float> w = o.weights;
  if (w.empty()) w.assign(adapters.size(), 1.0f);
  if (w.size() != adapters.size()) {
    return InvalidArgumentError(std::to_string(w.size()) + " weights for " +
                                std::to_string(adapters.size()) + " adapters");
  }
  for (float x : w) {
    if (!std::isfinite(x)) return InvalidArgumentError("merge weights must be finite");
  }
  if (!(o.density > 0.0f && o.density <= 1.0f)) {
    return InvalidArgumentError("density must be in (0, 1]");
  }
  if (o.rank < 0) return InvalidArgumentError("rank must be >= 0");
  int32_t R = o.rank;
  for (const LoraAdapter* a : adapters) R = o.rank > 0 ? R : std::max(R, a->max_rank());

  std::vector<LoraPair> out;
  std::mt19937_64 rng(o.seed);
  for (int32_t layer = 0; layer < base.n_layer; ++layer) {
    for (int t = 0; t < kLoraTargetCount; ++t) {
      const LoraTarget target = static_cast<LoraTarget>(t);
      std::vector<std::pair<const LoraPair*, float>> in;  // pair, w_i · s_i
      for (size_t i = 0; i < adapters.size(); ++i) {
        if (const LoraPair* p = adapters[i]->Find(layer, target); p != nullptr) {
          in.emplace_back(p, w[i] * adapters[i]->Scaling(*p));
        }
      }
      if (in.empty()) continue;
      LoraPair m;
      m.layer = layer;
      m.target = target;
      m.n_in = in[0].first->n_in;
      m.n_out = in[0].first->n_out;
      if (o.method == MergeMethod::kConcat) {
        for (const auto& [p, f] : in) m.rank += p->rank;
        m.a.reserve(m.rank * m.n_in);
        for (const auto& [p, f] : in) m.a.insert(m.a.end(), p->a.begin(), p->a.end());
        m.b.assign(m.n_out * m.rank, 0.0f);
        int64_t col = 0;
        for (const auto& [p, f] : in) {
          for (int64_t r = 0; r < m.n_out; ++r) {
            for (int64_t k = 0; k < p->rank; ++k) {
              m.b[r * m.rank + col + k] = f * p->b[r * p->rank + k];
            }
          }
          col += p->rank;
        }
        out.push_back(std::move(m));
        continue;
      }
      const int64_t n = m.n_out * m.n_in;
      std::vector<float> d(n, 0.0f);  // [n_out, n_in] merged delta
      if (o.method == MergeMethod::kLinear) {
        for (const auto& [p, f] : in) AddProduct(*p, f, d.data());
      } else {
        std::vector<std::vector<float>> deltas;
        for (const auto& [p, f] : in) {
          deltas.emplace_back(n, 0.0f);
          AddProduct(*p, f, deltas.back().data());
        }
        if (o.method == MergeMethod::kDare) {
          std::bernoulli_distribution keep(o.density);
          for (auto& delta : deltas) {
            for (int64_t i = 0; i < n; ++i) {
              d[i] += keep(rng) ? delta[i] / o.density : 0.0f;
            }
          }
        } else {  // TIES: trim, elect sign, disjoint mean
          for (auto& delta : deltas) {
            const int64_t k =
                std::max<int64_t>(1, static_cast<int64_t>(std::llround(o.density * n)));
            if (k < n) {
              std::vector<float> mags(n);
              for (int64_t i = 0; i < n; ++i) mags[i] = std::fabs(delta[i]);
              std::nth_element(mags.begin(), mags.begin() + (n - k), mags.end());
              const float threshold = mags[n - k];
              for (float& v : delta) {
                if (std::fabs(v) < threshold) v = 0.0f;
              }
            }
          }
          for (int64_t i = 0; i < n; ++i) {
            float sum = 0.0f;
            for (const auto& delta : deltas) sum += delta[i];
            float agree = 0.0f;
            int count = 0;
            for (const auto& delta : deltas) {
              if (delta[i] != 0.0f && (delta[i] > 0.0f) == (sum > 0.0f)) {
                agree += delta[i];
                ++count;
              }
            }
            d[i] = count > 0 ? agree / count : 0.0f;
          }
        }
      }
      m.rank = static_cast<int32_t>(std::min<int64_t>({R, m.n_in, m.n_out}));
      Factor(d, m.n_out, m.n_in, m.rank, o.seed + layer * kLoraTargetCount + t, &m.b, &m.a);
      out.push_back(std::move(m));
    }
  }
  // One alpha for all pairs: the largest rank; each pair's B carries rank/alpha so that
  // (alpha / rank) · B·A is the merged delta.
  int32_t alpha_rank = 0;
  for (const auto& p : out) alpha_rank = std::max(alpha_rank, p.rank);
  for (auto& p : out) {
    const float f = static_cast<float>(p.rank) / static_cast<float>(alpha_rank);
    for (float& v : p.b) v *= f;
  }
  return LoraAdapter::FromPairs(adapters[0]->arch(), static_cast<float>(alpha_rank), std::move(out),
                                base);
}

Status BakeAdapters(const GgufFile& base_file, std::span<const ActiveLora> adapters,
                    std::optional<DType> type, const std::string& path) {
  GgufWriter writer(base_file.alignment());
  for (const auto& [key, value] : base_file.metadata()) {
    if (key != "general.alignment") writer.Set(key, value);
  }
  for (const GgufTensorInfo& t : base_file.tensors()) {
    int32_t layer = 0;
    LoraTarget target;
    std::vector<std::pair<const LoraPair*, float>> pairs;
    if (ParseLoraBaseName(t.name, &layer, &target)) {
      for (const ActiveLora& a : adapters) {
        if (const LoraPair* p = a.adapter->Find(layer, target); p != nullptr && a.scale != 0.0f) {
          pairs.emplace_back(p, a.scale * a.adapter->Scaling(*p));
        }
      }
    }
    if (pairs.empty()) {
      std::vector<uint8_t> bytes(t.data, t.data + t.n_bytes);
      RETURN_IF_ERROR(writer.AddTensor(t.name, t.type, t.dims, std::move(bytes)));
      continue;
    }
    const DType out_type = type.value_or(t.type);
    const int64_t cols = t.dims[0], rows = t.dims[1];
    if (t.dims.size() != 2 || cols != pairs[0].first->n_in || rows != pairs[0].first->n_out) {
      return InvalidArgumentError("tensor '" + t.name + "' does not have the adapter's shape");
    }
    if (!kernels::HasReferenceQuantizer(out_type) ||
        cols % GetDTypeInfo(out_type).block_size != 0) {
      return InvalidArgumentError("cannot re-quantize '" + t.name + "' (" + std::to_string(cols) +
                                  " columns) to " + std::string(DTypeName(out_type)));
    }
    const GgufTensorInfo* info = &t;
    GgufWriter::TensorFiller fill = [info, pairs, rows, cols, out_type](uint8_t* dst,
                                                                        uint64_t n_bytes) {
      std::vector<float> w(rows * cols);  // [rows, cols]
      const int64_t in_row = RowBytes(info->type, cols), out_row = RowBytes(out_type, cols);
      CHECK_EQ(static_cast<uint64_t>(out_row * rows), n_bytes);
      for (int64_t r = 0; r < rows; ++r) {
        kernels::DequantizeRow(info->type, info->data + r * in_row, &w[r * cols], cols);
      }
      for (const auto& [p, f] : pairs) AddProduct(*p, f, w.data());
      for (int64_t r = 0; r < rows; ++r) {
        kernels::QuantizeRow(out_type, &w[r * cols], dst + r * out_row, cols);
      }
      return Status::Ok();
    };
    RETURN_IF_ERROR(writer.AddTensor(t.name, out_type, t.dims, std::move(fill)));
  }
  return writer.WriteFile(path);
}

}  // namespace odlm
