#include "datashard/scan/file_reader.h"

#include <gtest/gtest.h>

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>

#include "testing/temp_dir.h"

namespace datashard::scan {
namespace {

// A string column holding exactly `values` as bytes: Arrow's constructor from
// buffers checks nothing, so invalid UTF-8 can be written as a Parquet string.
std::shared_ptr<arrow::Array> RawStrings(const std::vector<std::string>& values, bool text = true) {
  std::string data;
  std::vector<int32_t> offsets{0};
  for (const auto& v : values) {
    data += v;
    offsets.push_back(static_cast<int32_t>(data.size()));
  }
  auto offset_buffer = arrow::Buffer::FromString(
      std::string(reinterpret_cast<const char*>(offsets.data()), offsets.size() * sizeof(int32_t)));
  auto data_buffer = arrow::Buffer::FromString(data);
  const auto n = static_cast<int64_t>(values.size());
  if (!text) return std::make_shared<arrow::BinaryArray>(n, offset_buffer, data_buffer);
  return std::make_shared<arrow::StringArray>(n, offset_buffer, data_buffer);
}

std::string WriteColumn(const testing::TempDir& dir, const std::shared_ptr<arrow::Array>& column) {
  std::string path = dir.Join("f.parquet");
  auto table = arrow::Table::Make(arrow::schema({arrow::field("s", column->type())}), {column});
  auto out = arrow::io::FileOutputStream::Open(path);
  EXPECT_TRUE(out.ok());
  EXPECT_TRUE(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), *out, 1024).ok());
  EXPECT_TRUE((*out)->Close().ok());
  return path;
}

Result<std::shared_ptr<arrow::Table>> ReadColumn(const std::string& path, TypeId type) {
  return ReadDataFile(*LocalFileSystem(), path, {NestedField{1, "s", Type::Of(type), false, ""}});
}

TEST(FileReaderTest, TextIsReadWhenEveryValueIsWholeCharacters) {
  testing::TempDir dir;
  const std::vector<std::string> values{"plain", "", "é", "名前", "🎉x", "", "a\xC3\xA9"};
  DS_ASSIGN_OR_FAIL(auto table, ReadColumn(WriteColumn(dir, RawStrings(values)), TypeId::kString));
  auto column = std::static_pointer_cast<arrow::StringArray>(table->column(0)->chunk(0));
  ASSERT_EQ(column->length(), static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(column->GetString(static_cast<int64_t>(i)), values[i]);
}

TEST(FileReaderTest, InvalidTextIsCorruptDataEvenWhenTheBytesJoinUpValid) {
  testing::TempDir dir;
  // A stray byte; a truncated character at the very end; and "é" split
  // between two values, whose bytes in a row are valid UTF-8.
  for (const auto& values : std::vector<std::vector<std::string>>{
           {"ok", "bad\xFF", "ok"}, {"ok", "end\xC3"}, {"caf\xC3", "\xA9", "x"}, {"a", "", "\xA9"}}) {
    auto read = ReadColumn(WriteColumn(dir, RawStrings(values)), TypeId::kString);
    ASSERT_FALSE(read.ok()) << values.size() << " values, first " << values[0];
    EXPECT_TRUE(IsKind(read.status(), ErrorKind::kCorruptData)) << read.status().ToString();
  }
}

TEST(FileReaderTest, BinaryValuesAreNotText) {
  testing::TempDir dir;
  const std::vector<std::string> values{"\xFF\xFE", "", "\xA9"};
  DS_ASSIGN_OR_FAIL(auto table, ReadColumn(WriteColumn(dir, RawStrings(values, false)), TypeId::kBinary));
  auto column = std::static_pointer_cast<arrow::BinaryArray>(table->column(0)->chunk(0));
  ASSERT_EQ(column->length(), 3);
  EXPECT_EQ(column->GetString(0), values[0]);
  EXPECT_EQ(column->GetString(2), values[2]);
}

}  // namespace
}  // namespace datashard::scan
