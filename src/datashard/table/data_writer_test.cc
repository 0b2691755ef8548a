#include "datashard/table/data_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/file_names.h"
#include "datashard/format/single_value.h"
#include "datashard/table.h"
#include "datashard/transaction.h"
#include "testing/temp_dir.h"

namespace datashard::table {
namespace {

// Every type a column can have, each nullable.
Schema AllTypes() {
  Schema schema;
  int32_t id = 0;
  auto add = [&](const std::string& name, Type type) { schema.fields.push_back({++id, name, type, false, ""}); };
  add("b", Type::Of(TypeId::kBoolean));
  add("i", Type::Of(TypeId::kInt));
  add("l", Type::Of(TypeId::kLong));
  add("f", Type::Of(TypeId::kFloat));
  add("d", Type::Of(TypeId::kDouble));
  add("date", Type::Of(TypeId::kDate));
  add("time", Type::Of(TypeId::kTime));
  add("ts", Type::Of(TypeId::kTimestamp));
  add("tstz", Type::Of(TypeId::kTimestampTz));
  add("s", Type::Of(TypeId::kString));
  add("u", Type::Of(TypeId::kUuid));
  add("bin", Type::Of(TypeId::kBinary));
  add("fx", Type::Fixed(3));
  add("dec", Type::Decimal(9, 2));
  add("wide", Type::Decimal(38, 10));
  add("nulls", Type::Of(TypeId::kLong));     // every value null
  add("nans", Type::Of(TypeId::kDouble));    // every value NaN (or null)
  add("long_s", Type::Of(TypeId::kString));  // values past Parquet's 4 KiB statistics limit
  add("zeros", Type::Of(TypeId::kFloat));    // only -0.0 and +0.0
  return schema;
}

// Random values for `schema` (AllTypes), with nulls, NaN, infinities, signed
// zeros, empty and non-ASCII strings, bytes >= 0x80.
std::shared_ptr<arrow::Table> RandomRows(const Schema& schema, int64_t rows, uint32_t seed, bool long_strings) {
  std::mt19937_64 rng(seed);
  auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };
  auto bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 256);
    return s;
  };
  const std::vector<std::string> words = {"",
                                          "a",
                                          "ab",
                                          "zzz",
                                          "héllo",
                                          "日本語テキスト",
                                          "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf",
                                          "a-rather-long-string-past-sixteen-characters",
                                          "Z",
                                          "~~~~~~~~~~~~~~~~~~~~"};
  auto special_double = [&]() -> double {
    switch (rng() % 8) {
      case 0: return std::nan("");
      case 1: return -0.0;
      case 2: return 0.0;
      case 3: return std::numeric_limits<double>::infinity();
      case 4: return -std::numeric_limits<double>::infinity();
      default: return std::ldexp(static_cast<double>(static_cast<int64_t>(rng() % 2000001) - 1000000), -10);
    }
  };
  std::vector<std::shared_ptr<arrow::Array>> columns;
  for (const auto& field : schema.fields) {
    auto type = format::ToArrowType(field.type);
    std::unique_ptr<arrow::ArrayBuilder> builder;
    EXPECT_TRUE(arrow::MakeBuilder(arrow::default_memory_pool(), type, &builder).ok());
    for (int64_t r = 0; r < rows; ++r) {
      if (field.name == "nulls" || chance(10)) {
        EXPECT_TRUE(builder->AppendNull().ok());
        continue;
      }
      arrow::Status st;
      const auto u = static_cast<int64_t>(rng());
      switch (field.type.id) {
        case TypeId::kBoolean: st = static_cast<arrow::BooleanBuilder&>(*builder).Append(u % 2 == 0); break;
        case TypeId::kInt: st = static_cast<arrow::Int32Builder&>(*builder).Append(static_cast<int32_t>(u)); break;
        case TypeId::kLong: st = static_cast<arrow::Int64Builder&>(*builder).Append(u); break;
        case TypeId::kFloat: {
          float v = field.name == "zeros" ? (u % 2 ? -0.0f : 0.0f) : static_cast<float>(special_double());
          st = static_cast<arrow::FloatBuilder&>(*builder).Append(v);
          break;
        }
        case TypeId::kDouble: {
          double v = field.name == "nans" ? std::nan("") : special_double();
          st = static_cast<arrow::DoubleBuilder&>(*builder).Append(v);
          break;
        }
        case TypeId::kDate:
          st = static_cast<arrow::Date32Builder&>(*builder).Append(static_cast<int32_t>(u % 40000) - 20000);
          break;
        case TypeId::kTime:
          st = static_cast<arrow::Time64Builder&>(*builder).Append(std::abs(u) % 86400000000LL);
          break;
        case TypeId::kTimestamp:
        case TypeId::kTimestampTz:
          st = static_cast<arrow::TimestampBuilder&>(*builder).Append(u % 4000000000000000LL);
          break;
        case TypeId::kString: {
          std::string v = words[static_cast<size_t>(std::abs(u)) % words.size()];
          if (field.name == "long_s" && long_strings && chance(3)) v = std::string(5000, 'x') + bytes(3);
          st = static_cast<arrow::StringBuilder&>(*builder).Append(v);
          break;
        }
        case TypeId::kBinary: st = static_cast<arrow::BinaryBuilder&>(*builder).Append(bytes(rng() % 24)); break;
        case TypeId::kUuid:
        case TypeId::kFixed:
          st = static_cast<arrow::FixedSizeBinaryBuilder&>(*builder).Append(
              bytes(static_cast<size_t>(field.type.id == TypeId::kUuid ? 16 : field.type.length)));
          break;
        case TypeId::kDecimal: {
          arrow::Decimal128 v = field.type.precision <= 9 ? arrow::Decimal128(u % 1000000000LL)
                                                          : arrow::Decimal128(u % 1000000000000000000LL) *
                                                                arrow::Decimal128(u % 1000000000000000LL);
          st = static_cast<arrow::Decimal128Builder&>(*builder).Append(v);
          break;
        }
      }
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    std::shared_ptr<arrow::Array> array;
    EXPECT_TRUE(builder->Finish(&array).ok());
    columns.push_back(array);
  }
  auto table = arrow::Table::Make(format::ToArrowSchema(schema), columns);
  auto conformed = format::ConformToSchema(table, schema);
  EXPECT_TRUE(conformed.ok()) << conformed.status().ToString();
  return *conformed;
}

std::shared_ptr<Table> NewTable(const testing::TempDir& dir, const Schema& schema,
                                std::map<std::string, std::string> properties = {},
                                PartitionSpec spec = PartitionSpec{}) {
  CreateOptions options;
  options.schema = schema;
  options.partition_spec = std::move(spec);
  options.properties = std::move(properties);
  options.properties["datashard.commit.durability"] = "process";
  auto table = Table::Create(dir.Join("t"), options);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return *table;
}

// The footer's statistics are the ones read from the values, over every
// type, through both the in-memory and the streamed file paths, over one
// and many row groups. One deliberate difference: a float bound that is
// zero comes as -0.0 (lower) or +0.0 (upper), Parquet's rule, where the
// values' MinMax returns whichever zero it met; in Iceberg's order
// (-0.0 < +0.0) the footer's bound is the one that is right.
TEST(DataWriterTest, FooterStatisticsEqualValueStatistics) {
  const Schema schema = AllTypes();
  struct Case {
    int64_t rows;
    std::string row_group_limit;
    bool long_strings;
  };
  for (const Case& c : {Case{5, "1048576", false}, Case{3000, "1000", false}, Case{3000, "1000", true},
                        Case{60000, "7000", true}, Case{60000, "1048576", false}}) {
    for (uint32_t seed : {1u, 2u, 3u}) {
      SCOPED_TRACE(::testing::Message() << "rows " << c.rows << " row groups of " << c.row_group_limit << " seed "
                                        << seed << (c.long_strings ? " long strings" : ""));
      testing::TempDir dir;
      auto table = NewTable(dir, schema, {{"write.parquet.row-group-limit", c.row_group_limit}});
      auto rows = RandomRows(schema, c.rows, seed, c.long_strings);
      auto metadata = table->metadata();
      DS_ASSERT_OK(table->fs().CreateDir(format::DataDir(table->location())));
      DS_ASSIGN_OR_FAIL(auto files, WriteDataFiles(table->fs(), *metadata, schema, *metadata->DefaultSpec(), *rows,
                                                   Durability::kProcess));
      ASSERT_EQ(files.size(), 1u);
      const format::DataFile& got = files[0];
      format::DataFile want;
      for (int i = 0; i < rows->num_columns(); ++i) {
        DS_ASSERT_OK(CollectColumnStats(schema.fields[static_cast<size_t>(i)], *rows->column(i), &want));
      }
      EXPECT_EQ(got.record_count, c.rows);
      EXPECT_EQ(got.value_counts, want.value_counts);
      EXPECT_EQ(got.null_value_counts, want.null_value_counts);
      EXPECT_EQ(got.nan_value_counts, want.nan_value_counts);
      for (const auto& field : schema.fields) {
        SCOPED_TRACE(field.name);
        for (bool lower : {true, false}) {
          const auto& got_bounds = lower ? got.lower_bounds : got.upper_bounds;
          const auto& want_bounds = lower ? want.lower_bounds : want.upper_bounds;
          ASSERT_EQ(got_bounds.count(field.id), want_bounds.count(field.id));
          if (!want_bounds.count(field.id)) continue;
          const std::string& g = got_bounds.at(field.id);
          const std::string& w = want_bounds.at(field.id);
          if (g == w) continue;
          // Only a zero float bound may differ, and only in its sign.
          ASSERT_TRUE(field.type.id == TypeId::kFloat || field.type.id == TypeId::kDouble) << "bounds differ";
          DS_ASSIGN_OR_FAIL(auto gs, format::DeserializeValue(field.type, g));
          DS_ASSIGN_OR_FAIL(auto ws, format::DeserializeValue(field.type, w));
          const double gv = field.type.id == TypeId::kFloat ? static_cast<arrow::FloatScalar&>(*gs).value
                                                            : static_cast<arrow::DoubleScalar&>(*gs).value;
          const double wv = field.type.id == TypeId::kFloat ? static_cast<arrow::FloatScalar&>(*ws).value
                                                            : static_cast<arrow::DoubleScalar&>(*ws).value;
          EXPECT_EQ(gv, 0.0);
          EXPECT_EQ(wv, 0.0);
          EXPECT_EQ(std::signbit(gv), lower) << "a zero lower bound is -0.0, a zero upper bound +0.0";
        }
      }
    }
  }
}

int64_t CountRows(Table& table) {
  auto count = table.RowCount(std::nullopt);
  EXPECT_TRUE(count.ok()) << count.status().ToString();
  return count.ok() ? *count : -1;
}

std::shared_ptr<arrow::RecordBatch> Batch(int64_t first, int64_t rows, int64_t partitions = 1) {
  arrow::Int64Builder ids, parts;
  arrow::DoubleBuilder values;
  arrow::StringBuilder names;
  for (int64_t i = first; i < first + rows; ++i) {
    EXPECT_TRUE(ids.Append(i).ok());
    EXPECT_TRUE(parts.Append(i % partitions).ok());
    EXPECT_TRUE(values.Append(static_cast<double>((i * 2654435761LL) % 1000003) / 7.0).ok());
    EXPECT_TRUE(names.Append("name-" + std::to_string((i * 40503) % 5000)).ok());
  }
  auto schema = arrow::schema({arrow::field("id", arrow::int64()), arrow::field("part", arrow::int64()),
                               arrow::field("value", arrow::float64()), arrow::field("name", arrow::utf8())});
  return arrow::RecordBatch::Make(schema, rows, {*ids.Finish(), *parts.Finish(), *values.Finish(), *names.Finish()});
}

Schema BatchSchema() {
  Schema schema;
  schema.fields = {{1, "id", Type::Of(TypeId::kLong), false, ""},
                   {2, "part", Type::Of(TypeId::kLong), false, ""},
                   {3, "value", Type::Of(TypeId::kDouble), false, ""},
                   {4, "name", Type::Of(TypeId::kString), false, ""}};
  return schema;
}

// Batches first..first+count*rows, optionally failing after `fail_after` batches.
class TestReader final : public arrow::RecordBatchReader {
 public:
  TestReader(int batches, int64_t rows, int fail_after = -1, int64_t partitions = 1, bool bad_batch = false)
      : batches_(batches), rows_(rows), fail_after_(fail_after), partitions_(partitions), bad_batch_(bad_batch) {}
  std::shared_ptr<arrow::Schema> schema() const override { return Batch(0, 1)->schema(); }
  Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    if (next_ == fail_after_) {
      if (bad_batch_) {  // a value that does not fit the table's schema
        arrow::StringBuilder ids;
        (void)ids.Append("not a number");
        auto bad = Batch(0, 1);
        *batch = *bad->SetColumn(0, arrow::field("id", arrow::utf8()), *ids.Finish());
        ++next_;
        return Status::OK();
      }
      return Status::IOError("the stream broke");
    }
    if (next_ >= batches_) {
      *batch = nullptr;
      return Status::OK();
    }
    *batch = Batch(next_ * rows_, rows_, partitions_);
    ++next_;
    return Status::OK();
  }

 private:
  int batches_;
  int64_t rows_;
  int fail_after_;
  int64_t partitions_;
  bool bad_batch_;
  int next_ = 0;
};

std::vector<std::string> ParquetFiles(const std::string& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() == ".parquet") out.push_back(entry.path().string());
  }
  return out;
}

TEST(DataWriterTest, FilesRollAtTheTargetSize) {
  testing::TempDir dir;
  constexpr int64_t kTarget = 512 << 10;
  auto table = NewTable(dir, BatchSchema(), {{"write.target-file-size-bytes", std::to_string(kTarget)}});
  auto tx = table->NewTransaction();
  DS_ASSERT_OK(tx->Append(std::make_shared<TestReader>(10, 60000)));
  DS_ASSERT_OK(tx->Commit());
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  ASSERT_GT(files.size(), 3u);
  int64_t rows = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    rows += files[i].record_count;
    EXPECT_LE(files[i].file_size_in_bytes, kTarget * 11 / 10) << files[i].file_path;
    if (i + 1 < files.size()) {
      EXPECT_GE(files[i].file_size_in_bytes, kTarget * 7 / 10) << files[i].file_path;
    }
  }
  EXPECT_EQ(rows, 600000);
  EXPECT_EQ(CountRows(*table), 600000);
}

TEST(DataWriterTest, EachPartitionRollsAtTheTargetSize) {
  testing::TempDir dir;
  constexpr int64_t kTarget = 256 << 10;
  PartitionSpec spec;
  spec.fields.push_back(PartitionField{2, 1000, "part", "identity"});
  auto table = NewTable(dir, BatchSchema(), {{"write.target-file-size-bytes", std::to_string(kTarget)}}, spec);
  // One table in memory, not a stream: the same rolling.
  auto batch = Batch(0, 300000, 3);
  DS_ASSIGN_OR_FAIL(auto rows, arrow::Table::FromRecordBatches({batch}));
  DS_ASSERT_OK(table->Append(rows));
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  std::map<std::string, int> per_dir;
  for (const auto& file : files) {
    per_dir[std::filesystem::path(file.file_path).parent_path().string()] += 1;
    EXPECT_LE(file.file_size_in_bytes, kTarget * 11 / 10) << file.file_path;
  }
  EXPECT_EQ(per_dir.size(), 3u);
  for (const auto& [d, count] : per_dir) EXPECT_GT(count, 1) << d;
  EXPECT_EQ(CountRows(*table), 300000);
}

TEST(DataWriterTest, StreamedAppendIsOneSnapshot) {
  testing::TempDir dir;
  auto table = NewTable(dir, BatchSchema());
  DS_ASSIGN_OR_FAIL(auto info, table->Append(std::make_shared<TestReader>(40, 50000)));
  ASSERT_TRUE(info.snapshot_id.has_value());
  EXPECT_EQ(table->metadata()->snapshots.size(), 1u);
  EXPECT_EQ(CountRows(*table), 2000000);
  // A short stream is a small append.
  DS_ASSERT_OK(table->Append(std::make_shared<TestReader>(2, 3)));
  EXPECT_EQ(CountRows(*table), 2000006);
}

TEST(DataWriterTest, FailedStreamCommitsNothingAndLeavesNoFile) {
  for (bool bad_batch : {false, true}) {
    SCOPED_TRACE(bad_batch ? "a batch that does not fit" : "the stream fails");
    testing::TempDir dir;
    PartitionSpec spec;
    spec.fields.push_back(PartitionField{2, 1000, "part", "identity"});
    auto table = NewTable(dir, BatchSchema(), {{"write.target-file-size-bytes", "200000"}}, spec);
    auto appended = table->Append(std::make_shared<TestReader>(30, 50000, /*fail_after=*/12, 2, bad_batch));
    ASSERT_FALSE(appended.ok());
    if (bad_batch) {
      EXPECT_TRUE(appended.status().message().find("id") != std::string::npos) << appended.status().ToString();
    } else {
      EXPECT_TRUE(appended.status().message().find("the stream broke") != std::string::npos);
    }
    DS_ASSERT_OK(table->Refresh());
    EXPECT_EQ(table->metadata()->snapshots.size(), 0u);
    EXPECT_EQ(ParquetFiles(format::DataDir(table->location())), std::vector<std::string>{});
  }
}

TEST(DataWriterTest, AbortDeletesEveryFile) {
  testing::TempDir dir;
  auto table = NewTable(dir, BatchSchema(), {{"write.target-file-size-bytes", "100000"}});
  auto metadata = table->metadata();
  const Schema& schema = *metadata->CurrentSchema();
  DS_ASSERT_OK(table->fs().CreateDir(format::DataDir(table->location())));
  {
    DataFilesWriter writer(table->fs(), *metadata, schema, *metadata->DefaultSpec(), Durability::kProcess);
    for (int i = 0; i < 5; ++i) DS_ASSERT_OK(writer.Write(Batch(i * 100000, 100000)));
    EXPECT_GT(writer.files().size(), 0u);
    EXPECT_GT(ParquetFiles(format::DataDir(table->location())).size(), 0u);
  }  // destroyed unfinished: aborted
  EXPECT_EQ(ParquetFiles(format::DataDir(table->location())), std::vector<std::string>{});
}

}  // namespace
}  // namespace datashard::table
