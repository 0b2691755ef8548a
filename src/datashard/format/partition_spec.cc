#include "datashard/format/partition_spec.h"

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

namespace datashard {

int32_t PartitionSpec::LastFieldId() const {
  int32_t last = format::kUnpartitionedLastPartitionId;
  for (const auto& field : fields) last = std::max(last, field.field_id);
  return last;
}

Status PartitionSpec::Validate(const Schema& schema) const {
  std::set<std::string> names;
  std::set<int32_t> ids;
  for (const auto& field : fields) {
    if (schema.FindField(field.source_id) == nullptr) {
      return SchemaError("partition field \"", field.name, "\" refers to source column id ", field.source_id,
                         ", which is not a column of the schema");
    }
    if (field.field_id < format::kFirstPartitionFieldId) {
      return SchemaError("partition field ids count from 1000, got ", field.field_id);
    }
    if (!names.insert(field.name).second) return SchemaError("duplicate partition field name \"", field.name, "\"");
    if (!ids.insert(field.field_id).second) return SchemaError("duplicate partition field id ", field.field_id);
    ARROW_RETURN_NOT_OK(format::PartitionResultType(schema, field).status());
  }
  return Status::OK();
}

}  // namespace datashard

namespace datashard::format {

Result<Type> PartitionResultType(const Schema& schema, const PartitionField& field) {
  const NestedField* source = schema.FindField(field.source_id);
  if (source == nullptr) return SchemaError("partition source column id ", field.source_id, " not in schema");
  const std::string& t = field.transform;
  const TypeId id = source->type.id;
  const bool temporal = id == TypeId::kDate || id == TypeId::kTimestamp || id == TypeId::kTimestampTz;
  const bool has_time = id == TypeId::kTimestamp || id == TypeId::kTimestampTz;
  static const std::regex kBucket(R"(^bucket\[(\d+)\]$)");
  static const std::regex kTruncate(R"(^truncate\[(\d+)\]$)");
  // The parameter as the transforms parse it: 1..999,999,999 (0 would divide by zero).
  auto positive = [](const std::smatch& match) {
    const std::string digits = match[1].str();
    return digits.size() <= 9 && std::stoll(digits) > 0;
  };
  std::smatch match;
  if (t == "identity") return source->type;
  if (t == "void") return source->type;
  if (std::regex_match(t, match, kBucket)) {
    if (!positive(match)) return SchemaError(t, " needs a positive modulus (a bucket count from 1 to 999999999)");
    if (id == TypeId::kBoolean || id == TypeId::kFloat || id == TypeId::kDouble) {
      return SchemaError("bucket cannot partition ", source->type.ToString(), " column \"", source->name,
                         "\" (bucket is not defined for type ", source->type.ToString(), ")");
    }
    return Type::Of(TypeId::kInt);
  }
  if (std::regex_match(t, match, kTruncate)) {
    if (!positive(match)) return SchemaError(t, " needs a positive width (from 1 to 999999999)");
    if (id != TypeId::kInt && id != TypeId::kLong && id != TypeId::kString && id != TypeId::kBinary &&
        id != TypeId::kDecimal) {
      return SchemaError("truncate cannot partition ", source->type.ToString(), " column \"", source->name, "\"");
    }
    return source->type;
  }
  if (t == "year" || t == "month" || t == "day") {
    if (!temporal) return SchemaError(t, " needs a date or timestamp column, \"", source->name, "\" is not");
    return t == "day" ? Type::Of(TypeId::kDate) : Type::Of(TypeId::kInt);
  }
  if (t == "hour") {
    if (!has_time) return SchemaError("hour needs a timestamp column, \"", source->name, "\" is not");
    return Type::Of(TypeId::kInt);
  }
  return SchemaError("unsupported partition transform \"", t,
                     "\" (identity, bucket[N], truncate[W], year, month, day, hour or void)");
}

namespace {
nlohmann::json FieldsToJson(const PartitionSpec& spec) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& field : spec.fields) {
    fields.push_back({{"name", field.name},
                      {"transform", field.transform},
                      {"source-id", field.source_id},
                      {"field-id", field.field_id}});
  }
  return fields;
}
}  // namespace

nlohmann::json PartitionSpecToJson(const PartitionSpec& spec) {
  return {{"spec-id", spec.spec_id}, {"fields", FieldsToJson(spec)}};
}

std::string PartitionFieldsToJsonString(const PartitionSpec& spec) { return FieldsToJson(spec).dump(); }

Result<PartitionSpec> PartitionSpecFromJson(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("fields") || !json["fields"].is_array()) {
    return CorruptData("partition spec JSON lacks a fields array");
  }
  PartitionSpec spec;
  if (json.contains("spec-id") && json["spec-id"].is_number_integer()) spec.spec_id = json["spec-id"].get<int32_t>();
  for (const auto& f : json["fields"]) {
    if (!f.is_object() || !f.contains("source-id") || !f["source-id"].is_number_integer() || !f.contains("transform") ||
        !f["transform"].is_string() || !f.contains("name") || !f["name"].is_string()) {
      return CorruptData("malformed partition field: ", f.dump().substr(0, 200));
    }
    PartitionField field;
    field.source_id = f["source-id"].get<int32_t>();
    field.name = f["name"].get<std::string>();
    field.transform = f["transform"].get<std::string>();
    field.field_id = f.contains("field-id") && f["field-id"].is_number_integer()
                         ? f["field-id"].get<int32_t>()
                         : kFirstPartitionFieldId + static_cast<int32_t>(spec.fields.size());
    spec.fields.push_back(std::move(field));
  }
  return spec;
}

}  // namespace datashard::format

namespace datashard {

std::string PartitionSpecToJsonString(const PartitionSpec& spec) { return format::PartitionSpecToJson(spec).dump(); }

Result<PartitionSpec> PartitionSpecFromJsonString(std::string_view json) {
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded()) return SchemaError("partition spec JSON is not valid JSON");
  return format::PartitionSpecFromJson(parsed);
}

}  // namespace datashard
