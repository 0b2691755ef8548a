// What other writers committed since a transaction's base snapshot.
//
// Validation (Iceberg's rules): appends never conflict with appends; a
// transaction that removes files fails if another writer removed or
// rewrote any of them first; a serializable transaction also fails if rows
// matching what it read were added concurrently (that test is the caller's,
// given the files added).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "datashard/file_system.h"
#include "datashard/format/data_file.h"
#include "datashard/table_metadata.h"

namespace datashard::commit {

struct ConcurrentChanges {
  std::vector<format::DataFile> added;              // data files added after the base
  std::map<std::string, format::DataFile> removed;  // files removed after the base, by path
  // False when the chain back to the base left the metadata window: the
  // lists above are then incomplete and callers must decide conservatively.
  bool complete = true;
};

// Changes between `base_snapshot_id` (nullopt = the empty table) and `head`
// (the latest snapshot of the branch being written), read from the manifests
// each intervening snapshot added: O(changes), not O(table).
Result<ConcurrentChanges> ChangesSince(FileSystem& fs, const TableMetadata& latest, const Snapshot* head,
                                       std::optional<int64_t> base_snapshot_id);

Status Conflict(const std::string& what);

}  // namespace datashard::commit
