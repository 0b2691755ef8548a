// Writes Arrow data as Iceberg data files: Parquet with field ids, plus the
// column statistics (value/null/NaN counts, lower/upper bounds) that go into
// the manifest entry and make pruning possible.
//
// Rows arrive batch by batch (DataFilesWriter) or as one table
// (WriteDataFiles, which feeds a DataFilesWriter). Each partition's rows go
// to a file of their own, rolled at the table's target size; a file's
// columns are encoded in parallel on Arrow's CPU pool and streamed to the
// FileSystem as row groups complete, and its statistics are read from the
// Parquet footer it ends with. Small files (a few commits' rows) are encoded
// in memory on the calling thread and written in one call, as cheaply as a
// single-row commit needs.
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

// Streams conformed rows into the data files of one append. Files are named
// <name_prefix>-<uuid>.parquet (<uuid>.parquet without a prefix) under
// data/<field>=<value>/... (hidden partitioning: `spec`'s transforms are
// applied here). A file is closed once it reaches about `target_file_size`
// bytes on disk (<= 0: the table's write.target-file-size-bytes). Nothing is
// committed: Finish() returns the files; Abort(), or destroying an
// unfinished writer, deletes every file it wrote.
//
// `fs`, `metadata`, `schema` and `spec` must outlive the writer.
class DataFilesWriter {
 public:
  DataFilesWriter(FileSystem& fs, const TableMetadata& metadata, const Schema& schema, const PartitionSpec& spec,
                  Durability durability, std::string name_prefix = "", int64_t target_file_size = 0);
  ~DataFilesWriter();
  DataFilesWriter(const DataFilesWriter&) = delete;
  DataFilesWriter& operator=(const DataFilesWriter&) = delete;

  // The sort order id every file records: the caller gives the rows in that
  // order, each file holding a run of them (WriteDataFiles sorts first). By
  // default none: a stream is written as it comes.
  void RecordSortOrder(std::optional<int32_t> sort_order_id);
  // `batch` must already conform to `schema` (format::ConformToSchema).
  // After an error, Abort().
  Status Write(const std::shared_ptr<arrow::RecordBatch>& batch);
  Status Write(const arrow::Table& data);
  // Writes what is buffered and closes every file; returns them all.
  Result<std::vector<format::DataFile>> Finish();
  // Deletes every file written or being written; the writer is closed.
  Status Abort();
  // Files completed so far (Finish() returns them all).
  const std::vector<format::DataFile>& files() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `data` must already conform to `schema` (format::ConformToSchema). Rows are
// split by `spec`, each partition's rows into files of about
// `target_file_size` bytes (see DataFilesWriter), ordered as `order` says
// (sorting.h: by default, by the table's default sort order, which every file
// then records). On error, nothing written remains.
Result<std::vector<format::DataFile>> WriteDataFiles(FileSystem& fs, const TableMetadata& metadata,
                                                     const Schema& schema, const PartitionSpec& spec,
                                                     const arrow::Table& data, Durability durability,
                                                     const std::string& name_prefix = "", int64_t target_file_size = 0,
                                                     const RowOrder& order = {});

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
// the column `column` of field `field`, by reading the values.
Status CollectColumnStats(const NestedField& field, const arrow::ChunkedArray& column, format::DataFile* file);

// The same statistics from a Parquet footer whose top-level column i holds
// `fields[i]` (flat schemas), without reading any value: counts and bounds
// from the column-chunk statistics, merged over the row groups. NaN counts
// (which Parquet does not keep) come from `nan_counts[i]` for float and
// double columns. Returns the indices of the columns whose statistics the
// footer does not give exactly (absent, or a bound Parquet left out because
// it was too long): CollectColumnStats must fill those from the values.
Result<std::vector<int>> CollectFooterStats(const std::vector<NestedField>& fields, const parquet::FileMetaData& footer,
                                            const std::vector<int64_t>& nan_counts, format::DataFile* file);

// NaN values (nulls not counted) in a float or double array; 0 for others.
int64_t CountNaN(const arrow::Array& values);

// Fills `file`'s column sizes and split offsets from a Parquet footer; the
// footer's top-level column i holds field `field_ids[i]` (flat schemas).
void CollectLayout(const parquet::FileMetaData& footer, const std::vector<int32_t>& field_ids, format::DataFile* file);

}  // namespace datashard::table
