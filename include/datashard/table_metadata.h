// The state of a table at one version: Iceberg v2 table metadata
// (spec "Table Metadata"). One TableMetadata is one v<N>.metadata.json file.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datashard/schema.h"

namespace datashard {

struct Snapshot {
  int64_t snapshot_id = 0;
  std::optional<int64_t> parent_snapshot_id;
  int64_t sequence_number = 0;
  int64_t timestamp_ms = 0;
  std::string manifest_list;                   // absolute path
  std::map<std::string, std::string> summary;  // always holds "operation"
  std::optional<int32_t> schema_id;

  std::string operation() const;
  // A summary total such as "total-records", or `fallback` if absent or not a number.
  int64_t SummaryLong(const std::string& key, int64_t fallback = 0) const;
};

struct SnapshotLogEntry {
  int64_t timestamp_ms = 0;
  int64_t snapshot_id = 0;
};

struct MetadataLogEntry {
  int64_t timestamp_ms = 0;
  std::string metadata_file;
};

struct SnapshotRef {
  int64_t snapshot_id = 0;
  std::string type = "branch";  // "branch" or "tag"
  std::optional<int32_t> min_snapshots_to_keep;
  std::optional<int64_t> max_snapshot_age_ms;
  std::optional<int64_t> max_ref_age_ms;
};

struct TableMetadata {
  int32_t format_version = 2;
  std::string table_uuid;
  std::string location;  // absolute, no trailing slash
  int64_t last_sequence_number = 0;
  int64_t last_updated_ms = 0;
  int32_t last_column_id = 0;
  std::vector<Schema> schemas;
  int32_t current_schema_id = 0;
  std::vector<PartitionSpec> partition_specs;
  int32_t default_spec_id = 0;
  int32_t last_partition_id = 999;
  int32_t default_sort_order_id = 0;
  std::vector<SortOrder> sort_orders = {SortOrder{}};  // order 0, unsorted, always listed
  std::map<std::string, std::string> properties;
  std::optional<int64_t> current_snapshot_id;  // nullopt = empty table (-1 on disk)
  std::vector<Snapshot> snapshots;
  std::vector<SnapshotLogEntry> snapshot_log;
  std::vector<MetadataLogEntry> metadata_log;
  std::map<std::string, SnapshotRef> refs;
  std::string statistics_json = "[]";            // kept verbatim
  std::string partition_statistics_json = "[]";  // kept verbatim

  const Schema* CurrentSchema() const;
  const Schema* SchemaById(int32_t id) const;
  const PartitionSpec* DefaultSpec() const;
  const PartitionSpec* SpecById(int32_t id) const;
  const SortOrder* DefaultSortOrder() const;
  const SortOrder* SortOrderById(int32_t id) const;
  const Snapshot* CurrentSnapshot() const;
  const Snapshot* SnapshotById(int64_t id) const;
};

}  // namespace datashard
