#include "datashard/format/sort_order.h"

#include <algorithm>

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

json SortTermsToJson(const std::vector<SortTerm>& terms) {
  json out = json::array();
  for (const auto& term : terms) {
    out.push_back({term.column, term.transform, SortDirectionName(term.direction),
                   term.null_order ? json(NullOrderName(*term.null_order)) : json(nullptr)});
  }
  return out;
}

Result<std::vector<SortTerm>> SortTermsFromJson(const json& j) {
  std::vector<SortTerm> out;
  auto bad = [&] { return CorruptData("sort terms are malformed: ", j.dump().substr(0, 200)); };
  if (!j.is_array()) return bad();
  for (const auto& t : j) {
    if (!t.is_array() || t.size() != 4 || !t[0].is_string() || !t[1].is_string() || !t[2].is_string()) return bad();
    SortTerm term;
    term.column = t[0].get<std::string>();
    term.transform = t[1].get<std::string>();
    const std::string direction = t[2].get<std::string>();
    if (direction != "asc" && direction != "desc") return bad();
    term.direction = direction == "asc" ? SortDirection::kAscending : SortDirection::kDescending;
    if (t[3].is_string()) {
      const std::string nulls = t[3].get<std::string>();
      if (nulls != "nulls-first" && nulls != "nulls-last") return bad();
      term.null_order = nulls == "nulls-first" ? NullOrder::kNullsFirst : NullOrder::kNullsLast;
    } else if (!t[3].is_null()) {
      return bad();
    }
    out.push_back(std::move(term));
  }
  return out;
}

TableMetadata WithDefaultSortOrder(const TableMetadata& metadata, SortOrder order) {
  TableMetadata m = metadata;
  if (m.SortOrderById(kUnsortedOrderId) == nullptr) m.sort_orders.insert(m.sort_orders.begin(), SortOrder{});
  if (order.unsorted()) {
    m.default_sort_order_id = kUnsortedOrderId;
    return m;
  }
  int32_t next_id = kUnsortedOrderId + 1;
  for (const auto& existing : m.sort_orders) {
    // Ids are never reused for other fields: group commit's glance
    // (commit/group_commit.h) takes equal ids for equal orders.
    if (!existing.opaque && !existing.unsorted() && existing.fields == order.fields) {
      m.default_sort_order_id = existing.order_id;
      return m;
    }
    next_id = std::max(next_id, existing.order_id + 1);
  }
  order.order_id = next_id;
  order.verbatim_json.clear();
  m.sort_orders.push_back(std::move(order));
  m.default_sort_order_id = next_id;
  return m;
}

}  // namespace datashard::format

namespace datashard {

std::string SortOrderToJsonString(const SortOrder& order) { return format::SortOrderToJson(order).dump(); }

Result<SortOrder> SortOrderFromJsonString(std::string_view json) {
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded()) return SchemaError("sort order JSON is not valid JSON");
  return format::SortOrderFromJson(parsed);
}

}  // namespace datashard
