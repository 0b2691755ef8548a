// What to read from a table: columns, a filter, a snapshot, parallelism.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

namespace datashard {

enum class PredicateOp {
  kEq,
  kNotEq,
  kLt,
  kLtEq,
  kGt,
  kGtEq,
  kIn,
  kNotIn,
  kIsNull,
  kNotNull,
};

// One comparison of a column with literal values. SQL null semantics: no
// comparison or (NOT) IN ever matches a null cell.
struct Predicate {
  std::string column;
  PredicateOp op = PredicateOp::kEq;
  // Literals: one for comparisons, any number for IN / NOT IN, none for the
  // null tests. Cast to the column's type before use.
  std::shared_ptr<arrow::Array> values;
};

// What a scan did, for users ("explain") and for tests that prove pruning.
// Updated while the scan streams; read it after the stream is exhausted.
struct ScanMetrics {
  std::atomic<int64_t> manifests_total{0};
  std::atomic<int64_t> manifests_skipped{0};  // by partition summaries
  std::atomic<int64_t> files_total{0};
  std::atomic<int64_t> files_skipped{0};       // by column bounds / partition values
  std::atomic<int64_t> row_groups_total{0};    // in files that were opened
  std::atomic<int64_t> row_groups_skipped{0};  // by Parquet statistics
  std::atomic<int64_t> bytes_read{0};          // data-file bytes pulled through the FileSystem
  std::atomic<int64_t> rows_read{0};           // before the exact row filter
};

struct ScanOptions {
  std::vector<std::string> columns;    // empty = every column, in schema order
  std::vector<Predicate> filter;       // AND of all predicates
  std::optional<int64_t> snapshot_id;  // default: the current snapshot
  int threads = 1;                     // files read in parallel
  int64_t batch_size = 64 * 1024;      // rows per batch, at most
  std::optional<int64_t> limit;        // stop after this many rows
  // Only these data files of the snapshot (paths as DataFiles() lists them),
  // planned in this order (one thread reads them in it); empty = all. For readers that split one snapshot among
  // workers, and for the rows a commit added or removed.
  std::vector<std::string> files;
  std::shared_ptr<ScanMetrics> metrics;  // optional: filled in while scanning
};

}  // namespace datashard
