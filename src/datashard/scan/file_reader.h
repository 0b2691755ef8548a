// Reads one Parquet data file into the table's current shape: columns are
// matched by Iceberg field id (so renames work), promoted to the current
// type, and columns the file predates come back as nulls. Row groups whose
// Parquet statistics prove that no row can match the filter are not read.
#pragma once

#include <limits>

#include <memory>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "datashard/file_system.h"
#include "datashard/scan.h"
#include "datashard/scan/expression.h"
#include "datashard/schema.h"

namespace datashard::scan {

// Streams one data file as batches of at most `batch_rows` rows: memory is
// bounded by one batch, however large the file. Batches are validated
// (invalid data is CorruptData). `fields` and `filter` as below.
// With `range`, only row groups [range.first, range.end) are read (a file
// split across readers); by default all of them.
struct RowGroupRange {
  int first = 0;
  int end = std::numeric_limits<int>::max();
};
Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDataFile(
    FileSystem& fs, const std::string& path, const std::vector<NestedField>& fields, const BoundExpression& filter = {},
    ScanMetrics* metrics = nullptr, int64_t batch_rows = 64 * 1024, RowGroupRange range = {});

// Decoding a data file never makes a single allocation larger than
// max(this floor, 1024 x the file's size), rounded up to a power of two: a corrupt header claiming billions
// of values fails as CorruptData instead of exhausting memory. The floor is
// 1 GiB; fuzzers lower it to stay inside their own allocation limit.
void SetMinAllocationCap(int64_t bytes);

// The pool that enforces that cap for a file of `file_size` bytes. Every
// reader of an untrusted Parquet file passes it as both the Arrow pool and the
// parquet::ReaderProperties pool (pages are allocated from the latter).
arrow::MemoryPool* DecodePoolForFile(int64_t file_size);

// The whole file at once. `fields` are the columns wanted, in output order. `filter` (optional)
// only skips row groups; rows are not filtered here.
Result<std::shared_ptr<arrow::Table>> ReadDataFile(FileSystem& fs, const std::string& path,
                                                   const std::vector<NestedField>& fields,
                                                   const BoundExpression& filter = {}, ScanMetrics* metrics = nullptr);

}  // namespace datashard::scan
