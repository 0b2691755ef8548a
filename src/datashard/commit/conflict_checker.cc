#include "datashard/commit/conflict_checker.h"

#include "datashard/format/manifest_reader.h"

namespace datashard::commit {

Status Conflict(const std::string& what) {
  return MakeError(ErrorKind::kConcurrentModification, "conflicting concurrent commit: " + what);
}

Result<ConcurrentChanges> ChangesSince(FileSystem& fs, const TableMetadata& latest, const Snapshot* head,
                                       std::optional<int64_t> base_snapshot_id) {
  ConcurrentChanges changes;
  const Snapshot* snapshot = head;
  while (snapshot != nullptr && (!base_snapshot_id || snapshot->snapshot_id != *base_snapshot_id)) {
    ARROW_ASSIGN_OR_RAISE(auto manifests, format::ReadManifestList(fs, latest, *snapshot));
    for (const auto& manifest : manifests) {
      // Only manifests written by this snapshot can hold its changes.
      if (manifest.added_snapshot_id != snapshot->snapshot_id) continue;
      if (manifest.added_files_count == 0 && manifest.deleted_files_count == 0) continue;
      ARROW_ASSIGN_OR_RAISE(auto entries, format::ReadManifestEntries(fs, latest, manifest));
      for (auto& entry : entries) {
        if (entry.snapshot_id != snapshot->snapshot_id) continue;
        if (entry.status == format::ManifestEntryStatus::kAdded) {
          changes.added.push_back(std::move(entry.data_file));
        } else if (entry.status == format::ManifestEntryStatus::kDeleted) {
          changes.removed.emplace(entry.data_file.file_path, std::move(entry.data_file));
        }
      }
    }
    if (!snapshot->parent_snapshot_id) {
      // Reached the first snapshot without meeting the base: the base is not
      // an ancestor (or was expired); the caller must be conservative.
      if (base_snapshot_id) changes.complete = false;
      break;
    }
    const Snapshot* parent = latest.SnapshotById(*snapshot->parent_snapshot_id);
    if (parent == nullptr) {
      changes.complete = false;  // left the metadata window
      break;
    }
    snapshot = parent;
  }
  return changes;
}

}  // namespace datashard::commit
