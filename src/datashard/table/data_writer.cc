#include "datashard/table/data_writer.h"

#include <cmath>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_writer.h>
#include <parquet/metadata.h>

#include "datashard/format/file_names.h"
#include "datashard/format/single_value.h"

namespace datashard::table {
namespace {

arrow::Compression::type CompressionFor(const TableMetadata& metadata) {
  const std::string codec = metadata.Property("write.parquet.compression-codec", "zstd");
  if (codec == "snappy") return arrow::Compression::SNAPPY;
  if (codec == "gzip") return arrow::Compression::GZIP;
  if (codec == "lz4") return arrow::Compression::LZ4;
  if (codec == "uncompressed" || codec == "none") return arrow::Compression::UNCOMPRESSED;
  return arrow::Compression::ZSTD;
}

bool IsFloating(TypeId id) { return id == TypeId::kFloat || id == TypeId::kDouble; }

int64_t CountNaN(const arrow::ChunkedArray& column) {
  int64_t nan = 0;
  for (const auto& chunk : column.chunks()) {
    if (chunk->type_id() == arrow::Type::DOUBLE) {
      const auto& values = static_cast<const arrow::DoubleArray&>(*chunk);
      for (int64_t i = 0; i < values.length(); ++i) nan += values.IsValid(i) && std::isnan(values.Value(i));
    } else if (chunk->type_id() == arrow::Type::FLOAT) {
      const auto& values = static_cast<const arrow::FloatArray&>(*chunk);
      for (int64_t i = 0; i < values.length(); ++i) nan += values.IsValid(i) && std::isnan(values.Value(i));
    }
  }
  return nan;
}

bool IsNaNScalar(const arrow::Scalar& scalar) {
  if (scalar.type->id() == arrow::Type::DOUBLE) return std::isnan(static_cast<const arrow::DoubleScalar&>(scalar).value);
  if (scalar.type->id() == arrow::Type::FLOAT) return std::isnan(static_cast<const arrow::FloatScalar&>(scalar).value);
  return false;
}

Status CollectColumnStats(const NestedField& field, const arrow::ChunkedArray& column, format::DataFile* file) {
  const int32_t id = field.id;
  file->value_counts[id] = column.length();
  file->null_value_counts[id] = column.null_count();
  int64_t nan = 0;
  if (IsFloating(field.type.id)) {
    nan = CountNaN(column);
    file->nan_value_counts[id] = nan;
  }
  if (column.null_count() + nan >= column.length()) return Status::OK();  // no bounds for all-null/NaN
  arrow::compute::ScalarAggregateOptions options(/*skip_nulls=*/true);
  ARROW_ASSIGN_OR_RAISE(arrow::Datum min_max, arrow::compute::MinMax(arrow::Datum(column), options));
  const auto& pair = static_cast<const arrow::StructScalar&>(*min_max.scalar());
  const auto& min = *pair.value[0];
  const auto& max = *pair.value[1];
  if (!min.is_valid || !max.is_valid || IsNaNScalar(min) || IsNaNScalar(max)) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(std::string lower, format::SerializeValue(field.type, min));
  ARROW_ASSIGN_OR_RAISE(std::string upper, format::SerializeValue(field.type, max));
  file->lower_bounds[id] = format::TruncateLowerBound(field.type, lower);
  if (auto truncated = format::TruncateUpperBound(field.type, upper)) file->upper_bounds[id] = *truncated;
  return Status::OK();
}

}  // namespace

Result<format::DataFile> WriteDataFile(FileSystem& fs, const TableMetadata& metadata, const Schema& schema,
                                       const arrow::Table& data, Durability durability) {
  format::DataFile file;
  file.file_path = format::NewDataFilePath(metadata.location);
  file.record_count = data.num_rows();

  auto properties = parquet::WriterProperties::Builder()
                        .compression(CompressionFor(metadata))
                        ->max_row_group_length(1 << 20)
                        ->build();
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_ASSIGN_OR_RAISE(auto writer, parquet::arrow::FileWriter::Open(*data.schema(), arrow::default_memory_pool(),
                                                                      sink, properties,
                                                                      parquet::default_arrow_writer_properties()));
  ARROW_RETURN_NOT_OK(writer->WriteTable(data, 1 << 20));
  ARROW_RETURN_NOT_OK(writer->Close());
  std::shared_ptr<parquet::FileMetaData> footer = writer->metadata();
  ARROW_ASSIGN_OR_RAISE(auto buffer, sink->Finish());

  for (int i = 0; i < data.num_columns(); ++i) {
    ARROW_RETURN_NOT_OK(CollectColumnStats(schema.fields[static_cast<size_t>(i)], *data.column(i), &file));
  }
  for (int rg = 0; rg < footer->num_row_groups(); ++rg) {
    auto row_group = footer->RowGroup(rg);
    for (int c = 0; c < row_group->num_columns() && c < static_cast<int>(schema.fields.size()); ++c) {
      file.column_sizes[schema.fields[static_cast<size_t>(c)].id] += row_group->ColumnChunk(c)->total_compressed_size();
    }
    if (row_group->num_columns() > 0) {
      auto first = row_group->ColumnChunk(0);
      int64_t start = first->has_dictionary_page() ? first->dictionary_page_offset() : first->data_page_offset();
      file.split_offsets.push_back(start);
    }
  }
  std::sort(file.split_offsets.begin(), file.split_offsets.end());
  file.file_size_in_bytes = buffer->size();
  ARROW_RETURN_NOT_OK(fs.WriteNewFile(
      file.file_path, std::string_view(reinterpret_cast<const char*>(buffer->data()), buffer->size()), durability));
  return file;
}

}  // namespace datashard::table
