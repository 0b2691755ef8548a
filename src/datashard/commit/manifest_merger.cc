#include "datashard/commit/manifest_merger.h"

#include <algorithm>
#include <map>
#include <set>

#include "datashard/commit/conflict_checker.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest.h"
#include "datashard/format/partition_summary.h"

namespace datashard::commit {
namespace {

int Tier(const format::ManifestFile& manifest) {
  int64_t files = std::max<int64_t>(1, manifest.added_files_count + manifest.existing_files_count);
  int tier = 0;
  while (files >= static_cast<int64_t>(kManifestsPerTier)) {
    files /= static_cast<int64_t>(kManifestsPerTier);
    ++tier;
  }
  return tier;
}

Result<format::ManifestFile> MergeGroup(const ManifestMergeContext& context,
                                        const std::vector<format::ManifestFile>& group,
                                        std::vector<std::string>* written) {
  const format::ManifestFile& first = group.front();
  const PartitionSpec* spec = context.metadata.SpecById(first.partition_spec_id);
  const Schema* schema = context.metadata.CurrentSchema();
  if (spec == nullptr) return CorruptData("manifest uses unknown partition spec ", first.partition_spec_id);
  std::vector<format::ManifestEntry> merged;
  format::ManifestFile out;
  out.partition_spec_id = first.partition_spec_id;
  out.content = first.content;
  out.added_snapshot_id = context.snapshot_id;
  out.sequence_number = context.sequence_number;
  out.min_sequence_number = context.sequence_number;
  format::PartitionSummaryBuilder summaries(*schema, *spec);
  for (const auto& manifest : group) {
    ARROW_ASSIGN_OR_RAISE(auto entries, format::ReadManifestEntries(context.fs, context.metadata, manifest));
    for (auto& entry : entries) {
      if (entry.status == format::ManifestEntryStatus::kDeleted) continue;
      ARROW_RETURN_NOT_OK(summaries.Add(entry.data_file));
      // Carried-over entries are EXISTING and must spell out their sequence
      // numbers; only ADDED entries may inherit.
      entry.status = format::ManifestEntryStatus::kExisting;
      out.existing_files_count += 1;
      out.existing_rows_count += entry.data_file.record_count;
      out.min_sequence_number = std::min(out.min_sequence_number, entry.sequence_number.value_or(0));
      merged.push_back(std::move(entry));
    }
  }
  out.partitions = summaries.Finish();
  ARROW_ASSIGN_OR_RAISE(std::string bytes, format::EncodeManifest(*schema, *spec, out.content, merged));
  out.manifest_path = format::NewManifestPath(context.metadata.location);
  out.manifest_length = static_cast<int64_t>(bytes.size());
  written->push_back(out.manifest_path);
  ARROW_RETURN_NOT_OK(context.fs.WriteNewFile(out.manifest_path, bytes, Durability::kProcess));
  return out;
}

// Writes `entries` (already carrying their final statuses) as one manifest
// attributed to the snapshot being built.
Result<format::ManifestFile> WriteRewritten(const ManifestMergeContext& context, const format::ManifestFile& like,
                                            const std::vector<format::ManifestEntry>& entries,
                                            std::vector<std::string>* written) {
  const PartitionSpec* spec = context.metadata.SpecById(like.partition_spec_id);
  const Schema* schema = context.metadata.CurrentSchema();
  if (spec == nullptr) return CorruptData("manifest uses unknown partition spec ", like.partition_spec_id);
  format::ManifestFile out;
  out.partition_spec_id = like.partition_spec_id;
  out.content = like.content;
  out.added_snapshot_id = context.snapshot_id;
  out.sequence_number = context.sequence_number;
  out.min_sequence_number = context.sequence_number;
  format::PartitionSummaryBuilder summaries(*schema, *spec);
  for (const auto& entry : entries) {
    if (entry.status == format::ManifestEntryStatus::kDeleted) {
      out.deleted_files_count += 1;
      out.deleted_rows_count += entry.data_file.record_count;
      continue;
    }
    out.existing_files_count += 1;
    out.existing_rows_count += entry.data_file.record_count;
    out.min_sequence_number = std::min(out.min_sequence_number, entry.sequence_number.value_or(0));
    ARROW_RETURN_NOT_OK(summaries.Add(entry.data_file));
  }
  out.partitions = summaries.Finish();
  ARROW_ASSIGN_OR_RAISE(std::string bytes, format::EncodeManifest(*schema, *spec, out.content, entries));
  out.manifest_path = format::NewManifestPath(context.metadata.location);
  out.manifest_length = static_cast<int64_t>(bytes.size());
  written->push_back(out.manifest_path);
  ARROW_RETURN_NOT_OK(context.fs.WriteNewFile(out.manifest_path, bytes, Durability::kProcess));
  return out;
}

}  // namespace

Result<std::vector<format::ManifestFile>> RemoveFiles(const ManifestMergeContext& context,
                                                      std::vector<format::ManifestFile> manifests,
                                                      const std::vector<RemovedFileRef>& removed,
                                                      std::vector<std::string>* written) {
  std::set<std::string> pending;
  std::set<std::string> likely;  // manifests that listed the files when the transaction planned
  for (const auto& ref : removed) {
    pending.insert(ref.file_path);
    likely.insert(ref.manifest_path);
  }
  std::vector<bool> examined(manifests.size(), false);
  auto examine = [&](size_t i) -> Status {
    examined[i] = true;
    const auto& manifest = manifests[i];
    if (manifest.content != format::ManifestContent::kData) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto entries, format::ReadManifestEntries(context.fs, context.metadata, manifest));
    bool touched = false;
    std::vector<format::ManifestEntry> rewritten;
    for (auto& entry : entries) {
      if (entry.status == format::ManifestEntryStatus::kDeleted) continue;  // an older snapshot's deletion
      if (pending.erase(entry.data_file.file_path)) {
        entry.status = format::ManifestEntryStatus::kDeleted;
        entry.snapshot_id = context.snapshot_id;
        touched = true;
      } else {
        entry.status = format::ManifestEntryStatus::kExisting;
      }
      rewritten.push_back(std::move(entry));
    }
    if (!touched) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(manifests[i], WriteRewritten(context, manifest, rewritten, written));
    return Status::OK();
  };
  for (size_t i = 0; i < manifests.size() && !pending.empty(); ++i) {
    if (likely.count(manifests[i].manifest_path)) ARROW_RETURN_NOT_OK(examine(i));
  }
  // A concurrent merge may have moved the files into other manifests.
  for (size_t i = 0; i < manifests.size() && !pending.empty(); ++i) {
    if (!examined[i]) ARROW_RETURN_NOT_OK(examine(i));
  }
  if (!pending.empty()) {
    return Conflict("data file " + *pending.begin() + " is no longer in the table (removed by another commit)");
  }
  return manifests;
}

Result<std::vector<format::ManifestFile>> MergeAllManifests(const ManifestMergeContext& context,
                                                            std::vector<format::ManifestFile> manifests,
                                                            std::vector<std::string>* written) {
  std::map<int32_t, std::vector<format::ManifestFile>> by_spec;
  std::vector<format::ManifestFile> out;
  for (auto& manifest : manifests) {
    if (manifest.content == format::ManifestContent::kData) {
      by_spec[manifest.partition_spec_id].push_back(std::move(manifest));
    } else {
      out.push_back(std::move(manifest));
    }
  }
  for (auto& [spec_id, group] : by_spec) {
    if (group.size() == 1 && group[0].deleted_files_count == 0) {
      out.push_back(std::move(group[0]));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto merged, MergeGroup(context, group, written));
    out.push_back(std::move(merged));
  }
  return out;
}

Result<std::vector<format::ManifestFile>> MergeSmallManifests(const ManifestMergeContext& context,
                                                              std::vector<format::ManifestFile> manifests,
                                                              std::vector<std::string>* written) {
  while (true) {
    // Group by (spec, content, tier); merge the first full group found.
    std::map<std::tuple<int32_t, int32_t, int>, std::vector<size_t>> groups;
    for (size_t i = 0; i < manifests.size(); ++i) {
      const auto& m = manifests[i];
      groups[{m.partition_spec_id, static_cast<int32_t>(m.content), Tier(m)}].push_back(i);
    }
    const std::vector<size_t>* full = nullptr;
    for (const auto& [key, members] : groups) {
      // Delete manifests are never merged here (there are none yet).
      if (std::get<1>(key) == static_cast<int32_t>(format::ManifestContent::kData) &&
          members.size() >= kManifestsPerTier) {
        full = &members;
        break;
      }
    }
    if (full == nullptr) return manifests;
    std::vector<format::ManifestFile> group;
    for (size_t index : *full) group.push_back(manifests[index]);
    ARROW_ASSIGN_OR_RAISE(auto merged, MergeGroup(context, group, written));
    std::vector<format::ManifestFile> rest;
    for (size_t i = 0; i < manifests.size(); ++i) {
      if (std::find(full->begin(), full->end(), i) == full->end()) rest.push_back(std::move(manifests[i]));
    }
    rest.push_back(std::move(merged));
    manifests = std::move(rest);
  }
}

}  // namespace datashard::commit
