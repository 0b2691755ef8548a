#include "datashard/format/arrow_schema.h"

#include <charconv>
#include <optional>
#include <set>
#include <string_view>

#include <arrow/api.h>
#include <arrow/compute/api.h>

namespace datashard::format {

std::shared_ptr<arrow::DataType> ToArrowType(const Type& type) {
  switch (type.id) {
    case TypeId::kBoolean: return arrow::boolean();
    case TypeId::kInt: return arrow::int32();
    case TypeId::kLong: return arrow::int64();
    case TypeId::kFloat: return arrow::float32();
    case TypeId::kDouble: return arrow::float64();
    case TypeId::kDate: return arrow::date32();
    case TypeId::kTime: return arrow::time64(arrow::TimeUnit::MICRO);
    case TypeId::kTimestamp: return arrow::timestamp(arrow::TimeUnit::MICRO);
    case TypeId::kTimestampTz: return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
    case TypeId::kString: return arrow::utf8();
    case TypeId::kUuid: return arrow::fixed_size_binary(16);
    case TypeId::kBinary: return arrow::binary();
    case TypeId::kFixed: return arrow::fixed_size_binary(type.length);
    case TypeId::kDecimal: return arrow::decimal128(type.precision, type.scale);
  }
  return arrow::null();
}

int32_t FieldIdOf(const arrow::Field& field) {
  if (!field.metadata()) return -1;
  int index = field.metadata()->FindKey(kParquetFieldIdKey);
  if (index < 0) return -1;
  const std::string& text = field.metadata()->value(index);
  int32_t id = -1;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size()) return -1;
  return id;
}

namespace {

Result<Type> FromArrowType(const arrow::Field& field) {
  const auto& type = *field.type();
  switch (type.id()) {
    case arrow::Type::BOOL: return Type::Of(TypeId::kBoolean);
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16: return Type::Of(TypeId::kInt);
    case arrow::Type::INT64:
    case arrow::Type::UINT32: return Type::Of(TypeId::kLong);
    case arrow::Type::HALF_FLOAT:
    case arrow::Type::FLOAT: return Type::Of(TypeId::kFloat);
    case arrow::Type::DOUBLE: return Type::Of(TypeId::kDouble);
    case arrow::Type::DATE32:
    case arrow::Type::DATE64: return Type::Of(TypeId::kDate);
    case arrow::Type::TIME32:
    case arrow::Type::TIME64: return Type::Of(TypeId::kTime);
    case arrow::Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampType&>(type);
      return Type::Of(ts.timezone().empty() ? TypeId::kTimestamp : TypeId::kTimestampTz);
    }
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW: return Type::Of(TypeId::kString);
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW: return Type::Of(TypeId::kBinary);
    case arrow::Type::FIXED_SIZE_BINARY:
      return Type::Fixed(static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width());
    case arrow::Type::DECIMAL32:
    case arrow::Type::DECIMAL64:
    case arrow::Type::DECIMAL128: {
      const auto& dec = static_cast<const arrow::DecimalType&>(type);
      return Type::Decimal(dec.precision(), dec.scale());
    }
    case arrow::Type::DICTIONARY:
      return FromArrowType(*arrow::field(field.name(), static_cast<const arrow::DictionaryType&>(type).value_type()));
    default:
      return SchemaError("column \"", field.name(), "\" has Arrow type ", type.ToString(),
                         ", which datashard cannot store yet");
  }
}

}  // namespace

namespace {

// Index of the first null in `column`, or -1.
int64_t FirstNull(const arrow::ChunkedArray& column) {
  int64_t offset = 0;
  for (const auto& chunk : column.chunks()) {
    if (chunk->null_count() > 0) {
      for (int64_t i = 0; i < chunk->length(); ++i) {
        if (chunk->IsNull(i)) return offset + i;
      }
    }
    offset += chunk->length();
  }
  return -1;
}

// Kinds of value between which a cast keeps the meaning of the data. A cast
// is tried only within one kind (values are still checked: overflow, lost
// fractions and invalid UTF-8 fail it); true -> "true" or 5 -> "5" is refused.
enum class ValueKind { kNull, kBoolean, kNumber, kText, kBytes, kDate, kTime, kTimestamp, kTimestampTz, kOther };

ValueKind KindOf(const arrow::DataType& type) {
  using arrow::Type;
  switch (type.id()) {
    case Type::NA: return ValueKind::kNull;
    case Type::BOOL: return ValueKind::kBoolean;
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
    case Type::UINT8:
    case Type::UINT16:
    case Type::UINT32:
    case Type::UINT64:
    case Type::HALF_FLOAT:
    case Type::FLOAT:
    case Type::DOUBLE:
    case Type::DECIMAL128:
    case Type::DECIMAL256: return ValueKind::kNumber;
    case Type::STRING:
    case Type::LARGE_STRING:
    case Type::STRING_VIEW: return ValueKind::kText;
    case Type::BINARY:
    case Type::LARGE_BINARY:
    case Type::BINARY_VIEW:
    case Type::FIXED_SIZE_BINARY: return ValueKind::kBytes;
    case Type::DATE32:
    case Type::DATE64: return ValueKind::kDate;
    case Type::TIME32:
    case Type::TIME64: return ValueKind::kTime;
    case Type::TIMESTAMP:
      return static_cast<const arrow::TimestampType&>(type).timezone().empty() ? ValueKind::kTimestamp
                                                                               : ValueKind::kTimestampTz;
    case Type::DICTIONARY: return KindOf(*static_cast<const arrow::DictionaryType&>(type).value_type());
    case Type::EXTENSION: return KindOf(*static_cast<const arrow::ExtensionType&>(type).storage_type());
    default: return ValueKind::kOther;
  }
}

// A uuid given as text (what DuckDB, pandas and JSON hand over) becomes its
// 16 bytes. Accepted as Python's uuid.UUID accepts it: 32 hex digits, with or
// without dashes, braces or a "urn:uuid:" prefix.
std::optional<std::string> ParseUuid(std::string_view text) {
  if (text.substr(0, 9) == "urn:uuid:") text.remove_prefix(9);
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}') text = text.substr(1, text.size() - 2);
  std::string bytes;
  int high = -1;
  for (char c : text) {
    if (c == '-') continue;
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;
    if (high < 0) {
      high = digit;
    } else {
      bytes.push_back(static_cast<char>(high * 16 + digit));
      high = -1;
    }
  }
  if (high >= 0 || bytes.size() != 16) return std::nullopt;
  return bytes;
}

Result<std::shared_ptr<arrow::ChunkedArray>> UuidTextToBytes(const std::shared_ptr<arrow::ChunkedArray>& column,
                                                             const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto text, arrow::compute::Cast(arrow::Datum(column), arrow::utf8()));
  arrow::FixedSizeBinaryBuilder builder(arrow::fixed_size_binary(16));
  int64_t row = 0;
  for (const auto& chunk : text.chunked_array()->chunks()) {
    const auto& strings = static_cast<const arrow::StringArray&>(*chunk);
    for (int64_t i = 0; i < strings.length(); ++i, ++row) {
      if (strings.IsNull(i)) {
        ARROW_RETURN_NOT_OK(builder.AppendNull());
        continue;
      }
      auto bytes = ParseUuid(strings.GetView(i));
      if (!bytes) {
        return SchemaError("row ", row, ", field \"", name, "\": \"", strings.GetView(i),
                           "\" is not a uuid (expected text such as 6ba7b810-9dad-11d1-80b4-00c04fd430c8)");
      }
      ARROW_RETURN_NOT_OK(builder.Append(*bytes));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto array, builder.Finish());
  return std::make_shared<arrow::ChunkedArray>(array);
}

bool CastKeepsMeaning(const arrow::DataType& from, const arrow::DataType& to) {
  const ValueKind a = KindOf(from), b = KindOf(to);
  if (a == ValueKind::kNull) return true;                            // an all-null column
  if (a == ValueKind::kText && b == ValueKind::kBytes) return true;  // UTF-8 is bytes
  return a == b && a != ValueKind::kOther;
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> ConformToSchema(const std::shared_ptr<arrow::Table>& data, const Schema& schema) {
  std::set<std::string> known;
  for (const auto& field : schema.fields) known.insert(field.name);
  std::set<std::string> seen;
  for (const auto& field : data->schema()->fields()) {
    if (!known.count(field->name())) {
      // "not in the table schema", "type families" and "not compatible" are the
      // original package's wording, which its users match on.
      return SchemaError("unknown column \"", field->name(),
                         "\": the table has no such field (not in the table schema)");
    }
    if (!seen.insert(field->name()).second) {
      return SchemaError("duplicate column \"", field->name(), "\": it appears more than once in the data");
    }
  }
  auto target = ToArrowSchema(schema);
  arrow::ChunkedArrayVector columns;
  for (int i = 0; i < target->num_fields(); ++i) {
    const auto& field = schema.fields[static_cast<size_t>(i)];
    const auto& arrow_field = target->field(i);
    auto column = data->GetColumnByName(field.name);
    if (column == nullptr) {
      if (field.required) return SchemaError("required field \"", field.name, "\" is missing");
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(arrow_field->type(), data->num_rows()));
      columns.push_back(std::make_shared<arrow::ChunkedArray>(nulls));
      continue;
    }
    if (field.type.id == TypeId::kUuid && KindOf(*column->type()) == ValueKind::kText) {
      ARROW_ASSIGN_OR_RAISE(column, UuidTextToBytes(column, field.name));
    }
    if (!column->type()->Equals(*arrow_field->type())) {
      if (!CastKeepsMeaning(*column->type(), *arrow_field->type())) {
        return SchemaError("field \"", field.name, "\": cannot store ", column->type()->ToString(), " as ",
                           field.type.ToString(),
                           " (a different kind of value; convert it explicitly: no cast across type families)");
      }
      arrow::compute::CastOptions options = arrow::compute::CastOptions::Safe(arrow_field->type());
      auto cast = arrow::compute::Cast(arrow::Datum(column), options);
      if (!cast.ok()) {
        return SchemaError("field \"", field.name, "\": cannot store ", column->type()->ToString(), " as ",
                           field.type.ToString(), " (the values are not compatible: ", cast.status().message(), ")");
      }
      column = cast->chunked_array();
    }
    if (field.required) {
      int64_t row = FirstNull(*column);
      if (row >= 0) return SchemaError("row ", row, ", field \"", field.name, "\": null in a required field");
    }
    columns.push_back(std::move(column));
  }
  return arrow::Table::Make(target, std::move(columns), data->num_rows());
}

}  // namespace datashard::format

namespace datashard {

std::shared_ptr<arrow::Schema> ToArrowSchema(const Schema& schema) {
  arrow::FieldVector fields;
  fields.reserve(schema.fields.size());
  for (const auto& field : schema.fields) {
    auto metadata = arrow::key_value_metadata({format::kParquetFieldIdKey}, {std::to_string(field.id)});
    fields.push_back(arrow::field(field.name, format::ToArrowType(field.type), !field.required, std::move(metadata)));
  }
  return arrow::schema(std::move(fields));
}

Result<Schema> FromArrowSchema(const arrow::Schema& arrow_schema) {
  Schema schema;
  bool all_have_ids = arrow_schema.num_fields() > 0;
  for (const auto& field : arrow_schema.fields()) all_have_ids = all_have_ids && format::FieldIdOf(*field) > 0;
  int32_t next_id = 1;
  for (const auto& field : arrow_schema.fields()) {
    NestedField out;
    out.id = all_have_ids ? format::FieldIdOf(*field) : next_id++;
    out.name = field->name();
    ARROW_ASSIGN_OR_RAISE(out.type, format::FromArrowType(*field));
    out.required = !field->nullable();
    schema.fields.push_back(std::move(out));
  }
  ARROW_RETURN_NOT_OK(schema.Validate());
  return schema;
}

}  // namespace datashard
