// Helpers shared by the maintenance operations: the snapshots a table can
// still reach, and the files (manifest lists, manifests, data files) a
// snapshot uses.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "datashard/file_system.h"
#include "datashard/table_metadata.h"

namespace datashard::maintenance {

// The metadata window plus older windows along the metadata-log chain,
// ordered by sequence number.
Result<std::vector<Snapshot>> SnapshotsReachableFrom(FileSystem& fs, const TableMetadata& metadata);

struct FileSets {
  std::set<std::string> manifest_lists;
  std::set<std::string> manifests;
  std::set<std::string> data_files;
};

// Adds the files `snapshot` uses. With live_data_only, data files whose entry
// is DELETED (removed by that very snapshot) are not counted.
Status CollectFiles(FileSystem& fs, const TableMetadata& metadata, const Snapshot& snapshot, bool live_data_only,
                    FileSets* sets);

}  // namespace datashard::maintenance
