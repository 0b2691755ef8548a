#include "datashard/format/manifest.h"

#include <bit>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

namespace datashard::format {
namespace {

using avro::Node;
using avro::Value;
using avro::ValueKind;
using ojson = nlohmann::ordered_json;

// Field ids and names of the v2 manifest and manifest-list schemas: spec
// "Manifest Entry Fields", "Data File Fields", "Manifest Lists"; note §1-3.
struct SpecField {
  int32_t id;
  const char* name;
};
struct MapRef {
  SpecField field;
  int32_t key_id;
  int32_t value_id;
};

constexpr SpecField kStatus{0, "status"};
constexpr SpecField kSnapshotId{1, "snapshot_id"};
constexpr SpecField kSequenceNumber{3, "sequence_number"};
constexpr SpecField kFileSequenceNumber{4, "file_sequence_number"};
constexpr SpecField kDataFile{2, "data_file"};
constexpr SpecField kContent{134, "content"};
constexpr SpecField kFilePath{100, "file_path"};
constexpr SpecField kFileFormat{101, "file_format"};
constexpr SpecField kPartition{102, "partition"};
constexpr SpecField kRecordCount{103, "record_count"};
constexpr SpecField kFileSizeInBytes{104, "file_size_in_bytes"};
constexpr MapRef kColumnSizes{{108, "column_sizes"}, 117, 118};
constexpr MapRef kValueCounts{{109, "value_counts"}, 119, 120};
constexpr MapRef kNullValueCounts{{110, "null_value_counts"}, 121, 122};
constexpr MapRef kNanValueCounts{{137, "nan_value_counts"}, 138, 139};
constexpr MapRef kLowerBounds{{125, "lower_bounds"}, 126, 127};
constexpr MapRef kUpperBounds{{128, "upper_bounds"}, 129, 130};
constexpr SpecField kKeyMetadata{131, "key_metadata"};
constexpr SpecField kSplitOffsets{132, "split_offsets"};
constexpr int32_t kSplitOffsetsElementId = 133;
constexpr SpecField kEqualityIds{135, "equality_ids"};
constexpr int32_t kEqualityIdsElementId = 136;
constexpr SpecField kSortOrderId{140, "sort_order_id"};
constexpr SpecField kReferencedDataFile{143, "referenced_data_file"};

constexpr SpecField kManifestPath{500, "manifest_path"};
constexpr SpecField kManifestLength{501, "manifest_length"};
constexpr SpecField kPartitionSpecId{502, "partition_spec_id"};
constexpr SpecField kListContent{517, "content"};
constexpr SpecField kListSequenceNumber{515, "sequence_number"};
constexpr SpecField kMinSequenceNumber{516, "min_sequence_number"};
constexpr SpecField kAddedSnapshotId{503, "added_snapshot_id"};
constexpr SpecField kAddedFilesCount{504, "added_files_count"};
constexpr SpecField kExistingFilesCount{505, "existing_files_count"};
constexpr SpecField kDeletedFilesCount{506, "deleted_files_count"};
constexpr SpecField kAddedRowsCount{512, "added_rows_count"};
constexpr SpecField kExistingRowsCount{513, "existing_rows_count"};
constexpr SpecField kDeletedRowsCount{514, "deleted_rows_count"};
constexpr SpecField kPartitions{507, "partitions"};
constexpr int32_t kPartitionsElementId = 508;
constexpr SpecField kContainsNull{509, "contains_null"};
constexpr SpecField kContainsNan{518, "contains_nan"};
constexpr SpecField kLowerBound{510, "lower_bound"};
constexpr SpecField kUpperBound{511, "upper_bound"};
constexpr SpecField kListKeyMetadata{519, "key_metadata"};

// ---------------------------------------------------------------------------
// Avro schema JSON (Appendix A conventions)

ojson Required(SpecField f, ojson type) {
  return ojson{{"name", f.name}, {"type", std::move(type)}, {"field-id", f.id}};
}

// Optional fields are null-first unions defaulting to null (note §8.1).
ojson Optional(SpecField f, ojson type) {
  return ojson{
      {"name", f.name}, {"type", ojson::array({"null", std::move(type)})}, {"default", nullptr}, {"field-id", f.id}};
}

ojson ArrayOf(ojson items, int32_t element_id) {
  return ojson{{"type", "array"}, {"items", std::move(items)}, {"element-id", element_id}};
}

// Int-keyed maps are arrays of k<key>_v<value> records tagged logicalType "map".
ojson IntKeyedMap(const MapRef& map, const char* value_type) {
  ojson fields = ojson::array({Required({map.key_id, "key"}, "int"), Required({map.value_id, "value"}, value_type)});
  ojson record = {{"type", "record"},
                  {"name", "k" + std::to_string(map.key_id) + "_v" + std::to_string(map.value_id)},
                  {"fields", std::move(fields)}};
  return ojson{{"type", "array"}, {"items", std::move(record)}, {"logicalType", "map"}};
}

// Fewest bytes holding any unscaled decimal of `precision` digits (agrees with
// Java TypeUtil.decimalRequiredBytes: 9 -> 4, 18 -> 8, 38 -> 16).
int32_t DecimalBytes(int32_t precision) {
  return static_cast<int32_t>(std::ceil((std::log(std::pow(10.0, precision) - 1) / std::log(2.0) + 1) / 8));
}

// Named Avro types may be defined once per file; later uses refer to the name.
Result<ojson> PartitionAvroType(const Type& type, std::set<std::string>* defined) {
  auto named = [&](const std::string& name, ojson definition) -> ojson {
    if (!defined->insert(name).second) return ojson(name);
    definition["name"] = name;
    return definition;
  };
  switch (type.id) {
    case TypeId::kBoolean: return ojson("boolean");
    case TypeId::kInt: return ojson("int");
    case TypeId::kLong: return ojson("long");
    case TypeId::kFloat: return ojson("float");
    case TypeId::kDouble: return ojson("double");
    case TypeId::kDate: return ojson{{"type", "int"}, {"logicalType", "date"}};
    case TypeId::kTime: return ojson{{"type", "long"}, {"logicalType", "time-micros"}};
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz:
      return ojson{
          {"type", "long"}, {"logicalType", "timestamp-micros"}, {"adjust-to-utc", type.id == TypeId::kTimestampTz}};
    case TypeId::kString: return ojson("string");
    case TypeId::kBinary: return ojson("bytes");
    case TypeId::kUuid: return named("uuid_fixed", {{"type", "fixed"}, {"size", 16}, {"logicalType", "uuid"}});
    case TypeId::kFixed:
      if (type.length < 0) return InvalidArgument("fixed partition type with negative length ", type.length);
      return named("fixed_" + std::to_string(type.length), {{"type", "fixed"}, {"size", type.length}});
    case TypeId::kDecimal:
      if (type.precision < 1 || type.precision > 38) {
        return InvalidArgument("unsupported decimal precision ", type.precision);
      }
      return named("decimal_" + std::to_string(type.precision) + "_" + std::to_string(type.scale),
                   {{"type", "fixed"},
                    {"size", DecimalBytes(type.precision)},
                    {"logicalType", "decimal"},
                    {"precision", type.precision},
                    {"scale", type.scale}});
  }
  return InvalidArgument("unsupported partition type");
}

// Java's AvroSchemaUtil.sanitize: a leading digit d becomes _d, any other
// character outside [A-Za-z0-9_] becomes _x<HEX>. Non-ASCII code points are
// escaped too, which keeps every name valid under the Avro spec.
std::string SanitizeAvroName(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (letter || (digit && i > 0)) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (digit) {
      out += "_" + std::string(1, static_cast<char>(c));
      ++i;
      continue;
    }
    uint32_t code = c;
    size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (length > 1 && i + length <= name.size()) {
      code = c & (0x3F >> (length - 1));
      for (size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(name[i + k]) & 0x3F);
    } else {
      length = 1;
    }
    char hex[16];
    std::snprintf(hex, sizeof(hex), "_x%X", code);
    out += hex;
    i += length;
  }
  return out.empty() ? "_" : out;
}

Result<ojson> PartitionRecordJson(const Schema& schema, const PartitionSpec& spec, std::vector<Type>* types) {
  ojson fields = ojson::array();
  std::set<std::string> defined_types;
  std::set<std::string> names;
  for (const PartitionField& field : spec.fields) {
    ARROW_ASSIGN_OR_RAISE(Type type, PartitionResultType(schema, field));
    ARROW_ASSIGN_OR_RAISE(ojson avro_type, PartitionAvroType(type, &defined_types));
    std::string name = SanitizeAvroName(field.name);
    if (!names.insert(name).second) {
      return InvalidArgument("partition field name \"", field.name, "\" collides with another after sanitizing");
    }
    ojson avro_field = Optional({field.field_id, ""}, std::move(avro_type));
    avro_field["name"] = name;
    if (name != field.name) avro_field["iceberg-field-name"] = field.name;
    fields.push_back(std::move(avro_field));
    types->push_back(type);
  }
  return ojson{{"type", "record"}, {"name", "r102"}, {"fields", std::move(fields)}};
}

// Field order is Java's (V2Metadata); readers match by id, so it is cosmetic.
ojson ManifestEntrySchemaJson(ojson partition_record) {
  ojson file_fields = ojson::array({
      Required(kContent, "int"),
      Required(kFilePath, "string"),
      Required(kFileFormat, "string"),
      Required(kPartition, std::move(partition_record)),
      Required(kRecordCount, "long"),
      Required(kFileSizeInBytes, "long"),
      Optional(kColumnSizes.field, IntKeyedMap(kColumnSizes, "long")),
      Optional(kValueCounts.field, IntKeyedMap(kValueCounts, "long")),
      Optional(kNullValueCounts.field, IntKeyedMap(kNullValueCounts, "long")),
      Optional(kNanValueCounts.field, IntKeyedMap(kNanValueCounts, "long")),
      Optional(kLowerBounds.field, IntKeyedMap(kLowerBounds, "bytes")),
      Optional(kUpperBounds.field, IntKeyedMap(kUpperBounds, "bytes")),
      Optional(kKeyMetadata, "bytes"),
      Optional(kSplitOffsets, ArrayOf("long", kSplitOffsetsElementId)),
      Optional(kEqualityIds, ArrayOf("int", kEqualityIdsElementId)),
      Optional(kSortOrderId, "int"),
      Optional(kReferencedDataFile, "string"),
  });
  ojson data_file = {{"type", "record"}, {"name", "r2"}, {"fields", std::move(file_fields)}};
  ojson entry_fields = ojson::array({
      Required(kStatus, "int"),
      Optional(kSnapshotId, "long"),
      Optional(kSequenceNumber, "long"),
      Optional(kFileSequenceNumber, "long"),
      Required(kDataFile, std::move(data_file)),
  });
  return ojson{{"type", "record"}, {"name", "manifest_entry"}, {"fields", std::move(entry_fields)}};
}

ojson ManifestFileSchemaJson() {
  ojson summary = {{"type", "record"},
                   {"name", "r508"},
                   {"fields", ojson::array({Required(kContainsNull, "boolean"), Optional(kContainsNan, "boolean"),
                                            Optional(kLowerBound, "bytes"), Optional(kUpperBound, "bytes")})}};
  return ojson{
      {"type", "record"},
      {"name", "manifest_file"},
      {"fields",
       ojson::array(
           {Required(kManifestPath, "string"), Required(kManifestLength, "long"), Required(kPartitionSpecId, "int"),
            Required(kListContent, "int"), Required(kListSequenceNumber, "long"), Required(kMinSequenceNumber, "long"),
            Required(kAddedSnapshotId, "long"), Required(kAddedFilesCount, "int"), Required(kExistingFilesCount, "int"),
            Required(kDeletedFilesCount, "int"), Required(kAddedRowsCount, "long"),
            Required(kExistingRowsCount, "long"), Required(kDeletedRowsCount, "long"),
            Optional(kPartitions, ArrayOf(summary, kPartitionsElementId)), Optional(kListKeyMetadata, "bytes")})}};
}

std::string Dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

// ---------------------------------------------------------------------------
// Partition values: single-value bytes (Appendix D) <-> Avro values

std::string LittleEndian(uint64_t value, int width) {
  std::string out(width, '\0');
  for (int i = 0; i < width; ++i) out[i] = static_cast<char>(value >> (8 * i));
  return out;
}

uint64_t FromLittleEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < bytes.size(); ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  return value;
}

// Drops redundant sign bytes: Java's BigInteger.toByteArray form.
std::string MinimalTwosComplement(std::string_view bytes) {
  size_t start = 0;
  while (start + 1 < bytes.size()) {
    auto lead = static_cast<uint8_t>(bytes[start]);
    auto next = static_cast<uint8_t>(bytes[start + 1]);
    if ((lead == 0x00 && next < 0x80) || (lead == 0xFF && next >= 0x80)) {
      ++start;
    } else {
      break;
    }
  }
  return std::string(bytes.substr(start));
}

Result<Value> PartitionValueToAvro(const Type& type, std::string_view bytes, const PartitionField& field) {
  auto require = [&](size_t size) -> Status {
    if (bytes.size() == size) return Status::OK();
    return InvalidArgument("partition value of field \"", field.name, "\" has ", bytes.size(), " bytes but ",
                           type.ToString(), " needs ", size);
  };
  switch (type.id) {
    case TypeId::kBoolean: ARROW_RETURN_NOT_OK(require(1)); return Value::Boolean(bytes[0] != 0);
    case TypeId::kInt:
    case TypeId::kDate:
      ARROW_RETURN_NOT_OK(require(4));
      return Value::Int(static_cast<int32_t>(FromLittleEndian(bytes)));
    case TypeId::kLong:
    case TypeId::kTime:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz:
      ARROW_RETURN_NOT_OK(require(8));
      return Value::Long(static_cast<int64_t>(FromLittleEndian(bytes)));
    case TypeId::kFloat:
      ARROW_RETURN_NOT_OK(require(4));
      return Value::Float(std::bit_cast<float>(static_cast<uint32_t>(FromLittleEndian(bytes))));
    case TypeId::kDouble:
      ARROW_RETURN_NOT_OK(require(8));
      return Value::Double(std::bit_cast<double>(FromLittleEndian(bytes)));
    case TypeId::kString: return Value::String(std::string(bytes));
    case TypeId::kBinary: return Value::Bytes(std::string(bytes));
    case TypeId::kUuid: ARROW_RETURN_NOT_OK(require(16)); return Value::Fixed(std::string(bytes));
    case TypeId::kFixed:
      ARROW_RETURN_NOT_OK(require(static_cast<size_t>(type.length)));
      return Value::Fixed(std::string(bytes));
    case TypeId::kDecimal: {
      // The Avro value is sign-extended to the fixed size of the precision.
      const auto size = static_cast<size_t>(DecimalBytes(type.precision));
      std::string minimal = MinimalTwosComplement(bytes);
      if (minimal.empty() || minimal.size() > size) {
        return InvalidArgument("partition value of field \"", field.name, "\" does not fit ", type.ToString());
      }
      char sign = static_cast<uint8_t>(minimal[0]) >= 0x80 ? '\xFF' : '\x00';
      return Value::Fixed(std::string(size - minimal.size(), sign) + minimal);
    }
  }
  return InvalidArgument("unsupported partition type ", type.ToString());
}

// Accepts the promotions a reader must (int -> long, float -> double) and the
// Avro representations other writers use for the same Iceberg type.
Result<std::string> PartitionValueFromAvro(const Type& type, const Value& value, const PartitionField& field) {
  const ValueKind kind = value.kind();
  const bool integral = kind == ValueKind::kInt || kind == ValueKind::kLong;
  const bool binary = kind == ValueKind::kBytes || kind == ValueKind::kString || kind == ValueKind::kFixed;
  auto wrong = [&]() {
    return CorruptData("manifest partition field \"", field.name, "\" (id ", field.field_id, ") holds an Avro ",
                       avro::ValueKindName(kind), " value where ", type.ToString(), " was expected");
  };
  switch (type.id) {
    case TypeId::kBoolean:
      if (kind != ValueKind::kBoolean) return wrong();
      return std::string(1, value.boolean() ? '\x01' : '\x00');
    case TypeId::kInt:
    case TypeId::kDate:
      if (!integral || value.int64() != static_cast<int32_t>(value.int64())) return wrong();
      return LittleEndian(static_cast<uint32_t>(value.int64()), 4);
    case TypeId::kLong:
    case TypeId::kTime:
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz:
      if (!integral) return wrong();
      return LittleEndian(static_cast<uint64_t>(value.int64()), 8);
    case TypeId::kFloat:
      if (kind != ValueKind::kFloat) return wrong();
      return LittleEndian(std::bit_cast<uint32_t>(static_cast<float>(value.real())), 4);
    case TypeId::kDouble:
      if (kind != ValueKind::kFloat && kind != ValueKind::kDouble) return wrong();
      return LittleEndian(std::bit_cast<uint64_t>(value.real()), 8);
    case TypeId::kString:
    case TypeId::kBinary:
      if (!binary) return wrong();
      return value.bytes();
    case TypeId::kUuid:
    case TypeId::kFixed: {
      const size_t size = type.id == TypeId::kUuid ? 16 : static_cast<size_t>(type.length);
      if (!binary || value.bytes().size() != size) return wrong();
      return value.bytes();
    }
    case TypeId::kDecimal:
      if (!binary || value.bytes().empty()) return wrong();
      return MinimalTwosComplement(value.bytes());
  }
  return wrong();
}

// ---------------------------------------------------------------------------
// Encoding helpers

// Fills a record by field id, so values never depend on the order fields
// appear in the schema JSON. Unset fields stay null; a required one then
// fails encoding with InvalidArgument naming it.
class RecordBuilder {
 public:
  explicit RecordBuilder(const Node& node) : node_(node), fields_(node.fields.size()) {}

  void Set(SpecField field, Value value) {
    int index = node_.FindFieldById(field.id);
    if (index >= 0) fields_[index] = std::move(value);
  }
  // The non-null schema of a field: records, arrays of records.
  const Node& Child(SpecField field) const {
    static const Node kNull;
    int index = node_.FindFieldById(field.id);
    if (index < 0) return kNull;
    const Node* node = node_.fields[index].type.get();
    if (node->type == avro::Type::kUnion && node->branches.size() == 2) node = node->branches[1].get();
    if (node->type == avro::Type::kArray) node = node->items.get();
    return *node;
  }
  Value Build() { return Value::Record(std::move(fields_)); }

 private:
  const Node& node_;
  std::vector<Value> fields_;
};

Value OptionalLong(const std::optional<int64_t>& value) { return value ? Value::Long(*value) : Value::Null(); }

// Empty maps are written as null, as Java does when a metric is not collected.
Value LongMapValue(const std::map<int32_t, int64_t>& map) {
  if (map.empty()) return Value::Null();
  std::vector<Value> items;
  for (const auto& [key, value] : map) items.push_back(Value::Record({Value::Int(key), Value::Long(value)}));
  return Value::Array(std::move(items));
}

Value BytesMapValue(const std::map<int32_t, std::string>& map) {
  if (map.empty()) return Value::Null();
  std::vector<Value> items;
  for (const auto& [key, value] : map) items.push_back(Value::Record({Value::Int(key), Value::Bytes(value)}));
  return Value::Array(std::move(items));
}

template <typename T>
Value ListValue(const std::vector<T>& list) {
  if (list.empty()) return Value::Null();
  std::vector<Value> items;
  for (T item : list) items.push_back(sizeof(T) == 4 ? Value::Int(static_cast<int32_t>(item)) : Value::Long(item));
  return Value::Array(std::move(items));
}

Status CheckEntry(const ManifestEntry& entry, ManifestContent content, size_t partition_fields, size_t index) {
  const DataFile& file = entry.data_file;
  auto where = [&]() { return "manifest entry " + std::to_string(index) + " (" + file.file_path + ")"; };
  if (entry.status != ManifestEntryStatus::kAdded && (!entry.sequence_number || !entry.file_sequence_number)) {
    return InvalidArgument(where(), ": only entries with status ADDED can have null sequence numbers");
  }
  const int status = static_cast<int>(entry.status);
  const int file_content = static_cast<int>(file.content);
  if (status < 0 || status > 2) return InvalidArgument(where(), ": invalid status ", status);
  if (file_content < 0 || file_content > 2) return InvalidArgument(where(), ": invalid content ", file_content);
  if ((content == ManifestContent::kData) != (file.content == DataFileContent::kData)) {
    return InvalidArgument(where(), ": data and delete files cannot share a manifest");
  }
  if (file.partition.size() != partition_fields) {
    return InvalidArgument(where(), ": has ", file.partition.size(), " partition values but the spec has ",
                           partition_fields, " fields");
  }
  if (file.record_count < 0 || file.file_size_in_bytes < 0) {
    return InvalidArgument(where(), ": negative record count or file size");
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------
// Decoding helpers

Status WrongType(const Value& value, const std::string& where, const char* expected) {
  return CorruptData(where, " holds an Avro ", avro::ValueKindName(value.kind()), " where ", expected, " was expected");
}

Result<int64_t> ToLong(const Value& v, const std::string& where) {
  if (v.kind() != ValueKind::kInt && v.kind() != ValueKind::kLong) return WrongType(v, where, "long");
  return v.int64();
}

Result<int32_t> ToInt(const Value& v, const std::string& where) {
  if ((v.kind() != ValueKind::kInt && v.kind() != ValueKind::kLong) || v.int64() != static_cast<int32_t>(v.int64())) {
    return WrongType(v, where, "int");
  }
  return v.int32();
}

Result<bool> ToBoolean(const Value& v, const std::string& where) {
  if (v.kind() != ValueKind::kBoolean) return WrongType(v, where, "boolean");
  return v.boolean();
}

Result<std::string> ToBytes(const Value& v, const std::string& where) {
  if (v.kind() != ValueKind::kBytes && v.kind() != ValueKind::kString && v.kind() != ValueKind::kFixed) {
    return WrongType(v, where, "bytes or string");
  }
  return v.bytes();
}

template <typename T>
using Converter = Result<T> (*)(const Value&, const std::string&);

// A decoded record with the writer schema that decoded it. Fields are found by
// field id; a field without an id is matched by name (older writers).
class RecordView {
 public:
  RecordView(const Node& schema, const Value& value, std::string what)
      : schema_(&schema), value_(&value), what_(std::move(what)) {}

  // Null when the field is absent or null. `schema` receives the branch-resolved schema.
  const Value* Find(SpecField field, const Node** schema = nullptr) const {
    int index = schema_->FindFieldById(field.id);
    if (index < 0) {
      index = schema_->FindFieldByName(field.name);
      if (index >= 0 && schema_->fields[index].field_id) index = -1;
    }
    if (index < 0 || static_cast<size_t>(index) >= value_->items().size()) return nullptr;
    const Value& value = value_->items()[index];
    if (value.is_null()) return nullptr;
    if (schema) *schema = &avro::ResolveBranch(*schema_->fields[index].type, value);
    return &value;
  }

  template <typename T>
  Result<std::optional<T>> Get(SpecField field, Converter<T> convert) const {
    const Value* value = Find(field);
    if (!value) return std::optional<T>();
    ARROW_ASSIGN_OR_RAISE(T out, convert(*value, Where(field)));
    return std::optional<T>(std::move(out));
  }

  template <typename T>
  Result<T> Require(SpecField field, Converter<T> convert) const {
    ARROW_ASSIGN_OR_RAISE(std::optional<T> out, Get<T>(field, convert));
    if (!out) return Missing(field);
    return std::move(*out);
  }

  // Required since v2; v1 files predate the field, which then reads as `v1_default`.
  template <typename T>
  Result<T> RequireSinceV2(SpecField field, Converter<T> convert, bool v1, T v1_default) const {
    ARROW_ASSIGN_OR_RAISE(std::optional<T> out, Get<T>(field, convert));
    if (out) return std::move(*out);
    if (v1) return v1_default;
    return Missing(field);
  }

  // A required count or size, which cannot be negative.
  template <typename T>
  Result<T> Count(SpecField field, Converter<T> convert) const {
    ARROW_ASSIGN_OR_RAISE(T value, Require<T>(field, convert));
    if (value < 0) return CorruptData(Where(field), " is negative: ", value);
    return value;
  }

  Result<RecordView> Record(SpecField field) const {
    const Node* schema = nullptr;
    const Value* value = Find(field, &schema);
    if (!value) return Missing(field);
    if (value->kind() != ValueKind::kRecord) return WrongType(*value, Where(field), "record");
    return RecordView(*schema, *value, Where(field));
  }

  // The elements of an optional array field of records; empty when null.
  Result<std::vector<RecordView>> Records(SpecField field) const {
    std::vector<RecordView> out;
    const Node* schema = nullptr;
    const Value* value = Find(field, &schema);
    if (!value) return out;
    if (value->kind() != ValueKind::kArray) return WrongType(*value, Where(field), "array");
    for (const Value& item : value->items()) {
      if (item.kind() != ValueKind::kRecord) return WrongType(item, Where(field), "array of records");
      out.emplace_back(avro::ResolveBranch(*schema->items, item), item, Where(field) + "[]");
    }
    return out;
  }

  template <typename T>
  Result<std::vector<T>> List(SpecField field, Converter<T> convert) const {
    std::vector<T> out;
    const Value* value = Find(field);
    if (!value) return out;
    if (value->kind() != ValueKind::kArray) return WrongType(*value, Where(field), "array");
    for (const Value& item : value->items()) {
      ARROW_ASSIGN_OR_RAISE(T converted, convert(item, Where(field) + "[]"));
      out.push_back(std::move(converted));
    }
    return out;
  }

  template <typename T>
  Result<std::map<int32_t, T>> IntKeyedMap(const MapRef& map, Converter<T> convert) const {
    ARROW_ASSIGN_OR_RAISE(std::vector<RecordView> pairs, Records(map.field));
    std::map<int32_t, T> out;
    for (const RecordView& pair : pairs) {
      ARROW_ASSIGN_OR_RAISE(int32_t key, pair.Require<int32_t>({map.key_id, "key"}, ToInt));
      ARROW_ASSIGN_OR_RAISE(T value, pair.Require<T>({map.value_id, "value"}, convert));
      if (!out.emplace(key, std::move(value)).second) {
        return CorruptData(Where(map.field), " repeats key ", key);
      }
    }
    return out;
  }

  const std::string& what() const { return what_; }

 private:
  std::string Where(SpecField field) const { return what_ + "." + field.name; }
  Status Missing(SpecField field) const {
    return CorruptData(what_, " lacks required field ", field.name, " (id ", field.id, ")");
  }

  const Node* schema_;
  const Value* value_;
  std::string what_;
};

// The Iceberg type an Avro partition field was written as (Appendix A in reverse).
Result<Type> IcebergTypeFromAvro(const Node& written) {
  const Node* node = &written;
  for (const auto& branch : written.branches) {
    if (branch->type != avro::Type::kNull) node = branch.get();
  }
  const std::string& logical = node->logical_type;
  switch (node->type) {
    case avro::Type::kBoolean: return Type::Of(TypeId::kBoolean);
    case avro::Type::kInt: return Type::Of(logical == "date" ? TypeId::kDate : TypeId::kInt);
    case avro::Type::kLong:
      if (logical == "time-micros") return Type::Of(TypeId::kTime);
      if (logical != "timestamp-micros") return Type::Of(TypeId::kLong);
      return Type::Of(node->adjust_to_utc.value_or(false) ? TypeId::kTimestampTz : TypeId::kTimestamp);
    case avro::Type::kFloat: return Type::Of(TypeId::kFloat);
    case avro::Type::kDouble: return Type::Of(TypeId::kDouble);
    case avro::Type::kString: return Type::Of(TypeId::kString);
    case avro::Type::kBytes:
    case avro::Type::kFixed:
      if (logical == "decimal") return Type::Decimal(node->precision, node->scale);
      if (node->type == avro::Type::kBytes) return Type::Of(TypeId::kBinary);
      if (logical == "uuid") return Type::Of(TypeId::kUuid);
      return Type::Fixed(static_cast<int32_t>(node->size));
    default: return CorruptData("manifest partition field has unsupported Avro type ", avro::TypeName(node->type));
  }
}

struct PartitionSlot {
  const PartitionField* field;
  Type type;
};

Result<ManifestEntry> DecodeEntry(const RecordView& entry, bool v1, const std::vector<PartitionSlot>& slots) {
  ManifestEntry out;
  ARROW_ASSIGN_OR_RAISE(int32_t status, entry.Require<int32_t>(kStatus, ToInt));
  if (status < 0 || status > 2) return CorruptData(entry.what(), " has invalid status ", status);
  out.status = static_cast<ManifestEntryStatus>(status);
  ARROW_ASSIGN_OR_RAISE(out.snapshot_id, entry.Get<int64_t>(kSnapshotId, ToLong));
  ARROW_ASSIGN_OR_RAISE(out.sequence_number, entry.Get<int64_t>(kSequenceNumber, ToLong));
  ARROW_ASSIGN_OR_RAISE(out.file_sequence_number, entry.Get<int64_t>(kFileSequenceNumber, ToLong));

  ARROW_ASSIGN_OR_RAISE(RecordView file, entry.Record(kDataFile));
  DataFile& df = out.data_file;
  ARROW_ASSIGN_OR_RAISE(int32_t content, file.RequireSinceV2<int32_t>(kContent, ToInt, v1, 0));
  if (content < 0 || content > 2) return CorruptData(file.what(), " has invalid content ", content);
  df.content = static_cast<DataFileContent>(content);
  ARROW_ASSIGN_OR_RAISE(df.file_path, file.Require<std::string>(kFilePath, ToBytes));
  ARROW_ASSIGN_OR_RAISE(df.file_format, file.Require<std::string>(kFileFormat, ToBytes));
  ARROW_ASSIGN_OR_RAISE(RecordView partition, file.Record(kPartition));
  for (const PartitionSlot& slot : slots) {
    const Value* value = partition.Find({slot.field->field_id, slot.field->name.c_str()});
    if (!value) {
      df.partition.emplace_back(std::nullopt);
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(std::string bytes, PartitionValueFromAvro(slot.type, *value, *slot.field));
    df.partition.emplace_back(std::move(bytes));
  }
  ARROW_ASSIGN_OR_RAISE(df.record_count, file.Count<int64_t>(kRecordCount, ToLong));
  ARROW_ASSIGN_OR_RAISE(df.file_size_in_bytes, file.Count<int64_t>(kFileSizeInBytes, ToLong));
  ARROW_ASSIGN_OR_RAISE(df.column_sizes, file.IntKeyedMap<int64_t>(kColumnSizes, ToLong));
  ARROW_ASSIGN_OR_RAISE(df.value_counts, file.IntKeyedMap<int64_t>(kValueCounts, ToLong));
  ARROW_ASSIGN_OR_RAISE(df.null_value_counts, file.IntKeyedMap<int64_t>(kNullValueCounts, ToLong));
  ARROW_ASSIGN_OR_RAISE(df.nan_value_counts, file.IntKeyedMap<int64_t>(kNanValueCounts, ToLong));
  ARROW_ASSIGN_OR_RAISE(df.lower_bounds, file.IntKeyedMap<std::string>(kLowerBounds, ToBytes));
  ARROW_ASSIGN_OR_RAISE(df.upper_bounds, file.IntKeyedMap<std::string>(kUpperBounds, ToBytes));
  ARROW_ASSIGN_OR_RAISE(df.split_offsets, file.List<int64_t>(kSplitOffsets, ToLong));
  ARROW_ASSIGN_OR_RAISE(df.equality_ids, file.List<int32_t>(kEqualityIds, ToInt));
  ARROW_ASSIGN_OR_RAISE(df.sort_order_id, file.Get<int32_t>(kSortOrderId, ToInt));
  return out;
}

Result<avro::ContainerFile> ReadRootRecords(std::string_view bytes, const char* what) {
  ARROW_ASSIGN_OR_RAISE(avro::ContainerFile file, avro::ReadContainerFile(bytes));
  if (file.schema->type != avro::Type::kRecord) {
    return CorruptData(what, " schema is an Avro ", avro::TypeName(file.schema->type), ", not a record");
  }
  return file;
}

bool IsV1(const avro::ContainerFile& file) {
  auto it = file.metadata.find("format-version");
  return it != file.metadata.end() && it->second == "1";
}

}  // namespace

namespace {

struct WriterSchema {
  std::string json;
  avro::NodePtr root;
};

// The manifest-entry schema of a partition record, built and parsed once per
// process: every small commit writes a manifest, and building the schema
// JSON and parsing it back cost more than encoding a one-file manifest.
Result<WriterSchema> EntrySchemaFor(ojson partition_record) {
  static std::mutex mutex;
  static std::map<std::string, WriterSchema> cache;
  std::string key = Dump(partition_record);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  WriterSchema built;
  built.json = Dump(ManifestEntrySchemaJson(std::move(partition_record)));
  ARROW_ASSIGN_OR_RAISE(built.root, avro::ParseSchema(built.json));
  std::lock_guard<std::mutex> lock(mutex);
  if (cache.size() >= 64) cache.clear();  // many tables of many specs: start over
  cache.emplace(std::move(key), built);
  return built;
}

}  // namespace

Result<std::string> EncodeManifest(const Schema& schema, const PartitionSpec& spec, ManifestContent content,
                                   const std::vector<ManifestEntry>& entries, AvroCodec codec) {
  std::vector<Type> types;
  ARROW_ASSIGN_OR_RAISE(ojson partition_record, PartitionRecordJson(schema, spec, &types));
  ARROW_ASSIGN_OR_RAISE(WriterSchema writer_schema, EntrySchemaFor(std::move(partition_record)));
  const std::string& schema_json = writer_schema.json;
  const avro::NodePtr& root = writer_schema.root;

  std::vector<Value> records;
  records.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const ManifestEntry& entry = entries[i];
    const DataFile& df = entry.data_file;
    ARROW_RETURN_NOT_OK(CheckEntry(entry, content, spec.fields.size(), i));
    RecordBuilder record(*root);
    record.Set(kStatus, Value::Int(static_cast<int32_t>(entry.status)));
    record.Set(kSnapshotId, OptionalLong(entry.snapshot_id));
    record.Set(kSequenceNumber, OptionalLong(entry.sequence_number));
    record.Set(kFileSequenceNumber, OptionalLong(entry.file_sequence_number));

    RecordBuilder file(record.Child(kDataFile));
    RecordBuilder partition(file.Child(kPartition));
    for (size_t p = 0; p < spec.fields.size(); ++p) {
      const PartitionField& field = spec.fields[p];
      Value value;
      if (df.partition[p]) {
        ARROW_ASSIGN_OR_RAISE(value, PartitionValueToAvro(types[p], *df.partition[p], field));
      }
      partition.Set({field.field_id, ""}, std::move(value));
    }
    file.Set(kContent, Value::Int(static_cast<int32_t>(df.content)));
    file.Set(kFilePath, Value::String(df.file_path));
    file.Set(kFileFormat, Value::String(df.file_format));
    file.Set(kPartition, partition.Build());
    file.Set(kRecordCount, Value::Long(df.record_count));
    file.Set(kFileSizeInBytes, Value::Long(df.file_size_in_bytes));
    file.Set(kColumnSizes.field, LongMapValue(df.column_sizes));
    file.Set(kValueCounts.field, LongMapValue(df.value_counts));
    file.Set(kNullValueCounts.field, LongMapValue(df.null_value_counts));
    file.Set(kNanValueCounts.field, LongMapValue(df.nan_value_counts));
    file.Set(kLowerBounds.field, BytesMapValue(df.lower_bounds));
    file.Set(kUpperBounds.field, BytesMapValue(df.upper_bounds));
    file.Set(kSplitOffsets, ListValue(df.split_offsets));
    file.Set(kEqualityIds, ListValue(df.equality_ids));
    file.Set(kSortOrderId, df.sort_order_id ? Value::Int(*df.sort_order_id) : Value::Null());
    record.Set(kDataFile, file.Build());
    records.push_back(record.Build());
  }

  std::vector<std::pair<std::string, std::string>> metadata = {
      {"schema", SchemaToJsonString(schema)},
      {"schema-id", std::to_string(schema.schema_id)},
      {"partition-spec", PartitionFieldsToJsonString(spec)},
      {"partition-spec-id", std::to_string(spec.spec_id)},
      {"format-version", "2"},
      {"content", content == ManifestContent::kData ? "data" : "deletes"},
  };
  return avro::WriteContainerFile(schema_json, *root, metadata, records, codec);
}

Result<std::vector<ManifestEntry>> DecodeManifest(std::string_view bytes, const Schema& schema,
                                                  const PartitionSpec& spec) {
  ARROW_ASSIGN_OR_RAISE(avro::ContainerFile file, ReadRootRecords(bytes, "manifest"));
  if (auto it = file.metadata.find("partition-spec-id"); it != file.metadata.end()) {
    if (it->second != std::to_string(spec.spec_id)) {
      return CorruptData("manifest was written for partition spec ", it->second, ", not spec ", spec.spec_id);
    }
  }
  const Node* partition = nullptr;
  const int data_file_index = file.schema->FindFieldById(kDataFile.id);
  if (data_file_index >= 0 && file.schema->fields[data_file_index].type->type == avro::Type::kRecord) {
    const Node& data_file = *file.schema->fields[data_file_index].type;
    int p = data_file.FindFieldById(kPartition.id);
    if (p >= 0 && data_file.fields[p].type->type == avro::Type::kRecord) partition = data_file.fields[p].type.get();
  }
  std::vector<PartitionSlot> slots;
  for (const PartitionField& field : spec.fields) {
    const Node* written = nullptr;
    if (partition != nullptr) {
      // A spec field missing from the file means the file was written for
      // another spec; reading it as all-null would silently mis-prune.
      int index = partition->FindFieldById(field.field_id);
      if (index < 0) index = partition->FindFieldByName(field.name);
      if (index < 0) {
        return CorruptData("manifest partition record lacks field \"", field.name, "\" (id ", field.field_id, ")");
      }
      written = partition->fields[index].type.get();
    }
    auto type = PartitionResultType(schema, field);
    // The source column may have been dropped since; the file still says what it wrote.
    if (!type.ok() && written != nullptr) type = IcebergTypeFromAvro(*written);
    ARROW_RETURN_NOT_OK(type.status());
    slots.push_back({&field, *type});
  }

  const bool v1 = IsV1(file);
  std::vector<ManifestEntry> entries;
  entries.reserve(file.records.size());
  for (size_t i = 0; i < file.records.size(); ++i) {
    RecordView view(*file.schema, file.records[i], "manifest entry " + std::to_string(i));
    ARROW_ASSIGN_OR_RAISE(ManifestEntry entry, DecodeEntry(view, v1, slots));
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<std::string> EncodeManifestList(const ManifestListInfo& info, const std::vector<ManifestFile>& manifests,
                                       AvroCodec codec) {
  static const std::string schema_json = Dump(ManifestFileSchemaJson());
  static const Result<avro::NodePtr> parsed = avro::ParseSchema(schema_json);  // once per process
  ARROW_ASSIGN_OR_RAISE(avro::NodePtr root, parsed);
  std::vector<Value> records;
  records.reserve(manifests.size());
  for (const ManifestFile& m : manifests) {
    if (m.manifest_length < 0 || m.added_files_count < 0 || m.existing_files_count < 0 || m.deleted_files_count < 0 ||
        m.added_rows_count < 0 || m.existing_rows_count < 0 || m.deleted_rows_count < 0) {
      return InvalidArgument("manifest list entry ", m.manifest_path, " has a negative length or count");
    }
    RecordBuilder record(*root);
    record.Set(kManifestPath, Value::String(m.manifest_path));
    record.Set(kManifestLength, Value::Long(m.manifest_length));
    record.Set(kPartitionSpecId, Value::Int(m.partition_spec_id));
    record.Set(kListContent, Value::Int(static_cast<int32_t>(m.content)));
    record.Set(kListSequenceNumber, Value::Long(m.sequence_number));
    record.Set(kMinSequenceNumber, Value::Long(m.min_sequence_number));
    record.Set(kAddedSnapshotId, Value::Long(m.added_snapshot_id));
    record.Set(kAddedFilesCount, Value::Int(m.added_files_count));
    record.Set(kExistingFilesCount, Value::Int(m.existing_files_count));
    record.Set(kDeletedFilesCount, Value::Int(m.deleted_files_count));
    record.Set(kAddedRowsCount, Value::Long(m.added_rows_count));
    record.Set(kExistingRowsCount, Value::Long(m.existing_rows_count));
    record.Set(kDeletedRowsCount, Value::Long(m.deleted_rows_count));
    std::vector<Value> summaries;
    for (const FieldSummary& s : m.partitions) {
      RecordBuilder summary(record.Child(kPartitions));
      summary.Set(kContainsNull, Value::Boolean(s.contains_null));
      summary.Set(kContainsNan, s.contains_nan ? Value::Boolean(*s.contains_nan) : Value::Null());
      summary.Set(kLowerBound, s.lower_bound ? Value::Bytes(*s.lower_bound) : Value::Null());
      summary.Set(kUpperBound, s.upper_bound ? Value::Bytes(*s.upper_bound) : Value::Null());
      summaries.push_back(summary.Build());
    }
    // Unpartitioned manifests get an empty list, not null, like Java.
    record.Set(kPartitions, Value::Array(std::move(summaries)));
    records.push_back(record.Build());
  }
  std::vector<std::pair<std::string, std::string>> metadata = {
      {"snapshot-id", std::to_string(info.snapshot_id)},
      {"parent-snapshot-id", info.parent_snapshot_id ? std::to_string(*info.parent_snapshot_id) : "null"},
      {"sequence-number", std::to_string(info.sequence_number)},
      {"format-version", "2"},
  };
  return avro::WriteContainerFile(schema_json, *root, metadata, records, codec);
}

Result<std::vector<ManifestFile>> DecodeManifestList(std::string_view bytes) {
  ARROW_ASSIGN_OR_RAISE(avro::ContainerFile file, ReadRootRecords(bytes, "manifest list"));
  const bool v1 = IsV1(file);
  std::vector<ManifestFile> out;
  out.reserve(file.records.size());
  for (size_t i = 0; i < file.records.size(); ++i) {
    RecordView view(*file.schema, file.records[i], "manifest list entry " + std::to_string(i));
    ManifestFile m;
    ARROW_ASSIGN_OR_RAISE(m.manifest_path, view.Require<std::string>(kManifestPath, ToBytes));
    ARROW_ASSIGN_OR_RAISE(m.manifest_length, view.Count<int64_t>(kManifestLength, ToLong));
    ARROW_ASSIGN_OR_RAISE(m.partition_spec_id, view.Require<int32_t>(kPartitionSpecId, ToInt));
    // v1 lists predate content and sequence numbers; the spec reads them as 0.
    ARROW_ASSIGN_OR_RAISE(int32_t content, view.RequireSinceV2<int32_t>(kListContent, ToInt, v1, 0));
    if (content < 0 || content > 1) return CorruptData(view.what(), " has invalid content ", content);
    m.content = static_cast<ManifestContent>(content);
    ARROW_ASSIGN_OR_RAISE(m.sequence_number, view.RequireSinceV2<int64_t>(kListSequenceNumber, ToLong, v1, 0));
    ARROW_ASSIGN_OR_RAISE(m.min_sequence_number, view.RequireSinceV2<int64_t>(kMinSequenceNumber, ToLong, v1, 0));
    ARROW_ASSIGN_OR_RAISE(m.added_snapshot_id, view.Require<int64_t>(kAddedSnapshotId, ToLong));
    ARROW_ASSIGN_OR_RAISE(m.added_files_count, view.Count<int32_t>(kAddedFilesCount, ToInt));
    ARROW_ASSIGN_OR_RAISE(m.existing_files_count, view.Count<int32_t>(kExistingFilesCount, ToInt));
    ARROW_ASSIGN_OR_RAISE(m.deleted_files_count, view.Count<int32_t>(kDeletedFilesCount, ToInt));
    ARROW_ASSIGN_OR_RAISE(m.added_rows_count, view.Count<int64_t>(kAddedRowsCount, ToLong));
    ARROW_ASSIGN_OR_RAISE(m.existing_rows_count, view.Count<int64_t>(kExistingRowsCount, ToLong));
    ARROW_ASSIGN_OR_RAISE(m.deleted_rows_count, view.Count<int64_t>(kDeletedRowsCount, ToLong));
    ARROW_ASSIGN_OR_RAISE(std::vector<RecordView> summaries, view.Records(kPartitions));
    for (const RecordView& s : summaries) {
      FieldSummary summary;
      ARROW_ASSIGN_OR_RAISE(summary.contains_null, s.Require<bool>(kContainsNull, ToBoolean));
      ARROW_ASSIGN_OR_RAISE(summary.contains_nan, s.Get<bool>(kContainsNan, ToBoolean));
      ARROW_ASSIGN_OR_RAISE(summary.lower_bound, s.Get<std::string>(kLowerBound, ToBytes));
      ARROW_ASSIGN_OR_RAISE(summary.upper_bound, s.Get<std::string>(kUpperBound, ToBytes));
      m.partitions.push_back(std::move(summary));
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace datashard::format
