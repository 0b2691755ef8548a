#include "datashard/scan/arrow_filter.h"

#include <optional>
#include <set>
#include <string>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "datashard/format/arrow_schema.h"

namespace datashard::scan {
namespace cp = arrow::compute;

namespace {

// What one node of an Arrow expression says in the engine's terms:
// `exact` has the same value as the node on every row (true, false or null),
// so NOT of it is exact too; `implied` is true wherever the node is true.
struct Translated {
  std::optional<Expression> exact;
  Expression implied;  // true: nothing known
};

Translated Exact(Expression e) { return {e, e}; }
Translated Implied(Expression e) { return {std::nullopt, std::move(e)}; }
Translated Nothing() { return {std::nullopt, Expression::True()}; }

bool IsTrue(const Expression& e) {
  return e.kind() == Expression::Kind::kTrue || (e.kind() == Expression::Kind::kAnd && e.children().empty());
}

// `values` in the type of `field`, if they convert there and back unchanged
// (so comparing in the column's type is comparing as Arrow does).
std::shared_ptr<arrow::Array> InColumnType(const NestedField& field, const std::shared_ptr<arrow::Array>& values) {
  auto type = format::ToArrowType(field.type);
  if (values->type()->Equals(*type)) return values;
  auto there = cp::Cast(*values, type, cp::CastOptions::Safe(type));
  if (!there.ok()) return nullptr;
  auto back = cp::Cast(**there, values->type(), cp::CastOptions::Safe(values->type()));
  if (!back.ok() || !(*back)->Equals(*values)) return nullptr;
  return *there;
}

const NestedField* Column(const cp::Expression& e, const Schema& schema) {
  const arrow::FieldRef* ref = e.field_ref();
  if (ref == nullptr || ref->name() == nullptr) return nullptr;
  return schema.FindField(*ref->name());
}

std::optional<Predicate> Leaf(const NestedField& field, PredicateOp op, const std::shared_ptr<arrow::Array>& values) {
  auto converted = InColumnType(field, values);
  if (converted == nullptr) return std::nullopt;
  return Predicate{field.name, op, converted};
}

std::optional<PredicateOp> ComparisonOp(const std::string& name, bool flipped) {
  if (name == "equal") return PredicateOp::kEq;
  if (name == "not_equal") return PredicateOp::kNotEq;
  if (name == "less") return flipped ? PredicateOp::kGt : PredicateOp::kLt;
  if (name == "less_equal") return flipped ? PredicateOp::kGtEq : PredicateOp::kLtEq;
  if (name == "greater") return flipped ? PredicateOp::kLt : PredicateOp::kGt;
  if (name == "greater_equal") return flipped ? PredicateOp::kLtEq : PredicateOp::kGtEq;
  return std::nullopt;
}

// column OP literal, or literal OP column.
Translated Comparison(const cp::Expression::Call& call, const Schema& schema) {
  if (call.arguments.size() != 2) return Nothing();
  for (int flipped = 0; flipped < 2; ++flipped) {
    const cp::Expression& column = call.arguments[flipped];
    const cp::Expression& literal = call.arguments[1 - flipped];
    const NestedField* field = Column(column, schema);
    const arrow::Datum* value = literal.literal();
    if (field == nullptr || value == nullptr || !value->is_scalar() || !value->scalar()->is_valid) continue;
    auto op = ComparisonOp(call.function_name, flipped == 1);
    auto array = arrow::MakeArrayFromScalar(*value->scalar(), 1);
    if (!op || !array.ok()) return Nothing();
    // Arrow compares an integer column with a floating literal as doubles,
    // which round integers beyond 2^53: comparing as integers could differ.
    if (arrow::is_integer(format::ToArrowType(field->type)->id()) && arrow::is_floating((*array)->type_id())) {
      return Nothing();
    }
    auto leaf = Leaf(*field, *op, *array);
    return leaf ? Exact(*leaf) : Nothing();
  }
  return Nothing();
}

// is_in: with the engine's IN a null cell gives null; Arrow's does so only
// for EMIT_NULL and INCONCLUSIVE. Otherwise the engine's IN is implied only
// (and, where a null in the list matches null cells, OR IS NULL with it).
Translated IsIn(const cp::Expression::Call& call, const Schema& schema) {
  const auto* options = dynamic_cast<const cp::SetLookupOptions*>(call.options.get());
  if (call.arguments.size() != 1 || options == nullptr || !options->value_set.is_array()) return Nothing();
  const NestedField* field = Column(call.arguments[0], schema);
  if (field == nullptr) return Nothing();
  auto value_set = options->value_set.make_array();
  auto without_nulls = cp::DropNull(value_set);
  if (!without_nulls.ok()) return Nothing();
  auto leaf = Leaf(*field, PredicateOp::kIn, without_nulls->make_array());
  if (!leaf) return Nothing();
  const auto behavior = options->GetNullMatchingBehavior();
  const bool list_has_null = value_set->null_count() > 0;
  if (!list_has_null &&
      (behavior == cp::SetLookupOptions::EMIT_NULL || behavior == cp::SetLookupOptions::INCONCLUSIVE)) {
    return Exact(*leaf);
  }
  if (list_has_null && behavior == cp::SetLookupOptions::MATCH) {
    return Implied(Expression::Or({*leaf, Predicate{field->name, PredicateOp::kIsNull, nullptr}}));
  }
  return Implied(*leaf);
}

Translated Translate(const cp::Expression& e, const Schema& schema, int depth) {
  const cp::Expression::Call* call = e.call();
  if (call == nullptr || depth > 200) return Nothing();
  const std::string& name = call->function_name;
  if (name == "and_kleene" || name == "and" || name == "or_kleene" || name == "or") {
    const bool is_and = name == "and_kleene" || name == "and";
    // Arrow's plain "and"/"or" give null where Kleene logic gives a value,
    // so only their Kleene forms are exact.
    const bool kleene = name == "and_kleene" || name == "or_kleene";
    std::vector<Expression> exact, implied;
    bool all_exact = kleene;
    bool all_implied = true;
    for (const auto& argument : call->arguments) {
      Translated part = Translate(argument, schema, depth + 1);
      if (part.exact) {
        exact.push_back(*part.exact);
      } else {
        all_exact = false;
      }
      if (IsTrue(part.implied)) {
        all_implied = false;
      } else {
        implied.push_back(std::move(part.implied));
      }
    }
    if (all_exact) {
      auto tree = is_and ? Expression::And(std::move(exact)) : Expression::Or(std::move(exact));
      return Exact(tree);
    }
    // AND is true only where every operand is; OR where one is, so an OR
    // implies something only if each of its operands does.
    if (is_and) return Implied(Expression::And(std::move(implied)));
    return all_implied ? Implied(Expression::Or(std::move(implied))) : Nothing();
  }
  if (name == "invert") {
    if (call->arguments.size() != 1) return Nothing();
    Translated operand = Translate(call->arguments[0], schema, depth + 1);
    return operand.exact ? Exact(Expression::Not(*operand.exact)) : Nothing();
  }
  if (name == "is_null" || name == "is_valid") {
    const auto* options = dynamic_cast<const cp::NullOptions*>(call->options.get());
    if (call->arguments.size() != 1 || (options != nullptr && options->nan_is_null)) return Nothing();
    const NestedField* field = Column(call->arguments[0], schema);
    if (field == nullptr) return Nothing();
    return Exact(Predicate{field->name, name == "is_null" ? PredicateOp::kIsNull : PredicateOp::kNotNull, nullptr});
  }
  if (name == "is_in") return IsIn(*call, schema);
  return Comparison(*call, schema);
}

}  // namespace

Expression ImpliedFilter(const cp::Expression& filter, const Schema& schema) {
  return Translate(filter, schema, 0).implied;
}

Result<std::vector<const NestedField*>> ArrowFilterFields(const cp::Expression& filter, const Schema& schema) {
  std::vector<const NestedField*> out;
  std::set<int32_t> seen;
  for (const arrow::FieldRef& ref : cp::FieldsInExpression(filter)) {
    if (ref.name() == nullptr) {  // nested or positional: read every column
      out.clear();
      for (const auto& field : schema.fields) out.push_back(&field);
      return out;
    }
    const NestedField* field = schema.FindField(*ref.name());
    if (field == nullptr) {
      std::string known;
      for (const auto& f : schema.fields) known += (known.empty() ? "" : ", ") + f.name;
      return SchemaError("filter ", filter.ToString(), " reads unknown column \"", *ref.name(), "\" (columns: ", known,
                         ")");
    }
    if (seen.insert(field->id).second) out.push_back(field);
  }
  return out;
}

namespace {

Result<cp::Expression> BindCondition(const cp::Expression& filter, const arrow::Schema& schema) {
  ARROW_ASSIGN_OR_RAISE(auto bound, filter.Bind(schema));
  if (!bound.type()->Equals(*arrow::boolean())) {
    return SchemaError("filter ", filter.ToString(), " is ", bound.type()->ToString(), ", not a condition (boolean)");
  }
  return bound;
}

}  // namespace

Status CheckArrowFilter(const cp::Expression& filter, const Schema& schema) {
  ARROW_RETURN_NOT_OK(ArrowFilterFields(filter, schema).status());
  return BindCondition(filter, *ToArrowSchema(schema)).status();
}

Result<std::shared_ptr<arrow::RecordBatch>> FilterBatchByArrow(const cp::Expression& filter,
                                                               const std::shared_ptr<arrow::RecordBatch>& batch) {
  ARROW_ASSIGN_OR_RAISE(auto bound, BindCondition(filter, *batch->schema()));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum mask, cp::ExecuteScalarExpression(bound, cp::ExecBatch(*batch)));
  if (mask.is_scalar()) {
    const auto& keep = static_cast<const arrow::BooleanScalar&>(*mask.scalar());
    return keep.is_valid && keep.value ? batch : batch->Slice(0, 0);
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum filtered, cp::Filter(arrow::Datum(batch), mask));
  return filtered.record_batch();
}

}  // namespace datashard::scan
