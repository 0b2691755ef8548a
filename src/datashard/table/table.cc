#include "datashard/table.h"

#include <mutex>
#include <set>

#include <arrow/compute/api.h>
#include <nlohmann/json.hpp>

#include "datashard/commit/commit_keys.h"
#include "datashard/commit/committer.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/commit/version_resolver.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/format/partition_spec.h"
#include "datashard/format/sort_order.h"
#include "datashard/format/table_metadata.h"
#include "datashard/io/commit_queue.h"
#include "datashard/scan/table_scan.h"
#include "datashard/schema_update.h"
#include "datashard/table/table_internal.h"
#include "datashard/table_properties.h"
#include "datashard/transaction.h"
#include "datashard/util/uuid.h"

namespace datashard {
namespace {

// Arrow >= 21 keeps most compute kernels in libarrow_compute, which C++
// programs must register once (pyarrow does it on import for Python users).
void InitializeCompute() {
  static const Status initialized = arrow::compute::Initialize();
  (void)initialized;
}

Status TableNotFound(const std::string& location) {
  return MakeError(ErrorKind::kTableNotFound,
                   "no table at " + location + " (no metadata/v<N>.metadata.json); create it with create_table");
}

}  // namespace

struct Table::Impl {
  Impl(std::string location, std::shared_ptr<FileSystem> fs)
      : location(std::move(location)), fs(std::move(fs)), queue(io::CommitQueueFor(this->location)) {}
  void ParseUnparsedLocked();

  // A version whose JSON text a commit read without parsing it (AdoptUnparsed).
  struct Unparsed {
    int64_t version = 0;
    std::string text;
    bool same_append_base = false;
  };

  const std::string location;
  const std::shared_ptr<FileSystem> fs;
  std::shared_ptr<io::CommitQueue> queue;  // nullptr: none on this host
  bool created = false;
  std::mutex mutex;  // guards the pinned state below
  int64_t version = 0;
  std::shared_ptr<const TableMetadata> metadata;
  std::optional<Unparsed> unparsed;  // newer than version when set
};

Table::Table(std::string location, std::shared_ptr<FileSystem> fs)
    : impl_(std::make_unique<Impl>(std::move(location), std::move(fs))) {}

Table::~Table() = default;

const std::string& Table::location() const { return impl_->location; }
bool Table::created() const { return impl_->created; }
FileSystem& Table::fs() { return *impl_->fs; }
std::shared_ptr<FileSystem> Table::shared_fs() { return impl_->fs; }

Result<std::shared_ptr<Table>> Table::Create(const std::string& path, CreateOptions options,
                                             std::shared_ptr<FileSystem> fs) {
  InitializeCompute();
  ARROW_ASSIGN_OR_RAISE(std::string location, format::NormalizeLocation(path));
  if (fs == nullptr) {
    ARROW_ASSIGN_OR_RAISE(fs, FileSystemForPath(location));
  }
  auto open_existing = [&]() -> Result<std::shared_ptr<Table>> {
    if (!options.exist_ok) {
      return MakeError(ErrorKind::kTableExists, "a table already exists at " + location);
    }
    ARROW_ASSIGN_OR_RAISE(auto table, Load(location, fs));
    if (!options.schema.fields.empty()) {
      // A table created without a schema takes the first one a creator gives.
      ARROW_RETURN_NOT_OK(SetInitialSchema(*table, options.schema).status());
      std::string difference = table->metadata()->CurrentSchema()->DescribeDifference(options.schema);
      if (!difference.empty()) {
        return MakeError(ErrorKind::kTableExists,
                         "a table already exists at " + location + " with a different schema: " + difference);
      }
    }
    return table;
  };
  ARROW_ASSIGN_OR_RAISE(int64_t existing, commit::FindLatestVersion(*fs, location, 0));
  if (existing > 0) return open_existing();

  ARROW_RETURN_NOT_OK(options.schema.Validate());
  if (options.schema.fields.empty() && !options.partition_spec.fields.empty()) {
    // No columns to check the spec against yet: it waits for the first
    // append's schema, which SetInitialSchema checks it against and applies.
    options.properties[TableProperties::kPendingPartitionSpec.key] =
        format::PartitionSpecToJson(options.partition_spec).dump();
    options.partition_spec = PartitionSpec{};
  }
  ARROW_RETURN_NOT_OK(options.partition_spec.Validate(options.schema));
  SortOrder sort_order;
  if (options.schema.fields.empty() && !options.sort_order.empty()) {
    options.properties[TableProperties::kPendingSortOrder.key] = format::SortTermsToJson(options.sort_order).dump();
  } else {
    ARROW_ASSIGN_OR_RAISE(sort_order, BindSortOrder(options.schema, options.sort_order));
  }
  if (auto version = options.properties.find(TableProperties::kFormatVersion.key);
      version != options.properties.end()) {
    ARROW_RETURN_NOT_OK(CheckPropertyValue(TableProperties::kFormatVersion, version->second));
  }
  TableMetadata metadata;
  metadata.table_uuid = NewUuid();
  metadata.location = location;
  metadata.last_updated_ms = commit::NowMs();
  metadata.last_column_id = options.schema.HighestFieldId();
  options.schema.schema_id = 0;
  metadata.schemas.push_back(options.schema);
  metadata.current_schema_id = 0;
  options.partition_spec.spec_id = 0;
  metadata.last_partition_id = options.partition_spec.LastFieldId();
  metadata.partition_specs.push_back(options.partition_spec);
  metadata = format::WithDefaultSortOrder(metadata, std::move(sort_order));
  for (const TableProperty* property : TableProperties::All()) {
    if (property->set_at_create) metadata.properties[property->key] = property->default_value;
  }
  for (const auto& [key, value] : options.properties) {
    if (key != TableProperties::kFormatVersion.key) metadata.properties[key] = value;  // reserved: never persisted
  }
  Status published = commit::PublishFirstVersion(*fs, metadata, Durability::kFsync);
  if (published.IsAlreadyExists()) return open_existing();  // lost a creation race
  ARROW_RETURN_NOT_OK(published);
  auto table = std::shared_ptr<Table>(new Table(location, fs));
  table->impl_->version = 1;
  table->impl_->created = true;
  table->impl_->metadata = std::make_shared<const TableMetadata>(std::move(metadata));
  return table;
}

Result<std::shared_ptr<Table>> Table::Load(const std::string& path, std::shared_ptr<FileSystem> fs) {
  InitializeCompute();
  ARROW_ASSIGN_OR_RAISE(std::string location, format::NormalizeLocation(path));
  if (fs == nullptr) {
    ARROW_ASSIGN_OR_RAISE(fs, FileSystemForPath(location));
  }
  ARROW_ASSIGN_OR_RAISE(int64_t latest, commit::FindLatestVersion(*fs, location, 0));
  if (latest == 0) return TableNotFound(location);
  ARROW_ASSIGN_OR_RAISE(auto loaded, commit::LoadVersion(*fs, location, latest));
  auto table = std::shared_ptr<Table>(new Table(location, fs));
  table->impl_->version = loaded.version;
  table->impl_->metadata = std::move(loaded.metadata);
  return table;
}

int64_t Table::version() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->ParseUnparsedLocked();
  return impl_->version;
}

std::shared_ptr<const TableMetadata> Table::metadata() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->ParseUnparsedLocked();
  return impl_->metadata;
}

void Table::Impl::ParseUnparsedLocked() {
  if (!unparsed) return;
  auto parsed = commit::VersionFromText(location, unparsed->version, unparsed->text);
  // A version that does not parse stays unpinned: the next Refresh() reads
  // the newest version again and reports what is wrong with it.
  if (parsed.ok() && parsed->version > version) {
    version = parsed->version;
    metadata = std::move(parsed->metadata);
  }
  unparsed.reset();
}

io::CommitQueue* TableInternal::Queue(const Table& table) { return table.impl_->queue.get(); }

void TableInternal::UseQueue(Table& table, std::shared_ptr<io::CommitQueue> queue) {
  table.impl_->queue = std::move(queue);
}

TableInternal::ParsedState TableInternal::Parsed(const Table& table) {
  Table::Impl& impl = *table.impl_;
  std::lock_guard<std::mutex> lock(impl.mutex);
  return ParsedState{impl.version, impl.metadata, impl.unparsed ? impl.unparsed->version : impl.version};
}

std::shared_ptr<const TableMetadata> TableInternal::AppendBase(const Table& table) {
  Table::Impl& impl = *table.impl_;
  std::lock_guard<std::mutex> lock(impl.mutex);
  if (impl.unparsed && !impl.unparsed->same_append_base) impl.ParseUnparsedLocked();
  return impl.metadata;
}

std::string Table::metadata_location() const { return format::MetadataFilePath(impl_->location, version()); }

void TableInternal::Adopt(Table& table, int64_t version, std::shared_ptr<const TableMetadata> metadata) {
  Table::Impl& impl = *table.impl_;
  std::lock_guard<std::mutex> lock(impl.mutex);
  if (version > impl.version) {
    impl.version = version;
    impl.metadata = std::move(metadata);
  }
  if (impl.unparsed && impl.unparsed->version <= impl.version) impl.unparsed.reset();
}

void TableInternal::AdoptUnparsed(Table& table, int64_t version, std::string text, const TableMetadata& compared_with,
                                  bool same_append_base) {
  Table::Impl& impl = *table.impl_;
  std::lock_guard<std::mutex> lock(impl.mutex);
  if (version <= impl.version || (impl.unparsed && version <= impl.unparsed->version)) return;
  // The verdict compared the version with what the commit started from; it
  // holds for metadata only if that is what metadata still is.
  impl.unparsed =
      Table::Impl::Unparsed{version, std::move(text), same_append_base && impl.metadata.get() == &compared_with};
}

Status Table::Refresh() {
  TableInternal::ParsedState state = TableInternal::Parsed(*this);
  const std::string& location = impl_->location;
  auto latest = commit::FindLatestVersion(*impl_->fs, location, state.newest_known);
  if (!latest.ok()) {
    if (IsNotFound(latest.status())) return TableNotFound(location);
    return latest.status();
  }
  if (*latest == 0) return TableNotFound(location);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (impl_->unparsed && impl_->unparsed->version == *latest) {
      impl_->ParseUnparsedLocked();  // the newest is the one we hold as text
      if (impl_->version == *latest) return Status::OK();
    }
    if (impl_->version >= *latest) return Status::OK();
  }
  auto loaded = commit::LoadVersion(*impl_->fs, location, *latest);
  if (!loaded.ok()) {
    if (IsNotFound(loaded.status())) return TableNotFound(location);
    return loaded.status();
  }
  TableInternal::Adopt(*this, loaded->version, loaded->metadata);
  return Status::OK();
}

namespace {

// One append in a commit of its own, whatever form the rows come in (a
// table, or a stream Transaction::Append reads batch by batch).
template <typename Rows>
Result<CommitInfo> AppendInOneCommit(Table& table, const Rows& data, const std::optional<std::string>& commit_key,
                                     std::optional<Durability> durability) {
  auto tx = TransactionInternal::StartingFrom(table.shared_from_this(), TableInternal::AppendBase(table));
  if (commit_key) tx->SetCommitKey(*commit_key);
  if (durability) tx->SetDurability(*durability);
  TransactionInternal::DeferSmallAppend(*tx);
  ARROW_RETURN_NOT_OK(tx->Append(data));
  return tx->Commit();
}

}  // namespace

Result<CommitInfo> Table::Append(const std::shared_ptr<arrow::Table>& data,
                                 const std::optional<std::string>& commit_key, std::optional<Durability> durability) {
  return AppendInOneCommit(*this, data, commit_key, durability);
}

Result<CommitInfo> Table::Append(const std::shared_ptr<arrow::RecordBatchReader>& data,
                                 const std::optional<std::string>& commit_key, std::optional<Durability> durability) {
  return AppendInOneCommit(*this, data, commit_key, durability);
}

std::unique_ptr<Transaction> Table::NewTransaction(Isolation isolation) {
  return std::make_unique<Transaction>(shared_from_this(), isolation);
}

Result<std::optional<int64_t>> Table::FindCommitKey(const std::string& commit_key) {
  return commit::FindCommitKey(*impl_->fs, *metadata(), commit_key);
}

Result<std::optional<Snapshot>> Table::FindSnapshot(int64_t snapshot_id) {
  auto current = metadata();
  if (const Snapshot* found = current->SnapshotById(snapshot_id)) return std::optional<Snapshot>(*found);
  // Older snapshots left the bounded window. Our ids name the version that
  // added them: one read (or, for one older than the last expiry, the
  // expiry's version, which lists what it retained).
  const int64_t added_in = commit::VersionOfSnapshotId(snapshot_id);
  if (added_in >= 1 && added_in <= version()) {
    const int64_t start = IntegerProperty(*current, TableProperties::kHistoryStartVersion);
    auto loaded = commit::LoadVersion(*impl_->fs, impl_->location, std::max(added_in, start));
    if (!loaded.ok() && !IsNotFound(loaded.status())) return loaded.status();
    if (loaded.ok()) {
      if (const Snapshot* found = loaded->metadata->SnapshotById(snapshot_id)) return std::optional<Snapshot>(*found);
    }
  }
  // Ids made by other engines: walk back through the metadata log.
  std::optional<Snapshot> found;
  ARROW_RETURN_NOT_OK(commit::WalkMetadataLog(*impl_->fs, *current, [&](const TableMetadata& older) {
    if (const Snapshot* s = older.SnapshotById(snapshot_id)) found = *s;
    return !found;
  }));
  return found;
}

namespace {

// The metadata that holds `snapshot_id` (default: the pinned current
// snapshot), and that snapshot in it.
Result<std::shared_ptr<const TableMetadata>> MetadataFor(Table& table, std::optional<int64_t> snapshot_id,
                                                         const Snapshot** snapshot) {
  auto current = table.metadata();
  if (!snapshot_id) {
    *snapshot = current->CurrentSnapshot();
    return current;
  }
  if ((*snapshot = current->SnapshotById(*snapshot_id)) != nullptr) return current;
  ARROW_ASSIGN_OR_RAISE(auto found, table.FindSnapshot(*snapshot_id));
  if (!found) return InvalidArgument("snapshot ", *snapshot_id, " is not in table ", table.location());
  // Found in an older metadata file only. Another engine's expiry (Spark's
  // expire_snapshots) drops snapshots from the current file and deletes their
  // manifest lists, but older files still name them: such a snapshot is gone.
  ARROW_ASSIGN_OR_RAISE(bool listed, table.fs().Exists(found->manifest_list));
  if (!listed) {
    return InvalidArgument("snapshot ", *snapshot_id, " is not in table ", table.location(),
                           " (it was expired: its manifest list is gone)");
  }
  // Keep the snapshot alive alongside a metadata copy that holds it.
  auto copy = std::make_shared<TableMetadata>(*current);
  copy->snapshots.push_back(*found);
  *snapshot = &copy->snapshots.back();
  return std::shared_ptr<const TableMetadata>(std::move(copy));
}

}  // namespace

Result<std::shared_ptr<arrow::RecordBatchReader>> Table::Scan(const ScanOptions& options) {
  const Snapshot* snapshot = nullptr;
  ARROW_ASSIGN_OR_RAISE(auto metadata, MetadataFor(*this, options.snapshot_id, &snapshot));
  return scan::ScanSnapshot(impl_->fs, metadata, snapshot, options);
}

Result<Schema> Table::ReadSchema(std::optional<int64_t> snapshot_id) {
  const Snapshot* snapshot = nullptr;
  ARROW_ASSIGN_OR_RAISE(auto metadata, MetadataFor(*this, snapshot_id, &snapshot));
  return scan::ReadSchema(*metadata, snapshot, snapshot_id.has_value());
}

Result<int64_t> Table::RowCount(std::optional<int64_t> snapshot_id) {
  const Snapshot* snapshot = nullptr;
  ARROW_ASSIGN_OR_RAISE(auto metadata, MetadataFor(*this, snapshot_id, &snapshot));
  if (snapshot == nullptr) return 0;
  ARROW_ASSIGN_OR_RAISE(auto manifests, format::ReadManifestList(*impl_->fs, *metadata, *snapshot));
  int64_t rows = 0;
  for (const auto& m : manifests) {
    if (m.content == format::ManifestContent::kData) {
      rows += m.added_rows_count + m.existing_rows_count;
    } else {
      // Another engine's merge-on-read deletes: the data files' counts
      // include deleted rows, so the metadata alone cannot answer (and
      // scans refuse the same way).
      return Status::NotImplemented("delete files are not supported yet (", m.manifest_path,
                                    "): cannot count the rows of a snapshot with deletes from another engine");
    }
  }
  return rows;
}

Result<std::vector<DataFileInfo>> Table::DataFiles(std::optional<int64_t> snapshot_id) {
  const Snapshot* snapshot = nullptr;
  ARROW_ASSIGN_OR_RAISE(auto metadata, MetadataFor(*this, snapshot_id, &snapshot));
  ARROW_ASSIGN_OR_RAISE(auto tasks, scan::PlanFiles(*impl_->fs, *metadata, snapshot, *metadata->CurrentSchema(), {}));
  std::vector<DataFileInfo> out;
  for (const auto& task : tasks) {
    out.push_back(DataFileInfo{task.file.file_path, task.file.record_count, task.file.file_size_in_bytes});
  }
  return out;
}

}  // namespace datashard
