#include "datashard/format/table_metadata.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/temp_dir.h"

namespace datashard::format {
namespace {

TableMetadata Sample() {
  TableMetadata m;
  m.table_uuid = "9c12d441-03fe-4693-9a96-a0705ddf69c1";
  m.location = "/lake/t";
  m.last_sequence_number = 2;
  m.last_updated_ms = 1718000600050;
  m.last_column_id = 2;
  Schema schema;
  schema.fields = {{1, "id", Type::Of(TypeId::kLong), true, ""}, {2, "data", Type::Of(TypeId::kString), false, ""}};
  m.schemas.push_back(schema);
  m.partition_specs.push_back(PartitionSpec{});
  m.properties["write.parquet.compression-codec"] = "zstd";
  Snapshot first{3051729675574597004,
                 std::nullopt,
                 1,
                 1718000000000,
                 "/lake/t/metadata/snap-1.avro",
                 {{"operation", "append"}, {"total-records", "100"}},
                 0};
  Snapshot second{4183022381735102341,
                  first.snapshot_id,
                  2,
                  1718000600000,
                  "/lake/t/metadata/snap-2.avro",
                  {{"operation", "append"}, {"total-records", "150"}},
                  0};
  m.snapshots = {first, second};
  m.current_snapshot_id = second.snapshot_id;
  m.refs["main"] = SnapshotRef{second.snapshot_id, "branch", {}, {}, {}};
  m.snapshot_log = {{first.timestamp_ms, first.snapshot_id}, {second.timestamp_ms, second.snapshot_id}};
  m.metadata_log = {{1718000000123, "/lake/t/metadata/v1.metadata.json"}};
  return m;
}

TEST(TableMetadataTest, RoundTripKeepsEverything) {
  TableMetadata m = Sample();
  std::string json = TableMetadataToJson(m);
  DS_ASSIGN_OR_FAIL(TableMetadata back, TableMetadataFromJson(json, "v2"));
  EXPECT_EQ(back.table_uuid, m.table_uuid);
  EXPECT_EQ(back.current_snapshot_id, m.current_snapshot_id);
  ASSERT_EQ(back.snapshots.size(), 2u);
  EXPECT_EQ(back.snapshots[1].parent_snapshot_id, m.snapshots[0].snapshot_id);
  EXPECT_EQ(back.snapshots[1].SummaryLong("total-records"), 150);
  EXPECT_EQ(back.metadata_log[0].metadata_file, "/lake/t/metadata/v1.metadata.json");
  EXPECT_EQ(TableMetadataToJson(back), json);
}

TEST(TableMetadataTest, WritesWhatStrictReadersRequire) {
  TableMetadata m = Sample();
  auto doc = nlohmann::json::parse(TableMetadataToJson(m));
  // Ids above 2^53 stay exact integers, never doubles or strings.
  EXPECT_TRUE(doc["current-snapshot-id"].is_number_integer());
  EXPECT_EQ(doc["current-snapshot-id"].get<int64_t>(), 4183022381735102341);
  // No parent key (not null) on the first snapshot.
  EXPECT_FALSE(doc["snapshots"][0].contains("parent-snapshot-id"));
  EXPECT_EQ(doc["snapshots"][0]["schema-id"], 0);
  for (const char* key : {"format-version", "table-uuid", "location", "last-sequence-number", "last-updated-ms",
                          "last-column-id", "schemas", "current-schema-id", "partition-specs", "default-spec-id",
                          "last-partition-id", "sort-orders", "default-sort-order-id", "properties", "refs",
                          "snapshot-log", "metadata-log", "statistics", "partition-statistics"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  m.current_snapshot_id.reset();
  m.snapshots.clear();
  m.refs.clear();
  doc = nlohmann::json::parse(TableMetadataToJson(m));
  EXPECT_EQ(doc["current-snapshot-id"], -1);
  EXPECT_TRUE(doc["refs"].empty());
}

TEST(TableMetadataTest, MalformedInputIsCorruptData) {
  const char* cases[] = {
      "",
      "{",
      "[]",
      "{\"format-version\": 1}",
      "{\"format-version\": 2}",
      R"({"format-version":2,"table-uuid":"u","location":"/t","last-sequence-number":"x"})",
  };
  for (const char* text : cases) {
    auto parsed = TableMetadataFromJson(text, "bad.json");
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_TRUE(IsKind(parsed.status(), ErrorKind::kCorruptData)) << parsed.status().ToString();
  }
  auto doc = nlohmann::json::parse(TableMetadataToJson(Sample()));
  doc["current-snapshot-id"] = 12345;
  auto dangling = TableMetadataFromJson(doc.dump(), "dangling.json");
  EXPECT_TRUE(IsKind(dangling.status(), ErrorKind::kCorruptData));
}

}  // namespace
}  // namespace datashard::format

namespace datashard::format {
namespace {

TEST(TableMetadataTest, SortOrdersParseAndRoundTrip) {
  auto doc = nlohmann::json::parse(TableMetadataToJson(Sample()));
  doc["sort-orders"] = nlohmann::json::parse(R"([
    {"order-id":0,"fields":[]},
    {"order-id":1,"fields":[{"transform":"identity","source-id":1,"direction":"desc","null-order":"nulls-last"},
                            {"transform":"bucket[16]","source-id":2,"direction":"asc","null-order":"nulls-first"}]},
    {"order-id":2,"fields":[{"transform":"zorder-v9","source-id":1,"direction":"asc","null-order":"nulls-first",
                             "x-extra":true}]},
    {"order-id":3,"fields":[{"transform":"identity","source-ids":[1,2],"direction":"sideways","null-order":"nulls-first"}]}
  ])");
  doc["default-sort-order-id"] = 1;
  DS_ASSIGN_OR_FAIL(TableMetadata m, TableMetadataFromJson(doc.dump(), "v3"));
  ASSERT_EQ(m.sort_orders.size(), 4u);
  const SortOrder* order = m.DefaultSortOrder();
  ASSERT_NE(order, nullptr);
  ASSERT_EQ(order->fields.size(), 2u);
  EXPECT_EQ(order->fields[0], (SortField{1, "identity", SortDirection::kDescending, NullOrder::kNullsLast}));
  EXPECT_EQ(order->fields[1], (SortField{2, "bucket[16]", SortDirection::kAscending, NullOrder::kNullsFirst}));
  EXPECT_TRUE(order->verbatim_json.empty());
  // An extra key is kept; an order this engine cannot read is opaque (never
  // sorted by) and kept too.
  EXPECT_FALSE(m.SortOrderById(2)->verbatim_json.empty());
  EXPECT_FALSE(m.SortOrderById(2)->opaque);
  EXPECT_TRUE(m.SortOrderById(3)->opaque);
  EXPECT_FALSE(m.SortOrderById(3)->unsorted());
  // Every order comes back exactly as it was read.
  auto back = nlohmann::json::parse(TableMetadataToJson(m));
  EXPECT_EQ(back["sort-orders"], doc["sort-orders"]);
  EXPECT_EQ(back["default-sort-order-id"], 1);
}

TEST(TableMetadataTest, UnsortedOrderIsAlwaysListed) {
  auto doc = nlohmann::json::parse(TableMetadataToJson(Sample()));
  EXPECT_EQ(doc["sort-orders"], nlohmann::json::parse(R"([{"order-id":0,"fields":[]}])"));
  doc["sort-orders"] = nlohmann::json::array();
  DS_ASSIGN_OR_FAIL(TableMetadata m, TableMetadataFromJson(doc.dump(), "v3"));
  ASSERT_NE(m.DefaultSortOrder(), nullptr);
  EXPECT_TRUE(m.DefaultSortOrder()->unsorted());
  doc["sort-orders"] = nlohmann::json::parse(R"([{"fields":[]}])");
  EXPECT_FALSE(TableMetadataFromJson(doc.dump(), "v4").ok());  // no order-id: Java refuses it too
}

}  // namespace
}  // namespace datashard::format
