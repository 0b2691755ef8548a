// What to read from a table: columns, a filter, a snapshot, parallelism.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/compute/expression.h>
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
// comparison or (NOT) IN ever matches a null cell (its result is unknown).
// Values compare as Arrow compares them: -0.0 == 0.0, and NaN is neither
// equal to, less than nor greater than anything (so only != matches it); IN is
// Arrow's is_in, a set lookup in which a NaN in the list matches NaN cells and
// -0.0 and 0.0 are different list entries.
struct Predicate {
  std::string column;
  PredicateOp op = PredicateOp::kEq;
  // Literals: one for comparisons, any number for IN / NOT IN, none for the
  // null tests. Cast to the column's type before use.
  std::shared_ptr<arrow::Array> values;
};

// A boolean combination of predicates: AND, OR and NOT in any nesting (Iceberg's
// Expression). Three-valued logic, as in SQL: a predicate on a null cell is
// unknown, NOT unknown is unknown, false AND unknown is false, true OR unknown
// is true, and a row is returned only where the whole expression is true. So
// `NOT (x < 5)` matches the rows where x >= 5 (or x is NaN: comparisons follow
// Arrow, where every comparison with NaN but != is false) and never a null x;
// `x IS NULL` and `x IS NOT NULL` are never unknown.
class Expression {
 public:
  enum class Kind { kTrue, kFalse, kPredicate, kAnd, kOr, kNot };

  Expression() = default;           // true: every row
  Expression(Predicate predicate);  // NOLINT(google-explicit-constructor): a leaf stands for itself

  static Expression True() { return {}; }
  static Expression False();
  // An empty AND is true, an empty OR false.
  static Expression And(std::vector<Expression> children);
  static Expression Or(std::vector<Expression> children);
  static Expression Not(Expression child);
  // The AND of `predicates`: what a std::vector<Predicate> filter means.
  static Expression AllOf(const std::vector<Predicate>& predicates);

  Kind kind() const { return kind_; }
  const Predicate& predicate() const { return predicate_; }  // kPredicate only
  const std::vector<Expression>& children() const { return children_; }

  // For messages and tests: `(a < 5 OR NOT b IS NULL)`.
  std::string ToString() const;

 private:
  static Expression Node(Kind kind, std::vector<Expression> children);
  Kind kind_ = Kind::kTrue;
  Predicate predicate_;
  std::vector<Expression> children_;  // kAnd, kOr: the operands; kNot: one
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
  std::vector<std::string> columns;  // empty = every column, in schema order
  std::vector<Predicate> filter;     // AND of all predicates
  // Rows must match this as well (default: true). `filter` stays the common
  // case of a conjunction; `where` takes any tree. Both prune manifests, files
  // and row groups, and are applied exactly.
  Expression where;
  // Rows must also make this Arrow compute expression true (default: none).
  // It is applied exactly as Arrow evaluates it, on the columns by their
  // names (read whether projected or not); the comparisons, IN lists and null
  // tests it is made of (under AND, OR, NOT) prune manifests, files and row
  // groups as `where` does.
  std::optional<arrow::compute::Expression> arrow_filter;
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
