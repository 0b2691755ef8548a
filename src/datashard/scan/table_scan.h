// Planning and reading a snapshot.
//
// PlanFiles walks the manifest list and manifests of a snapshot, dropping
// data files whose column bounds prove no row can match the filter. The reader
// then opens the surviving Parquet files (a few at a time, in parallel),
// projects by field id, filters rows exactly, and streams record batches.
#pragma once

#include <memory>
#include <vector>

#include <arrow/record_batch.h>

#include "datashard/file_system.h"
#include "datashard/format/data_file.h"
#include "datashard/scan.h"
#include "datashard/table_metadata.h"

namespace datashard::scan {

struct FileScanTask {
  format::DataFile file;
  int64_t sequence_number = 0;  // data sequence number: commit order
  int64_t file_sequence_number = 0;
  int64_t snapshot_id = 0;    // the snapshot that added the file
  std::string manifest_path;  // the manifest that lists it
};

Result<std::vector<FileScanTask>> PlanFiles(FileSystem& fs, const TableMetadata& metadata, const Snapshot* snapshot,
                                            const Schema& schema, const std::vector<Predicate>& filter,
                                            ScanMetrics* metrics = nullptr);
// The same for any AND / OR / NOT filter (a name of its own: `{}` stays the
// empty conjunction for PlanFiles callers).
Result<std::vector<FileScanTask>> PlanFilesMatching(FileSystem& fs, const TableMetadata& metadata,
                                                    const Snapshot* snapshot, const Schema& schema,
                                                    const Expression& filter, ScanMetrics* metrics = nullptr);

// The schema a scan of `snapshot` binds column names against: a time-travel
// read (`time_travel`: the snapshot was named by id) sees the snapshot as it was
// written, with its own schema; the head of a branch (main's is the current
// snapshot) is read with the current schema.
const Schema& ReadSchema(const TableMetadata& metadata, const Snapshot* snapshot, bool time_travel);

// Streams the rows of `snapshot` (nullptr = empty table) under ReadSchema().
Result<std::shared_ptr<arrow::RecordBatchReader>> ScanSnapshot(std::shared_ptr<FileSystem> fs,
                                                               std::shared_ptr<const TableMetadata> metadata,
                                                               const Snapshot* snapshot, const ScanOptions& options);

}  // namespace datashard::scan
