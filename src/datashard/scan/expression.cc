#include "datashard/scan/expression.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/single_value.h"

namespace datashard::scan {
namespace cp = arrow::compute;

namespace {

bool NeedsOneValue(PredicateOp op) {
  return op == PredicateOp::kEq || op == PredicateOp::kNotEq || op == PredicateOp::kLt || op == PredicateOp::kLtEq ||
         op == PredicateOp::kGt || op == PredicateOp::kGtEq;
}

Result<bool> Compare(const char* function, const std::shared_ptr<arrow::Scalar>& a,
                     const std::shared_ptr<arrow::Scalar>& b) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum result, cp::CallFunction(function, {arrow::Datum(a), arrow::Datum(b)}));
  const auto& scalar = static_cast<const arrow::BooleanScalar&>(*result.scalar());
  return scalar.is_valid && scalar.value;
}

}  // namespace

Result<std::vector<BoundPredicate>> BindPredicates(const Schema& schema, const std::vector<Predicate>& filter) {
  std::vector<BoundPredicate> bound;
  for (const auto& predicate : filter) {
    const NestedField* field = schema.FindField(predicate.column);
    if (field == nullptr) {
      std::string known;
      for (const auto& f : schema.fields) known += (known.empty() ? "" : ", ") + f.name;
      return SchemaError("filter on unknown column \"", predicate.column, "\" (columns: ", known, ")");
    }
    BoundPredicate out{field, predicate.op, nullptr};
    if (predicate.op != PredicateOp::kIsNull && predicate.op != PredicateOp::kNotNull) {
      if (predicate.values == nullptr) return InvalidArgument("filter on \"", field->name, "\" has no value");
      auto type = format::ToArrowType(field->type);
      std::shared_ptr<arrow::Array> values = predicate.values;
      if (!values->type()->Equals(*type)) {
        auto cast = cp::Cast(*values, type, cp::CastOptions::Safe(type));
        if (!cast.ok()) {
          return SchemaError("filter on \"", field->name, "\": cannot compare ", field->type.ToString(), " with ",
                             values->type()->ToString(), " (", cast.status().message(), ")");
        }
        values = *cast;
      }
      ARROW_ASSIGN_OR_RAISE(arrow::Datum valid, cp::DropNull(values));
      values = valid.make_array();
      if (NeedsOneValue(predicate.op) && values->length() != 1) {
        return InvalidArgument("filter on \"", field->name, "\" needs exactly one non-null value, got ",
                               values->length());
      }
      out.values = std::move(values);
    }
    bound.push_back(std::move(out));
  }
  return bound;
}

Result<bool> CannotMatch(const StatsLookup& lookup, const std::vector<BoundPredicate>& predicates) {
  for (const auto& p : predicates) {
    ARROW_ASSIGN_OR_RAISE(ColumnStats stats, lookup(*p.field));
    const bool all_null = stats.value_count && stats.null_count && *stats.null_count == *stats.value_count;
    switch (p.op) {
      case PredicateOp::kIsNull:
        if (stats.null_count && *stats.null_count == 0) return true;
        continue;
      case PredicateOp::kNotNull:
      case PredicateOp::kNotEq:
      case PredicateOp::kNotIn:
        if (all_null) return true;
        continue;
      default: break;
    }
    if (all_null) return true;
    if (!stats.lower || !stats.upper) continue;
    // Floating columns may hold NaN, which bounds do not describe: skip them.
    if (p.field->type.id == TypeId::kFloat || p.field->type.id == TypeId::kDouble) continue;
    const auto& lower = stats.lower;
    const auto& upper = stats.upper;
    if (p.op == PredicateOp::kIn) {
      if (p.values->length() == 0) return true;
      bool any_in_range = false;
      for (int64_t i = 0; i < p.values->length() && !any_in_range; ++i) {
        ARROW_ASSIGN_OR_RAISE(auto v, p.values->GetScalar(i));
        ARROW_ASSIGN_OR_RAISE(bool below, Compare("less", v, lower));
        ARROW_ASSIGN_OR_RAISE(bool above, Compare("greater", v, upper));
        any_in_range = !below && !above;
      }
      if (!any_in_range) return true;
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto v, p.values->GetScalar(0));
    bool excluded = false;
    switch (p.op) {
      case PredicateOp::kEq: {
        ARROW_ASSIGN_OR_RAISE(bool below, Compare("less", v, lower));
        ARROW_ASSIGN_OR_RAISE(bool above, Compare("greater", v, upper));
        excluded = below || above;
        break;
      }
      case PredicateOp::kLt: {
        ARROW_ASSIGN_OR_RAISE(excluded, Compare("less_equal", v, lower));  // every row >= lower >= v
        break;
      }
      case PredicateOp::kLtEq: {
        ARROW_ASSIGN_OR_RAISE(excluded, Compare("less", v, lower));
        break;
      }
      case PredicateOp::kGt: {
        ARROW_ASSIGN_OR_RAISE(excluded, Compare("greater_equal", v, upper));
        break;
      }
      case PredicateOp::kGtEq: {
        ARROW_ASSIGN_OR_RAISE(excluded, Compare("greater", v, upper));
        break;
      }
      default: break;
    }
    if (excluded) return true;
  }
  return false;
}

Result<bool> CannotMatch(const format::DataFile& file, const std::vector<BoundPredicate>& predicates) {
  return CannotMatch(
      [&](const NestedField& field) -> Result<ColumnStats> {
        ColumnStats stats;
        if (auto it = file.value_counts.find(field.id); it != file.value_counts.end()) stats.value_count = it->second;
        if (auto it = file.null_value_counts.find(field.id); it != file.null_value_counts.end()) {
          stats.null_count = it->second;
        }
        auto lower = file.lower_bounds.find(field.id);
        auto upper = file.upper_bounds.find(field.id);
        if (lower != file.lower_bounds.end() && upper != file.upper_bounds.end()) {
          ARROW_ASSIGN_OR_RAISE(stats.lower, format::DeserializeValue(field.type, lower->second));
          ARROW_ASSIGN_OR_RAISE(stats.upper, format::DeserializeValue(field.type, upper->second));
        }
        return stats;
      },
      predicates);
}

cp::Expression ToArrowExpression(const std::vector<BoundPredicate>& predicates) {
  std::vector<cp::Expression> terms;
  for (const auto& p : predicates) {
    cp::Expression column = cp::field_ref(p.field->name);
    auto literal = [&]() { return cp::literal(*p.values->GetScalar(0)); };
    switch (p.op) {
      case PredicateOp::kEq: terms.push_back(cp::equal(column, literal())); break;
      case PredicateOp::kNotEq: terms.push_back(cp::not_equal(column, literal())); break;
      case PredicateOp::kLt: terms.push_back(cp::less(column, literal())); break;
      case PredicateOp::kLtEq: terms.push_back(cp::less_equal(column, literal())); break;
      case PredicateOp::kGt: terms.push_back(cp::greater(column, literal())); break;
      case PredicateOp::kGtEq: terms.push_back(cp::greater_equal(column, literal())); break;
      case PredicateOp::kIn:
      case PredicateOp::kNotIn: {
        cp::Expression in = cp::call("is_in", {column}, cp::SetLookupOptions(p.values, /*skip_nulls=*/true));
        if (p.op == PredicateOp::kNotIn) in = cp::not_(in);
        terms.push_back(cp::and_(in, cp::call("is_valid", {column})));
        break;
      }
      case PredicateOp::kIsNull: terms.push_back(cp::call("is_null", {column})); break;
      case PredicateOp::kNotNull: terms.push_back(cp::call("is_valid", {column})); break;
    }
  }
  if (terms.empty()) return cp::literal(true);
  return cp::and_(terms);
}

}  // namespace datashard::scan
