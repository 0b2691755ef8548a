#include "datashard/table/sorting.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/decimal.h>

#include "datashard/transforms.h"

namespace datashard::table {
namespace {

namespace cp = arrow::compute;

// A table over the same columns as `data` (no copy): Take and the callers
// want a shared_ptr, and WriteOneFile hands a reference.
Result<std::shared_ptr<arrow::Table>> Whole(const arrow::Table& data) {
  return arrow::Table::Make(data.schema(), data.columns(), data.num_rows());
}

Result<std::shared_ptr<arrow::Array>> ColumnOf(const Schema& schema, int32_t field_id, const arrow::Table& data,
                                               const NestedField** field) {
  *field = schema.FindField(field_id);
  if (*field == nullptr) return SchemaError("sort column id ", field_id, " is not in the schema");
  auto column = data.GetColumnByName((*field)->name);
  if (column == nullptr) return SchemaError("sort column \"", (*field)->name, "\" is not in the data");
  if (column->num_chunks() == 1) return column->chunk(0);
  return arrow::Concatenate(column->chunks());
}

Result<std::shared_ptr<arrow::Table>> TakeRows(const arrow::Table& data, const arrow::Datum& indices) {
  ARROW_ASSIGN_OR_RAISE(auto whole, Whole(data));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, cp::Take(arrow::Datum(whole), indices));
  return taken.table();
}

// -- z-order keys -----------------------------------------------------------

constexpr uint64_t kSignBit = uint64_t{1} << 63;

uint64_t FlipInt(int64_t v) { return static_cast<uint64_t>(v) ^ kSignBit; }

// IEEE 754 bits ordered as the numbers are: negative values have every bit
// flipped, positive ones only the sign bit.
uint64_t FlipDouble(double v) {
  if (v == 0) v = 0;  // -0.0 and 0.0 together
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof(bits));
  return (bits & kSignBit) ? ~bits : bits | kSignBit;
}

uint64_t BytesPrefix(std::string_view s) {
  uint64_t out = 0;
  for (size_t i = 0; i < 8; ++i) out = (out << 8) | (i < s.size() ? static_cast<uint8_t>(s[i]) : 0);
  return out;
}

// An order-preserving unsigned key per row of `array` (its validity aside).
Result<std::vector<uint64_t>> RawKeys(const NestedField& field, const arrow::Array& array) {
  std::vector<uint64_t> keys(static_cast<size_t>(array.length()), 0);
  const int64_t n = array.length();
  switch (array.type_id()) {
    case arrow::Type::BOOL: {
      const auto& a = static_cast<const arrow::BooleanArray&>(array);
      for (int64_t i = 0; i < n; ++i) keys[i] = a.Value(i) ? 1 : 0;
      break;
    }
    case arrow::Type::INT32:
    case arrow::Type::DATE32: {
      const auto* values = array.data()->GetValues<int32_t>(1);
      for (int64_t i = 0; i < n; ++i) keys[i] = FlipInt(values[i]);
      break;
    }
    case arrow::Type::INT64:
    case arrow::Type::TIME64:
    case arrow::Type::TIMESTAMP: {
      const auto* values = array.data()->GetValues<int64_t>(1);
      for (int64_t i = 0; i < n; ++i) keys[i] = FlipInt(values[i]);
      break;
    }
    case arrow::Type::FLOAT: {
      const auto* values = array.data()->GetValues<float>(1);
      for (int64_t i = 0; i < n; ++i) keys[i] = FlipDouble(values[i]);
      break;
    }
    case arrow::Type::DOUBLE: {
      const auto* values = array.data()->GetValues<double>(1);
      for (int64_t i = 0; i < n; ++i) keys[i] = FlipDouble(values[i]);
      break;
    }
    case arrow::Type::STRING:
    case arrow::Type::BINARY: {
      const auto& a = static_cast<const arrow::BinaryArray&>(array);
      for (int64_t i = 0; i < n; ++i) keys[i] = BytesPrefix(a.GetView(i));
      break;
    }
    case arrow::Type::FIXED_SIZE_BINARY: {
      const auto& a = static_cast<const arrow::FixedSizeBinaryArray&>(array);
      for (int64_t i = 0; i < n; ++i) keys[i] = BytesPrefix(a.GetView(i));
      break;
    }
    case arrow::Type::DECIMAL128: {
      // A double keeps the order of the values (ties where it rounds).
      const auto& a = static_cast<const arrow::Decimal128Array&>(array);
      const int32_t scale = static_cast<const arrow::Decimal128Type&>(*array.type()).scale();
      for (int64_t i = 0; i < n; ++i) keys[i] = FlipDouble(arrow::Decimal128(a.GetValue(i)).ToDouble(scale));
      break;
    }
    default: return SchemaError("cannot z-order by \"", field.name, "\" (", field.type.ToString(), ")");
  }
  return keys;
}

// The keys of `array` stretched over the column's range (its smallest value
// 0, the largest with the top bit set) so every column's bits weigh alike in
// the interleaving, then moved up by one half so that 0 is left to nulls
// (nulls first).
Result<std::vector<uint64_t>> ZKeys(const NestedField& field, const arrow::Array& array) {
  ARROW_ASSIGN_OR_RAISE(auto keys, RawKeys(field, array));
  uint64_t lo = UINT64_MAX, hi = 0;
  for (int64_t i = 0; i < array.length(); ++i) {
    if (array.IsNull(i)) continue;
    lo = std::min(lo, keys[i]);
    hi = std::max(hi, keys[i]);
  }
  const int shift = hi > lo ? std::countl_zero(hi - lo) : 0;
  for (int64_t i = 0; i < array.length(); ++i) {
    keys[i] = array.IsNull(i) ? 0 : kSignBit | (((keys[i] - lo) << shift) >> 1);
  }
  return keys;
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> SortForOrder(const Schema& schema, const SortOrder& order,
                                                   const arrow::Table& data) {
  if (order.unsorted() || data.num_rows() <= 1) return Whole(data);
  ARROW_RETURN_NOT_OK(order.Validate(schema));
  // One key column per sort field: the column itself, or its transformed
  // values (a bucket or a day sorts by the bucket or the day).
  arrow::FieldVector key_fields;
  arrow::ArrayVector key_columns;
  std::vector<cp::SortKey> sort_keys;
  for (const auto& sort_field : order.fields) {
    const NestedField* field = nullptr;
    ARROW_ASSIGN_OR_RAISE(auto column, ColumnOf(schema, sort_field.source_id, data, &field));
    if (sort_field.transform != "identity") {
      ARROW_ASSIGN_OR_RAISE(column, TransformToArrow(sort_field.transform, field->type, *column));
    }
    const std::string name = "k" + std::to_string(key_columns.size());
    key_fields.push_back(arrow::field(name, column->type()));
    key_columns.push_back(std::move(column));
    sort_keys.emplace_back(
        arrow::FieldRef(name),
        sort_field.direction == SortDirection::kAscending ? cp::SortOrder::Ascending : cp::SortOrder::Descending,
        sort_field.null_order == NullOrder::kNullsFirst ? cp::NullPlacement::AtStart : cp::NullPlacement::AtEnd);
  }
  auto keys = arrow::Table::Make(arrow::schema(key_fields), key_columns, data.num_rows());
  // SortIndices is a stable sort: rows that tie keep the order they came in.
  ARROW_ASSIGN_OR_RAISE(auto indices, cp::SortIndices(arrow::Datum(keys), cp::SortOptions(sort_keys)));
  return TakeRows(data, arrow::Datum(indices));
}

bool SortsRows(const TableMetadata& metadata, const Schema& schema, const RowOrder& order) {
  if (order.keep_as_given) return false;
  const SortOrder* sort = metadata.DefaultSortOrder();
  return sort != nullptr && !sort->unsorted() && sort->Validate(schema).ok();
}

Result<OrderedRows> OrderRowsForFile(const TableMetadata& metadata, const Schema& schema, const arrow::Table& data,
                                     const RowOrder& order) {
  OrderedRows out;
  if (order.keep_as_given) {
    ARROW_ASSIGN_OR_RAISE(out.rows, Whole(data));
    out.sort_order_id = order.sort_order_id;
    return out;
  }
  const SortOrder* sort = metadata.DefaultSortOrder();
  if (!SortsRows(metadata, schema, order)) {
    ARROW_ASSIGN_OR_RAISE(out.rows, Whole(data));
    return out;
  }
  ARROW_ASSIGN_OR_RAISE(out.rows, SortForOrder(schema, *sort, data));
  out.sort_order_id = sort->order_id;
  return out;
}

Result<std::shared_ptr<arrow::Table>> ZOrderRows(const Schema& schema, const std::vector<std::string>& columns,
                                                 const arrow::Table& data) {
  if (columns.size() < 2) return InvalidArgument("a z-order needs two or more columns, got ", columns.size());
  for (const auto& name : columns) {
    if (schema.FindField(name) == nullptr) return SchemaError("cannot z-order by \"", name, "\": no such column");
    if (std::count(columns.begin(), columns.end(), name) > 1) {
      return InvalidArgument("z-order names \"", name, "\" twice");
    }
  }
  if (data.num_rows() <= 1) return Whole(data);
  std::vector<std::vector<uint64_t>> keys;
  for (const auto& name : columns) {
    const NestedField* field = nullptr;
    ARROW_ASSIGN_OR_RAISE(auto column, ColumnOf(schema, schema.FindField(name)->id, data, &field));
    ARROW_ASSIGN_OR_RAISE(auto column_keys, ZKeys(*field, *column));
    keys.push_back(std::move(column_keys));
  }
  // The top 32 bits of each key, interleaved from the most significant bit
  // down, as a big-endian byte string: comparing those strings compares the
  // rows' places along the z-curve.
  constexpr int kBits = 32;
  const int width = static_cast<int>(keys.size()) * kBits / 8;
  arrow::FixedSizeBinaryBuilder builder(arrow::fixed_size_binary(width));
  ARROW_RETURN_NOT_OK(builder.Reserve(data.num_rows()));
  std::vector<uint8_t> z(static_cast<size_t>(width));
  for (int64_t row = 0; row < data.num_rows(); ++row) {
    std::fill(z.begin(), z.end(), 0);
    size_t out_bit = 0;
    for (int bit = 63; bit >= 64 - kBits; --bit) {
      for (const auto& column_keys : keys) {
        if ((column_keys[static_cast<size_t>(row)] >> bit) & 1) z[out_bit / 8] |= uint8_t(0x80 >> (out_bit % 8));
        ++out_bit;
      }
    }
    ARROW_RETURN_NOT_OK(builder.Append(z.data()));
  }
  ARROW_ASSIGN_OR_RAISE(auto zvalues, builder.Finish());
  ARROW_ASSIGN_OR_RAISE(auto indices, cp::SortIndices(*zvalues, cp::SortOrder::Ascending));
  return TakeRows(data, arrow::Datum(indices));
}

}  // namespace datashard::table
