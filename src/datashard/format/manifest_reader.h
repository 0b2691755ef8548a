// Reading a snapshot's manifest list and manifests through a FileSystem,
// with every path checked against the table location before it is opened.
#pragma once

#include <vector>

#include "datashard/file_system.h"
#include "datashard/format/data_file.h"
#include "datashard/table_metadata.h"

namespace datashard::format {

Result<std::vector<ManifestFile>> ReadManifestList(FileSystem& fs, const TableMetadata& metadata,
                                                   const Snapshot& snapshot);

// Entries of a manifest with inherited snapshot ids and sequence numbers
// filled in from its manifest-list entry (spec "Sequence Number Inheritance").
Result<std::vector<ManifestEntry>> ReadManifestEntries(FileSystem& fs, const TableMetadata& metadata,
                                                       const ManifestFile& manifest);

}  // namespace datashard::format
