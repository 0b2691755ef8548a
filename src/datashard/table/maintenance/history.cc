// Enumerating a table's reachable history and the files each snapshot uses.
#include "datashard/table/maintenance/history.h"

#include <algorithm>
#include <map>

#include "datashard/commit/version_resolver.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/format/table_metadata.h"

namespace datashard::maintenance {

Result<std::vector<Snapshot>> SnapshotsReachableFrom(FileSystem& fs, const TableMetadata& metadata) {
  std::map<int64_t, Snapshot> by_id;
  for (const auto& s : metadata.snapshots) by_id.emplace(s.snapshot_id, s);
  // Each older version keeps its own window; the walk ends where expiry cut the chain.
  ARROW_RETURN_NOT_OK(commit::WalkMetadataLog(fs, metadata, [&](const TableMetadata& older) {
    for (const auto& s : older.snapshots) by_id.emplace(s.snapshot_id, s);
    return true;
  }));
  std::vector<Snapshot> out;
  for (auto& [id, s] : by_id) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), [](const Snapshot& a, const Snapshot& b) {
    return a.sequence_number != b.sequence_number ? a.sequence_number < b.sequence_number
                                                  : a.timestamp_ms < b.timestamp_ms;
  });
  return out;
}

Status CollectFiles(FileSystem& fs, const TableMetadata& metadata, const Snapshot& snapshot, bool live_data_only,
                    FileSets* sets) {
  if (!sets->manifest_lists.insert(snapshot.manifest_list).second) return Status::OK();
  auto manifests = format::ReadManifestList(fs, metadata, snapshot);
  if (!manifests.ok()) {
    // A list deleted by an earlier, interrupted expiry: nothing more to find.
    if (IsNotFound(manifests.status())) return Status::OK();
    return manifests.status();
  }
  for (const auto& manifest : *manifests) {
    if (!sets->manifests.insert(manifest.manifest_path).second) continue;
    auto entries = format::ReadManifestEntries(fs, metadata, manifest);
    if (!entries.ok()) {
      if (IsNotFound(entries.status())) continue;
      return entries.status();
    }
    for (const auto& entry : *entries) {
      if (live_data_only && entry.status == format::ManifestEntryStatus::kDeleted) continue;
      sets->data_files.insert(entry.data_file.file_path);
    }
  }
  return Status::OK();
}

}  // namespace datashard::maintenance
