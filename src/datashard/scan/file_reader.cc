#include "datashard/scan/file_reader.h"

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include "datashard/format/arrow_schema.h"

namespace datashard::scan {

Result<std::shared_ptr<arrow::Table>> ReadDataFile(FileSystem& fs, const std::string& path,
                                                   const std::vector<NestedField>& fields) {
  ARROW_ASSIGN_OR_RAISE(auto input, fs.OpenInputFile(path));
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
  auto read = reader->ReadTable(to_read);
  if (!read.ok()) return CorruptData("data file ", path, " could not be read: ", read.status().message());
  std::shared_ptr<arrow::Table> raw = std::move(*read);

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
          return CorruptData("data file ", path, ": column \"", fields[i].name, "\" holds ",
                             column->type()->ToString(), ", not ", fields[i].type.ToString());
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
