// RemoveOrphanFiles: delete files under the table that no reachable snapshot
// uses, but only those older than a grace period, so a writer that has
// written files and not yet committed them never loses them.
//
// The deletes happen holding the table's commit queue, in short batches, each
// after catching up with the versions published since the files were found
// unreferenced. Commits check their new files under the same queue before
// they publish (commit/committer.h, CommitOptions::new_files), so a check and
// a delete never interleave: a commit either publishes files that are there
// (and the catch-up then keeps them) or finds them gone and fails.
#include <algorithm>
#include <chrono>
#include <functional>
#include <set>

#include "datashard/commit/group_commit.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/commit/version_resolver.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/io/commit_queue.h"
#include "datashard/maintenance.h"
#include "datashard/table/maintenance/history.h"
#include "datashard/table/table_internal.h"

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

// How long cleanup waits for the commit queue, and how long it holds it at a
// time (commits wait behind it; theirs take about a millisecond).
constexpr double kQueueWaitMs = 30'000;
constexpr auto kHoldQueueFor = std::chrono::milliseconds(50);
constexpr size_t kDeletesPerHold = 256;

// Adds what the pending group-commit intents name: a leader may publish
// those files any moment.
Status AddIntentFiles(FileSystem& fs, const TableMetadata& metadata, maintenance::FileSets* used,
                      std::set<std::string>* intent_files) {
  ARROW_ASSIGN_OR_RAISE(auto intents, commit::RecentIntents(fs, metadata.location, commit::NowMs()));
  for (const auto& intent : intents) {
    intent_files->insert(commit::IntentPath(metadata.location, intent.writer, intent.seq));
    for (const auto& manifest : intent.manifests) used->manifests.insert(manifest.manifest_path);
    ARROW_ASSIGN_OR_RAISE(auto files, commit::FilesOfIntent(fs, metadata, intent));
    // Manifests among them are counted as data files too: either set keeps a file.
    for (auto& file : files) used->data_files.insert(std::move(file));
  }
  return Status::OK();
}

// What the cleanup has seen: every file used by versions up to `version`.
struct Seen {
  std::shared_ptr<const TableMetadata> metadata;  // of `version`
  int64_t version = 0;
  int64_t last_sequence_number = 0;
  maintenance::FileSets used;
  std::set<std::string> intent_files;
};

// Brings `seen` up to the latest version: the files of every snapshot
// published since (each version adds at most a few; their manifests already
// known are not read again).
Status CatchUp(FileSystem& fs, const std::string& location, Seen* seen) {
  ARROW_ASSIGN_OR_RAISE(int64_t latest, commit::FindLatestVersion(fs, location, seen->version));
  for (int64_t version = seen->version + 1; version <= latest; ++version) {
    auto loaded = commit::LoadVersion(fs, location, version);
    if (!loaded.ok()) {
      if (!IsNotFound(loaded.status())) return loaded.status();
      return MakeError(ErrorKind::kConcurrentModification,
                       "orphan removal stopped: metadata version " + std::to_string(version) + " of " + location +
                           " vanished while it ran (a concurrent expiry?); nothing more was deleted, run it again");
    }
    const TableMetadata& metadata = *loaded->metadata;
    for (const auto& snapshot : metadata.snapshots) {
      if (snapshot.sequence_number <= seen->last_sequence_number) continue;
      ARROW_RETURN_NOT_OK(maintenance::CollectFiles(fs, metadata, snapshot, /*live_data_only=*/true, &seen->used));
    }
    seen->last_sequence_number = std::max(seen->last_sequence_number, metadata.last_sequence_number);
    seen->version = version;
    seen->metadata = loaded->metadata;
  }
  return AddIntentFiles(fs, *seen->metadata, &seen->used, &seen->intent_files);
}

bool InUse(const Seen& seen, const std::string& path) {
  return seen.used.data_files.count(path) || seen.used.manifests.count(path) || seen.used.manifest_lists.count(path) ||
         seen.intent_files.count(path);
}

}  // namespace

Result<OrphanResult> RemoveOrphanFiles(Table& table, const OrphanOptions& options) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  FileSystem& fs = table.fs();
  auto metadata = table.metadata();
  Seen seen;
  seen.metadata = metadata;
  seen.version = table.version();
  seen.last_sequence_number = metadata->last_sequence_number;
  ARROW_ASSIGN_OR_RAISE(auto snapshots, maintenance::SnapshotsReachableFrom(fs, *metadata));
  for (const auto& s : snapshots) {
    ARROW_RETURN_NOT_OK(maintenance::CollectFiles(fs, *metadata, s, /*live_data_only=*/true, &seen.used));
  }
  ARROW_RETURN_NOT_OK(AddIntentFiles(fs, *metadata, &seen.used, &seen.intent_files));
  std::vector<std::string> files;
  ARROW_RETURN_NOT_OK(ListRecursive(fs, format::DataDir(table.location()), &files));
  const bool narrowed = !options.data_file_prefix.empty() || !options.only_paths.empty();
  if (!narrowed) ARROW_RETURN_NOT_OK(ListRecursive(fs, format::MetadataDir(table.location()), &files));
  const std::set<std::string> only(options.only_paths.begin(), options.only_paths.end());
  std::vector<std::string> candidates;
  for (const auto& path : files) {
    const std::string name = path.substr(path.find_last_of('/') + 1);
    if (!options.data_file_prefix.empty() && name.rfind(options.data_file_prefix + "-", 0) != 0) continue;
    if (!only.empty() && !only.count(path)) continue;
    // Table metadata, the hint and the queue lock are never orphans.
    if (format::ParseMetadataVersion(name) || path == format::VersionHintPath(table.location()) ||
        path == format::CommitQueuePath(table.location())) {
      continue;
    }
    if (InUse(seen, path)) continue;
    auto info = fs.GetFileInfo(path);
    if (!info.ok()) {
      // Gone since the listing (a losing writer cleaned up after itself).
      if (IsNotFound(info.status())) continue;
      return info.status();
    }
    if (info->mtime_ms >= options.older_than_ms) continue;  // may belong to a writer still at work
    candidates.push_back(path);
  }
  OrphanResult result;
  auto count = [&result](const std::string& path) {
    const std::string name = path.substr(path.find_last_of('/') + 1);
    if (EndsWith(name, ".parquet")) {
      result.data_files++;
    } else if (name.rfind("snap-", 0) == 0 && EndsWith(name, ".avro")) {
      result.manifest_lists++;
    } else if (EndsWith(name, ".avro")) {
      result.manifest_files++;
    } else {
      result.other_files++;
    }
    result.orphans.push_back(path);
  };
  if (options.dry_run) {
    for (const auto& path : candidates) count(path);
    return result;
  }
  io::CommitQueue* queue_of_table = TableInternal::Queue(table);
  size_t next = 0;
  while (next < candidates.size()) {
    // Most of the catching up happens outside the queue; under it, only the
    // versions of the last moments are left.
    ARROW_RETURN_NOT_OK(CatchUp(fs, table.location(), &seen));
    const auto waited_from = std::chrono::steady_clock::now();
    auto queue = queue_of_table != nullptr ? queue_of_table->TryEnter(kQueueWaitMs) : nullptr;
    if (!queue &&
        std::chrono::steady_clock::now() - waited_from >= std::chrono::duration<double, std::milli>(kQueueWaitMs)) {
      return MakeError(ErrorKind::kConcurrentModification,
                       "orphan removal stopped after deleting " + std::to_string(result.orphans.size()) +
                           " files: the commit queue of " + table.location() + " stayed busy for " +
                           std::to_string(static_cast<int64_t>(kQueueWaitMs / 1000)) + " s; run it again");
    }
    // (No queue at all here: commits cannot take one either, and the grace
    // period is the whole protection, as between hosts.)
    ARROW_RETURN_NOT_OK(CatchUp(fs, table.location(), &seen));
    const auto held_from = std::chrono::steady_clock::now();
    for (size_t deleted = 0; next < candidates.size() && deleted < kDeletesPerHold &&
                             std::chrono::steady_clock::now() - held_from < kHoldQueueFor;
         ++next, ++deleted) {
      const std::string& path = candidates[next];
      if (InUse(seen, path)) continue;  // a commit published it since the listing
      Status removed = fs.DeleteFile(path);
      if (!removed.ok()) {
        if (IsNotFound(removed)) continue;
        return removed;
      }
      count(path);
    }
  }
  return result;
}

}  // namespace datashard
