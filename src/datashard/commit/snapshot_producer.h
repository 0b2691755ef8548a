// Builds the next TableMetadata for a commit that adds data files
// (Iceberg's FastAppend): new manifest(s) written once, outside the race
// window, with inherited (null) sequence numbers; each attempt then writes only
// a manifest list on top of the latest version and the metadata itself.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datashard/commit/committer.h"
#include "datashard/format/data_file.h"

namespace datashard::commit {

// Table properties the producer reads.
inline constexpr char kMaxSnapshotsProperty[] = "datashard.metadata.max-snapshots";
inline constexpr int64_t kDefaultMaxSnapshots = 32;
inline constexpr char kPreviousVersionsMaxProperty[] = "write.metadata.previous-versions-max";
inline constexpr int64_t kDefaultPreviousVersionsMax = 32;
// Summary keys of our own (Iceberg allows extra string keys).
inline constexpr char kCommitKeySummary[] = "datashard.commit-key";

struct PendingSnapshot {
  int64_t snapshot_id = 0;
  std::string operation = "append";
  // Manifests written for this commit; sequence_number and added_snapshot_id
  // are filled in per attempt.
  std::vector<format::ManifestFile> new_manifests;
  int64_t added_files = 0;
  int64_t added_records = 0;
  int64_t added_files_size = 0;
  std::optional<std::string> commit_key;
  std::map<std::string, std::string> extra_summary;
  Durability durability = Durability::kFsync;
};

// One attempt: reads the parent's manifest list, merges small manifests when a
// tier is full (commit/manifest_merger.h), writes the new manifest list and
// returns the new metadata. If `pending.commit_key` is already in the base's
// snapshots, returns already_committed.
Result<BuiltCommit> BuildSnapshot(FileSystem& fs, const VersionedMetadata& base, const PendingSnapshot& pending,
                                  int attempt);

// Reads a snapshot's manifest list (path checked against the location).
Result<std::vector<format::ManifestFile>> ReadManifestList(FileSystem& fs, const TableMetadata& metadata,
                                                           const Snapshot& snapshot);

int64_t NowMs();

}  // namespace datashard::commit
