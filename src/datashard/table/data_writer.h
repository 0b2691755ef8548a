// Writes Arrow data as an Iceberg data file: Parquet with field ids, plus the
// column statistics (value/null/NaN counts, lower/upper bounds) that go into
// the manifest entry and make pruning possible.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>
#include <parquet/metadata.h>

#include "datashard/file_system.h"
#include "datashard/format/data_file.h"
#include "datashard/table/sorting.h"
#include "datashard/table_metadata.h"

namespace datashard::table {

// `data` must already conform to `schema` (format::ConformToSchema). Rows are
// split by `spec` (hidden partitioning: the transforms are applied here), one
// file per partition, under data/<field>=<value>/..., named
// <name_prefix>-<uuid>.parquet (<uuid>.parquet without a prefix). Each
// file's rows are ordered as `order` says (sorting.h: by default, by the
// table's default sort order).
Result<std::vector<format::DataFile>> WriteDataFiles(FileSystem& fs, const TableMetadata& metadata,
                                                     const Schema& schema, const PartitionSpec& spec,
                                                     const arrow::Table& data, Durability durability,
                                                     const std::string& name_prefix = "", const RowOrder& order = {});

// Per field of `spec`, the partition value of every row of `batch`, whose
// columns carry the names of `schema`.
Result<std::vector<std::vector<std::optional<std::string>>>> PartitionValues(const Schema& schema,
                                                                             const PartitionSpec& spec,
                                                                             const arrow::RecordBatch& batch);

// The partition tuple of `data` (columns named as in `schema`) under `spec`,
// if every row has the same one; nullopt if the rows span several.
Result<std::optional<std::vector<std::optional<std::string>>>> SinglePartitionOf(const Schema& schema,
                                                                                 const PartitionSpec& spec,
                                                                                 const arrow::Table& data);

// The size a data file holding `data` (conformed, of one partition) gets:
// the bytes WriteDataFiles would write for it, encoded the same way.
Result<int64_t> EncodedFileSize(const TableMetadata& metadata, const arrow::Table& data);

// Fills `file`'s value/null/NaN counts and truncated lower/upper bounds for
// the column `column` of field `field`.
Status CollectColumnStats(const NestedField& field, const arrow::ChunkedArray& column, format::DataFile* file);

// Fills `file`'s column sizes and split offsets from a Parquet footer; the
// footer's top-level column i holds field `field_ids[i]` (flat schemas).
void CollectLayout(const parquet::FileMetaData& footer, const std::vector<int32_t>& field_ids, format::DataFile* file);

}  // namespace datashard::table
