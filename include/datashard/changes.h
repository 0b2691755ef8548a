// The rows that came and went between two snapshots of a table: incremental
// reads for pipelines that process only what is new since they last looked.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/table.h>

#include "datashard/status.h"
#include "datashard/table.h"

namespace datashard {

// The column Changes() adds: "insert" or "delete".
inline constexpr char kChangeTypeColumn[] = "_change_type";

struct ChangesOptions {
  // The snapshot already processed; nullopt: the empty table (every row of
  // `to_snapshot` is an insert).
  std::optional<int64_t> from_snapshot;
  // Default: the pinned current snapshot (none: no rows).
  std::optional<int64_t> to_snapshot;
  std::vector<std::string> columns;  // empty: every column
  // Cancel identical insert/delete pairs (one for one): the rows a
  // copy-on-write rewrite carried over, which would show as both.
  bool net = true;
};

// Inserts are the rows of data files `to_snapshot` has and `from_snapshot`
// has not, deletes the rows of files `from_snapshot` had and `to_snapshot`
// has no longer. Both sides come in the newer schema's columns (matched by
// field id; a column added since reads as null), inserts first, with the
// kChangeTypeColumn column last. Rows are equal when every shared column is
// (nulls equal nulls, NaN equals a NaN of the same bits).
Result<std::shared_ptr<arrow::Table>> Changes(Table& table, const ChangesOptions& options);

}  // namespace datashard
