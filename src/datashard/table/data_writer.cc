#include "datashard/table/data_writer.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/io/memory.h>
#include <arrow/util/byte_size.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_writer.h>
#include <parquet/metadata.h>

#include "datashard/format/file_names.h"
#include "datashard/format/partition_spec.h"
#include "datashard/format/single_value.h"
#include "datashard/format/transforms.h"
#include "datashard/table_properties.h"
#include "datashard/util/uuid.h"

namespace datashard::table {
namespace {

// In-memory size below which a data file is written plainly (see WriteOneFile).
constexpr int64_t kTinyFileBytes = 16 << 10;

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
  if (scalar.type->id() == arrow::Type::DOUBLE)
    return std::isnan(static_cast<const arrow::DoubleScalar&>(scalar).value);
  if (scalar.type->id() == arrow::Type::FLOAT) return std::isnan(static_cast<const arrow::FloatScalar&>(scalar).value);
  return false;
}

// The Parquet bytes of one data file holding `data`, as every data file of
// the table is encoded; the footer comes back through `footer`.
Result<std::shared_ptr<arrow::Buffer>> EncodeDataFile(const TableMetadata& metadata, const arrow::Table& data,
                                                      std::shared_ptr<parquet::FileMetaData>* footer) {
  // Rows per row group: smaller groups let selective scans skip more.
  const int64_t row_group_rows = IntegerProperty(metadata, TableProperties::kParquetRowGroupLimit);
  parquet::WriterProperties::Builder builder;
  builder.compression(CompressionFor(metadata))
      ->max_row_group_length(row_group_rows)
      ->enable_page_checksum();  // lets Verify() detect corrupted pages
  if (arrow::util::TotalBufferSize(data) < kTinyFileBytes) {
    // A handful of rows (the small-commit workload): a codec saves nothing
    // here and costs a compression context per page, and a dictionary adds a
    // page per column. Compaction rewrites such files with the table's codec.
    builder.compression(arrow::Compression::UNCOMPRESSED)->disable_dictionary();
  }
  parquet::BloomFilterOptions bloom;
  bloom.fpp = 0.01;  // Iceberg's default
  for (const auto& column : BloomFilterColumns(metadata, *data.schema())) builder.enable_bloom_filter(column, bloom);
  auto properties = builder.build();
  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  ARROW_ASSIGN_OR_RAISE(auto writer,
                        parquet::arrow::FileWriter::Open(*data.schema(), arrow::default_memory_pool(), sink, properties,
                                                         parquet::default_arrow_writer_properties()));
  ARROW_RETURN_NOT_OK(writer->WriteTable(data, row_group_rows));
  ARROW_RETURN_NOT_OK(writer->Close());
  if (footer != nullptr) *footer = writer->metadata();
  return sink->Finish();
}

Result<format::DataFile> WriteOneFile(FileSystem& fs, const TableMetadata& metadata, const Schema& schema,
                                      const arrow::Table& given, const std::string& dir,
                                      std::vector<std::optional<std::string>> partition, Durability durability,
                                      const std::string& name_prefix, const RowOrder& order) {
  format::DataFile file;
  // The file's rows in the table's sort order (sorting.h), which it records.
  ARROW_ASSIGN_OR_RAISE(OrderedRows ordered, OrderRowsForFile(metadata, schema, given, order));
  file.sort_order_id = ordered.sort_order_id;
  const arrow::Table& data = *ordered.rows;
  file.file_path = dir + "/" + (name_prefix.empty() ? "" : name_prefix + "-") + NewUuid() + ".parquet";
  file.partition = std::move(partition);
  file.record_count = data.num_rows();
  std::shared_ptr<parquet::FileMetaData> footer;
  ARROW_ASSIGN_OR_RAISE(auto buffer, EncodeDataFile(metadata, data, &footer));

  for (int i = 0; i < data.num_columns(); ++i) {
    ARROW_RETURN_NOT_OK(CollectColumnStats(schema.fields[static_cast<size_t>(i)], *data.column(i), &file));
  }
  std::vector<int32_t> field_ids;
  for (const auto& field : schema.fields) field_ids.push_back(field.id);
  CollectLayout(*footer, field_ids, &file);
  file.file_size_in_bytes = buffer->size();
  ARROW_RETURN_NOT_OK(fs.WriteNewFile(
      file.file_path, std::string_view(reinterpret_cast<const char*>(buffer->data()), buffer->size()), durability));
  return file;
}

}  // namespace

Result<int64_t> EncodedFileSize(const TableMetadata& metadata, const arrow::Table& data) {
  ARROW_ASSIGN_OR_RAISE(auto buffer, EncodeDataFile(metadata, data, nullptr));
  return buffer->size();
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

Result<std::vector<format::DataFile>> WriteDataFiles(FileSystem& fs, const TableMetadata& metadata,
                                                     const Schema& schema, const PartitionSpec& spec,
                                                     const arrow::Table& data, Durability durability,
                                                     const std::string& name_prefix, const RowOrder& order) {
  const std::string data_dir = format::DataDir(metadata.location);
  if (spec.unpartitioned()) {
    ARROW_ASSIGN_OR_RAISE(auto file,
                          WriteOneFile(fs, metadata, schema, data, data_dir, {}, durability, name_prefix, order));
    return std::vector<format::DataFile>{std::move(file)};
  }
  ARROW_ASSIGN_OR_RAISE(auto batch, data.CombineChunksToBatch());
  ARROW_ASSIGN_OR_RAISE(auto values, PartitionValues(schema, spec, *batch));  // [field][row]
  std::vector<Type> result_types;
  for (const auto& field : spec.fields) {
    ARROW_ASSIGN_OR_RAISE(auto type, format::PartitionResultType(schema, field));
    result_types.push_back(type);
  }
  // Group row indices by partition tuple, in order of first appearance.
  std::unordered_map<std::string, size_t> group_of;
  std::vector<std::vector<int64_t>> groups;
  std::vector<std::vector<std::optional<std::string>>> group_values;
  for (int64_t row = 0; row < batch->num_rows(); ++row) {
    std::string key;
    for (const auto& field_values : values) {
      const auto& v = field_values[static_cast<size_t>(row)];
      key += v ? ('\1' + std::to_string(v->size()) + ':' + *v) : std::string(1, '\0');
    }
    auto [it, inserted] = group_of.emplace(key, groups.size());
    if (inserted) {
      groups.emplace_back();
      std::vector<std::optional<std::string>> tuple;
      for (const auto& field_values : values) tuple.push_back(field_values[static_cast<size_t>(row)]);
      group_values.push_back(std::move(tuple));
    }
    groups[it->second].push_back(row);
  }
  std::vector<format::DataFile> files;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::string dir = data_dir;
    for (size_t f = 0; f < spec.fields.size(); ++f) {
      dir += "/" + spec.fields[f].name + "=" + format::PartitionValueToPathSegment(result_types[f], group_values[g][f]);
    }
    ARROW_RETURN_NOT_OK(fs.CreateDir(dir));
    std::shared_ptr<arrow::Table> part;
    if (groups.size() == 1) {
      part = arrow::Table::Make(data.schema(), data.columns(), data.num_rows());
    } else {
      arrow::Int64Builder indices;
      ARROW_RETURN_NOT_OK(indices.AppendValues(groups[g]));
      ARROW_ASSIGN_OR_RAISE(auto index_array, indices.Finish());
      ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, arrow::compute::Take(arrow::Datum(batch), arrow::Datum(index_array)));
      ARROW_ASSIGN_OR_RAISE(part, arrow::Table::FromRecordBatches({taken.record_batch()}));
    }
    ARROW_ASSIGN_OR_RAISE(auto file, WriteOneFile(fs, metadata, schema, *part, dir, std::move(group_values[g]),
                                                  durability, name_prefix, order));
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace datashard::table
