// Every file name a table uses, in one place (Hadoop-table layout of Iceberg):
//
//   <location>/metadata/v<N>.metadata.json      table metadata, one per version
//   <location>/metadata/version-hint.text       "N", digits only, a hint
//   <location>/metadata/.commit-queue.lock      advisory flock queue for committers
//   <location>/metadata/<uuid>-m<K>.avro        manifests
//   <location>/metadata/snap-<id>-<attempt>-<uuid>.avro   manifest lists
//   <location>/data/<uuid>.parquet              data files
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "datashard/status.h"

namespace datashard::format {

std::string MetadataDir(const std::string& location);
std::string DataDir(const std::string& location);
std::string MetadataFilePath(const std::string& location, int64_t version);
std::string VersionHintPath(const std::string& location);
// Lock file of the host-local commit queue (an optimisation, never needed for
// correctness); a dot name outside the *.metadata.json namespace.
std::string CommitQueuePath(const std::string& location);
std::string NewManifestPath(const std::string& location);
std::string NewManifestListPath(const std::string& location, int64_t snapshot_id, int attempt);
std::string NewDataFilePath(const std::string& location);

// "v12.metadata.json" -> 12; anything else -> nullopt.
std::optional<int64_t> ParseMetadataVersion(std::string_view file_name);

// A path read from metadata must name a file inside the table location: same
// prefix, no "." or ".." segments, no empty segments. Anything else is
// CorruptData before a single byte is read from it.
Status CheckInsideLocation(const std::string& location, const std::string& path);

// Normalises a user-supplied local table path to an absolute path without a
// trailing slash (no symlink resolution).
Result<std::string> NormalizeLocation(const std::string& path);

}  // namespace datashard::format
