// Writing data files of a table without committing them: the worker half of
// a distributed append. Any number of processes (or hosts, on shared storage
// or S3) each write files with a DataFileWriter; one process then adds all of
// them to the table in one snapshot (Transaction::AddWrittenFiles).
//
// The files are the ones an append writes: rows conformed to the table's
// schema by the same rules, split by its partition spec, Parquet with the
// table's codec and page checksums, column statistics computed while
// writing, all through the table's FileSystem. Nothing references them until
// the commit: a file never committed is an orphan, deleted by
// RemoveOrphanFiles once older than its grace period (or at once, by name
// prefix, when its append is abandoned).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/table.h>

#include "datashard/status.h"
#include "datashard/table.h"

namespace datashard {

// A data file written and not committed. `descriptor` is everything the
// commit needs to add it (statistics and partition values included), as text
// that can travel to another process; the commit does not read the file.
struct WrittenFile {
  std::string path;
  int64_t record_count = 0;
  int64_t file_size_in_bytes = 0;
  std::string descriptor;
};

struct DataFileWriterOptions {
  // Every file name starts with "<name_prefix>-": the files of one
  // distributed append can be found (and deleted) by it. 1 to 64 characters
  // of [A-Za-z0-9_]; empty: no prefix.
  std::string name_prefix;
  // Rows are buffered (decoded) up to about this many bytes, and at most
  // 128 MiB, before they are written: a file of an unpartitioned table holds
  // at most that much. <= 0: the table's write.target-file-size-bytes.
  int64_t target_file_size = 0;
  // The schema and partition spec to write with (ids in the table's
  // metadata); unset: the current schema and the default spec. A commit
  // accepts files of the default spec only.
  std::optional<int32_t> schema_id;
  std::optional<int32_t> spec_id;
};

class DataFileWriter {
 public:
  // Pins the table's metadata as it is now (Refresh() first for the latest).
  static Result<std::unique_ptr<DataFileWriter>> Open(std::shared_ptr<Table> table, DataFileWriterOptions options = {});
  ~DataFileWriter();
  DataFileWriter(const DataFileWriter&) = delete;
  DataFileWriter& operator=(const DataFileWriter&) = delete;

  // Conforms `data` to the schema (SchemaError as Append words it) and
  // buffers it; writes files once enough is buffered. After an error the
  // writer is unusable: Abort() it.
  Status Write(const std::shared_ptr<arrow::Table>& data);
  // Writes what is buffered; returns every file written (none for no rows).
  Result<std::vector<WrittenFile>> Finish();
  // Deletes every file this writer wrote; the writer is closed.
  Status Abort();
  // The files completed so far.
  const std::vector<WrittenFile>& files() const;

 private:
  struct Impl;
  explicit DataFileWriter(std::unique_ptr<Impl> impl);
  Status Flush();
  std::unique_ptr<Impl> impl_;
};

}  // namespace datashard
