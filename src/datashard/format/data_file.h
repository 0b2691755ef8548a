// Manifest contents: DataFile, ManifestEntry (spec "Manifests") and the
// manifest-list record ManifestFile (spec "Manifest Lists").
//
// Column bounds and partition values are kept in Iceberg's single-value binary
// serialization (spec Appendix D), the form manifests store them in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace datashard::format {

enum class DataFileContent : int32_t { kData = 0, kPositionDeletes = 1, kEqualityDeletes = 2 };
enum class ManifestEntryStatus : int32_t { kExisting = 0, kAdded = 1, kDeleted = 2 };
enum class ManifestContent : int32_t { kData = 0, kDeletes = 1 };

struct DataFile {
  DataFileContent content = DataFileContent::kData;
  std::string file_path;  // absolute, inside the table location
  std::string file_format = "PARQUET";
  // One value per partition-spec field, in spec order; nullopt = null. Bytes are
  // the single-value serialization of the partition result type.
  std::vector<std::optional<std::string>> partition;
  int64_t record_count = 0;
  int64_t file_size_in_bytes = 0;
  std::map<int32_t, int64_t> column_sizes;
  std::map<int32_t, int64_t> value_counts;
  std::map<int32_t, int64_t> null_value_counts;
  std::map<int32_t, int64_t> nan_value_counts;
  std::map<int32_t, std::string> lower_bounds;
  std::map<int32_t, std::string> upper_bounds;
  std::vector<int64_t> split_offsets;  // empty = null
  std::vector<int32_t> equality_ids;   // empty = null
  std::optional<int32_t> sort_order_id;

  bool operator==(const DataFile&) const = default;
};

struct ManifestEntry {
  ManifestEntryStatus status = ManifestEntryStatus::kAdded;
  // Null means "inherit from the manifest list entry" (spec "Sequence Number
  // Inheritance"); only ADDED entries may leave the sequence numbers null.
  std::optional<int64_t> snapshot_id;
  std::optional<int64_t> sequence_number;
  std::optional<int64_t> file_sequence_number;
  DataFile data_file;

  bool operator==(const ManifestEntry&) const = default;
};

struct FieldSummary {
  bool contains_null = false;
  std::optional<bool> contains_nan;
  std::optional<std::string> lower_bound;
  std::optional<std::string> upper_bound;

  bool operator==(const FieldSummary&) const = default;
};

struct ManifestFile {
  std::string manifest_path;
  int64_t manifest_length = 0;
  int32_t partition_spec_id = 0;
  ManifestContent content = ManifestContent::kData;
  int64_t sequence_number = 0;
  int64_t min_sequence_number = 0;
  int64_t added_snapshot_id = 0;
  int32_t added_files_count = 0;
  int32_t existing_files_count = 0;
  int32_t deleted_files_count = 0;
  int64_t added_rows_count = 0;
  int64_t existing_rows_count = 0;
  int64_t deleted_rows_count = 0;
  std::vector<FieldSummary> partitions;  // one per partition field

  bool operator==(const ManifestFile&) const = default;
};

}  // namespace datashard::format
