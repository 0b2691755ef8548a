// Builds the next TableMetadata for a commit that adds data files
// (Iceberg's FastAppend): new manifest(s) written once, outside the race
// window, with inherited (null) sequence numbers; each attempt then writes only
// a manifest list on top of the latest version and the metadata itself.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datashard/commit/committer.h"
#include "datashard/commit/conflict_checker.h"
#include "datashard/commit/group_commit.h"
#include "datashard/commit/group_member.h"
#include "datashard/format/data_file.h"

namespace datashard::commit {

// The table properties the producer reads (TableProperties::kMetadataMaxSnapshots,
// kMetadataPreviousVersionsMax) are in datashard/table_properties.h.

// Summary keys of our own (Iceberg allows extra string keys).
inline constexpr char kCommitKeySummary[] = "datashard.commit-key";
// How many writers' appends one group commit applied (absent: one).
inline constexpr char kGroupSizeSummary[] = "datashard.group-size";

// A data file the commit removes, as the transaction found it at its base.
struct RemovedFile {
  format::DataFile file;
  int64_t sequence_number = 0;
  int64_t file_sequence_number = 0;
  int64_t snapshot_id = 0;    // the snapshot that added it
  std::string manifest_path;  // where it was listed at the base
};

struct PendingSnapshot {
  // Manifests written for this commit, their entries' snapshot ids and
  // sequence numbers left null (inherited); sequence_number and
  // added_snapshot_id are filled in per attempt.
  std::vector<format::ManifestFile> new_manifests;
  int64_t added_files = 0;
  int64_t added_records = 0;
  int64_t added_files_size = 0;
  std::vector<RemovedFile> removed;
  // "append"/"overwrite"/"delete" follow from the changes; maintenance that
  // only reorganises existing rows sets "replace".
  std::optional<std::string> operation;
  // Rewrite every manifest into one per spec (RewriteManifests).
  bool merge_all_manifests = false;
  // The branch this snapshot extends; "main" moves the table's current snapshot.
  std::string branch = "main";
  std::optional<std::string> commit_key;
  std::map<std::string, std::string> extra_summary;
  Durability durability = Durability::kFsync;
  // The snapshot the transaction read and derived its changes from. When the
  // table moved on, the commit is validated against what changed since.
  std::optional<int64_t> base_snapshot_id;
  // Extra validation of what other writers changed since the base
  // (serializable isolation); a ConcurrentModification error fails the commit.
  std::function<Status(const ConcurrentChanges&)> validate_concurrent;
  // Group commit (commit/group_member.h), for plain appends to main: the
  // commit's part in it. The snapshot then also takes in the pending intents
  // of other writers (writing the rows they carry, if the member writes
  // rows), and an attempt whose base already settled the member's seq
  // returns already_committed with by_group.
  const GroupMember* group = nullptr;
};

// One attempt on top of `base` (the latest version): validates against
// concurrent commits, takes in other writers' pending intents (with
// `pending.group`), rewrites the manifests holding removed files (their
// entries become DELETED), merges small manifests when a tier is full
// (commit/manifest_merger.h), writes the new manifest list and returns the
// new metadata. If `pending.commit_key` is already in the base's snapshots,
// returns already_committed.
Result<BuiltCommit> BuildSnapshot(FileSystem& fs, const VersionedMetadata& base, const PendingSnapshot& pending,
                                  int attempt);

int64_t NowMs();

// Snapshot ids name the metadata version that adds them, (version << 20) |
// 20 random bits, so that finding an old snapshot by id reads one metadata
// file (Table::FindSnapshot) instead of walking the metadata log. An attempt
// that loses the race for its version takes a new id for the next one.
// Snapshots made by other engines carry random ids; VersionOfSnapshotId
// names a candidate version only, which the caller must check.
int64_t NewSnapshotIdFor(int64_t version);
int64_t VersionOfSnapshotId(int64_t snapshot_id);

}  // namespace datashard::commit
