#include "datashard/format/manifest.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "datashard/format/avro.h"

namespace datashard::format {
namespace {

// The fixture values below are also asserted, independently, by
// tests/tools/check_avro_with_fastavro.py; change both together.
constexpr int64_t kSnapshotId = 3051729675574597004;

std::string LE(uint64_t value, int width) {
  std::string out(width, '\0');
  for (int i = 0; i < width; ++i) out[i] = static_cast<char>(value >> (8 * i));
  return out;
}
std::string Int4(int32_t v) { return LE(static_cast<uint32_t>(v), 4); }
std::string Long8(int64_t v) { return LE(static_cast<uint64_t>(v), 8); }

Schema TestSchema() {
  Schema schema;
  schema.schema_id = 0;
  schema.fields = {
      {1, "id", Type::Of(TypeId::kLong), true, ""},       {2, "name", Type::Of(TypeId::kString), false, ""},
      {3, "ts", Type::Of(TypeId::kTimestamp), false, ""}, {4, "amount", Type::Decimal(9, 2), false, ""},
      {5, "price", Type::Decimal(9, 2), false, ""},       {6, "uid", Type::Of(TypeId::kUuid), false, ""},
      {7, "flag", Type::Of(TypeId::kBoolean), false, ""}, {8, "when", Type::Of(TypeId::kTimestampTz), false, ""},
      {9, "f", Type::Of(TypeId::kFloat), false, ""}};
  return schema;
}

// identity(string) + day(timestamp) + bucket[16](long).
PartitionSpec TestSpec() {
  PartitionSpec spec;
  spec.spec_id = 0;
  spec.fields = {{2, 1000, "name", "identity"}, {3, 1001, "ts_day", "day"}, {1, 1002, "id_bucket", "bucket[16]"}};
  return spec;
}

DataFile File(std::string path, std::vector<std::optional<std::string>> partition, int64_t records, int64_t size) {
  DataFile file;
  file.file_path = std::move(path);
  file.partition = std::move(partition);
  file.record_count = records;
  file.file_size_in_bytes = size;
  return file;
}

std::vector<ManifestEntry> DataEntries() {
  ManifestEntry added;  // new in this snapshot: sequence numbers left to inheritance
  added.status = ManifestEntryStatus::kAdded;
  added.snapshot_id = kSnapshotId;
  added.data_file = File("s3://bucket/t/data/a.parquet", {"alice", Int4(19000), Int4(7)}, 100, 4096);
  added.data_file.column_sizes = {{1, 800}, {2, 1200}};
  added.data_file.value_counts = {{1, 100}, {2, 100}};
  added.data_file.null_value_counts = {{1, 0}, {2, 5}};
  added.data_file.lower_bounds = {{1, Long8(1)}, {2, "alice"}};
  added.data_file.upper_bounds = {{1, Long8(100)}, {2, "alicf"}};
  added.data_file.split_offsets = {4};
  added.data_file.sort_order_id = 0;

  ManifestEntry existing;
  existing.status = ManifestEntryStatus::kExisting;
  existing.snapshot_id = 42;
  existing.sequence_number = 5;
  existing.file_sequence_number = 5;
  existing.data_file = File("s3://bucket/t/data/b.parquet", {std::nullopt, Int4(19001), Int4(3)}, 10, 1000);
  existing.data_file.nan_value_counts = {{9, 2}};

  ManifestEntry deleted;
  deleted.status = ManifestEntryStatus::kDeleted;
  deleted.snapshot_id = 43;
  deleted.sequence_number = 6;
  deleted.file_sequence_number = 6;
  deleted.data_file = File("s3://bucket/t/data/c.parquet", {"bob", std::nullopt, Int4(15)}, 1, 10);
  return {added, existing, deleted};
}

std::vector<ManifestEntry> DeleteEntries() {
  ManifestEntry positional;
  positional.snapshot_id = kSnapshotId;
  positional.data_file = File("s3://bucket/t/data/d-pos.parquet", {"alice", Int4(19000), Int4(7)}, 2, 500);
  positional.data_file.content = DataFileContent::kPositionDeletes;
  ManifestEntry equality;
  equality.snapshot_id = kSnapshotId;
  equality.data_file = File("s3://bucket/t/data/d-eq.parquet", {"alice", Int4(19000), Int4(7)}, 3, 600);
  equality.data_file.content = DataFileContent::kEqualityDeletes;
  equality.data_file.equality_ids = {1, 2};
  return {positional, equality};
}

ManifestFile ListEntry(std::string path, int64_t length) {
  ManifestFile m;
  m.manifest_path = std::move(path);
  m.manifest_length = length;
  m.partition_spec_id = 0;
  m.content = ManifestContent::kData;
  m.sequence_number = 7;
  m.min_sequence_number = 5;
  m.added_snapshot_id = kSnapshotId;
  m.added_files_count = 1;
  m.existing_files_count = 1;
  m.deleted_files_count = 1;
  m.added_rows_count = 100;
  m.existing_rows_count = 10;
  m.deleted_rows_count = 1;
  m.partitions = {{false, false, "alice", "bob"},
                  {true, std::nullopt, Int4(19000), Int4(19001)},
                  {false, false, Int4(3), Int4(15)}};
  return m;
}

// Files for the independent fastavro / PyIceberg check, when asked for.
void MaybeWrite(const std::string& name, const std::string& bytes) {
  const char* dir = std::getenv("DATASHARD_FASTAVRO_CHECK_DIR");
  if (dir == nullptr || *dir == '\0') return;
  std::ofstream out(std::string(dir) + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << dir << "/" << name;
}

std::string CheckDirPath(const std::string& name, const std::string& fallback) {
  const char* dir = std::getenv("DATASHARD_FASTAVRO_CHECK_DIR");
  return dir && *dir ? std::string(dir) + "/" + name : fallback;
}

TEST(Manifest, PartitionedRoundTripWithStats) {
  for (AvroCodec codec : {AvroCodec::kDeflate, AvroCodec::kNull}) {
    auto bytes = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, DataEntries(), codec);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    auto entries = DecodeManifest(*bytes, TestSchema(), TestSpec());
    ASSERT_TRUE(entries.ok()) << entries.status();
    EXPECT_EQ(*entries, DataEntries());
    // Inherited values stay null: the manifest list entry supplies them.
    EXPECT_FALSE((*entries)[0].sequence_number.has_value());
    EXPECT_FALSE((*entries)[0].file_sequence_number.has_value());
  }
}

TEST(Manifest, DeleteManifestRoundTrip) {
  auto bytes = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kDeletes, DeleteEntries());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto entries = DecodeManifest(*bytes, TestSchema(), TestSpec());
  ASSERT_TRUE(entries.ok()) << entries.status();
  EXPECT_EQ(*entries, DeleteEntries());
  auto file = avro::ReadContainerFile(*bytes);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->metadata.at("content"), "deletes");
  // Data and delete files never share a manifest.
  EXPECT_TRUE(IsKind(EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, DeleteEntries()).status(),
                     ErrorKind::kInvalidArgument));
}

TEST(Manifest, HeaderAndSchemaMatchTheSpec) {
  auto bytes = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, DataEntries());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto file = avro::ReadContainerFile(*bytes);
  ASSERT_TRUE(file.ok()) << file.status();
  const auto& meta = file->metadata;
  EXPECT_EQ(meta.at("avro.codec"), "null");  // a few entries: not worth deflating
  EXPECT_EQ(meta.at("format-version"), "2");
  EXPECT_EQ(meta.at("content"), "data");
  EXPECT_EQ(meta.at("schema-id"), "0");
  EXPECT_EQ(meta.at("partition-spec-id"), "0");
  EXPECT_EQ(meta.at("schema"), SchemaToJsonString(TestSchema()));
  EXPECT_EQ(meta.at("partition-spec"), PartitionFieldsToJsonString(TestSpec()));

  const avro::Node& root = *file->schema;
  EXPECT_EQ(root.name, "manifest_entry");
  std::vector<int32_t> ids;
  for (const auto& f : root.fields) ids.push_back(*f.field_id);
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1, 3, 4, 2}));
  const avro::Node& data_file = *root.fields[4].type;
  EXPECT_EQ(data_file.name, "r2");
  ids.clear();
  for (const auto& f : data_file.fields) ids.push_back(*f.field_id);
  EXPECT_EQ(
      ids, (std::vector<int32_t>{134, 100, 101, 102, 103, 104, 108, 109, 110, 137, 125, 128, 131, 132, 135, 140, 143}));
  const avro::Node& partition = *data_file.fields[3].type;
  EXPECT_EQ(partition.name, "r102");
  ASSERT_EQ(partition.fields.size(), 3u);
  EXPECT_EQ(partition.fields[1].name, "ts_day");
  EXPECT_EQ(partition.fields[1].field_id, 1001);
  EXPECT_EQ(partition.fields[1].type->branches[0]->type, avro::Type::kNull);
  EXPECT_EQ(partition.fields[1].type->branches[1]->logical_type, "date");
  const avro::Node& sizes = *data_file.fields[6].type->branches[1];
  EXPECT_EQ(sizes.logical_type, "map");
  EXPECT_EQ(sizes.items->name, "k117_v118");
  EXPECT_EQ(sizes.items->fields[0].field_id, 117);
  EXPECT_EQ(data_file.fields[13].type->branches[1]->element_id, 133);

  // Raw JSON: optional fields are null-first unions with a null default.
  auto json = nlohmann::json::parse(meta.at("avro.schema"));
  for (const auto& f : json["fields"][4]["type"]["fields"]) {
    if (f["type"].is_array()) {
      EXPECT_EQ(f["type"][0], "null") << f.dump();
      EXPECT_TRUE(f.contains("default") && f["default"].is_null()) << f.dump();
    }
  }
}

TEST(Manifest, PartitionTypesAndNames) {
  Schema schema = TestSchema();
  PartitionSpec spec;
  spec.spec_id = 3;
  spec.fields = {{4, 1000, "amount", "identity"}, {5, 1001, "price", "identity"}, {6, 1002, "uid", "identity"},
                 {7, 1003, "flag", "identity"},   {8, 1004, "when.hour", "hour"}, {8, 1005, "1when", "identity"},
                 {9, 1006, "f", "identity"},      {3, 1007, "ts_month", "month"}};
  std::string uuid(16, '\x5a');
  ManifestEntry entry;
  entry.snapshot_id = 1;
  entry.data_file = File("f.parquet",
                         {std::string("\x80", 1) /* -128 */, std::string("\x00\x80", 2) /* 128 */, uuid,
                          std::string("\x01", 1), Int4(460000), Long8(-5), LE(0x3fc00000, 4), std::nullopt},
                         1, 1);
  auto bytes = EncodeManifest(schema, spec, ManifestContent::kData, {entry}, AvroCodec::kNull);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeManifest(*bytes, schema, spec);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0], entry);

  auto file = avro::ReadContainerFile(*bytes);
  ASSERT_TRUE(file.ok());
  const avro::Node& partition = *file->schema->fields[4].type->fields[3].type;
  // decimal(9, 2) is fixed[4]; the second use refers to the first definition.
  const avro::Node& amount = *partition.fields[0].type->branches[1];
  EXPECT_EQ(amount.name, "decimal_9_2");
  EXPECT_EQ(amount.size, 4);
  EXPECT_EQ(partition.fields[1].type->branches[1].get(), &amount);
  const avro::Value& values = file->records[0].items()[4].items()[3];
  EXPECT_EQ(values.items()[0].bytes(), std::string("\xff\xff\xff\x80", 4));  // sign-extended
  EXPECT_EQ(values.items()[1].bytes(), std::string("\x00\x00\x00\x80", 4));
  EXPECT_EQ(partition.fields[2].type->branches[1]->name, "uuid_fixed");
  EXPECT_EQ(partition.fields[4].name, "when_x2Ehour");
  EXPECT_EQ(partition.fields[5].name, "_1when");
  auto json = nlohmann::json::parse(file->metadata.at("avro.schema"));
  EXPECT_EQ(json["fields"][4]["type"]["fields"][3]["type"]["fields"][4]["iceberg-field-name"], "when.hour");
  EXPECT_EQ(file->metadata.at("partition-spec-id"), "3");

  // A decimal too wide for its precision is refused rather than truncated.
  entry.data_file.partition[0] = std::string("\x01\x00\x00\x00\x00", 5);
  EXPECT_TRUE(
      IsKind(EncodeManifest(schema, spec, ManifestContent::kData, {entry}).status(), ErrorKind::kInvalidArgument));
  entry.data_file.partition[0] = std::string("\x01", 1);
  entry.data_file.partition[4] = Long8(1);  // hour is an int: 4 bytes
  EXPECT_TRUE(
      IsKind(EncodeManifest(schema, spec, ManifestContent::kData, {entry}).status(), ErrorKind::kInvalidArgument));
}

TEST(Manifest, UnpartitionedAndEmpty) {
  PartitionSpec unpartitioned;
  ManifestEntry entry;
  entry.snapshot_id = 9;
  entry.data_file = File("x.parquet", {}, 5, 50);
  auto bytes = EncodeManifest(TestSchema(), unpartitioned, ManifestContent::kData, {entry});
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeManifest(*bytes, TestSchema(), unpartitioned);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, std::vector<ManifestEntry>{entry});

  auto empty = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, {});
  ASSERT_TRUE(empty.ok()) << empty.status();
  auto none = DecodeManifest(*empty, TestSchema(), TestSpec());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  auto file = avro::ReadContainerFile(*empty);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->metadata.at("format-version"), "2");
}

TEST(Manifest, RejectsInvalidEntries) {
  auto entries = DataEntries();
  entries[1].sequence_number.reset();  // EXISTING without a sequence number
  Status st = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, entries).status();
  EXPECT_TRUE(IsKind(st, ErrorKind::kInvalidArgument)) << st;
  EXPECT_NE(st.message().find("ADDED"), std::string::npos) << st;

  entries = DataEntries();
  entries[2].file_sequence_number.reset();
  EXPECT_TRUE(IsKind(EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, entries).status(),
                     ErrorKind::kInvalidArgument));

  entries = DataEntries();
  entries[0].data_file.partition.pop_back();
  EXPECT_TRUE(IsKind(EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, entries).status(),
                     ErrorKind::kInvalidArgument));
}

TEST(Manifest, DecodeRejectsWrongSpecAndCorruption) {
  auto bytes = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, DataEntries());
  ASSERT_TRUE(bytes.ok());
  PartitionSpec other = TestSpec();
  other.spec_id = 1;
  EXPECT_TRUE(IsKind(DecodeManifest(*bytes, TestSchema(), other).status(), ErrorKind::kCorruptData));
  other = TestSpec();
  other.fields.push_back({1, 1010, "id_extra", "identity"});
  Status st = DecodeManifest(*bytes, TestSchema(), other).status();
  EXPECT_TRUE(IsKind(st, ErrorKind::kCorruptData)) << st;
  EXPECT_NE(st.message().find("id_extra"), std::string::npos) << st;
  for (size_t n = 0; n < bytes->size(); n += 7) {
    auto result = DecodeManifest(std::string_view(*bytes).substr(0, n), TestSchema(), TestSpec());
    if (!result.ok()) {
      EXPECT_TRUE(IsKind(result.status(), ErrorKind::kCorruptData)) << result.status();
    }
  }
}

// Partition values of a column dropped from the schema are typed by the file.
TEST(Manifest, PartitionSourceDroppedFromSchema) {
  auto bytes = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, DataEntries());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  Schema evolved = TestSchema();
  evolved.fields.erase(evolved.fields.begin() + 2);  // ts, the source of ts_day
  auto decoded = DecodeManifest(*bytes, evolved, TestSpec());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, DataEntries());
}

// A manifest as another writer might produce it: fields reordered, extra
// fields, no field ids on the partition record (older writers), int->long.
TEST(Manifest, ReadsForeignFieldOrderById) {
  const std::string schema_json = R"({"type":"record","name":"manifest_entry","fields":[
    {"name":"data_file","field-id":2,"type":{"type":"record","name":"r2","fields":[
      {"name":"extra","type":"string","field-id":9999},
      {"name":"record_count","type":"long","field-id":103},
      {"name":"file_size_in_bytes","type":"long","field-id":104},
      {"name":"partition","field-id":102,"type":{"type":"record","name":"r102","fields":[
        {"name":"id_bucket","type":["null","int"]},{"name":"name","type":["null","string"]},
        {"name":"ts_day","type":["null","int"]}]}},
      {"name":"file_format","type":"string","field-id":101},
      {"name":"file_path","type":"string","field-id":100},
      {"name":"content","type":"int","field-id":134},
      {"name":"equality_ids","type":["null",{"type":"array","items":"long","element-id":136}],"field-id":135}]}},
    {"name":"snapshot_id","type":["null","long"],"field-id":1},
    {"name":"status","type":"int","field-id":0}]})";
  auto schema = avro::ParseSchema(schema_json);
  ASSERT_TRUE(schema.ok()) << schema.status();
  using avro::Value;
  Value partition = Value::Record({Value::Int(7), Value::String("zed"), Value::Null()});
  Value data_file =
      Value::Record({Value::String("x"), Value::Long(3), Value::Long(30), partition, Value::String("PARQUET"),
                     Value::String("p.parquet"), Value::Int(2), Value::Array({Value::Long(1)})});
  Value entry = Value::Record({data_file, Value::Long(11), Value::Int(1)});
  auto bytes = avro::WriteContainerFile(schema_json, **schema, {{"format-version", "2"}}, {entry}, AvroCodec::kDeflate);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  PartitionSpec spec = TestSpec();
  auto decoded = DecodeManifest(*bytes, TestSchema(), spec);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 1u);
  const ManifestEntry& e = (*decoded)[0];
  EXPECT_EQ(e.status, ManifestEntryStatus::kAdded);
  EXPECT_EQ(e.snapshot_id, 11);
  EXPECT_EQ(e.data_file.content, DataFileContent::kEqualityDeletes);
  EXPECT_EQ(e.data_file.file_path, "p.parquet");
  EXPECT_EQ(e.data_file.record_count, 3);
  EXPECT_EQ(e.data_file.partition,
            (std::vector<std::optional<std::string>>{std::string("zed"), std::nullopt, Int4(7)}));
  EXPECT_EQ(e.data_file.equality_ids, std::vector<int32_t>{1});
  EXPECT_TRUE(e.data_file.column_sizes.empty());

  // Without file_path the entry is corrupt, and the message names the field.
  const std::string no_path = R"({"type":"record","name":"manifest_entry","fields":[
    {"name":"status","type":"int","field-id":0},
    {"name":"data_file","field-id":2,"type":{"type":"record","name":"r2","fields":[
      {"name":"content","type":"int","field-id":134}]}}]})";
  auto bad_schema = avro::ParseSchema(no_path);
  Value no_path_entry = Value::Record({Value::Int(1), Value::Record({Value::Int(0)})});
  auto bad = avro::WriteContainerFile(no_path, **bad_schema, {}, {no_path_entry}, AvroCodec::kNull);
  ASSERT_TRUE(bad.ok());
  Status st = DecodeManifest(*bad, TestSchema(), PartitionSpec()).status();
  EXPECT_TRUE(IsKind(st, ErrorKind::kCorruptData)) << st;
  EXPECT_NE(st.message().find("file_path"), std::string::npos) << st;
}

TEST(ManifestList, RoundTrip) {
  ManifestListInfo info{kSnapshotId, std::nullopt, 7};
  ManifestFile deletes = ListEntry("s3://bucket/t/metadata/deletes.avro", 1234);
  deletes.content = ManifestContent::kDeletes;
  deletes.partitions.clear();
  std::vector<ManifestFile> manifests = {ListEntry("s3://bucket/t/metadata/m.avro", 4321), deletes};
  auto bytes = EncodeManifestList(info, manifests);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto decoded = DecodeManifestList(*bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, manifests);

  auto file = avro::ReadContainerFile(*bytes);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->metadata.at("snapshot-id"), std::to_string(kSnapshotId));
  EXPECT_EQ(file->metadata.at("parent-snapshot-id"), "null");
  EXPECT_EQ(file->metadata.at("sequence-number"), "7");
  EXPECT_EQ(file->metadata.at("format-version"), "2");
  EXPECT_EQ(file->schema->name, "manifest_file");
  // Unpartitioned manifests carry an empty summary list, not null (as Java).
  EXPECT_EQ(file->records[1].items()[13].kind(), avro::ValueKind::kArray);

  info.parent_snapshot_id = 5;
  auto with_parent = EncodeManifestList(info, {});
  ASSERT_TRUE(with_parent.ok());
  EXPECT_EQ(avro::ReadContainerFile(*with_parent)->metadata.at("parent-snapshot-id"), "5");
  EXPECT_TRUE(DecodeManifestList(*with_parent)->empty());
}

TEST(ManifestList, RejectsNegativeCounts) {
  ManifestFile m = ListEntry("m.avro", 10);
  m.added_files_count = -1;
  EXPECT_TRUE(IsKind(EncodeManifestList({1, std::nullopt, 1}, {m}).status(), ErrorKind::kInvalidArgument));

  // Re-encode a valid list with a negative count, as a broken writer would.
  auto bytes = EncodeManifestList({1, std::nullopt, 1}, {ListEntry("m.avro", 10)}, AvroCodec::kNull);
  ASSERT_TRUE(bytes.ok());
  auto file = avro::ReadContainerFile(*bytes);
  ASSERT_TRUE(file.ok());
  int index = file->schema->FindFieldById(513);
  ASSERT_GE(index, 0);
  file->records[0].mutable_items()[index] = avro::Value::Long(-3);
  auto bad =
      avro::WriteContainerFile(file->metadata.at("avro.schema"), *file->schema, {}, file->records, AvroCodec::kNull);
  ASSERT_TRUE(bad.ok());
  Status st = DecodeManifestList(*bad).status();
  EXPECT_TRUE(IsKind(st, ErrorKind::kCorruptData)) << st;
  EXPECT_NE(st.message().find("existing_rows_count"), std::string::npos) << st;
}

// Writes the files tests/tools/check_avro_with_fastavro.py reads.
TEST(ManifestInterop, WriteFilesForIndependentReaders) {
  auto data = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, DataEntries());
  auto deletes = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kDeletes, DeleteEntries());
  auto empty = EncodeManifest(TestSchema(), TestSpec(), ManifestContent::kData, {}, AvroCodec::kNull);
  ASSERT_TRUE(data.ok() && deletes.ok() && empty.ok());
  ManifestFile data_entry = ListEntry(CheckDirPath("manifest-data.avro", "m-data.avro"), data->size());
  ManifestFile delete_entry = ListEntry(CheckDirPath("manifest-deletes.avro", "m-deletes.avro"), deletes->size());
  delete_entry.content = ManifestContent::kDeletes;
  delete_entry.min_sequence_number = 7;
  delete_entry.added_files_count = 2;
  delete_entry.existing_files_count = 0;
  delete_entry.deleted_files_count = 0;
  delete_entry.added_rows_count = 5;
  delete_entry.existing_rows_count = 0;
  delete_entry.deleted_rows_count = 0;
  delete_entry.partitions = {
      {false, false, "alice", "alice"}, {false, false, Int4(19000), Int4(19000)}, {false, false, Int4(7), Int4(7)}};
  auto list = EncodeManifestList({kSnapshotId, 3051729675574597003, 7}, {data_entry, delete_entry});
  ASSERT_TRUE(list.ok()) << list.status();
  MaybeWrite("manifest-data.avro", *data);
  MaybeWrite("manifest-deletes.avro", *deletes);
  MaybeWrite("manifest-empty.avro", *empty);
  MaybeWrite("manifest-list.avro", *list);
}

}  // namespace
}  // namespace datashard::format
