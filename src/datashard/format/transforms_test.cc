#include "datashard/format/transforms.h"

#include <gtest/gtest.h>

#include <cstring>

#include <arrow/api.h>

#include "testing/temp_dir.h"

namespace datashard::format {
namespace {

std::string Long(int64_t v) {
  std::string out(8, '\0');
  std::memcpy(out.data(), &v, 8);
  return out;
}

int32_t Int(const std::optional<std::string>& bytes) {
  int32_t v = 0;
  std::memcpy(&v, bytes->data(), 4);
  return v;
}

// Hash values from the Iceberg spec, Appendix B.
TEST(TransformsTest, Murmur3MatchesTheSpecVectors) {
  EXPECT_EQ(Murmur3Hash32(Long(34)), 2017239379);
  EXPECT_EQ(Murmur3Hash32(Long(17486)), -653330422);              // date 2017-11-16
  EXPECT_EQ(Murmur3Hash32(Long(1510871468000000)), -2047944441);  // timestamp 2017-11-16T22:31:08
  EXPECT_EQ(Murmur3Hash32("iceberg"), 1210000089);
  EXPECT_EQ(Murmur3Hash32(std::string("\x00\x01\x02\x03", 4)), -188683207);
  EXPECT_EQ(Murmur3Hash32(std::string("\x05\x8c", 2)), -500754589);  // decimal 14.20
  const unsigned char uuid[] = {0xf7, 0x9c, 0x3e, 0x09, 0x67, 0x7c, 0x4b, 0xbd,
                                0xa4, 0x79, 0x3f, 0x34, 0x9c, 0xb7, 0x85, 0xe7};
  EXPECT_EQ(Murmur3Hash32(std::string(reinterpret_cast<const char*>(uuid), 16)), 1488055340);
}

TEST(TransformsTest, TemporalTransformsUseFloorDivision) {
  arrow::TimestampBuilder builder(arrow::timestamp(arrow::TimeUnit::MICRO), arrow::default_memory_pool());
  // 1969-12-31T23:59:59.999999 and 2017-11-16T22:31:08
  ASSERT_TRUE(builder.AppendValues({-1, 1510871468000000}).ok());
  ASSERT_TRUE(builder.AppendNull().ok());
  auto array = *builder.Finish();
  const Type ts = Type::Of(TypeId::kTimestamp);
  DS_ASSIGN_OR_FAIL(auto day, ApplyTransform("day", ts, *array));
  EXPECT_EQ(Int(day[0]), -1);
  EXPECT_EQ(Int(day[1]), 17486);
  EXPECT_FALSE(day[2].has_value());
  DS_ASSIGN_OR_FAIL(auto hour, ApplyTransform("hour", ts, *array));
  EXPECT_EQ(Int(hour[0]), -1);
  DS_ASSIGN_OR_FAIL(auto month, ApplyTransform("month", ts, *array));
  EXPECT_EQ(Int(month[0]), -1);
  EXPECT_EQ(Int(month[1]), 47 * 12 + 10);
  DS_ASSIGN_OR_FAIL(auto year, ApplyTransform("year", ts, *array));
  EXPECT_EQ(Int(year[0]), -1);
  EXPECT_EQ(Int(year[1]), 47);
}

TEST(TransformsTest, TruncateAndBucket) {
  arrow::Int32Builder ints;
  ASSERT_TRUE(ints.AppendValues({1, -1, 10, 34}).ok());
  auto array = *ints.Finish();
  DS_ASSIGN_OR_FAIL(auto truncated, ApplyTransform("truncate[10]", Type::Of(TypeId::kInt), *array));
  EXPECT_EQ(Int(truncated[0]), 0);
  EXPECT_EQ(Int(truncated[1]), -10);
  EXPECT_EQ(Int(truncated[2]), 10);
  DS_ASSIGN_OR_FAIL(auto bucket, ApplyTransform("bucket[100]", Type::Of(TypeId::kInt), *array));
  EXPECT_EQ(Int(bucket[3]), (2017239379 & 0x7FFFFFFF) % 100);
  arrow::StringBuilder strings;
  ASSERT_TRUE(strings.Append("iceberg").ok());
  auto text = *strings.Finish();
  DS_ASSIGN_OR_FAIL(auto prefix, ApplyTransform("truncate[3]", Type::Of(TypeId::kString), *text));
  EXPECT_EQ(*prefix[0], "ice");
  EXPECT_FALSE(ApplyTransform("bucket[0]", Type::Of(TypeId::kInt), *array).ok());
  EXPECT_FALSE(ApplyTransform("hour", Type::Of(TypeId::kInt), *array).ok());
}

}  // namespace
}  // namespace datashard::format
