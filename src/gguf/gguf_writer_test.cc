// Round trips through GgufWriter and GgufFile: metadata and tensor bytes come back bit-exact.
#include "gguf/gguf_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "gguf/gguf_reader.h"

namespace odlm {
namespace {

std::vector<uint8_t> PatternBytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

StatusOr<std::unique_ptr<GgufFile>> ParseString(const std::string& s) {
  return GgufFile::Parse(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(GgufWriter, EveryMetadataTypeRoundTrips) {
  GgufWriter w;
  std::vector<std::pair<std::string, GgufValue>> want = {
      {"u8", GgufValue::U8(200)},
      {"i8", GgufValue::I8(-100)},
      {"u16", GgufValue::U16(65000)},
      {"i16", GgufValue::I16(-32000)},
      {"u32", GgufValue::U32(4000000000u)},
      {"i32", GgufValue::I32(-2000000000)},
      {"u64", GgufValue::U64(~uint64_t{0} - 5)},
      {"i64", GgufValue::I64(std::numeric_limits<int64_t>::min())},
      {"f32", GgufValue::F32(-1.5e-30f)},
      {"f32.nan", GgufValue::F32(std::numeric_limits<float>::quiet_NaN())},
      {"f64", GgufValue::F64(3.141592653589793)},
      {"bool.t", GgufValue::Bool(true)},
      {"bool.f", GgufValue::Bool(false)},
      {"str", GgufValue::String("héllo\n\0world")},
      {"str.empty", GgufValue::String("")},
      {"arr.str", GgufValue::StringArray({"a", "", "ccc", std::string(300, 'z')})},
      {"arr.f32", GgufValue::F32Array({1.0f, -0.0f, 1e-40f})},
      {"arr.i32", GgufValue::I32Array({-1, 0, 7})},
      {"arr.u32", GgufValue::U32Array({1u, 0xffffffffu})},
      {"arr.i64", GgufValue::I64Array({-5, 1LL << 40})},
      {"arr.empty", GgufValue::I32Array({})},
      {"arr.bool", GgufValue::ScalarArray(GgufValueType::kBool, {1, 0, 1})},
      {"arr.f64", GgufValue::ScalarArray(GgufValueType::kF64, std::vector<uint8_t>(16, 0x3f))},
      {"arr.nested",
       GgufValue::ArrayOfArrays({GgufValue::I32Array({1, 2}), GgufValue::StringArray({"x"}),
                                 GgufValue::ArrayOfArrays({GgufValue::F32Array({2.5f})})})},
  };
  for (const auto& [k, v] : want) w.Set(k, v);
  auto r = ParseString(*w.WriteToString());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const GgufFile& f = **r;
  ASSERT_EQ(f.metadata().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(f.metadata()[i].first, want[i].first);
    EXPECT_TRUE(f.metadata()[i].second == want[i].second) << want[i].first;
  }
  EXPECT_EQ(f.FindValue("u8")->u8(), 200);
  EXPECT_EQ(f.FindValue("i16")->i16(), -32000);
  EXPECT_EQ(f.FindValue("i64")->i64(), std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(std::isnan(f.FindValue("f32.nan")->f32()));
  EXPECT_EQ(f.FindValue("f64")->f64(), 3.141592653589793);
  EXPECT_EQ(*f.GetString("str"), std::string("héllo\n\0world"));
  EXPECT_EQ(*f.GetBool("bool.t"), true);
  EXPECT_EQ(*f.GetStringArray("arr.str"), want[15].second.string_array());
  EXPECT_EQ(*f.GetIntArray("arr.i64"), (std::vector<int64_t>{-5, 1LL << 40}));
  EXPECT_EQ(f.FindValue("arr.u32")->ArrayElement(1).u32(), 0xffffffffu);
  const GgufValue& nested = *f.FindValue("arr.nested");
  ASSERT_EQ(nested.array_size(), 3u);
  EXPECT_EQ(nested.nested_arrays()[2].nested_arrays()[0].ArrayElement(0).f32(), 2.5f);
}

TEST(GgufWriter, EveryBlockTypeRoundTripsBitExact) {
  const DType types[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                         DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                         DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kI32};
  for (uint64_t alignment : {32u, 64u, 4096u}) {
    GgufWriter w(alignment);
    std::vector<std::vector<uint8_t>> data;
    for (size_t i = 0; i < std::size(types); ++i) {
      const DTypeInfo& info = GetDTypeInfo(types[i]);
      const int64_t cols = info.block_size * 2, rows = 3;
      data.push_back(PatternBytes(RowBytes(types[i], cols) * rows, i));
      ASSERT_TRUE(
          w.AddTensor("t." + std::string(info.name), types[i], {cols, rows}, data.back()).ok());
    }
    const std::string bytes = *w.WriteToString();
    EXPECT_EQ(bytes.size(), w.FileSize());
    auto r = ParseString(bytes);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const GgufFile& f = **r;
    EXPECT_EQ(f.alignment(), alignment);
    ASSERT_EQ(f.tensors().size(), std::size(types));
    for (size_t i = 0; i < std::size(types); ++i) {
      const GgufTensorInfo& t = f.tensors()[i];
      EXPECT_EQ(t.type, types[i]);
      EXPECT_EQ(t.dims, (std::vector<int64_t>{GetDTypeInfo(types[i]).block_size * 2, 3}));
      EXPECT_EQ(t.offset % alignment, 0u);
      ASSERT_EQ(t.n_bytes, data[i].size());
      EXPECT_EQ(std::memcmp(t.data, data[i].data(), t.n_bytes), 0) << t.name;
    }
  }
}

TEST(GgufWriter, FillerDataAndFileWrite) {
  const std::string path =
      ::testing::TempDir() + "/gguf_writer_test_" + std::to_string(::getpid()) + ".gguf";
  GgufWriter w;
  w.SetString("general.name", "filler");
  ASSERT_TRUE(w.AddTensor("a", DType::kF32, {7}, [](uint8_t* dst, uint64_t n) {
                 for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(i * 3);
                 return Status::Ok();
               }).ok());
  ASSERT_TRUE(w.AddTensor("b", DType::kQ8_0, {32}, PatternBytes(34, 9)).ok());
  ASSERT_TRUE(w.WriteFile(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
  EXPECT_EQ(std::filesystem::file_size(path), w.FileSize());
  auto r = GgufFile::Open(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const GgufTensorInfo* a = (*r)->FindTensor("a");
  ASSERT_NE(a, nullptr);
  for (uint64_t i = 0; i < a->n_bytes; ++i) EXPECT_EQ(a->data[i], static_cast<uint8_t>(i * 3));
  EXPECT_EQ((*r)->FindTensor("b")->offset, 32u);  // 28 bytes of "a", padded to 32

  // A failing filler leaves the old file in place and no temporary behind.
  GgufWriter bad;
  ASSERT_TRUE(
      bad.AddTensor("x", DType::kF32, {4}, [](uint8_t*, uint64_t) { return InternalError("boom"); })
          .ok());
  Status s = bad.WriteFile(path);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tensor 'x': boom"), std::string::npos) << s.message();
  EXPECT_TRUE(GgufFile::Open(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
  std::filesystem::remove(path);
}

TEST(GgufWriter, RejectsBadTensors) {
  GgufWriter w;
  EXPECT_FALSE(w.AddTensor("", DType::kF32, {4}, std::vector<uint8_t>(16)).ok());
  EXPECT_FALSE(w.AddTensor("x", DType::kF32, {4}, std::vector<uint8_t>(15)).ok());
  EXPECT_FALSE(w.AddTensor("x", DType::kF32, {0}, std::vector<uint8_t>()).ok());
  EXPECT_FALSE(w.AddTensor("x", DType::kF32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)).ok());
  EXPECT_FALSE(w.AddTensor("x", DType::kQ4_0, {16}, std::vector<uint8_t>(9)).ok());
  EXPECT_TRUE(w.AddTensor("x", DType::kF32, {4}, std::vector<uint8_t>(16)).ok());
  Status dup = w.AddTensor("x", DType::kF32, {4}, std::vector<uint8_t>(16));
  EXPECT_NE(dup.message().find("duplicate"), std::string::npos);
}

TEST(GgufWriter, SetReplacesInPlaceAndIsDeterministic) {
  auto make = [] {
    GgufWriter w;
    w.SetU32("a", 1);
    w.SetU32("b", 2);
    w.SetU32("a", 3);
    EXPECT_TRUE(w.AddTensor("t", DType::kF16, {8}, PatternBytes(16, 1)).ok());
    return *w.WriteToString();
  };
  const std::string one = make();
  EXPECT_EQ(one, make());
  auto r = ParseString(one);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)->metadata().size(), 2u);
  EXPECT_EQ((*r)->metadata()[0].first, "a");
  EXPECT_EQ(*(*r)->GetUInt("a"), 3u);
}

}  // namespace
}  // namespace odlm
