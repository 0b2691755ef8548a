#include "datashard/data_file_writer.h"

#include <algorithm>

#include <arrow/api.h>
#include <arrow/util/byte_size.h>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/file_names.h"
#include "datashard/format/written_file.h"
#include "datashard/table/data_writer.h"
#include "datashard/table_properties.h"

namespace datashard {
namespace {

// Decoded bytes buffered at most before they are written (bounds a writer's memory).
constexpr int64_t kMaxBufferedBytes = 128LL << 20;
constexpr size_t kMaxPrefixLength = 64;

Status CheckPrefix(const std::string& prefix) {
  if (prefix.size() > kMaxPrefixLength) {
    return InvalidArgument("file name prefix \"", prefix, "\" is longer than ", kMaxPrefixLength, " characters");
  }
  for (char c : prefix) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return InvalidArgument("file name prefix \"", prefix, "\" may hold only letters, digits and _");
  }
  return Status::OK();
}

}  // namespace

struct DataFileWriter::Impl {
  std::shared_ptr<Table> table;
  std::shared_ptr<const TableMetadata> metadata;
  const Schema* schema = nullptr;
  const PartitionSpec* spec = nullptr;
  std::string name_prefix;
  int64_t flush_bytes = 0;
  std::vector<std::shared_ptr<arrow::Table>> buffer;
  int64_t buffered_bytes = 0;
  std::vector<WrittenFile> files;
  bool closed = false;
  bool failed = false;
};

DataFileWriter::DataFileWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DataFileWriter::~DataFileWriter() = default;

Result<std::unique_ptr<DataFileWriter>> DataFileWriter::Open(std::shared_ptr<Table> table,
                                                             DataFileWriterOptions options) {
  ARROW_RETURN_NOT_OK(CheckPrefix(options.name_prefix));
  auto impl = std::make_unique<Impl>();
  impl->metadata = table->metadata();
  const TableMetadata& metadata = *impl->metadata;
  impl->schema = options.schema_id ? metadata.SchemaById(*options.schema_id) : metadata.CurrentSchema();
  if (impl->schema == nullptr) {
    return InvalidArgument("the table ", table->location(), " has no schema with id ", *options.schema_id);
  }
  impl->spec = options.spec_id ? metadata.SpecById(*options.spec_id) : metadata.DefaultSpec();
  if (impl->spec == nullptr) {
    return InvalidArgument("the table ", table->location(), " has no partition spec with id ", *options.spec_id);
  }
  if (impl->schema->fields.empty()) {
    return SchemaError("the table ", table->location(),
                       " has no columns yet (it takes its schema from its first append): append to it, or set its "
                       "schema, before writing files for it");
  }
  int64_t target = options.target_file_size;
  if (target <= 0) target = IntegerProperty(metadata, TableProperties::kTargetFileSizeBytes);
  impl->flush_bytes = std::clamp<int64_t>(target, 1, kMaxBufferedBytes);
  impl->name_prefix = std::move(options.name_prefix);
  ARROW_RETURN_NOT_OK(table->fs().CreateDir(format::DataDir(table->location())));
  impl->table = std::move(table);
  return std::unique_ptr<DataFileWriter>(new DataFileWriter(std::move(impl)));
}

Status DataFileWriter::Write(const std::shared_ptr<arrow::Table>& data) {
  if (impl_->closed) return InvalidArgument("this file writer is closed (finished or aborted)");
  if (impl_->failed) return InvalidArgument("this file writer failed earlier; abort it");
  auto conformed = format::ConformToSchema(data, *impl_->schema);
  if (!conformed.ok()) {
    impl_->failed = true;
    return conformed.status();
  }
  const std::shared_ptr<arrow::Table>& rows = *conformed;
  const int64_t count = rows->num_rows();
  if (count == 0) return Status::OK();
  // Slices share their parent's buffers, so sizes are estimated per row.
  const double row_bytes =
      std::max(1.0, static_cast<double>(arrow::util::TotalBufferSize(*rows)) / static_cast<double>(count));
  int64_t offset = 0;
  while (offset < count) {
    const auto room = static_cast<int64_t>(static_cast<double>(impl_->flush_bytes - impl_->buffered_bytes) / row_bytes);
    const int64_t take = std::clamp<int64_t>(room, 1, count - offset);
    impl_->buffer.push_back(rows->Slice(offset, take));
    impl_->buffered_bytes += static_cast<int64_t>(static_cast<double>(take) * row_bytes);
    offset += take;
    if (impl_->buffered_bytes >= impl_->flush_bytes || offset < count) {
      Status flushed = Flush();
      if (!flushed.ok()) {
        impl_->failed = true;
        return flushed;
      }
    }
  }
  return Status::OK();
}

Status DataFileWriter::Flush() {
  if (impl_->buffer.empty()) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto rows, arrow::ConcatenateTables(impl_->buffer));
  impl_->buffer.clear();
  impl_->buffered_bytes = 0;
  // Written unflushed: the commit flushes every file it adds, in one barrier.
  ARROW_ASSIGN_OR_RAISE(auto files,
                        table::WriteDataFiles(impl_->table->fs(), *impl_->metadata, *impl_->schema, *impl_->spec, *rows,
                                              Durability::kProcess, impl_->name_prefix));
  for (auto& file : files) {
    WrittenFile written;
    written.path = file.file_path;
    written.record_count = file.record_count;
    written.file_size_in_bytes = file.file_size_in_bytes;
    written.descriptor = format::EncodeWrittenFile({std::move(file), impl_->spec->spec_id, impl_->schema->schema_id},
                                                   impl_->table->location());
    impl_->files.push_back(std::move(written));
  }
  return Status::OK();
}

Result<std::vector<WrittenFile>> DataFileWriter::Finish() {
  if (impl_->closed) return InvalidArgument("this file writer is closed (finished or aborted)");
  if (impl_->failed) return InvalidArgument("this file writer failed earlier; abort it");
  Status flushed = Flush();
  if (!flushed.ok()) {
    impl_->failed = true;
    return flushed;
  }
  impl_->closed = true;
  return impl_->files;
}

Status DataFileWriter::Abort() {
  impl_->closed = true;
  impl_->buffer.clear();
  impl_->buffered_bytes = 0;
  Status first = Status::OK();
  for (const auto& file : impl_->files) {
    Status removed = impl_->table->fs().DeleteFile(file.path);
    if (!removed.ok() && !IsNotFound(removed) && first.ok()) first = removed;
  }
  impl_->files.clear();
  return first;
}

const std::vector<WrittenFile>& DataFileWriter::files() const { return impl_->files; }

}  // namespace datashard
