// gguf/safetensors_reader_test.cc — valid files parse zero-copy; hostile ones give clear errors.
#include "gguf/safetensors_reader.h"

#include <gtest/gtest.h>

#include "tests/support/safetensors_writer.h"

namespace odlm {
namespace {

using testing::FloatBytes;
using testing::SafetensorsFileBytes;
using testing::StTensor;

StatusOr<std::unique_ptr<SafetensorsFile>> ParseString(const std::string& s) {
  return SafetensorsFile::Parse(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

std::string ErrorOf(const std::string& bytes) {
  auto f = ParseString(bytes);
  EXPECT_FALSE(f.ok());
  return f.ok() ? "" : f.status().ToString();
}

TEST(SafetensorsReaderTest, ReadsTensorsAndMetadata) {
  const std::string bytes = SafetensorsFileBytes({
      {"a", "F32", {2, 3}, FloatBytes({1, 2, 3, 4, 5, 6})},
      {"b", "F16", {4}, std::string(8, '\x3c')},
      {"c", "I64", {1}, std::string(8, '\0')},
  });
  auto f = ParseString(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ((*f)->tensors().size(), 3u);
  const SafetensorsTensor* a = (*f)->FindTensor("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->type, DType::kF32);
  EXPECT_EQ(a->n_bytes, 24u);
  float v5;
  std::memcpy(&v5, a->data + 4 * 5, 4);
  EXPECT_EQ(v5, 6.0f);
  EXPECT_EQ((*f)->FindTensor("b")->type, DType::kF16);
  EXPECT_FALSE((*f)->FindTensor("c")->type.has_value());  // known dtype, not computable
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  EXPECT_EQ((*f)->FindTensor("zzz"), nullptr);
}

TEST(SafetensorsReaderTest, BadHeaderLength) {
  EXPECT_NE(ErrorOf("abc").find("too short"), std::string::npos);
  std::string bytes = SafetensorsFileBytes({{"a", "F32", {1}, FloatBytes({1})}});
  bytes[0] = '\xff';
  bytes[1] = '\xff';
  bytes[7] = '\x7f';
  EXPECT_NE(ErrorOf(bytes).find("runs past the end of the file"), std::string::npos);
  EXPECT_NE(ErrorOf(SafetensorsFileBytes("[1, 2]", "")).find("not a JSON object"),
            std::string::npos);
  EXPECT_NE(ErrorOf(SafetensorsFileBytes("{\"a\": ", "")).find("JSON at byte"), std::string::npos);
}

TEST(SafetensorsReaderTest, OffsetsPastTheEnd) {
  const std::string e = ErrorOf(SafetensorsFileBytes(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", std::string(8, '\0')));
  EXPECT_NE(e.find("tensor 'w'"), std::string::npos) << e;
  EXPECT_NE(e.find("past the end of the data section"), std::string::npos) << e;
  // Offsets that would overflow a u64 addition.
  EXPECT_NE(ErrorOf(SafetensorsFileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":"
                                         "[18446744073709551615,18446744073709551615]}}",
                                         std::string(16, '\0')))
                .find("past the end"),
            std::string::npos);
  EXPECT_NE(ErrorOf(SafetensorsFileBytes(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}",
                        std::string(16, '\0')))
                .find("end before they begin"),
            std::string::npos);
}

TEST(SafetensorsReaderTest, SizeMustMatchShapeAndDtype) {
  const std::string e = ErrorOf(SafetensorsFileBytes(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", std::string(16, '\0')));
  EXPECT_NE(e.find("holds 16 bytes but its shape and dtype F32 need 12"), std::string::npos) << e;
  // A shape whose element count overflows.
  EXPECT_NE(ErrorOf(SafetensorsFileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,"
                                         "1099511627776],\"data_offsets\":[0,16]}}",
                                         std::string(16, '\0')))
                .find("too many elements"),
            std::string::npos);
  EXPECT_NE(ErrorOf(SafetensorsFileBytes(
                        "{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}",
                        std::string(16, '\0')))
                .find("non-negative"),
            std::string::npos);
}

TEST(SafetensorsReaderTest, OverlappingTensors) {
  const std::string e = ErrorOf(
      SafetensorsFileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                           std::string(16, '\0')));
  EXPECT_NE(e.find("overlap"), std::string::npos) << e;
  EXPECT_NE(e.find("'a'"), std::string::npos) << e;
}

TEST(SafetensorsReaderTest, WrongDtypeAndMissingFields) {
  EXPECT_NE(ErrorOf(SafetensorsFileBytes(
                        "{\"w\":{\"dtype\":\"Q4\",\"shape\":[4],\"data_offsets\":[0,16]}}",
                        std::string(16, '\0')))
                .find("unknown dtype \"Q4\""),
            std::string::npos);
  EXPECT_NE(ErrorOf(SafetensorsFileBytes("{\"w\":{\"shape\":[4],\"data_offsets\":[0,16]}}",
                                         std::string(16, '\0')))
                .find("\"dtype\""),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(SafetensorsFileBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0]}}",
                                   std::string(16, '\0')))
          .find("data_offsets"),
      std::string::npos);
  EXPECT_NE(ErrorOf(SafetensorsFileBytes("{\"__metadata__\":{\"k\":1}}", "")).find("not a string"),
            std::string::npos);
}

TEST(SafetensorsReaderTest, OpenNamesThePath) {
  auto f = SafetensorsFile::Open("/nonexistent/adapter_model.safetensors");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("/nonexistent/adapter_model.safetensors"), std::string::npos);
}

}  // namespace
}  // namespace odlm
