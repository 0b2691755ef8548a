#include "datashard/table/data_writer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/thread_pool.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_writer.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/file_names.h"
#include "datashard/format/partition_spec.h"
#include "datashard/format/single_value.h"
#include "datashard/format/transforms.h"
#include "datashard/table_properties.h"
#include "datashard/util/uuid.h"

namespace datashard::table {
namespace {

// In-memory size below which a data file is written plainly (see FileProperties).
constexpr int64_t kTinyFileBytes = 16 << 10;
// A partition's rows are held until they reach this many bytes before a file
// is opened for them; a file that ends smaller is encoded in memory on the
// calling thread and written in one call (WriteOneFile): a small commit
// pays no thread hand-off and one write.
constexpr int64_t kInMemoryFileBytes = 4 << 20;
// An open file takes rows in slices of at least this many bytes (small
// batches are concatenated first): each slice is one parallel encoding step.
constexpr int64_t kMinSliceBytes = 1 << 20;
// Files open at once (one per partition being written); beyond, the one
// opened first is closed, so that a stream over many partitions keeps
// memory bounded (each open file holds its current row group's pages).
constexpr size_t kMaxOpenFiles = 16;
// Bytes held across partitions before a partition's rows go to a file.
constexpr int64_t kMaxHeldBytes = 64 << 20;

arrow::Compression::type CompressionFor(const TableMetadata& metadata) {
  const std::string codec = PropertyOrDefault(metadata, TableProperties::kParquetCompressionCodec);
  if (codec == "snappy") return arrow::Compression::SNAPPY;
  if (codec == "gzip") return arrow::Compression::GZIP;
  if (codec == "lz4") return arrow::Compression::LZ4;
  if (codec == "uncompressed" || codec == "none") return arrow::Compression::UNCOMPRESSED;
  return arrow::Compression::ZSTD;
}

bool IsFloating(TypeId id) { return id == TypeId::kFloat || id == TypeId::kDouble; }

// The columns of `data` whose files carry a bloom filter
// (TableProperties::kParquetBloomFilterColumn set to "true"; any other value
// is taken as the default, false, as for every property that tunes files).
std::vector<std::string> BloomFilterColumns(const TableMetadata& metadata, const arrow::Schema& data) {
  const std::string_view prefix = TableProperties::kParquetBloomFilterColumn.key;
  std::vector<std::string> out;
  for (const auto& [key, value] : metadata.properties) {
    if (!key.starts_with(prefix) || value != "true") continue;
    const std::string column = key.substr(prefix.size());
    const auto field = data.GetFieldByName(column);
    // Booleans: Parquet defines no bloom filter for them.
    if (field != nullptr && field->type()->id() != arrow::Type::BOOL) out.push_back(column);
  }
  return out;
}

// How every data file of the table is encoded. `tiny`: a handful of rows
// (the small-commit workload): a codec saves nothing there and costs a
// compression context per page, and a dictionary adds a page per column;
// compaction rewrites such files with the table's codec.
std::shared_ptr<parquet::WriterProperties> FileProperties(const TableMetadata& metadata, const arrow::Schema& schema,
                                                          bool tiny, int64_t max_row_group_length) {
  parquet::WriterProperties::Builder builder;
  builder.compression(CompressionFor(metadata))
      ->max_row_group_length(max_row_group_length)
      ->enable_page_checksum();  // lets Verify() detect corrupted pages
  if (tiny) builder.compression(arrow::Compression::UNCOMPRESSED)->disable_dictionary();
  parquet::BloomFilterOptions bloom;
  bloom.fpp = 0.01;  // Iceberg's default
  for (const auto& column : BloomFilterColumns(metadata, schema)) builder.enable_bloom_filter(column, bloom);
  return builder.build();
}

// Rows per row group: smaller groups let selective scans skip more.
int64_t RowGroupRows(const TableMetadata& metadata) {
  return IntegerProperty(metadata, TableProperties::kParquetRowGroupLimit);
}

// Passes bytes on to `inner`, counting them: the size of a file being
// streamed, known without asking the file system.
class CountingOutputStream final : public arrow::io::OutputStream {
 public:
  explicit CountingOutputStream(std::shared_ptr<arrow::io::OutputStream> inner) : inner_(std::move(inner)) {}
  Status Write(const void* data, int64_t nbytes) override {
    ARROW_RETURN_NOT_OK(inner_->Write(data, nbytes));
    bytes_ += nbytes;
    return Status::OK();
  }
  Status Write(const std::shared_ptr<arrow::Buffer>& data) override {
    ARROW_RETURN_NOT_OK(inner_->Write(data));
    bytes_ += data->size();
    return Status::OK();
  }
  Status Flush() override { return inner_->Flush(); }
  Status Close() override { return inner_->Close(); }
  bool closed() const override { return inner_->closed(); }
  Result<int64_t> Tell() const override { return bytes_; }
  int64_t bytes() const { return bytes_; }

 private:
  std::shared_ptr<arrow::io::OutputStream> inner_;
  int64_t bytes_ = 0;
};

// One data file being written: rows in, row groups encoded (columns in
// parallel where `parallel`), a footer at the end, and the DataFile entry
// with statistics from that footer. Either streamed to the FileSystem as
// row groups complete, or (`in_memory`) encoded into memory and written in
// one call by Finish().
class FileEncoder {
 public:
  static Result<std::unique_ptr<FileEncoder>> Open(FileSystem& fs, const TableMetadata& metadata, const Schema& schema,
                                                   const std::shared_ptr<arrow::Schema>& arrow_schema, std::string path,
                                                   std::vector<std::optional<std::string>> partition, bool in_memory,
                                                   bool tiny) {
    std::unique_ptr<FileEncoder> out(new FileEncoder(fs, schema));
    out->path_ = std::move(path);
    out->partition_ = std::move(partition);
    out->row_group_limit_ = RowGroupRows(metadata);
    std::shared_ptr<arrow::io::OutputStream> target;
    if (in_memory) {
      ARROW_ASSIGN_OR_RAISE(out->memory_, arrow::io::BufferOutputStream::Create());
      target = out->memory_;
    } else {
      ARROW_ASSIGN_OR_RAISE(target, fs.OpenNewFile(out->path_));
      out->streamed_ = true;
    }
    out->sink_ = std::make_shared<CountingOutputStream>(std::move(target));
    // Row groups are cut here (Write), never by Arrow: Arrow opens the next
    // one as soon as one fills, and a file closed right then would end with
    // an empty row group.
    auto properties = FileProperties(metadata, *arrow_schema, tiny, std::numeric_limits<int64_t>::max());
    // Columns encoded in parallel on Arrow's CPU pool, but never from a
    // thread of that pool (waiting there for its own tasks could deadlock).
    const bool parallel =
        !in_memory && arrow_schema->num_fields() > 1 && !arrow::internal::GetCpuThreadPool()->OwnsThisThread();
    auto arrow_properties = parquet::ArrowWriterProperties::Builder().set_use_threads(parallel)->build();
    auto writer = parquet::arrow::FileWriter::Open(*arrow_schema, arrow::default_memory_pool(), out->sink_,
                                                   std::move(properties), std::move(arrow_properties));
    if (!writer.ok()) {
      out->Abort();
      return writer.status();
    }
    out->writer_ = std::move(*writer);
    for (size_t i = 0; i < schema.fields.size(); ++i) {
      if (IsFloating(schema.fields[i].type.id)) out->floating_.push_back(static_cast<int>(i));
    }
    out->nan_counts_.assign(schema.fields.size(), 0);
    return out;
  }

  ~FileEncoder() { Abort(); }

  // `batch` conforms to the schema the file was opened with.
  Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) {
    for (int c : floating_) nan_counts_[static_cast<size_t>(c)] += CountNaN(*batch->column(c));
    const int64_t n = batch->num_rows();
    int64_t offset = 0;
    while (offset < n) {
      if (row_group_rows_ >= row_group_limit_) {
        ARROW_RETURN_NOT_OK(writer_->NewBufferedRowGroup());
        row_group_rows_ = 0;
      }
      const int64_t take = std::min(n - offset, row_group_limit_ - row_group_rows_);
      ARROW_RETURN_NOT_OK(writer_->WriteRecordBatch(take == n ? *batch : *batch->Slice(offset, take)));
      row_group_rows_ += take;
      rows_ += take;
      offset += take;
    }
    return Status::OK();
  }

  int64_t rows() const { return rows_; }
  // Rows of the row group not yet encoded into the file.
  int64_t pending_rows() const { return row_group_rows_; }
  // Rows and bytes of the row groups already written out.
  int64_t flushed_rows() const { return rows_ - row_group_rows_; }
  int64_t flushed_bytes() const { return sink_->bytes(); }

  // Closes the file (flushed as `durability` says) and returns its entry.
  Result<format::DataFile> Finish(Durability durability) {
    format::DataFile file;
    file.file_path = path_;
    file.partition = partition_;
    file.record_count = rows_;
    ARROW_RETURN_NOT_OK(writer_->Close());
    ARROW_RETURN_NOT_OK(sink_->Close());
    std::shared_ptr<parquet::FileMetaData> footer = writer_->metadata();
    file.file_size_in_bytes = sink_->bytes();
    std::shared_ptr<arrow::Buffer> bytes;
    if (memory_ != nullptr) {
      ARROW_ASSIGN_OR_RAISE(bytes, memory_->Finish());
      ARROW_RETURN_NOT_OK(fs_.WriteNewFile(
          path_, std::string_view(reinterpret_cast<const char*>(bytes->data()), static_cast<size_t>(bytes->size())),
          durability));
    } else if (durability == Durability::kFsync) {
      ARROW_RETURN_NOT_OK(fs_.Sync({path_}));
    }
    written_ = true;
    ARROW_ASSIGN_OR_RAISE(auto inexact, CollectFooterStats(schema_.fields, *footer, nan_counts_, &file));
    if (!inexact.empty()) ARROW_RETURN_NOT_OK(StatsFromValues(inexact, bytes, &file));
    std::vector<int32_t> field_ids;
    for (const auto& field : schema_.fields) field_ids.push_back(field.id);
    CollectLayout(*footer, field_ids, &file);
    done_ = true;
    return file;
  }

  // Closes and deletes the file (whatever was written of it); idempotent.
  void Abort() {
    if (done_) return;
    done_ = true;
    writer_.reset();  // may still write its buffered row group and footer
    if (sink_ != nullptr) (void)sink_->Close();
    if (streamed_ || written_) (void)fs_.DeleteFile(path_);
  }

  const std::string& path() const { return path_; }

 private:
  FileEncoder(FileSystem& fs, const Schema& schema) : fs_(fs), schema_(schema) {}

  // The statistics of `columns` from their values, read back from the file
  // (`bytes` when it was encoded in memory).
  Status StatsFromValues(const std::vector<int>& columns, const std::shared_ptr<arrow::Buffer>& bytes,
                         format::DataFile* file) {
    std::shared_ptr<arrow::io::RandomAccessFile> input;
    if (bytes != nullptr) {
      input = std::make_shared<arrow::io::BufferReader>(bytes);
    } else {
      ARROW_ASSIGN_OR_RAISE(input, fs_.OpenInputFile(path_));
    }
    ARROW_ASSIGN_OR_RAISE(auto reader, parquet::arrow::OpenFile(input, arrow::default_memory_pool()));
    ARROW_ASSIGN_OR_RAISE(auto rows, reader->ReadTable(columns));
    for (size_t i = 0; i < columns.size(); ++i) {
      const NestedField& field = schema_.fields[static_cast<size_t>(columns[i])];
      file->lower_bounds.erase(field.id);
      file->upper_bounds.erase(field.id);
      ARROW_RETURN_NOT_OK(CollectColumnStats(field, *rows->column(static_cast<int>(i)), file));
    }
    return Status::OK();
  }

  FileSystem& fs_;
  const Schema& schema_;
  std::string path_;
  std::vector<std::optional<std::string>> partition_;
  int64_t row_group_limit_ = 1;
  std::shared_ptr<arrow::io::BufferOutputStream> memory_;  // in-memory files only
  std::shared_ptr<CountingOutputStream> sink_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
  std::vector<int> floating_;  // float and double columns: NaNs counted as rows pass
  std::vector<int64_t> nan_counts_;
  int64_t rows_ = 0;
  int64_t row_group_rows_ = 0;
  bool streamed_ = false;  // a file exists at path_ from Open() on
  bool written_ = false;   // the file is complete at path_
  bool done_ = false;
};

// The Parquet bytes of one data file holding `data`, as the table encodes
// its data files (for EncodedFileSize).
Result<std::shared_ptr<arrow::Buffer>> EncodeDataFile(const TableMetadata& metadata, const arrow::Table& data) {
  const int64_t row_group_rows = RowGroupRows(metadata);
  auto properties =
      FileProperties(metadata, *data.schema(), arrow::util::TotalBufferSize(data) < kTinyFileBytes, row_group_rows);
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_ASSIGN_OR_RAISE(auto writer,
                        parquet::arrow::FileWriter::Open(*data.schema(), arrow::default_memory_pool(), sink, properties,
                                                         parquet::default_arrow_writer_properties()));
  ARROW_RETURN_NOT_OK(writer->WriteTable(data, row_group_rows));
  ARROW_RETURN_NOT_OK(writer->Close());
  return sink->Finish();
}

// The rows of one file -> one encoded, written file with statistics: the
// rows of a partition that stayed small (under kInMemoryFileBytes), encoded
// in memory on this thread and written in one call.
Result<format::DataFile> WriteOneFile(FileSystem& fs, const TableMetadata& metadata, const Schema& schema,
                                      const std::shared_ptr<arrow::RecordBatch>& rows, const std::string& path,
                                      std::vector<std::optional<std::string>> partition, bool tiny,
                                      Durability durability) {
  ARROW_ASSIGN_OR_RAISE(auto encoder,
                        FileEncoder::Open(fs, metadata, schema, rows->schema(), path, std::move(partition),
                                          /*in_memory=*/true, tiny));
  ARROW_RETURN_NOT_OK(encoder->Write(rows));
  return encoder->Finish(durability);
}

// --- statistics from the footer

// Column `c`'s statistics merged over the row groups of `footer`; nullptr if
// some row group's are missing or inexact. A row group of float values with
// no bounds holds only NaNs (Parquet leaves NaN out of bounds).
template <typename DType>
std::shared_ptr<parquet::TypedStatistics<DType>> MergeRowGroups(const parquet::FileMetaData& footer, int c,
                                                                bool floating, int64_t* nulls) {
  auto merged = parquet::MakeStatistics<DType>(footer.schema()->Column(c));
  *nulls = 0;
  for (int rg = 0; rg < footer.num_row_groups(); ++rg) {
    auto row_group = footer.RowGroup(rg);
    auto chunk = row_group->ColumnChunk(c);
    std::shared_ptr<parquet::Statistics> stats = chunk->is_stats_set() ? chunk->statistics() : nullptr;
    if (stats == nullptr || !stats->HasNullCount()) return nullptr;
    *nulls += stats->null_count();
    if (!stats->HasMinMax()) {
      if (row_group->num_rows() > stats->null_count() && !floating) return nullptr;  // a bound left out
      continue;
    }
    if (stats->is_min_value_exact() == false || stats->is_max_value_exact() == false) return nullptr;
    merged->Merge(static_cast<const parquet::TypedStatistics<DType>&>(*stats));
  }
  return merged;
}

// A footer bound as the Arrow scalar of the column's type (what
// format::SerializeValue takes); nullptr for a combination this table never
// writes (the bounds then come from the values).
std::shared_ptr<arrow::Scalar> BoundScalar(const Type& type, bool value) {
  if (type.id == TypeId::kBoolean) return std::make_shared<arrow::BooleanScalar>(value);
  return nullptr;
}

std::shared_ptr<arrow::Scalar> BoundScalar(const Type& type, int32_t value) {
  switch (type.id) {
    case TypeId::kInt: return std::make_shared<arrow::Int32Scalar>(value);
    case TypeId::kDate: return std::make_shared<arrow::Date32Scalar>(value);
    case TypeId::kDecimal:
      return std::make_shared<arrow::Decimal128Scalar>(arrow::Decimal128(value), format::ToArrowType(type));
    default: return nullptr;
  }
}

std::shared_ptr<arrow::Scalar> BoundScalar(const Type& type, int64_t value) {
  switch (type.id) {
    case TypeId::kLong: return std::make_shared<arrow::Int64Scalar>(value);
    case TypeId::kTime: return std::make_shared<arrow::Time64Scalar>(value, format::ToArrowType(type));
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz: return std::make_shared<arrow::TimestampScalar>(value, format::ToArrowType(type));
    case TypeId::kDecimal:
      return std::make_shared<arrow::Decimal128Scalar>(arrow::Decimal128(value), format::ToArrowType(type));
    default: return nullptr;
  }
}

std::shared_ptr<arrow::Scalar> BoundScalar(const Type& type, float value) {
  if (type.id == TypeId::kFloat) return std::make_shared<arrow::FloatScalar>(value);
  return nullptr;
}

std::shared_ptr<arrow::Scalar> BoundScalar(const Type& type, double value) {
  if (type.id == TypeId::kDouble) return std::make_shared<arrow::DoubleScalar>(value);
  return nullptr;
}

std::shared_ptr<arrow::Scalar> BytesScalar(const Type& type, const uint8_t* data, int32_t length) {
  std::string bytes(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  switch (type.id) {
    case TypeId::kString: return std::make_shared<arrow::StringScalar>(std::move(bytes));
    case TypeId::kBinary: return std::make_shared<arrow::BinaryScalar>(std::move(bytes), arrow::binary());
    case TypeId::kUuid:
    case TypeId::kFixed:
      if (type.id == TypeId::kFixed && length != type.length) return nullptr;
      if (type.id == TypeId::kUuid && length != 16) return nullptr;
      return std::make_shared<arrow::FixedSizeBinaryScalar>(arrow::Buffer::FromString(std::move(bytes)),
                                                            format::ToArrowType(type));
    case TypeId::kDecimal: {
      auto value = arrow::Decimal128::FromBigEndian(data, length);
      if (!value.ok()) return nullptr;
      return std::make_shared<arrow::Decimal128Scalar>(*value, format::ToArrowType(type));
    }
    default: return nullptr;
  }
}

std::shared_ptr<arrow::Scalar> BoundScalar(const Type& type, const parquet::ByteArray& value) {
  return BytesScalar(type, value.ptr, static_cast<int32_t>(value.len));
}

struct FooterBounds {
  bool usable = false;  // counts and bounds exact (bounds may be absent: no values)
  int64_t nulls = 0;
  std::shared_ptr<arrow::Scalar> min, max;
};

template <typename DType>
FooterBounds ReadBounds(const parquet::FileMetaData& footer, int c, const Type& type) {
  FooterBounds out;
  auto merged = MergeRowGroups<DType>(footer, c, IsFloating(type.id), &out.nulls);
  if (merged == nullptr) return out;
  if (merged->HasMinMax()) {
    if constexpr (std::is_same_v<DType, parquet::FLBAType>) {
      const int length = footer.schema()->Column(c)->type_length();
      out.min = BytesScalar(type, merged->min().ptr, length);
      out.max = BytesScalar(type, merged->max().ptr, length);
    } else {
      out.min = BoundScalar(type, merged->min());
      out.max = BoundScalar(type, merged->max());
    }
    if (out.min == nullptr || out.max == nullptr) return out;
  }
  out.usable = true;
  return out;
}

FooterBounds ReadBounds(const parquet::FileMetaData& footer, int c, const Type& type) {
  switch (footer.schema()->Column(c)->physical_type()) {
    case parquet::Type::BOOLEAN: return ReadBounds<parquet::BooleanType>(footer, c, type);
    case parquet::Type::INT32: return ReadBounds<parquet::Int32Type>(footer, c, type);
    case parquet::Type::INT64: return ReadBounds<parquet::Int64Type>(footer, c, type);
    case parquet::Type::FLOAT: return ReadBounds<parquet::FloatType>(footer, c, type);
    case parquet::Type::DOUBLE: return ReadBounds<parquet::DoubleType>(footer, c, type);
    case parquet::Type::BYTE_ARRAY: return ReadBounds<parquet::ByteArrayType>(footer, c, type);
    case parquet::Type::FIXED_LEN_BYTE_ARRAY: return ReadBounds<parquet::FLBAType>(footer, c, type);
    default: return FooterBounds{};
  }
}

// Iceberg's bounds of a column from its min and max (as CollectColumnStats
// sets them): serialized, the lower truncated, the upper rounded up (none if
// it cannot be).
Status SetBounds(const NestedField& field, const arrow::Scalar& min, const arrow::Scalar& max, format::DataFile* file) {
  ARROW_ASSIGN_OR_RAISE(std::string lower, format::SerializeValue(field.type, min));
  ARROW_ASSIGN_OR_RAISE(std::string upper, format::SerializeValue(field.type, max));
  file->lower_bounds[field.id] = format::TruncateLowerBound(field.type, lower);
  if (auto truncated = format::TruncateUpperBound(field.type, upper)) file->upper_bounds[field.id] = *truncated;
  return Status::OK();
}

bool IsNaNScalar(const arrow::Scalar& scalar) {
  if (scalar.type->id() == arrow::Type::DOUBLE) {
    return std::isnan(static_cast<const arrow::DoubleScalar&>(scalar).value);
  }
  if (scalar.type->id() == arrow::Type::FLOAT) return std::isnan(static_cast<const arrow::FloatScalar&>(scalar).value);
  return false;
}

// --- rows to partitions

// Rows of `batch` grouped by partition tuple, in order of first appearance.
struct PartitionGroups {
  std::vector<std::string> keys;
  std::vector<std::vector<std::optional<std::string>>> values;
  std::vector<std::vector<int64_t>> rows;
};

std::string PartitionKey(const std::vector<std::vector<std::optional<std::string>>>& values, size_t row) {
  std::string key;
  for (const auto& field_values : values) {
    const auto& v = field_values[row];
    key += v ? ('\1' + std::to_string(v->size()) + ':' + *v) : std::string(1, '\0');
  }
  return key;
}

Result<PartitionGroups> GroupByPartition(const Schema& schema, const PartitionSpec& spec,
                                         const arrow::RecordBatch& batch) {
  ARROW_ASSIGN_OR_RAISE(auto values, PartitionValues(schema, spec, batch));  // [field][row]
  PartitionGroups out;
  std::unordered_map<std::string, size_t> group_of;
  for (int64_t row = 0; row < batch.num_rows(); ++row) {
    std::string key = PartitionKey(values, static_cast<size_t>(row));
    auto [it, inserted] = group_of.emplace(key, out.rows.size());
    if (inserted) {
      out.keys.push_back(std::move(key));
      out.rows.emplace_back();
      std::vector<std::optional<std::string>> tuple;
      for (const auto& field_values : values) tuple.push_back(field_values[static_cast<size_t>(row)]);
      out.values.push_back(std::move(tuple));
    }
    out.rows[it->second].push_back(row);
  }
  return out;
}

}  // namespace

int64_t CountNaN(const arrow::Array& values) {
  const arrow::ArrayData& data = *values.data();
  auto count = [&](const auto* v) {
    int64_t nan = 0;
    const uint8_t* validity = data.GetNullCount() > 0 ? data.GetValues<uint8_t>(0, 0) : nullptr;
    if (validity == nullptr) {
      for (int64_t i = 0; i < data.length; ++i) nan += std::isnan(v[i]) ? 1 : 0;
    } else {
      for (int64_t i = 0; i < data.length; ++i) {
        nan += std::isnan(v[i]) && arrow::bit_util::GetBit(validity, data.offset + i) ? 1 : 0;
      }
    }
    return nan;
  };
  if (values.type_id() == arrow::Type::DOUBLE) return count(data.GetValues<double>(1));
  if (values.type_id() == arrow::Type::FLOAT) return count(data.GetValues<float>(1));
  return 0;
}

Result<int64_t> EncodedFileSize(const TableMetadata& metadata, const arrow::Table& data) {
  ARROW_ASSIGN_OR_RAISE(auto buffer, EncodeDataFile(metadata, data));
  return buffer->size();
}

Status CollectColumnStats(const NestedField& field, const arrow::ChunkedArray& column, format::DataFile* file) {
  const int32_t id = field.id;
  file->value_counts[id] = column.length();
  file->null_value_counts[id] = column.null_count();
  int64_t nan = 0;
  if (IsFloating(field.type.id)) {
    for (const auto& chunk : column.chunks()) nan += CountNaN(*chunk);
    file->nan_value_counts[id] = nan;
  }
  if (column.null_count() + nan >= column.length()) return Status::OK();  // no bounds for all-null/NaN
  arrow::compute::ScalarAggregateOptions options(/*skip_nulls=*/true);
  ARROW_ASSIGN_OR_RAISE(arrow::Datum min_max, arrow::compute::MinMax(arrow::Datum(column), options));
  const auto& pair = static_cast<const arrow::StructScalar&>(*min_max.scalar());
  const auto& min = *pair.value[0];
  const auto& max = *pair.value[1];
  if (!min.is_valid || !max.is_valid || IsNaNScalar(min) || IsNaNScalar(max)) return Status::OK();
  return SetBounds(field, min, max, file);
}

Result<std::vector<int>> CollectFooterStats(const std::vector<NestedField>& fields, const parquet::FileMetaData& footer,
                                            const std::vector<int64_t>& nan_counts, format::DataFile* file) {
  std::vector<int> inexact;
  const int64_t rows = footer.num_rows();
  for (size_t i = 0; i < fields.size(); ++i) {
    const NestedField& field = fields[i];
    const int c = static_cast<int>(i);
    if (c >= footer.num_columns()) {
      inexact.push_back(c);
      continue;
    }
    FooterBounds bounds = ReadBounds(footer, c, field.type);
    if (!bounds.usable) {
      inexact.push_back(c);
      continue;
    }
    file->value_counts[field.id] = rows;
    file->null_value_counts[field.id] = bounds.nulls;
    int64_t nan = 0;
    if (IsFloating(field.type.id)) {
      nan = i < nan_counts.size() ? nan_counts[i] : 0;
      file->nan_value_counts[field.id] = nan;
    }
    if (bounds.nulls + nan >= rows) continue;  // no bounds for all-null/NaN
    if (bounds.min == nullptr) {               // values, yet no bound: not from this footer
      inexact.push_back(c);
      continue;
    }
    // Parquet writes a zero minimum as -0.0 and a zero maximum as +0.0: in
    // Iceberg's order (-0.0 < +0.0) both still bound every value.
    ARROW_RETURN_NOT_OK(SetBounds(field, *bounds.min, *bounds.max, file));
  }
  return inexact;
}

void CollectLayout(const parquet::FileMetaData& footer, const std::vector<int32_t>& field_ids, format::DataFile* file) {
  for (int rg = 0; rg < footer.num_row_groups(); ++rg) {
    auto row_group = footer.RowGroup(rg);
    for (int c = 0; c < row_group->num_columns() && c < static_cast<int>(field_ids.size()); ++c) {
      file->column_sizes[field_ids[static_cast<size_t>(c)]] += row_group->ColumnChunk(c)->total_compressed_size();
    }
    if (row_group->num_columns() > 0) {
      auto first = row_group->ColumnChunk(0);
      int64_t start = first->has_dictionary_page() ? first->dictionary_page_offset() : first->data_page_offset();
      file->split_offsets.push_back(start);
    }
  }
  std::sort(file->split_offsets.begin(), file->split_offsets.end());
}

Result<std::vector<std::vector<std::optional<std::string>>>> PartitionValues(const Schema& schema,
                                                                             const PartitionSpec& spec,
                                                                             const arrow::RecordBatch& batch) {
  std::vector<std::vector<std::optional<std::string>>> values;
  for (const auto& field : spec.fields) {
    const NestedField* source = schema.FindField(field.source_id);
    if (source == nullptr) return SchemaError("partition source column ", field.source_id, " is not in the schema");
    auto column = batch.GetColumnByName(source->name);
    if (column == nullptr) return SchemaError("partition source column \"", source->name, "\" is not in the data");
    ARROW_ASSIGN_OR_RAISE(auto transformed, format::ApplyTransform(field.transform, source->type, *column));
    values.push_back(std::move(transformed));
  }
  return values;
}

Result<std::optional<std::vector<std::optional<std::string>>>> SinglePartitionOf(const Schema& schema,
                                                                                 const PartitionSpec& spec,
                                                                                 const arrow::Table& data) {
  for (const auto& field : spec.fields) {  // a source column the file lacks: its rows get copied
    const NestedField* source = schema.FindField(field.source_id);
    if (source == nullptr || data.GetColumnByName(source->name) == nullptr) return std::nullopt;
  }
  ARROW_ASSIGN_OR_RAISE(auto batch, data.CombineChunksToBatch());
  ARROW_ASSIGN_OR_RAISE(auto values, PartitionValues(schema, spec, *batch));
  std::vector<std::optional<std::string>> tuple;
  for (const auto& field_values : values) {
    if (field_values.empty()) return std::nullopt;
    for (const auto& v : field_values) {
      if (v != field_values.front()) return std::nullopt;
    }
    tuple.push_back(field_values.front());
  }
  return tuple;
}

// --- DataFilesWriter

namespace {

// The rows of one partition on their way into files.
struct PartitionFiles {
  std::vector<std::optional<std::string>> values;
  std::string dir;
  bool dir_created = false;
  // Rows not handed to a file yet (a small append's rows stay here until
  // Finish: WriteOneFile).
  std::vector<std::shared_ptr<arrow::RecordBatch>> held;
  int64_t held_bytes = 0;
  std::unique_ptr<FileEncoder> open;  // the file being written
  uint64_t opened = 0;                // when `open` was opened (for closing the oldest)
};

}  // namespace

struct DataFilesWriter::Impl {
  Impl(FileSystem& fs, const TableMetadata& metadata, const Schema& schema, const PartitionSpec& spec)
      : fs(fs), metadata(metadata), schema(schema), spec(spec) {}

  FileSystem& fs;
  const TableMetadata& metadata;
  const Schema& schema;
  const PartitionSpec& spec;
  Durability durability = Durability::kProcess;
  std::string name_prefix;
  int64_t target = 0;
  std::string data_dir;
  std::vector<Type> result_types;  // of the partition fields
  std::unordered_map<std::string, size_t> partition_of;
  std::vector<PartitionFiles> partitions;
  std::vector<format::DataFile> files;
  std::optional<int32_t> sort_order_id;  // what every file records (RecordSortOrder)
  int64_t held_bytes = 0;
  size_t open_files = 0;
  uint64_t opened = 0;
  // The bytes a row took in the files closed so far: sizes the next file.
  int64_t closed_rows = 0;
  int64_t closed_bytes = 0;
  // The bytes a row took in a sample encoded in memory, before any file
  // could be measured (0: none taken).
  double sampled_row_bytes = 0;
  bool closed = false;

  Result<PartitionFiles*> Partition(const std::string& key, std::vector<std::optional<std::string>> values) {
    auto [it, inserted] = partition_of.emplace(key, partitions.size());
    if (!inserted) return &partitions[it->second];
    PartitionFiles p;
    p.dir = data_dir;
    if (!spec.unpartitioned()) {
      if (result_types.empty()) {
        for (const auto& field : spec.fields) {
          ARROW_ASSIGN_OR_RAISE(auto type, format::PartitionResultType(schema, field));
          result_types.push_back(type);
        }
      }
      for (size_t f = 0; f < spec.fields.size(); ++f) {
        p.dir += "/" + spec.fields[f].name + "=" + format::PartitionValueToPathSegment(result_types[f], values[f]);
      }
    } else {
      p.dir_created = true;  // data/ itself: the caller creates it
    }
    p.values = std::move(values);
    partitions.push_back(std::move(p));
    return &partitions.back();
  }

  // Rows below this size make a file encoded in memory (WriteOneFile); a
  // file under the target needs no rolling (rows never take more bytes
  // encoded than in memory, give or take a footer).
  int64_t InMemoryBytes() const { return std::min(kInMemoryFileBytes, target); }

  std::string NewPath(const PartitionFiles& p) const {
    return p.dir + "/" + (name_prefix.empty() ? "" : name_prefix + "-") + NewUuid() + ".parquet";
  }

  Status CreateDirOf(PartitionFiles& p) {
    if (!p.dir_created) {
      ARROW_RETURN_NOT_OK(fs.CreateDir(p.dir));
      p.dir_created = true;
    }
    return Status::OK();
  }

  Status CloseFile(PartitionFiles& p) {
    std::unique_ptr<FileEncoder> encoder = std::move(p.open);
    --open_files;
    ARROW_ASSIGN_OR_RAISE(auto file, encoder->Finish(durability));
    closed_rows += file.record_count;
    closed_bytes += file.file_size_in_bytes;
    file.sort_order_id = sort_order_id;
    files.push_back(std::move(file));
    return Status::OK();
  }

  Status OpenFile(PartitionFiles& p, const std::shared_ptr<arrow::Schema>& arrow_schema) {
    ARROW_RETURN_NOT_OK(CreateDirOf(p));
    if (open_files >= kMaxOpenFiles) {
      PartitionFiles* oldest = nullptr;
      for (auto& other : partitions) {
        if (other.open != nullptr && (oldest == nullptr || other.opened < oldest->opened)) oldest = &other;
      }
      if (oldest != nullptr) ARROW_RETURN_NOT_OK(CloseFile(*oldest));
    }
    ARROW_ASSIGN_OR_RAISE(p.open, FileEncoder::Open(fs, metadata, schema, arrow_schema, NewPath(p), p.values,
                                                    /*in_memory=*/false, /*tiny=*/false));
    ++open_files;
    p.opened = ++opened;
    return Status::OK();
  }

  // The bytes a row of `p` takes in its file: measured on the row groups
  // written so far, else on the files closed so far, else its in-memory
  // size (which overstates it by the compression ratio).
  double RowBytes(const PartitionFiles& p, double decoded) const {
    if (p.open != nullptr && p.open->flushed_rows() > 0) {
      return static_cast<double>(p.open->flushed_bytes()) / static_cast<double>(p.open->flushed_rows());
    }
    if (closed_rows > 0) return static_cast<double>(closed_bytes) / static_cast<double>(closed_rows);
    if (sampled_row_bytes > 0) return sampled_row_bytes;
    return decoded;
  }

  bool Measured(const PartitionFiles& p) const {
    return (p.open != nullptr && p.open->flushed_rows() > 0) || closed_rows > 0 || sampled_row_bytes > 0;
  }

  // Measures the bytes a row takes by encoding a sample of `rows` in memory:
  // the in-memory size overstates it by the compression ratio, which would
  // make the first file a fraction of the target.
  Status Sample(const arrow::RecordBatch& rows) {
    constexpr int64_t kSampleRows = 64 << 10;
    const int64_t n = std::min(rows.num_rows(), kSampleRows);
    ARROW_ASSIGN_OR_RAISE(auto sample, arrow::Table::FromRecordBatches({rows.Slice(0, n)}));
    ARROW_ASSIGN_OR_RAISE(int64_t size, EncodedFileSize(metadata, *sample));
    sampled_row_bytes = std::max(1e-3, static_cast<double>(size) / static_cast<double>(n));
    return Status::OK();
  }

  // Rows of `p` a file still has room for before it reaches the target.
  double Room(const PartitionFiles& p, double row_bytes) const {
    const double used =
        static_cast<double>(p.open->flushed_bytes()) + static_cast<double>(p.open->pending_rows()) * row_bytes;
    return (static_cast<double>(target) - used) / row_bytes;
  }

  // Writes `batch` into `p`'s files, rolling at the target size.
  Status WriteRolling(PartitionFiles& p, const std::shared_ptr<arrow::RecordBatch>& batch, int64_t bytes) {
    const int64_t n = batch->num_rows();
    const double decoded = std::max(1.0, static_cast<double>(bytes) / static_cast<double>(std::max<int64_t>(1, n)));
    int64_t offset = 0;
    while (offset < n) {
      if (p.open == nullptr) ARROW_RETURN_NOT_OK(OpenFile(p, batch->schema()));
      if (!Measured(p) && Room(p, decoded) < static_cast<double>(n - offset)) {
        ARROW_RETURN_NOT_OK(Sample(*batch->Slice(offset)));
      }
      const double row_bytes = std::max(1e-3, RowBytes(p, decoded));
      const double room = Room(p, row_bytes);
      if (room < 1 && p.open->rows() > 0) {
        ARROW_RETURN_NOT_OK(CloseFile(p));
        continue;
      }
      const auto take = static_cast<int64_t>(std::clamp(std::floor(room), 1.0, static_cast<double>(n - offset)));
      ARROW_RETURN_NOT_OK(p.open->Write(take == n ? batch : batch->Slice(offset, take)));
      offset += take;
      if (Room(p, std::max(1e-3, RowBytes(p, decoded))) < 1) ARROW_RETURN_NOT_OK(CloseFile(p));
    }
    return Status::OK();
  }

  // Hands `p`'s held rows to its files.
  Status Drain(PartitionFiles& p) {
    if (p.held.empty()) return Status::OK();
    std::shared_ptr<arrow::RecordBatch> rows = p.held.front();
    if (p.held.size() > 1) {
      ARROW_ASSIGN_OR_RAISE(rows, arrow::ConcatenateRecordBatches(p.held));
    }
    const int64_t bytes = p.held_bytes;
    p.held.clear();
    held_bytes -= p.held_bytes;
    p.held_bytes = 0;
    return WriteRolling(p, rows, bytes);
  }

  Status Add(PartitionFiles& p, std::shared_ptr<arrow::RecordBatch> rows) {
    ARROW_ASSIGN_OR_RAISE(int64_t bytes, arrow::util::ReferencedBufferSize(*rows));
    p.held.push_back(std::move(rows));
    p.held_bytes += bytes;
    held_bytes += bytes;
    const int64_t hold = p.open == nullptr ? InMemoryBytes() : kMinSliceBytes;
    if (p.held_bytes < hold && held_bytes < kMaxHeldBytes) return Status::OK();
    return Drain(p);
  }

  Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) {
    if (closed) return InvalidArgument("this data file writer is closed (finished or aborted)");
    if (batch->num_rows() == 0) return Status::OK();
    if (spec.unpartitioned()) {
      ARROW_ASSIGN_OR_RAISE(PartitionFiles * p, Partition("", {}));
      return Add(*p, batch);
    }
    ARROW_ASSIGN_OR_RAISE(auto groups, GroupByPartition(schema, spec, *batch));
    for (size_t g = 0; g < groups.rows.size(); ++g) {
      ARROW_ASSIGN_OR_RAISE(PartitionFiles * p, Partition(groups.keys[g], std::move(groups.values[g])));
      std::shared_ptr<arrow::RecordBatch> rows = batch;
      if (groups.rows.size() > 1) {
        arrow::Int64Builder indices;
        ARROW_RETURN_NOT_OK(indices.AppendValues(groups.rows[g]));
        ARROW_ASSIGN_OR_RAISE(auto index_array, indices.Finish());
        ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, arrow::compute::Take(arrow::Datum(batch), arrow::Datum(index_array)));
        rows = taken.record_batch();
      }
      ARROW_RETURN_NOT_OK(Add(*p, std::move(rows)));
    }
    return Status::OK();
  }

  Result<std::vector<format::DataFile>> Finish() {
    if (closed) return InvalidArgument("this data file writer is closed (finished or aborted)");
    for (auto& p : partitions) {
      if (p.open != nullptr) {
        ARROW_RETURN_NOT_OK(Drain(p));
        if (p.open != nullptr) ARROW_RETURN_NOT_OK(CloseFile(p));
        continue;
      }
      if (p.held.empty()) continue;
      if (p.held_bytes >= InMemoryBytes()) {  // held back by kMaxHeldBytes only
        ARROW_RETURN_NOT_OK(Drain(p));
        if (p.open != nullptr) ARROW_RETURN_NOT_OK(CloseFile(p));
        continue;
      }
      std::shared_ptr<arrow::RecordBatch> rows = p.held.front();
      if (p.held.size() > 1) {
        ARROW_ASSIGN_OR_RAISE(rows, arrow::ConcatenateRecordBatches(p.held));
      }
      const bool tiny = p.held_bytes < kTinyFileBytes;
      p.held.clear();
      held_bytes -= p.held_bytes;
      p.held_bytes = 0;
      ARROW_RETURN_NOT_OK(CreateDirOf(p));
      ARROW_ASSIGN_OR_RAISE(auto file,
                            WriteOneFile(fs, metadata, schema, rows, NewPath(p), p.values, tiny, durability));
      file.sort_order_id = sort_order_id;
      files.push_back(std::move(file));
    }
    closed = true;
    return files;
  }

  Status Abort() {
    closed = true;
    for (auto& p : partitions) {
      if (p.open != nullptr) p.open->Abort();
      p.open.reset();
      p.held.clear();
    }
    Status first = Status::OK();
    for (const auto& file : files) {
      Status removed = fs.DeleteFile(file.file_path);
      if (!removed.ok() && !IsNotFound(removed) && first.ok()) first = removed;
    }
    files.clear();
    return first;
  }
};

DataFilesWriter::DataFilesWriter(FileSystem& fs, const TableMetadata& metadata, const Schema& schema,
                                 const PartitionSpec& spec, Durability durability, std::string name_prefix,
                                 int64_t target_file_size)
    : impl_(std::make_unique<Impl>(fs, metadata, schema, spec)) {
  impl_->durability = durability;
  impl_->name_prefix = std::move(name_prefix);
  impl_->target =
      target_file_size > 0 ? target_file_size : IntegerProperty(metadata, TableProperties::kTargetFileSizeBytes);
  impl_->data_dir = format::DataDir(metadata.location);
}

DataFilesWriter::~DataFilesWriter() {
  if (!impl_->closed) (void)impl_->Abort();
}

void DataFilesWriter::RecordSortOrder(std::optional<int32_t> sort_order_id) { impl_->sort_order_id = sort_order_id; }

Status DataFilesWriter::Write(const std::shared_ptr<arrow::RecordBatch>& batch) { return impl_->Write(batch); }

Status DataFilesWriter::Write(const arrow::Table& data) {
  arrow::TableBatchReader batches(data);
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(batches.ReadNext(&batch));
    if (batch == nullptr) return Status::OK();
    ARROW_RETURN_NOT_OK(impl_->Write(batch));
  }
}

Result<std::vector<format::DataFile>> DataFilesWriter::Finish() { return impl_->Finish(); }

Status DataFilesWriter::Abort() { return impl_->Abort(); }

const std::vector<format::DataFile>& DataFilesWriter::files() const { return impl_->files; }

Result<std::vector<format::DataFile>> WriteDataFiles(FileSystem& fs, const TableMetadata& metadata,
                                                     const Schema& schema, const PartitionSpec& spec,
                                                     const arrow::Table& data, Durability durability,
                                                     const std::string& name_prefix, int64_t target_file_size,
                                                     const RowOrder& order) {
  // The rows in the table's sort order (sorting.h), sorted whole: each
  // partition's rows, and so every file cut from them, keep that order.
  ARROW_ASSIGN_OR_RAISE(OrderedRows ordered, OrderRowsForFile(metadata, schema, data, order));
  DataFilesWriter writer(fs, metadata, schema, spec, durability, name_prefix, target_file_size);
  writer.RecordSortOrder(ordered.sort_order_id);
  ARROW_RETURN_NOT_OK(writer.Write(*ordered.rows));
  return writer.Finish();
}

}  // namespace datashard::table
