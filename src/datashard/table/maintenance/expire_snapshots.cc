// ExpireSnapshots: a metadata-only commit that forgets old snapshots, then
// deletion of the files only they used.
//
// The new version lists every retained snapshot inline and starts a fresh
// metadata-log chain, so no reader can walk back to an expired snapshot whose
// files are about to go. Old metadata files are deleted as a prefix
// (v1..vM), which version_resolver guards against.
#include <algorithm>
#include <set>

#include "datashard/commit/committer.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/format/file_names.h"
#include "datashard/maintenance.h"
#include "datashard/table/maintenance/history.h"
#include "datashard/table/table_internal.h"
#include "datashard/table_properties.h"

namespace datashard {
namespace {

struct Plan {
  std::vector<Snapshot> retained;
  std::vector<Snapshot> expired;
};

Result<Plan> PlanExpiry(FileSystem& fs, const TableMetadata& latest, const ExpireOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto all, maintenance::SnapshotsReachableFrom(fs, latest));
  std::set<int64_t> keep;
  if (latest.current_snapshot_id) keep.insert(*latest.current_snapshot_id);
  for (const auto& [name, ref] : latest.refs) keep.insert(ref.snapshot_id);
  const int64_t retain_last = std::max<int64_t>(1, options.retain_last);
  for (int64_t i = 0; i < retain_last && i < static_cast<int64_t>(all.size()); ++i) {
    keep.insert(all[all.size() - 1 - static_cast<size_t>(i)].snapshot_id);
  }
  Plan plan;
  for (auto& snapshot : all) {
    // No age limit given: only retain_last (and refs) keep a snapshot.
    const bool old_enough = !options.older_than_ms || snapshot.timestamp_ms < *options.older_than_ms;
    if (keep.count(snapshot.snapshot_id) || !old_enough) {
      plan.retained.push_back(std::move(snapshot));
    } else {
      plan.expired.push_back(std::move(snapshot));
    }
  }
  return plan;
}

}  // namespace

Result<ExpireResult> ExpireSnapshots(Table& table, const ExpireOptions& options) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  FileSystem& fs = table.fs();
  ExpireResult result;
  Plan final_plan;
  auto build = [&](const commit::VersionedMetadata& latest, int) -> Result<commit::BuiltCommit> {
    commit::BuiltCommit built;
    ARROW_ASSIGN_OR_RAISE(final_plan, PlanExpiry(fs, *latest.metadata, options));
    if (final_plan.expired.empty() || options.dry_run) {
      built.already_committed = true;  // nothing to publish
      return built;
    }
    TableMetadata m = *latest.metadata;
    m.snapshots = final_plan.retained;
    std::set<int64_t> expired_ids;
    for (const auto& s : final_plan.expired) expired_ids.insert(s.snapshot_id);
    size_t cut = 0;
    for (size_t i = 0; i < m.snapshot_log.size(); ++i) {
      if (expired_ids.count(m.snapshot_log[i].snapshot_id)) cut = i + 1;
    }
    m.snapshot_log.erase(m.snapshot_log.begin(), m.snapshot_log.begin() + static_cast<std::ptrdiff_t>(cut));
    m.metadata_log.clear();  // the chain restarts here: expired snapshots are unreachable
    m.properties[TableProperties::kHistoryStartVersion.key] = std::to_string(latest.version + 1);
    m.last_updated_ms = std::max(commit::NowMs(), latest.metadata->last_updated_ms);
    built.metadata = std::move(m);
    return built;
  };
  commit::CommitOptions commit_options;
  commit_options.queue = TableInternal::Queue(table);
  commit::VersionedMetadata start{table.version(), table.metadata()};
  ARROW_ASSIGN_OR_RAISE(auto outcome, commit::CommitWithRetry(fs, table.location(), start, build, commit_options));
  TableInternal::Adopt(table, outcome.committed.version, outcome.committed.metadata);
  for (const auto& s : final_plan.expired) result.expired_snapshot_ids.push_back(s.snapshot_id);
  if (final_plan.expired.empty()) return result;

  // The expiry is published: from here on nothing may report failure. Files
  // still used by a retained snapshot stay; the rest of what expired
  // snapshots used goes. If their manifests cannot be read now, nothing is
  // deleted and remove_orphan_files collects them later.
  const TableMetadata& metadata = *outcome.committed.metadata;
  maintenance::FileSets retained, expired;
  Status collected = Status::OK();
  for (const auto& s : final_plan.retained) {
    if (collected.ok()) collected = maintenance::CollectFiles(fs, metadata, s, /*live_data_only=*/true, &retained);
  }
  for (const auto& s : final_plan.expired) {
    if (collected.ok()) collected = maintenance::CollectFiles(fs, metadata, s, /*live_data_only=*/false, &expired);
  }
  if (!collected.ok()) {
    result.cleanup_skipped = collected.ToString();
    return result;
  }
  auto remove = [&](const std::set<std::string>& candidates, const std::set<std::string>& keep, int64_t* count) {
    for (const auto& path : candidates) {
      if (keep.count(path)) continue;
      ++*count;
      if (!options.dry_run) (void)fs.DeleteFile(path);
    }
  };
  remove(expired.data_files, retained.data_files, &result.deleted_data_files);
  remove(expired.manifests, retained.manifests, &result.deleted_manifests);
  remove(expired.manifest_lists, retained.manifest_lists, &result.deleted_manifest_lists);

  if (!options.dry_run) {
    // Old metadata files, oldest first and as a contiguous prefix; the newest
    // `previous-versions-max` before this commit stay for readers mid-load.
    const int64_t keep_versions = IntegerProperty(metadata, TableProperties::kMetadataPreviousVersionsMax);
    const int64_t last_to_delete = outcome.committed.version - 1 - keep_versions;
    for (int64_t v = 1; v <= last_to_delete; ++v) {
      Status deleted = fs.DeleteFile(format::MetadataFilePath(table.location(), v));
      if (deleted.ok()) result.deleted_metadata_files++;
    }
  }
  return result;
}

}  // namespace datashard
