#include "datashard/changes.h"

#include <gtest/gtest.h>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "datashard/schema_update.h"
#include "datashard/transaction.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

std::shared_ptr<arrow::Table> Rows(const std::vector<int64_t>& keys, const std::vector<std::string>& names) {
  arrow::Int64Builder k;
  arrow::StringBuilder n;
  for (auto key : keys) (void)k.Append(key);
  for (const auto& name : names) (void)n.Append(name);
  return arrow::Table::Make(arrow::schema({arrow::field("key", arrow::int64()), arrow::field("name", arrow::utf8())}),
                            {*k.Finish(), *n.Finish()});
}

std::shared_ptr<Table> NewTable(const testing::TempDir& dir) {
  CreateOptions options;
  options.schema.fields = {{1, "key", Type::Of(TypeId::kLong), true, ""},
                           {2, "name", Type::Of(TypeId::kString), false, ""}};
  options.properties["datashard.commit.durability"] = "process";
  auto table = Table::Create(dir.Join("t"), options);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return *table;
}

// (change type, key) pairs, sorted.
std::vector<std::pair<std::string, int64_t>> Pairs(const arrow::Table& rows) {
  std::vector<std::pair<std::string, int64_t>> out;
  auto combined = *rows.CombineChunksToBatch();
  const auto& keys = static_cast<const arrow::Int64Array&>(*combined->GetColumnByName("key"));
  const auto& kinds = static_cast<const arrow::StringArray&>(*combined->GetColumnByName(kChangeTypeColumn));
  for (int64_t i = 0; i < combined->num_rows(); ++i) out.emplace_back(kinds.GetString(i), keys.Value(i));
  std::sort(out.begin(), out.end());
  return out;
}

using P = std::pair<std::string, int64_t>;

TEST(ChangesTest, ARewriteShowsOnlyTheRowsReallyAddedAndDeleted) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSIGN_OR_FAIL(auto first, table->Append(Rows({1, 2, 2, 3}, {"a", "b", "b", "c"})));
  auto tx = table->NewTransaction();
  DS_ASSERT_OK(
      tx->Delete({Predicate{"key", PredicateOp::kEq, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(3), 1)}}).status());
  DS_ASSERT_OK(tx->Append(Rows({2, 9}, {"b", "z"})));  // one duplicate of a carried-over row
  DS_ASSERT_OK(tx->Commit().status());

  ChangesOptions options;
  options.from_snapshot = first.snapshot_id;
  DS_ASSIGN_OR_FAIL(auto net, Changes(*table, options));
  EXPECT_EQ(Pairs(*net), (std::vector<P>{{"delete", 3}, {"insert", 2}, {"insert", 9}}));
  EXPECT_EQ(net->schema()->field(net->num_columns() - 1)->name(), kChangeTypeColumn);
  options.net = false;
  DS_ASSIGN_OR_FAIL(auto raw, Changes(*table, options));
  EXPECT_EQ(raw->num_rows(), 4 + 3 + 2);  // the whole old file out, survivors and new rows in
  // From the empty table: every row is new.
  DS_ASSIGN_OR_FAIL(auto all, Changes(*table, ChangesOptions{}));
  EXPECT_EQ(all->num_rows(), 5);
}

TEST(ChangesTest, ARenamedColumnIsMatchedByFieldIdAndAnAddedOneIsNullForDeletes) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSIGN_OR_FAIL(auto first, table->Append(Rows({1, 2}, {"a", "b"})));
  SchemaUpdate rename;
  rename.kind = SchemaUpdate::Kind::kRenameColumn;
  rename.column = "name";
  rename.new_name = "label";
  SchemaUpdate add;
  add.column = "extra";
  add.type = Type::Of(TypeId::kLong);
  DS_ASSERT_OK(UpdateSchema(*table, {rename, add}).status());
  auto tx = table->NewTransaction();
  DS_ASSERT_OK(
      tx->Delete({Predicate{"key", PredicateOp::kEq, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(1), 1)}}).status());
  DS_ASSERT_OK(tx->Commit().status());
  ChangesOptions options;
  options.from_snapshot = first.snapshot_id;
  DS_ASSIGN_OR_FAIL(auto changes, Changes(*table, options));
  EXPECT_EQ(changes->schema()->field(1)->name(), "label");
  ASSERT_EQ(changes->num_rows(), 1);
  auto row = *changes->CombineChunksToBatch();
  EXPECT_EQ(static_cast<const arrow::StringArray&>(*row->GetColumnByName("label")).GetString(0), "a");
  EXPECT_TRUE(row->GetColumnByName("extra")->IsNull(0));
  EXPECT_EQ(static_cast<const arrow::StringArray&>(*row->GetColumnByName(kChangeTypeColumn)).GetString(0), "delete");
}

}  // namespace
}  // namespace datashard
