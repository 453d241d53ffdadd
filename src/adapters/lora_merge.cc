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

// Thin QR of the S columns of x [n, S] (row-major, double) by Gram-Schmidt with a second pass:
// q [n, S] orthonormal columns (a column with nothing beyond the earlier ones becomes zero, its
// diagonal entry of r too), r [S, S] upper triangular, x = q·r up to round-off.
void ThinQr(const std::vector<double>& x, int64_t n, int64_t S, std::vector<double>* q,
            std::vector<double>* r) {
  q->assign(n * S, 0.0);
  r->assign(S * S, 0.0);
  std::vector<double> col(n);
  for (int64_t c = 0; c < S; ++c) {
    double norm0 = 0;
    for (int64_t i = 0; i < n; ++i) {
      col[i] = x[i * S + c];
      norm0 += col[i] * col[i];
    }
    for (int pass = 0; pass < 2; ++pass) {
      for (int64_t p = 0; p < c; ++p) {
        double dot = 0;
        for (int64_t i = 0; i < n; ++i) dot += col[i] * (*q)[i * S + p];
        for (int64_t i = 0; i < n; ++i) col[i] -= dot * (*q)[i * S + p];
        (*r)[p * S + c] += dot;
      }
    }
    double norm = 0;
    for (int64_t i = 0; i < n; ++i) norm += col[i] * col[i];
    norm = std::sqrt(norm);
    if (!(norm > 1e-7 * std::sqrt(norm0) && norm > 1e-150)) continue;  // dependent column
    (*r)[c * S + c] = norm;
    for (int64_t i = 0; i < n; ++i) (*q)[i * S + c] = col[i] / norm;
  }
}

// One-sided Jacobi SVD of the square c [S, S] (row-major): on return the columns of *w are
// U·Σ (pairwise orthogonal, their norms the singular values) and *v [S, S] is V, c = w·Vᵀ.
void JacobiSvd(const std::vector<double>& c, int64_t S, std::vector<double>* w,
               std::vector<double>* v) {
  *w = c;
  v->assign(S * S, 0.0);
  for (int64_t i = 0; i < S; ++i) (*v)[i * S + i] = 1.0;
  for (int sweep = 0; sweep < 60; ++sweep) {
    bool rotated = false;
    for (int64_t p = 0; p < S; ++p) {
      for (int64_t q = p + 1; q < S; ++q) {
        double alpha = 0, beta = 0, gamma = 0;
        for (int64_t i = 0; i < S; ++i) {
          const double a = (*w)[i * S + p], b = (*w)[i * S + q];
          alpha += a * a;
          beta += b * b;
          gamma += a * b;
        }
        if (gamma == 0.0 || std::fabs(gamma) <= 1e-15 * std::sqrt(alpha * beta)) continue;
        rotated = true;
        const double zeta = (beta - alpha) / (2.0 * gamma);
        const double t =
            (zeta >= 0 ? 1.0 : -1.0) / (std::fabs(zeta) + std::sqrt(1.0 + zeta * zeta));
        const double cs = 1.0 / std::sqrt(1.0 + t * t), sn = cs * t;
        for (std::vector<double>* m : {w, v}) {
          for (int64_t i = 0; i < S; ++i) {
            const double a = (*m)[i * S + p], b = (*m)[i * S + q];
            (*m)[i * S + p] = cs * a - sn * b;
            (*m)[i * S + q] = sn * a + cs * b;
          }
        }
      }
    }
    if (!rotated) break;
  }
}

// The linear merge Σ f_i·B_i·A_i of `in` factored to rank m->rank, without forming it densely:
// with Bc = [f_1 B_1 | f_2 B_2 | …] [n_out, S] and Ac = [A_1; A_2; …] [S, n_in] (S = Σ r_i),
// thin QRs Bc = Qb·Rb and Acᵀ = Qa·Ra and the SVD of the S×S core Rb·Raᵀ = U·Σ·Vᵀ give the best
// rank-R approximation (Eckart–Young) B = Qb·U_R·Σ_R, A = V_Rᵀ·Qaᵀ; exact when S ≤ R (columns past
// S are zero). Cost O((n_out + n_in)·S² + S³) instead of the dense O(n_out·n_in·(S + 8R)).
void FactorLinear(const std::vector<std::pair<const LoraPair*, float>>& in, LoraPair* m) {
  int64_t S = 0;
  for (const auto& [p, f] : in) S += p->rank;
  const int64_t n_out = m->n_out, n_in = m->n_in, R = m->rank;
  std::vector<double> bc(n_out * S), act(n_in * S);  // [n_out, S], [n_in, S]
  int64_t col = 0;
  for (const auto& [p, f] : in) {
    for (int64_t o = 0; o < n_out; ++o) {
      for (int64_t k = 0; k < p->rank; ++k) {
        bc[o * S + col + k] = static_cast<double>(f) * p->b[o * p->rank + k];
      }
    }
    for (int64_t k = 0; k < p->rank; ++k) {
      for (int64_t i = 0; i < n_in; ++i) act[i * S + col + k] = p->a[k * n_in + i];
    }
    col += p->rank;
  }
  std::vector<double> qb, rb, qa, ra;
  ThinQr(bc, n_out, S, &qb, &rb);
  ThinQr(act, n_in, S, &qa, &ra);
  std::vector<double> core(S * S, 0.0);  // Rb·Raᵀ
  for (int64_t i = 0; i < S; ++i) {
    for (int64_t j = 0; j < S; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < S; ++k) sum += rb[i * S + k] * ra[j * S + k];
      core[i * S + j] = sum;
    }
  }
  std::vector<double> w, v;
  JacobiSvd(core, S, &w, &v);
  std::vector<std::pair<double, int64_t>> order;  // (σ_j, j), largest first
  for (int64_t j = 0; j < S; ++j) {
    double norm = 0;
    for (int64_t i = 0; i < S; ++i) norm += w[i * S + j] * w[i * S + j];
    order.emplace_back(std::sqrt(norm), j);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  m->b.assign(n_out * R, 0.0f);
  m->a.assign(R * n_in, 0.0f);
  for (int64_t r = 0; r < std::min(R, S); ++r) {
    const int64_t j = order[r].second;
    for (int64_t o = 0; o < n_out; ++o) {  // B[:, r] = Qb·(U Σ)[:, j]
      double sum = 0;
      for (int64_t k = 0; k < S; ++k) sum += qb[o * S + k] * w[k * S + j];
      m->b[o * R + r] = static_cast<float>(sum);
    }
    for (int64_t i = 0; i < n_in; ++i) {  // A[r, :] = (Qa·V[:, j])ᵀ
      double sum = 0;
      for (int64_t k = 0; k < S; ++k) sum += qa[i * S + k] * v[k * S + j];
      m->a[r * n_in + i] = static_cast<float>(sum);
    }
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
      if (o.method == MergeMethod::kLinear) {
        m.rank = static_cast<int32_t>(std::min<int64_t>({R, m.n_in, m.n_out}));
        FactorLinear(in, &m);
        out.push_back(std::move(m));
        continue;
      }
      const int64_t n = m.n_out * m.n_in;
      std::vector<float> d(n, 0.0f);  // [n_out, n_in] merged delta
      {
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
  // Every adapted matrix must be a tensor of the file: a base that stores them fused (phi3's
  // attn_qkv, its gate-up ffn_up) would otherwise lose the adapter's part silently.
  for (const ActiveLora& a : adapters) {
    if (a.scale == 0.0f) continue;
    for (const LoraPair& p : a.adapter->pairs()) {
      const std::string name = LoraBaseTensorName(p.layer, p.target);
      const GgufTensorInfo* t = base_file.FindTensor(name);
      if (t == nullptr || t->dims.size() != 2 || t->dims[0] != p.n_in || t->dims[1] != p.n_out) {
        return InvalidArgumentError(
            "the base file has no tensor '" + name +
            "' of the adapter's shape to fold it into "
            "(a model with fused Q/K/V or gate/up tensors, such as phi3, runs adapters unmerged "
            "but cannot be baked yet)");
      }
    }
  }
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
