#include "datashard/table/sorting.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "datashard/maintenance.h"
#include "datashard/scan/file_reader.h"
#include "datashard/scan/table_scan.h"
#include "datashard/schema_update.h"
#include "datashard/table_properties.h"
#include "datashard/transaction.h"
#include "datashard/transforms.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

// Table::Create registers Arrow's compute kernels; the tests of the sorting
// functions alone call them before any table exists.
const bool kComputeReady = arrow::compute::Initialize().ok();

Schema TwoColumns() {
  Schema schema;
  schema.fields = {{1, "id", Type::Of(TypeId::kLong), false, ""}, {2, "name", Type::Of(TypeId::kString), false, ""}};
  return schema;
}

// Rows (id, name) with nulls where the optionals are empty.
std::shared_ptr<arrow::Table> Rows(const std::vector<std::optional<int64_t>>& ids,
                                   const std::vector<std::optional<std::string>>& names) {
  arrow::Int64Builder id_builder;
  arrow::StringBuilder name_builder;
  for (const auto& id : ids) (void)(id ? id_builder.Append(*id) : id_builder.AppendNull());
  for (const auto& name : names) (void)(name ? name_builder.Append(*name) : name_builder.AppendNull());
  return arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64()), arrow::field("name", arrow::utf8())}),
                            {*id_builder.Finish(), *name_builder.Finish()});
}

std::vector<std::optional<int64_t>> Ids(const arrow::Table& table) {
  auto column = *arrow::Concatenate(table.GetColumnByName("id")->chunks());
  const auto& ids = static_cast<const arrow::Int64Array&>(*column);
  std::vector<std::optional<int64_t>> out;
  for (int64_t i = 0; i < ids.length(); ++i) out.push_back(ids.IsNull(i) ? std::nullopt : std::optional(ids.Value(i)));
  return out;
}

std::vector<std::optional<std::string>> Names(const arrow::Table& table) {
  auto column = *arrow::Concatenate(table.GetColumnByName("name")->chunks());
  const auto& names = static_cast<const arrow::StringArray&>(*column);
  std::vector<std::optional<std::string>> out;
  for (int64_t i = 0; i < names.length(); ++i) {
    out.push_back(names.IsNull(i) ? std::nullopt : std::optional(names.GetString(i)));
  }
  return out;
}

SortTerm Term(std::string column, std::string transform = "identity",
              SortDirection direction = SortDirection::kAscending, std::optional<NullOrder> null_order = std::nullopt) {
  return SortTerm{std::move(column), std::move(transform), direction, null_order};
}

SortOrder Order(const std::vector<SortTerm>& terms) { return *BindSortOrder(TwoColumns(), terms); }

TEST(SortForOrderTest, AscendingPutsNullsFirstByDefaultDescendingLast) {
  ASSERT_TRUE(kComputeReady);
  auto rows = Rows({3, std::nullopt, 1, 2}, {"c", "n", "a", "b"});
  DS_ASSIGN_OR_FAIL(auto asc, table::SortForOrder(TwoColumns(), Order({Term("id")}), *rows));
  EXPECT_EQ(Ids(*asc), (std::vector<std::optional<int64_t>>{std::nullopt, 1, 2, 3}));
  EXPECT_EQ(Names(*asc), (std::vector<std::optional<std::string>>{"n", "a", "b", "c"}));  // rows move whole
  DS_ASSIGN_OR_FAIL(
      auto desc, table::SortForOrder(TwoColumns(), Order({Term("id", "identity", SortDirection::kDescending)}), *rows));
  EXPECT_EQ(Ids(*desc), (std::vector<std::optional<int64_t>>{3, 2, 1, std::nullopt}));
  DS_ASSIGN_OR_FAIL(
      auto desc_first,
      table::SortForOrder(TwoColumns(),
                          Order({Term("id", "identity", SortDirection::kDescending, NullOrder::kNullsFirst)}), *rows));
  EXPECT_EQ(Ids(*desc_first), (std::vector<std::optional<int64_t>>{std::nullopt, 3, 2, 1}));
  DS_ASSIGN_OR_FAIL(
      auto asc_last,
      table::SortForOrder(TwoColumns(),
                          Order({Term("id", "identity", SortDirection::kAscending, NullOrder::kNullsLast)}), *rows));
  EXPECT_EQ(Ids(*asc_last), (std::vector<std::optional<int64_t>>{1, 2, 3, std::nullopt}));
}

TEST(SortForOrderTest, LaterFieldsBreakTiesAndTransformsSortByTheirValue) {
  // truncate[1](name) groups by first letter; ties are broken by id descending.
  auto rows = Rows({1, 2, 3, 4, 5}, {"bx", "az", "by", "aa", "c"});
  DS_ASSIGN_OR_FAIL(
      auto sorted,
      table::SortForOrder(TwoColumns(),
                          Order({Term("name", "truncate[1]"), Term("id", "identity", SortDirection::kDescending)}),
                          *rows));
  EXPECT_EQ(Ids(*sorted), (std::vector<std::optional<int64_t>>{4, 2, 3, 1, 5}));
  // bucket[N] sorts by bucket number: rows come out grouped by bucket, buckets ascending.
  auto many = Rows({10, 11, 12, 13, 14, 15, 16, 17}, {"a", "b", "c", "d", "e", "f", "g", "h"});
  DS_ASSIGN_OR_FAIL(auto by_bucket, table::SortForOrder(TwoColumns(), Order({Term("id", "bucket[4]")}), *many));
  DS_ASSIGN_OR_FAIL(auto buckets, datashard::TransformToArrow("bucket[4]", Type::Of(TypeId::kLong),
                                                              *by_bucket->GetColumnByName("id")->chunk(0)));
  const auto& b = static_cast<const arrow::Int32Array&>(*buckets);
  for (int64_t i = 1; i < b.length(); ++i) EXPECT_LE(b.Value(i - 1), b.Value(i));
}

TEST(SortForOrderTest, BindRefusesWhatCannotSort) {
  EXPECT_TRUE(IsKind(BindSortOrder(TwoColumns(), {Term("nope")}).status(), ErrorKind::kSchema));
  EXPECT_TRUE(IsKind(BindSortOrder(TwoColumns(), {Term("id", "frobnicate")}).status(), ErrorKind::kSchema));
  EXPECT_TRUE(IsKind(BindSortOrder(TwoColumns(), {Term("name", "day")}).status(), ErrorKind::kSchema));
  EXPECT_TRUE(IsKind(BindSortOrder(TwoColumns(), {Term("id", "void")}).status(), ErrorKind::kSchema));
  EXPECT_TRUE(IsKind(BindSortOrder(TwoColumns(), {Term("id"), Term("id")}).status(), ErrorKind::kSchema));
  EXPECT_TRUE(BindSortOrder(TwoColumns(), {Term("id", "bucket[16]"), Term("name", "truncate[3]")}).ok());
}

TEST(ZOrderTest, RowsNearInBothColumnsEndUpTogether) {
  // A 16 x 16 grid of (x, y), shuffled: in z-order each quarter of the rows
  // is one quadrant of the grid, as the curve visits them. (Integer keys are
  // linear in the value; a float's key is not, so its splits fall elsewhere.)
  std::vector<std::pair<int64_t, int64_t>> points;
  for (int64_t x = 0; x < 16; ++x) {
    for (int y = 0; y < 16; ++y) points.emplace_back(x, y - 8);  // negative values too
  }
  std::shuffle(points.begin(), points.end(), std::mt19937(7));
  arrow::Int64Builder xs;
  arrow::Int64Builder ys;
  for (const auto& [x, y] : points) {
    (void)xs.Append(x);
    (void)ys.Append(y);
  }
  Schema schema;
  schema.fields = {{1, "x", Type::Of(TypeId::kLong), false, ""}, {2, "y", Type::Of(TypeId::kLong), false, ""}};
  auto rows = arrow::Table::Make(arrow::schema({arrow::field("x", arrow::int64()), arrow::field("y", arrow::int64())}),
                                 {*xs.Finish(), *ys.Finish()});
  DS_ASSIGN_OR_FAIL(auto z, table::ZOrderRows(schema, {"x", "y"}, *rows));
  ASSERT_EQ(z->num_rows(), 256);
  auto x = std::static_pointer_cast<arrow::Int64Array>(*arrow::Concatenate(z->GetColumnByName("x")->chunks()));
  auto y = std::static_pointer_cast<arrow::Int64Array>(*arrow::Concatenate(z->GetColumnByName("y")->chunks()));
  for (int quarter = 0; quarter < 4; ++quarter) {
    std::set<std::pair<bool, bool>> quadrants;
    for (int i = quarter * 64; i < (quarter + 1) * 64; ++i) quadrants.emplace(x->Value(i) >= 8, y->Value(i) >= 0);
    EXPECT_EQ(quadrants.size(), 1u) << "quarter " << quarter;
  }
  EXPECT_FALSE(table::ZOrderRows(schema, {"x"}, *rows).ok());
  EXPECT_FALSE(table::ZOrderRows(schema, {"x", "nope"}, *rows).ok());
}

// -- the table: ReplaceSortOrder, appends, compaction ------------------------

std::shared_ptr<Table> NewTable(const testing::TempDir& dir) {
  CreateOptions options;
  options.schema = TwoColumns();
  options.properties["datashard.commit.durability"] = "process";
  return *Table::Create(dir.Join("t"), options);
}

std::vector<scan::FileScanTask> Files(Table& table) {
  auto metadata = table.metadata();
  return *scan::PlanFiles(table.fs(), *metadata, metadata->CurrentSnapshot(), *metadata->CurrentSchema(), {});
}

TEST(ReplaceSortOrderTest, ReusesIdsOfEqualOrdersAndCommitsNothingInvalid) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSIGN_OR_FAIL(SortOrder first, ReplaceSortOrder(*table, {Term("id", "identity", SortDirection::kDescending)}));
  EXPECT_EQ(first.order_id, 1);
  EXPECT_EQ(first.fields[0].null_order, NullOrder::kNullsLast);  // Iceberg's default for desc
  DS_ASSIGN_OR_FAIL(SortOrder second, ReplaceSortOrder(*table, {Term("name"), Term("id", "bucket[8]")}));
  EXPECT_EQ(second.order_id, 2);
  DS_ASSIGN_OR_FAIL(SortOrder again, ReplaceSortOrder(*table, {Term("id", "identity", SortDirection::kDescending)}));
  EXPECT_EQ(again.order_id, 1);
  const int64_t before_same = table->version();
  DS_ASSIGN_OR_FAIL(SortOrder same, ReplaceSortOrder(*table, {Term("id", "identity", SortDirection::kDescending)}));
  EXPECT_EQ(same.order_id, 1);
  EXPECT_EQ(table->version(), before_same);  // the order in force: nothing committed
  DS_ASSIGN_OR_FAIL(SortOrder none, ReplaceSortOrder(*table, {}));
  EXPECT_EQ(none.order_id, 0);
  EXPECT_TRUE(none.unsorted());

  const int64_t version = table->version();
  EXPECT_TRUE(IsKind(ReplaceSortOrder(*table, {Term("missing")}).status(), ErrorKind::kSchema));
  EXPECT_TRUE(IsKind(ReplaceSortOrder(*table, {Term("id", "bucket[0]")}).status(), ErrorKind::kSchema));
  EXPECT_TRUE(IsKind(ReplaceSortOrder(*table, {Term("name", "hour")}).status(), ErrorKind::kSchema));
  DS_ASSERT_OK(table->Refresh());
  EXPECT_EQ(table->version(), version);

  // The orders survive a reload: every one listed, the default in force.
  DS_ASSIGN_OR_FAIL(auto reloaded, Table::Load(table->location()));
  EXPECT_EQ(reloaded->metadata()->sort_orders.size(), 3u);
  EXPECT_EQ(reloaded->metadata()->default_sort_order_id, 0);

  // A column the sort order uses cannot be dropped.
  DS_ASSERT_OK(ReplaceSortOrder(*table, {Term("name")}).status());
  EXPECT_TRUE(IsKind(UpdateSchema(*table, {{SchemaUpdate::Kind::kDropColumn, "name", "", {}, ""}}).status(),
                     ErrorKind::kSchema));
}

TEST(ReplaceSortOrderTest, CreateTakesAnOrderNowOrWithTheFirstSchema) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = TwoColumns();
  options.sort_order = {Term("name", "identity", SortDirection::kDescending)};
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("with_schema"), options));
  ASSERT_NE(table->metadata()->DefaultSortOrder(), nullptr);
  EXPECT_EQ(table->metadata()->default_sort_order_id, 1);
  EXPECT_EQ(table->metadata()->DefaultSortOrder()->fields[0].source_id, 2);

  options.sort_order = {Term("missing")};
  EXPECT_TRUE(IsKind(Table::Create(dir.Join("bad"), options).status(), ErrorKind::kSchema));

  // Without columns the order waits for the first schema, as a partition spec does.
  CreateOptions later;
  later.sort_order = {Term("id", "identity", SortDirection::kDescending)};
  DS_ASSIGN_OR_FAIL(auto schemaless, Table::Create(dir.Join("later"), later));
  EXPECT_TRUE(schemaless->metadata()->DefaultSortOrder()->unsorted());
  DS_ASSERT_OK(SetInitialSchema(*schemaless, TwoColumns()).status());
  EXPECT_EQ(schemaless->metadata()->default_sort_order_id, 1);
  EXPECT_EQ(schemaless->metadata()->properties.count(TableProperties::kPendingSortOrder.key), 0u);
}

TEST(SortedAppendTest, EachFileIsSortedAndRecordsTheOrder) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Rows({2, 1}, {"b", "a"})).status());
  for (const auto& task : Files(*table)) EXPECT_FALSE(task.file.sort_order_id.has_value());  // unsorted table

  DS_ASSERT_OK(ReplaceSortOrder(*table, {Term("id", "identity", SortDirection::kDescending)}).status());
  DS_ASSERT_OK(table->Append(Rows({5, std::nullopt, 9, 7}, {"e", "n", "i", "g"})).status());
  auto tx = table->NewTransaction();
  DS_ASSERT_OK(tx->Append(Rows({3, 8, 4}, {"c", "h", "d"})));
  DS_ASSERT_OK(tx->Commit().status());
  int sorted_files = 0;
  for (const auto& task : Files(*table)) {
    DS_ASSIGN_OR_FAIL(auto rows, scan::ReadDataFile(table->fs(), task.file.file_path, TwoColumns().fields));
    if (task.file.record_count == 2) continue;  // the file from before the order
    EXPECT_EQ(task.file.sort_order_id, std::optional<int32_t>(1));
    auto ids = Ids(*rows);
    if (ids.size() == 4) {
      EXPECT_EQ(ids, (std::vector<std::optional<int64_t>>{9, 7, 5, std::nullopt}));
    } else {
      EXPECT_EQ(ids, (std::vector<std::optional<int64_t>>{8, 4, 3}));
    }
    ++sorted_files;
  }
  EXPECT_EQ(sorted_files, 2);
}

std::shared_ptr<arrow::Table> Shuffled(int64_t first, int64_t count, uint32_t seed) {
  std::vector<std::optional<int64_t>> ids;
  std::vector<std::optional<std::string>> names;
  for (int64_t i = first; i < first + count; ++i) ids.emplace_back(i);
  std::shuffle(ids.begin(), ids.end(), std::mt19937(seed));
  for (const auto& id : ids) names.emplace_back("name-" + std::to_string(*id % 97));
  return Rows(ids, names);
}

TEST(SortedRewriteTest, SortRewritesEachPartitionAsOneRunOfDisjointFiles) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  // Interleaved ranges: every file spans nearly all ids.
  for (uint32_t i = 0; i < 4; ++i) {
    std::vector<std::optional<int64_t>> ids;
    std::vector<std::optional<std::string>> names;
    for (int64_t v = i; v < 20000; v += 4) {
      ids.emplace_back(v);
      names.emplace_back("n" + std::to_string(v));
    }
    DS_ASSERT_OK(table->Append(Rows(ids, names)).status());
  }
  DS_ASSERT_OK(ReplaceSortOrder(*table, {Term("id")}).status());
  RewriteOptions options;
  options.strategy = RewriteOptions::Strategy::kSort;
  options.target_file_size = 32 << 10;
  DS_ASSIGN_OR_FAIL(auto result, RewriteDataFiles(*table, options));
  EXPECT_EQ(result.rewritten_files, 4);
  EXPECT_GT(result.added_files, 2);
  auto files = Files(*table);
  ASSERT_EQ(static_cast<int64_t>(files.size()), result.added_files);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  int64_t rows = 0;
  for (const auto& task : files) {
    EXPECT_EQ(task.file.sort_order_id, std::optional<int32_t>(1));
    DS_ASSIGN_OR_FAIL(auto read, scan::ReadDataFile(table->fs(), task.file.file_path, TwoColumns().fields));
    auto ids = Ids(*read);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    ranges.emplace_back(*ids.front(), *ids.back());
    rows += read->num_rows();
  }
  EXPECT_EQ(rows, 20000);
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) EXPECT_LT(ranges[i - 1].second, ranges[i].first);  // disjoint
  // Already one sorted run: a second pass rewrites nothing.
  DS_ASSIGN_OR_FAIL(auto again, RewriteDataFiles(*table, options));
  EXPECT_EQ(again.rewritten_files, 0);
  EXPECT_FALSE(again.snapshot_id.has_value());

  // An explicit order the table does not list: sorted, but no id recorded.
  options.sort = {Term("name", "identity", SortDirection::kDescending)};
  DS_ASSIGN_OR_FAIL(auto by_name, RewriteDataFiles(*table, options));
  EXPECT_GT(by_name.rewritten_files, 0);
  for (const auto& task : Files(*table)) EXPECT_FALSE(task.file.sort_order_id.has_value());

  // Nothing to sort by: refused, nothing committed.
  DS_ASSERT_OK(ReplaceSortOrder(*table, {}).status());
  options.sort.clear();
  EXPECT_FALSE(RewriteDataFiles(*table, options).ok());
}

TEST(SortedRewriteTest, ZOrderKeepsEveryRowAndRecordsNoSortOrder) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Shuffled(0, 5000, 1)).status());
  DS_ASSERT_OK(table->Append(Shuffled(5000, 5000, 2)).status());
  RewriteOptions options;
  options.strategy = RewriteOptions::Strategy::kZOrder;
  options.zorder_columns = {"id", "name"};
  options.target_file_size = 16 << 10;
  DS_ASSIGN_OR_FAIL(auto result, RewriteDataFiles(*table, options));
  EXPECT_EQ(result.rewritten_files, 2);
  int64_t rows = 0;
  for (const auto& task : Files(*table)) {
    EXPECT_FALSE(task.file.sort_order_id.has_value());
    rows += task.file.record_count;
  }
  EXPECT_EQ(rows, 10000);
  options.zorder_columns = {"id"};
  EXPECT_FALSE(RewriteDataFiles(*table, options).ok());
}

}  // namespace
}  // namespace datashard
