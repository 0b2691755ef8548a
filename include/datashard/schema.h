// Table schemas: Iceberg's primitive types and named, id-carrying columns
// (spec "Schemas and Data Types"). Every column has a stable field id; data
// files are matched to columns by id, never by name or position.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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

}  // namespace datashard
