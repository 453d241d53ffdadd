// fuzz/gguf_reader_fuzzer.cc — the GGUF reader on arbitrary bytes.
//
// Parses the input; when it parses, touches every parsed field (every metadata value through its
// typed accessor and the typed getters, every tensor's data bytes, so ASan sees any pointer past
// the input), then writes the file again with GgufWriter and checks that it reads back equal.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_check.h"
#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"

namespace {

uint64_t Touch(const odlm::GgufValue& v) {
  using odlm::GgufValueType;
  uint64_t h = static_cast<uint64_t>(v.type());
  switch (v.type()) {
    case GgufValueType::kString:
      return h + v.str().size();
    case GgufValueType::kBool:
      return h + v.boolean();
    case GgufValueType::kF32:
      return h + static_cast<uint64_t>(v.f32() == v.f32());
    case GgufValueType::kF64:
      return h + static_cast<uint64_t>(v.f64() == v.f64());
    case GgufValueType::kArray: {
      h += v.array_size();
      const size_t n = v.array_size();
      if (v.array_type() == GgufValueType::kArray) {
        FUZZ_CHECK(v.nested_arrays().size() == n);
        for (const auto& inner : v.nested_arrays()) h += Touch(inner);
      } else if (v.array_type() == GgufValueType::kString) {
        FUZZ_CHECK(v.string_array().size() == n);
        for (const auto& s : v.string_array()) h += s.size();
      } else {
        FUZZ_CHECK(v.array_bytes().size() == n * odlm::GgufScalarSize(v.array_type()));
        for (size_t i = 0; i < n && i < 64; ++i) h += Touch(v.ArrayElement(i));
      }
      return h;
    }
    default: {
      int64_t i = 0;
      uint64_t u = 0;
      h += v.bits() + v.ToInt64(&i) + v.ToUInt64(&u);
      return h + static_cast<uint64_t>(i) + u;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = odlm::GgufFile::Parse(data, size);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  const odlm::GgufFile& f = **parsed;
  FUZZ_CHECK(f.alignment() != 0 && (f.alignment() & (f.alignment() - 1)) == 0);
  FUZZ_CHECK(f.data_offset() % f.alignment() == 0);
  volatile uint64_t sink = 0;
  for (const auto& [key, value] : f.metadata()) {
    FUZZ_CHECK(f.FindValue(key) == &value);
    sink = sink + Touch(value);
    // The typed getters must return a value or an error, whatever the type.
    sink = sink + f.GetString(key).ok() + f.GetUInt(key).ok() + f.GetInt(key).ok() +
           f.GetFloat(key).ok() + f.GetBool(key).ok() + f.GetStringArray(key).ok() +
           f.GetFloatArray(key).ok() + f.GetIntArray(key).ok();
  }
  for (const auto& t : f.tensors()) {
    FUZZ_CHECK(f.FindTensor(t.name) == &t);
    FUZZ_CHECK(t.n_bytes > 0 && t.data >= data && t.data + t.n_bytes <= data + size);
    FUZZ_CHECK(t.offset % f.alignment() == 0);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < t.n_bytes; ++i) sum += t.data[i];
    sink = sink + sum;
  }

  // Write it again and read it back: the same metadata and tensor bytes. Skipped when padding
  // to a huge alignment would make the copy much larger than the input.
  if (f.alignment() > 4096) return 0;
  odlm::GgufWriter writer(f.alignment());
  for (const auto& [key, value] : f.metadata()) writer.Set(key, value);
  for (const auto& t : f.tensors()) {
    if (!writer.AddTensor(t.name, t.type, t.dims, std::vector<uint8_t>(t.data, t.data + t.n_bytes))
             .ok())
      return 0;  // e.g. an empty tensor name, which the writer refuses to produce
  }
  auto bytes = writer.WriteToString();
  FUZZ_CHECK(bytes.ok());
  auto again =
      odlm::GgufFile::Parse(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
  FUZZ_CHECK(again.ok());
  const odlm::GgufFile& g = **again;
  FUZZ_CHECK(g.metadata().size() == f.metadata().size());
  for (const auto& [key, value] : f.metadata()) {    // order may differ: the writer puts
    const odlm::GgufValue* copy = g.FindValue(key);  // general.alignment first
    FUZZ_CHECK(copy != nullptr && *copy == value);
  }
  FUZZ_CHECK(g.tensors().size() == f.tensors().size());
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& a = f.tensors()[i];
    const auto& b = g.tensors()[i];
    FUZZ_CHECK(a.name == b.name && a.type == b.type && a.dims == b.dims);
    FUZZ_CHECK(a.n_bytes == b.n_bytes && std::memcmp(a.data, b.data, a.n_bytes) == 0);
  }
  return 0;
}
