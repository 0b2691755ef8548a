#include "datashard/data_file_writer.h"

#include <gtest/gtest.h>

#include <filesystem>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "datashard/format/written_file.h"
#include "datashard/maintenance.h"
#include "datashard/schema_update.h"
#include "datashard/transaction.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

std::shared_ptr<arrow::Table> Rows(int64_t first, int64_t count, int64_t groups = 1) {
  arrow::Int64Builder keys, values;
  for (int64_t i = first; i < first + count; ++i) {
    (void)keys.Append(i);
    (void)values.Append(i % groups);
  }
  return arrow::Table::Make(arrow::schema({arrow::field("key", arrow::int64()), arrow::field("value", arrow::int64())}),
                            {*keys.Finish(), *values.Finish()});
}

std::shared_ptr<Table> NewTable(const testing::TempDir& dir, bool partitioned) {
  CreateOptions options;
  options.schema.fields = {{1, "key", Type::Of(TypeId::kLong), true, ""},
                           {2, "value", Type::Of(TypeId::kLong), false, ""}};
  if (partitioned) options.partition_spec.fields.push_back(PartitionField{2, 1000, "value", "identity"});
  options.properties["datashard.commit.durability"] = "process";
  auto table = Table::Create(dir.Join("t"), options);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return *table;
}

int64_t SumOfKeys(Table& table) {
  auto reader = table.Scan(ScanOptions{});
  EXPECT_TRUE(reader.ok());
  auto all = (*reader)->ToTable();
  EXPECT_TRUE(all.ok());
  auto sum = arrow::compute::Sum((*all)->GetColumnByName("key"));
  return sum.ok() && sum->scalar()->is_valid ? static_cast<const arrow::Int64Scalar&>(*sum->scalar()).value : 0;
}

std::vector<std::string> Descriptors(const std::vector<WrittenFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.descriptor);
  return out;
}

Result<CommitInfo> CommitFiles(Table& table, const std::vector<std::string>& descriptors) {
  auto tx = table.NewTransaction();
  ARROW_RETURN_NOT_OK(tx->AddWrittenFiles(descriptors));
  return tx->Commit();
}

TEST(DataFileWriterTest, FilesOfTwoWritersLandInOneSnapshotOnCommit) {
  testing::TempDir dir;
  auto table = NewTable(dir, /*partitioned=*/false);
  std::vector<std::string> all;
  for (int w = 0; w < 2; ++w) {
    // Each worker opens its own handle, as another process would.
    DS_ASSIGN_OR_FAIL(auto handle, Table::Load(table->location()));
    DS_ASSIGN_OR_FAIL(auto writer, DataFileWriter::Open(handle, {"job1", 0, std::nullopt, std::nullopt}));
    DS_ASSERT_OK(writer->Write(Rows(w * 100, 60)));
    DS_ASSERT_OK(writer->Write(Rows(w * 100 + 60, 40)));
    DS_ASSIGN_OR_FAIL(auto files, writer->Finish());
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].record_count, 100);
    EXPECT_EQ(std::filesystem::path(files[0].path).filename().string().rfind("job1-", 0), 0u);
    EXPECT_EQ(static_cast<int64_t>(std::filesystem::file_size(files[0].path)), files[0].file_size_in_bytes);
    for (auto& d : Descriptors(files)) all.push_back(d);
  }
  // Nothing is visible before the commit.
  DS_ASSERT_OK(table->Refresh());
  EXPECT_FALSE(table->metadata()->current_snapshot_id.has_value());
  DS_ASSIGN_OR_FAIL(auto info, CommitFiles(*table, all));
  ASSERT_TRUE(info.snapshot_id.has_value());
  EXPECT_EQ(table->metadata()->snapshots.size(), 1u);
  DS_ASSIGN_OR_FAIL(int64_t rows, table->RowCount(std::nullopt));
  EXPECT_EQ(rows, 200);
  EXPECT_EQ(SumOfKeys(*table), (99 * 100 / 2) + (100 * 100 + 99 * 100 / 2));
  // The statistics came with the descriptor: the files prune like appended ones.
  ScanOptions scan;
  scan.filter = {Predicate{"key", PredicateOp::kGtEq, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(150), 1)}};
  DS_ASSIGN_OR_FAIL(auto reader, table->Scan(scan));
  DS_ASSIGN_OR_FAIL(auto some, reader->ToTable());
  EXPECT_EQ(some->num_rows(), 50);
  // Adding them again is refused.
  auto again = CommitFiles(*table, all);
  EXPECT_TRUE(IsKind(again.status(), ErrorKind::kInvalidArgument)) << again.status().ToString();
}

TEST(DataFileWriterTest, PartitionedTableGetsOneFilePerPartition) {
  testing::TempDir dir;
  auto table = NewTable(dir, /*partitioned=*/true);
  DS_ASSIGN_OR_FAIL(auto writer, DataFileWriter::Open(table, {}));
  DS_ASSERT_OK(writer->Write(Rows(0, 300, /*groups=*/3)));
  DS_ASSIGN_OR_FAIL(auto files, writer->Finish());
  ASSERT_EQ(files.size(), 3u);
  for (const auto& f : files) {
    EXPECT_NE(f.path.find("/data/value="), std::string::npos) << f.path;
    EXPECT_EQ(f.record_count, 100);
  }
  DS_ASSERT_OK(CommitFiles(*table, Descriptors(files)).status());
  DS_ASSIGN_OR_FAIL(int64_t rows, table->RowCount(std::nullopt));
  EXPECT_EQ(rows, 300);
  // Partition pruning works from the descriptor's partition values.
  ScanOptions scan;
  scan.filter = {Predicate{"value", PredicateOp::kEq, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(1), 1)}};
  DS_ASSIGN_OR_FAIL(auto reader, table->Scan(scan));
  DS_ASSIGN_OR_FAIL(auto some, reader->ToTable());
  EXPECT_EQ(some->num_rows(), 100);
}

TEST(DataFileWriterTest, SmallTargetRollsFilesAndBadRowsAreSchemaErrors) {
  testing::TempDir dir;
  auto table = NewTable(dir, /*partitioned=*/false);
  DS_ASSIGN_OR_FAIL(auto writer, DataFileWriter::Open(table, {"", 1024, std::nullopt, std::nullopt}));
  for (int i = 0; i < 5; ++i) DS_ASSERT_OK(writer->Write(Rows(i * 100, 100)));
  EXPECT_EQ(writer->files().size(), 7u);  // 5 x 100 rows of 16 bytes, a file per 1024 bytes of rows
  auto bad = arrow::Table::Make(arrow::schema({arrow::field("nope", arrow::int64())}),
                                {*arrow::MakeArrayFromScalar(arrow::Int64Scalar(1), 1)});
  Status refused = writer->Write(bad);
  EXPECT_TRUE(IsKind(refused, ErrorKind::kSchema)) << refused.ToString();
  EXPECT_FALSE(writer->Finish().ok());  // unusable after an error
  std::vector<std::string> paths;
  for (const auto& f : writer->files()) paths.push_back(f.path);
  DS_ASSERT_OK(writer->Abort());
  for (const auto& p : paths) EXPECT_FALSE(std::filesystem::exists(p)) << p;
}

TEST(DataFileWriterTest, CommitRefusesForeignTamperedAndMissingFiles) {
  testing::TempDir dir;
  auto table = NewTable(dir, /*partitioned=*/false);
  DS_ASSIGN_OR_FAIL(auto writer, DataFileWriter::Open(table, {}));
  DS_ASSERT_OK(writer->Write(Rows(0, 10)));
  DS_ASSIGN_OR_FAIL(auto files, writer->Finish());
  ASSERT_EQ(files.size(), 1u);
  const std::string good = files[0].descriptor;

  auto not_json = CommitFiles(*table, {"{not json"});
  EXPECT_TRUE(IsKind(not_json.status(), ErrorKind::kInvalidArgument));
  DS_ASSIGN_OR_FAIL(auto decoded, format::DecodeWrittenFile(good, table->location()));
  EXPECT_EQ(decoded.file.file_path, files[0].path);
  EXPECT_EQ(decoded.file.record_count, 10);
  EXPECT_FALSE(decoded.file.lower_bounds.empty());
  decoded.file.file_path = "../../etc/passwd";
  auto escaped = CommitFiles(*table, {format::EncodeWrittenFile(decoded, table->location())});
  EXPECT_TRUE(IsKind(escaped.status(), ErrorKind::kInvalidArgument)) << escaped.status().ToString();
  std::filesystem::resize_file(files[0].path, files[0].file_size_in_bytes - 1);
  auto truncated = CommitFiles(*table, {good});
  EXPECT_TRUE(IsKind(truncated.status(), ErrorKind::kInvalidArgument)) << truncated.status().ToString();
  std::filesystem::remove(files[0].path);
  auto missing = CommitFiles(*table, {good});
  EXPECT_NE(missing.status().message().find("no file at"), std::string::npos) << missing.status().ToString();
  EXPECT_FALSE(table->metadata()->current_snapshot_id.has_value());
}

TEST(DataFileWriterTest, OrphanCleanupByPrefixTakesOnlyThatAppendsUncommittedFiles) {
  testing::TempDir dir;
  auto table = NewTable(dir, /*partitioned=*/true);
  auto write = [&](const std::string& prefix) {
    auto writer = DataFileWriter::Open(table, {prefix, 0, std::nullopt, std::nullopt});
    EXPECT_TRUE(writer.ok());
    EXPECT_TRUE((*writer)->Write(Rows(0, 20, 2)).ok());
    return *(*writer)->Finish();
  };
  auto committed = write("a1");
  auto stray = write("a1");
  auto other = write("b2");
  DS_ASSERT_OK(CommitFiles(*table, Descriptors(committed)).status());
  OrphanOptions options;
  options.older_than_ms = INT64_MAX;
  options.data_file_prefix = "a1";
  DS_ASSIGN_OR_FAIL(auto removed, RemoveOrphanFiles(*table, options));
  EXPECT_EQ(removed.data_files, 2);
  for (const auto& f : committed) EXPECT_TRUE(std::filesystem::exists(f.path));
  for (const auto& f : stray) EXPECT_FALSE(std::filesystem::exists(f.path));
  for (const auto& f : other) EXPECT_TRUE(std::filesystem::exists(f.path));
  EXPECT_FALSE(DataFileWriter::Open(table, {"bad/prefix", 0, std::nullopt, std::nullopt}).ok());
}

}  // namespace
}  // namespace datashard
