// model/quantize_model.cc — see quantize_model.h.
#include "model/quantize_model.h"

#include <filesystem>
#include <memory>
#include <vector>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"
#include "kernels/quant.h"
#include "model/quant_mix.h"

namespace odlm {
namespace {

// The block index N of a "blk.N.…" tensor, else -1.
int64_t LayerOf(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return -1;
  int64_t layer = 0;
  size_t i = 4;
  if (i >= name.size() || name[i] < '0' || name[i] > '9') return -1;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) {
    layer = layer * 10 + (name[i] - '0');
    if (layer > (1 << 20)) return -1;
  }
  return i < name.size() && name[i] == '.' ? layer : -1;
}

bool SamePath(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

}  // namespace

StatusOr<QuantizeReport> QuantizeModelFile(const std::string& in_path, const std::string& out_path,
                                           const std::string& mix_name, ThreadPool* pool) {
  ASSIGN_OR_RETURN(const std::string mix, CanonicalQuantMix(mix_name));
  if (SamePath(in_path, out_path)) {
    return InvalidArgumentError("the output '" + out_path + "' is the input file");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> in, GgufFile::Open(in_path));
  int64_t n_layer = 0;
  if (StatusOr<std::string> arch = in->GetString("general.architecture"); arch.ok()) {
    if (StatusOr<uint64_t> n = in->GetUInt(*arch + ".block_count"); n.ok()) {
      n_layer = static_cast<int64_t>(*n);
    }
  }
  // Metadata in the input's order; the file type (and, for quantized mixes, the quantization
  // version right after it, where gen-model and llama.cpp put it) describe the output.
  GgufWriter w;
  const auto set_file_type = [&] {
    w.SetU32("general.file_type", LlamaFileType(mix));
    if (IsQuantizedMix(mix)) w.SetU32("general.quantization_version", 2);
  };
  bool file_type_set = false;
  for (const auto& [key, value] : in->metadata()) {
    if (key == "general.quantization_version") continue;
    if (key == "general.file_type") {
      set_file_type();
      file_type_set = true;
    } else {
      w.Set(key, value);
    }
  }
  if (!file_type_set) set_file_type();

  QuantizeReport report;
  for (const GgufTensorInfo& t : in->tensors()) {
    report.bytes_in += t.n_bytes;
    const int64_t row_len = t.dims[0];
    const DType target =
        t.dims.size() >= 2
            ? FallbackType(MixTensorType(mix, t.name, LayerOf(t.name), n_layer), row_len)
            : t.type;
    if (target == t.type) {
      std::vector<uint8_t> bytes(t.data, t.data + t.n_bytes);
      RETURN_IF_ERROR(w.AddTensor(t.name, t.type, t.dims, std::move(bytes)));
      ++report.tensors_copied;
      report.bytes_out += t.n_bytes;
      continue;
    }
    if (!kernels::CanDequantize(t.type)) {
      return InvalidArgumentError("tensor '" + t.name + "' is stored as " +
                                  std::string(DTypeName(t.type)) +
                                  ", which odlm cannot decode to re-encode");
    }
    const int64_t rows = t.n_elements / row_len;
    const int64_t in_row = RowBytes(t.type, row_len), out_row = RowBytes(target, row_len);
    const uint8_t* src = t.data;
    const DType source_type = t.type;
    // Rows are encoded when the writer writes, one tensor at a time (memory: one tensor's output).
    RETURN_IF_ERROR(
        w.AddTensor(t.name, target, t.dims, [=](uint8_t* dst, uint64_t n_bytes) -> Status {
          CHECK(n_bytes == static_cast<uint64_t>(rows * out_row));
          auto encode = [&](int, int64_t begin, int64_t end) {
            std::vector<float> row(static_cast<size_t>(row_len));
            for (int64_t r = begin; r < end; ++r) {
              kernels::DequantizeRow(source_type, src + r * in_row, row.data(), row_len);
              kernels::QuantizeRow(target, row.data(), dst + r * out_row, row_len);
            }
          };
          if (pool != nullptr) {
            pool->ParallelFor(rows, encode);
          } else {
            encode(0, 0, rows);
          }
          return Status::Ok();
        }));
    ++report.tensors_converted;
    report.bytes_out += static_cast<uint64_t>(rows * out_row);
  }
  RETURN_IF_ERROR(w.WriteFile(out_path));
  return report;
}

}  // namespace odlm
