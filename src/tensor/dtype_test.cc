#include "tensor/dtype.h"

#include <gtest/gtest.h>

namespace odlm {
namespace {

TEST(DTypeTest, SizesMatchGgml) {
  struct Want {
    DType t;
    int64_t block, bytes;
  } wants[] = {{DType::kF32, 1, 4},      {DType::kF16, 1, 2},      {DType::kBF16, 1, 2},
               {DType::kQ8_0, 32, 34},   {DType::kQ4_0, 32, 18},   {DType::kQ4_1, 32, 20},
               {DType::kQ5_0, 32, 22},   {DType::kQ5_1, 32, 24},   {DType::kQ2_K, 256, 84},
               {DType::kQ3_K, 256, 110}, {DType::kQ4_K, 256, 144}, {DType::kQ5_K, 256, 176},
               {DType::kQ6_K, 256, 210}, {DType::kQ8_K, 256, 292}};
  for (const auto& w : wants) {
    const DTypeInfo& info = GetDTypeInfo(w.t);
    EXPECT_EQ(info.block_size, w.block) << info.name;
    EXPECT_EQ(info.type_size, w.bytes) << info.name;
  }
  EXPECT_EQ(RowBytes(DType::kQ4_K, 2048), 8 * 144);
}

TEST(DTypeTest, LookupAndParse) {
  EXPECT_EQ(LookupDType(12)->type, DType::kQ4_K);
  EXPECT_FALSE(LookupDType(4).has_value());  // removed Q4_2
  EXPECT_FALSE(LookupDType(1000).has_value());
  EXPECT_EQ(*ParseDType("Q4_K"), DType::kQ4_K);
  EXPECT_EQ(*ParseDType("bf16"), DType::kBF16);
  EXPECT_FALSE(ParseDType("q9_9").has_value());
  EXPECT_EQ(DTypeName(DType::kQ6_K), "q6_K");
}

TEST(DTypeDeathTest, RowOfPartialBlockIsABug) {
  EXPECT_DEATH(RowBytes(DType::kQ4_0, 33), "CHECK failed");
}

}  // namespace
}  // namespace odlm
