// Compaction: RewriteDataFiles bins small files per partition by the size
// their output will have and rewrites each bin as one file, or rewrites each
// partition as one sorted or z-ordered run cut into files of the target size;
// RewriteManifests merges all manifests. Both are
// ordinary commits (operation "replace"): a concurrent append lands on top,
// and a concurrent delete of a file being compacted is a conflict.
#include <algorithm>
#include <map>
#include <set>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "datashard/commit/committer.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/format/arrow_schema.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/format/single_value.h"
#include "datashard/maintenance.h"
#include "datashard/scan/file_reader.h"
#include "datashard/scan/table_scan.h"
#include "datashard/table/data_writer.h"
#include "datashard/table/sorting.h"
#include "datashard/table/table_internal.h"
#include "datashard/transaction.h"

namespace datashard {

namespace {

// Plans and rewrites the small files (below the target size) of one
// partition.
//
// Bins are sized by what the output will really take, not by the inputs'
// sizes on disk: small appends are written without a codec and each file
// carries its own footer, so files whose sizes add up to the target shrink to
// a fraction of it when rewritten together, and binning by the on-disk sum
// left outputs so far under the target that the next compaction rewrote them
// again (30 -> 15 -> 7 files). Here the files are taken in ascending size and
// each bin is the longest run that still fits: a run whose on-disk sum fits
// certainly does (rewriting never grows rows), and past that the run is
// encoded exactly as the output file will be (table::EncodedFileSize) to
// see whether it fits, the end found by bisection guided by the compression
// ratio measured so far. A bin ends only where adding the next file was
// measured not to fit; once two single files cannot share one file, no
// later (larger) pair can, and the partition is done. So a second pass finds
// nothing: its two smallest files were measured not to fit together, and it
// costs reading those two files per partition.
class PartitionRewriter {
 public:
  PartitionRewriter(Table& table, const Schema& schema, int64_t target, std::vector<const scan::FileScanTask*> files)
      : table_(table), schema_(schema), target_(target), files_(std::move(files)) {
    std::sort(files_.begin(), files_.end(), [](const scan::FileScanTask* a, const scan::FileScanTask* b) {
      if (a->file.file_size_in_bytes != b->file.file_size_in_bytes) {
        return a->file.file_size_in_bytes < b->file.file_size_in_bytes;
      }
      if (a->sequence_number != b->sequence_number) return a->sequence_number < b->sequence_number;
      return a->file.file_path < b->file.file_path;
    });
    disk_prefix_.push_back(0);
    for (const auto* task : files_) disk_prefix_.push_back(disk_prefix_.back() + task->file.file_size_in_bytes);
    rows_.resize(files_.size());
  }

  Status Run(Transaction& tx, RewriteResult* result) {
    size_t first = 0;
    while (first + 1 < files_.size()) {
      ARROW_ASSIGN_OR_RAISE(size_t end, BinEnd(first));
      if (end - first < 2) break;  // two single files that cannot share one: nor can any larger pair
      ARROW_ASSIGN_OR_RAISE(auto combined, Rows(first, end));
      std::vector<std::string> paths;
      for (size_t i = first; i < end; ++i) paths.push_back(files_[i]->file.file_path);
      ARROW_RETURN_NOT_OK(tx.DeleteFiles(paths));
      ARROW_RETURN_NOT_OK(tx.Append(combined));
      result->rewritten_files += static_cast<int64_t>(end - first);
      result->added_files += 1;
      for (size_t i = first; i < end; ++i) rows_[i].reset();
      first = end;
    }
    return Status::OK();
  }

 private:
  // The rows of files [first, end), read once each, in commit order.
  Result<std::shared_ptr<arrow::Table>> Rows(size_t first, size_t end) {
    std::vector<size_t> order;
    for (size_t i = first; i < end; ++i) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return files_[a]->sequence_number < files_[b]->sequence_number; });
    std::vector<std::shared_ptr<arrow::Table>> parts;
    for (size_t i : order) {
      if (!rows_[i]) {
        ARROW_ASSIGN_OR_RAISE(rows_[i], scan::ReadDataFile(table_.fs(), files_[i]->file.file_path, schema_.fields));
      }
      parts.push_back(rows_[i]);
    }
    ARROW_ASSIGN_OR_RAISE(auto combined, arrow::ConcatenateTables(parts));
    // Measured as the transaction will write it.
    return format::ConformToSchema(combined, schema_);
  }

  int64_t Disk(size_t first, size_t end) const { return disk_prefix_[end] - disk_prefix_[first]; }

  // Whether files [first, end) fit in one file of the target size.
  Result<bool> Fits(size_t first, size_t end) {
    if (Disk(first, end) <= target_) return true;
    ARROW_ASSIGN_OR_RAISE(auto rows, Rows(first, end));
    ARROW_ASSIGN_OR_RAISE(int64_t size, table::EncodedFileSize(*table_.metadata(), *rows));
    ratio_ = static_cast<double>(size) / static_cast<double>(std::max<int64_t>(1, Disk(first, end)));
    return size <= target_;
  }

  // The end of the bin that starts at `first`: the largest `end` such that
  // files [first, end) fit, found knowing that [first, end + 1) does not (or
  // that `end` is the last file).
  Result<size_t> BinEnd(size_t first) {
    const size_t n = files_.size();
    size_t fits = first + 1;  // a single file: never rewritten alone
    while (fits < n && Disk(first, fits + 1) <= target_) ++fits;
    size_t fails = n + 1;  // none known
    ratio_ = 0;
    while (fails - fits > 1) {
      size_t guess = fits + 1;
      if (fails <= n) {
        guess = fits + (fails - fits) / 2;
      } else if (ratio_ > 0) {
        // The longest run the compression measured so far would fit.
        while (guess < n && ratio_ * static_cast<double>(Disk(first, guess + 1)) <= static_cast<double>(target_)) {
          ++guess;
        }
      }
      ARROW_ASSIGN_OR_RAISE(bool ok, Fits(first, guess));
      if (ok) {
        fits = guess;
        if (fits == n) break;
      } else {
        fails = guess;
      }
    }
    return fits;
  }

  Table& table_;
  const Schema& schema_;
  const int64_t target_;
  std::vector<const scan::FileScanTask*> files_;
  std::vector<int64_t> disk_prefix_;
  std::vector<std::shared_ptr<arrow::Table>> rows_;
  double ratio_ = 0;  // output bytes per on-disk input byte, last measured
};

// The rows an ordered rewrite (kSort, kZOrder) puts in each file: the
// target size over the encoded bytes per row of a sample of the ordered run,
// encoded as the output files will be.
Result<int64_t> RowsPerFile(const TableMetadata& metadata, const arrow::Table& ordered, int64_t target) {
  constexpr int64_t kSampleRows = 64 * 1024;
  const int64_t sample_rows = std::min(ordered.num_rows(), kSampleRows);
  if (sample_rows == 0) return int64_t{1};
  ARROW_ASSIGN_OR_RAISE(int64_t bytes, table::EncodedFileSize(metadata, *ordered.Slice(0, sample_rows)));
  const double per_row = static_cast<double>(bytes) / static_cast<double>(sample_rows);
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(target) / std::max(per_row, 1e-9)));
}

// Whether `value` sorts strictly before `other` (deserialized bounds).
Result<bool> Before(const arrow::Scalar& value, const arrow::Scalar& other) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum less, arrow::compute::CallFunction("less", {arrow::Datum(value.GetSharedPtr()),
                                                                                 arrow::Datum(other.GetSharedPtr())}));
  const auto& result = static_cast<const arrow::BooleanScalar&>(*less.scalar());
  return result.is_valid && result.value;
}

// Whether `files` are already one run sorted by `order` (recorded as
// `order_id`) that a rewrite would only cut again: each sorted by it, no
// nulls in the leading identity column, their ranges of it disjoint and in
// order, and at most one file under half the target size. So compaction by
// a sort order, run twice, rewrites nothing the second time.
Result<bool> AlreadyOneRun(const Schema& schema, const SortOrder& order, std::optional<int32_t> order_id,
                           const std::vector<const scan::FileScanTask*>& files, int64_t target) {
  if (!order_id || order.fields.empty()) return false;
  int64_t small = 0;
  for (const auto* task : files) {
    if (task->file.sort_order_id != order_id) return false;
    small += task->file.file_size_in_bytes < target / 2;
  }
  if (files.size() == 1) return true;
  if (small > 1) return false;
  const SortField& lead = order.fields.front();
  const NestedField* field = schema.FindField(lead.source_id);
  if (lead.transform != "identity" || field == nullptr) return false;
  struct Range {
    std::shared_ptr<arrow::Scalar> lower, upper;
  };
  std::vector<Range> ranges;
  for (const auto* task : files) {
    const auto& f = task->file;
    auto nulls = f.null_value_counts.find(field->id);
    auto lower = f.lower_bounds.find(field->id);
    auto upper = f.upper_bounds.find(field->id);
    if (nulls == f.null_value_counts.end() || nulls->second != 0 || lower == f.lower_bounds.end() ||
        upper == f.upper_bounds.end()) {
      return false;
    }
    Range range;
    ARROW_ASSIGN_OR_RAISE(range.lower, format::DeserializeValue(field->type, lower->second));
    ARROW_ASSIGN_OR_RAISE(range.upper, format::DeserializeValue(field->type, upper->second));
    ranges.push_back(std::move(range));
  }
  // Taken by their lower bounds, each range must end before the next begins
  // (then the files are one run, whichever the order's direction).
  std::vector<size_t> order_of(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) order_of[i] = i;
  Status failed;
  std::sort(order_of.begin(), order_of.end(), [&](size_t a, size_t b) {
    auto before = Before(*ranges[a].lower, *ranges[b].lower);
    if (!before.ok()) failed = before.status();
    return before.ok() && *before;
  });
  ARROW_RETURN_NOT_OK(failed);
  for (size_t i = 1; i < order_of.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(bool disjoint, Before(*ranges[order_of[i - 1]].upper, *ranges[order_of[i]].lower));
    if (!disjoint) return false;
  }
  return true;
}

// One partition's files rewritten as one ordered run (kSort, kZOrder).
Status RewriteOrdered(Table& table, const Schema& schema, const RewriteOptions& options, const SortOrder* order,
                      std::optional<int32_t> order_id, const std::vector<const scan::FileScanTask*>& files,
                      Transaction& tx, RewriteResult* result) {
  if (files.empty()) return Status::OK();
  if (order != nullptr) {
    ARROW_ASSIGN_OR_RAISE(bool done, AlreadyOneRun(schema, *order, order_id, files, options.target_file_size));
    if (done) return Status::OK();
  }
  std::vector<const scan::FileScanTask*> in_commit_order = files;
  std::stable_sort(
      in_commit_order.begin(), in_commit_order.end(),
      [](const scan::FileScanTask* a, const scan::FileScanTask* b) { return a->sequence_number < b->sequence_number; });
  std::vector<std::shared_ptr<arrow::Table>> parts;
  std::vector<std::string> paths;
  for (const auto* task : in_commit_order) {
    ARROW_ASSIGN_OR_RAISE(auto rows, scan::ReadDataFile(table.fs(), task->file.file_path, schema.fields));
    parts.push_back(std::move(rows));
    paths.push_back(task->file.file_path);
  }
  ARROW_ASSIGN_OR_RAISE(auto combined, arrow::ConcatenateTables(parts));
  ARROW_ASSIGN_OR_RAISE(combined, format::ConformToSchema(combined, schema));
  std::shared_ptr<arrow::Table> ordered;
  if (order != nullptr) {
    ARROW_ASSIGN_OR_RAISE(ordered, table::SortForOrder(schema, *order, *combined));
  } else {
    ARROW_ASSIGN_OR_RAISE(ordered, table::ZOrderRows(schema, options.zorder_columns, *combined));
  }
  ARROW_ASSIGN_OR_RAISE(int64_t rows_per_file, RowsPerFile(*table.metadata(), *ordered, options.target_file_size));
  ARROW_RETURN_NOT_OK(tx.DeleteFiles(paths));
  for (int64_t start = 0; start < ordered->num_rows(); start += rows_per_file) {
    ARROW_RETURN_NOT_OK(tx.Append(ordered->Slice(start, rows_per_file)));
    result->added_files += 1;
  }
  result->rewritten_files += static_cast<int64_t>(paths.size());
  return Status::OK();
}

}  // namespace

Result<RewriteResult> RewriteDataFiles(Table& table, int64_t target_file_size) {
  RewriteOptions options;
  options.target_file_size = target_file_size;
  return RewriteDataFiles(table, options);
}

Result<RewriteResult> RewriteDataFiles(Table& table, const RewriteOptions& options) {
  const int64_t target_file_size = options.target_file_size;
  if (target_file_size <= 0) return InvalidArgument("target_file_size must be positive, got ", target_file_size);
  using Strategy = RewriteOptions::Strategy;
  ARROW_RETURN_NOT_OK(table.Refresh());
  auto metadata = table.metadata();
  const Schema& schema = *metadata->CurrentSchema();
  // The order of a sorting rewrite, checked before anything is read, and the
  // id its files record: that of the table's order with the same fields.
  std::optional<SortOrder> order;
  std::optional<int32_t> order_id;
  if (options.strategy == Strategy::kSort) {
    if (options.sort.empty()) {
      const SortOrder* table_order = metadata->DefaultSortOrder();
      if (table_order == nullptr || table_order->unsorted()) {
        return InvalidArgument(
            "the table has no sort order to compact by: give one, or set it with replace_sort_order");
      }
      ARROW_RETURN_NOT_OK(table_order->Validate(schema));
      order = *table_order;
    } else {
      ARROW_ASSIGN_OR_RAISE(order, BindSortOrder(schema, options.sort));
    }
    for (const auto& listed : metadata->sort_orders) {
      if (!listed.opaque && !listed.unsorted() && listed.fields == order->fields) order_id = listed.order_id;
    }
  } else if (options.strategy == Strategy::kZOrder) {
    if (options.zorder_columns.size() < 2) {
      return InvalidArgument("a z-order needs two or more columns, got ", options.zorder_columns.size(),
                             " (sort by one column instead)");
    }
    for (const auto& name : options.zorder_columns) {
      if (schema.FindField(name) == nullptr) return SchemaError("cannot z-order by \"", name, "\": no such column");
      if (std::count(options.zorder_columns.begin(), options.zorder_columns.end(), name) > 1) {
        return InvalidArgument("z-order names \"", name, "\" twice");
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto tasks, scan::PlanFiles(table.fs(), *metadata, metadata->CurrentSnapshot(), schema, {}));
  // Files of one partition (same spec values) can be combined.
  std::map<std::vector<std::optional<std::string>>, std::vector<const scan::FileScanTask*>> partitions;
  for (const auto& task : tasks) {
    if (options.strategy != Strategy::kBinPack || task.file.file_size_in_bytes < target_file_size) {
      partitions[task.file.partition].push_back(&task);
    }
  }
  RewriteResult result;
  auto tx = std::make_unique<Transaction>(table.shared_from_this());
  TransactionInternal::MarkAsRewrite(*tx);
  if (options.strategy != Strategy::kBinPack) TransactionInternal::KeepRowOrder(*tx, order_id);
  for (auto& [partition, files] : partitions) {
    if (options.strategy != Strategy::kBinPack) {
      ARROW_RETURN_NOT_OK(
          RewriteOrdered(table, schema, options, order ? &*order : nullptr, order_id, files, *tx, &result));
      continue;
    }
    PartitionRewriter rewriter(table, schema, target_file_size, std::move(files));
    ARROW_RETURN_NOT_OK(rewriter.Run(*tx, &result));
  }
  if (result.rewritten_files == 0) {
    ARROW_RETURN_NOT_OK(tx->Rollback());
    return result;
  }
  ARROW_ASSIGN_OR_RAISE(auto info, tx->Commit());
  result.snapshot_id = info.snapshot_id;
  return result;
}

Result<RewriteResult> RewriteManifests(Table& table) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  auto metadata = table.metadata();
  RewriteResult result;
  if (metadata->CurrentSnapshot() == nullptr) return result;
  // Already one data manifest per partition spec, none carrying removed
  // entries: nothing to merge, no commit.
  ARROW_ASSIGN_OR_RAISE(auto before, format::ReadManifestList(table.fs(), *metadata, *metadata->CurrentSnapshot()));
  std::map<int32_t, int64_t> per_spec;
  bool has_deleted_entries = false;
  for (const auto& m : before) {
    if (m.content != format::ManifestContent::kData) continue;
    per_spec[m.partition_spec_id] += 1;
    has_deleted_entries = has_deleted_entries || m.deleted_files_count > 0;
  }
  const bool merged_already =
      std::all_of(per_spec.begin(), per_spec.end(), [](const auto& s) { return s.second <= 1; });
  if (merged_already && !has_deleted_entries) return result;
  commit::PendingSnapshot pending;
  pending.operation = "replace";
  pending.merge_all_manifests = true;
  ARROW_ASSIGN_OR_RAISE(pending.durability, commit::DurabilityOf(*metadata));
  pending.base_snapshot_id = metadata->current_snapshot_id;
  commit::CommitOptions options;
  options.durability = pending.durability;
  options.queue = TableInternal::Queue(table);
  commit::VersionedMetadata start{table.version(), metadata};
  ARROW_ASSIGN_OR_RAISE(auto outcome, commit::CommitWithRetry(
                                          table.fs(), table.location(), start,
                                          [&](const commit::VersionedMetadata& latest, int attempt) {
                                            return commit::BuildSnapshot(table.fs(), latest, pending, attempt);
                                          },
                                          options));
  TableInternal::Adopt(table, outcome.committed.version, outcome.committed.metadata);
  result.snapshot_id = outcome.snapshot_id;
  // Counted from the lists themselves; a count the table can no longer
  // report (the list unreadable now) does not undo the commit.
  const Snapshot* committed = outcome.committed.metadata->SnapshotById(outcome.snapshot_id.value_or(0));
  if (committed != nullptr) {
    auto after = format::ReadManifestList(table.fs(), *outcome.committed.metadata, *committed);
    if (after.ok()) {
      // Manifests of `from` that `to` no longer lists.
      auto missing = [](const std::vector<format::ManifestFile>& from, const std::vector<format::ManifestFile>& to) {
        std::set<std::string> present;
        for (const auto& m : to) present.insert(m.manifest_path);
        return static_cast<int64_t>(std::count_if(from.begin(), from.end(), [&](const format::ManifestFile& m) {
          return present.count(m.manifest_path) == 0;
        }));
      };
      result.rewritten_manifests = missing(before, *after);
      result.added_manifests = missing(*after, before);
    }
  }
  return result;
}

}  // namespace datashard
