#include "datashard/files_table.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <arrow/api.h>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/format/partition_spec.h"
#include "datashard/format/single_value.h"

namespace datashard {
namespace {

struct FileRow {
  format::DataFile file;
  int32_t spec_id = 0;
  int64_t sequence_number = 0;
};

// One struct column: child i holds, for each row, the value `bytes(row, i)`
// decoded as `types[i]` (null when absent).
template <typename BytesOf>
Result<std::shared_ptr<arrow::Array>> DecodedStruct(const std::vector<std::string>& names,
                                                    const std::vector<Type>& types, size_t rows, BytesOf bytes) {
  std::vector<std::shared_ptr<arrow::Array>> children;
  std::vector<std::shared_ptr<arrow::Field>> fields;
  for (size_t i = 0; i < names.size(); ++i) {
    auto arrow_type = format::ToArrowType(types[i]);
    std::unique_ptr<arrow::ArrayBuilder> builder;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(), arrow_type, &builder));
    for (size_t row = 0; row < rows; ++row) {
      const std::string* value = bytes(row, i);
      if (value == nullptr) {
        ARROW_RETURN_NOT_OK(builder->AppendNull());
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto scalar, format::DeserializeValue(types[i], *value));
      ARROW_RETURN_NOT_OK(builder->AppendScalar(*scalar));
    }
    ARROW_ASSIGN_OR_RAISE(auto child, builder->Finish());
    children.push_back(std::move(child));
    fields.push_back(arrow::field(names[i], arrow_type));
  }
  if (children.empty()) {
    return std::make_shared<arrow::StructArray>(arrow::struct_({}), static_cast<int64_t>(rows),
                                                std::vector<std::shared_ptr<arrow::Array>>{});
  }
  return arrow::StructArray::Make(children, fields);
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> FilesTable(Table& table, std::optional<int64_t> snapshot_id) {
  auto metadata = table.metadata();
  std::optional<Snapshot> snapshot;
  if (snapshot_id) {
    ARROW_ASSIGN_OR_RAISE(snapshot, table.FindSnapshot(*snapshot_id));
    if (!snapshot) return InvalidArgument("snapshot ", *snapshot_id, " is not in table ", table.location());
  } else if (metadata->CurrentSnapshot() != nullptr) {
    snapshot = *metadata->CurrentSnapshot();
  }
  const Schema* schema = nullptr;
  if (snapshot && snapshot->schema_id) schema = metadata->SchemaById(*snapshot->schema_id);
  if (schema == nullptr) schema = metadata->CurrentSchema();

  std::vector<FileRow> rows;
  if (snapshot) {
    ARROW_ASSIGN_OR_RAISE(auto manifests, format::ReadManifestList(table.fs(), *metadata, *snapshot));
    for (const auto& manifest : manifests) {
      if (manifest.content != format::ManifestContent::kData) continue;
      ARROW_ASSIGN_OR_RAISE(auto entries, format::ReadManifestEntries(table.fs(), *metadata, manifest));
      for (auto& entry : entries) {
        if (entry.status == format::ManifestEntryStatus::kDeleted) continue;
        if (entry.data_file.content != format::DataFileContent::kData) continue;
        rows.push_back(
            FileRow{std::move(entry.data_file), manifest.partition_spec_id, entry.sequence_number.value_or(0)});
      }
    }
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const FileRow& a, const FileRow& b) { return a.sequence_number < b.sequence_number; });

  // Partition columns: every field of every spec the files use, by partition field id.
  std::vector<std::string> partition_names;
  std::vector<Type> partition_types;
  std::map<int32_t, size_t> partition_column;           // partition field id -> column
  std::map<int32_t, std::vector<size_t>> spec_columns;  // spec id -> column of each spec field
  for (const auto& row : rows) {
    if (spec_columns.count(row.spec_id)) continue;
    std::vector<size_t>& columns = spec_columns[row.spec_id];
    const PartitionSpec* spec = metadata->SpecById(row.spec_id);
    if (spec == nullptr) continue;
    for (const auto& field : spec->fields) {
      auto [it, added] = partition_column.emplace(field.field_id, partition_names.size());
      if (added) {
        ARROW_ASSIGN_OR_RAISE(Type type, format::PartitionResultType(*schema, field));
        partition_names.push_back(field.name);
        partition_types.push_back(type);
      }
      columns.push_back(it->second);
    }
  }
  // For each row, which partition value fills column c (nullptr: none).
  using ValueRow = std::vector<const std::string*>;
  std::vector<ValueRow> partition_values(rows.size(), ValueRow(partition_names.size()));
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto& columns = spec_columns[rows[r].spec_id];
    const auto& partition = rows[r].file.partition;
    for (size_t i = 0; i < columns.size() && i < partition.size(); ++i) {
      if (partition[i]) partition_values[r][columns[i]] = &*partition[i];
    }
  }

  std::vector<std::string> column_names;
  std::vector<Type> column_types;
  std::vector<int32_t> column_ids;
  for (const auto& field : schema->fields) {
    column_names.push_back(std::to_string(field.id));
    column_types.push_back(field.type);
    column_ids.push_back(field.id);
  }
  auto bound = [&](const std::map<int32_t, std::string> format::DataFile::*bounds) {
    return [&, bounds](size_t row, size_t column) -> const std::string* {
      const auto& map = rows[row].file.*bounds;
      auto it = map.find(column_ids[column]);
      return it == map.end() ? nullptr : &it->second;
    };
  };

  arrow::StringBuilder paths;
  arrow::Int64Builder record_counts, sizes;
  arrow::Int32Builder spec_ids;
  for (const auto& row : rows) {
    ARROW_RETURN_NOT_OK(paths.Append(row.file.file_path));
    ARROW_RETURN_NOT_OK(record_counts.Append(row.file.record_count));
    ARROW_RETURN_NOT_OK(sizes.Append(row.file.file_size_in_bytes));
    ARROW_RETURN_NOT_OK(spec_ids.Append(row.spec_id));
  }
  std::vector<std::shared_ptr<arrow::Array>> arrays(4);
  ARROW_RETURN_NOT_OK(paths.Finish(&arrays[0]));
  ARROW_RETURN_NOT_OK(record_counts.Finish(&arrays[1]));
  ARROW_RETURN_NOT_OK(sizes.Finish(&arrays[2]));
  ARROW_RETURN_NOT_OK(spec_ids.Finish(&arrays[3]));
  ARROW_ASSIGN_OR_RAISE(auto partition,
                        DecodedStruct(partition_names, partition_types, rows.size(),
                                      [&](size_t row, size_t column) { return partition_values[row][column]; }));
  ARROW_ASSIGN_OR_RAISE(auto lower,
                        DecodedStruct(column_names, column_types, rows.size(), bound(&format::DataFile::lower_bounds)));
  ARROW_ASSIGN_OR_RAISE(auto upper,
                        DecodedStruct(column_names, column_types, rows.size(), bound(&format::DataFile::upper_bounds)));
  arrays.push_back(partition);
  arrays.push_back(lower);
  arrays.push_back(upper);
  auto result_schema = arrow::schema({
      arrow::field("file_path", arrow::utf8(), false),
      arrow::field("record_count", arrow::int64(), false),
      arrow::field("file_size_in_bytes", arrow::int64(), false),
      arrow::field("spec_id", arrow::int32(), false),
      arrow::field("partition", partition->type()),
      arrow::field("lower_bounds", lower->type()),
      arrow::field("upper_bounds", upper->type()),
  });
  return arrow::Table::Make(result_schema, arrays, static_cast<int64_t>(rows.size()));
}

}  // namespace datashard
