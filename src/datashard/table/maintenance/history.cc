// Enumerating a table's reachable history and the files each snapshot uses.
#include "datashard/table/maintenance/history.h"

#include <algorithm>
#include <map>

#include "datashard/format/file_names.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/format/table_metadata.h"

namespace datashard::maintenance {

Result<std::vector<Snapshot>> SnapshotsReachableFrom(FileSystem& fs, const TableMetadata& metadata) {
  std::map<int64_t, Snapshot> by_id;
  for (const auto& s : metadata.snapshots) by_id.emplace(s.snapshot_id, s);
  // Each older version keeps its own window; its metadata log's oldest entry
  // is the furthest step back. The walk ends where expiry cut the chain.
  std::set<std::string> visited;
  std::vector<MetadataLogEntry> log = metadata.metadata_log;
  while (!log.empty()) {
    const std::string older = log.front().metadata_file;
    ARROW_RETURN_NOT_OK(format::CheckInsideLocation(metadata.location, older));
    if (!visited.insert(older).second) return CorruptData("metadata log has a cycle at ", older);
    auto text = fs.ReadFile(older);
    if (!text.ok()) {
      if (IsNotFound(text.status())) break;  // deleted by maintenance: history ends here
      return text.status();
    }
    ARROW_ASSIGN_OR_RAISE(TableMetadata parsed, format::TableMetadataFromJson(*text, older));
    for (const auto& s : parsed.snapshots) by_id.emplace(s.snapshot_id, s);
    log = parsed.metadata_log;
  }
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
