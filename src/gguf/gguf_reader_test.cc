// Malformed-input tests of the GGUF reader: each corrupt field yields a Status naming the field and
// its byte offset. Files are built byte by byte here so every field can be broken on purpose.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "gguf/gguf_reader.h"
#include "gguf/gguf_writer.h"

namespace odlm {
namespace {

// A little-endian byte builder for hand-made GGUF files.
struct Bytes {
  std::string s;
  Bytes& U32(uint32_t v) {
    s.append(reinterpret_cast<const char*>(&v), 4);
    return *this;
  }
  Bytes& U64(uint64_t v) {
    s.append(reinterpret_cast<const char*>(&v), 8);
    return *this;
  }
  Bytes& Str(const std::string& v) {
    U64(v.size());
    s += v;
    return *this;
  }
  Bytes& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    s += "GGUF";
    U32(version);
    U64(n_tensors);
    return U64(n_kv);
  }
  Bytes& KvU32(const std::string& key, uint32_t v) {
    Str(key).U32(static_cast<uint32_t>(GgufValueType::kU32));
    return U32(v);
  }
  Bytes& KvString(const std::string& key, const std::string& v) {
    Str(key).U32(static_cast<uint32_t>(GgufValueType::kString));
    return Str(v);
  }
  Bytes& Tensor(const std::string& name, std::vector<uint64_t> dims, DType type, uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) U64(d);
    U32(static_cast<uint32_t>(type));
    return U64(offset);
  }
  Bytes& PadTo(size_t alignment) {
    s.resize((s.size() + alignment - 1) / alignment * alignment, '\0');
    return *this;
  }
  Bytes& Zeros(size_t n) {
    s.append(n, '\0');
    return *this;
  }
};

StatusOr<std::unique_ptr<GgufFile>> ParseBytes(const std::string& s) {
  return GgufFile::Parse(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Asserts that parsing fails with `code` and a message containing every one of `parts`.
void ExpectError(const Bytes& b, StatusCode code, std::vector<std::string> parts) {
  auto r = ParseBytes(b.s);
  ASSERT_FALSE(r.ok()) << "parsed a malformed file";
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  for (const auto& p : parts)
    EXPECT_NE(r.status().message().find(p), std::string::npos)
        << "message lacks '" << p << "': " << r.status().message();
}

// A valid file with one 32-element f32 tensor named "w".
Bytes OneTensor() {
  Bytes b;
  b.Header(1, 1).KvString("general.architecture", "llama").Tensor("w", {32}, DType::kF32, 0);
  return b.PadTo(32).Zeros(128);
}

TEST(GgufReader, ParsesMinimalFile) {
  auto r = ParseBytes(OneTensor().s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const GgufFile& f = **r;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  ASSERT_EQ(f.tensors().size(), 1u);
  const GgufTensorInfo* t = f.FindTensor("w");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->n_elements, 32);
  EXPECT_EQ(t->n_bytes, 128u);
  EXPECT_EQ(t->data, f.file_data() + f.data_offset());
  EXPECT_EQ(f.FindTensor("x"), nullptr);
  EXPECT_EQ(*f.GetString("general.architecture"), "llama");
}

TEST(GgufReader, ParsesVersion2) {
  Bytes b;
  b.Header(0, 1, 2).KvU32("n", 7);
  auto r = ParseBytes(b.s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->version(), 2u);
  EXPECT_EQ(*(*r)->GetUInt("n"), 7u);
}

TEST(GgufReader, EmptyFile) { ExpectError(Bytes{}, StatusCode::kDataLoss, {"magic", "byte 0"}); }

TEST(GgufReader, BadMagic) {
  Bytes b;
  b.s = "GGML";
  b.U32(3).U64(0).U64(0);
  ExpectError(b, StatusCode::kDataLoss, {"bad magic at byte 0", "GGML"});
}

TEST(GgufReader, Version1IsUnimplemented) {
  Bytes b;
  b.Header(0, 0, 1);
  ExpectError(b, StatusCode::kUnimplemented, {"version 1", "byte 4", "not supported"});
}

TEST(GgufReader, UnknownVersion) {
  Bytes b;
  b.Header(0, 0, 99);
  ExpectError(b, StatusCode::kUnimplemented, {"unknown GGUF version 99 at byte 4"});
  Bytes be;
  be.Header(0, 0, 0x03000000);
  ExpectError(be, StatusCode::kUnimplemented, {"big-endian"});
}

TEST(GgufReader, TruncatedHeader) {
  Bytes b;
  b.s = "GGUF";
  b.U32(3).U32(0);  // half a tensor count
  ExpectError(b, StatusCode::kDataLoss, {"truncated", "tensor count at byte 8"});
}

TEST(GgufReader, HugeMetadataCountFailsOnBytesRemaining) {
  Bytes b;
  b.Header(0, uint64_t{1} << 60).KvU32("a", 1);
  ExpectError(b, StatusCode::kDataLoss, {"metadata count 1152921504606846976 at byte 16"});
}

TEST(GgufReader, HugeTensorCountFailsOnBytesRemaining) {
  Bytes b;
  b.Header(uint64_t{1} << 62, 0);
  ExpectError(b, StatusCode::kDataLoss, {"tensor count", "at byte 8", "cannot fit"});
}

TEST(GgufReader, KeyLengthPastEnd) {
  Bytes b;
  b.Header(0, 1).U64(1000).s += "abcdefgh";
  ExpectError(b, StatusCode::kDataLoss, {"metadata #0 key", "string length 1000 at byte 24"});
}

TEST(GgufReader, UnknownValueType) {
  Bytes b;
  b.Header(0, 1).Str("k").U32(13).U32(0);
  ExpectError(b, StatusCode::kDataLoss, {"metadata key 'k'", "unknown value type 13 at byte 33"});
}

TEST(GgufReader, TruncatedScalarValue) {
  Bytes b;
  b.Header(0, 1).Str("k").U32(static_cast<uint32_t>(GgufValueType::kU64)).U32(0);
  ExpectError(b, StatusCode::kDataLoss, {"metadata key 'k' (u64) at byte 37", "needs 8 bytes"});
}

TEST(GgufReader, StringValuePastEnd) {
  Bytes b;
  b.Header(0, 1).Str("k").U32(static_cast<uint32_t>(GgufValueType::kString)).U64(99);
  ExpectError(b, StatusCode::kDataLoss, {"metadata key 'k'", "string length 99 at byte 37"});
}

TEST(GgufReader, HugeArrayCountFailsWithoutAllocating) {
  for (GgufValueType et : {GgufValueType::kU8, GgufValueType::kString, GgufValueType::kArray}) {
    Bytes b;
    b.Header(0, 1).Str("arr").U32(static_cast<uint32_t>(GgufValueType::kArray));
    b.U32(static_cast<uint32_t>(et)).U64(uint64_t{1} << 60).Zeros(64);
    ExpectError(b, StatusCode::kDataLoss,
                {"metadata key 'arr'", "array count 1152921504606846976 at byte 43", "cannot fit"});
  }
}

TEST(GgufReader, UnknownArrayElementType) {
  Bytes b;
  b.Header(0, 1).Str("arr").U32(static_cast<uint32_t>(GgufValueType::kArray)).U32(42).U64(0);
  ExpectError(b, StatusCode::kDataLoss, {"unknown array element type 42 at byte 39"});
}

TEST(GgufReader, StringArrayElementPastEnd) {
  Bytes b;
  b.Header(0, 1).Str("toks").U32(static_cast<uint32_t>(GgufValueType::kArray));
  b.U32(static_cast<uint32_t>(GgufValueType::kString)).U64(2).Str("a").U64(500);
  ExpectError(b, StatusCode::kDataLoss, {"metadata key 'toks'[1]", "string length 500 at byte 61"});
}

TEST(GgufReader, DeeplyNestedArrays) {
  Bytes b;
  b.Header(0, 1).Str("deep").U32(static_cast<uint32_t>(GgufValueType::kArray));
  for (int i = 0; i < 20; ++i) b.U32(static_cast<uint32_t>(GgufValueType::kArray)).U64(1);
  b.U32(0).U64(0);
  ExpectError(b, StatusCode::kDataLoss, {"metadata key 'deep'", "nested deeper than 8"});
}

TEST(GgufReader, DuplicateKey) {
  Bytes b;
  b.Header(0, 2).KvU32("general.x", 1).KvU32("general.x", 2);
  ExpectError(b, StatusCode::kDataLoss, {"duplicate metadata key 'general.x' at byte 49"});
}

TEST(GgufReader, AlignmentMustBePowerOfTwo) {
  for (uint32_t a : {0u, 3u, 48u}) {
    Bytes b;
    b.Header(0, 1).KvU32("general.alignment", a);
    ExpectError(b, StatusCode::kDataLoss,
                {"general.alignment' is " + std::to_string(a), "power of two"});
  }
  Bytes s;
  s.Header(0, 1).KvString("general.alignment", "32");
  ExpectError(s, StatusCode::kDataLoss, {"general.alignment' has type string"});
}

TEST(GgufReader, HonorsAlignment) {
  Bytes b;
  b.Header(1, 1).KvU32("general.alignment", 64).Tensor("w", {16}, DType::kF32, 0);
  b.PadTo(64).Zeros(64);
  auto r = ParseBytes(b.s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->alignment(), 64u);
  EXPECT_EQ((*r)->data_offset() % 64, 0u);
}

TEST(GgufReader, UnknownTensorType) {
  Bytes b;
  b.Header(1, 0).Str("w").U32(1).U64(32).U32(4).U64(0);  // type 4 (old q4_2) is gone
  b.PadTo(32).Zeros(64);
  ExpectError(b, StatusCode::kUnimplemented, {"tensor 'w'", "unknown tensor type 4 at byte 45"});
}

TEST(GgufReader, TooManyDims) {
  Bytes b;
  b.Header(1, 0).Tensor("w", {1, 1, 1, 1, 1}, DType::kF32, 0).PadTo(32).Zeros(4);
  ExpectError(b, StatusCode::kDataLoss, {"tensor 'w'", "n_dims 5 at byte 33", "expected 1..4"});
}

TEST(GgufReader, ZeroDims) {
  Bytes b;
  b.Header(1, 0).Tensor("w", {}, DType::kF32, 0).PadTo(32).Zeros(4);
  ExpectError(b, StatusCode::kDataLoss, {"tensor 'w'", "n_dims 0 at byte 33"});
}

TEST(GgufReader, ZeroOrNegativeDim) {
  for (uint64_t d : {uint64_t{0}, ~uint64_t{0}}) {
    Bytes b;
    b.Header(1, 0).Tensor("w", {32, d}, DType::kF32, 0).PadTo(32).Zeros(128);
    ExpectError(b, StatusCode::kDataLoss, {"tensor 'w'", "dim 1 is", "at byte 45", "expected > 0"});
  }
}

TEST(GgufReader, ElementCountOverflow) {
  Bytes b;
  b.Header(1, 0).Tensor("w", {uint64_t{1} << 32, uint64_t{1} << 32}, DType::kF32, 0);
  b.PadTo(32).Zeros(64);
  ExpectError(b, StatusCode::kDataLoss, {"tensor 'w'", "element count overflows", "byte 45"});
}

TEST(GgufReader, DimNotMultipleOfBlockSize) {
  Bytes b;
  b.Header(1, 0).Tensor("w", {48}, DType::kQ4_K, 0).PadTo(32).Zeros(1024);
  ExpectError(b, StatusCode::kDataLoss, {"tensor 'w'", "dim 0 is 48", "q4_K block size 256"});
}

TEST(GgufReader, MisalignedOffset) {
  Bytes b;
  b.Header(1, 0).Tensor("w", {8}, DType::kF32, 4).PadTo(32).Zeros(64);
  ExpectError(b, StatusCode::kDataLoss, {"tensor 'w'", "offset 4 at byte 49", "misaligned"});
}

TEST(GgufReader, TensorDataPastEnd) {
  Bytes b;
  b.Header(1, 0).Tensor("w", {64}, DType::kF32, 0).PadTo(32).Zeros(255);  // needs 256
  ExpectError(b, StatusCode::kDataLoss,
              {"tensor 'w'", "runs past the end of the file", "offset field at byte 49"});
  Bytes huge;
  huge.Header(1, 0).Tensor("w", {8}, DType::kF32, ~uint64_t{31}).PadTo(32).Zeros(64);
  ExpectError(huge, StatusCode::kDataLoss, {"tensor 'w'", "past the end"});
}

TEST(GgufReader, DataSectionPastEnd) {
  Bytes b;
  b.Header(1, 0).Tensor("w", {8}, DType::kF32, 0);  // no padding, no data
  ExpectError(b, StatusCode::kDataLoss, {"data section starts at byte 64"});
}

TEST(GgufReader, OverlappingTensors) {
  Bytes b;
  b.Header(2, 0).Tensor("a", {64}, DType::kF32, 0).Tensor("b", {8}, DType::kF32, 128);
  b.PadTo(32).Zeros(512);
  ExpectError(b, StatusCode::kDataLoss, {"tensor 'b'", "overlaps tensor 'a' at [0, 256)"});
}

TEST(GgufReader, DuplicateTensorName) {
  Bytes b;
  b.Header(2, 0).Tensor("a", {8}, DType::kF32, 0).Tensor("a", {8}, DType::kF32, 32);
  b.PadTo(32).Zeros(64);
  ExpectError(b, StatusCode::kDataLoss, {"duplicate tensor name", "tensor 'a' (#1) at byte 57"});
}

TEST(GgufReader, EveryTruncationIsAnError) {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.Set("arr", GgufValue::ArrayOfArrays(
                   {GgufValue::I32Array({1, 2}), GgufValue::StringArray({"x", "yz"})}));
  ASSERT_TRUE(w.AddTensor("t", DType::kQ8_0, {64, 2}, std::vector<uint8_t>(136, 1)).ok());
  const std::string full = *w.WriteToString();
  ASSERT_TRUE(ParseBytes(full).ok());
  for (size_t n = 0; n < full.size(); ++n) {
    auto r = ParseBytes(full.substr(0, n));
    EXPECT_FALSE(r.ok()) << "a " << n << "-byte prefix parsed";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
    }
  }
}

TEST(GgufReader, ZeroTensorFileNeedsNoDataSection) {
  Bytes b;
  b.Header(0, 1).KvString("tokenizer.ggml.model", "gpt2");  // ends right after metadata
  auto r = ParseBytes(b.s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)->tensors().empty());
}

TEST(GgufReader, OpenMissingFileIsNotFound) {
  auto r = GgufFile::Open("/nonexistent/dir/model.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/dir/model.gguf"), std::string::npos);
}

TEST(GgufReader, TypedGetterErrors) {
  GgufWriter w;
  w.SetString("s", "x");
  w.Set("neg", GgufValue::I32(-3));
  w.Set("big", GgufValue::U64(~uint64_t{0}));
  w.Set("f64", GgufValue::F64(0.25));
  w.Set("u8s", GgufValue::ScalarArray(GgufValueType::kU8, {1, 2, 255}));
  auto r = ParseBytes(*w.WriteToString());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const GgufFile& f = **r;
  auto missing = f.GetUInt("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'nope'"), std::string::npos);
  auto wrong = f.GetFloat("s");
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("'s' has type string; expected f32 or f64"),
            std::string::npos)
      << wrong.status().message();
  EXPECT_FALSE(f.GetUInt("neg").ok());
  EXPECT_EQ(*f.GetInt("neg"), -3);
  EXPECT_FALSE(f.GetInt("big").ok());
  EXPECT_EQ(*f.GetUInt("big"), ~uint64_t{0});
  EXPECT_EQ(*f.GetFloat("f64"), 0.25f);
  EXPECT_EQ(*f.GetIntArray("u8s"), (std::vector<int64_t>{1, 2, 255}));
  auto not_strings = f.GetStringArray("u8s");
  EXPECT_NE(not_strings.status().message().find("array of u8"), std::string::npos);
  EXPECT_FALSE(f.GetBool("s").ok());
}

}  // namespace
}  // namespace odlm
