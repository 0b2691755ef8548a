// Reads one Parquet data file into the table's current shape: columns are
// matched by Iceberg field id (so renames work), promoted to the current
// type, and columns the file predates come back as nulls.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "datashard/file_system.h"
#include "datashard/schema.h"

namespace datashard::scan {

// `fields` are the columns wanted, in output order.
Result<std::shared_ptr<arrow::Table>> ReadDataFile(FileSystem& fs, const std::string& path,
                                                   const std::vector<NestedField>& fields);

}  // namespace datashard::scan
