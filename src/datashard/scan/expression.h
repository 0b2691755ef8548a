// Filters: validation against the schema, pruning by column statistics, and
// the exact row filter as an Arrow compute expression.
//
// A filter is an Expression tree (AND, OR, NOT over Predicates). Pruning asks
// "can any row of this manifest / file / row group make the tree true?" and
// answers no only when the statistics prove it, under three-valued logic and
// Arrow's NaN semantics, so that pruning never drops a row the exact filter
// (Arrow's evaluation of the same tree) would return.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include <arrow/compute/expression.h>

#include "datashard/format/data_file.h"
#include "datashard/scan.h"
#include "datashard/schema.h"

namespace datashard::scan {

struct BoundPredicate {
  const NestedField* field = nullptr;
  PredicateOp op = PredicateOp::kEq;
  std::shared_ptr<arrow::Array> values;  // cast to the column's Arrow type, nulls removed
};

// An Expression whose predicates are bound. Constants are folded and nested
// ANDs / ORs flattened, so a tree that reduces to a conjunction looks like one.
struct BoundExpression {
  using Kind = Expression::Kind;
  Kind kind = Kind::kTrue;
  BoundPredicate predicate;               // kPredicate
  std::vector<BoundExpression> children;  // kAnd, kOr: operands; kNot: one

  bool IsTrue() const { return kind == Kind::kTrue; }
  // The columns the expression reads, each once, in order of appearance.
  std::vector<const NestedField*> Fields() const;
};

// Unknown columns and literals that cannot be cast to the column type are
// SchemaErrors, never a silently empty result.
Result<std::vector<BoundPredicate>> BindPredicates(const Schema& schema, const std::vector<Predicate>& filter);
Result<BoundExpression> Bind(const Schema& schema, const Expression& expression);
// What ScanOptions asks for: AND(filter..., where).
Result<BoundExpression> BindFilter(const Schema& schema, const std::vector<Predicate>& filter, const Expression& where);

// Statistics of one column over some rows (a file, a row group, a manifest's
// partition values). Unknown parts are left empty; pruning only uses what is
// known. Bounds describe the non-null, non-NaN values (as the Iceberg spec and
// Parquet writers keep them); a NaN bound is treated as no bound at all.
struct ColumnStats {
  std::optional<int64_t> value_count;  // including nulls and NaN
  std::optional<int64_t> null_count;
  std::optional<int64_t> nan_count;      // floating columns: known only from Iceberg metadata
  std::shared_ptr<arrow::Scalar> lower;  // of the column's Arrow type
  std::shared_ptr<arrow::Scalar> upper;
  // Set where a bloom filter covers the column (row groups of files written
  // with one): false only if no cell can equal `value` (of the column's Arrow
  // type). Used by = and IN on columns that are not floating.
  std::function<bool(const arrow::Scalar& value)> might_contain;
};
using StatsLookup = std::function<Result<ColumnStats>(const NestedField& field)>;

// True if the statistics prove that no row can make the expression true.
Result<bool> CannotMatch(const StatsLookup& lookup, const BoundExpression& expression);
Result<bool> CannotMatch(const format::DataFile& file, const BoundExpression& expression);
// The same for a conjunction of predicates.
Result<bool> CannotMatch(const StatsLookup& lookup, const std::vector<BoundPredicate>& predicates);
Result<bool> CannotMatch(const format::DataFile& file, const std::vector<BoundPredicate>& predicates);

// The exact row filter over columns named as in the schema: a row is selected
// where this evaluates to true (false and null both drop it).
arrow::compute::Expression ToArrowExpression(const BoundExpression& expression);
arrow::compute::Expression ToArrowExpression(const std::vector<BoundPredicate>& predicates);
// The rows of `batch` (columns named as in the schema) that `filter` selects.
Result<std::shared_ptr<arrow::RecordBatch>> FilterBatch(const BoundExpression& filter,
                                                        const std::shared_ptr<arrow::RecordBatch>& batch);

}  // namespace datashard::scan
