// Filters: validation against the schema, pruning by column bounds, and the
// exact row filter as an Arrow compute expression.
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

// Unknown columns and literals that cannot be cast to the column type are
// SchemaErrors, never a silently empty result.
Result<std::vector<BoundPredicate>> BindPredicates(const Schema& schema, const std::vector<Predicate>& filter);

// Statistics of one column over some rows (a file, a row group, a manifest's
// partition values). Unknown parts are left empty; pruning only uses what is known.
struct ColumnStats {
  std::optional<int64_t> value_count;  // including nulls
  std::optional<int64_t> null_count;
  std::shared_ptr<arrow::Scalar> lower;  // of the column's Arrow type
  std::shared_ptr<arrow::Scalar> upper;
};
using StatsLookup = std::function<Result<ColumnStats>(const NestedField& field)>;

// True if the statistics prove that no row can match every predicate.
Result<bool> CannotMatch(const StatsLookup& lookup, const std::vector<BoundPredicate>& predicates);
// The same, from a data file's manifest statistics.
Result<bool> CannotMatch(const format::DataFile& file, const std::vector<BoundPredicate>& predicates);

// The exact row filter over columns named as in `schema`.
arrow::compute::Expression ToArrowExpression(const std::vector<BoundPredicate>& predicates);

}  // namespace datashard::scan
