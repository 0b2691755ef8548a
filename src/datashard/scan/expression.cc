#include "datashard/scan/expression.h"

#include <cmath>
#include <map>
#include <set>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/single_value.h"

namespace datashard {

// -- the public tree -----------------------------------------------------------------------------

Expression::Expression(Predicate predicate) : kind_(Kind::kPredicate), predicate_(std::move(predicate)) {}

Expression Expression::False() {
  Expression e;
  e.kind_ = Kind::kFalse;
  return e;
}

Expression Expression::Node(Kind kind, std::vector<Expression> children) {
  Expression e;
  e.kind_ = kind;
  e.children_ = std::move(children);
  return e;
}

Expression Expression::And(std::vector<Expression> children) { return Node(Kind::kAnd, std::move(children)); }
Expression Expression::Or(std::vector<Expression> children) { return Node(Kind::kOr, std::move(children)); }

Expression Expression::Not(Expression child) {
  std::vector<Expression> operand;
  operand.push_back(std::move(child));
  return Node(Kind::kNot, std::move(operand));
}

Expression Expression::AllOf(const std::vector<Predicate>& predicates) {
  std::vector<Expression> children(predicates.begin(), predicates.end());
  return And(std::move(children));
}

namespace {

const char* OpText(PredicateOp op) {
  switch (op) {
    case PredicateOp::kEq: return "==";
    case PredicateOp::kNotEq: return "!=";
    case PredicateOp::kLt: return "<";
    case PredicateOp::kLtEq: return "<=";
    case PredicateOp::kGt: return ">";
    case PredicateOp::kGtEq: return ">=";
    case PredicateOp::kIn: return "IN";
    case PredicateOp::kNotIn: return "NOT IN";
    case PredicateOp::kIsNull: return "IS NULL";
    case PredicateOp::kNotNull: return "IS NOT NULL";
  }
  return "?";
}

std::string ValuesText(const std::shared_ptr<arrow::Array>& values, bool list) {
  if (values == nullptr) return "?";
  std::string out;
  for (int64_t i = 0; i < values->length(); ++i) {
    auto scalar = values->GetScalar(i);
    out += (i == 0 ? "" : ", ") + (scalar.ok() ? (*scalar)->ToString() : std::string("?"));
  }
  return list ? "(" + out + ")" : out;
}

}  // namespace

std::string Expression::ToString() const {
  switch (kind_) {
    case Kind::kTrue: return "TRUE";
    case Kind::kFalse: return "FALSE";
    case Kind::kPredicate: {
      const auto op = predicate_.op;
      std::string out = predicate_.column + " " + OpText(op);
      if (op == PredicateOp::kIsNull || op == PredicateOp::kNotNull) return out;
      return out + " " + ValuesText(predicate_.values, op == PredicateOp::kIn || op == PredicateOp::kNotIn);
    }
    case Kind::kNot: return "NOT " + children_.front().ToString();
    case Kind::kAnd:
    case Kind::kOr: {
      if (children_.empty()) return kind_ == Kind::kAnd ? "TRUE" : "FALSE";
      std::string out = "(";
      for (size_t i = 0; i < children_.size(); ++i) {
        if (i > 0) out += kind_ == Kind::kAnd ? " AND " : " OR ";
        out += children_[i].ToString();
      }
      return out + ")";
    }
  }
  return "?";
}

namespace scan {
namespace cp = arrow::compute;
using Kind = Expression::Kind;

namespace {

bool NeedsOneValue(PredicateOp op) {
  return op == PredicateOp::kEq || op == PredicateOp::kNotEq || op == PredicateOp::kLt || op == PredicateOp::kLtEq ||
         op == PredicateOp::kGt || op == PredicateOp::kGtEq;
}

Result<BoundPredicate> BindOne(const Schema& schema, const Predicate& predicate) {
  const NestedField* field = schema.FindField(predicate.column);
  if (field == nullptr) {
    std::string known;
    for (const auto& f : schema.fields) known += (known.empty() ? "" : ", ") + f.name;
    return SchemaError("filter on unknown column \"", predicate.column, "\" (columns: ", known, ")");
  }
  BoundPredicate out{field, predicate.op, nullptr};
  if (predicate.op == PredicateOp::kIsNull || predicate.op == PredicateOp::kNotNull) return out;
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
    return InvalidArgument("filter on \"", field->name, "\" needs exactly one non-null value, got ", values->length());
  }
  out.values = std::move(values);
  return out;
}

BoundExpression Constant(bool value) {
  BoundExpression e;
  e.kind = value ? Kind::kTrue : Kind::kFalse;
  return e;
}

// AND / OR of bound operands: constants folded, nested same-kind nodes
// flattened, a single operand returned as itself.
BoundExpression Combine(Kind kind, std::vector<BoundExpression> operands) {
  const Kind absorbing = kind == Kind::kAnd ? Kind::kFalse : Kind::kTrue;
  const Kind neutral = kind == Kind::kAnd ? Kind::kTrue : Kind::kFalse;
  BoundExpression out;
  out.kind = kind;
  for (auto& operand : operands) {
    if (operand.kind == absorbing) return Constant(absorbing == Kind::kTrue);
    if (operand.kind == neutral) continue;
    if (operand.kind == kind) {
      for (auto& grandchild : operand.children) out.children.push_back(std::move(grandchild));
    } else {
      out.children.push_back(std::move(operand));
    }
  }
  if (out.children.empty()) return Constant(neutral == Kind::kTrue);
  if (out.children.size() == 1) return std::move(out.children.front());
  return out;
}

BoundExpression Negate(BoundExpression operand) {
  if (operand.kind == Kind::kTrue || operand.kind == Kind::kFalse) return Constant(operand.kind == Kind::kFalse);
  if (operand.kind == Kind::kNot) return std::move(operand.children.front());  // NOT NOT x = x, in Kleene logic too
  BoundExpression out;
  out.kind = Kind::kNot;
  out.children.push_back(std::move(operand));
  return out;
}

void CollectFields(const BoundExpression& e, std::vector<const NestedField*>* out, std::set<int32_t>* seen) {
  if (e.kind == Kind::kPredicate) {
    if (seen->insert(e.predicate.field->id).second) out->push_back(e.predicate.field);
    return;
  }
  for (const auto& child : e.children) CollectFields(child, out, seen);
}

}  // namespace

std::vector<const NestedField*> BoundExpression::Fields() const {
  std::vector<const NestedField*> out;
  std::set<int32_t> seen;
  CollectFields(*this, &out, &seen);
  return out;
}

Result<std::vector<BoundPredicate>> BindPredicates(const Schema& schema, const std::vector<Predicate>& filter) {
  std::vector<BoundPredicate> bound;
  for (const auto& predicate : filter) {
    ARROW_ASSIGN_OR_RAISE(auto one, BindOne(schema, predicate));
    bound.push_back(std::move(one));
  }
  return bound;
}

Result<BoundExpression> Bind(const Schema& schema, const Expression& expression) {
  switch (expression.kind()) {
    case Kind::kTrue: return Constant(true);
    case Kind::kFalse: return Constant(false);
    case Kind::kPredicate: {
      BoundExpression out;
      out.kind = Kind::kPredicate;
      ARROW_ASSIGN_OR_RAISE(out.predicate, BindOne(schema, expression.predicate()));
      return out;
    }
    case Kind::kNot: {
      ARROW_ASSIGN_OR_RAISE(auto operand, Bind(schema, expression.children().front()));
      return Negate(std::move(operand));
    }
    case Kind::kAnd:
    case Kind::kOr: {
      std::vector<BoundExpression> operands;
      for (const auto& child : expression.children()) {
        ARROW_ASSIGN_OR_RAISE(auto operand, Bind(schema, child));
        operands.push_back(std::move(operand));
      }
      return Combine(expression.kind(), std::move(operands));
    }
  }
  return InvalidArgument("unknown filter expression kind");
}

Result<BoundExpression> BindFilter(const Schema& schema, const std::vector<Predicate>& filter,
                                   const Expression& where) {
  std::vector<BoundExpression> operands;
  for (const auto& predicate : filter) {
    BoundExpression leaf;
    leaf.kind = Kind::kPredicate;
    ARROW_ASSIGN_OR_RAISE(leaf.predicate, BindOne(schema, predicate));
    operands.push_back(std::move(leaf));
  }
  ARROW_ASSIGN_OR_RAISE(auto tree, Bind(schema, where));
  operands.push_back(std::move(tree));
  return Combine(Kind::kAnd, std::move(operands));
}

// -- pruning ---------------------------------------------------------------------------------------

namespace {

Result<bool> Compare(const char* function, const std::shared_ptr<arrow::Scalar>& a,
                     const std::shared_ptr<arrow::Scalar>& b) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum result, cp::CallFunction(function, {arrow::Datum(a), arrow::Datum(b)}));
  const auto& scalar = static_cast<const arrow::BooleanScalar&>(*result.scalar());
  return scalar.is_valid && scalar.value;
}

bool IsFloating(const NestedField& field) {
  return field.type.id == TypeId::kFloat || field.type.id == TypeId::kDouble;
}

bool IsNaN(const arrow::Scalar& scalar) {
  if (!scalar.is_valid) return false;
  if (scalar.type->id() == arrow::Type::DOUBLE)
    return std::isnan(static_cast<const arrow::DoubleScalar&>(scalar).value);
  if (scalar.type->id() == arrow::Type::FLOAT) return std::isnan(static_cast<const arrow::FloatScalar&>(scalar).value);
  return false;
}

bool ContainsNaN(const arrow::Array& values) {
  for (int64_t i = 0; i < values.length(); ++i) {
    auto scalar = values.GetScalar(i);
    if (scalar.ok() && IsNaN(**scalar)) return true;
  }
  return false;
}

// NOT p, for a p over a non-null, non-NaN cell (where no predicate is unknown).
PredicateOp Complement(PredicateOp op) {
  switch (op) {
    case PredicateOp::kEq: return PredicateOp::kNotEq;
    case PredicateOp::kNotEq: return PredicateOp::kEq;
    case PredicateOp::kLt: return PredicateOp::kGtEq;
    case PredicateOp::kLtEq: return PredicateOp::kGt;
    case PredicateOp::kGt: return PredicateOp::kLtEq;
    case PredicateOp::kGtEq: return PredicateOp::kLt;
    case PredicateOp::kIn: return PredicateOp::kNotIn;
    case PredicateOp::kNotIn: return PredicateOp::kIn;
    case PredicateOp::kIsNull: return PredicateOp::kNotNull;
    case PredicateOp::kNotNull: return PredicateOp::kIsNull;
  }
  return op;
}

// Whether a NaN cell makes `p` (or NOT p) true, as Arrow evaluates it: every
// comparison with NaN but != is false, and IN is a set lookup that finds a NaN
// listed among its values. A NaN cell is never null, so NOT p is true exactly
// where p is false.
bool MatchesNaN(const BoundPredicate& p, bool negated) {
  bool matches = false;
  switch (p.op) {
    case PredicateOp::kNotEq:
    case PredicateOp::kNotNull: matches = true; break;
    case PredicateOp::kIn: matches = ContainsNaN(*p.values); break;
    case PredicateOp::kNotIn: matches = !ContainsNaN(*p.values); break;
    default: matches = false; break;
  }
  return matches != negated;
}

// True if no row described by `stats` makes `p` (negated: NOT p) true.
// The cases, in order: null cells make only IS NULL true (every other
// predicate is unknown on them, and so is its negation); NaN cells, which
// bounds do not describe, are ruled out only by a NaN count of zero; the rest
// are the non-null, non-NaN values the bounds enclose.
Result<bool> LeafCannotMatch(const ColumnStats& stats, const BoundPredicate& p, bool negated) {
  const PredicateOp op = negated ? Complement(p.op) : p.op;
  if (op == PredicateOp::kIsNull) return stats.null_count.has_value() && *stats.null_count == 0;
  const bool all_null = stats.value_count && stats.null_count && *stats.null_count == *stats.value_count;
  if (all_null) return true;
  if (IsFloating(*p.field) && MatchesNaN(p, negated) && !(stats.nan_count && *stats.nan_count == 0)) return false;
  // A bloom filter hashes each value's bytes: on a floating column NaN and
  // -0.0 hash apart from the cells they equal, so only other columns use it.
  if ((op == PredicateOp::kEq || op == PredicateOp::kIn) && stats.might_contain && !IsFloating(*p.field)) {
    bool any = false;
    for (int64_t i = 0; i < p.values->length() && !any; ++i) {
      ARROW_ASSIGN_OR_RAISE(auto v, p.values->GetScalar(i));
      any = stats.might_contain(*v);
    }
    if (!any) return true;
  }
  // Bounds may be truncated (Iceberg truncates strings) and so prove nothing
  // about inequality; like Iceberg's evaluators, != and NOT IN prune by nulls only.
  if (op == PredicateOp::kNotNull || op == PredicateOp::kNotEq || op == PredicateOp::kNotIn) return false;
  if (op == PredicateOp::kIn && p.values->length() == 0) return true;
  if (!stats.lower || !stats.upper || IsNaN(*stats.lower) || IsNaN(*stats.upper)) return false;
  const auto& lower = stats.lower;
  const auto& upper = stats.upper;
  // Arrow's comparisons: -0.0 == 0.0 (bounds may hold either zero), and a NaN
  // literal compares false with everything, so it never excludes anything.
  if (op == PredicateOp::kIn) {
    for (int64_t i = 0; i < p.values->length(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto v, p.values->GetScalar(i));
      ARROW_ASSIGN_OR_RAISE(bool below, Compare("less", v, lower));
      ARROW_ASSIGN_OR_RAISE(bool above, Compare("greater", v, upper));
      if (!below && !above) return false;
    }
    return true;
  }
  ARROW_ASSIGN_OR_RAISE(auto v, p.values->GetScalar(0));
  switch (op) {
    case PredicateOp::kEq: {
      ARROW_ASSIGN_OR_RAISE(bool below, Compare("less", v, lower));
      ARROW_ASSIGN_OR_RAISE(bool above, Compare("greater", v, upper));
      return below || above;
    }
    case PredicateOp::kLt: return Compare("less_equal", v, lower);  // every value >= lower >= v
    case PredicateOp::kLtEq: return Compare("less", v, lower);
    case PredicateOp::kGt: return Compare("greater_equal", v, upper);
    case PredicateOp::kGtEq: return Compare("greater", v, upper);
    default: return false;
  }
}

// Statistics looked up once per column for one pruning decision.
class CachedLookup {
 public:
  explicit CachedLookup(const StatsLookup& lookup) : lookup_(lookup) {}
  Result<const ColumnStats*> Get(const NestedField& field) {
    auto it = cache_.find(field.id);
    if (it == cache_.end()) {
      ARROW_ASSIGN_OR_RAISE(ColumnStats stats, lookup_(field));
      it = cache_.emplace(field.id, std::move(stats)).first;
    }
    return &it->second;
  }

 private:
  const StatsLookup& lookup_;
  std::map<int32_t, ColumnStats> cache_;
};

// True if no row can make `e` (negated: NOT e) true. NOT is pushed down to
// the leaves by De Morgan's laws, which hold in three-valued logic.
Result<bool> Prove(CachedLookup& stats, const BoundExpression& e, bool negated) {
  switch (e.kind) {
    case Kind::kTrue: return negated;
    case Kind::kFalse: return !negated;
    case Kind::kPredicate: {
      ARROW_ASSIGN_OR_RAISE(const ColumnStats* column, stats.Get(*e.predicate.field));
      return LeafCannotMatch(*column, e.predicate, negated);
    }
    case Kind::kNot: return Prove(stats, e.children.front(), !negated);
    case Kind::kAnd:
    case Kind::kOr: {
      // AND (or a negated OR) fails if any operand must; OR (or a negated
      // AND) only if every operand must.
      const bool any = (e.kind == Kind::kAnd) != negated;
      for (const auto& child : e.children) {
        ARROW_ASSIGN_OR_RAISE(bool cannot, Prove(stats, child, negated));
        if (any && cannot) return true;
        if (!any && !cannot) return false;
      }
      return !any;
    }
  }
  return false;
}

BoundExpression AllOf(const std::vector<BoundPredicate>& predicates) {
  std::vector<BoundExpression> operands;
  for (const auto& p : predicates) {
    BoundExpression leaf;
    leaf.kind = Kind::kPredicate;
    leaf.predicate = p;
    operands.push_back(std::move(leaf));
  }
  return Combine(Kind::kAnd, std::move(operands));
}

}  // namespace

Result<bool> CannotMatch(const StatsLookup& lookup, const BoundExpression& expression) {
  CachedLookup stats(lookup);
  return Prove(stats, expression, /*negated=*/false);
}

Result<bool> CannotMatch(const StatsLookup& lookup, const std::vector<BoundPredicate>& predicates) {
  return CannotMatch(lookup, AllOf(predicates));
}

Result<bool> CannotMatch(const format::DataFile& file, const BoundExpression& expression) {
  if (expression.IsTrue()) return false;
  return CannotMatch(
      [&](const NestedField& field) -> Result<ColumnStats> {
        ColumnStats stats;
        if (auto it = file.value_counts.find(field.id); it != file.value_counts.end()) stats.value_count = it->second;
        if (auto it = file.null_value_counts.find(field.id); it != file.null_value_counts.end()) {
          stats.null_count = it->second;
        }
        if (auto it = file.nan_value_counts.find(field.id); it != file.nan_value_counts.end()) {
          stats.nan_count = it->second;
        }
        auto lower = file.lower_bounds.find(field.id);
        auto upper = file.upper_bounds.find(field.id);
        if (lower != file.lower_bounds.end() && upper != file.upper_bounds.end()) {
          ARROW_ASSIGN_OR_RAISE(stats.lower, format::DeserializeValue(field.type, lower->second));
          ARROW_ASSIGN_OR_RAISE(stats.upper, format::DeserializeValue(field.type, upper->second));
        }
        return stats;
      },
      expression);
}

Result<bool> CannotMatch(const format::DataFile& file, const std::vector<BoundPredicate>& predicates) {
  return CannotMatch(file, AllOf(predicates));
}

// -- the exact filter ------------------------------------------------------------------------------

namespace {

cp::Expression LeafToArrow(const BoundPredicate& p) {
  cp::Expression column = cp::field_ref(p.field->name);
  auto literal = [&]() { return cp::literal(*p.values->GetScalar(0)); };
  switch (p.op) {
    case PredicateOp::kEq: return cp::equal(column, literal());
    case PredicateOp::kNotEq: return cp::not_equal(column, literal());
    case PredicateOp::kLt: return cp::less(column, literal());
    case PredicateOp::kLtEq: return cp::less_equal(column, literal());
    case PredicateOp::kGt: return cp::greater(column, literal());
    case PredicateOp::kGtEq: return cp::greater_equal(column, literal());
    case PredicateOp::kIn:
    case PredicateOp::kNotIn: {
      // EMIT_NULL: a null cell gives null (unknown), so NOT IN and NOT (IN)
      // never match it either.
      cp::Expression in = cp::call("is_in", {column}, cp::SetLookupOptions(p.values, cp::SetLookupOptions::EMIT_NULL));
      return p.op == PredicateOp::kNotIn ? cp::not_(in) : in;
    }
    case PredicateOp::kIsNull: return cp::call("is_null", {column});
    case PredicateOp::kNotNull: return cp::call("is_valid", {column});
  }
  return cp::literal(false);
}

}  // namespace

cp::Expression ToArrowExpression(const BoundExpression& expression) {
  switch (expression.kind) {
    case Kind::kTrue: return cp::literal(true);
    case Kind::kFalse: return cp::literal(false);
    case Kind::kPredicate: return LeafToArrow(expression.predicate);
    case Kind::kNot: return cp::not_(ToArrowExpression(expression.children.front()));
    case Kind::kAnd:
    case Kind::kOr: {
      // and_kleene / or_kleene: SQL's three-valued AND and OR.
      std::vector<cp::Expression> operands;
      for (const auto& child : expression.children) operands.push_back(ToArrowExpression(child));
      if (operands.empty()) return cp::literal(expression.kind == Kind::kAnd);
      return expression.kind == Kind::kAnd ? cp::and_(operands) : cp::or_(operands);
    }
  }
  return cp::literal(false);
}

cp::Expression ToArrowExpression(const std::vector<BoundPredicate>& predicates) {
  return ToArrowExpression(AllOf(predicates));
}

Result<std::shared_ptr<arrow::RecordBatch>> FilterBatch(const BoundExpression& filter,
                                                        const std::shared_ptr<arrow::RecordBatch>& batch) {
  if (filter.IsTrue()) return batch;
  ARROW_ASSIGN_OR_RAISE(auto bound, ToArrowExpression(filter).Bind(*batch->schema()));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum mask, cp::ExecuteScalarExpression(bound, cp::ExecBatch(*batch)));
  if (mask.is_scalar()) {  // a constant filter (FALSE): every row or none
    const auto& keep = static_cast<const arrow::BooleanScalar&>(*mask.scalar());
    return keep.is_valid && keep.value ? batch : batch->Slice(0, 0);
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum filtered, cp::Filter(arrow::Datum(batch), mask));
  return filtered.record_batch();
}

}  // namespace scan
}  // namespace datashard
