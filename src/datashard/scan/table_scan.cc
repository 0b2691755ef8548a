#include "datashard/scan/table_scan.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/util/future.h>
#include <arrow/util/thread_pool.h>

#include "datashard/format/arrow_schema.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/format/single_value.h"
#include "datashard/scan/arrow_filter.h"
#include "datashard/scan/expression.h"
#include "datashard/scan/file_reader.h"

namespace datashard::scan {
namespace cp = arrow::compute;

namespace {

// Manifest-level statistics from the manifest list's partition summaries:
// for an identity partition field they bound the source column itself.
Result<bool> ManifestCannotMatch(const TableMetadata& metadata, const format::ManifestFile& manifest,
                                 const BoundExpression& filter) {
  const PartitionSpec* spec = metadata.SpecById(manifest.partition_spec_id);
  if (spec == nullptr || filter.IsTrue() || manifest.partitions.size() != spec->fields.size()) return false;
  return CannotMatch(
      [&](const NestedField& field) -> Result<ColumnStats> {
        ColumnStats stats;
        const bool floating = field.type.id == TypeId::kFloat || field.type.id == TypeId::kDouble;
        for (size_t i = 0; i < spec->fields.size(); ++i) {
          const auto& partition_field = spec->fields[i];
          if (partition_field.source_id != field.id || partition_field.transform != "identity") continue;
          const auto& summary = manifest.partitions[i];
          if (!summary.contains_null) stats.null_count = 0;
          if (summary.contains_nan.has_value() && !*summary.contains_nan) stats.nan_count = 0;
          if (summary.lower_bound && summary.upper_bound) {
            ARROW_ASSIGN_OR_RAISE(stats.lower, format::DeserializeValue(field.type, *summary.lower_bound));
            ARROW_ASSIGN_OR_RAISE(stats.upper, format::DeserializeValue(field.type, *summary.upper_bound));
          } else if (summary.contains_null && (!floating || stats.nan_count == 0)) {
            // Only nulls in this manifest for the column (bounds leave out
            // NaN too, so a floating column needs contains_nan = false).
            stats.value_count = 1;
            stats.null_count = 1;
          }
          break;
        }
        return stats;
      },
      filter);
}

Result<std::vector<FileScanTask>> PlanBoundFiles(FileSystem& fs, const TableMetadata& metadata,
                                                 const Snapshot* snapshot, const BoundExpression& filter,
                                                 ScanMetrics* metrics) {
  std::vector<FileScanTask> tasks;
  if (snapshot == nullptr) return tasks;
  ARROW_ASSIGN_OR_RAISE(auto manifests, format::ReadManifestList(fs, metadata, *snapshot));
  for (const auto& manifest : manifests) {
    if (manifest.content != format::ManifestContent::kData) {
      return Status::NotImplemented("delete manifests are not supported yet (", manifest.manifest_path, ")");
    }
    if (manifest.added_files_count + manifest.existing_files_count == 0) continue;
    if (metrics != nullptr) metrics->manifests_total++;
    ARROW_ASSIGN_OR_RAISE(bool skip_manifest, ManifestCannotMatch(metadata, manifest, filter));
    if (skip_manifest) {
      if (metrics != nullptr) metrics->manifests_skipped++;
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto entries, format::ReadManifestEntries(fs, metadata, manifest));
    for (auto& entry : entries) {
      if (entry.status == format::ManifestEntryStatus::kDeleted) continue;
      if (entry.data_file.content != format::DataFileContent::kData) {
        return Status::NotImplemented("delete files are not supported yet (", entry.data_file.file_path, ")");
      }
      ARROW_ASSIGN_OR_RAISE(bool skip, CannotMatch(entry.data_file, filter));
      if (metrics != nullptr) {
        metrics->files_total++;
        if (skip) metrics->files_skipped++;
      }
      if (skip) continue;
      tasks.push_back(FileScanTask{std::move(entry.data_file), entry.sequence_number.value_or(0),
                                   entry.file_sequence_number.value_or(0), entry.snapshot_id.value_or(0),
                                   manifest.manifest_path});
    }
  }
  // Oldest data first: scans return rows in commit order, which is what
  // users expect from head() and what the original package did.
  std::stable_sort(tasks.begin(), tasks.end(),
                   [](const FileScanTask& a, const FileScanTask& b) { return a.sequence_number < b.sequence_number; });
  return tasks;
}

}  // namespace

Result<std::vector<FileScanTask>> PlanFiles(FileSystem& fs, const TableMetadata& metadata, const Snapshot* snapshot,
                                            const Schema& schema, const std::vector<Predicate>& filter,
                                            ScanMetrics* metrics) {
  ARROW_ASSIGN_OR_RAISE(auto bound, BindFilter(schema, filter, Expression::True()));
  return PlanBoundFiles(fs, metadata, snapshot, bound, metrics);
}

Result<std::vector<FileScanTask>> PlanFilesMatching(FileSystem& fs, const TableMetadata& metadata,
                                                    const Snapshot* snapshot, const Schema& schema,
                                                    const Expression& filter, ScanMetrics* metrics) {
  ARROW_ASSIGN_OR_RAISE(auto bound, Bind(schema, filter));
  return PlanBoundFiles(fs, metadata, snapshot, bound, metrics);
}

namespace {

// Streams batches file by file. Up to `threads` files are opened ahead, each
// with its first batch decoded on a worker; the rest of a file is decoded
// batch by batch as it is consumed, so memory stays bounded by `threads`
// batches, however large the table or its files.
// The threads that open files ahead of the consumer. Not Arrow's I/O pool:
// the Parquet reader queues its reads to that pool and waits for them, so
// files opened on it could fill it with tasks waiting on tasks that never
// start (a deadlock, with as many files in flight as the pool has threads).
arrow::internal::ThreadPool* PrefetchPool() {
  static const std::shared_ptr<arrow::internal::ThreadPool> pool =
      arrow::internal::ThreadPool::MakeEternal(8).ValueOrDie();
  return pool.get();
}

class SnapshotReader final : public arrow::RecordBatchReader {
 public:
  SnapshotReader(std::shared_ptr<FileSystem> fs, std::vector<FileScanTask> tasks, std::vector<NestedField> read_fields,
                 std::shared_ptr<arrow::Schema> out_schema, BoundExpression filter, const ScanOptions& options)
      : metrics_(options.metrics),
        fs_(std::move(fs)),
        tasks_(std::move(tasks)),
        read_fields_(std::move(read_fields)),
        out_schema_(std::move(out_schema)),
        filter_(std::move(filter)),
        arrow_filter_(options.arrow_filter),
        threads_(std::max(1, options.threads)),
        batch_size_(std::max<int64_t>(1, options.batch_size)),
        remaining_(options.limit.value_or(-1)) {
    // A file of several row groups is read as several parts (about a batch
    // each), opened ahead in parallel like files: one large file no longer
    // decodes on the consumer's thread alone. Not with a limit: opening
    // parts ahead would decode rows nobody asked for.
    for (size_t i = 0; i < tasks_.size(); ++i) {
      const format::DataFile& file = tasks_[i].file;
      const int64_t row_groups = static_cast<int64_t>(file.split_offsets.size());
      if (threads_ < 2 || options.limit || row_groups < 2) {
        parts_.push_back(Part{i, {}});
        continue;
      }
      const int64_t rows_per_group = std::max<int64_t>(1, file.record_count / row_groups);
      const int64_t per_part = std::max<int64_t>(1, (batch_size_ + rows_per_group - 1) / rows_per_group);
      for (int64_t first = 0; first < row_groups; first += per_part) {
        RowGroupRange range;
        range.first = static_cast<int>(first);
        // The last part reads to the end, whatever the footer says the count is.
        if (first + per_part < row_groups) range.end = static_cast<int>(first + per_part);
        parts_.push_back(Part{i, range});
      }
    }
  }

  ~SnapshotReader() override {
    for (auto& f : inflight_) f.Wait();  // the tasks use this object
  }

  std::shared_ptr<arrow::Schema> schema() const override { return out_schema_; }

  Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    while (remaining_ != 0) {
      std::shared_ptr<arrow::RecordBatch> batch;
      if (pending_) {
        batch = std::move(pending_);
      } else if (current_) {
        ARROW_ASSIGN_OR_RAISE(batch, NextOf(*current_));
        if (batch == nullptr) current_.reset();
      }
      if (batch) {
        if (batch->num_rows() == 0) continue;
        if (remaining_ > 0 && batch->num_rows() > remaining_) batch = batch->Slice(0, remaining_);
        if (remaining_ > 0) remaining_ -= batch->num_rows();
        *out = std::move(batch);
        return Status::OK();
      }
      if (current_) continue;
      Refill();
      if (inflight_.empty()) return Status::OK();
      Result<OpenedFile> opened = inflight_.front().result();
      inflight_.pop_front();
      Refill();
      ARROW_RETURN_NOT_OK(opened.status());
      current_ = std::move(opened->reader);
      pending_ = std::move(opened->first);
      if (pending_ == nullptr) current_.reset();  // an empty file
    }
    return Status::OK();
  }

 private:
  struct OpenedFile {
    std::shared_ptr<arrow::RecordBatchReader> reader;
    std::shared_ptr<arrow::RecordBatch> first;  // nullptr: the file had no rows to read
  };

  void Refill() {
    while (inflight_.size() < static_cast<size_t>(threads_) && next_ < parts_.size()) {
      const Part part = parts_[next_++];
      const std::string path = tasks_[part.task].file.file_path;
      // On a pool of threads kept across files (with many small files a
      // thread started per file was a large part of the cost).
      auto submitted = PrefetchPool()->Submit([this, path, part]() -> Result<OpenedFile> {
        OpenedFile opened;
        ARROW_ASSIGN_OR_RAISE(opened.reader,
                              OpenDataFile(*fs_, path, read_fields_, filter_, metrics_.get(), batch_size_, part.range));
        ARROW_ASSIGN_OR_RAISE(opened.first, NextOf(*opened.reader));
        return opened;
      });
      inflight_.push_back(submitted.ok() ? *submitted : arrow::Future<OpenedFile>::MakeFinished(submitted.status()));
    }
  }

  // The next batch of a file with the exact row filter applied and the
  // projection taken; nullptr at the end of the file.
  Result<std::shared_ptr<arrow::RecordBatch>> NextOf(arrow::RecordBatchReader& reader) const {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (batch == nullptr) return batch;
    ARROW_ASSIGN_OR_RAISE(batch, FilterBatch(filter_, batch));
    if (arrow_filter_) {
      ARROW_ASSIGN_OR_RAISE(batch, FilterBatchByArrow(*arrow_filter_, batch));
    }
    arrow::ArrayVector columns;
    for (const auto& field : out_schema_->fields()) columns.push_back(batch->GetColumnByName(field->name()));
    return arrow::RecordBatch::Make(out_schema_, batch->num_rows(), std::move(columns));
  }

  struct Part {
    size_t task = 0;  // index into tasks_
    RowGroupRange range;
  };

  std::shared_ptr<ScanMetrics> metrics_;
  std::shared_ptr<FileSystem> fs_;
  std::vector<FileScanTask> tasks_;
  std::vector<Part> parts_;
  std::vector<NestedField> read_fields_;
  std::shared_ptr<arrow::Schema> out_schema_;
  BoundExpression filter_;
  std::optional<arrow::compute::Expression> arrow_filter_;
  int threads_;
  int64_t batch_size_;
  int64_t remaining_;
  size_t next_ = 0;
  std::deque<arrow::Future<OpenedFile>> inflight_;
  std::shared_ptr<arrow::RecordBatchReader> current_;
  std::shared_ptr<arrow::RecordBatch> pending_;
};

}  // namespace

namespace {

// The tasks of `wanted` files. A file pruned by the filter is simply absent;
// one that is not in the snapshot at all is an error, not an empty read.
Result<std::vector<FileScanTask>> KeepOnlyFiles(FileSystem& fs, const TableMetadata& metadata, const Snapshot* snapshot,
                                                const Schema& schema, std::vector<FileScanTask> tasks,
                                                const std::vector<std::string>& wanted) {
  std::map<std::string, size_t> want;  // path -> position in the order asked for
  for (const auto& path : wanted) want.emplace(path, want.size());
  std::vector<FileScanTask> kept;
  for (auto& task : tasks) {
    if (want.count(task.file.file_path) != 0) kept.push_back(std::move(task));
  }
  // Read in the order given (a shuffled epoch reads its files in its own order).
  std::stable_sort(kept.begin(), kept.end(), [&](const FileScanTask& a, const FileScanTask& b) {
    return want.at(a.file.file_path) < want.at(b.file.file_path);
  });
  if (kept.size() != want.size()) {
    ARROW_ASSIGN_OR_RAISE(auto all, PlanFiles(fs, metadata, snapshot, schema, {}, nullptr));
    std::set<std::string> present;
    for (const auto& task : all) present.insert(task.file.file_path);
    for (const auto& [path, position] : want) {
      if (present.count(path) == 0) {
        return InvalidArgument("data file ", path, " is not in snapshot ",
                               snapshot == nullptr ? std::string("(none)") : std::to_string(snapshot->snapshot_id));
      }
    }
  }
  return kept;
}

}  // namespace

const Schema& ReadSchema(const TableMetadata& metadata, const Snapshot* snapshot, bool time_travel) {
  // As Iceberg engines do for snapshot ids, timestamps and tags.
  const Schema* schema = metadata.CurrentSchema();
  if (!time_travel || snapshot == nullptr || !snapshot->schema_id) return *schema;
  bool branch_head = metadata.current_snapshot_id == snapshot->snapshot_id;
  for (const auto& [name, ref] : metadata.refs) {
    branch_head = branch_head || (ref.type == "branch" && ref.snapshot_id == snapshot->snapshot_id);
  }
  const Schema* then = metadata.SchemaById(*snapshot->schema_id);
  return then != nullptr && !branch_head ? *then : *schema;
}

Result<std::shared_ptr<arrow::RecordBatchReader>> ScanSnapshot(std::shared_ptr<FileSystem> fs,
                                                               std::shared_ptr<const TableMetadata> metadata,
                                                               const Snapshot* snapshot, const ScanOptions& options) {
  const Schema* schema = &ReadSchema(*metadata, snapshot, options.snapshot_id.has_value());
  std::vector<NestedField> projected;
  if (options.columns.empty()) {
    projected = schema->fields;
  } else {
    for (const auto& name : options.columns) {
      const NestedField* field = schema->FindField(name);
      if (field == nullptr) return SchemaError("unknown column \"", name, "\" in the column list");
      projected.push_back(*field);
    }
  }
  Expression where = options.where;
  std::vector<const NestedField*> filter_fields;
  if (options.arrow_filter) {  // a SchemaError now, not in the middle of the read
    ARROW_RETURN_NOT_OK(CheckArrowFilter(*options.arrow_filter, *schema));
    where = Expression::And({std::move(where), ImpliedFilter(*options.arrow_filter, *schema)});
    ARROW_ASSIGN_OR_RAISE(filter_fields, ArrowFilterFields(*options.arrow_filter, *schema));
  }
  ARROW_ASSIGN_OR_RAISE(auto filter, BindFilter(*schema, options.filter, where));
  // Read the projected columns plus any the filters need.
  for (const NestedField* field : filter.Fields()) filter_fields.push_back(field);
  std::vector<NestedField> read_fields = projected;
  std::set<int32_t> have;
  for (const auto& f : read_fields) have.insert(f.id);
  for (const NestedField* field : filter_fields) {
    if (have.insert(field->id).second) read_fields.push_back(*field);
  }
  arrow::FieldVector out_fields;
  for (const auto& f : projected) out_fields.push_back(arrow::field(f.name, format::ToArrowType(f.type), !f.required));
  ARROW_ASSIGN_OR_RAISE(auto tasks, PlanBoundFiles(*fs, *metadata, snapshot, filter, options.metrics.get()));
  if (!options.files.empty()) {
    ARROW_ASSIGN_OR_RAISE(tasks, KeepOnlyFiles(*fs, *metadata, snapshot, *schema, std::move(tasks), options.files));
  }
  return std::make_shared<SnapshotReader>(std::move(fs), std::move(tasks), std::move(read_fields),
                                          arrow::schema(out_fields), std::move(filter), options);
}

}  // namespace datashard::scan
