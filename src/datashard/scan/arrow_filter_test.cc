#include "datashard/scan/arrow_filter.h"

#include <gtest/gtest.h>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/json/from_string.h>

namespace datashard::scan {
namespace {

namespace cp = arrow::compute;

// (Arrow's compute kernels are registered by expression_test.cc's environment.)
const Schema& TestSchema() {
  static const Schema schema = [] {
    Schema s;
    s.fields = {{1, "id", Type::Of(TypeId::kLong), false, ""},
                {2, "x", Type::Of(TypeId::kDouble), false, ""},
                {3, "f", Type::Of(TypeId::kFloat), false, ""},
                {4, "s", Type::Of(TypeId::kString), false, ""}};
    return s;
  }();
  return schema;
}

std::string Implied(const cp::Expression& e) { return ImpliedFilter(e, TestSchema()).ToString(); }

cp::Expression Id() { return cp::field_ref("id"); }
cp::Expression Lit(int64_t v) { return cp::literal(v); }

cp::Expression IsIn(cp::Expression column, const std::shared_ptr<arrow::Array>& values,
                    cp::SetLookupOptions::NullMatchingBehavior behavior) {
  return cp::call("is_in", {std::move(column)}, cp::SetLookupOptions(values, behavior));
}

std::shared_ptr<arrow::Array> Ints(const std::string& json) {
  return *arrow::json::ArrayFromJSONString(arrow::int64(), json);
}

TEST(ArrowFilterTest, ComparisonsInAndNullTestsTranslateUnderAndOrNot) {
  EXPECT_EQ(Implied(cp::greater(Id(), Lit(5))), "id > 5");
  EXPECT_EQ(Implied(cp::less(Lit(5), Id())), "id > 5");  // literal first: flipped
  EXPECT_EQ(Implied(cp::and_(cp::greater_equal(Id(), Lit(1)), cp::is_null(cp::field_ref("s")))),
            "(id >= 1 AND s IS NULL)");
  EXPECT_EQ(Implied(cp::or_(cp::equal(Id(), Lit(1)), cp::not_(cp::less(Id(), Lit(9))))), "(id == 1 OR NOT id < 9)");
  EXPECT_EQ(Implied(cp::call("is_valid", {cp::field_ref("s")})), "s IS NOT NULL");
}

TEST(ArrowFilterTest, WhatCannotBeTranslatedImpliesNothingButAndKeepsTheRest) {
  auto opaque = cp::greater(cp::call("add", {Id(), Lit(1)}), Lit(3));
  EXPECT_EQ(Implied(opaque), "TRUE");
  EXPECT_EQ(Implied(cp::and_(opaque, cp::less(Id(), Lit(10)))), "(id < 10)");
  // An OR with an opaque branch, and NOT of anything not exact, imply nothing.
  EXPECT_EQ(Implied(cp::or_(opaque, cp::less(Id(), Lit(10)))), "TRUE");
  EXPECT_EQ(Implied(cp::not_(cp::and_(opaque, cp::less(Id(), Lit(10))))), "TRUE");
  // Unknown columns and column-to-column comparisons too (the exact filter reports them).
  EXPECT_EQ(Implied(cp::greater(cp::field_ref("nope"), Lit(1))), "TRUE");
  EXPECT_EQ(Implied(cp::greater(Id(), cp::field_ref("x"))), "TRUE");
}

TEST(ArrowFilterTest, LiteralsThatChangeInTheColumnTypeAreLeftOut) {
  // float32 column, double literal 0.1: Arrow compares as doubles, 0.1f != 0.1.
  EXPECT_EQ(Implied(cp::greater(cp::field_ref("f"), cp::literal(0.1))), "TRUE");
  EXPECT_EQ(Implied(cp::greater(cp::field_ref("f"), cp::literal(0.5))), "f > 0.5");
  // Integer column, floating literal: Arrow compares as doubles, which round above 2^53.
  EXPECT_EQ(Implied(cp::greater(Id(), cp::literal(2.0))), "TRUE");
  // A null literal makes the comparison null everywhere: nothing to translate.
  EXPECT_EQ(Implied(cp::equal(Id(), cp::literal(arrow::MakeNullScalar(arrow::int64())))), "TRUE");
}

TEST(ArrowFilterTest, IsInIsExactOnlyWhereNullCellsGiveNull) {
  using B = cp::SetLookupOptions;
  // MATCH (pyarrow's default): a null cell gives false, so NOT keeps it: implied only.
  EXPECT_EQ(Implied(IsIn(Id(), Ints("[1, 2]"), B::MATCH)), "id IN (1, 2)");
  EXPECT_EQ(Implied(cp::not_(IsIn(Id(), Ints("[1, 2]"), B::MATCH))), "TRUE");
  EXPECT_EQ(Implied(cp::not_(IsIn(Id(), Ints("[1, 2]"), B::EMIT_NULL))), "NOT id IN (1, 2)");
  // A null in the list matches null cells.
  EXPECT_EQ(Implied(IsIn(Id(), Ints("[1, null]"), B::MATCH)), "(id IN (1) OR id IS NULL)");
  EXPECT_EQ(Implied(IsIn(Id(), Ints("[1, null]"), B::SKIP)), "id IN (1)");
}

TEST(ArrowFilterTest, FieldsAndTheExactFilter) {
  auto filter = cp::and_(cp::greater(cp::call("add", {Id(), Lit(1)}), Lit(3)), cp::is_null(cp::field_ref("s")));
  auto fields = ArrowFilterFields(filter, TestSchema());
  ASSERT_TRUE(fields.ok()) << fields.status().ToString();
  ASSERT_EQ(fields->size(), 2u);
  EXPECT_EQ((*fields)[0]->name, "id");
  EXPECT_EQ((*fields)[1]->name, "s");
  auto unknown = ArrowFilterFields(cp::greater(cp::field_ref("nope"), Lit(1)), TestSchema());
  EXPECT_TRUE(IsKind(unknown.status(), ErrorKind::kSchema)) << unknown.status().ToString();

  auto batch = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("id", arrow::int64()), arrow::field("s", arrow::utf8())}), 4,
      {Ints("[1, 2, 3, null]"), *arrow::json::ArrayFromJSONString(arrow::utf8(), R"(["a", null, null, null])")});
  auto kept = FilterBatchByArrow(filter, batch);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ((*kept)->num_rows(), 1);  // id 3: 3 + 1 > 3 and s is null
  auto not_boolean = FilterBatchByArrow(cp::call("add", {Id(), Lit(1)}), batch);
  EXPECT_TRUE(IsKind(not_boolean.status(), ErrorKind::kSchema)) << not_boolean.status().ToString();
}

}  // namespace
}  // namespace datashard::scan
