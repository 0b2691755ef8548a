// Compaction: RewriteDataFiles bins small files per partition and rewrites
// each bin as one file; RewriteManifests merges all manifests. Both are
// ordinary commits (operation "replace"): a concurrent append lands on top,
// and a concurrent delete of a file being compacted is a conflict.
#include <algorithm>
#include <map>
#include <set>

#include <arrow/api.h>

#include "datashard/commit/committer.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/maintenance.h"
#include "datashard/scan/file_reader.h"
#include "datashard/scan/table_scan.h"
#include "datashard/transaction.h"

namespace datashard {

Result<RewriteResult> RewriteDataFiles(Table& table, int64_t target_file_size) {
  if (target_file_size <= 0) return InvalidArgument("target_file_size must be positive, got ", target_file_size);
  ARROW_RETURN_NOT_OK(table.Refresh());
  auto metadata = table.metadata();
  const Schema& schema = *metadata->CurrentSchema();
  ARROW_ASSIGN_OR_RAISE(auto tasks, scan::PlanFiles(table.fs(), *metadata, metadata->CurrentSnapshot(), schema, {}));
  // Files of one partition (same spec values) can be combined.
  std::map<std::vector<std::optional<std::string>>, std::vector<const scan::FileScanTask*>> partitions;
  for (const auto& task : tasks) {
    if (task.file.file_size_in_bytes < target_file_size) partitions[task.file.partition].push_back(&task);
  }
  RewriteResult result;
  auto tx = std::make_unique<Transaction>(table.shared_from_this());
  tx->MarkAsRewrite();
  for (auto& [partition, files] : partitions) {
    std::sort(files.begin(), files.end(), [](auto* a, auto* b) { return a->sequence_number < b->sequence_number; });
    std::vector<const scan::FileScanTask*> bin;
    int64_t bin_size = 0;
    auto flush = [&]() -> Status {
      if (bin.size() >= 2) {
        std::vector<std::shared_ptr<arrow::Table>> parts;
        std::vector<std::string> paths;
        for (const auto* task : bin) {
          ARROW_ASSIGN_OR_RAISE(auto rows, scan::ReadDataFile(table.fs(), task->file.file_path, schema.fields));
          parts.push_back(std::move(rows));
          paths.push_back(task->file.file_path);
        }
        ARROW_ASSIGN_OR_RAISE(auto combined, arrow::ConcatenateTables(parts));
        ARROW_RETURN_NOT_OK(tx->DeleteFiles(paths));
        ARROW_RETURN_NOT_OK(tx->Append(combined));
        result.rewritten_files += static_cast<int64_t>(bin.size());
        result.added_files += 1;
      }
      bin.clear();
      bin_size = 0;
      return Status::OK();
    };
    for (const auto* task : files) {
      if (bin_size + task->file.file_size_in_bytes > target_file_size && !bin.empty()) ARROW_RETURN_NOT_OK(flush());
      bin.push_back(task);
      bin_size += task->file.file_size_in_bytes;
    }
    ARROW_RETURN_NOT_OK(flush());
  }
  if (result.rewritten_files == 0) {
    ARROW_RETURN_NOT_OK(tx->Rollback());
    return result;
  }
  ARROW_ASSIGN_OR_RAISE(auto info, tx->Commit());
  result.snapshot_id = info.snapshot_id;
  return result;
}

Result<RewriteResult> RewriteManifests(Table& table) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  auto metadata = table.metadata();
  RewriteResult result;
  if (metadata->CurrentSnapshot() == nullptr) return result;
  // Already one data manifest per partition spec, none carrying removed
  // entries: nothing to merge, no commit.
  ARROW_ASSIGN_OR_RAISE(auto before, format::ReadManifestList(table.fs(), *metadata, *metadata->CurrentSnapshot()));
  std::map<int32_t, int64_t> per_spec;
  bool has_deleted_entries = false;
  for (const auto& m : before) {
    if (m.content != format::ManifestContent::kData) continue;
    per_spec[m.partition_spec_id] += 1;
    has_deleted_entries = has_deleted_entries || m.deleted_files_count > 0;
  }
  const bool merged_already =
      std::all_of(per_spec.begin(), per_spec.end(), [](const auto& s) { return s.second <= 1; });
  if (merged_already && !has_deleted_entries) return result;
  commit::PendingSnapshot pending;
  pending.operation = "replace";
  pending.merge_all_manifests = true;
  ARROW_ASSIGN_OR_RAISE(pending.durability, commit::DurabilityOf(*metadata));
  pending.base_snapshot_id = metadata->current_snapshot_id;
  commit::CommitOptions options;
  options.durability = pending.durability;
  commit::VersionedMetadata start{table.version(), metadata};
  ARROW_ASSIGN_OR_RAISE(auto outcome, commit::CommitWithRetry(
                                          table.fs(), table.location(), start,
                                          [&](const commit::VersionedMetadata& latest, int attempt) {
                                            return commit::BuildSnapshot(table.fs(), latest, pending, attempt);
                                          },
                                          options));
  table.Adopt(outcome.committed.version, outcome.committed.metadata);
  result.snapshot_id = outcome.snapshot_id;
  // Counted from the lists themselves; a count the table can no longer
  // report (the list unreadable now) does not undo the commit.
  const Snapshot* committed = outcome.committed.metadata->SnapshotById(outcome.snapshot_id.value_or(0));
  if (committed != nullptr) {
    auto after = format::ReadManifestList(table.fs(), *outcome.committed.metadata, *committed);
    if (after.ok()) {
      // Manifests of `from` that `to` no longer lists.
      auto missing = [](const std::vector<format::ManifestFile>& from, const std::vector<format::ManifestFile>& to) {
        std::set<std::string> present;
        for (const auto& m : to) present.insert(m.manifest_path);
        return static_cast<int64_t>(std::count_if(from.begin(), from.end(), [&](const format::ManifestFile& m) {
          return present.count(m.manifest_path) == 0;
        }));
      };
      result.rewritten_manifests = missing(before, *after);
      result.added_manifests = missing(*after, before);
    }
  }
  return result;
}

}  // namespace datashard
