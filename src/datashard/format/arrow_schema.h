// Mapping between Iceberg schemas and Arrow schemas.
//
// Arrow fields carry "PARQUET:field_id" metadata, which the Parquet writer
// stores as the column's field_id: that is how Iceberg readers match Parquet
// columns to table columns after renames.
#pragma once

#include <memory>

#include <arrow/type_fwd.h>

#include "datashard/schema.h"

namespace datashard::format {

inline constexpr char kParquetFieldIdKey[] = "PARQUET:field_id";

std::shared_ptr<arrow::DataType> ToArrowType(const Type& type);
// ToArrowSchema and FromArrowSchema are public (include/datashard/schema.h).
using datashard::FromArrowSchema;
using datashard::ToArrowSchema;
// The field id an Arrow field carries, or -1.
int32_t FieldIdOf(const arrow::Field& field);

// Makes user data fit the table schema: columns matched by name, cast safely
// to the table's types, missing optional columns filled with nulls, output in
// schema order. Unknown columns, missing required columns, nulls in required
// columns and lossy casts are SchemaErrors naming the column (and row).
Result<std::shared_ptr<arrow::Table>> ConformToSchema(const std::shared_ptr<arrow::Table>& data, const Schema& schema);

}  // namespace datashard::format
