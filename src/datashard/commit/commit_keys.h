// Exactly-once appends: finding whether a commit key was already applied,
// beyond the bounded window of snapshots the current metadata file holds.
#pragma once

#include <optional>
#include <string>

#include "datashard/file_system.h"
#include "datashard/table_metadata.h"

namespace datashard::commit {

// The snapshot that carries `key` (summary "datashard.commit-key") among the
// snapshots of `metadata` (the latest version) and its predecessors within
// the lookback: the snapshots in the current metadata file always, older
// ones along the metadata-log chain while they are at most
// TableProperties::kCommitKeyLookbackMs old (and not expired). The snapshots
// older windows hold are remembered per process and table, so a process reads
// each older metadata file at most once, and after its first keyed commit
// only the files of versions it skipped.
Result<std::optional<int64_t>> FindCommitKey(FileSystem& fs, const TableMetadata& metadata, const std::string& key);

}  // namespace datashard::commit
