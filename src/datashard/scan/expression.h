// Filters: validation against the schema, pruning by column bounds, and the
// exact row filter as an Arrow compute expression.
#pragma once

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

// Unknown columns and literals that cannot be cast to the column type are
// SchemaErrors, never a silently empty result.
Result<std::vector<BoundPredicate>> BindPredicates(const Schema& schema, const std::vector<Predicate>& filter);

// True if the file's statistics prove that no row can match.
Result<bool> CannotMatch(const format::DataFile& file, const std::vector<BoundPredicate>& predicates);

// The exact row filter over columns named as in `schema`.
arrow::compute::Expression ToArrowExpression(const std::vector<BoundPredicate>& predicates);

}  // namespace datashard::scan
