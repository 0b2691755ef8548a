// Finding and loading table versions (Hadoop-table layout).
//
// The latest version is the highest N for which v<N>.metadata.json exists.
// version-hint.text is only a hint: we start from it (or from a version this
// process already knows) and probe forward, so a stale or missing hint costs
// a few stat() calls, never a wrong answer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "datashard/file_system.h"
#include "datashard/table_metadata.h"

namespace datashard::commit {

struct VersionedMetadata {
  int64_t version = 0;
  std::shared_ptr<const TableMetadata> metadata;
};

// Highest existing version >= `known` (0 = unknown: read the hint). Returns 0
// if the location holds no table metadata at all.
Result<int64_t> FindLatestVersion(FileSystem& fs, const std::string& location, int64_t known);

// Parses v<version>.metadata.json and checks that it belongs to `location`.
Result<VersionedMetadata> LoadVersion(FileSystem& fs, const std::string& location, int64_t version);

// Parses `text`, read from v<version>.metadata.json, with LoadVersion's checks.
Result<VersionedMetadata> VersionFromText(const std::string& location, int64_t version, const std::string& text);

// The latest version; reuses `cached` when nothing newer exists.
Result<VersionedMetadata> LoadLatest(FileSystem& fs, const std::string& location, const VersionedMetadata* cached);

// Visits the older metadata windows behind `metadata`, newest first. Each
// step goes as far back as it can without skipping a snapshot, whatever the
// window sizes (datashard.metadata.max-snapshots and
// write.metadata.previous-versions-max are independent): to the oldest
// metadata-log entry written after the oldest snapshot of the current window.
// `visit` returns false to stop. The walk ends where the chain does: a file
// deleted by expiry ends it quietly.
Status WalkMetadataLog(FileSystem& fs, const TableMetadata& metadata,
                       const std::function<bool(const TableMetadata&)>& visit);

// Writes "N" (digits, no newline: PyIceberg and DuckDB do not trim) and then
// re-probes, so that concurrent hint writers converge on the newest version.
Status UpdateVersionHint(FileSystem& fs, const std::string& location, int64_t version);

}  // namespace datashard::commit
