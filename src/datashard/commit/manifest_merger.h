// Keeps manifest lists short without rewriting everything on every commit.
//
// Manifests are grouped in tiers by size (tier t holds manifests of
// 16^t..16^(t+1)-1 files). When a tier has 16 manifests they are merged into
// one manifest of the next tier. Each data-file entry is therefore rewritten
// O(log16 N) times over the table's life, and a manifest list holds at most
// ~15 manifests per tier: a commit's cost does not grow with history.
#pragma once

#include <string>
#include <vector>

#include "datashard/file_system.h"
#include "datashard/format/data_file.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/table_metadata.h"

namespace datashard::commit {

inline constexpr size_t kManifestsPerTier = 16;

struct ManifestMergeContext {
  FileSystem& fs;
  const TableMetadata& metadata;
  int64_t snapshot_id;      // the snapshot being built
  int64_t sequence_number;  // its sequence number
  Durability durability;
};

// Returns the manifests to carry into the new manifest list; merged manifests
// are written now and their paths appended to `written`.
Result<std::vector<format::ManifestFile>> MergeSmallManifests(const ManifestMergeContext& context,
                                                              std::vector<format::ManifestFile> manifests,
                                                              std::vector<std::string>* written);

// Merges every data manifest of each partition spec into one (rewrite
// manifests maintenance); delete manifests are carried as they are.
Result<std::vector<format::ManifestFile>> MergeAllManifests(const ManifestMergeContext& context,
                                                            std::vector<format::ManifestFile> manifests,
                                                            std::vector<std::string>* written);

struct RemovedFileRef {
  std::string file_path;
  std::string manifest_path;  // where the file was listed when the transaction planned it
};

// Rewrites the manifests that list `removed` so that those entries become
// DELETED in the new snapshot (other entries EXISTING; older DELETED entries
// dropped). A file that is no longer live in `manifests` means another writer
// removed it first: a ConcurrentModification conflict.
Result<std::vector<format::ManifestFile>> RemoveFiles(const ManifestMergeContext& context,
                                                      std::vector<format::ManifestFile> manifests,
                                                      const std::vector<RemovedFileRef>& removed,
                                                      std::vector<std::string>* written);

}  // namespace datashard::commit
