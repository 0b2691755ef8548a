#include "datashard/table_properties.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "testing/temp_dir.h"

namespace datashard {
namespace {

bool IsInteger(const TableProperty& property) {
  return property.values == PropertyValues::kInteger || property.values == PropertyValues::kNonNegativeInteger ||
         property.values == PropertyValues::kPositiveInteger;
}

TEST(TablePropertiesTest, EveryKeyIsListedOnceAndFoundByItsKey) {
  std::set<std::string> keys;
  for (const TableProperty* property : TableProperties::All()) {
    EXPECT_TRUE(keys.insert(property->key).second) << property->key;
    EXPECT_EQ(TableProperties::Find(property->key), property) << property->key;
    EXPECT_NE(std::string(property->doc), "") << property->key;
    EXPECT_EQ(property->values == PropertyValues::kChoice, property->choices != nullptr) << property->key;
  }
  EXPECT_EQ(TableProperties::Find("datashard.group.writer-7"), &TableProperties::kGroupMarks);
  EXPECT_EQ(TableProperties::Find("owner"), nullptr);
  EXPECT_EQ(TableProperties::Find("datashard.commit"), nullptr);
  EXPECT_EQ(TableProperties::Find("datashard.commit.durability.x"), nullptr);
}

TEST(TablePropertiesTest, EveryDefaultParsesAndIsWhatAnEmptyTableReads) {
  const TableMetadata empty;
  for (const TableProperty* property : TableProperties::All()) {
    if (property->default_value == nullptr) {
      EXPECT_TRUE(property->reserved) << property->key << ": only datashard's own keys go without a default";
      continue;
    }
    DS_ASSERT_OK(CheckPropertyValue(*property, property->default_value));
    EXPECT_EQ(PropertyOrDefault(empty, *property), property->default_value) << property->key;
    DS_ASSIGN_OR_FAIL(std::string checked, CheckedProperty(empty, *property));
    EXPECT_EQ(checked, property->default_value) << property->key;
    if (IsInteger(*property)) {
      EXPECT_EQ(std::to_string(IntegerProperty(empty, *property)), property->default_value) << property->key;
    }
    if (property->values == PropertyValues::kBool) DS_ASSERT_OK(BoolProperty(empty, *property).status());
  }
  DS_ASSIGN_OR_FAIL(Durability durability, ParseDurability(TableProperties::kCommitDurability.default_value));
  EXPECT_EQ(durability, Durability::kFsync);
}

TEST(TablePropertiesTest, OneMessageFormNamesTheKeyTheValuesAndTheValueGiven) {
  EXPECT_EQ(CheckPropertyValue(TableProperties::kParquetRowGroupLimit, "0").message(),
            "table property write.parquet.row-group-limit must be a positive integer, not \"0\"");
  EXPECT_EQ(CheckPropertyValue(TableProperties::kCommitDurability, "sometimes").message(),
            "table property datashard.commit.durability must be \"fsync\" or \"process\", not \"sometimes\"");
  EXPECT_EQ(CheckPropertyValue(TableProperties::kParquetCompressionCodec, "brotli").message(),
            "table property write.parquet.compression-codec must be \"zstd\", \"snappy\", \"gzip\", \"lz4\", "
            "\"uncompressed\" or \"none\", not \"brotli\"");
  EXPECT_EQ(CheckPropertyValue(TableProperties::kCommitKeyLookbackMs, "-1").message(),
            "table property datashard.commit-key.lookback-ms must be an integer, 0 or more, not \"-1\"");
  DS_ASSERT_OK(CheckPropertyValue(TableProperties::kCommitMaxFileAgeMs, "-1"));  // <= 0: no limit
  EXPECT_FALSE(CheckPropertyValue(TableProperties::kCommitMaxFileAgeMs, "30m").ok());
  EXPECT_FALSE(CheckPropertyValue(TableProperties::kCommitGroup, "yes").ok());
  EXPECT_FALSE(CheckPropertyValue(TableProperties::kTargetFileSizeBytes, "").ok());
  EXPECT_EQ(ParseDurability("power-cut").status().message(),
            "durability must be \"fsync\" or \"process\", not \"power-cut\"");
}

TEST(TablePropertiesTest, TuningPropertiesFallBackWhereCommitPropertiesRefuse) {
  // A table another engine wrote may hold values datashard would not accept.
  TableMetadata m;
  m.properties[TableProperties::kParquetRowGroupLimit.key] = "0";
  m.properties[TableProperties::kParquetCompressionCodec.key] = "brotli";
  m.properties[TableProperties::kMetadataMaxSnapshots.key] = "many";
  m.properties[TableProperties::kCommitDurability.key] = "sometimes";
  m.properties[TableProperties::kCommitGroup.key] = "yes";
  EXPECT_EQ(IntegerProperty(m, TableProperties::kParquetRowGroupLimit), 1 << 20);
  EXPECT_EQ(PropertyOrDefault(m, TableProperties::kParquetCompressionCodec), "zstd");
  EXPECT_EQ(IntegerProperty(m, TableProperties::kMetadataMaxSnapshots), 32);
  auto durability = CheckedProperty(m, TableProperties::kCommitDurability);
  EXPECT_TRUE(IsKind(durability.status(), ErrorKind::kInvalidArgument));
  EXPECT_NE(durability.status().message().find(TableProperties::kCommitDurability.key), std::string::npos);
  EXPECT_TRUE(IsKind(BoolProperty(m, TableProperties::kCommitGroup).status(), ErrorKind::kInvalidArgument));

  m.properties[TableProperties::kParquetRowGroupLimit.key] = "5000";
  m.properties[TableProperties::kCommitGroup.key] = "false";
  EXPECT_EQ(IntegerProperty(m, TableProperties::kParquetRowGroupLimit), 5000);
  DS_ASSIGN_OR_FAIL(bool group, BoolProperty(m, TableProperties::kCommitGroup));
  EXPECT_FALSE(group);
}

}  // namespace
}  // namespace datashard
