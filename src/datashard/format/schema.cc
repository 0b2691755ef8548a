#include "datashard/format/schema.h"

#include <charconv>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

namespace datashard {

namespace {

struct NamedType {
  const char* name;
  TypeId id;
};
constexpr NamedType kPrimitiveNames[] = {
    {"boolean", TypeId::kBoolean},
    {"int", TypeId::kInt},
    {"long", TypeId::kLong},
    {"float", TypeId::kFloat},
    {"double", TypeId::kDouble},
    {"date", TypeId::kDate},
    {"time", TypeId::kTime},
    {"timestamp", TypeId::kTimestamp},
    {"timestamptz", TypeId::kTimestampTz},
    {"string", TypeId::kString},
    {"uuid", TypeId::kUuid},
    {"binary", TypeId::kBinary},
};

}  // namespace

std::string Type::ToString() const {
  switch (id) {
    case TypeId::kFixed: return "fixed[" + std::to_string(length) + "]";
    // "decimal(9, 2)" with one space: what Java and PyIceberg write and parse.
    case TypeId::kDecimal: return "decimal(" + std::to_string(precision) + ", " + std::to_string(scale) + ")";
    default:
      for (const auto& named : kPrimitiveNames) {
        if (named.id == id) return named.name;
      }
  }
  return "unknown";
}

Result<Type> Type::Parse(const std::string& text) {
  for (const auto& named : kPrimitiveNames) {
    if (text == named.name) return Type::Of(named.id);
  }
  static const std::regex kFixed(R"(^fixed\[\s*(\d{1,9})\s*\]$)");
  static const std::regex kDecimal(R"(^decimal\(\s*(\d{1,2})\s*,\s*(\d{1,2})\s*\)$)");
  std::smatch match;
  if (std::regex_match(text, match, kFixed)) {
    int32_t length = std::stoi(match[1].str());
    if (length <= 0) return SchemaError("fixed length must be positive in type \"", text, "\"");
    return Type::Fixed(length);
  }
  if (std::regex_match(text, match, kDecimal)) {
    int32_t precision = std::stoi(match[1].str());
    int32_t scale = std::stoi(match[2].str());
    if (precision < 1 || precision > 38 || scale > precision) {
      return SchemaError("decimal precision must be 1..38 and scale <= precision, got \"", text, "\"");
    }
    return Type::Decimal(precision, scale);
  }
  return SchemaError("unknown or unsupported type \"", text,
                     "\" (supported: boolean, int, long, float, double, date, time, timestamp, timestamptz, "
                     "string, uuid, binary, fixed[L], decimal(P, S))");
}

const NestedField* Schema::FindField(int32_t id) const {
  for (const auto& field : fields) {
    if (field.id == id) return &field;
  }
  return nullptr;
}

const NestedField* Schema::FindField(const std::string& name) const {
  for (const auto& field : fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

int32_t Schema::HighestFieldId() const {
  int32_t highest = 0;
  for (const auto& field : fields) highest = std::max(highest, field.id);
  return highest;
}

// An empty schema is valid: it is the schema of a table created without one,
// until its first append sets it (SetInitialSchema).
Status Schema::Validate() const {
  std::set<int32_t> ids;
  std::set<std::string> names;
  for (const auto& field : fields) {
    if (field.id <= 0) return SchemaError("field \"", field.name, "\" has id ", field.id, "; ids must be positive");
    if (field.name.empty()) return SchemaError("field ", field.id, " has an empty name");
    if (!ids.insert(field.id).second) return SchemaError("duplicate field id ", field.id);
    if (!names.insert(field.name).second) return SchemaError("duplicate field name \"", field.name, "\"");
  }
  for (int32_t id : identifier_field_ids) {
    const NestedField* field = FindField(id);
    if (field == nullptr) return SchemaError("identifier field id ", id, " is not in the schema");
    if (!field->required || field->type.id == TypeId::kFloat || field->type.id == TypeId::kDouble) {
      return SchemaError("identifier field \"", field->name, "\" must be required and not float/double");
    }
  }
  return Status::OK();
}

std::string Schema::DescribeDifference(const Schema& other) const {
  auto describe = [](const NestedField& f) {
    return "\"" + f.name + "\" (id " + std::to_string(f.id) + ", " + f.type.ToString() +
           (f.required ? ", required)" : ", optional)");
  };
  for (const auto& field : fields) {
    const NestedField* theirs = other.FindField(field.id);
    if (theirs == nullptr) return "field " + describe(field) + " is missing from the given schema";
    if (theirs->name != field.name || theirs->type != field.type || theirs->required != field.required) {
      return "table has " + describe(field) + ", given schema has " + describe(*theirs);
    }
  }
  for (const auto& field : other.fields) {
    if (FindField(field.id) == nullptr) return "given schema has extra field " + describe(field);
  }
  return "";
}

}  // namespace datashard

namespace datashard::format {

nlohmann::json SchemaToJson(const Schema& schema) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& field : schema.fields) {
    nlohmann::json json = {
        {"id", field.id}, {"name", field.name}, {"required", field.required}, {"type", field.type.ToString()}};
    if (!field.doc.empty()) json["doc"] = field.doc;
    fields.push_back(std::move(json));
  }
  nlohmann::json json = {{"type", "struct"}, {"schema-id", schema.schema_id}, {"fields", std::move(fields)}};
  if (!schema.identifier_field_ids.empty()) json["identifier-field-ids"] = schema.identifier_field_ids;
  return json;
}

Result<Schema> SchemaFromJson(const nlohmann::json& json) {
  if (!json.is_object() || json.value("type", "") != "struct" || !json.contains("fields") ||
      !json["fields"].is_array()) {
    return CorruptData("schema JSON is not a struct with a fields array");
  }
  Schema schema;
  if (json.contains("schema-id")) {
    if (!json["schema-id"].is_number_integer()) return CorruptData("schema-id is not an integer");
    schema.schema_id = json["schema-id"].get<int32_t>();
  }
  for (const auto& field_json : json["fields"]) {
    if (!field_json.is_object() || !field_json.contains("id") || !field_json["id"].is_number_integer() ||
        !field_json.contains("name") || !field_json["name"].is_string() || !field_json.contains("type")) {
      return CorruptData("schema field lacks id, name or type: ", field_json.dump().substr(0, 200));
    }
    NestedField field;
    field.id = field_json["id"].get<int32_t>();
    field.name = field_json["name"].get<std::string>();
    if (!field_json["type"].is_string()) {
      return CorruptData("field \"", field.name, "\" has a nested type; nested types are not supported yet");
    }
    auto type = Type::Parse(field_json["type"].get<std::string>());
    if (!type.ok()) return CorruptData("field \"", field.name, "\": ", type.status().message());
    field.type = *type;
    field.required = field_json.value("required", false);
    if (field_json.contains("doc") && field_json["doc"].is_string()) field.doc = field_json["doc"].get<std::string>();
    schema.fields.push_back(std::move(field));
  }
  if (json.contains("identifier-field-ids") && json["identifier-field-ids"].is_array()) {
    for (const auto& id : json["identifier-field-ids"]) {
      if (!id.is_number_integer()) return CorruptData("identifier-field-ids holds a non-integer");
      schema.identifier_field_ids.push_back(id.get<int32_t>());
    }
  }
  Status valid = schema.Validate();
  if (!valid.ok()) return CorruptData("invalid schema in metadata: ", valid.message());
  return schema;
}

}  // namespace datashard::format

namespace datashard {

std::string SchemaToJsonString(const Schema& schema) { return format::SchemaToJson(schema).dump(); }

Result<Schema> SchemaFromJsonString(std::string_view json) {
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded()) return SchemaError("schema JSON is not valid JSON");
  return format::SchemaFromJson(parsed);
}

}  // namespace datashard
