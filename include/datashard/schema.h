// Table schemas: Iceberg's primitive types and named, id-carrying columns
// (spec "Schemas and Data Types"). Every column has a stable field id; data
// files are matched to columns by id, never by name or position.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type_fwd.h>

#include "datashard/status.h"

namespace datashard {

enum class TypeId {
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kDate,
  kTime,
  kTimestamp,
  kTimestampTz,
  kString,
  kUuid,
  kBinary,
  kFixed,
  kDecimal,
};

struct Type {
  TypeId id = TypeId::kLong;
  int32_t length = 0;     // fixed[L]
  int32_t precision = 0;  // decimal(P, S)
  int32_t scale = 0;

  static Type Of(TypeId id) { return Type{id, 0, 0, 0}; }
  static Type Fixed(int32_t length) { return Type{TypeId::kFixed, length, 0, 0}; }
  static Type Decimal(int32_t precision, int32_t scale) { return Type{TypeId::kDecimal, 0, precision, scale}; }

  // Iceberg's type string: "long", "decimal(9, 2)", "fixed[16]".
  std::string ToString() const;
  static Result<Type> Parse(const std::string& text);

  bool operator==(const Type&) const = default;
};

struct NestedField {
  int32_t id = 0;
  std::string name;
  Type type;
  bool required = false;
  std::string doc;

  bool operator==(const NestedField&) const = default;
};

struct Schema {
  int32_t schema_id = 0;
  std::vector<NestedField> fields;
  std::vector<int32_t> identifier_field_ids;

  const NestedField* FindField(int32_t id) const;
  const NestedField* FindField(const std::string& name) const;
  int32_t HighestFieldId() const;

  // Checks ids and names are unique and positive, names non-empty.
  Status Validate() const;

  // Describes how `other` differs from this schema (same ids, names, types,
  // requiredness), or returns an empty string if they are the same columns.
  std::string DescribeDifference(const Schema& other) const;
};

// Partition field ids start at 1000; an unpartitioned table has spec 0 with no fields.
struct PartitionField {
  int32_t source_id = 0;
  int32_t field_id = 0;
  std::string name;
  std::string transform;  // "identity", "bucket[16]", "truncate[4]", "year", "month", "day", "hour", "void"

  bool operator==(const PartitionField&) const = default;
};

struct PartitionSpec {
  int32_t spec_id = 0;
  std::vector<PartitionField> fields;

  bool unpartitioned() const { return fields.empty(); }
  int32_t LastFieldId() const;
  Status Validate(const Schema& schema) const;
};

// Sort orders (spec "Sorting"): how rows are ordered inside data files.
// Order 0 is the unsorted order; a sorted order has an id other than 0, and
// ids are never reused for different fields.
enum class SortDirection { kAscending, kDescending };
enum class NullOrder { kNullsFirst, kNullsLast };

struct SortField {
  int32_t source_id = 0;
  std::string transform = "identity";  // any partition transform but void
  SortDirection direction = SortDirection::kAscending;
  NullOrder null_order = NullOrder::kNullsFirst;

  bool operator==(const SortField&) const = default;
};

struct SortOrder {
  int32_t order_id = 0;
  std::vector<SortField> fields;
  // The order as read, when it says more than `fields` can (a key, direction
  // or null order this engine does not know): written back exactly as read.
  std::string verbatim_json;
  // Set when `fields` could not be read at all (verbatim_json holds the
  // order): the engine never sorts by it.
  bool opaque = false;

  bool unsorted() const { return fields.empty() && !opaque; }
  // Checks every field against `schema`: an existing primitive column, a
  // transform that applies to its type. SchemaError naming the field if not.
  Status Validate(const Schema& schema) const;
};

// One term of a sort order given by column name, as users write it; a
// missing null order is Iceberg's default for the direction (nulls first
// ascending, nulls last descending).
struct SortTerm {
  std::string column;
  std::string transform = "identity";
  SortDirection direction = SortDirection::kAscending;
  std::optional<NullOrder> null_order;
};

// `terms` bound to the columns of `schema` and validated (order id 0; the
// caller gives it one). SchemaError naming the term if a column is unknown or
// cannot be sorted, or a transform is unknown or does not apply.
Result<SortOrder> BindSortOrder(const Schema& schema, const std::vector<SortTerm>& terms);

// The Iceberg JSON text (spec Appendix C) of a schema, of a partition spec
// ({"spec-id": 0, "fields": [...]}) and of a sort order, as table metadata holds them. Text that
// is not JSON is a SchemaError; JSON that is no valid schema or spec is a
// CorruptData error saying what is wrong.
std::string SchemaToJsonString(const Schema& schema);
Result<Schema> SchemaFromJsonString(std::string_view json);
std::string PartitionSpecToJsonString(const PartitionSpec& spec);
Result<PartitionSpec> PartitionSpecFromJsonString(std::string_view json);
// {"order-id": 1, "fields": [{"transform", "source-id", "direction", "null-order"}]}.
std::string SortOrderToJsonString(const SortOrder& order);
Result<SortOrder> SortOrderFromJsonString(std::string_view json);

// The Arrow schema the table's data files are written with: every field
// carries its Iceberg field id as "PARQUET:field_id" metadata.
std::shared_ptr<arrow::Schema> ToArrowSchema(const Schema& schema);
// Iceberg schema for an Arrow schema: ids from the fields' PARQUET:field_id
// metadata when every field has one, else 1..n in order. Unsupported Arrow
// types (nested, unsigned 64-bit, ...) are a SchemaError naming the column.
Result<Schema> FromArrowSchema(const arrow::Schema& schema);

}  // namespace datashard
