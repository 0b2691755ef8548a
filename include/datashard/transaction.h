// A transaction groups writes into one atomic commit.
//
// It pins the table's current snapshot when it starts (its base): reads see
// that snapshot, and deletes are planned against it. Data files are written as
// soon as data is added (outside the commit's race window); Commit() publishes
// everything in one snapshot or nothing. Rollback() (or destroying an
// uncommitted transaction) deletes the files it wrote, leaving no trace.
//
// Validation at commit (Iceberg's rules): appends never conflict; removing a
// file that another writer removed or rewrote first is a conflict; under
// kSerializable, rows added concurrently that match anything the
// transaction read (Scan, Delete, Overwrite filters) are a conflict too.
// Conflicts surface as ConcurrentModification errors: retry from the start.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "datashard/scan.h"
#include "datashard/table.h"

namespace datashard {

class Transaction {
 public:
  Transaction(std::shared_ptr<Table> table, Isolation isolation = Isolation::kSnapshot);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Validates `data` against the table schema and writes it as data file(s).
  Status Append(const std::shared_ptr<arrow::Table>& data);
  // The same for a stream, read batch by batch in bounded memory: each
  // batch is validated and written as it arrives, into files rolled at the
  // table's write.target-file-size-bytes. If the stream or a batch fails,
  // the files written for it are deleted and the error returned (the
  // transaction's other changes stay). A stream that ends within 1 MiB is
  // appended as a table.
  Status Append(const std::shared_ptr<arrow::RecordBatchReader>& data);
  // Adds existing Parquet files to the table. Each path must lie inside the
  // table location (not under metadata/) and must not be in the table yet.
  // A file whose columns carry the table's Iceberg field ids and exact types
  // (as written with the table's Arrow schema) is registered where it is, with
  // statistics computed from its rows (and, on a partitioned table, if all its
  // rows fall in one partition, that partition's values); any other file
  // (plain pyarrow output without field ids, safely castable types, rows of
  // several partitions) has its rows copied into new data files, so that every Iceberg
  // reader can read them; once the commit succeeds, such a source file is
  // deleted (it sits in the table's directory unreferenced, an orphan).
  // Rows are validated as Append validates them.
  Status AppendFiles(const std::vector<std::string>& paths);
  // Adds files that DataFileWriters wrote (data_file_writer.h), given by their
  // WrittenFile descriptors, where they are and without reading them. Each
  // must follow the table's default partition spec and a schema the table
  // has, lie inside the table location (not under metadata/), be there with
  // the size it was written with, and not be in the table yet. Rollback()
  // leaves them where they are (orphans until committed or cleaned up).
  Status AddWrittenFiles(const std::vector<std::string>& descriptors);
  // Deletes the rows matching `filter` (any AND / OR / NOT tree; every row if
  // it is true) by rewriting the files that hold them (copy-on-write). A row
  // on which the filter is unknown (null) stays, as SQL's DELETE keeps it.
  // Returns the number of rows deleted.
  // (A name of its own: `Delete({})` stays the empty conjunction.)
  Result<int64_t> DeleteWhere(const Expression& filter);
  // The same for an Arrow compute expression, applied exactly as Arrow
  // evaluates it; the comparisons, IN lists and null tests in it prune files
  // (ScanOptions::arrow_filter).
  Result<int64_t> DeleteWhere(const arrow::compute::Expression& filter);
  // The same for the AND of `filter` (all rows if empty).
  Result<int64_t> Delete(const std::vector<Predicate>& filter) { return DeleteWhere(Expression::AllOf(filter)); }
  // Removes whole data files (paths as listed in the table).
  Status DeleteFiles(const std::vector<std::string>& paths);
  // Delete(filter), then Append(data): replaces the matching rows.
  Result<int64_t> OverwriteWhere(const std::shared_ptr<arrow::Table>& data, const Expression& filter);
  Result<int64_t> OverwriteWhere(const std::shared_ptr<arrow::Table>& data, const arrow::compute::Expression& filter);
  Result<int64_t> Overwrite(const std::shared_ptr<arrow::Table>& data, const std::vector<Predicate>& filter) {
    return OverwriteWhere(data, Expression::AllOf(filter));
  }
  // Reads the base snapshot (options.snapshot_id must be unset).
  Result<std::shared_ptr<arrow::RecordBatchReader>> Scan(const ScanOptions& options);

  void SetCommitKey(std::string key) { commit_key_ = std::move(key); }
  // Flushes this commit as `durability` says instead of as the table's
  // datashard.commit.durability property says.
  void SetDurability(Durability durability) { durability_ = durability; }
  // Writes to (and reads from) branch `name` instead of main. Call before any
  // other operation; the branch must exist (CreateBranch).
  Status SetBranch(const std::string& name);
  Result<CommitInfo> Commit();
  Status Rollback();
  bool active() const { return active_; }
  std::optional<int64_t> base_snapshot_id() const;

 private:
  // The engine's own modes (rewrite, deferred small appends, a given base):
  // table/table_internal.h.
  friend class TransactionInternal;
  // Starts from `base` instead of the table's metadata (Table::Append).
  Transaction(std::shared_ptr<Table> table, std::shared_ptr<const TableMetadata> base);
  struct Impl;
  Status CheckActive();
  Status AppendOneFile(const std::string& path);
  Result<CommitInfo> CommitOnce();
  Status WriteRows(const std::shared_ptr<arrow::Table>& conformed);
  Status WriteSurvivors(const std::shared_ptr<arrow::Table>& rows, const std::string& origin);
  // Deletes the rows on which `exact` is true (every row where it is unset),
  // in the files that `prune` (true wherever `exact` is) cannot rule out.
  Result<int64_t> DeleteMatching(const Expression& prune, const std::optional<arrow::compute::Expression>& exact);
  void DropOwnFile(const std::string& path);
  std::shared_ptr<Table> table_;
  std::unique_ptr<Impl> impl_;
  std::optional<std::string> commit_key_;
  std::optional<Durability> durability_;
  bool active_ = true;
};

}  // namespace datashard
