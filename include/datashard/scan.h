// What to read from a table: columns, a filter, a snapshot, parallelism.
#pragma once

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

struct ScanOptions {
  std::vector<std::string> columns;   // empty = every column, in schema order
  std::vector<Predicate> filter;      // AND of all predicates
  std::optional<int64_t> snapshot_id; // default: the current snapshot
  int threads = 1;                    // files read in parallel
  int64_t batch_size = 64 * 1024;     // rows per batch, at most
  std::optional<int64_t> limit;       // stop after this many rows
};

}  // namespace datashard
