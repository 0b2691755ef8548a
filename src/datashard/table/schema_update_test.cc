#include "datashard/schema_update.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include <arrow/api.h>

#include "datashard/maintenance.h"
#include "datashard/table_properties.h"
#include "datashard/transaction.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

std::shared_ptr<Table> NewTable(const testing::TempDir& dir) {
  CreateOptions options;
  options.schema.fields = {{1, "id", Type::Of(TypeId::kInt), true, ""}, {2, "x", Type::Of(TypeId::kFloat), false, ""}};
  options.properties["datashard.commit.durability"] = "process";
  return *Table::Create(dir.Join("t"), options);
}

std::shared_ptr<arrow::Table> Batch(std::vector<std::string> names, std::vector<std::shared_ptr<arrow::Array>> cols) {
  arrow::FieldVector fields;
  for (size_t i = 0; i < names.size(); ++i) fields.push_back(arrow::field(names[i], cols[i]->type()));
  return arrow::Table::Make(arrow::schema(fields), cols);
}

template <typename Builder, typename T>
std::shared_ptr<arrow::Array> Array(std::vector<T> values) {
  Builder builder;
  (void)builder.AppendValues(values);
  return *builder.Finish();
}

std::shared_ptr<arrow::Table> ReadAll(Table& table, std::optional<int64_t> snapshot = std::nullopt) {
  ScanOptions options;
  options.snapshot_id = snapshot;
  return *(*table.Scan(options))->ToTable();
}

TEST(SchemaUpdateTest, EvolutionKeepsOldFilesReadable) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table
                   ->Append(Batch({"id", "x"}, {Array<arrow::Int32Builder, int32_t>({1, 2}),
                                                Array<arrow::FloatBuilder, float>({0.5f, 1.5f})}))
                   .status());
  std::vector<SchemaUpdate> updates = {
      {SchemaUpdate::Kind::kWidenColumn, "id", "", Type::Of(TypeId::kLong), ""},
      {SchemaUpdate::Kind::kWidenColumn, "x", "", Type::Of(TypeId::kDouble), ""},
      {SchemaUpdate::Kind::kRenameColumn, "x", "score", {}, ""},
      {SchemaUpdate::Kind::kAddColumn, "label", "", Type::Of(TypeId::kString), "a new column"},
  };
  DS_ASSIGN_OR_FAIL(Schema schema, UpdateSchema(*table, updates));
  EXPECT_EQ(schema.schema_id, 1);
  EXPECT_EQ(schema.FindField("score")->id, 2);  // same id: a rename touches no data
  EXPECT_EQ(schema.FindField("label")->id, 3);
  DS_ASSERT_OK(table
                   ->Append(Batch({"id", "score", "label"},
                                  {Array<arrow::Int64Builder, int64_t>({3}), Array<arrow::DoubleBuilder, double>({2.5}),
                                   Array<arrow::StringBuilder, std::string>({"new"})}))
                   .status());
  auto rows = ReadAll(*table);
  ASSERT_EQ(rows->num_rows(), 3);
  EXPECT_TRUE(rows->schema()->field(0)->type()->Equals(arrow::int64()));
  EXPECT_EQ(rows->GetColumnByName("label")->null_count(), 2);  // old rows: null
  EXPECT_EQ(rows->GetColumnByName("score")->null_count(), 0);

  DS_ASSERT_OK(UpdateSchema(*table, {{SchemaUpdate::Kind::kDropColumn, "label", "", {}, ""}}).status());
  EXPECT_EQ(ReadAll(*table)->num_columns(), 2);
  // Invalid changes are SchemaErrors and commit nothing.
  const int64_t version = table->version();
  for (const auto& bad : std::vector<SchemaUpdate>{
           {SchemaUpdate::Kind::kWidenColumn, "id", "", Type::Of(TypeId::kInt), ""},
           {SchemaUpdate::Kind::kRenameColumn, "nope", "x", {}, ""},
           {SchemaUpdate::Kind::kAddColumn, "id", "", Type::Of(TypeId::kInt), ""},
       }) {
    auto result = UpdateSchema(*table, {bad});
    EXPECT_TRUE(IsKind(result.status(), ErrorKind::kSchema)) << result.status().ToString();
  }
  EXPECT_EQ(table->version(), version);
}

TEST(SchemaUpdateTest, AnUnknownDurabilityModeIsAnErrorEverywhere) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema.fields = {{1, "id", Type::Of(TypeId::kInt), true, ""}};
  options.properties["datashard.commit.durability"] = "sometimes";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
  auto update = UpdateSchema(*table, {{SchemaUpdate::Kind::kAddColumn, "x", "", Type::Of(TypeId::kLong), ""}});
  EXPECT_TRUE(IsKind(update.status(), ErrorKind::kInvalidArgument)) << update.status().ToString();
  auto rows = Batch({"id"}, {Array<arrow::Int32Builder, int32_t>({1})});
  EXPECT_TRUE(IsKind(table->Append(rows).status(), ErrorKind::kInvalidArgument));
  EXPECT_EQ(table->version(), 1);
}

// A value SetProperties must refuse for `property`; nullopt for free text,
// which takes anything.
std::optional<std::string> BadValue(const TableProperty& property) {
  switch (property.values) {
    case PropertyValues::kText: return std::nullopt;
    case PropertyValues::kChoice: return "no-such-choice";
    case PropertyValues::kBool: return "yes";
    case PropertyValues::kInteger: return "12abc";
    case PropertyValues::kNonNegativeInteger: return "-1";
    case PropertyValues::kPositiveInteger: return "0";
  }
  return std::nullopt;
}

TEST(SetPropertiesTest, EveryTypedPropertyRefusesABadValueNamingItsKey) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  const int64_t version = table->version();
  for (const TableProperty* property : TableProperties::All()) {
    if (property->reserved) {
      const std::string key = std::string(property->key) + (property->prefix ? "w1" : "");
      for (const Status& refused : {SetProperties(*table, {{key, "1"}}, {}), SetProperties(*table, {}, {key})}) {
        EXPECT_TRUE(IsKind(refused, ErrorKind::kInvalidArgument)) << key;
        EXPECT_NE(refused.message().find(key + " is kept by datashard"), std::string::npos) << refused.message();
      }
      continue;
    }
    auto bad = BadValue(*property);
    if (!bad) continue;
    Status refused = SetProperties(*table, {{property->key, *bad}}, {});
    EXPECT_TRUE(IsKind(refused, ErrorKind::kInvalidArgument)) << property->key << ": " << refused.ToString();
    EXPECT_NE(refused.message().find(std::string("table property ") + property->key + " must be "), std::string::npos)
        << refused.message();
  }
  EXPECT_EQ(table->version(), version);  // nothing was committed
  // Other engines' keys are stored as given; a key datashard reads, at its default, too.
  DS_ASSERT_OK(
      SetProperties(*table,
                    {{"owner", "ml-team"},
                     {TableProperties::kCommitMaxFileAgeMs.key, TableProperties::kCommitMaxFileAgeMs.default_value}},
                    {}));
  EXPECT_EQ(table->metadata()->properties.at("owner"), "ml-team");
  EXPECT_EQ(table->version(), version + 1);
}

TEST(RefsTest, TagsSurviveExpiryAndBranchesTakeWrites) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  auto one = [](int32_t id) { return Batch({"id"}, {Array<arrow::Int32Builder, int32_t>({id})}); };
  const int64_t first = *table->Append(one(1))->snapshot_id;
  DS_ASSERT_OK(CreateTag(*table, "v1", first));
  EXPECT_FALSE(CreateTag(*table, "v1", first).ok());  // names are unique
  for (int i = 2; i <= 5; ++i) DS_ASSERT_OK(table->Append(one(i)).status());
  ExpireOptions expire;
  expire.older_than_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count() +
      1000;
  DS_ASSIGN_OR_FAIL(auto expired, ExpireSnapshots(*table, expire));
  EXPECT_EQ(expired.expired_snapshot_ids.size(), 3u);  // 2, 3, 4: not the tag, not the current
  EXPECT_EQ(ReadAll(*table, first)->num_rows(), 1);

  DS_ASSERT_OK(CreateBranch(*table, "experiment", first));
  auto tx = table->NewTransaction();
  DS_ASSERT_OK(tx->SetBranch("experiment"));
  DS_ASSERT_OK(tx->Append(one(100)));
  DS_ASSIGN_OR_FAIL(auto info, tx->Commit());
  EXPECT_EQ(ReadAll(*table)->num_rows(), 5);                    // main unchanged
  EXPECT_EQ(ReadAll(*table, info.snapshot_id)->num_rows(), 2);  // branch: tag's row + its own
  EXPECT_EQ(table->metadata()->refs.at("experiment").snapshot_id, *info.snapshot_id);
  DS_ASSERT_OK(DropRef(*table, "experiment"));
  EXPECT_FALSE(DropRef(*table, "main").ok());
}

TEST(RefsTest, SnapshotAsOfFindsTheStateAtATime) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  std::vector<std::pair<int64_t, int64_t>> moments;  // (time after commit, snapshot)
  for (int i = 0; i < 40; ++i) {
    auto info = table->Append(Batch({"id"}, {Array<arrow::Int32Builder, int32_t>({i})}));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    moments.emplace_back(table->metadata()->last_updated_ms, *info->snapshot_id);
  }
  for (size_t i : {0u, 5u, 20u, 39u}) {  // old ones are outside the snapshot-log window
    DS_ASSIGN_OR_FAIL(auto found, SnapshotAsOf(*table, moments[i].first));
    EXPECT_EQ(found, moments[i].second) << i;
  }
  DS_ASSIGN_OR_FAIL(auto before, SnapshotAsOf(*table, 0));
  EXPECT_FALSE(before.has_value());
}

TEST(SchemaUpdateTest, SchemaOnWriteFirstSchemaWinsAndAPendingSpecIsApplied) {
  testing::TempDir dir;
  CreateOptions options;
  PartitionField by_id;
  by_id.source_id = 5;
  by_id.field_id = 1000;
  by_id.name = "id";
  by_id.transform = "identity";
  options.partition_spec.fields = {by_id};
  auto created = Table::Create(dir.Join("t"), options);  // no schema: the spec waits
  DS_ASSERT_OK(created.status());
  auto table = *created;
  EXPECT_TRUE(table->metadata()->CurrentSchema()->fields.empty());
  EXPECT_TRUE(table->metadata()->DefaultSpec()->fields.empty());
  EXPECT_EQ(table->metadata()->properties.count(TableProperties::kPendingPartitionSpec.key), 1u);

  Schema wrong;
  wrong.fields = {{1, "other", Type::Of(TypeId::kLong), false, ""}};
  auto refused = SetInitialSchema(*table, wrong);  // the spec's source column 5 is not in it
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsKind(refused.status(), ErrorKind::kSchema)) << refused.status().ToString();
  EXPECT_EQ(table->version(), 1);  // nothing committed

  Schema first;
  first.fields = {{5, "id", Type::Of(TypeId::kLong), true, ""}, {6, "v", Type::Of(TypeId::kDouble), false, ""}};
  auto set = SetInitialSchema(*table, first);
  DS_ASSERT_OK(set.status());
  EXPECT_EQ(set->fields.size(), 2u);
  auto reloaded = *Table::Load(dir.Join("t"));
  EXPECT_EQ(reloaded->metadata()->last_column_id, 6);
  ASSERT_EQ(reloaded->metadata()->DefaultSpec()->fields.size(), 1u);
  EXPECT_EQ(reloaded->metadata()->properties.count(TableProperties::kPendingPartitionSpec.key), 0u);

  // A later first schema finds the table's and changes nothing.
  auto second = SetInitialSchema(*reloaded, wrong);
  DS_ASSERT_OK(second.status());
  EXPECT_EQ(second->fields.front().name, "id");
  EXPECT_EQ(reloaded->version(), 2);
}

TEST(SchemaUpdateTest, TheLastColumnCannotBeDropped) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  std::vector<SchemaUpdate> drops = {{SchemaUpdate::Kind::kDropColumn, "id", "", {}, ""},
                                     {SchemaUpdate::Kind::kDropColumn, "x", "", {}, ""}};
  auto dropped = UpdateSchema(*table, drops);
  ASSERT_FALSE(dropped.ok());
  EXPECT_TRUE(IsKind(dropped.status(), ErrorKind::kSchema));
}

TEST(SchemaUpdateTest, ReadSchemaIsTheSnapshotsOwnForTimeTravel) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  auto first = table->Append(
      Batch({"id", "x"}, {Array<arrow::Int32Builder, int32_t>({1}), Array<arrow::FloatBuilder, float>({0.5f})}));
  DS_ASSERT_OK(first.status());
  std::vector<SchemaUpdate> rename = {{SchemaUpdate::Kind::kRenameColumn, "x", "score", {}, ""}};
  DS_ASSERT_OK(UpdateSchema(*table, rename).status());
  // A later snapshot: the first is no longer the head (a head reads with the current schema).
  DS_ASSERT_OK(table
                   ->Append(Batch({"id", "score"}, {Array<arrow::Int32Builder, int32_t>({2}),
                                                    Array<arrow::FloatBuilder, float>({1.5f})}))
                   .status());
  auto then = table->ReadSchema(first->snapshot_id);  // named by id: time travel, its own schema
  DS_ASSERT_OK(then.status());
  EXPECT_EQ(then->fields.at(1).name, "x");
  EXPECT_EQ(then->fields.at(1).id, 2);
  auto now = table->ReadSchema(std::nullopt);  // the current snapshot: the current schema
  DS_ASSERT_OK(now.status());
  EXPECT_EQ(now->fields.at(1).name, "score");
}

}  // namespace
}  // namespace datashard
