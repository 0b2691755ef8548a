#include "datashard/format/schema.h"

#include <arrow/type.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/partition_spec.h"
#include "testing/temp_dir.h"

namespace datashard::format {
namespace {

Schema SampleSchema() {
  Schema schema;
  schema.fields = {{1, "id", Type::Of(TypeId::kLong), true, ""},
                   {2, "name", Type::Of(TypeId::kString), false, "a doc"},
                   {3, "price", Type::Decimal(9, 2), false, ""},
                   {4, "key", Type::Fixed(16), false, ""},
                   {5, "ts", Type::Of(TypeId::kTimestampTz), false, ""}};
  return schema;
}

TEST(TypeTest, ParsesAndPrintsEveryPrimitive) {
  for (const char* text : {"boolean", "int", "long", "float", "double", "date", "time", "timestamp", "timestamptz",
                           "string", "uuid", "binary", "fixed[16]", "decimal(9, 2)"}) {
    DS_ASSIGN_OR_FAIL(Type type, Type::Parse(text));
    EXPECT_EQ(type.ToString(), text);
  }
  DS_ASSIGN_OR_FAIL(Type compact, Type::Parse("decimal(38,10)"));
  EXPECT_EQ(compact, Type::Decimal(38, 10));
}

TEST(TypeTest, RejectsUnknownTypesWithSchemaError) {
  for (const char* text : {"varchar", "decimal(39, 2)", "decimal(5, 6)", "fixed[0]", "list<int>", ""}) {
    auto type = Type::Parse(text);
    ASSERT_FALSE(type.ok()) << text;
    EXPECT_TRUE(IsKind(type.status(), ErrorKind::kSchema));
  }
}

TEST(SchemaTest, JsonRoundTrip) {
  Schema schema = SampleSchema();
  schema.schema_id = 3;
  auto json = SchemaToJson(schema);
  EXPECT_EQ(json["type"], "struct");
  EXPECT_EQ(json["schema-id"], 3);
  EXPECT_EQ(json["fields"][2]["type"], "decimal(9, 2)");
  DS_ASSIGN_OR_FAIL(Schema back, SchemaFromJson(json));
  EXPECT_EQ(back.schema_id, 3);
  EXPECT_EQ(back.fields, schema.fields);
}

TEST(SchemaTest, ValidateCatchesDuplicates) {
  Schema schema = SampleSchema();
  schema.fields.push_back({1, "dup", Type::Of(TypeId::kInt), false, ""});
  EXPECT_TRUE(IsKind(schema.Validate(), ErrorKind::kSchema));
  schema = SampleSchema();
  schema.fields.push_back({9, "id", Type::Of(TypeId::kInt), false, ""});
  EXPECT_TRUE(IsKind(schema.Validate(), ErrorKind::kSchema));
}

TEST(SchemaTest, DescribeDifferenceNamesTheField) {
  Schema a = SampleSchema();
  Schema b = SampleSchema();
  EXPECT_EQ(a.DescribeDifference(b), "");
  b.fields[1].type = Type::Of(TypeId::kBinary);
  EXPECT_NE(a.DescribeDifference(b).find("\"name\""), std::string::npos);
}

TEST(SchemaTest, ArrowMappingCarriesFieldIds) {
  auto arrow_schema = ToArrowSchema(SampleSchema());
  ASSERT_EQ(arrow_schema->num_fields(), 5);
  EXPECT_EQ(FieldIdOf(*arrow_schema->field(2)), 3);
  EXPECT_FALSE(arrow_schema->field(0)->nullable());
  DS_ASSIGN_OR_FAIL(Schema back, FromArrowSchema(*arrow_schema));
  EXPECT_EQ(back.fields, [] {
    auto fields = SampleSchema().fields;
    fields[1].doc = "";
    return fields;
  }());
}

TEST(PartitionSpecTest, ResultTypesFollowTheSpec) {
  Schema schema = SampleSchema();
  auto type_of = [&](int32_t source, const char* transform) {
    return PartitionResultType(schema, PartitionField{source, 1000, "p", transform});
  };
  EXPECT_EQ(*type_of(1, "identity"), Type::Of(TypeId::kLong));
  EXPECT_EQ(*type_of(1, "bucket[16]"), Type::Of(TypeId::kInt));
  EXPECT_EQ(*type_of(5, "day"), Type::Of(TypeId::kDate));
  EXPECT_EQ(*type_of(5, "hour"), Type::Of(TypeId::kInt));
  EXPECT_EQ(*type_of(2, "truncate[4]"), Type::Of(TypeId::kString));
  EXPECT_FALSE(type_of(2, "hour").ok());
  EXPECT_FALSE(type_of(1, "nonsense").ok());
}

}  // namespace
}  // namespace datashard::format
