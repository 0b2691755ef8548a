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

// Streams the rows of `snapshot` (nullptr = empty table) under `schema`.
Result<std::shared_ptr<arrow::RecordBatchReader>> ScanSnapshot(std::shared_ptr<FileSystem> fs,
                                                               std::shared_ptr<const TableMetadata> metadata,
                                                               const Snapshot* snapshot, const ScanOptions& options);

}  // namespace datashard::scan
