#include "datashard/transaction.h"

#include "datashard/commit/committer.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/format/arrow_schema.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest.h"
#include "datashard/format/partition_summary.h"
#include "datashard/table/data_writer.h"
#include "datashard/util/uuid.h"

namespace datashard {

inline constexpr char kDurabilityProperty[] = "datashard.commit.durability";

struct Transaction::Impl {
  int64_t snapshot_id = NewSnapshotId();
  std::vector<format::DataFile> files;
  std::vector<std::string> written;  // every file this transaction created
};

namespace {

Result<Durability> DurabilityOf(const TableMetadata& metadata) {
  const std::string mode = metadata.Property(kDurabilityProperty, "fsync");
  if (mode == "fsync") return Durability::kFsync;
  if (mode == "process") return Durability::kProcess;
  return InvalidArgument("table property ", kDurabilityProperty, " must be \"fsync\" or \"process\", not \"", mode,
                         "\"");
}

}  // namespace

Transaction::Transaction(std::shared_ptr<Table> table) : table_(std::move(table)), impl_(std::make_unique<Impl>()) {}

Transaction::~Transaction() {
  if (active_) (void)Rollback();
}

Status Transaction::Append(const std::shared_ptr<arrow::Table>& data) {
  if (!active_) return InvalidArgument("the transaction is no longer active (already committed or rolled back)");
  auto metadata = table_->metadata();
  const Schema& schema = *metadata->CurrentSchema();
  ARROW_ASSIGN_OR_RAISE(auto conformed, format::ConformToSchema(data, schema));
  if (conformed->num_rows() == 0) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(Durability durability, DurabilityOf(*metadata));
  ARROW_RETURN_NOT_OK(table_->fs().CreateDir(format::DataDir(table_->location())));
  // Written unflushed; Commit() flushes every file of the transaction at once.
  (void)durability;
  auto files = table::WriteDataFiles(table_->fs(), *metadata, schema, *metadata->DefaultSpec(), *conformed,
                                     Durability::kProcess);
  if (!files.ok()) return files.status();
  for (auto& file : *files) {
    impl_->written.push_back(file.file_path);
    impl_->files.push_back(std::move(file));
  }
  return Status::OK();
}

Result<CommitInfo> Transaction::Commit() {
  if (!active_) return InvalidArgument("the transaction is no longer active (already committed or rolled back)");
  if (impl_->files.empty()) {
    active_ = false;
    return CommitInfo{};
  }
  auto metadata = table_->metadata();
  ARROW_ASSIGN_OR_RAISE(Durability durability, DurabilityOf(*metadata));

  // The manifest does not depend on the version it lands in (snapshot id is
  // fixed, sequence numbers are inherited), so it is written once, here,
  // outside the race window, and reused by every attempt.
  commit::PendingSnapshot pending;
  pending.snapshot_id = impl_->snapshot_id;
  pending.commit_key = commit_key_;
  pending.durability = durability;
  std::vector<format::ManifestEntry> entries;
  format::ManifestFile manifest;
  manifest.partition_spec_id = metadata->default_spec_id;
  format::PartitionSummaryBuilder summaries(*metadata->CurrentSchema(), *metadata->DefaultSpec());
  for (const auto& file : impl_->files) {
    ARROW_RETURN_NOT_OK(summaries.Add(file));
    format::ManifestEntry entry;
    entry.status = format::ManifestEntryStatus::kAdded;
    entry.snapshot_id = impl_->snapshot_id;
    entry.data_file = file;
    entries.push_back(std::move(entry));
    manifest.added_files_count += 1;
    manifest.added_rows_count += file.record_count;
    pending.added_files += 1;
    pending.added_records += file.record_count;
    pending.added_files_size += file.file_size_in_bytes;
  }
  manifest.partitions = summaries.Finish();
  ARROW_ASSIGN_OR_RAISE(std::string bytes, format::EncodeManifest(*metadata->CurrentSchema(), *metadata->DefaultSpec(),
                                                                  format::ManifestContent::kData, entries));
  manifest.manifest_path = format::NewManifestPath(table_->location());
  manifest.manifest_length = static_cast<int64_t>(bytes.size());
  ARROW_RETURN_NOT_OK(table_->fs().WriteNewFile(manifest.manifest_path, bytes, Durability::kProcess));
  impl_->written.push_back(manifest.manifest_path);
  // Everything the metadata will reference must be durable before it is
  // published: one concurrent flush of all data files and the manifest.
  if (durability == Durability::kFsync) ARROW_RETURN_NOT_OK(table_->fs().Sync(impl_->written));
  pending.new_manifests.push_back(manifest);

  commit::CommitOptions options;
  options.durability = durability;
  commit::VersionedMetadata base{table_->version(), metadata};
  auto outcome = commit::CommitWithRetry(
      table_->fs(), table_->location(), base,
      [&](const commit::VersionedMetadata& latest, int attempt) {
        return commit::BuildSnapshot(table_->fs(), latest, pending, attempt);
      },
      options);
  if (!outcome.ok()) {
    // After an ambiguous outcome the files may be part of the table: keep them.
    if (!IsKind(outcome.status(), ErrorKind::kAmbiguousCommit)) (void)Rollback();
    active_ = false;
    return outcome.status();
  }
  active_ = false;
  {
    std::lock_guard<std::mutex> lock(table_->mutex_);
    if (outcome->committed.version > table_->version_) {
      table_->version_ = outcome->committed.version;
      table_->metadata_ = outcome->committed.metadata;
    }
  }
  CommitInfo info;
  info.attempts = outcome->attempts;
  if (outcome->already_committed) {
    // Applied by an earlier try: our freshly written files are orphans.
    for (const auto& path : impl_->written) (void)table_->fs().DeleteFile(path);
    info.already_committed = true;
    for (const auto& snapshot : outcome->committed.metadata->snapshots) {
      auto it = snapshot.summary.find(commit::kCommitKeySummary);
      if (it != snapshot.summary.end() && commit_key_ && it->second == *commit_key_) info.snapshot_id = snapshot.snapshot_id;
    }
    return info;
  }
  info.snapshot_id = impl_->snapshot_id;
  impl_->written.clear();
  return info;
}

Status Transaction::Rollback() {
  for (const auto& path : impl_->written) (void)table_->fs().DeleteFile(path);
  impl_->written.clear();
  impl_->files.clear();
  active_ = false;
  return Status::OK();
}

}  // namespace datashard
