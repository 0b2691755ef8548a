#include "datashard/table.h"

#include <gtest/gtest.h>

#include <arrow/api.h>
#include <nlohmann/json.hpp>

#include "datashard/commit/snapshot_producer.h"
#include "datashard/format/file_names.h"
#include "datashard/schema_update.h"
#include "datashard/transaction.h"
#include "testing/fault_injection_fs.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

Schema PeopleSchema() {
  Schema schema;
  schema.fields = {{1, "id", Type::Of(TypeId::kLong), true, ""},
                   {2, "name", Type::Of(TypeId::kString), false, ""},
                   {3, "score", Type::Of(TypeId::kDouble), false, ""}};
  return schema;
}

std::shared_ptr<arrow::Table> People(int64_t first, int64_t count) {
  arrow::Int64Builder ids;
  arrow::StringBuilder names;
  arrow::DoubleBuilder scores;
  for (int64_t i = first; i < first + count; ++i) {
    (void)ids.Append(i);
    (void)names.Append("person-" + std::to_string(i));
    (void)scores.Append(static_cast<double>(i) / 2);
  }
  return arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8()),
                                           arrow::field("score", arrow::float64())}),
                            {*ids.Finish(), *names.Finish(), *scores.Finish()});
}

std::shared_ptr<Table> NewTable(const testing::TempDir& dir) {
  CreateOptions options;
  options.schema = PeopleSchema();
  auto table = Table::Create(dir.Join("people"), options);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return *table;
}

int64_t CountRows(Table& table, const ScanOptions& options = {}) {
  auto reader = table.Scan(options);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  auto all = (*reader)->ToTable();
  EXPECT_TRUE(all.ok());
  return (*all)->num_rows();
}

TEST(TableTest, CreateIsIdempotentAndChecksTheSchema) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  EXPECT_EQ(table->version(), 1);
  CreateOptions again;
  again.schema = PeopleSchema();
  DS_ASSIGN_OR_FAIL(auto reopened, Table::Create(dir.Join("people"), again));
  EXPECT_EQ(reopened->metadata()->table_uuid, table->metadata()->table_uuid);
  again.schema.fields[1].type = Type::Of(TypeId::kBinary);
  auto mismatch = Table::Create(dir.Join("people"), again);
  ASSERT_TRUE(IsKind(mismatch.status(), ErrorKind::kTableExists));
  EXPECT_NE(mismatch.status().message().find("\"name\""), std::string::npos);
  again.exist_ok = false;
  again.schema = PeopleSchema();
  EXPECT_TRUE(IsKind(Table::Create(dir.Join("people"), again).status(), ErrorKind::kTableExists));
}

TEST(TableTest, LoadingANonTableIsTableNotFound) {
  testing::TempDir dir;
  auto missing = Table::Load(dir.Join("nothing-here"));
  EXPECT_TRUE(IsKind(missing.status(), ErrorKind::kTableNotFound)) << missing.status().ToString();
}

TEST(TableTest, AppendScanAndTimeTravel) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSIGN_OR_FAIL(auto first, table->Append(People(0, 10)));
  DS_ASSIGN_OR_FAIL(auto second, table->Append(People(10, 5)));
  ASSERT_TRUE(first.snapshot_id && second.snapshot_id);
  EXPECT_EQ(CountRows(*table), 15);
  ScanOptions old;
  old.snapshot_id = first.snapshot_id;
  EXPECT_EQ(CountRows(*table, old), 10);
  DS_ASSIGN_OR_FAIL(int64_t rows, table->RowCount(first.snapshot_id));
  EXPECT_EQ(rows, 10);
  // A fresh process sees the same thing.
  DS_ASSIGN_OR_FAIL(auto loaded, Table::Load(dir.Join("people")));
  EXPECT_EQ(loaded->version(), 3);
  EXPECT_EQ(CountRows(*loaded), 15);
}

TEST(TableTest, FiltersPruneFilesAndFilterRowsExactly) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  for (int i = 0; i < 4; ++i) DS_ASSERT_OK(table->Append(People(i * 100, 100)).status());
  ScanOptions options;
  options.filter.push_back(
      Predicate{"id", PredicateOp::kGtEq, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(250), 1)});
  options.filter.push_back(Predicate{"id", PredicateOp::kLt, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(310), 1)});
  options.metrics = std::make_shared<ScanMetrics>();
  EXPECT_EQ(CountRows(*table, options), 60);
  // Only files 2 and 3 can hold ids in [250, 310): the others are never opened.
  EXPECT_EQ(options.metrics->files_total.load(), 4);
  EXPECT_EQ(options.metrics->files_skipped.load(), 2);
  ScanOptions everything;
  everything.metrics = std::make_shared<ScanMetrics>();
  EXPECT_EQ(CountRows(*table, everything), 400);
  EXPECT_LT(options.metrics->bytes_read.load(), everything.metrics->bytes_read.load());
  // An unknown column is an error, not an empty result.
  ScanOptions bad;
  bad.filter.push_back(Predicate{"nope", PredicateOp::kEq, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(1), 1)});
  auto reader = table->Scan(bad);
  EXPECT_TRUE(IsKind(reader.status(), ErrorKind::kSchema));
}

TEST(TableTest, AScanOfChosenFilesReadsOnlyThose) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  for (int i = 0; i < 4; ++i) DS_ASSERT_OK(table->Append(People(i * 100, 100)).status());
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  ASSERT_EQ(files.size(), 4u);
  ScanOptions share;
  share.files = {files[0].file_path, files[2].file_path};
  share.metrics = std::make_shared<ScanMetrics>();
  EXPECT_EQ(CountRows(*table, share), 200);
  EXPECT_EQ(share.metrics->rows_read.load(), 200);  // the other two files were never opened
  // Files are read in the order given, not in commit order.
  ScanOptions reversed;
  reversed.files = {files[2].file_path, files[0].file_path};
  DS_ASSIGN_OR_FAIL(auto reader, table->Scan(reversed));
  DS_ASSIGN_OR_FAIL(auto all, reader->ToTable());
  auto ids = std::static_pointer_cast<arrow::Int64Array>(all->GetColumnByName("id")->chunk(0));
  EXPECT_EQ(ids->Value(0), 200);
  // A filter still prunes inside the share; a file pruned by it reads nothing.
  share.filter.push_back(Predicate{"id", PredicateOp::kEq, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(150), 1)});
  EXPECT_EQ(CountRows(*table, share), 0);
  // A path that is not in the snapshot is an error, not an empty read.
  ScanOptions wrong;
  wrong.files = {files[0].file_path + ".gone"};
  EXPECT_TRUE(IsKind(table->Scan(wrong).status(), ErrorKind::kInvalidArgument));
}

TEST(TableTest, RowGroupStatisticsSkipRowGroups) {
  testing::TempDir dir;
  CreateOptions create;
  create.schema = PeopleSchema();
  create.properties["write.parquet.row-group-limit"] = "100";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("groups"), create));
  DS_ASSERT_OK(table->Append(People(0, 1000)).status());  // one file, ten row groups of sorted ids
  ScanOptions options;
  options.filter.push_back(Predicate{"id", PredicateOp::kEq, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(555), 1)});
  options.metrics = std::make_shared<ScanMetrics>();
  EXPECT_EQ(CountRows(*table, options), 1);
  EXPECT_EQ(options.metrics->row_groups_total.load(), 10);
  EXPECT_EQ(options.metrics->row_groups_skipped.load(), 9);
  EXPECT_EQ(options.metrics->rows_read.load(), 100);
  // Projection of a column alone still counts rows right.
  ScanOptions names;
  names.columns = {"name"};
  EXPECT_EQ(CountRows(*table, names), 1000);
}

// A file of several row groups is read in parts, opened ahead in parallel;
// the rows still come back once each and in file order.
TEST(TableTest, AFileReadInPartsGivesItsRowsInOrder) {
  testing::TempDir dir;
  CreateOptions create;
  create.schema = PeopleSchema();
  create.properties["write.parquet.row-group-limit"] = "100";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("parts"), create));
  DS_ASSERT_OK(table->Append(People(0, 1000)).status());    // one file, ten row groups
  DS_ASSERT_OK(table->Append(People(1000, 250)).status());  // and three more in a second file
  for (int64_t batch : {int64_t{1}, int64_t{100}, int64_t{150}, int64_t{1} << 20}) {
    for (int threads : {1, 3, 8}) {
      ScanOptions options;
      options.threads = threads;
      options.batch_size = batch;
      options.metrics = std::make_shared<ScanMetrics>();
      DS_ASSIGN_OR_FAIL(auto reader, table->Scan(options));
      DS_ASSIGN_OR_FAIL(auto all, reader->ToTable());
      DS_ASSIGN_OR_FAIL(auto combined, all->CombineChunks());
      ASSERT_EQ(combined->num_rows(), 1250) << "batch " << batch << ", threads " << threads;
      auto ids = std::static_pointer_cast<arrow::Int64Array>(combined->column(0)->chunk(0));
      // Files in commit order, rows in file order.
      for (int64_t i = 0; i < 1250; ++i) ASSERT_EQ(ids->Value(i), i) << "batch " << batch << ", threads " << threads;
      EXPECT_EQ(options.metrics->row_groups_total.load(), 13);
      EXPECT_EQ(options.metrics->rows_read.load(), 1250);
    }
  }
  ScanOptions limited;
  limited.threads = 4;
  limited.limit = 250;
  DS_ASSIGN_OR_FAIL(auto reader, table->Scan(limited));
  DS_ASSIGN_OR_FAIL(auto first, reader->ToTable());
  EXPECT_EQ(first->num_rows(), 250);
}

TEST(TableTest, PartitionSummariesSkipWholeManifests) {
  testing::TempDir dir;
  CreateOptions create;
  create.schema = PeopleSchema();
  create.partition_spec.fields.push_back(PartitionField{2, 1000, "name", "identity"});
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("parts"), create));
  for (int i = 0; i < 3; ++i) DS_ASSERT_OK(table->Append(People(i * 10, 10)).status());
  ScanOptions options;
  options.filter.push_back(
      Predicate{"name", PredicateOp::kEq, *arrow::MakeArrayFromScalar(arrow::StringScalar("person-5"), 1)});
  options.metrics = std::make_shared<ScanMetrics>();
  EXPECT_EQ(CountRows(*table, options), 1);
  EXPECT_EQ(options.metrics->manifests_total.load(), 3);
  EXPECT_EQ(options.metrics->manifests_skipped.load(), 2);
}

TEST(TableTest, BadDataIsASchemaErrorAndWritesNothing) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  auto extra = People(0, 3)->AddColumn(3, arrow::field("bogus", arrow::int64()), People(0, 3)->column(0));
  auto unknown = table->Append(*extra);
  EXPECT_TRUE(IsKind(unknown.status(), ErrorKind::kSchema)) << unknown.status().ToString();
  arrow::Int64Builder ids;
  (void)ids.AppendNull();
  auto null_id = arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64())}), {*ids.Finish()});
  auto required = table->Append(null_id);
  EXPECT_TRUE(IsKind(required.status(), ErrorKind::kSchema));
  EXPECT_NE(required.status().message().find("row 0"), std::string::npos);
  EXPECT_EQ(table->version(), 1);
  DS_ASSIGN_OR_FAIL(auto data_files, LocalFileSystem()->ListDir(format::DataDir(table->location())));
  EXPECT_TRUE(data_files.empty());
}

TEST(TableTest, RollbackLeavesNoTrace) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  {
    auto tx = table->NewTransaction();
    DS_ASSERT_OK(tx->Append(People(0, 5)));
    DS_ASSERT_OK(tx->Rollback());
  }
  {
    auto tx = table->NewTransaction();
    DS_ASSERT_OK(tx->Append(People(0, 5)));
    // Destroyed without commit: rolled back.
  }
  DS_ASSIGN_OR_FAIL(auto data_files, LocalFileSystem()->ListDir(format::DataDir(table->location())));
  EXPECT_TRUE(data_files.empty());
  DS_ASSERT_OK(table->Refresh());
  EXPECT_EQ(table->version(), 1);
  auto tx = table->NewTransaction();
  DS_ASSERT_OK(tx->Append(People(0, 5)));
  DS_ASSERT_OK(tx->Append(People(5, 5)));
  DS_ASSIGN_OR_FAIL(auto info, tx->Commit());
  EXPECT_TRUE(info.snapshot_id.has_value());
  EXPECT_EQ(table->version(), 2);
  EXPECT_EQ(CountRows(*table), 10);
}

TEST(TableTest, CommitKeyAppliesOnce) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSIGN_OR_FAIL(auto first, table->Append(People(0, 5), std::string("batch-1")));
  DS_ASSIGN_OR_FAIL(auto second, table->Append(People(0, 5), std::string("batch-1")));
  EXPECT_FALSE(first.already_committed);
  EXPECT_TRUE(second.already_committed);
  EXPECT_EQ(second.snapshot_id, first.snapshot_id);
  EXPECT_EQ(CountRows(*table), 5);
}

TEST(TableTest, CommitKeyAppliesOnceLongAfterItLeftTheMetadataWindow) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = PeopleSchema();
  options.properties["datashard.commit.durability"] = "process";
  options.properties["datashard.metadata.max-snapshots"] = "4";
  options.properties["write.metadata.previous-versions-max"] = "4";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("keys"), options));
  DS_ASSIGN_OR_FAIL(auto first, table->Append(People(0, 5), std::string("batch-1")));
  for (int i = 0; i < 40; ++i) DS_ASSERT_OK(table->Append(People(100 + i, 1)).status());
  ASSERT_EQ(table->metadata()->SnapshotById(*first.snapshot_id), nullptr);  // out of the window
  // Another handle (as a restarted writer would have) retries the key.
  DS_ASSIGN_OR_FAIL(auto again, Table::Load(dir.Join("keys")));
  DS_ASSIGN_OR_FAIL(auto retried, again->Append(People(0, 5), std::string("batch-1")));
  EXPECT_TRUE(retried.already_committed);
  EXPECT_EQ(retried.snapshot_id, first.snapshot_id);
  EXPECT_EQ(CountRows(*again), 45);
  // New keys still commit; with no lookback only the window is searched.
  DS_ASSIGN_OR_FAIL(auto fresh, again->Append(People(200, 1), std::string("batch-2")));
  EXPECT_FALSE(fresh.already_committed);
  DS_ASSERT_OK(SetProperties(*again, {{"datashard.commit-key.lookback-ms", "0"}}, {}));
  for (int i = 0; i < 10; ++i) DS_ASSERT_OK(again->Append(People(300 + i, 1)).status());
  DS_ASSIGN_OR_FAIL(auto outside, again->Append(People(200, 1), std::string("batch-2")));
  EXPECT_FALSE(outside.already_committed);
  EXPECT_TRUE(
      IsKind(SetProperties(*again, {{"datashard.commit-key.lookback-ms", "-1"}}, {}), ErrorKind::kInvalidArgument));
}

TEST(TableTest, MetadataPointingOutsideTheTableIsCorruptData) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(People(0, 5)).status());
  auto fs = LocalFileSystem();
  const std::string v2 = format::MetadataFilePath(table->location(), 2);
  DS_ASSIGN_OR_FAIL(std::string text, fs->ReadFile(v2));
  auto doc = nlohmann::json::parse(text);
  doc["snapshots"][0]["manifest-list"] = "/etc/passwd";
  DS_ASSERT_OK(fs->PublishIfAbsent(format::MetadataFilePath(table->location(), 3), doc.dump(), Durability::kProcess));
  DS_ASSIGN_OR_FAIL(auto loaded, Table::Load(table->location()));
  auto reader = loaded->Scan(ScanOptions{});
  EXPECT_TRUE(IsKind(reader.status(), ErrorKind::kCorruptData)) << reader.status().ToString();
}

TEST(TableTest, ManyCommitsKeepMetadataBoundedAndHistoryReachable) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = PeopleSchema();
  options.properties["datashard.commit.durability"] = "process";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("many"), options));
  std::vector<int64_t> ids;
  for (int i = 0; i < 300; ++i) {
    DS_ASSIGN_OR_FAIL(auto info, table->Append(People(i, 1)));
    ids.push_back(*info.snapshot_id);
  }
  auto metadata = table->metadata();
  EXPECT_LE(metadata->snapshots.size(), 32u);
  EXPECT_LE(metadata->metadata_log.size(), 32u);
  EXPECT_EQ(CountRows(*table), 300);
  // The oldest snapshot left the window but is still readable.
  ScanOptions old;
  old.snapshot_id = ids[3];
  EXPECT_EQ(CountRows(*table, old), 4);
  DS_ASSIGN_OR_FAIL(auto found, table->FindSnapshot(ids[0]));
  ASSERT_TRUE(found.has_value());
  EXPECT_FALSE(found->parent_snapshot_id.has_value());
}

TEST(TableTest, FindingAnOldSnapshotByIdReadsOneMetadataFile) {
  testing::TempDir dir;
  auto counting = std::make_shared<testing::FaultInjectionFileSystem>(LocalFileSystem());
  CreateOptions options;
  options.schema = PeopleSchema();
  options.properties["datashard.commit.durability"] = "process";
  options.properties["datashard.metadata.max-snapshots"] = "4";
  options.properties["write.metadata.previous-versions-max"] = "4";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("ids"), options, counting));
  std::vector<int64_t> ids;
  for (int i = 0; i < 200; ++i) {
    DS_ASSIGN_OR_FAIL(auto info, table->Append(People(i, 1)));
    ids.push_back(*info.snapshot_id);
    // The id names the version that added it.
    EXPECT_EQ(commit::VersionOfSnapshotId(*info.snapshot_id), table->version());
    EXPECT_EQ(table->metadata()->current_snapshot_id, info.snapshot_id);
  }
  for (size_t i : {size_t{0}, size_t{7}, size_t{100}, size_t{190}}) {
    counting->ResetCounters();
    DS_ASSIGN_OR_FAIL(auto found, table->FindSnapshot(ids[i]));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->snapshot_id, ids[i]);
    EXPECT_EQ(counting->calls(), 1) << "snapshot " << i;
  }
  ScanOptions old;
  old.snapshot_id = ids[7];
  EXPECT_EQ(CountRows(*table, old), 8);
  // An id no version has: still answered (by walking the log), not found.
  DS_ASSIGN_OR_FAIL(auto missing, table->FindSnapshot(ids[7] ^ 1));
  EXPECT_FALSE(missing.has_value());
}

}  // namespace
}  // namespace datashard
