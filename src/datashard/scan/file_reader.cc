#include "datashard/scan/file_reader.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

#include "datashard/format/arrow_schema.h"

namespace datashard::scan {
namespace {

constexpr int64_t kReadBatchRows = 64 * 1024;

// Counts the bytes the Parquet reader pulls from a data file, so scans can
// report (and tests can prove) how much pruning saved.
class CountingInputFile final : public arrow::io::RandomAccessFile {
 public:
  CountingInputFile(std::shared_ptr<arrow::io::RandomAccessFile> inner, std::atomic<int64_t>* bytes)
      : inner_(std::move(inner)), bytes_(bytes) {}
  arrow::Status Close() override { return inner_->Close(); }
  bool closed() const override { return inner_->closed(); }
  arrow::Result<int64_t> Tell() const override { return inner_->Tell(); }
  arrow::Status Seek(int64_t position) override { return inner_->Seek(position); }
  arrow::Result<int64_t> GetSize() override { return inner_->GetSize(); }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override { return Count(inner_->Read(nbytes, out)); }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override { return Count(inner_->Read(nbytes)); }
  arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    return Count(inner_->ReadAt(position, nbytes, out));
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    return Count(inner_->ReadAt(position, nbytes));
  }

 private:
  arrow::Result<int64_t> Count(arrow::Result<int64_t> n) {
    if (n.ok()) *bytes_ += *n;
    return n;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Count(arrow::Result<std::shared_ptr<arrow::Buffer>> buffer) {
    if (buffer.ok()) *bytes_ += (*buffer)->size();
    return buffer;
  }
  std::shared_ptr<arrow::io::RandomAccessFile> inner_;
  std::atomic<int64_t>* bytes_;
};

}  // namespace

Result<std::shared_ptr<arrow::Table>> ReadDataFile(FileSystem& fs, const std::string& path,
                                                   const std::vector<NestedField>& fields,
                                                   const std::vector<BoundPredicate>& predicates,
                                                   ScanMetrics* metrics) {
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::io::RandomAccessFile> input, fs.OpenInputFile(path));
  if (metrics != nullptr) input = std::make_shared<CountingInputFile>(std::move(input), &metrics->bytes_read);
  auto opened = parquet::arrow::OpenFile(input, arrow::default_memory_pool());
  if (!opened.ok()) return CorruptData("data file ", path, " is not readable Parquet: ", opened.status().message());
  std::unique_ptr<parquet::arrow::FileReader> reader = std::move(*opened);
  std::shared_ptr<arrow::Schema> file_schema;
  ARROW_RETURN_NOT_OK(reader->GetSchema(&file_schema));

  // Top-level field index in the file for each wanted field: by id, or by
  // name when the file carries no ids at all.
  bool file_has_ids = false;
  for (const auto& f : file_schema->fields()) file_has_ids = file_has_ids || format::FieldIdOf(*f) > 0;
  std::vector<int> source(fields.size(), -1);
  std::vector<int> to_read;
  for (size_t i = 0; i < fields.size(); ++i) {
    for (int c = 0; c < file_schema->num_fields(); ++c) {
      const auto& f = *file_schema->field(c);
      if (file_has_ids ? format::FieldIdOf(f) == fields[i].id : f.name() == fields[i].name) {
        source[i] = static_cast<int>(to_read.size());
        to_read.push_back(c);
        break;
      }
    }
  }
  // Row groups the statistics rule out are never read.
  std::vector<int> row_groups;
  auto file_metadata = reader->parquet_reader()->metadata();
  for (int rg = 0; rg < file_metadata->num_row_groups(); ++rg) {
    bool skip = false;
    if (!predicates.empty()) {
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
      ARROW_ASSIGN_OR_RAISE(skip, CannotMatch(lookup, predicates));
    }
    if (!skip) row_groups.push_back(rg);
  }
  if (metrics != nullptr) {
    metrics->row_groups_total += file_metadata->num_row_groups();
    metrics->row_groups_skipped += file_metadata->num_row_groups() - static_cast<int64_t>(row_groups.size());
  }
  // Decoded batch by batch: the reader sizes its buffers for one batch, not
  // for the row counts a (possibly corrupt) footer claims.
  reader->set_batch_size(kReadBatchRows);
  auto corrupt = [&](const Status& status) {
    return CorruptData("data file ", path, " could not be read: ", status.message());
  };
  std::shared_ptr<arrow::Table> raw;
  if (to_read.empty()) {
    // Nothing of the file is projected (only columns it predates): the row
    // count still comes from decoded rows (of its first column), not from
    // the footer's claim alone.
    int64_t rows = 0;
    if (file_schema->num_fields() > 0 && !row_groups.empty()) {
      auto batches = reader->GetRecordBatchReader(row_groups, {0});
      if (!batches.ok()) return corrupt(batches.status());
      while (true) {
        std::shared_ptr<arrow::RecordBatch> batch;
        Status next = (*batches)->ReadNext(&batch);
        if (!next.ok()) return corrupt(next);
        if (batch == nullptr) break;
        rows += batch->num_rows();
      }
    }
    raw = arrow::Table::Make(arrow::schema({}), arrow::ChunkedArrayVector{}, rows);
  } else {
    auto batches = reader->GetRecordBatchReader(row_groups, to_read);
    if (!batches.ok()) return corrupt(batches.status());
    auto read = (*batches)->ToTable();
    if (!read.ok()) return corrupt(read.status());
    raw = std::move(*read);
    // Arrow trusts its input; a file is untrusted (invalid UTF-8, decimals
    // wider than their precision, offsets out of range).
    Status valid = raw->ValidateFull();
    if (!valid.ok()) return corrupt(valid);
  }
  if (metrics != nullptr) metrics->rows_read += raw->num_rows();

  arrow::FieldVector out_fields;
  arrow::ChunkedArrayVector out_columns;
  for (size_t i = 0; i < fields.size(); ++i) {
    auto type = format::ToArrowType(fields[i].type);
    std::shared_ptr<arrow::ChunkedArray> column;
    if (source[i] < 0) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(type, raw->num_rows()));
      column = std::make_shared<arrow::ChunkedArray>(nulls);
    } else {
      column = raw->column(source[i]);
      if (!column->type()->Equals(*type)) {
        auto cast = arrow::compute::Cast(arrow::Datum(column), type);
        if (!cast.ok()) {
          return CorruptData("data file ", path, ": column \"", fields[i].name, "\" holds ", column->type()->ToString(),
                             ", not ", fields[i].type.ToString());
        }
        column = cast->chunked_array();
      }
    }
    out_fields.push_back(arrow::field(fields[i].name, type, !fields[i].required));
    out_columns.push_back(std::move(column));
  }
  return arrow::Table::Make(arrow::schema(out_fields), std::move(out_columns), raw->num_rows());
}

}  // namespace datashard::scan
