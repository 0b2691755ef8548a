#include "datashard/scan/expression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "testing/temp_dir.h"

namespace datashard::scan {
namespace {

namespace cp = arrow::compute;

// Arrow's compute kernels register on demand (Table::Create and Load do it for the engine).
class ComputeEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(cp::Initialize().ok()); }
};
const auto* const kCompute = ::testing::AddGlobalTestEnvironment(new ComputeEnvironment);

// Bound predicates point into the schema: one that outlives every test.
const Schema& TestSchema() {
  static const Schema schema = [] {
    Schema s;
    s.fields = {{1, "id", Type::Of(TypeId::kLong), false, ""},
                {2, "x", Type::Of(TypeId::kDouble), false, ""},
                {3, "s", Type::Of(TypeId::kString), false, ""}};
    return s;
  }();
  return schema;
}

std::shared_ptr<arrow::Array> Longs(const std::vector<int64_t>& values) {
  arrow::Int64Builder b;
  EXPECT_TRUE(b.AppendValues(values).ok());
  return *b.Finish();
}

std::shared_ptr<arrow::Array> Doubles(const std::vector<double>& values) {
  arrow::DoubleBuilder b;
  EXPECT_TRUE(b.AppendValues(values).ok());
  return *b.Finish();
}

Expression Id(PredicateOp op, int64_t v) { return Predicate{"id", op, Longs({v})}; }
Expression X(PredicateOp op, double v) { return Predicate{"x", op, Doubles({v})}; }
Expression Null(const std::string& column, bool is_null) {
  return Predicate{column, is_null ? PredicateOp::kIsNull : PredicateOp::kNotNull, nullptr};
}

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// Statistics for the columns, by name; a column not listed has none.
struct Stats {
  std::map<std::string, ColumnStats> columns;
  StatsLookup Lookup() const {
    return [this](const NestedField& field) -> Result<ColumnStats> {
      auto it = columns.find(field.name);
      return it == columns.end() ? ColumnStats{} : it->second;
    };
  }
};

ColumnStats LongRange(int64_t lo, int64_t hi, int64_t rows = 10, int64_t nulls = 0) {
  ColumnStats s;
  s.value_count = rows;
  s.null_count = nulls;
  s.lower = std::make_shared<arrow::Int64Scalar>(lo);
  s.upper = std::make_shared<arrow::Int64Scalar>(hi);
  return s;
}

ColumnStats DoubleRange(double lo, double hi, std::optional<int64_t> nans) {
  ColumnStats s;
  s.value_count = 10;
  s.null_count = 0;
  s.nan_count = nans;
  s.lower = std::make_shared<arrow::DoubleScalar>(lo);
  s.upper = std::make_shared<arrow::DoubleScalar>(hi);
  return s;
}

bool Prunes(const Stats& stats, const Expression& e) {
  auto bound = Bind(TestSchema(), e);
  EXPECT_TRUE(bound.ok()) << bound.status().ToString();
  auto cannot = CannotMatch(stats.Lookup(), *bound);
  EXPECT_TRUE(cannot.ok()) << cannot.status().ToString();
  return *cannot;
}

TEST(ExpressionTest, BindChecksEveryBranch) {
  auto unknown = Bind(TestSchema(), Expression::Or({Id(PredicateOp::kEq, 1), Null("nope", true)}));
  EXPECT_TRUE(IsKind(unknown.status(), ErrorKind::kSchema)) << unknown.status().ToString();
  EXPECT_NE(unknown.status().message().find("\"nope\""), std::string::npos);
  arrow::StringBuilder text;
  ASSERT_TRUE(text.Append("abc").ok());
  auto uncastable = Bind(TestSchema(), Expression::Not(Predicate{"id", PredicateOp::kEq, *text.Finish()}));
  EXPECT_TRUE(IsKind(uncastable.status(), ErrorKind::kSchema)) << uncastable.status().ToString();
  auto two_values = Bind(TestSchema(), Expression::Not(Predicate{"id", PredicateOp::kLt, Longs({1, 2})}));
  EXPECT_FALSE(two_values.ok());
}

TEST(ExpressionTest, BindFoldsConstantsAndFlattens) {
  const Schema& schema = TestSchema();
  DS_ASSIGN_OR_FAIL(auto leaf, Bind(schema, Expression::And({Expression::True(), Id(PredicateOp::kEq, 1)})));
  EXPECT_EQ(leaf.kind, Expression::Kind::kPredicate);
  DS_ASSIGN_OR_FAIL(auto all, Bind(schema, Expression::Or({Id(PredicateOp::kEq, 1), Expression::True()})));
  EXPECT_TRUE(all.IsTrue());
  DS_ASSIGN_OR_FAIL(auto none, Bind(schema, Expression::Or({})));
  EXPECT_EQ(none.kind, Expression::Kind::kFalse);
  DS_ASSIGN_OR_FAIL(auto twice, Bind(schema, Expression::Not(Expression::Not(Id(PredicateOp::kEq, 1)))));
  EXPECT_EQ(twice.kind, Expression::Kind::kPredicate);
  DS_ASSIGN_OR_FAIL(auto flat,
                    Bind(schema, Expression::Or({Id(PredicateOp::kEq, 1),
                                                 Expression::Or({Id(PredicateOp::kEq, 2), Id(PredicateOp::kEq, 3)})})));
  EXPECT_EQ(flat.kind, Expression::Kind::kOr);
  EXPECT_EQ(flat.children.size(), 3u);
  DS_ASSIGN_OR_FAIL(auto both, BindFilter(schema, {Predicate{"id", PredicateOp::kGt, Longs({0})}},
                                          Expression::Or({Null("s", true), X(PredicateOp::kLt, 1)})));
  EXPECT_EQ(both.kind, Expression::Kind::kAnd);
  ASSERT_EQ(both.Fields().size(), 3u);
  EXPECT_EQ(both.Fields()[0]->name, "id");
}

TEST(ExpressionTest, ToStringShowsTheTree) {
  auto e = Expression::Or(
      {Id(PredicateOp::kLt, 5), Expression::Not(Null("s", true)), Predicate{"id", PredicateOp::kIn, Longs({1, 2})}});
  EXPECT_EQ(e.ToString(), "(id < 5 OR NOT s IS NULL OR id IN (1, 2))");
}

TEST(ExpressionTest, OrPrunesOnlyWhenEveryBranchDoes) {
  Stats stats{{{"id", LongRange(10, 20)}}};
  EXPECT_TRUE(Prunes(stats, Expression::Or({Id(PredicateOp::kLt, 5), Id(PredicateOp::kGt, 30)})));
  EXPECT_FALSE(Prunes(stats, Expression::Or({Id(PredicateOp::kLt, 5), Id(PredicateOp::kGt, 15)})));
  // A branch on a column without statistics can match anything.
  EXPECT_FALSE(Prunes(stats, Expression::Or({Id(PredicateOp::kLt, 5), Null("s", false)})));
  // AND inside OR: the AND prunes if any of its operands does.
  EXPECT_TRUE(Prunes(stats, Expression::Or({Id(PredicateOp::kLt, 5),
                                            Expression::And({Id(PredicateOp::kGt, 12), Id(PredicateOp::kEq, 25)})})));
}

TEST(ExpressionTest, NotIsPushedToTheLeaves) {
  Stats stats{{{"id", LongRange(10, 20)}}};
  EXPECT_FALSE(Prunes(stats, Expression::Not(Id(PredicateOp::kLt, 5))));    // id >= 5
  EXPECT_TRUE(Prunes(stats, Expression::Not(Id(PredicateOp::kLt, 25))));    // id >= 25
  EXPECT_TRUE(Prunes(stats, Expression::Not(Id(PredicateOp::kGtEq, 10))));  // id < 10
  EXPECT_FALSE(Prunes(stats, Expression::Not(Id(PredicateOp::kGtEq, 11))));
  EXPECT_TRUE(Prunes(stats, Expression::Not(Id(PredicateOp::kNotEq, 30))));  // id == 30
  // De Morgan: NOT (id > 5 AND id < 30) = id <= 5 OR id >= 30.
  EXPECT_TRUE(Prunes(stats, Expression::Not(Expression::And({Id(PredicateOp::kGt, 5), Id(PredicateOp::kLt, 30)}))));
  EXPECT_FALSE(Prunes(stats, Expression::Not(Expression::And({Id(PredicateOp::kGt, 5), Id(PredicateOp::kLt, 15)}))));
  // NOT (id < 5 OR id > 30) = id >= 5 AND id <= 30.
  EXPECT_FALSE(Prunes(stats, Expression::Not(Expression::Or({Id(PredicateOp::kLt, 5), Id(PredicateOp::kGt, 30)}))));
  EXPECT_TRUE(Prunes(stats, Expression::Not(Expression::Or({Id(PredicateOp::kLt, 25), Id(PredicateOp::kGt, 12)}))));
  // NOT IN / NOT (IN): bounds never prove inequality.
  EXPECT_FALSE(Prunes(stats, Expression::Not(Predicate{"id", PredicateOp::kIn, Longs({10, 20})})));
  EXPECT_TRUE(Prunes(stats, Expression::Not(Predicate{"id", PredicateOp::kNotIn, Longs({1, 2})})));
  EXPECT_FALSE(Prunes(stats, Expression::Not(Predicate{"id", PredicateOp::kNotIn, Longs({1, 12})})));
}

TEST(ExpressionTest, NullsMatchNeitherAComparisonNorItsNegation) {
  Stats only_nulls{{{"id", ColumnStats{10, 10, std::nullopt, nullptr, nullptr, {}}}}};
  EXPECT_TRUE(Prunes(only_nulls, Id(PredicateOp::kLt, 5)));
  EXPECT_TRUE(Prunes(only_nulls, Expression::Not(Id(PredicateOp::kLt, 5))));
  EXPECT_TRUE(Prunes(only_nulls, Expression::Not(Predicate{"id", PredicateOp::kIn, Longs({1})})));
  EXPECT_TRUE(Prunes(only_nulls, Expression::Not(Null("id", true))));
  EXPECT_FALSE(Prunes(only_nulls, Expression::Not(Null("id", false))));
  Stats no_nulls{{{"id", LongRange(1, 2)}}};
  EXPECT_TRUE(Prunes(no_nulls, Expression::Not(Null("id", false))));
  EXPECT_FALSE(Prunes(no_nulls, Expression::Not(Null("id", true))));
  Stats unknown{{{"id", ColumnStats{}}}};
  EXPECT_FALSE(Prunes(unknown, Expression::Not(Null("id", false))));
  EXPECT_FALSE(Prunes(unknown, Expression::Not(Id(PredicateOp::kLt, 5))));
}

TEST(ExpressionTest, NaNCellsAreRuledOutOnlyByANaNCount) {
  // Bounds describe the non-NaN values; a NaN cell is true for !=, for the
  // negation of any other comparison, and for IN a list holding NaN.
  Stats unknown_nans{{{"x", DoubleRange(0.0, 1.0, std::nullopt)}}};
  Stats no_nans{{{"x", DoubleRange(0.0, 1.0, 0)}}};
  EXPECT_TRUE(Prunes(unknown_nans, X(PredicateOp::kGt, 5.0)));  // NaN > 5 is false
  EXPECT_FALSE(Prunes(unknown_nans, Expression::Not(X(PredicateOp::kLt, 5.0))));
  EXPECT_TRUE(Prunes(no_nans, Expression::Not(X(PredicateOp::kLt, 5.0))));
  EXPECT_FALSE(Prunes(unknown_nans, Expression::Not(X(PredicateOp::kEq, 0.5))));
  auto in_nan = Expression(Predicate{"x", PredicateOp::kIn, Doubles({7.0, kNaN})});
  EXPECT_FALSE(Prunes(unknown_nans, in_nan));
  EXPECT_TRUE(Prunes(unknown_nans, Predicate{"x", PredicateOp::kIn, Doubles({7.0})}));
  EXPECT_FALSE(Prunes(unknown_nans, Expression::Not(Predicate{"x", PredicateOp::kNotIn, Doubles({kNaN})})));
  // A NaN literal compares false with the bounds: it never prunes.
  EXPECT_FALSE(Prunes(no_nans, Expression::Not(X(PredicateOp::kLt, kNaN))));
  // -0.0 and 0.0 are equal to Arrow's comparisons, so bounds of either zero hold both.
  Stats zeros{{{"x", DoubleRange(-0.0, -0.0, 0)}}};
  EXPECT_FALSE(Prunes(zeros, X(PredicateOp::kGtEq, 0.0)));
  EXPECT_FALSE(Prunes(zeros, X(PredicateOp::kEq, 0.0)));
  EXPECT_TRUE(Prunes(zeros, X(PredicateOp::kGt, 0.0)));
  // A NaN bound (written by a writer that kept NaN in its bounds) is no bound.
  Stats nan_bound{{{"x", DoubleRange(0.0, kNaN, 0)}}};
  EXPECT_FALSE(Prunes(nan_bound, X(PredicateOp::kGt, 5.0)));
}

TEST(ExpressionTest, BloomFiltersRuleOutEqualityAndInOnly) {
  // Bounds 0..100 hold every literal below; the bloom filter knows the column holds 7 and 42 only.
  ColumnStats ids = LongRange(0, 100);
  ids.might_contain = [](const arrow::Scalar& v) {
    const int64_t x = static_cast<const arrow::Int64Scalar&>(v).value;
    return x == 7 || x == 42;
  };
  Stats stats{{{"id", ids}}};
  EXPECT_TRUE(Prunes(stats, Id(PredicateOp::kEq, 50)));
  EXPECT_FALSE(Prunes(stats, Id(PredicateOp::kEq, 42)));
  EXPECT_TRUE(Prunes(stats, Predicate{"id", PredicateOp::kIn, Longs({50, 60})}));
  EXPECT_FALSE(Prunes(stats, Predicate{"id", PredicateOp::kIn, Longs({50, 42})}));
  EXPECT_TRUE(Prunes(stats, Expression::Not(Id(PredicateOp::kNotEq, 50))));  // id == 50
  EXPECT_TRUE(Prunes(stats, Expression::Or({Id(PredicateOp::kEq, 50), Id(PredicateOp::kEq, 51)})));
  // A bloom filter says nothing about ranges or inequality.
  EXPECT_FALSE(Prunes(stats, Id(PredicateOp::kLt, 50)));
  EXPECT_FALSE(Prunes(stats, Id(PredicateOp::kNotEq, 42)));
  // Nor about floating columns, where NaN and -0.0 hash apart from what they equal.
  ColumnStats xs = DoubleRange(-1.0, 1.0, 0);
  xs.might_contain = [](const arrow::Scalar&) { return false; };
  Stats floats{{{"x", xs}}};
  EXPECT_FALSE(Prunes(floats, X(PredicateOp::kEq, 0.0)));
}

// The exact filter on a batch: which rows it keeps.
std::vector<int64_t> Kept(const Expression& e) {
  arrow::Int64Builder ids;
  arrow::DoubleBuilder xs;
  arrow::StringBuilder ss;
  const std::vector<std::optional<double>> x = {1.0, 5.0, std::nullopt, kNaN, -0.0, 0.0};
  for (int64_t i = 0; i < static_cast<int64_t>(x.size()); ++i) {
    EXPECT_TRUE(ids.Append(i).ok());
    EXPECT_TRUE((x[i] ? xs.Append(*x[i]) : xs.AppendNull()).ok());
    EXPECT_TRUE((i % 2 == 0 ? ss.Append("a") : ss.AppendNull()).ok());
  }
  auto batch =
      arrow::RecordBatch::Make(arrow::schema({arrow::field("id", arrow::int64()), arrow::field("x", arrow::float64()),
                                              arrow::field("s", arrow::utf8())}),
                               static_cast<int64_t>(x.size()), {*ids.Finish(), *xs.Finish(), *ss.Finish()});
  auto bound = Bind(TestSchema(), e);
  EXPECT_TRUE(bound.ok()) << bound.status().ToString();
  auto filtered = FilterBatch(*bound, batch);
  EXPECT_TRUE(filtered.ok()) << filtered.status().ToString();
  std::vector<int64_t> out;
  auto kept = std::static_pointer_cast<arrow::Int64Array>((*filtered)->column(0));
  for (int64_t i = 0; i < kept->length(); ++i) out.push_back(kept->Value(i));
  return out;
}

TEST(ExpressionTest, ExactFilterUsesThreeValuedLogic) {
  using V = std::vector<int64_t>;
  // x: 1, 5, null, NaN, -0.0, 0.0
  EXPECT_EQ(Kept(X(PredicateOp::kLt, 2.0)), (V{0, 4, 5}));
  EXPECT_EQ(Kept(Expression::Not(X(PredicateOp::kLt, 2.0))), (V{1, 3}));  // NaN: not (NaN < 2)
  EXPECT_EQ(Kept(X(PredicateOp::kEq, 0.0)), (V{4, 5}));
  EXPECT_EQ(Kept(Predicate{"x", PredicateOp::kIn, Doubles({0.0, kNaN})}), (V{3, 5}));
  EXPECT_EQ(Kept(Expression::Not(Predicate{"x", PredicateOp::kIn, Doubles({1.0})})), (V{1, 3, 4, 5}));
  EXPECT_EQ(Kept(Predicate{"x", PredicateOp::kNotIn, Doubles({1.0})}), (V{1, 3, 4, 5}));
  // OR: true OR unknown is true; NOT of an unknown stays unknown.
  EXPECT_EQ(Kept(Expression::Or({X(PredicateOp::kGt, 4.0), Null("s", false)})), (V{0, 1, 2, 4}));
  EXPECT_EQ(Kept(Expression::Not(Expression::And({X(PredicateOp::kGt, 0.5), Null("s", false)}))), (V{1, 3, 4, 5}));
  EXPECT_EQ(Kept(Expression::Or({})), V{});
  EXPECT_EQ(Kept(Expression::True()).size(), 6u);
}

}  // namespace
}  // namespace datashard::scan
