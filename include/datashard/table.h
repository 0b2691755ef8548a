// A table: one directory holding an Apache Iceberg v2 table.
//
// A Table object pins one version of the table's metadata; Refresh() moves it
// to the latest. Every write is a commit that obeys the optimistic protocol of
// docs/architecture.md, so any number of processes may write the same table.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "datashard/file_system.h"
#include "datashard/scan.h"
#include "datashard/schema.h"
#include "datashard/table_metadata.h"

namespace datashard {

class Transaction;

// How a transaction is validated against concurrent commits (transaction.h).
enum class Isolation { kSnapshot, kSerializable };

struct CreateOptions {
  // An empty schema creates a table whose schema its first append sets
  // (SetInitialSchema); a partition spec given with it waits in the table
  // property TableProperties::kPendingPartitionSpec until then
  // (table_properties.h, which also lists the `properties` datashard reads).
  Schema schema;
  PartitionSpec partition_spec;
  // The table's first sort order (order 1; none: unsorted), bound to
  // `schema`, or, without one, waiting in TableProperties::kPendingSortOrder
  // for the first append's schema as the partition spec does.
  std::vector<SortTerm> sort_order;
  std::map<std::string, std::string> properties;
  // Open an existing table instead of failing (the original package's
  // create_table semantics). Its schema must match `schema`.
  bool exist_ok = true;
};

struct DataFileInfo {
  std::string file_path;
  int64_t record_count = 0;
  int64_t file_size_in_bytes = 0;
};

struct CommitInfo {
  std::optional<int64_t> snapshot_id;  // nullopt: nothing to commit
  int attempts = 0;                    // 1 = no lost race
  bool already_committed = false;      // the commit key was found: not applied twice
};

class Table : public std::enable_shared_from_this<Table> {
 public:
  // `path` is a local path or "s3://bucket/prefix"; without `fs` the file
  // system is chosen by the path (FileSystemForPath).
  static Result<std::shared_ptr<Table>> Create(const std::string& path, CreateOptions options,
                                               std::shared_ptr<FileSystem> fs = nullptr);
  static Result<std::shared_ptr<Table>> Load(const std::string& path, std::shared_ptr<FileSystem> fs = nullptr);

  const std::string& location() const;
  // True when Create() published this table's first version, false when it
  // opened a table that was there (a creator that lost the race included).
  bool created() const;
  // The pinned version and its metadata.
  int64_t version() const;
  std::shared_ptr<const TableMetadata> metadata() const;
  std::string metadata_location() const;
  Status Refresh();

  // Commits `data` as one snapshot. A commit_key makes the append idempotent:
  // if a snapshot with that key is already in the table, nothing is written.
  // `durability` overrides the table's datashard.commit.durability for this commit.
  Result<CommitInfo> Append(const std::shared_ptr<arrow::Table>& data,
                            const std::optional<std::string>& commit_key = std::nullopt,
                            std::optional<Durability> durability = std::nullopt);
  // The same for a stream of any length, read batch by batch in bounded
  // memory and committed as one snapshot once it ends; if it fails midway,
  // nothing is committed and the files written for it are deleted
  // (Transaction::Append).
  Result<CommitInfo> Append(const std::shared_ptr<arrow::RecordBatchReader>& data,
                            const std::optional<std::string>& commit_key = std::nullopt,
                            std::optional<Durability> durability = std::nullopt);
  std::unique_ptr<Transaction> NewTransaction(Isolation isolation = Isolation::kSnapshot);

  // Streams rows of a snapshot (default: the pinned current one).
  Result<std::shared_ptr<arrow::RecordBatchReader>> Scan(const ScanOptions& options);
  // The schema a Scan of this snapshot binds column names against (its own
  // for time travel, the current one for the head of a branch).
  Result<Schema> ReadSchema(std::optional<int64_t> snapshot_id);
  // Rows in a snapshot, from metadata alone.
  Result<int64_t> RowCount(std::optional<int64_t> snapshot_id);
  Result<std::vector<DataFileInfo>> DataFiles(std::optional<int64_t> snapshot_id);
  // Finds a snapshot even if it has left the metadata window, by walking the
  // metadata-log chain of older versions.
  Result<std::optional<Snapshot>> FindSnapshot(int64_t snapshot_id);
  // The snapshot a commit with `commit_key` made, if one is in the pinned
  // version's history (within the datashard.commit-key.lookback-ms window).
  Result<std::optional<int64_t>> FindCommitKey(const std::string& commit_key);

  FileSystem& fs();
  std::shared_ptr<FileSystem> shared_fs();

  ~Table();

 private:
  // The engine's access to the pinned-state machinery (table/table_internal.h).
  friend class TableInternal;
  struct Impl;
  Table(std::string location, std::shared_ptr<FileSystem> fs);
  std::unique_ptr<Impl> impl_;
};

}  // namespace datashard
