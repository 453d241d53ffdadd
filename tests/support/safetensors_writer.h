// tests/support/safetensors_writer.h — builds safetensors files byte by byte for tests (valid
// ones in Hugging Face's layout, and deliberately broken ones).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace odlm::testing {

struct StTensor {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", ...
  std::vector<int64_t> shape;  // PyTorch order
  std::string bytes;           // raw little-endian data
};

// The header JSON for `tensors` laid out back to back in order.
inline std::string SafetensorsHeader(const std::vector<StTensor>& tensors) {
  std::string h = "{\"__metadata__\":{\"format\":\"pt\"}";
  uint64_t off = 0;
  for (const auto& t : tensors) {
    h += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) h += (i ? "," : "") + std::to_string(t.shape[i]);
    h += "],\"data_offsets\":[" + std::to_string(off) + "," + std::to_string(off + t.bytes.size()) +
         "]}";
    off += t.bytes.size();
  }
  return h + "}";
}

// A complete file: 8-byte little-endian header length, header (space-padded to 8), data.
inline std::string SafetensorsFileBytes(const std::string& header, const std::string& data) {
  std::string h = header;
  while (h.size() % 8 != 0) h += ' ';
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + h + data;
}

inline std::string SafetensorsFileBytes(const std::vector<StTensor>& tensors) {
  std::string data;
  for (const auto& t : tensors) data += t.bytes;
  return SafetensorsFileBytes(SafetensorsHeader(tensors), data);
}

inline std::string FloatBytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

}  // namespace odlm::testing
