#include "datashard/scan/file_reader.h"

#include <array>
#include <atomic>
#include <cstring>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/utf8.h>
#include <parquet/arrow/reader.h>
#include <parquet/bloom_filter.h>
#include <parquet/bloom_filter_reader.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>
#include <parquet/statistics.h>

#include "datashard/format/arrow_schema.h"

namespace datashard::scan {
namespace {

// The hash a Parquet bloom filter keeps for `value`: its plain encoding's,
// for the types whose encoding is the Arrow value itself (the caller checks
// that the file stores the column in the very Arrow type). nullopt for others.
std::optional<uint64_t> BloomHash(const parquet::BloomFilter& bloom, const arrow::Scalar& value) {
  if (!value.is_valid) return std::nullopt;
  switch (value.type->id()) {
    case arrow::Type::INT32: return bloom.Hash(static_cast<const arrow::Int32Scalar&>(value).value);
    case arrow::Type::DATE32: return bloom.Hash(static_cast<const arrow::Date32Scalar&>(value).value);
    case arrow::Type::INT64: return bloom.Hash(static_cast<const arrow::Int64Scalar&>(value).value);
    case arrow::Type::TIMESTAMP: return bloom.Hash(static_cast<const arrow::TimestampScalar&>(value).value);
    case arrow::Type::TIME64: return bloom.Hash(static_cast<const arrow::Time64Scalar&>(value).value);
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY: {
      const std::string_view bytes = static_cast<const arrow::BaseBinaryScalar&>(value).view();
      const parquet::ByteArray array(static_cast<uint32_t>(bytes.size()),
                                     reinterpret_cast<const uint8_t*>(bytes.data()));
      return bloom.Hash(&array);
    }
    case arrow::Type::FIXED_SIZE_BINARY: {
      const std::string_view bytes = static_cast<const arrow::FixedSizeBinaryScalar&>(value).view();
      const parquet::FixedLenByteArray array(reinterpret_cast<const uint8_t*>(bytes.data()));
      return bloom.Hash(&array, static_cast<uint32_t>(bytes.size()));
    }
    default: return std::nullopt;
  }
}

// The bloom filter of one column chunk, read the first time a filter asks it
// about a value. Every answer is "might contain" where the chunk has none,
// it cannot be read, or the value's hash is not one computed here.
class BloomProbe {
 public:
  BloomProbe(parquet::ParquetFileReader* file, int row_group, int column)
      : file_(file), row_group_(row_group), column_(column) {}

  bool MightContain(const arrow::Scalar& value) {
    if (!loaded_) {
      loaded_ = true;
      try {
        auto row_group = file_->GetBloomFilterReader().RowGroup(row_group_);
        if (row_group != nullptr) bloom_ = row_group->GetColumnBloomFilter(column_);
      } catch (const parquet::ParquetException&) {
        bloom_.reset();  // unreadable: prune nothing by it (the read reports real damage)
      }
    }
    if (bloom_ == nullptr) return true;
    auto hash = BloomHash(*bloom_, value);
    return !hash || bloom_->FindHash(*hash);
  }

 private:
  parquet::ParquetFileReader* file_;
  int row_group_;
  int column_;
  bool loaded_ = false;
  std::unique_ptr<parquet::BloomFilter> bloom_;
};

// Counts the bytes the Parquet reader pulls from a data file, so scans can
// report (and tests can prove) how much pruning saved.
// Wraps a data file for the Parquet reader: counts the bytes read (when
// asked) and turns a short positional read inside the file into an error.
// The Parquet reader takes a short read for the end of a column chunk, so an
// uncompressed page cut off by a failing disk or a file truncated under it
// would otherwise decode as fewer rows, silently.
class CheckedInputFile final : public arrow::io::RandomAccessFile {
 public:
  CheckedInputFile(std::shared_ptr<arrow::io::RandomAccessFile> inner, std::string path, int64_t size,
                   std::atomic<int64_t>* bytes)
      : inner_(std::move(inner)), path_(std::move(path)), size_(size), bytes_(bytes) {}
  arrow::Status Close() override { return inner_->Close(); }
  bool closed() const override { return inner_->closed(); }
  arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }
  arrow::Status Seek(int64_t position) override { return inner_->Seek(position); }
  arrow::Result<int64_t> GetSize() override { return size_; }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override { return Count(inner_->Read(nbytes, out)); }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override { return Count(inner_->Read(nbytes)); }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(int64_t got, Count(inner_->ReadAt(position, nbytes, out)));
    ARROW_RETURN_NOT_OK(CheckComplete(position, nbytes, got));
    return got;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(auto buffer, Count(inner_->ReadAt(position, nbytes)));
    ARROW_RETURN_NOT_OK(CheckComplete(position, nbytes, buffer->size()));
    return buffer;
  }

 private:
  Status CheckComplete(int64_t position, int64_t nbytes, int64_t got) const {
    const int64_t expected = std::max<int64_t>(0, std::min(nbytes, size_ - position));
    if (got >= expected) return Status::OK();
    return arrow::Status::IOError("short read of ", path_, ": ", got, " of ", expected, " bytes at offset ", position);
  }
  arrow::Result<int64_t> Count(arrow::Result<int64_t> n) {
    if (n.ok() && bytes_ != nullptr) *bytes_ += *n;
    return n;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Count(arrow::Result<std::shared_ptr<arrow::Buffer>> buffer) {
    if (buffer.ok() && bytes_ != nullptr) *bytes_ += (*buffer)->size();
    return buffer;
  }
  std::shared_ptr<arrow::io::RandomAccessFile> inner_;
  std::string path_;
  int64_t size_;
  std::atomic<int64_t>* bytes_;
};

// A file's footer and page headers are untrusted: a corrupt dictionary page
// can claim billions of values, and the Parquet decoder allocates what it
// claims before it finds the data missing. Every allocation made while a data
// file is decoded (on any thread: columns decode in parallel) goes through a
// pool whose cap scales with the file's size; a larger one fails the read as
// corrupt instead of exhausting memory.
std::atomic<int64_t> g_min_allocation_cap{int64_t{1} << 30};
// Files with fewer rows to read decode their columns on the calling thread.
constexpr int64_t kMinRowsForParallelDecode = 65536;
constexpr int64_t kAllocationCapPerFileByte = 1024;

class CappedMemoryPool final : public arrow::MemoryPool {
 public:
  CappedMemoryPool() = default;
  void Init(arrow::MemoryPool* base, int64_t cap) {
    base_ = base;
    cap_ = cap;
  }
  int64_t cap() const { return cap_; }
  Status Allocate(int64_t size, int64_t alignment, uint8_t** out) override {
    ARROW_RETURN_NOT_OK(Check(size));
    return base_->Allocate(size, alignment, out);
  }
  Status Reallocate(int64_t old_size, int64_t new_size, int64_t alignment, uint8_t** ptr) override {
    ARROW_RETURN_NOT_OK(Check(new_size));
    return base_->Reallocate(old_size, new_size, alignment, ptr);
  }
  void Free(uint8_t* buffer, int64_t size, int64_t alignment) override { base_->Free(buffer, size, alignment); }
  void ReleaseUnused() override { base_->ReleaseUnused(); }
  int64_t bytes_allocated() const override { return base_->bytes_allocated(); }
  int64_t max_memory() const override { return base_->max_memory(); }
  int64_t total_bytes_allocated() const override { return base_->total_bytes_allocated(); }
  int64_t num_allocations() const override { return base_->num_allocations(); }
  std::string backend_name() const override { return base_->backend_name(); }

 private:
  Status Check(int64_t size) const {
    if (size > cap_) {
      return Status::OutOfMemory("decoding would allocate ", size, " bytes at once, more than the ", cap_,
                                 " bytes this file's size allows");
    }
    return Status::OK();
  }
  arrow::MemoryPool* base_ = nullptr;
  int64_t cap_ = 0;
};

// The pool for a cap, rounded up to a power of two. Buffers keep a raw
// pointer to the pool that allocated them and may outlive any reader, so the
// pools live for the whole process: one per power of two.
arrow::MemoryPool* DecodePoolFor(int64_t cap) {
  static std::array<CappedMemoryPool, 63> pools = [] {
    std::array<CappedMemoryPool, 63> out;
    for (size_t i = 0; i < out.size(); ++i) out[i].Init(arrow::default_memory_pool(), int64_t{1} << i);
    return out;
  }();
  size_t level = 0;
  while (level + 1 < pools.size() && pools[level].cap() < cap) ++level;
  return &pools[level];
}

}  // namespace

void SetMinAllocationCap(int64_t bytes) { g_min_allocation_cap = bytes; }

arrow::MemoryPool* DecodePoolForFile(int64_t file_size) {
  const int64_t min_cap = g_min_allocation_cap.load();
  const int64_t cap = file_size > min_cap / kAllocationCapPerFileByte ? file_size * kAllocationCapPerFileByte : min_cap;
  return DecodePoolFor(cap);
}

namespace {

bool IsAscii(const uint8_t* data, int64_t size) {
  uint64_t high = 0;
  int64_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    high |= word;
  }
  for (; i < size; ++i) high |= data[i];
  return (high & 0x8080808080808080ULL) == 0;
}

// Offsets of a string or binary column in order and inside the data; for
// strings also the text: the values' bytes valid UTF-8 as one run, and no
// non-empty value starting inside a character (so each value is whole
// characters). Equivalent to Arrow's per-value check, a few times faster.
template <typename ArrayType>
Status ValidateValues(const ArrayType& array, bool utf8) {
  using Offset = typename ArrayType::offset_type;
  const Offset* offsets = array.raw_value_offsets();
  const uint8_t* data = array.value_data() == nullptr ? nullptr : array.value_data()->data();
  const int64_t data_size = array.value_data() == nullptr ? 0 : array.value_data()->size();
  const int64_t n = array.length();
  if (n == 0) return Status::OK();
  if (offsets[0] < 0 || offsets[n] > data_size) return Status::Invalid("string offsets out of range");
  bool ordered = true;
  for (int64_t i = 0; i < n; ++i) ordered &= offsets[i] <= offsets[i + 1];
  if (!ordered) return Status::Invalid("string offsets out of order");
  if (!utf8) return Status::OK();
  const uint8_t* text = data + offsets[0];
  const int64_t size = offsets[n] - offsets[0];
  if (IsAscii(text, size)) return Status::OK();  // every byte a character of its own
  for (int64_t i = 0; i < n; ++i) {
    if (offsets[i + 1] > offsets[i] && (data[offsets[i]] & 0xC0) == 0x80) {
      return Status::Invalid("string value ", i, " starts inside a UTF-8 character");
    }
  }
  arrow::util::InitializeUTF8();  // the validator's tables (once per process)
  if (!arrow::util::ValidateUTF8(text, size)) return Status::Invalid("invalid UTF-8 in a string column");
  return Status::OK();
}

// A decoded batch checked as Arrow's ValidateFull would, with the common
// column types done cheaply: the structure (buffer sizes) for all, the text
// of strings, and the full check for anything else that carries constraints
// beyond its buffers (decimals wider than their precision, nested types).
Status ValidateDecoded(const arrow::RecordBatch& batch) {
  ARROW_RETURN_NOT_OK(batch.Validate());
  for (const auto& column : batch.columns()) {
    switch (column->type_id()) {
      case arrow::Type::STRING:
      case arrow::Type::BINARY:
        ARROW_RETURN_NOT_OK(
            ValidateValues(static_cast<const arrow::BinaryArray&>(*column), column->type_id() == arrow::Type::STRING));
        break;
      case arrow::Type::LARGE_STRING:
      case arrow::Type::LARGE_BINARY:
        ARROW_RETURN_NOT_OK(ValidateValues(static_cast<const arrow::LargeBinaryArray&>(*column),
                                           column->type_id() == arrow::Type::LARGE_STRING));
        break;
      case arrow::Type::BOOL:
      case arrow::Type::INT32:
      case arrow::Type::INT64:
      case arrow::Type::FLOAT:
      case arrow::Type::DOUBLE:
      case arrow::Type::DATE32:
      case arrow::Type::TIME64:
      case arrow::Type::TIMESTAMP:
      case arrow::Type::FIXED_SIZE_BINARY: break;  // no constraint beyond the buffer sizes Validate checked
      default: ARROW_RETURN_NOT_OK(column->ValidateFull());
    }
  }
  return Status::OK();
}

// One data file as a stream of batches in the table's current shape.
class DataFileReader final : public arrow::RecordBatchReader {
 public:
  DataFileReader(std::string path, std::vector<NestedField> fields, ScanMetrics* metrics)
      : path_(std::move(path)), fields_(std::move(fields)), metrics_(metrics) {
    arrow::FieldVector out;
    for (const auto& f : fields_) out.push_back(arrow::field(f.name, format::ToArrowType(f.type), !f.required));
    schema_ = arrow::schema(std::move(out));
  }

  Status Open(FileSystem& fs, const BoundExpression& filter, int64_t batch_rows, RowGroupRange range) {
    auto opened_input = fs.OpenInputFile(path_);
    if (!opened_input.ok() && IsNotFound(opened_input.status())) {
      return CorruptData("data file ", path_, " is listed by the table's metadata but missing");
    }
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::io::RandomAccessFile> input, std::move(opened_input));
    ARROW_ASSIGN_OR_RAISE(int64_t file_size, input->GetSize());
    input = std::make_shared<CheckedInputFile>(std::move(input), path_, file_size,
                                               metrics_ != nullptr ? &metrics_->bytes_read : nullptr);
    // Both pools: the Arrow one decodes values, the Parquet one holds pages
    // (a page header's uncompressed size is as untrusted as a row count).
    arrow::MemoryPool* pool = DecodePoolForFile(file_size);
    parquet::arrow::FileReaderBuilder builder;
    // Pages carry a CRC (the writer enables it): a flipped bit in a page is a
    // CorruptDataError, not rows that are quietly wrong.
    parquet::ReaderProperties properties(pool);
    properties.set_page_checksum_verification(true);
    Status opened = builder.Open(input, properties);
    if (opened.ok()) opened = builder.memory_pool(pool)->Build(&reader_);
    if (!opened.ok()) return CorruptData("data file ", path_, " is not readable Parquet: ", opened.message());
    std::shared_ptr<arrow::Schema> file_schema;
    ARROW_RETURN_NOT_OK(reader_->GetSchema(&file_schema));

    // Top-level field index in the file for each wanted field: by id, or by
    // name when the file carries no ids at all.
    bool file_has_ids = false;
    for (const auto& f : file_schema->fields()) file_has_ids = file_has_ids || format::FieldIdOf(*f) > 0;
    source_.assign(fields_.size(), -1);
    std::vector<int> to_read;
    for (size_t i = 0; i < fields_.size(); ++i) {
      for (int c = 0; c < file_schema->num_fields(); ++c) {
        const auto& f = *file_schema->field(c);
        if (file_has_ids ? format::FieldIdOf(f) == fields_[i].id : f.name() == fields_[i].name) {
          source_[i] = static_cast<int>(to_read.size());
          to_read.push_back(c);
          break;
        }
      }
    }
    // Row groups the statistics rule out are never read.
    std::vector<int> row_groups;
    auto file_metadata = reader_->parquet_reader()->metadata();
    const int first_row_group = std::max(0, range.first);
    const int end_row_group = std::min(file_metadata->num_row_groups(), range.end);
    for (int rg = first_row_group; rg < end_row_group; ++rg) {
      bool skip = false;
      if (!filter.IsTrue()) {
        auto row_group = file_metadata->RowGroup(rg);
        auto lookup = [&](const NestedField& field) -> Result<ColumnStats> {
          ColumnStats stats;
          int column = -1;
          for (int c = 0; c < file_schema->num_fields(); ++c) {
            const auto& f = *file_schema->field(c);
            if (file_has_ids ? format::FieldIdOf(f) == field.id : f.name() == field.name) column = c;
          }
          // Flat schemas only: a top-level field is one Parquet leaf column.
          if (column < 0 || column >= row_group->num_columns()) return stats;
          // Only where the chunk has a bloom filter and the file holds the column
          // in the table's own Arrow type (so a value's plain encoding is the one
          // its bloom filter hashed).
          if (row_group->ColumnChunk(column)->bloom_filter_offset().has_value() &&
              file_schema->field(column)->type()->Equals(*format::ToArrowType(field.type))) {
            auto probe = std::make_shared<BloomProbe>(reader_->parquet_reader(), rg, column);
            stats.might_contain = [probe](const arrow::Scalar& value) { return probe->MightContain(value); };
          }
          auto chunk_stats = row_group->ColumnChunk(column)->statistics();
          if (!chunk_stats) return stats;
          stats.value_count = row_group->num_rows();
          if (chunk_stats->HasNullCount()) stats.null_count = chunk_stats->null_count();
          if (chunk_stats->HasMinMax()) {
            std::shared_ptr<arrow::Scalar> min, max;
            if (parquet::arrow::StatisticsAsScalars(*chunk_stats, &min, &max).ok()) {
              auto type = format::ToArrowType(field.type);
              auto lower = min->CastTo(type);
              auto upper = max->CastTo(type);
              if (lower.ok() && upper.ok()) {
                stats.lower = *lower;
                stats.upper = *upper;
              }
            }
          }
          return stats;
        };
        ARROW_ASSIGN_OR_RAISE(skip, CannotMatch(lookup, filter));
      }
      if (!skip) row_groups.push_back(rg);
    }
    if (metrics_ != nullptr) {
      const int64_t in_range = std::max(0, end_row_group - first_row_group);
      metrics_->row_groups_total += in_range;
      metrics_->row_groups_skipped += in_range - static_cast<int64_t>(row_groups.size());
    }
    // Decoded batch by batch: the reader sizes its buffers for one batch, not
    // for the row counts a (possibly corrupt) footer claims. Nothing of the
    // file projected (only columns it predates): rows are still counted from
    // decoded values (of its first column), not from the footer's claim.
    reader_->set_batch_size(batch_rows);
    // Columns of a batch decode in parallel when there is enough to decode:
    // for a small file the hand-offs to the pool cost more than the decoding.
    int64_t rows_to_read = 0;
    for (int rg : row_groups) rows_to_read += file_metadata->RowGroup(rg)->num_rows();
    reader_->set_use_threads(to_read.size() > 1 && rows_to_read >= kMinRowsForParallelDecode);
    count_only_ = to_read.empty();
    if (count_only_ && file_schema->num_fields() > 0) to_read = {0};
    if (row_groups.empty() || to_read.empty()) return Status::OK();  // nothing to read
    auto batches = reader_->GetRecordBatchReader(row_groups, to_read);
    if (!batches.ok()) return Corrupt(batches.status());
    batches_ = std::move(*batches);
    return Status::OK();
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    if (batches_ == nullptr) return Status::OK();
    std::shared_ptr<arrow::RecordBatch> raw;
    Status next = batches_->ReadNext(&raw);
    if (!next.ok()) return Corrupt(next);
    if (raw == nullptr) {
      batches_.reset();
      return Status::OK();
    }
    const int64_t rows = raw->num_rows();
    if (metrics_ != nullptr) metrics_->rows_read += rows;
    // Arrow trusts its input; a file is untrusted (invalid UTF-8, decimals
    // wider than their precision, offsets out of range).
    if (!count_only_) {
      Status valid = ValidateDecoded(*raw);
      if (!valid.ok()) return Corrupt(valid);
    }
    arrow::ArrayVector columns;
    for (size_t i = 0; i < fields_.size(); ++i) {
      auto type = schema_->field(static_cast<int>(i))->type();
      if (count_only_ || source_[i] < 0) {
        ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(type, rows));
        columns.push_back(std::move(nulls));
        continue;
      }
      std::shared_ptr<arrow::Array> column = raw->column(source_[i]);
      if (!column->type()->Equals(*type)) {
        auto cast = arrow::compute::Cast(*column, type);
        if (!cast.ok()) {
          return CorruptData("data file ", path_, ": column \"", fields_[i].name, "\" holds ",
                             column->type()->ToString(), ", not ", fields_[i].type.ToString());
        }
        column = std::move(*cast);
      }
      columns.push_back(std::move(column));
    }
    *out = arrow::RecordBatch::Make(schema_, rows, std::move(columns));
    return Status::OK();
  }

 private:
  Status Corrupt(const Status& status) const {
    return CorruptData("data file ", path_, " could not be read: ", status.message());
  }

  std::string path_;
  std::vector<NestedField> fields_;
  ScanMetrics* metrics_;
  std::shared_ptr<arrow::Schema> schema_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;  // outlives batches_
  std::unique_ptr<arrow::RecordBatchReader> batches_;
  std::vector<int> source_;  // per wanted field: its column in the decoded batches, or -1
  bool count_only_ = false;
};

}  // namespace

Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDataFile(FileSystem& fs, const std::string& path,
                                                               const std::vector<NestedField>& fields,
                                                               const BoundExpression& filter, ScanMetrics* metrics,
                                                               int64_t batch_rows, RowGroupRange range) {
  auto reader = std::make_shared<DataFileReader>(path, fields, metrics);
  ARROW_RETURN_NOT_OK(reader->Open(fs, filter, std::max<int64_t>(1, batch_rows), range));
  return reader;
}

Result<std::shared_ptr<arrow::Table>> ReadDataFile(FileSystem& fs, const std::string& path,
                                                   const std::vector<NestedField>& fields,
                                                   const BoundExpression& filter, ScanMetrics* metrics) {
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenDataFile(fs, path, fields, filter, metrics));
  return reader->ToTable();
}

}  // namespace datashard::scan
