#include "datashard/transaction.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>

#include "datashard/format/arrow_schema.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

Schema KeyValueSchema() {
  Schema schema;
  schema.fields = {{1, "key", Type::Of(TypeId::kLong), true, ""}, {2, "value", Type::Of(TypeId::kLong), false, ""}};
  return schema;
}

std::shared_ptr<arrow::Table> Rows(int64_t first, int64_t count, int64_t value = 0) {
  arrow::Int64Builder keys, values;
  for (int64_t i = first; i < first + count; ++i) {
    (void)keys.Append(i);
    (void)values.Append(value);
  }
  return arrow::Table::Make(arrow::schema({arrow::field("key", arrow::int64()), arrow::field("value", arrow::int64())}),
                            {*keys.Finish(), *values.Finish()});
}

std::shared_ptr<arrow::Array> Long(int64_t v) { return *arrow::MakeArrayFromScalar(arrow::Int64Scalar(v), 1); }

std::shared_ptr<Table> NewTable(const testing::TempDir& dir, bool durable = false) {
  CreateOptions options;
  options.schema = KeyValueSchema();
  if (!durable) options.properties["datashard.commit.durability"] = "process";
  auto table = Table::Create(dir.Join("kv"), options);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return *table;
}

std::shared_ptr<arrow::Table> ReadAll(Table& table, std::optional<int64_t> snapshot = std::nullopt) {
  ScanOptions options;
  options.snapshot_id = snapshot;
  auto reader = table.Scan(options);
  EXPECT_TRUE(reader.ok()) << reader.status().ToString();
  auto all = (*reader)->ToTable();
  EXPECT_TRUE(all.ok());
  return *all;
}

int64_t SumOf(const arrow::Table& table, const std::string& column) {
  auto sum = arrow::compute::Sum(table.GetColumnByName(column));
  if (!sum.ok() || !sum->scalar()->is_valid) return 0;
  return static_cast<const arrow::Int64Scalar&>(*sum->scalar()).value;
}

TEST(TransactionTest, DeleteByFilterRewritesOnlyAffectedFiles) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  for (int i = 0; i < 3; ++i) DS_ASSERT_OK(table->Append(Rows(i * 10, 10)).status());
  const int64_t before = *table->metadata()->current_snapshot_id;
  auto tx = table->NewTransaction();
  DS_ASSIGN_OR_FAIL(int64_t deleted, tx->Delete({Predicate{"key", PredicateOp::kGtEq, Long(15)},
                                                 Predicate{"key", PredicateOp::kLt, Long(25)}}));
  EXPECT_EQ(deleted, 10);
  DS_ASSERT_OK(tx->Commit().status());
  auto now = ReadAll(*table);
  EXPECT_EQ(now->num_rows(), 20);
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->operation(), "overwrite");
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->SummaryLong("total-records"), 20);
  DS_ASSIGN_OR_FAIL(int64_t count, table->RowCount(std::nullopt));
  EXPECT_EQ(count, 20);
  // The past is untouched.
  EXPECT_EQ(ReadAll(*table, before)->num_rows(), 30);
  // Deleting everything leaves an empty, readable table.
  auto all = table->NewTransaction();
  DS_ASSIGN_OR_FAIL(deleted, all->Delete({}));
  EXPECT_EQ(deleted, 20);
  DS_ASSERT_OK(all->Commit().status());
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->operation(), "delete");
  EXPECT_EQ(ReadAll(*table)->num_rows(), 0);
  DS_ASSIGN_OR_FAIL(count, table->RowCount(std::nullopt));
  EXPECT_EQ(count, 0);
}

TEST(TransactionTest, OverwriteReplacesMatchingRows) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows(0, 10, 1)).status());
  auto tx = table->NewTransaction();
  DS_ASSIGN_OR_FAIL(int64_t replaced, tx->Overwrite(Rows(0, 5, 7), {Predicate{"key", PredicateOp::kLt, Long(5)}}));
  EXPECT_EQ(replaced, 5);
  DS_ASSERT_OK(tx->Commit().status());
  auto rows = ReadAll(*table);
  EXPECT_EQ(rows->num_rows(), 10);
  EXPECT_EQ(SumOf(*rows, "value"), 5 * 7 + 5 * 1);
}

TEST(TransactionTest, RemovingTheSameFileTwiceConflicts) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows(0, 10)).status());
  auto first = table->NewTransaction();
  auto second = table->NewTransaction();
  DS_ASSERT_OK(first->Delete({Predicate{"key", PredicateOp::kEq, Long(3)}}).status());
  DS_ASSERT_OK(second->Delete({Predicate{"key", PredicateOp::kEq, Long(4)}}).status());
  DS_ASSERT_OK(first->Commit().status());
  auto lost = second->Commit();
  ASSERT_TRUE(IsKind(lost.status(), ErrorKind::kConcurrentModification)) << lost.status().ToString();
  // The loser left nothing behind and the winner's change stands.
  EXPECT_EQ(ReadAll(*table)->num_rows(), 9);
}

TEST(TransactionTest, DeleteAndConcurrentAppendBothApplyUnderSnapshotIsolation) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows(0, 10)).status());
  auto deleter = table->NewTransaction();
  DS_ASSERT_OK(deleter->Delete({Predicate{"key", PredicateOp::kLt, Long(5)}}).status());
  DS_ASSIGN_OR_FAIL(auto other, Table::Load(table->location()));
  DS_ASSERT_OK(other->Append(Rows(100, 3)).status());
  DS_ASSERT_OK(deleter->Commit().status());
  DS_ASSERT_OK(table->Refresh());
  EXPECT_EQ(ReadAll(*table)->num_rows(), 5 + 3);
}

TEST(TransactionTest, SerializableFailsOnlyWhenMatchingRowsWereAdded) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows(0, 10)).status());
  DS_ASSIGN_OR_FAIL(auto other, Table::Load(table->location()));

  auto reader = table->NewTransaction(Isolation::kSerializable);
  ScanOptions small;
  small.filter = {Predicate{"key", PredicateOp::kLt, Long(50)}};
  DS_ASSERT_OK(reader->Scan(small).status());
  DS_ASSERT_OK(reader->Append(Rows(1000, 1)));
  DS_ASSERT_OK(other->Append(Rows(500, 5)).status());  // outside what was read
  DS_ASSERT_OK(reader->Commit().status());

  auto second = table->NewTransaction(Isolation::kSerializable);
  DS_ASSERT_OK(second->Scan(small).status());
  DS_ASSERT_OK(second->Append(Rows(2000, 1)));
  DS_ASSERT_OK(other->Append(Rows(20, 1)).status());  // inside what was read
  auto lost = second->Commit();
  EXPECT_TRUE(IsKind(lost.status(), ErrorKind::kConcurrentModification)) << lost.status().ToString();

  // The same interleaving under snapshot isolation commits.
  auto relaxed = table->NewTransaction(Isolation::kSnapshot);
  DS_ASSERT_OK(relaxed->Scan(small).status());
  DS_ASSERT_OK(relaxed->Append(Rows(3000, 1)));
  DS_ASSERT_OK(other->Append(Rows(21, 1)).status());
  DS_ASSERT_OK(relaxed->Commit().status());
}

TEST(TransactionTest, DeleteWhereTakesAnyTreeAndRewritesOnlyFilesItCanMatch) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  for (int i = 0; i < 3; ++i) DS_ASSERT_OK(table->Append(Rows(i * 10, 10)).status());
  const auto files_before = table->metadata()->CurrentSnapshot()->SummaryLong("total-data-files");
  auto tx = table->NewTransaction();
  // key < 2 OR NOT (key < 8), restricted to the first file: keys 0, 1, 8, 9.
  auto filter = Expression::And({Expression::Or({Predicate{"key", PredicateOp::kLt, Long(2)},
                                                 Expression::Not(Predicate{"key", PredicateOp::kLt, Long(8)})}),
                                 Predicate{"key", PredicateOp::kLt, Long(10)}});
  DS_ASSIGN_OR_FAIL(int64_t deleted, tx->DeleteWhere(filter));
  EXPECT_EQ(deleted, 4);
  DS_ASSIGN_OR_FAIL(auto info, tx->Commit());
  (void)info;
  auto rows = ReadAll(*table);
  EXPECT_EQ(rows->num_rows(), 26);
  // One file was rewritten, the other two were left alone (pruned by their bounds).
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->SummaryLong("deleted-data-files"), 1);
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->SummaryLong("total-data-files"), files_before);
  // OverwriteWhere: the same, then the new rows.
  auto over = table->NewTransaction();
  DS_ASSIGN_OR_FAIL(
      int64_t replaced,
      over->OverwriteWhere(Rows(0, 1, 9), Expression::Not(Predicate{"key", PredicateOp::kGtEq, Long(3)})));
  EXPECT_EQ(replaced, 1);  // key 2: keys 0 and 1 are gone already
  DS_ASSERT_OK(over->Commit().status());
  EXPECT_EQ(ReadAll(*table)->num_rows(), 26);
}

TEST(TransactionTest, DeleteWhereTakesAnArrowExpression) {
  namespace cp = arrow::compute;
  testing::TempDir dir;
  auto table = NewTable(dir);
  for (int i = 0; i < 3; ++i) DS_ASSERT_OK(table->Append(Rows(i * 10, 10)).status());
  // Even keys below 15: the function is applied exactly, the comparison also prunes.
  auto even =
      cp::equal(cp::call("bit_wise_and", {cp::field_ref("key"), cp::literal(int64_t{1})}), cp::literal(int64_t{0}));
  auto tx = table->NewTransaction();
  DS_ASSIGN_OR_FAIL(int64_t deleted, tx->DeleteWhere(cp::and_(even, cp::less(cp::field_ref("key"), cp::literal(15)))));
  EXPECT_EQ(deleted, 8);  // 0, 2, ..., 14
  DS_ASSERT_OK(tx->Commit().status());
  EXPECT_EQ(ReadAll(*table)->num_rows(), 22);
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->SummaryLong("deleted-data-files"), 2);  // the third was pruned
  auto bad = table->NewTransaction();
  auto unknown = bad->DeleteWhere(cp::greater(cp::field_ref("nope"), cp::literal(1)));
  EXPECT_TRUE(IsKind(unknown.status(), ErrorKind::kSchema)) << unknown.status().ToString();
}

TEST(TransactionTest, SerializableRecordsAScanTreeAsRead) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows(0, 10)).status());
  DS_ASSIGN_OR_FAIL(auto other, Table::Load(table->location()));
  ScanOptions two_ranges;  // key < 5 OR key >= 1000
  two_ranges.where =
      Expression::Or({Predicate{"key", PredicateOp::kLt, Long(5)}, Predicate{"key", PredicateOp::kGtEq, Long(1000)}});

  auto reader = table->NewTransaction(Isolation::kSerializable);
  DS_ASSERT_OK(reader->Scan(two_ranges).status());
  DS_ASSERT_OK(reader->Append(Rows(5000, 1)));
  DS_ASSERT_OK(other->Append(Rows(500, 5)).status());  // between the ranges: not read
  DS_ASSERT_OK(reader->Commit().status());

  auto second = table->NewTransaction(Isolation::kSerializable);
  DS_ASSERT_OK(second->Scan(two_ranges).status());
  DS_ASSERT_OK(second->Append(Rows(6000, 1)));
  DS_ASSERT_OK(other->Append(Rows(1200, 1)).status());  // in the second range
  auto lost = second->Commit();
  EXPECT_TRUE(IsKind(lost.status(), ErrorKind::kConcurrentModification)) << lost.status().ToString();
}

TEST(TransactionTest, LaterOperationsSeeEarlierOnesInTheSameTransaction) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows(0, 10)).status());
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  auto tx = table->NewTransaction();
  DS_ASSIGN_OR_FAIL(int64_t first, tx->Delete({Predicate{"key", PredicateOp::kLt, Long(3)}}));
  DS_ASSIGN_OR_FAIL(int64_t second, tx->Delete({Predicate{"key", PredicateOp::kGtEq, Long(8)}}));
  DS_ASSERT_OK(tx->Append(Rows(100, 2)));
  DS_ASSIGN_OR_FAIL(int64_t third, tx->Delete({Predicate{"key", PredicateOp::kEq, Long(100)}}));
  EXPECT_EQ(first, 3);
  EXPECT_EQ(second, 2);  // found in the copy the first delete wrote
  EXPECT_EQ(third, 1);   // found in this transaction's own append
  DS_ASSERT_OK(tx->Commit().status());
  EXPECT_EQ(ReadAll(*table)->num_rows(), 5 + 1);
  // Removing a file this transaction already rewrote removes what is left of it.
  auto again = table->NewTransaction();
  DS_ASSIGN_OR_FAIL(auto now, table->DataFiles(std::nullopt));
  std::string rewritten;
  for (const auto& f : now) {
    if (f.record_count == 5) rewritten = f.file_path;
  }
  ASSERT_FALSE(rewritten.empty());
  DS_ASSERT_OK(again->Delete({Predicate{"key", PredicateOp::kEq, Long(5)}}).status());
  DS_ASSERT_OK(again->DeleteFiles({rewritten}));
  DS_ASSERT_OK(again->Commit().status());
  EXPECT_EQ(ReadAll(*table)->num_rows(), 1);
}

TEST(TransactionTest, SerializablePreventsWriteSkew) {
  // Two on-call doctors; each transaction reads both rows and takes one off
  // call if another remains. Serially only one may succeed.
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows(1, 1, 1)).status());
  DS_ASSERT_OK(table->Append(Rows(2, 1, 1)).status());
  DS_ASSIGN_OR_FAIL(auto other, Table::Load(table->location()));
  auto a = table->NewTransaction(Isolation::kSerializable);
  auto b = other->NewTransaction(Isolation::kSerializable);
  DS_ASSERT_OK(a->Scan(ScanOptions{}).status());
  DS_ASSERT_OK(b->Scan(ScanOptions{}).status());
  DS_ASSERT_OK(a->Overwrite(Rows(1, 1, 0), {Predicate{"key", PredicateOp::kEq, Long(1)}}).status());
  DS_ASSERT_OK(b->Overwrite(Rows(2, 1, 0), {Predicate{"key", PredicateOp::kEq, Long(2)}}).status());
  DS_ASSERT_OK(a->Commit().status());
  auto lost = b->Commit();
  EXPECT_TRUE(IsKind(lost.status(), ErrorKind::kConcurrentModification)) << lost.status().ToString();
  EXPECT_EQ(SumOf(*ReadAll(*table), "value"), 1);
}

// A read-modify-write counter kept as one row, from several threads with
// their own Table objects: conflicts are retried, no increment is lost.
TEST(TransactionTest, ReadModifyWriteCounterIsExact) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows(0, 1, 0)).status());
  constexpr int kThreads = 4, kIncrements = 15;
  std::atomic<int> retries{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto mine = Table::Load(table->location());
      if (!mine.ok()) return void(failures++);
      for (int i = 0; i < kIncrements; ++i) {
        while (true) {
          if (!(*mine)->Refresh().ok()) return void(failures++);
          auto tx = (*mine)->NewTransaction(Isolation::kSerializable);
          auto reader = tx->Scan(ScanOptions{});
          if (!reader.ok()) return void(failures++);
          auto current = (*reader)->ToTable();
          if (!current.ok()) return void(failures++);
          const int64_t value = SumOf(**current, "value");
          if (!tx->Overwrite(Rows(0, 1, value + 1), {}).ok()) return void(failures++);
          auto committed = tx->Commit();
          if (committed.ok()) break;
          if (!IsKind(committed.status(), ErrorKind::kConcurrentModification)) return void(failures++);
          retries++;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  DS_ASSERT_OK(table->Refresh());
  auto rows = ReadAll(*table);
  ASSERT_EQ(rows->num_rows(), 1);
  EXPECT_EQ(SumOf(*rows, "value"), kThreads * kIncrements);
}

void WriteParquet(const std::shared_ptr<arrow::Table>& rows, const std::string& path) {
  auto out = arrow::io::FileOutputStream::Open(path);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(parquet::arrow::WriteTable(*rows, arrow::default_memory_pool(), *out, 1024).ok());
  ASSERT_TRUE((*out)->Close().ok());
}

TEST(TransactionTest, AppendFilesRegistersFilesWithFieldIdsInPlace) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  // Written with the table's Arrow schema: field ids and exact types.
  auto plain = Rows(0, 10, 5);
  auto with_ids = arrow::Table::Make(format::ToArrowSchema(KeyValueSchema()), plain->columns());
  const std::string path = table->location() + "/data/external.parquet";
  WriteParquet(with_ids, path);
  Transaction tx(table);
  DS_ASSERT_OK(tx.AppendFiles({path}));
  DS_ASSERT_OK(tx.Commit().status());
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].file_path, path);
  EXPECT_EQ(files[0].record_count, 10);
  Transaction again(table);
  EXPECT_TRUE(IsKind(again.AppendFiles({path}), ErrorKind::kInvalidArgument));  // already in the table
  // Bounds were computed: a filter outside them prunes the file.
  ScanOptions options;
  options.filter = {Predicate{"key", PredicateOp::kGt, Long(100)}};
  options.metrics = std::make_shared<ScanMetrics>();
  DS_ASSIGN_OR_FAIL(auto reader, table->Scan(options));
  DS_ASSIGN_OR_FAIL(auto none, reader->ToTable());
  EXPECT_EQ(none->num_rows(), 0);
  EXPECT_EQ(options.metrics->files_skipped.load(), 1);
  EXPECT_EQ(SumOf(*ReadAll(*table), "value"), 50);
}

TEST(TransactionTest, AppendFilesCopiesFilesWithoutFieldIds) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  const std::string path = table->location() + "/data/plain.parquet";
  WriteParquet(Rows(0, 4, 1), path);  // plain Arrow schema: no field ids
  Transaction tx(table);
  DS_ASSERT_OK(tx.AppendFiles({path}));
  DS_ASSERT_OK(tx.Commit().status());
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files[0].file_path, path);
  EXPECT_EQ(ReadAll(*table)->num_rows(), 4);
}

TEST(TransactionTest, AppendFilesRegistersAFileOfOnePartitionInPlaceAndSplitsOthers) {
  testing::TempDir dir;
  CreateOptions create;
  create.schema = KeyValueSchema();
  create.partition_spec.fields.push_back(PartitionField{2, 1000, "value", "identity"});
  create.properties["datashard.commit.durability"] = "process";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("p"), create));
  DS_ASSERT_OK(table->fs().CreateDir(table->location() + "/data"));
  const std::string one = table->location() + "/data/one.parquet";
  const std::string mixed = table->location() + "/data/mixed.parquet";
  auto schema = format::ToArrowSchema(KeyValueSchema());
  WriteParquet(arrow::Table::Make(schema, Rows(0, 10, 7)->columns()), one);  // every row: value 7
  auto two_values = arrow::ConcatenateTables(
      {arrow::Table::Make(schema, Rows(10, 4, 0)->columns()), arrow::Table::Make(schema, Rows(14, 4, 1)->columns())});
  ASSERT_TRUE(two_values.ok());
  WriteParquet(*two_values, mixed);  // ... and value 1
  Transaction tx(table);
  DS_ASSERT_OK(tx.AppendFiles({one, mixed}));
  DS_ASSERT_OK(tx.Commit().status());
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  ASSERT_EQ(files.size(), 3u);  // one in place, the mixed one split in two
  EXPECT_EQ(std::count_if(files.begin(), files.end(), [&](const DataFileInfo& f) { return f.file_path == one; }), 1);
  EXPECT_FALSE(std::filesystem::exists(mixed));  // copied, then deleted
  ScanOptions options;
  options.filter = {Predicate{"value", PredicateOp::kEq, Long(7)}};
  DS_ASSIGN_OR_FAIL(auto reader, table->Scan(options));
  DS_ASSIGN_OR_FAIL(auto rows, reader->ToTable());
  EXPECT_EQ(rows->num_rows(), 10);
  EXPECT_EQ(ReadAll(*table)->num_rows(), 18);
  // A file without the (optional) partition source column: copied, its rows in the null partition.
  const std::string keys_only = table->location() + "/data/keys-only.parquet";
  auto key_field = schema->field(0);
  WriteParquet(arrow::Table::Make(arrow::schema({key_field}), {Rows(100, 3)->column(0)}), keys_only);
  Transaction more(table);
  DS_ASSERT_OK(more.AppendFiles({keys_only}));
  DS_ASSERT_OK(more.Commit().status());
  EXPECT_FALSE(std::filesystem::exists(keys_only));
  options.filter = {Predicate{"value", PredicateOp::kIsNull, nullptr}};
  DS_ASSIGN_OR_FAIL(auto null_reader, table->Scan(options));
  DS_ASSIGN_OR_FAIL(auto nulls, null_reader->ToTable());
  EXPECT_EQ(nulls->num_rows(), 3);
}

TEST(TransactionTest, AppendFilesRefusesBadFilesAndWritesNothing) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  const std::string good = table->location() + "/data/good.parquet";
  WriteParquet(Rows(0, 3), good);
  const std::string outside = dir.Join("outside.parquet");
  WriteParquet(Rows(0, 3), outside);
  const std::string not_parquet = table->location() + "/data/notes.txt";
  { std::ofstream(not_parquet) << "hello"; }
  const std::string unknown_column = table->location() + "/data/extra.parquet";
  auto extra = arrow::Table::Make(
      arrow::schema({arrow::field("key", arrow::int64()), arrow::field("oops", arrow::int64())}), {Long(1), Long(2)});
  WriteParquet(extra, unknown_column);
  const std::string null_key = table->location() + "/data/nullkey.parquet";
  WriteParquet(arrow::Table::Make(arrow::schema({arrow::field("key", arrow::int64())}),
                                  {*arrow::MakeArrayOfNull(arrow::int64(), 2)}),
               null_key);

  auto kind_of = [&](const std::vector<std::string>& paths) {
    Transaction tx(table);
    return tx.AppendFiles(paths);
  };
  EXPECT_TRUE(IsKind(kind_of({outside}), ErrorKind::kInvalidArgument));
  EXPECT_TRUE(IsKind(kind_of({table->location() + "/data/missing.parquet"}), ErrorKind::kInvalidArgument));
  EXPECT_TRUE(IsKind(kind_of({not_parquet}), ErrorKind::kInvalidArgument));
  EXPECT_TRUE(IsKind(kind_of({good, good}), ErrorKind::kInvalidArgument));
  EXPECT_TRUE(IsKind(kind_of({unknown_column}), ErrorKind::kSchema));
  EXPECT_TRUE(IsKind(kind_of({null_key}), ErrorKind::kSchema));
  EXPECT_EQ(table->metadata()->CurrentSnapshot(), nullptr);

  Transaction tx(table);
  DS_ASSERT_OK(tx.AppendFiles({good}));
  DS_ASSERT_OK(tx.Commit().status());
  // Copied (no field ids): the source is gone, so it cannot be added twice.
  EXPECT_FALSE(std::filesystem::exists(good));
  Transaction again(table);
  EXPECT_TRUE(IsKind(again.AppendFiles({good}), ErrorKind::kInvalidArgument));
  EXPECT_EQ(ReadAll(*table)->num_rows(), 3);
}

}  // namespace
}  // namespace datashard
