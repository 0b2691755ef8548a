#include "datashard/commit/snapshot_producer.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <set>

#include "datashard/commit/commit_keys.h"
#include "datashard/commit/group_commit.h"
#include "datashard/commit/manifest_merger.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest.h"
#include "datashard/table_properties.h"
#include "datashard/util/uuid.h"

namespace datashard::commit {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
constexpr int kSnapshotIdRandomBits = 20;
constexpr int64_t kMaxEncodedVersion = (int64_t{1} << (63 - kSnapshotIdRandomBits)) - 1;
}  // namespace

int64_t NewSnapshotIdFor(int64_t version) {
  if (version < 1 || version > kMaxEncodedVersion) return NewSnapshotId();
  const auto random = static_cast<int64_t>(RandomBits() & ((uint64_t{1} << kSnapshotIdRandomBits) - 1));
  return (version << kSnapshotIdRandomBits) | random;
}

int64_t VersionOfSnapshotId(int64_t snapshot_id) { return snapshot_id >> kSnapshotIdRandomBits; }

namespace {

std::string OperationOf(const PendingSnapshot& pending) {
  if (pending.operation) return *pending.operation;
  if (pending.removed.empty()) return "append";
  return pending.added_files > 0 ? "overwrite" : "delete";
}

std::map<std::string, std::string> BuildSummary(const Snapshot* parent, const PendingSnapshot& pending,
                                                const std::vector<Intent>& intents, const InlineWrite& inline_write) {
  int64_t added_files = pending.added_files + inline_write.added_files,
          added_records = pending.added_records + inline_write.added_records,
          added_size = pending.added_files_size + inline_write.added_files_size;
  for (const auto& intent : intents) {
    added_files += intent.added_files;
    added_records += intent.added_records;
    added_size += intent.added_files_size;
  }
  int64_t removed_files = 0, removed_records = 0, removed_size = 0;
  for (const auto& removed : pending.removed) {
    removed_files += 1;
    removed_records += removed.file.record_count;
    removed_size += removed.file.file_size_in_bytes;
  }
  std::map<std::string, std::string> summary = pending.extra_summary;
  summary["operation"] = OperationOf(pending);
  if (added_files > 0) {
    summary["added-data-files"] = std::to_string(added_files);
    summary["added-records"] = std::to_string(added_records);
    summary["added-files-size"] = std::to_string(added_size);
  }
  if (!intents.empty()) summary[kGroupSizeSummary] = std::to_string(intents.size() + 1);
  if (removed_files > 0) {
    summary["deleted-data-files"] = std::to_string(removed_files);
    summary["deleted-records"] = std::to_string(removed_records);
    summary["removed-files-size"] = std::to_string(removed_size);
  }
  summary["changed-partition-count"] = added_files > 0 || removed_files > 0 ? "1" : "0";
  auto total = [&](const char* key, int64_t delta) {
    int64_t base = parent ? parent->SummaryLong(key, 0) : 0;
    summary[key] = std::to_string(std::max<int64_t>(0, base + delta));
  };
  // Java and PyIceberg expect all six totals as decimal strings.
  total("total-records", added_records - removed_records);
  total("total-files-size", added_size - removed_size);
  total("total-data-files", added_files - removed_files);
  total("total-delete-files", 0);
  total("total-position-deletes", 0);
  total("total-equality-deletes", 0);
  if (pending.commit_key) summary[kCommitKeySummary] = *pending.commit_key;
  return summary;
}

// Keeps the metadata JSON bounded: the newest `max_snapshots` snapshots plus
// any a ref points at. Older states stay reachable through the metadata-log
// chain of v<K>.metadata.json files.
void TrimHistory(TableMetadata& m) {
  const int64_t max_snapshots = IntegerProperty(m, TableProperties::kMetadataMaxSnapshots);
  if (static_cast<int64_t>(m.snapshots.size()) > max_snapshots) {
    std::vector<Snapshot> kept;
    const size_t first_kept = m.snapshots.size() - static_cast<size_t>(max_snapshots);
    for (size_t i = 0; i < m.snapshots.size(); ++i) {
      bool referenced = false;
      for (const auto& [name, ref] : m.refs) referenced = referenced || ref.snapshot_id == m.snapshots[i].snapshot_id;
      if (i >= first_kept || referenced) kept.push_back(std::move(m.snapshots[i]));
    }
    m.snapshots = std::move(kept);
    // The spec: drop log entries up to the last one whose snapshot is gone.
    size_t cut = 0;
    for (size_t i = 0; i < m.snapshot_log.size(); ++i) {
      if (m.SnapshotById(m.snapshot_log[i].snapshot_id) == nullptr) cut = i + 1;
    }
    m.snapshot_log.erase(m.snapshot_log.begin(), m.snapshot_log.begin() + static_cast<std::ptrdiff_t>(cut));
  }
  const int64_t max_versions = IntegerProperty(m, TableProperties::kMetadataPreviousVersionsMax);
  if (static_cast<int64_t>(m.metadata_log.size()) > max_versions) {
    m.metadata_log.erase(m.metadata_log.begin(), m.metadata_log.end() - static_cast<std::ptrdiff_t>(max_versions));
  }
}

// The manifest lists this process wrote most recently, by path: the next
// commit usually builds on the list it just published and need not read it
// back. A list's path is unique to one attempt and the file never changes, so
// an entry cannot go stale; it is only consulted for a path the parent
// version names.
class RecentManifestLists {
 public:
  std::optional<std::vector<format::ManifestFile>> Find(const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [list_path, manifests] : lists_) {
      if (list_path == path) return manifests;
    }
    return std::nullopt;
  }
  void Add(std::string path, std::vector<format::ManifestFile> manifests) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (lists_.size() >= kCapacity) lists_.pop_front();
    lists_.emplace_back(std::move(path), std::move(manifests));
  }

 private:
  static constexpr size_t kCapacity = 8;
  std::mutex mutex_;
  std::deque<std::pair<std::string, std::vector<format::ManifestFile>>> lists_;
};

RecentManifestLists& RecentLists() {
  static RecentManifestLists lists;
  return lists;
}

Result<std::vector<format::ManifestFile>> ParentManifests(FileSystem& fs, const TableMetadata& metadata,
                                                          const Snapshot& parent) {
  if (auto known = RecentLists().Find(parent.manifest_list)) return std::move(*known);
  return format::ReadManifestList(fs, metadata, parent);
}

}  // namespace

Result<BuiltCommit> BuildSnapshot(FileSystem& fs, const VersionedMetadata& base, const PendingSnapshot& pending,
                                  int attempt) {
  const TableMetadata& parent_metadata = *base.metadata;
  BuiltCommit built;
  if (pending.commit_key) {
    ARROW_ASSIGN_OR_RAISE(auto existing, FindCommitKey(fs, parent_metadata, *pending.commit_key));
    if (existing) {
      built.already_committed = true;
      built.snapshot_id = existing;
      return built;
    }
  }
  std::vector<Intent> intents;
  const int64_t now_ms = NowMs();
  if (pending.group) {
    auto mark = MarkOf(parent_metadata, pending.group->writer());
    if (mark && mark->seq >= pending.group->seq()) {
      if (mark->snapshot_id == 0) return Conflict("this commit was withdrawn");  // cannot happen: only we withdraw
      built.already_committed = true;
      built.by_group = true;
      built.snapshot_id = mark->snapshot_id;
      return built;
    }
    ARROW_ASSIGN_OR_RAISE(intents, CollectIntents(fs, parent_metadata, pending.group->writer(), pending.durability,
                                                  now_ms, pending.group->writes_rows()));
    // Never publish another writer's files that are gone (orphan cleanup
    // deletes under the commit queue, which the committer holds while it
    // builds and publishes) or that are old enough for a cleanup elsewhere
    // to take (the age limit applies to intents always: leaving one pending
    // is never wrong, its writer then commits, or fails, by itself).
    const int64_t max_age_ms = MaxFileAgeOf(parent_metadata);
    std::erase_if(intents, [&](const Intent& intent) {
      auto files = FilesOfIntent(fs, parent_metadata, intent);
      return !files.ok() || !CheckFilesPresent(fs, *files, max_age_ms, now_ms).ok();
    });
  }
  // Rows carried in intents go into data files of this attempt, with this
  // commit's own rows; an intent whose rows the writer could not take stays
  // pending (no mark).
  InlineWrite inline_write;
  if (pending.group != nullptr && pending.group->writes_rows()) {
    std::vector<const Intent*> with_rows;
    for (const auto& intent : intents) {
      if (!intent.rows.empty()) with_rows.push_back(&intent);
    }
    if (pending.group->own_rows() || !with_rows.empty()) {
      ARROW_ASSIGN_OR_RAISE(inline_write, pending.group->WriteRows(with_rows));
      if (inline_write.taken.size() != with_rows.size())
        return arrow::Status::Invalid("the inline writer must say which intents it took");
      std::set<const Intent*> left;
      for (size_t i = 0; i < with_rows.size(); ++i) {
        if (!inline_write.taken[i]) left.insert(with_rows[i]);
      }
      built.attempt_files = inline_write.files;
      if (!left.empty()) std::erase_if(intents, [&](const Intent& intent) { return left.count(&intent) > 0; });
    }
  }
  TableMetadata m = parent_metadata;
  // A new id per attempt: it names the version this attempt publishes.
  const int64_t snapshot_id = NewSnapshotIdFor(base.version + 1);
  built.snapshot_id = snapshot_id;
  const bool on_main = pending.branch == "main";
  const Snapshot* parent = parent_metadata.CurrentSnapshot();
  if (!on_main) {
    auto ref = parent_metadata.refs.find(pending.branch);
    if (ref == parent_metadata.refs.end() || ref->second.type != "branch") {
      return Conflict("branch \"" + pending.branch + "\" no longer exists");
    }
    parent = parent_metadata.SnapshotById(ref->second.snapshot_id);
    if (parent == nullptr) return CorruptData("branch ", pending.branch, " points at a snapshot not in the metadata");
  }
  const int64_t sequence_number = parent_metadata.last_sequence_number + 1;
  const std::optional<int64_t> latest_id = parent ? std::optional<int64_t>(parent->snapshot_id) : std::nullopt;
  if (latest_id != pending.base_snapshot_id && (!pending.removed.empty() || pending.validate_concurrent)) {
    ARROW_ASSIGN_OR_RAISE(auto changes, ChangesSince(fs, parent_metadata, parent, pending.base_snapshot_id));
    for (const auto& removed : pending.removed) {
      if (changes.removed.count(removed.file.file_path)) {
        return Conflict("data file " + removed.file.file_path + " was removed or rewritten by another commit");
      }
    }
    if (pending.validate_concurrent) ARROW_RETURN_NOT_OK(pending.validate_concurrent(changes));
    // An incomplete change list can still miss a removal: the manifest
    // rewrite below fails if a removed file is no longer live.
  }

  std::vector<format::ManifestFile> manifests;
  for (auto manifest : pending.new_manifests) {
    manifest.sequence_number = sequence_number;
    manifest.min_sequence_number = sequence_number;
    manifest.added_snapshot_id = snapshot_id;
    manifests.push_back(std::move(manifest));
  }
  for (auto manifest : inline_write.manifests) {
    manifest.sequence_number = sequence_number;
    manifest.min_sequence_number = sequence_number;
    manifest.added_snapshot_id = snapshot_id;
    manifests.push_back(std::move(manifest));
  }
  for (const auto& intent : intents) {
    for (auto manifest : intent.manifests) {
      manifest.sequence_number = sequence_number;
      manifest.min_sequence_number = sequence_number;
      manifest.added_snapshot_id = snapshot_id;
      manifests.push_back(std::move(manifest));
    }
  }
  if (parent == nullptr && !pending.removed.empty()) {
    return Conflict("the table is empty now; the files to remove are gone");
  }
  if (parent != nullptr) {
    ARROW_ASSIGN_OR_RAISE(auto inherited, ParentManifests(fs, parent_metadata, *parent));
    ManifestMergeContext context{fs, parent_metadata, snapshot_id, sequence_number, pending.durability};
    // Manifests that only recorded an earlier snapshot's deletions carry nothing live.
    std::erase_if(inherited, [](const format::ManifestFile& manifest) {
      return manifest.added_files_count + manifest.existing_files_count == 0;
    });
    if (!pending.removed.empty()) {
      std::vector<RemovedFileRef> refs;
      for (const auto& removed : pending.removed) refs.push_back({removed.file.file_path, removed.manifest_path});
      ARROW_ASSIGN_OR_RAISE(inherited, RemoveFiles(context, std::move(inherited), refs, &built.attempt_files));
    }
    ARROW_ASSIGN_OR_RAISE(auto merged, pending.merge_all_manifests
                                           ? MergeAllManifests(context, std::move(inherited), &built.attempt_files)
                                           : MergeSmallManifests(context, std::move(inherited), &built.attempt_files));
    for (auto& manifest : merged) manifests.push_back(std::move(manifest));
  }

  const std::string list_path = format::NewManifestListPath(m.location, snapshot_id, attempt);
  format::ManifestListInfo info{snapshot_id, parent ? std::optional<int64_t>(parent->snapshot_id) : std::nullopt,
                                sequence_number};
  ARROW_ASSIGN_OR_RAISE(std::string list_bytes, format::EncodeManifestList(info, manifests));
  built.attempt_files.push_back(list_path);
  ARROW_RETURN_NOT_OK(fs.WriteNewFile(list_path, list_bytes, Durability::kProcess));
  RecentLists().Add(list_path, manifests);

  Snapshot snapshot;
  snapshot.snapshot_id = snapshot_id;
  if (parent != nullptr) snapshot.parent_snapshot_id = parent->snapshot_id;
  snapshot.sequence_number = sequence_number;
  // Timestamps stay monotone even if this host's clock is behind the last writer's.
  snapshot.timestamp_ms = std::max(NowMs(), parent_metadata.last_updated_ms);
  snapshot.manifest_list = list_path;
  snapshot.summary = BuildSummary(parent, pending, intents, inline_write);
  snapshot.schema_id = m.current_schema_id;

  m.metadata_log.push_back(
      MetadataLogEntry{parent_metadata.last_updated_ms, format::MetadataFilePath(m.location, base.version)});
  m.last_sequence_number = sequence_number;
  m.last_updated_ms = snapshot.timestamp_ms;
  if (on_main) {
    m.current_snapshot_id = snapshot.snapshot_id;
    m.refs["main"] = SnapshotRef{snapshot.snapshot_id, "branch", {}, {}, {}};
    m.snapshot_log.push_back(SnapshotLogEntry{snapshot.timestamp_ms, snapshot.snapshot_id});
  } else {
    m.refs[pending.branch].snapshot_id = snapshot.snapshot_id;
  }
  m.snapshots.push_back(std::move(snapshot));
  if (pending.group) {
    PruneMarks(m, now_ms);
    if (pending.group->posted()) {
      SetMark(m, pending.group->writer(), Mark{pending.group->seq(), snapshot_id, now_ms});
    }
    for (const auto& intent : intents) SetMark(m, intent.writer, Mark{intent.seq, snapshot_id, now_ms});
  }
  TrimHistory(m);
  built.metadata = std::move(m);
  return built;
}

}  // namespace datashard::commit
