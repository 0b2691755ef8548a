// Schema evolution and refs: metadata-only commits.
//
// Columns are tracked by Iceberg field id, so a rename never touches data,
// a dropped column's data is simply not read, an added column reads as null
// in older files, and widened types (int->long, float->double, wider
// decimal precision) are promoted when old files are read.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datashard/table.h"

namespace datashard {

struct SchemaUpdate {
  enum class Kind { kAddColumn, kRenameColumn, kDropColumn, kWidenColumn, kMakeOptional };
  Kind kind = Kind::kAddColumn;
  std::string column;    // existing column (or the new column's name for kAddColumn)
  std::string new_name;  // kRenameColumn
  Type type;             // kAddColumn, kWidenColumn
  std::string doc;       // kAddColumn
};

// Applies the updates in order to the latest schema and commits the result as
// a new schema (new schema id). Invalid updates are SchemaErrors and commit
// nothing. Returns the new schema.
Result<Schema> UpdateSchema(Table& table, const std::vector<SchemaUpdate>& updates);

// Schema on write: gives a table created without a schema (CreateOptions)
// its first schema, field ids as given, in a metadata-only commit; the
// partition spec waiting in TableProperties::kPendingPartitionSpec is checked against
// it (SchemaError, nothing committed) and applied in the same commit. A table
// that has a schema already (another writer's first append won the race) is
// left as it is. Returns the table's schema afterwards, which the caller
// compares with its own.
Result<Schema> SetInitialSchema(Table& table, const Schema& schema);

// Makes `terms` (bound by column name to the current schema; none: unsorted)
// the table's default sort order in a metadata-only commit, as Iceberg's
// ReplaceSortOrder does: an order with the same fields as one the table lists
// takes that order's id, any other is added with the next free id (order 0
// is always the unsorted order). From then on every data file an append or a
// rewrite writes is sorted by it and records its id; files written before
// keep theirs. An unknown column, a column that cannot be sorted or a
// transform that does not apply is a SchemaError, and nothing is committed;
// so is the order already in force. Returns the order now in force.
Result<SortOrder> ReplaceSortOrder(Table& table, const std::vector<SortTerm>& terms);

// Tags and branches (Iceberg refs). A tag pins a snapshot (it survives
// expiry); a branch is a line of snapshots that transactions can write to
// (Transaction::SetBranch). "main" always follows the current snapshot.
Status CreateTag(Table& table, const std::string& name, int64_t snapshot_id);
Status CreateBranch(Table& table, const std::string& name, int64_t snapshot_id);
Status DropRef(Table& table, const std::string& name);

// Sets `set` and removes `remove` from the table properties in one commit.
// The properties datashard reads are checked first (durability, Parquet codec,
// positive integer limits): a bad value is InvalidArgument and nothing is
// committed. Other keys are stored as given, for other engines.
Status SetProperties(Table& table, const std::map<std::string, std::string>& set,
                     const std::vector<std::string>& remove);

// The snapshot that was current at `timestamp_ms` (the state of the last
// version committed at or before it), found by binary search over the
// versions: O(log versions) metadata reads. nullopt: the table was empty then.
Result<std::optional<int64_t>> SnapshotAsOf(Table& table, int64_t timestamp_ms);

}  // namespace datashard
