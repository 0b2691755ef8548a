#include "datashard/format/sort_order.h"

#include <nlohmann/json.hpp>

#include "datashard/format/partition_spec.h"

namespace datashard {

Status SortOrder::Validate(const Schema& schema) const {
  if (opaque) return SchemaError("sort order ", order_id, " has fields this engine cannot read: ", verbatim_json);
  for (const auto& field : fields) {
    const NestedField* source = schema.FindField(field.source_id);
    if (source == nullptr) {
      return SchemaError("sort field refers to source column id ", field.source_id,
                         ", which is not a column of the schema");
    }
    if (field.transform == "void") {
      return SchemaError("sort field on \"", source->name, "\": the void transform orders nothing");
    }
    // The transforms that may sort are the partition transforms; their
    // result types say which apply to which column types.
    PartitionField as_partition{field.source_id, format::kFirstPartitionFieldId, source->name, field.transform};
    auto result_type = format::PartitionResultType(schema, as_partition);
    if (!result_type.ok()) {
      return SchemaError("cannot sort by ", field.transform, "(\"", source->name,
                         "\"): ", result_type.status().message());
    }
  }
  return Status::OK();
}

Result<SortOrder> BindSortOrder(const Schema& schema, const std::vector<SortTerm>& terms) {
  SortOrder order;
  for (const auto& term : terms) {
    const NestedField* source = schema.FindField(term.column);
    if (source == nullptr) {
      std::string columns;
      for (const auto& field : schema.fields) columns += (columns.empty() ? "" : ", ") + field.name;
      return SchemaError("cannot sort by \"", term.column, "\": no such column (the table has: ", columns, ")");
    }
    for (const auto& earlier : order.fields) {
      if (earlier.source_id == source->id && earlier.transform == term.transform) {
        return SchemaError("sort order names ", term.transform, "(\"", term.column, "\") twice");
      }
    }
    SortField field;
    field.source_id = source->id;
    field.transform = term.transform.empty() ? "identity" : term.transform;
    field.direction = term.direction;
    field.null_order = term.null_order.value_or(format::DefaultNullOrder(term.direction));
    order.fields.push_back(std::move(field));
  }
  ARROW_RETURN_NOT_OK(order.Validate(schema));
  return order;
}

}  // namespace datashard

namespace datashard::format {

using nlohmann::json;

const char* SortDirectionName(SortDirection direction) {
  return direction == SortDirection::kAscending ? "asc" : "desc";
}

const char* NullOrderName(NullOrder order) { return order == NullOrder::kNullsFirst ? "nulls-first" : "nulls-last"; }

NullOrder DefaultNullOrder(SortDirection direction) {
  return direction == SortDirection::kAscending ? NullOrder::kNullsFirst : NullOrder::kNullsLast;
}

namespace {

json FieldsToJson(const SortOrder& order) {
  json fields = json::array();
  for (const auto& field : order.fields) {
    fields.push_back({{"transform", field.transform},
                      {"source-id", field.source_id},
                      {"direction", SortDirectionName(field.direction)},
                      {"null-order", NullOrderName(field.null_order)}});
  }
  return fields;
}

// The fields of `j` as this engine models them; nullopt for anything else.
std::optional<SortField> ReadField(const json& j) {
  if (!j.is_object()) return std::nullopt;
  auto source = j.find("source-id");
  auto transform = j.find("transform");
  auto direction = j.find("direction");
  auto nulls = j.find("null-order");
  if (source == j.end() || !source->is_number_integer() || transform == j.end() || !transform->is_string() ||
      direction == j.end() || !direction->is_string() || nulls == j.end() || !nulls->is_string()) {
    return std::nullopt;
  }
  const int64_t id = source->get<int64_t>();
  if (id < INT32_MIN || id > INT32_MAX) return std::nullopt;
  SortField field;
  field.source_id = static_cast<int32_t>(id);
  field.transform = transform->get<std::string>();
  const std::string dir = direction->get<std::string>();
  const std::string null_order = nulls->get<std::string>();
  if (dir != "asc" && dir != "desc") return std::nullopt;
  if (null_order != "nulls-first" && null_order != "nulls-last") return std::nullopt;
  field.direction = dir == "asc" ? SortDirection::kAscending : SortDirection::kDescending;
  field.null_order = null_order == "nulls-first" ? NullOrder::kNullsFirst : NullOrder::kNullsLast;
  return field;
}

}  // namespace

json SortOrderToJson(const SortOrder& order) {
  if (!order.verbatim_json.empty()) {
    json kept = json::parse(order.verbatim_json, nullptr, /*allow_exceptions=*/false);
    if (!kept.is_discarded()) return kept;
  }
  return {{"order-id", order.order_id}, {"fields", FieldsToJson(order)}};
}

Result<SortOrder> SortOrderFromJson(const json& j) {
  if (!j.is_object()) return CorruptData("sort order is not a JSON object: ", j.dump().substr(0, 200));
  auto id = j.find("order-id");
  if (id == j.end() || !id->is_number_integer() || id->get<int64_t>() < INT32_MIN || id->get<int64_t>() > INT32_MAX) {
    return CorruptData("sort order lacks an integer order-id: ", j.dump().substr(0, 200));
  }
  SortOrder order;
  order.order_id = id->get<int32_t>();
  auto fields = j.find("fields");
  if (fields != j.end() && fields->is_array()) {
    for (const auto& f : *fields) {
      auto field = ReadField(f);
      if (!field) {
        order.opaque = true;
        order.fields.clear();
        break;
      }
      order.fields.push_back(std::move(*field));
    }
  } else {
    order.opaque = true;
  }
  // Whatever the model above does not carry (other keys, other spellings)
  // survives by keeping the order as read.
  if (order.opaque || SortOrderToJson(order) != j) order.verbatim_json = j.dump();
  return order;
}

}  // namespace datashard::format

namespace datashard {

std::string SortOrderToJsonString(const SortOrder& order) { return format::SortOrderToJson(order).dump(); }

Result<SortOrder> SortOrderFromJsonString(std::string_view text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded()) return SchemaError("sort order JSON is not valid JSON");
  return format::SortOrderFromJson(parsed);
}

}  // namespace datashard
