// The data files of a snapshot as an Arrow table, after Iceberg's "files"
// metadata table: one row per live data file with its path, counts, its
// partition tuple and its column bounds decoded to the columns' own types.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include <arrow/type_fwd.h>

#include "datashard/table.h"

namespace datashard {

// Columns: file_path (string, absolute), record_count, file_size_in_bytes
// (int64), spec_id (int32), partition (struct: one child per partition field
// of the specs the files use, named by the partition field, typed by its
// transform's result; null where a file's spec lacks it), lower_bounds and
// upper_bounds (struct: one child per column of the snapshot's schema, named
// by the field id, typed as the column; null where the manifest has no bound).
// Rows in commit order. `snapshot_id` unset: the current snapshot.
Result<std::shared_ptr<arrow::Table>> FilesTable(Table& table, std::optional<int64_t> snapshot_id);

}  // namespace datashard
