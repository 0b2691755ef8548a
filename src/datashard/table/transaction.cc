#include "datashard/transaction.h"

#include <limits>
#include <map>
#include <set>

#include <arrow/compute/api.h>
#include <arrow/util/byte_size.h>
#include <parquet/arrow/reader.h>
#include <parquet/properties.h>

#include "datashard/commit/committer.h"
#include "datashard/commit/group_commit.h"
#include "datashard/commit/group_member.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/format/arrow_schema.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest.h"
#include "datashard/format/partition_summary.h"
#include "datashard/format/written_file.h"
#include "datashard/io/commit_queue.h"
#include "datashard/scan/arrow_filter.h"
#include "datashard/scan/expression.h"
#include "datashard/scan/file_reader.h"
#include "datashard/scan/table_scan.h"
#include "datashard/table/data_writer.h"
#include "datashard/table/intent_rows.h"
#include "datashard/table/table_internal.h"

namespace datashard {
namespace cp = arrow::compute;

namespace {

// A small append (TransactionInternal::DeferSmallAppend) is at most this many bytes
// of Arrow buffers: a group-commit leader reads every intent it takes.
constexpr int64_t kMaxDeferredBytes = 1 << 20;

// Writes the manifest listing `files` (added, snapshot ids and sequence
// numbers inherited), unflushed.
Result<format::ManifestFile> WriteAppendManifest(FileSystem& fs, const std::string& location,
                                                 const TableMetadata& metadata,
                                                 const std::vector<format::DataFile>& files) {
  std::vector<format::ManifestEntry> entries;
  format::ManifestFile manifest;
  manifest.partition_spec_id = metadata.default_spec_id;
  format::PartitionSummaryBuilder summaries(*metadata.CurrentSchema(), *metadata.DefaultSpec());
  for (const auto& file : files) {
    ARROW_RETURN_NOT_OK(summaries.Add(file));
    format::ManifestEntry entry;
    entry.status = format::ManifestEntryStatus::kAdded;
    entry.data_file = file;
    entries.push_back(std::move(entry));
    manifest.added_files_count += 1;
    manifest.added_rows_count += file.record_count;
  }
  manifest.partitions = summaries.Finish();
  ARROW_ASSIGN_OR_RAISE(std::string bytes, format::EncodeManifest(*metadata.CurrentSchema(), *metadata.DefaultSpec(),
                                                                  format::ManifestContent::kData, entries));
  manifest.manifest_path = format::NewManifestPath(location);
  manifest.manifest_length = static_cast<int64_t>(bytes.size());
  ARROW_RETURN_NOT_OK(fs.WriteNewFile(manifest.manifest_path, bytes, Durability::kProcess));
  return manifest;
}

// A group-commit attempt's data: this writer's own deferred rows (if any)
// and the rows other writers' intents carry, each in data files of its own,
// and one manifest naming them all. An intent written under another schema
// or spec, or whose rows do not read back, is not taken: its writer commits
// by itself.
Result<commit::InlineWrite> WriteInline(FileSystem& fs, const std::string& location, const TableMetadata& metadata,
                                        const std::shared_ptr<arrow::Table>& own_rows,
                                        const std::vector<const commit::Intent*>& intents) {
  commit::InlineWrite out;
  const Schema& schema = *metadata.CurrentSchema();
  std::vector<std::shared_ptr<arrow::Table>> parts;
  if (own_rows) parts.push_back(own_rows);
  for (const commit::Intent* intent : intents) {
    bool taken = false;
    if (intent->schema_id == metadata.current_schema_id && intent->spec_id == metadata.default_spec_id) {
      auto rows = table::DecodeIntentRows(intent->rows, schema);
      if (rows.ok() && (*rows)->num_rows() > 0) {  // conformed to `schema` by the decoder
        parts.push_back(*rows);
        taken = true;
      }
    }
    out.taken.push_back(taken);
  }
  if (parts.empty()) return out;
  ARROW_RETURN_NOT_OK(fs.CreateDir(format::DataDir(location)));
  // Each append's rows in files of their own, as if it had written them
  // itself: a later copy-on-write delete of one writer's rows never touches
  // a file another writer's rows are in.
  std::vector<format::DataFile> files;
  for (const auto& part : parts) {
    auto written = table::WriteDataFiles(fs, metadata, schema, *metadata.DefaultSpec(), *part, Durability::kProcess);
    if (!written.ok()) {
      for (const auto& file : files) (void)fs.DeleteFile(file.file_path);
      return written.status();
    }
    files.insert(files.end(), written->begin(), written->end());
  }
  for (const auto& file : files) {
    out.files.push_back(file.file_path);
    out.added_files += 1;
    out.added_records += file.record_count;
    out.added_files_size += file.file_size_in_bytes;
  }
  auto manifest = WriteAppendManifest(fs, location, metadata, files);
  if (!manifest.ok()) {
    for (const auto& path : out.files) (void)fs.DeleteFile(path);
    return manifest.status();
  }
  out.files.push_back(manifest->manifest_path);
  out.manifests.push_back(std::move(*manifest));
  return out;
}

}  // namespace

struct Transaction::Impl {
  Isolation isolation = Isolation::kSnapshot;
  std::shared_ptr<const TableMetadata> base;  // pinned when the transaction began
  const Snapshot* base_snapshot = nullptr;    // head of `branch` in `base`
  std::string branch = "main";
  bool touched = false;                 // any operation done yet
  std::vector<format::DataFile> files;  // added
  std::vector<commit::RemovedFile> removed;
  std::set<std::string> removed_paths;
  std::map<std::string, std::string> origin;  // rewritten copy -> the base file its rows came from
  std::vector<std::string> written;           // every file this transaction created
  std::set<std::string> appended_sources;     // paths given to AppendFiles and AddWrittenFiles
  std::vector<std::string> copied_sources;    // of those, files whose rows were copied
  std::vector<Expression> reads;              // filters read (true = the whole table)
  // A small append's rows, conformed, not written yet (DeferSmallAppend).
  std::shared_ptr<arrow::Table> deferred;
  bool rewrite = false;             // TransactionInternal::MarkAsRewrite
  table::RowOrder row_order;        // TransactionInternal::KeepRowOrder
  bool defer_small_append = false;  // TransactionInternal::DeferSmallAppend
};

namespace {

// The data files of `snapshot`, as the table lists them.
Result<std::set<std::string>> DataFilePaths(FileSystem& fs, const TableMetadata& metadata, const Snapshot* snapshot) {
  ARROW_ASSIGN_OR_RAISE(auto tasks, scan::PlanFiles(fs, metadata, snapshot, *metadata.CurrentSchema(), {}));
  std::set<std::string> out;
  for (const auto& task : tasks) out.insert(task.file.file_path);
  return out;
}

// A file given to add (AppendFiles, AddWrittenFiles) must lie inside the
// table, outside its metadata directory, and be given once per transaction.
Status ClaimSource(const char* call, const std::string& location, const std::string& path,
                   std::set<std::string>* claimed) {
  if (!format::CheckInsideLocation(location, path).ok()) {
    return InvalidArgument(call, ": \"", path, "\" is not inside the table location \"", location,
                           "\" (move the file under its data/ directory first)");
  }
  if (path.rfind(format::MetadataDir(location) + "/", 0) == 0) {
    return InvalidArgument(call, ": \"", path, "\" is in the table's metadata directory");
  }
  if (!claimed->insert(path).second) return InvalidArgument(call, ": ", path, " is given twice");
  return Status::OK();
}

commit::RemovedFile ToRemoved(const scan::FileScanTask& task) {
  return commit::RemovedFile{task.file, task.sequence_number, task.file_sequence_number, task.snapshot_id,
                             task.manifest_path};
}

}  // namespace

Transaction::Transaction(std::shared_ptr<Table> table, Isolation isolation)
    : table_(std::move(table)), impl_(std::make_unique<Impl>()) {
  impl_->isolation = isolation;
  impl_->base = table_->metadata();
  impl_->base_snapshot = impl_->base->CurrentSnapshot();
}

Transaction::Transaction(std::shared_ptr<Table> table, std::shared_ptr<const TableMetadata> base)
    : table_(std::move(table)), impl_(std::make_unique<Impl>()) {
  impl_->base = std::move(base);
  impl_->base_snapshot = impl_->base->CurrentSnapshot();
}

std::unique_ptr<Transaction> TransactionInternal::StartingFrom(std::shared_ptr<Table> table,
                                                               std::shared_ptr<const TableMetadata> base) {
  return std::unique_ptr<Transaction>(new Transaction(std::move(table), std::move(base)));
}

void TransactionInternal::MarkAsRewrite(Transaction& tx) { tx.impl_->rewrite = true; }

void TransactionInternal::DeferSmallAppend(Transaction& tx) { tx.impl_->defer_small_append = true; }

void TransactionInternal::KeepRowOrder(Transaction& tx, std::optional<int32_t> sort_order_id) {
  tx.impl_->row_order = table::RowOrder{true, sort_order_id};
}

Status Transaction::SetBranch(const std::string& name) {
  if (!active_) return InvalidArgument("the transaction is no longer active (already committed or rolled back)");
  if (impl_->touched) return InvalidArgument("SetBranch must come before any other operation of the transaction");
  if (name == "main") {
    impl_->branch = name;
    impl_->base_snapshot = impl_->base->CurrentSnapshot();
    return Status::OK();
  }
  auto ref = impl_->base->refs.find(name);
  if (ref == impl_->base->refs.end() || ref->second.type != "branch") {
    return InvalidArgument("no branch named \"", name, "\" (create it with create_branch)");
  }
  impl_->branch = name;
  impl_->base_snapshot = impl_->base->SnapshotById(ref->second.snapshot_id);
  return Status::OK();
}

Transaction::~Transaction() {
  if (active_) (void)Rollback();
}

std::optional<int64_t> Transaction::base_snapshot_id() const {
  return impl_->base_snapshot ? std::optional<int64_t>(impl_->base_snapshot->snapshot_id) : std::nullopt;
}

Status Transaction::CheckActive() {
  if (!active_) return InvalidArgument("the transaction is no longer active (already committed or rolled back)");
  impl_->touched = true;
  return Status::OK();
}

Status Transaction::Append(const std::shared_ptr<arrow::Table>& data) {
  ARROW_RETURN_NOT_OK(CheckActive());
  const TableMetadata& metadata = *impl_->base;
  const Schema& schema = *metadata.CurrentSchema();
  ARROW_ASSIGN_OR_RAISE(auto conformed, format::ConformToSchema(data, schema));
  if (conformed->num_rows() == 0) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(Durability durability, commit::DurabilityOf(metadata));
  if (durability_) durability = *durability_;
  ARROW_ASSIGN_OR_RAISE(bool rows_in_intents, commit::GroupRowsEnabled(metadata));
  // Only where the rows may ride in an intent: otherwise the file is written
  // now, as for any append.
  if (impl_->defer_small_append && rows_in_intents && durability == Durability::kFsync && !impl_->deferred &&
      impl_->files.empty() && arrow::util::TotalBufferSize(*conformed) <= kMaxDeferredBytes) {
    impl_->deferred = conformed;
    return Status::OK();
  }
  return WriteRows(conformed);
}

Status Transaction::Append(const std::shared_ptr<arrow::RecordBatchReader>& data) {
  ARROW_RETURN_NOT_OK(CheckActive());
  if (table::SortsRows(*impl_->base, *impl_->base->CurrentSchema(), impl_->row_order)) {
    // A table with a sort order: each file holds a sorted run of the rows,
    // so they are sorted whole, in memory (a stream appends in bounded
    // memory to an unsorted table).
    ARROW_ASSIGN_OR_RAISE(auto rows, data->ToTable());
    return Append(rows);
  }
  // The head of the stream, up to what a small append may hold: a stream
  // that ends there is a small append (deferred into a group-commit intent
  // where it may be).
  std::vector<std::shared_ptr<arrow::RecordBatch>> head;
  int64_t head_bytes = 0;
  while (head_bytes <= kMaxDeferredBytes) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(data->ReadNext(&batch));
    if (batch == nullptr) {
      ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches(data->schema(), head));
      return Append(rows);
    }
    head_bytes += arrow::util::TotalBufferSize(*batch);
    head.push_back(std::move(batch));
  }
  const TableMetadata& metadata = *impl_->base;
  const Schema& schema = *metadata.CurrentSchema();
  ARROW_RETURN_NOT_OK(table_->fs().CreateDir(format::DataDir(table_->location())));
  // Written unflushed; Commit() flushes every file of the transaction at
  // once. On an error the writer deletes what it wrote.
  table::DataFilesWriter writer(table_->fs(), metadata, schema, *metadata.DefaultSpec(), Durability::kProcess);
  auto write = [&](const std::shared_ptr<arrow::RecordBatch>& batch) -> Status {
    ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches({batch}));
    ARROW_ASSIGN_OR_RAISE(auto conformed, format::ConformToSchema(rows, schema));
    return writer.Write(*conformed);
  };
  for (auto& batch : head) {
    ARROW_RETURN_NOT_OK(write(batch));
    batch.reset();
  }
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(data->ReadNext(&batch));
    if (batch == nullptr) break;
    ARROW_RETURN_NOT_OK(write(batch));
  }
  ARROW_ASSIGN_OR_RAISE(auto files, writer.Finish());
  for (auto& file : files) {
    impl_->written.push_back(file.file_path);
    impl_->files.push_back(std::move(file));
  }
  return Status::OK();
}

Status Transaction::WriteRows(const std::shared_ptr<arrow::Table>& conformed) {
  const TableMetadata& metadata = *impl_->base;
  ARROW_RETURN_NOT_OK(table_->fs().CreateDir(format::DataDir(table_->location())));
  // A rewrite's output files are sized by the rewrite (its own target): not
  // rolled at the table's.
  const int64_t target = impl_->rewrite ? std::numeric_limits<int64_t>::max() : 0;
  // Written unflushed; Commit() flushes every file of the transaction at once.
  auto files = table::WriteDataFiles(table_->fs(), metadata, *metadata.CurrentSchema(), *metadata.DefaultSpec(),
                                     *conformed, Durability::kProcess, "", target, impl_->row_order);
  if (!files.ok()) return files.status();
  for (auto& file : *files) {
    impl_->written.push_back(file.file_path);
    impl_->files.push_back(std::move(file));
  }
  return Status::OK();
}

Status Transaction::AppendFiles(const std::vector<std::string>& paths) {
  ARROW_RETURN_NOT_OK(CheckActive());
  ARROW_ASSIGN_OR_RAISE(auto present, DataFilePaths(table_->fs(), *impl_->base, impl_->base_snapshot));
  for (const auto& path : paths) {
    if (present.count(path)) {
      return InvalidArgument("append_files: ", path, " is already a data file of the table");
    }
    ARROW_RETURN_NOT_OK(ClaimSource("append_files", table_->location(), path, &impl_->appended_sources));
  }
  for (const auto& path : paths) ARROW_RETURN_NOT_OK(AppendOneFile(path));
  return Status::OK();
}

Status Transaction::AddWrittenFiles(const std::vector<std::string>& descriptors) {
  ARROW_RETURN_NOT_OK(CheckActive());
  const TableMetadata& metadata = *impl_->base;
  std::vector<format::DataFile> files;
  for (const auto& text : descriptors) {
    ARROW_ASSIGN_OR_RAISE(auto descriptor, format::DecodeWrittenFile(text, table_->location()));
    const std::string& path = descriptor.file.file_path;
    if (descriptor.spec_id != metadata.default_spec_id) {
      return InvalidArgument("add_written_files: ", path, " was written for partition spec ", descriptor.spec_id,
                             ", and the table's is ", metadata.default_spec_id,
                             " now (its partitioning changed): write the rows again");
    }
    if (metadata.SchemaById(descriptor.schema_id) == nullptr) {
      return InvalidArgument("add_written_files: ", path, " was written with schema ", descriptor.schema_id,
                             ", which the table does not have");
    }
    const PartitionSpec& spec = *metadata.DefaultSpec();
    if (descriptor.file.partition.size() != spec.fields.size()) {
      return InvalidArgument("add_written_files: ", path, " carries ", descriptor.file.partition.size(),
                             " partition values for a spec of ", spec.fields.size(), " fields");
    }
    ARROW_RETURN_NOT_OK(ClaimSource("add_written_files", table_->location(), path, &impl_->appended_sources));
    auto info = table_->fs().GetFileInfo(path);
    if (!info.ok()) {
      if (IsNotFound(info.status())) {
        return InvalidArgument("add_written_files: no file at ", path,
                               " (deleted since it was written: an abort, or orphan cleanup after its grace period)");
      }
      return info.status();
    }
    if (info->size != descriptor.file.file_size_in_bytes) {
      return InvalidArgument("add_written_files: ", path, " holds ", info->size, " bytes, not the ",
                             descriptor.file.file_size_in_bytes, " it was written with");
    }
    files.push_back(std::move(descriptor.file));
  }
  if (files.empty()) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto present, DataFilePaths(table_->fs(), metadata, impl_->base_snapshot));
  for (const auto& file : files) {
    if (present.count(file.file_path)) {
      return InvalidArgument("add_written_files: ", file.file_path, " is already a data file of the table");
    }
  }
  for (auto& file : files) {
    if (file.record_count > 0) impl_->files.push_back(std::move(file));
  }
  return Status::OK();
}

Status Transaction::AppendOneFile(const std::string& path) {
  const TableMetadata& metadata = *impl_->base;
  const Schema& schema = *metadata.CurrentSchema();
  auto input = table_->fs().OpenInputFile(path);
  if (!input.ok()) {
    if (IsNotFound(input.status())) return InvalidArgument("append_files: no file at ", path);
    return input.status();
  }
  ARROW_ASSIGN_OR_RAISE(int64_t size, (*input)->GetSize());
  arrow::MemoryPool* pool = scan::DecodePoolForFile(size);
  parquet::arrow::FileReaderBuilder builder;
  Status opened = builder.Open(*input, parquet::ReaderProperties(pool));
  std::unique_ptr<parquet::arrow::FileReader> reader;
  if (opened.ok()) opened = builder.memory_pool(pool)->Build(&reader);
  if (!opened.ok()) {
    return InvalidArgument("append_files: ", path, " is not a Parquet file (", opened.message(), ")");
  }
  auto read = reader->ReadTable();
  Status valid = read.ok() ? (*read)->ValidateFull() : read.status();
  if (!valid.ok()) return CorruptData("append_files: ", path, " could not be read: ", valid.message());
  std::shared_ptr<arrow::Table> rows = std::move(*read);
  if (rows->num_rows() == 0) return Status::OK();

  // Registered in place only when every column is a table field by id, with
  // the table's exact type, and required fields hold no nulls.
  bool in_place = rows->num_columns() > 0;
  std::vector<int32_t> ids;
  std::vector<std::string> names;
  for (int c = 0; c < rows->num_columns(); ++c) {
    const auto& column_field = *rows->schema()->field(c);
    const NestedField* field = schema.FindField(format::FieldIdOf(column_field));
    names.push_back(field != nullptr ? field->name : column_field.name());
    ids.push_back(field != nullptr ? field->id : 0);
    if (field == nullptr || !column_field.type()->Equals(*format::ToArrowType(field->type)) ||
        (field->required && rows->column(c)->null_count() > 0)) {
      in_place = false;
    }
  }
  for (const auto& field : schema.fields) {
    if (field.required && std::find(ids.begin(), ids.end(), field.id) == ids.end()) in_place = false;
  }
  // Of a partitioned table, a file whose rows all fall in one partition.
  std::vector<std::optional<std::string>> partition;
  if (in_place && !metadata.DefaultSpec()->unpartitioned()) {
    ARROW_ASSIGN_OR_RAISE(auto named, rows->RenameColumns(names));  // every column is a field: its name
    ARROW_ASSIGN_OR_RAISE(auto single, table::SinglePartitionOf(schema, *metadata.DefaultSpec(), *named));
    if (single) {
      partition = std::move(*single);
    } else {
      in_place = false;
    }
  }
  if (!in_place) {
    // Columns found by id take the table's current names; the rest keep
    // theirs and are matched by name (ConformToSchema names any misfit).
    ARROW_ASSIGN_OR_RAISE(auto renamed, rows->RenameColumns(names));
    ARROW_RETURN_NOT_OK(Append(renamed));
    impl_->copied_sources.push_back(path);
    return Status::OK();
  }
  format::DataFile file;
  file.file_path = path;
  file.partition = std::move(partition);
  file.record_count = rows->num_rows();
  file.file_size_in_bytes = size;
  for (int c = 0; c < rows->num_columns(); ++c) {
    ARROW_RETURN_NOT_OK(
        table::CollectColumnStats(*schema.FindField(ids[static_cast<size_t>(c)]), *rows->column(c), &file));
  }
  table::CollectLayout(*reader->parquet_reader()->metadata(), ids, &file);
  impl_->files.push_back(std::move(file));  // not in `written`: rollback leaves the user's file alone
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatchReader>> Transaction::Scan(const ScanOptions& options) {
  ARROW_RETURN_NOT_OK(CheckActive());
  if (options.snapshot_id) return InvalidArgument("a transaction reads its base snapshot; snapshot_id must be unset");
  Expression read = Expression::And({Expression::AllOf(options.filter), options.where});
  if (options.arrow_filter) {  // what it implies covers every row it can return
    read =
        Expression::And({std::move(read), scan::ImpliedFilter(*options.arrow_filter, *impl_->base->CurrentSchema())});
  }
  impl_->reads.push_back(std::move(read));
  return scan::ScanSnapshot(table_->shared_fs(), impl_->base, impl_->base_snapshot, options);
}

namespace {

struct Filtered {
  int64_t matched = 0;
  std::shared_ptr<arrow::Table> kept;  // the rows the filter does not select
};

// Copy-on-write core: a null predicate result keeps the row, as SQL DELETE does.
Result<Filtered> FilterFile(FileSystem& fs, const std::string& path, const Schema& schema,
                            const cp::Expression& filter) {
  ARROW_ASSIGN_OR_RAISE(auto rows, scan::ReadDataFile(fs, path, schema.fields));
  ARROW_ASSIGN_OR_RAISE(auto batch, rows->CombineChunksToBatch());
  Filtered out;
  ARROW_ASSIGN_OR_RAISE(auto bound, filter.Bind(*rows->schema()));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum selected, cp::ExecuteScalarExpression(bound, cp::ExecBatch(*batch)));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum matched, cp::CallFunction("coalesce", {selected, arrow::Datum(false)}));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum keep, cp::CallFunction("invert", {matched}));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum kept, cp::Filter(arrow::Datum(batch), keep));
  out.matched = batch->num_rows() - kept.record_batch()->num_rows();
  if (kept.record_batch()->num_rows() > 0) {
    ARROW_ASSIGN_OR_RAISE(out.kept, arrow::Table::FromRecordBatches({kept.record_batch()}));
  }
  return out;
}

}  // namespace

Status Transaction::WriteSurvivors(const std::shared_ptr<arrow::Table>& rows, const std::string& origin) {
  if (rows == nullptr || rows->num_rows() == 0) return Status::OK();
  const TableMetadata& metadata = *impl_->base;
  const Schema& schema = *metadata.CurrentSchema();
  ARROW_ASSIGN_OR_RAISE(auto conformed, format::ConformToSchema(rows, schema));
  ARROW_ASSIGN_OR_RAISE(auto files, table::WriteDataFiles(table_->fs(), metadata, schema, *metadata.DefaultSpec(),
                                                          *conformed, Durability::kProcess));
  for (auto& file : files) {
    impl_->written.push_back(file.file_path);
    if (!origin.empty()) impl_->origin[file.file_path] = origin;
    impl_->files.push_back(std::move(file));
  }
  return Status::OK();
}

void Transaction::DropOwnFile(const std::string& path) {
  // Only files this transaction wrote are deleted; a file registered by
  // AppendFiles belongs to the user until the commit publishes it.
  if (std::find(impl_->written.begin(), impl_->written.end(), path) != impl_->written.end()) {
    (void)table_->fs().DeleteFile(path);
  }
  std::erase(impl_->written, path);
  std::erase_if(impl_->files, [&](const format::DataFile& f) { return f.file_path == path; });
  impl_->origin.erase(path);
}

Result<int64_t> Transaction::DeleteWhere(const Expression& filter) {
  ARROW_RETURN_NOT_OK(CheckActive());
  ARROW_ASSIGN_OR_RAISE(auto bound, scan::Bind(*impl_->base->CurrentSchema(), filter));
  std::optional<cp::Expression> exact;
  if (!bound.IsTrue()) exact = scan::ToArrowExpression(bound);
  return DeleteMatching(filter, exact);
}

Result<int64_t> Transaction::DeleteWhere(const cp::Expression& filter) {
  ARROW_RETURN_NOT_OK(CheckActive());
  const Schema& schema = *impl_->base->CurrentSchema();
  ARROW_RETURN_NOT_OK(scan::CheckArrowFilter(filter, schema));
  return DeleteMatching(scan::ImpliedFilter(filter, schema), filter);
}

Result<int64_t> Transaction::DeleteMatching(const Expression& prune, const std::optional<cp::Expression>& exact) {
  const TableMetadata& metadata = *impl_->base;
  const Schema& schema = *metadata.CurrentSchema();
  ARROW_ASSIGN_OR_RAISE(auto bound, scan::Bind(schema, prune));
  impl_->reads.push_back(prune);
  // The operations of a transaction apply in order, so the filter also
  // reaches rows this transaction added (appends and earlier rewrites).
  int64_t deleted = 0;
  const std::vector<format::DataFile> own = impl_->files;
  for (const auto& file : own) {
    ARROW_ASSIGN_OR_RAISE(bool cannot_match, scan::CannotMatch(file, bound));
    if (cannot_match) continue;
    Filtered result{file.record_count, nullptr};  // no filter: every row goes, no need to read
    if (exact) {
      ARROW_ASSIGN_OR_RAISE(result, FilterFile(table_->fs(), file.file_path, schema, *exact));
    }
    if (result.matched == 0) continue;
    deleted += result.matched;
    auto origin = impl_->origin.count(file.file_path) ? impl_->origin[file.file_path] : std::string();
    DropOwnFile(file.file_path);
    ARROW_RETURN_NOT_OK(WriteSurvivors(result.kept, origin));
  }
  ARROW_ASSIGN_OR_RAISE(auto tasks,
                        scan::PlanFilesMatching(table_->fs(), metadata, impl_->base_snapshot, schema, prune));
  for (const auto& task : tasks) {
    if (impl_->removed_paths.count(task.file.file_path)) continue;  // its survivors were handled above
    Filtered result{task.file.record_count, nullptr};
    if (exact) {
      ARROW_ASSIGN_OR_RAISE(result, FilterFile(table_->fs(), task.file.file_path, schema, *exact));
    }
    if (result.matched == 0) continue;
    deleted += result.matched;
    impl_->removed_paths.insert(task.file.file_path);
    impl_->removed.push_back(ToRemoved(task));
    ARROW_RETURN_NOT_OK(WriteSurvivors(result.kept, task.file.file_path));
  }
  return deleted;
}

Status Transaction::DeleteFiles(const std::vector<std::string>& paths) {
  ARROW_RETURN_NOT_OK(CheckActive());
  const TableMetadata& metadata = *impl_->base;
  ARROW_ASSIGN_OR_RAISE(auto tasks,
                        scan::PlanFiles(table_->fs(), metadata, impl_->base_snapshot, *metadata.CurrentSchema(), {}));
  for (const auto& path : paths) {
    if (impl_->removed_paths.count(path)) {
      // Already rewritten by this transaction: removing the file means
      // removing what is left of it too.
      std::vector<std::string> copies;
      for (const auto& [copy, origin] : impl_->origin) {
        if (origin == path) copies.push_back(copy);
      }
      for (const auto& copy : copies) DropOwnFile(copy);
      continue;
    }
    bool found = false;
    for (const auto& task : tasks) {
      if (task.file.file_path != path) continue;
      found = true;
      impl_->removed_paths.insert(path);
      impl_->removed.push_back(ToRemoved(task));
    }
    if (!found) return InvalidArgument("data file ", path, " is not in the table's current snapshot");
  }
  return Status::OK();
}

Result<int64_t> Transaction::OverwriteWhere(const std::shared_ptr<arrow::Table>& data, const Expression& filter) {
  // Validate the new data before touching anything.
  ARROW_RETURN_NOT_OK(format::ConformToSchema(data, *impl_->base->CurrentSchema()).status());
  ARROW_ASSIGN_OR_RAISE(int64_t deleted, DeleteWhere(filter));
  ARROW_RETURN_NOT_OK(Append(data));
  return deleted;
}

Result<int64_t> Transaction::OverwriteWhere(const std::shared_ptr<arrow::Table>& data, const cp::Expression& filter) {
  ARROW_RETURN_NOT_OK(format::ConformToSchema(data, *impl_->base->CurrentSchema()).status());
  ARROW_ASSIGN_OR_RAISE(int64_t deleted, DeleteWhere(filter));
  ARROW_RETURN_NOT_OK(Append(data));
  return deleted;
}

Result<CommitInfo> Transaction::Commit() {
  ARROW_RETURN_NOT_OK(CheckActive());
  auto committed = CommitOnce();
  if (!committed.ok() && active_) {
    // Failed before the commit point (writing the manifest, flushing): the
    // table never saw these files.
    (void)Rollback();
  }
  active_ = false;
  return committed;
}

Result<CommitInfo> Transaction::CommitOnce() {
  if (impl_->files.empty() && impl_->removed.empty() && !impl_->deferred) {
    active_ = false;
    return CommitInfo{};
  }
  auto metadata = impl_->base;
  ARROW_ASSIGN_OR_RAISE(Durability durability, commit::DurabilityOf(*metadata));
  if (durability_) durability = *durability_;

  commit::PendingSnapshot pending;
  pending.commit_key = commit_key_;
  pending.durability = durability;
  pending.removed = impl_->removed;
  if (impl_->rewrite) pending.operation = "replace";
  pending.base_snapshot_id = base_snapshot_id();
  pending.branch = impl_->branch;
  if (impl_->isolation == Isolation::kSerializable && !impl_->reads.empty()) {
    auto schema = *metadata->CurrentSchema();
    auto reads = impl_->reads;
    // Serializable: nothing the transaction read may have changed since its
    // base, whether rows were added (phantoms) or removed/rewritten (write
    // skew, e.g. two transactions each deleting what the other read).
    pending.validate_concurrent = [schema, reads](const commit::ConcurrentChanges& changes) -> Status {
      if (!changes.complete) {
        return commit::Conflict("too many concurrent commits to validate a serializable transaction");
      }
      for (const auto& filter : reads) {
        ARROW_ASSIGN_OR_RAISE(auto bound, scan::Bind(schema, filter));
        for (const auto& file : changes.added) {
          ARROW_ASSIGN_OR_RAISE(bool cannot_match, scan::CannotMatch(file, bound));
          if (!cannot_match) {
            return commit::Conflict("rows this serializable transaction read were added concurrently (" +
                                    file.file_path + ")");
          }
        }
        for (const auto& [path, file] : changes.removed) {
          ARROW_ASSIGN_OR_RAISE(bool cannot_match, scan::CannotMatch(file, bound));
          if (!cannot_match) {
            return commit::Conflict(
                "rows this serializable transaction read were deleted or rewritten "
                "concurrently (" +
                path + ")");
          }
        }
      }
      return Status::OK();
    };
  }
  ARROW_ASSIGN_OR_RAISE(bool group_enabled, commit::GroupCommitEnabled(*metadata));
  const bool group = group_enabled && (!impl_->files.empty() || impl_->deferred) && impl_->removed.empty() &&
                     !commit_key_ && !pending.validate_concurrent && impl_->branch == "main" && !impl_->rewrite;
  // Deferred rows ride in a group-commit intent when other writers of this
  // host are committing right now (the commit queue is busy): the leader
  // writes them. Otherwise this writer writes its own data file, outside the
  // queue, as any append does.
  std::shared_ptr<arrow::Table> own_rows;
  if (impl_->deferred) {
    io::CommitQueue* queue = TableInternal::Queue(*table_);
    if (group && queue != nullptr && queue->Busy()) {
      own_rows = impl_->deferred;
    } else {
      ARROW_RETURN_NOT_OK(WriteRows(impl_->deferred));
    }
    impl_->deferred.reset();
  }
  // The manifest does not depend on the version it lands in (its entries
  // inherit the snapshot id and sequence numbers from the manifest list), so
  // it is written once, here, outside the race window, and reused by every
  // attempt.
  if (!impl_->files.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto manifest,
                          WriteAppendManifest(table_->fs(), table_->location(), *metadata, impl_->files));
    impl_->written.push_back(manifest.manifest_path);
    for (const auto& file : impl_->files) {
      pending.added_files += 1;
      pending.added_records += file.record_count;
      pending.added_files_size += file.file_size_in_bytes;
    }
    pending.new_manifests.push_back(std::move(manifest));
  }

  commit::CommitOptions options;
  options.durability = durability;
  options.queue = TableInternal::Queue(*table_);
  // Everything the metadata will reference must be durable before it is
  // published: the data files and the manifest are flushed together with the
  // first attempt's manifest list and metadata, in one barrier.
  options.unsynced_files = impl_->written;
  for (const auto& file : impl_->files) {  // files registered in place (AppendFiles) are the user's, not written here
    if (std::find(impl_->written.begin(), impl_->written.end(), file.file_path) == impl_->written.end()) {
      options.unsynced_files.push_back(file.file_path);
    }
  }
  // The same files must still be there when the version naming them is
  // published: orphan cleanup may have taken them while the transaction was
  // open (the committer checks them, under the commit queue).
  options.new_files = options.unsynced_files;
  options.max_file_age_ms = commit::MaxFileAgeOf(*metadata);
  // Group commit: a plain append to main that meets contention posts an
  // intent; whoever commits next applies it too (commit/group_member.h).
  std::optional<commit::GroupMember> group_member;
  if (group) {
    commit::Intent intent;
    intent.durability = durability;
    intent.manifests = pending.new_manifests;
    intent.files = options.new_files;
    intent.added_files = pending.added_files;
    intent.added_records = pending.added_records;
    intent.added_files_size = pending.added_files_size;
    if (own_rows) {
      // A small append: its rows ride in the intent, and whoever leads writes
      // them (this writer included) inside its attempt.
      ARROW_ASSIGN_OR_RAISE(intent.rows, table::EncodeIntentRows(*own_rows));
      intent.schema_id = metadata->current_schema_id;
      intent.spec_id = metadata->default_spec_id;
    }
    group_member.emplace(table_->fs(), table_->location(), std::move(intent));
    group_member->WriteRowsWith(
        [&](const std::vector<const commit::Intent*>& intents) {
          return WriteInline(table_->fs(), table_->location(), *metadata, own_rows, intents);
        },
        own_rows != nullptr);
    pending.group = &*group_member;
    options.group = &*group_member;
  }
  // Start from the newest version: an attempt built on a stale one would only
  // lose. A group member reads it once the wait is over, if at all.
  commit::VersionedMetadata start;
  if (group) {
    options.refresh_base = true;
    TableInternal::ParsedState parsed = TableInternal::Parsed(*table_);
    start = commit::VersionedMetadata{parsed.version, std::move(parsed.metadata)};
    options.search_from = parsed.newest_known;
  } else {
    ARROW_RETURN_NOT_OK(table_->Refresh());
    start = commit::VersionedMetadata{table_->version(), table_->metadata()};
  }
  auto outcome = commit::CommitWithRetry(
      table_->fs(), table_->location(), start,
      [&](const commit::VersionedMetadata& latest, int attempt) {
        return commit::BuildSnapshot(table_->fs(), latest, pending, attempt);
      },
      options);
  if (group_member) outcome = group_member->Settle(std::move(outcome), options.queue);
  if (!outcome.ok()) {
    // After an ambiguous outcome the files may be part of the table: keep them.
    if (!IsKind(outcome.status(), ErrorKind::kAmbiguousCommit)) (void)Rollback();
    active_ = false;
    return outcome.status();
  }
  active_ = false;
  if (outcome->committed.metadata != nullptr) {
    TableInternal::Adopt(*table_, outcome->committed.version, outcome->committed.metadata);
  } else {
    TableInternal::AdoptUnparsed(
        *table_, outcome->committed.version, std::move(outcome->committed_text), *metadata,
        group_member && group_member->glance() && commit::SameAppendBase(*group_member->glance(), *metadata));
  }
  CommitInfo info;
  info.attempts = outcome->attempts;
  if (outcome->by_group) {
    // Another writer's commit applied ours. Acknowledge only once the
    // directory entry of that version is durable too (its writer may not
    // have flushed it yet); its content was flushed before it was linked.
    if (durability == Durability::kFsync) {
      Status synced = table_->fs().SyncDir(format::MetadataDir(table_->location()));
      if (!synced.ok()) {
        return MakeError(ErrorKind::kAmbiguousCommit,
                         "the append was committed by another writer's group commit "
                         "but making it durable failed (" +
                             synced.message() + ")");
      }
    }
    impl_->written.clear();
    for (const auto& path : impl_->copied_sources) (void)table_->fs().DeleteFile(path);
    info.snapshot_id = outcome->snapshot_id;
    return info;
  }
  if (outcome->already_committed) {
    // Applied by an earlier try: our freshly written files are orphans.
    for (const auto& path : impl_->written) (void)table_->fs().DeleteFile(path);
    impl_->written.clear();
    info.already_committed = true;
    info.snapshot_id = outcome->snapshot_id;
    return info;
  }
  info.snapshot_id = outcome->snapshot_id;
  impl_->written.clear();
  // The rows of copied files are in the table now; the sources, inside the
  // table location but unreferenced, would only be orphans (and appending one
  // again would duplicate its rows).
  for (const auto& path : impl_->copied_sources) (void)table_->fs().DeleteFile(path);
  return info;
}

Status Transaction::Rollback() {
  for (const auto& path : impl_->written) (void)table_->fs().DeleteFile(path);
  impl_->written.clear();
  impl_->files.clear();
  impl_->deferred.reset();
  impl_->removed.clear();
  impl_->removed_paths.clear();
  impl_->origin.clear();
  active_ = false;
  return Status::OK();
}

}  // namespace datashard
