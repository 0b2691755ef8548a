// RemoveOrphanFiles: delete files under the table that no reachable snapshot
// uses, but only those older than a grace period, so a writer that has
// written files and not yet committed them never loses them.
#include <functional>
#include <set>

#include "datashard/commit/group_commit.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/maintenance.h"
#include "datashard/table/maintenance/history.h"

namespace datashard {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Status ListRecursive(FileSystem& fs, const std::string& dir, std::vector<std::string>* out, int depth = 0) {
  if (depth > 32) return Status::OK();
  auto entries = fs.ListDir(dir);
  if (!entries.ok()) return IsNotFound(entries.status()) ? Status::OK() : entries.status();
  for (const auto& entry : *entries) {
    const std::string path = dir + "/" + entry.path;
    if (entry.is_dir) {
      ARROW_RETURN_NOT_OK(ListRecursive(fs, path, out, depth + 1));
    } else {
      out->push_back(path);
    }
  }
  return Status::OK();
}

}  // namespace

Result<OrphanResult> RemoveOrphanFiles(Table& table, const OrphanOptions& options) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  FileSystem& fs = table.fs();
  auto metadata = table.metadata();
  ARROW_ASSIGN_OR_RAISE(auto snapshots, maintenance::SnapshotsReachableFrom(fs, *metadata));
  maintenance::FileSets used;
  for (const auto& s : snapshots) {
    ARROW_RETURN_NOT_OK(maintenance::CollectFiles(fs, *metadata, s, /*live_data_only=*/true, &used));
  }
  // Files named by a group-commit intent: a leader may publish them any moment.
  ARROW_ASSIGN_OR_RAISE(auto intents, commit::RecentIntents(fs, table.location(), commit::NowMs()));
  std::set<std::string> intent_files;
  for (const auto& intent : intents) {
    intent_files.insert(commit::IntentPath(table.location(), intent.writer, intent.seq));
    for (const auto& manifest : intent.manifests) {
      used.manifests.insert(manifest.manifest_path);
      auto entries = format::ReadManifestEntries(fs, *metadata, manifest);
      if (!entries.ok()) {
        if (IsNotFound(entries.status())) continue;
        return entries.status();
      }
      for (const auto& entry : *entries) used.data_files.insert(entry.data_file.file_path);
    }
  }
  std::vector<std::string> files;
  ARROW_RETURN_NOT_OK(ListRecursive(fs, format::DataDir(table.location()), &files));
  ARROW_RETURN_NOT_OK(ListRecursive(fs, format::MetadataDir(table.location()), &files));
  OrphanResult result;
  for (const auto& path : files) {
    const std::string name = path.substr(path.find_last_of('/') + 1);
    // Table metadata, the hint and the queue lock are never orphans.
    if (format::ParseMetadataVersion(name) || path == format::VersionHintPath(table.location()) ||
        path == format::CommitQueuePath(table.location())) {
      continue;
    }
    if (used.data_files.count(path) || used.manifests.count(path) || used.manifest_lists.count(path) ||
        intent_files.count(path)) {
      continue;
    }
    auto info = fs.GetFileInfo(path);
    if (!info.ok()) {
      // Gone since the listing (a losing writer cleaned up after itself).
      if (IsNotFound(info.status())) continue;
      return info.status();
    }
    if (info->mtime_ms >= options.older_than_ms) continue;  // may belong to a writer still at work
    if (EndsWith(name, ".parquet")) {
      result.data_files++;
    } else if (name.rfind("snap-", 0) == 0 && EndsWith(name, ".avro")) {
      result.manifest_lists++;
    } else if (EndsWith(name, ".avro")) {
      result.manifest_files++;
    } else {
      result.other_files++;
    }
    if (!options.dry_run) {
      Status deleted = fs.DeleteFile(path);
      if (!deleted.ok() && !IsNotFound(deleted)) return deleted;
    }
    result.orphans.push_back(path);
  }
  return result;
}

}  // namespace datashard
