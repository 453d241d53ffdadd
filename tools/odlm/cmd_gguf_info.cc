// tools/odlm/cmd_gguf_info.cc — `odlm gguf-info FILE`: a GGUF file's header, metadata and tensor
// table (name, type, shape in GGUF order, bytes, offset), long arrays and strings abbreviated,
// and whether odlm runs the model (its architecture and tensors checked as loading would).
#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "command.h"
#include "common_options.h"
#include "gguf/gguf_reader.h"
#include "model/model_config.h"
#include "model/model_weights.h"

namespace odlm::cli {
namespace {

// A string as a quoted, escaped literal, cut after `max_chars` characters with its length noted.
std::string Quote(const std::string& s, size_t max_chars) {
  std::string out = "\"";
  const size_t n = std::min(s.size(), max_chars);
  for (size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (n < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string ScalarText(const GgufValue& v) {
  char buf[64];
  switch (v.type()) {
    case GgufValueType::kF32:
      std::snprintf(buf, sizeof(buf), "%.9g", v.f32());
      return buf;
    case GgufValueType::kF64:
      std::snprintf(buf, sizeof(buf), "%.17g", v.f64());
      return buf;
    case GgufValueType::kBool:
      return v.boolean() ? "true" : "false";
    default:
      break;
  }
  int64_t i;
  if (v.ToInt64(&i)) return std::to_string(i);
  return std::to_string(v.bits());  // u64 above INT64_MAX
}

std::string ValueText(const GgufValue& v, size_t max_items, size_t max_chars) {
  if (v.type() == GgufValueType::kString) return Quote(v.str(), max_chars);
  if (!v.is_array()) return ScalarText(v);
  std::string out = "[";
  const size_t n = std::min(v.array_size(), max_items);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += ", ";
    out += ValueText(v.ArrayElement(i), max_items, 40);
  }
  if (n < v.array_size()) out += ", ...";
  return out + "]";
}

// One line saying whether odlm runs the file as a model, and if not, why (empty for files that are
// not models: vocabularies, adapters, checkpoints).
std::string RunsLine(const GgufFile& f) {
  const StatusOr<std::string> arch = f.GetString("general.architecture");
  if (!arch.ok() || f.FindTensor("token_embd.weight") == nullptr) return "";
  StatusOr<ModelConfig> config = ReadModelConfig(f);
  if (config.ok()) {
    const StatusOr<ModelWeights> weights = BindModelWeights(f, &*config);
    if (!weights.ok()) return "odlm: does not run this model: " + weights.status().message();
    return "odlm: runs this model (" + config->Summary() + ")";
  }
  return "odlm: does not run this model: " + config.status().message();
}

std::string TypeText(const GgufValue& v) {
  if (!v.is_array()) return GgufValueTypeName(v.type());
  return "[" + GgufValueTypeName(v.array_type()) + " x " + std::to_string(v.array_size()) + "]";
}

int RunGgufInfo(int argc, char** argv) {
  CLI::App app(
      "Print a GGUF file's header, metadata and tensor table.\n\n"
      "examples:\n  odlm gguf-info model.gguf\n  odlm gguf-info --no-tensors --max-items 20 "
      "vocab.gguf",
      argv[0]);
  std::string path;
  size_t max_items = 8;
  size_t max_chars = 120;
  bool no_tensors = false;
  app.add_option("file", path, "GGUF file")->required();
  app.add_option("--max-items", max_items, "array elements shown before '...'")
      ->capture_default_str();
  app.add_option("--max-chars", max_chars, "string characters shown before '...'")
      ->capture_default_str();
  app.add_flag("--no-tensors", no_tensors, "print header and metadata only");
  if (int rc = ParseOrExit(app, argc, argv); rc >= 0) return rc;

  auto opened = GgufFile::Open(path);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s: %s\n", argv[0], opened.status().ToString().c_str());
    return kExitFailure;
  }
  const GgufFile& f = **opened;
  std::printf("%s: GGUF v%u, %zu bytes, alignment %" PRIu64 ", data section at byte %" PRIu64 "\n",
              path.c_str(), f.version(), f.file_size(), f.alignment(), f.data_offset());
  if (const std::string runs = RunsLine(f); !runs.empty()) std::printf("%s\n", runs.c_str());
  std::printf("\nmetadata: %zu keys\n", f.metadata().size());
  size_t key_width = 0;
  for (const auto& kv : f.metadata()) key_width = std::max(key_width, kv.first.size());
  for (const auto& [key, value] : f.metadata()) {
    std::printf("  %-*s  %-16s = %s\n", static_cast<int>(key_width), key.c_str(),
                TypeText(value).c_str(), ValueText(value, max_items, max_chars).c_str());
  }
  if (no_tensors) return kExitOk;

  uint64_t total = 0;
  size_t name_width = 4;
  for (const auto& t : f.tensors()) {
    total += t.n_bytes;
    name_width = std::max(name_width, t.name.size());
  }
  std::printf("\ntensors: %zu, %" PRIu64 " bytes of data\n", f.tensors().size(), total);
  if (f.tensors().empty()) return kExitOk;
  std::printf("  %5s  %-*s  %-7s  %-22s  %12s  %12s\n", "#", static_cast<int>(name_width), "name",
              "type", "shape", "bytes", "offset");
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const GgufTensorInfo& t = f.tensors()[i];
    std::string shape;
    for (size_t d = 0; d < t.dims.size(); ++d)
      shape += (d > 0 ? " x " : "") + std::to_string(t.dims[d]);
    std::printf("  %5zu  %-*s  %-7s  %-22s  %12" PRIu64 "  %12" PRIu64 "\n", i,
                static_cast<int>(name_width), t.name.c_str(),
                std::string(DTypeName(t.type)).c_str(), shape.c_str(), t.n_bytes, t.offset);
  }
  return kExitOk;
}

}  // namespace

ODLM_COMMAND("gguf-info", "print a GGUF file's metadata and tensor table", RunGgufInfo);

}  // namespace odlm::cli
