// Filters given as Arrow compute expressions (pyarrow.compute in Python):
// applied exactly as Arrow evaluates them, and pushed down where they can be.
//
// The engine proves things about its own predicates only, but an Arrow
// expression is mostly made of them: comparisons of a column with a literal,
// IN lists and null tests under AND, OR and NOT. ImpliedFilter finds an
// Expression that is true on every row where the Arrow expression is true (a
// necessary condition). Pruning with it never drops a row the Arrow
// expression keeps, and it prunes as much as those parts allow; the rest of
// the expression (arithmetic, functions) implies nothing and prunes nothing.
#pragma once

#include <vector>

#include <arrow/compute/expression.h>

#include "datashard/scan.h"
#include "datashard/schema.h"
#include "datashard/status.h"

namespace datashard::scan {

// A necessary condition for `filter` over the columns of `schema` (by
// top-level name). A literal that does not convert to its column's type and
// back unchanged leaves its predicate out, since comparing in the column's
// type could then differ from Arrow's comparison.
Expression ImpliedFilter(const arrow::compute::Expression& filter, const Schema& schema);

// The columns of `schema` that `filter` reads. SchemaError for a column it
// names that `schema` does not have; every column for a reference that is not
// a plain name (a nested or positional reference).
Result<std::vector<const NestedField*>> ArrowFilterFields(const arrow::compute::Expression& filter,
                                                          const Schema& schema);

// SchemaError unless `filter` reads only columns of `schema` and is a
// condition (boolean) over them: checked before anything is read.
Status CheckArrowFilter(const arrow::compute::Expression& filter, const Schema& schema);

// The rows of `batch` on which `filter` (bound to the batch's schema here) is
// true; false and null both drop a row.
Result<std::shared_ptr<arrow::RecordBatch>> FilterBatchByArrow(const arrow::compute::Expression& filter,
                                                               const std::shared_ptr<arrow::RecordBatch>& batch);

}  // namespace datashard::scan
