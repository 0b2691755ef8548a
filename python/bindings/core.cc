// datashard._core: the C++ engine as a Python extension (nanobind).
//
// Only argument conversion lives here. Arrow data crosses the boundary through
// the Arrow C Data Interface (PyCapsule protocol), so no libarrow_python is
// linked and any producer (pyarrow, polars, DuckDB) works. Engine errors map
// 1:1 to the exception classes in datashard/errors.py. The GIL is released
// around commits and reads.
#include <nanobind/nanobind.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <arrow/api.h>
#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>
#include <arrow/table.h>

#include "datashard/changes.h"
#include "datashard/data_file_writer.h"
#include "datashard/files_table.h"
#include "datashard/maintenance.h"
#include "datashard/schema_update.h"
#include "datashard/table.h"
#include "datashard/table_properties.h"
#include "datashard/transaction.h"
#include "datashard/transforms.h"
#include "rows.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace datashard::python {
namespace {

[[noreturn]] void Raise(const Status& status) {
  const char* name = status.IsNotImplemented() ? nullptr : ErrorKindName(KindOf(status));
  nb::object cls;
  if (name == nullptr) {
    cls = nb::borrow(PyExc_NotImplementedError);
  } else {
    cls = nb::module_::import_("datashard.errors").attr(name);
  }
  PyErr_SetString(cls.ptr(), status.message().c_str());
  throw nb::python_error();
}

void Check(const Status& status) {
  if (!status.ok()) Raise(status);
}

// Runs engine work with the GIL released and raises (with the GIL held again)
// if it failed: raising a Python exception without the GIL would crash.
template <typename Fn>
void CheckWithoutGil(Fn&& fn) {
  Status status;
  {
    nb::gil_scoped_release release;
    status = fn();
  }
  Check(status);
}

template <typename T>
T Unwrap(Result<T> result) {
  if (!result.ok()) Raise(result.status());
  return std::move(result).ValueUnsafe();
}

void* CapsulePointer(const nb::object& capsule, const char* name) {
  void* pointer = PyCapsule_GetPointer(capsule.ptr(), name);
  if (pointer == nullptr) throw nb::python_error();
  return pointer;
}

void ReleaseStream(void* pointer) noexcept {
  auto* stream = static_cast<ArrowArrayStream*>(pointer);
  if (stream->release != nullptr) stream->release(stream);
  delete stream;
}

void ReleaseSchema(void* pointer) noexcept {
  auto* schema = static_cast<ArrowSchema*>(pointer);
  if (schema->release != nullptr) schema->release(schema);
  delete schema;
}

void ReleaseArray(void* pointer) noexcept {
  auto* array = static_cast<ArrowArray*>(pointer);
  if (array->release != nullptr) array->release(array);
  delete array;
}

// Rows converted by RowsToBatch: Arrow data for the engine and, through the
// PyCapsule interface, for anything else (pa.table(batch)).
class CoreBatch {
 public:
  explicit CoreBatch(std::shared_ptr<arrow::RecordBatch> batch) : batch_(std::move(batch)) {}
  const std::shared_ptr<arrow::RecordBatch>& batch() const { return batch_; }
  int64_t num_rows() const { return batch_->num_rows(); }
  nb::tuple ExportArray(const nb::object& /*requested_schema*/) const {
    auto schema = std::make_unique<ArrowSchema>();
    auto array = std::make_unique<ArrowArray>();
    Status exported = arrow::ExportRecordBatch(*batch_, array.get(), schema.get());
    if (!exported.ok()) Raise(exported);
    nb::capsule schema_capsule(schema.release(), "arrow_schema", &ReleaseSchema);
    nb::capsule array_capsule(array.release(), "arrow_array", &ReleaseArray);
    return nb::make_tuple(schema_capsule, array_capsule);
  }

 private:
  std::shared_ptr<arrow::RecordBatch> batch_;
};

// A converted batch for Python, or None where the converter left the rows to
// the general path.
nb::object BatchOrNone(std::shared_ptr<arrow::RecordBatch> batch) {
  if (batch == nullptr) return nb::none();
  return nb::cast(new CoreBatch(std::move(batch)), nb::rv_policy::take_ownership);
}

// Anything speaking the Arrow PyCapsule interface, read whole with the GIL
// held (a stream backed by a Python generator needs it).
std::shared_ptr<arrow::Table> ImportTable(const nb::object& data) {
  if (nb::isinstance<CoreBatch>(data)) {
    return Unwrap(arrow::Table::FromRecordBatches({nb::cast<const CoreBatch&>(data).batch()}));
  }
  if (nb::hasattr(data, "__arrow_c_stream__")) {
    nb::object capsule = data.attr("__arrow_c_stream__")();
    auto* stream = static_cast<ArrowArrayStream*>(CapsulePointer(capsule, "arrow_array_stream"));
    auto reader = Unwrap(arrow::ImportRecordBatchReader(stream));
    return Unwrap(reader->ToTable());
  }
  if (nb::hasattr(data, "__arrow_c_array__")) {
    nb::tuple capsules = nb::cast<nb::tuple>(data.attr("__arrow_c_array__")());
    auto* schema = static_cast<ArrowSchema*>(CapsulePointer(capsules[0], "arrow_schema"));
    auto* array = static_cast<ArrowArray*>(CapsulePointer(capsules[1], "arrow_array"));
    auto batch = Unwrap(arrow::ImportRecordBatch(array, schema));
    return Unwrap(arrow::Table::FromRecordBatches({batch}));
  }
  Raise(
      InvalidArgument("expected data with __arrow_c_stream__ (a pyarrow Table, pandas via pyarrow, polars, DuckDB "
                      "result...), got ",
                      nb::type_name(data.type()).c_str()));
}

// A stream from Python read by the engine with the GIL released: each
// batch is pulled with the GIL held (a stream backed by a Python generator
// runs Python code), and the stream is released with it held too.
class GilHoldingReader final : public arrow::RecordBatchReader {
 public:
  explicit GilHoldingReader(std::shared_ptr<arrow::RecordBatchReader> inner) : inner_(std::move(inner)) {}
  ~GilHoldingReader() override {
    nb::gil_scoped_acquire gil;
    inner_.reset();
  }
  std::shared_ptr<arrow::Schema> schema() const override { return inner_->schema(); }
  Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    nb::gil_scoped_acquire gil;
    return inner_->ReadNext(batch);
  }
  Status Close() override {
    nb::gil_scoped_acquire gil;
    return inner_->Close();
  }

 private:
  std::shared_ptr<arrow::RecordBatchReader> inner_;
};

// Data with __arrow_c_stream__ as a stream the engine reads batch by batch
// without the GIL (GilHoldingReader); nullptr for other data.
std::shared_ptr<arrow::RecordBatchReader> ImportStream(const nb::object& data) {
  if (!nb::hasattr(data, "__arrow_c_stream__")) return nullptr;
  nb::object capsule = data.attr("__arrow_c_stream__")();
  auto* stream = static_cast<ArrowArrayStream*>(CapsulePointer(capsule, "arrow_array_stream"));
  return std::make_shared<GilHoldingReader>(Unwrap(arrow::ImportRecordBatchReader(stream)));
}

std::shared_ptr<arrow::Array> ImportArray(const nb::object& values) {
  nb::tuple capsules = nb::cast<nb::tuple>(values.attr("__arrow_c_array__")());
  auto* schema = static_cast<ArrowSchema*>(CapsulePointer(capsules[0], "arrow_schema"));
  auto* array = static_cast<ArrowArray*>(CapsulePointer(capsules[1], "arrow_array"));
  return Unwrap(arrow::ImportArray(array, schema));
}

// A one-shot stream of record batches for pyarrow/polars/DuckDB to consume.
class CoreStream {
 public:
  explicit CoreStream(std::shared_ptr<arrow::RecordBatchReader> reader, std::shared_ptr<ScanMetrics> metrics = nullptr)
      : reader_(std::move(reader)), metrics_(std::move(metrics)) {}
  nb::dict Metrics() const {
    nb::dict d;
    if (!metrics_) return d;
    d["manifests_total"] = metrics_->manifests_total.load();
    d["manifests_skipped"] = metrics_->manifests_skipped.load();
    d["files_total"] = metrics_->files_total.load();
    d["files_skipped"] = metrics_->files_skipped.load();
    d["row_groups_total"] = metrics_->row_groups_total.load();
    d["row_groups_skipped"] = metrics_->row_groups_skipped.load();
    d["bytes_read"] = metrics_->bytes_read.load();
    d["rows_read"] = metrics_->rows_read.load();
    return d;
  }
  nb::object ExportStream(const nb::object& /*requested_schema*/) {
    if (!reader_) Raise(InvalidArgument("this scan stream was already consumed"));
    auto* stream = new ArrowArrayStream{};
    Status exported = arrow::ExportRecordBatchReader(std::move(reader_), stream);
    if (!exported.ok()) {
      delete stream;
      Raise(exported);
    }
    return nb::capsule(stream, "arrow_array_stream", &ReleaseStream);
  }

 private:
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  std::shared_ptr<ScanMetrics> metrics_;
};

class SchemaHolder {
 public:
  explicit SchemaHolder(std::shared_ptr<arrow::Schema> schema) : schema_(std::move(schema)) {}
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  nb::object ExportSchema() {
    auto* out = new ArrowSchema{};
    Status exported = arrow::ExportSchema(*schema_, out);
    if (!exported.ok()) {
      delete out;
      Raise(exported);
    }
    return nb::capsule(out, "arrow_schema", &ReleaseSchema);
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
};

Schema ParseSchema(const std::string& json) {
  auto schema = SchemaFromJsonString(json);
  if (!schema.ok()) Raise(SchemaError(schema.status().message()));
  return *schema;
}

PredicateOp ParseOp(const std::string& op) {
  static const std::map<std::string, PredicateOp> kOps = {
      {"==", PredicateOp::kEq},          {"!=", PredicateOp::kNotEq},
      {"<", PredicateOp::kLt},           {"<=", PredicateOp::kLtEq},
      {">", PredicateOp::kGt},           {">=", PredicateOp::kGtEq},
      {"in", PredicateOp::kIn},          {"not_in", PredicateOp::kNotIn},
      {"is_null", PredicateOp::kIsNull}, {"is_not_null", PredicateOp::kNotNull}};
  auto it = kOps.find(op);
  if (it == kOps.end()) Raise(InvalidArgument("unknown filter operator \"", op, "\""));
  return it->second;
}

Durability ParseDurability(const std::string& mode) {
  auto parsed = datashard::ParseDurability(mode);
  if (!parsed.ok()) Raise(parsed.status());
  return *parsed;
}

nb::dict SnapshotToDict(const Snapshot& s) {
  nb::dict d;
  d["snapshot_id"] = s.snapshot_id;
  d["parent_id"] = s.parent_snapshot_id ? nb::cast(*s.parent_snapshot_id) : nb::none();
  d["sequence_number"] = s.sequence_number;
  d["timestamp_ms"] = s.timestamp_ms;
  d["operation"] = s.operation();
  d["summary"] = s.summary;
  d["manifest_list"] = s.manifest_list;
  d["schema_id"] = s.schema_id ? nb::cast(*s.schema_id) : nb::none();
  return d;
}

// A filter from Python: a list of AND-ed items, each a predicate
// `(column, op, values)` or a node `("and" | "or", [items])` / `("not", [item])`.
// A sort term as the Python layer passes it: (column, transform, "asc" |
// "desc", "nulls-first" | "nulls-last" | "" for the direction's default).
using SortTermTuple = std::tuple<std::string, std::string, std::string, std::string>;

std::vector<SortTerm> ParseSortTerms(const std::vector<SortTermTuple>& terms) {
  std::vector<SortTerm> out;
  for (const auto& [column, transform, direction, null_order] : terms) {
    SortTerm term;
    term.column = column;
    term.transform = transform.empty() ? "identity" : transform;
    if (direction == "asc") {
      term.direction = SortDirection::kAscending;
    } else if (direction == "desc") {
      term.direction = SortDirection::kDescending;
    } else {
      Raise(InvalidArgument("sort direction must be \"asc\" or \"desc\", not \"", direction, "\""));
    }
    if (null_order == "nulls-first") {
      term.null_order = NullOrder::kNullsFirst;
    } else if (null_order == "nulls-last") {
      term.null_order = NullOrder::kNullsLast;
    } else if (!null_order.empty()) {
      Raise(InvalidArgument("null order must be \"nulls-first\" or \"nulls-last\", not \"", null_order, "\""));
    }
    out.push_back(std::move(term));
  }
  return out;
}

using FilterList = std::optional<std::vector<nb::tuple>>;

constexpr int kMaxFilterDepth = 200;  // deeper than any filter a person writes; keeps the stack bounded

Expression ToExpression(const nb::handle& item, int depth) {
  if (depth > kMaxFilterDepth) Raise(InvalidArgument("filter is nested more than ", kMaxFilterDepth, " levels deep"));
  if (!nb::isinstance<nb::tuple>(item)) Raise(InvalidArgument("filter item must be a tuple"));
  auto t = nb::borrow<nb::tuple>(item);
  if (t.size() == 3) {
    Predicate predicate{nb::cast<std::string>(t[0]), ParseOp(nb::cast<std::string>(t[1])), nullptr};
    if (!t[2].is_none()) predicate.values = ImportArray(nb::borrow(t[2]));
    return predicate;
  }
  if (t.size() != 2)
    Raise(InvalidArgument("filter item must be (column, op, values) or (\"and\"|\"or\"|\"not\", [items])"));
  const auto kind = nb::cast<std::string>(t[0]);
  std::vector<Expression> children;
  for (nb::handle child : t[1]) children.push_back(ToExpression(child, depth + 1));
  if (kind == "and") return Expression::And(std::move(children));
  if (kind == "or") return Expression::Or(std::move(children));
  if (kind == "not" && children.size() == 1) return Expression::Not(std::move(children.front()));
  Raise(InvalidArgument("unknown filter node \"", kind, "\" (with ", children.size(), " operands)"));
}

// Plain predicates go to ScanOptions::filter (what a serializable
// transaction records as read); AND / OR / NOT nodes to ScanOptions::where.
void ToFilter(const FilterList& filters, std::vector<Predicate>* conjuncts, Expression* where) {
  if (!filters) return;
  std::vector<Expression> nodes;
  for (const auto& item : *filters) {
    Expression e = ToExpression(item, 0);
    if (e.kind() == Expression::Kind::kPredicate) {
      conjuncts->push_back(e.predicate());
    } else {
      nodes.push_back(std::move(e));
    }
  }
  if (!nodes.empty()) *where = Expression::And(std::move(nodes));
}

// Delete and overwrite filters: one tree, the AND of every item.
Expression ToWhere(const FilterList& filters) {
  std::vector<Expression> items;
  if (filters) {
    for (const auto& item : *filters) items.push_back(ToExpression(item, 0));
  }
  return Expression::And(std::move(items));
}

// A pyarrow.compute.Expression, as its pickle carries it (Arrow's own
// serialization, which the engine's Arrow reads back).
using ArrowFilter = std::optional<nb::bytes>;

std::optional<arrow::compute::Expression> DeserializeArrowFilter(const ArrowFilter& arrow_filter) {
  if (!arrow_filter) return std::nullopt;
  auto buffer = arrow::Buffer::FromString(std::string(arrow_filter->c_str(), arrow_filter->size()));
  auto expression = arrow::compute::Deserialize(std::move(buffer));
  if (!expression.ok()) Raise(InvalidArgument("not a serialized Arrow expression: ", expression.status().message()));
  return std::move(*expression);
}

// A delete or overwrite takes one filter: the tree from `filters` or the Arrow expression.
std::optional<arrow::compute::Expression> ToArrowFilter(const ArrowFilter& arrow_filter, const Expression& where) {
  auto arrow = DeserializeArrowFilter(arrow_filter);
  if (arrow && !(where.kind() == Expression::Kind::kAnd && where.children().empty())) {
    Raise(InvalidArgument("give either filters or arrow_filter, not both"));
  }
  return arrow;
}

ScanOptions ToScanOptions(std::optional<std::vector<std::string>> columns, const FilterList& filters,
                          std::optional<int64_t> snapshot_id, int threads, int64_t batch_size,
                          std::optional<int64_t> limit, std::optional<std::vector<std::string>> files = std::nullopt,
                          const ArrowFilter& arrow_filter = std::nullopt) {
  ScanOptions options;
  if (files) options.files = *files;
  if (columns) options.columns = *columns;
  ToFilter(filters, &options.filter, &options.where);
  options.arrow_filter = DeserializeArrowFilter(arrow_filter);
  options.snapshot_id = snapshot_id;
  options.threads = threads;
  options.batch_size = batch_size;
  options.limit = limit;
  options.metrics = std::make_shared<ScanMetrics>();
  return options;
}

class CoreTransaction {
 public:
  explicit CoreTransaction(std::unique_ptr<Transaction> tx) : tx_(std::move(tx)) {}
  void Append(const nb::object& data) {
    if (auto stream = ImportStream(data)) {
      CheckWithoutGil([&] { return tx_->Append(stream); });
      return;
    }
    auto table = ImportTable(data);
    CheckWithoutGil([&] { return tx_->Append(table); });
  }
  int64_t Delete(const FilterList& filters, const ArrowFilter& arrow_filter) {
    auto where = ToWhere(filters);
    auto arrow = ToArrowFilter(arrow_filter, where);
    Result<int64_t> deleted;
    {
      nb::gil_scoped_release release;
      deleted = arrow ? tx_->DeleteWhere(*arrow) : tx_->DeleteWhere(where);
    }
    return Unwrap(std::move(deleted));
  }
  void DeleteFiles(const std::vector<std::string>& paths) {
    CheckWithoutGil([&] { return tx_->DeleteFiles(paths); });
  }
  void AppendFiles(const std::vector<std::string>& paths) {
    CheckWithoutGil([&] { return tx_->AppendFiles(paths); });
  }
  void AddWrittenFiles(const std::vector<nb::bytes>& given) {
    std::vector<std::string> descriptors;
    for (const auto& d : given) descriptors.emplace_back(d.c_str(), d.size());
    CheckWithoutGil([&] { return tx_->AddWrittenFiles(descriptors); });
  }
  int64_t Overwrite(const nb::object& data, const FilterList& filters, const ArrowFilter& arrow_filter) {
    auto table = ImportTable(data);
    auto where = ToWhere(filters);
    auto arrow = ToArrowFilter(arrow_filter, where);
    Result<int64_t> replaced;
    {
      nb::gil_scoped_release release;
      replaced = arrow ? tx_->OverwriteWhere(table, *arrow) : tx_->OverwriteWhere(table, where);
    }
    return Unwrap(std::move(replaced));
  }
  CoreStream* Scan(std::optional<std::vector<std::string>> columns, const FilterList& filters, int threads,
                   int64_t batch_size, std::optional<int64_t> limit, const ArrowFilter& arrow_filter) {
    auto options = ToScanOptions(std::move(columns), filters, std::nullopt, threads, batch_size, limit, std::nullopt,
                                 arrow_filter);
    Result<std::shared_ptr<arrow::RecordBatchReader>> reader;
    {
      nb::gil_scoped_release release;
      reader = tx_->Scan(options);
    }
    return new CoreStream(Unwrap(std::move(reader)), options.metrics);
  }
  void SetCommitKey(const std::string& key) { tx_->SetCommitKey(key); }
  void SetDurability(const std::string& mode) { tx_->SetDurability(ParseDurability(mode)); }
  std::optional<int64_t> BaseSnapshotId() const { return tx_->base_snapshot_id(); }
  std::optional<int64_t> Commit() {
    Result<CommitInfo> info;
    {
      nb::gil_scoped_release release;
      info = tx_->Commit();
    }
    return Unwrap(std::move(info)).snapshot_id;
  }
  void Rollback() {
    CheckWithoutGil([&] { return tx_->Rollback(); });
  }

 private:
  std::unique_ptr<Transaction> tx_;
};

nb::dict WrittenFileToDict(const WrittenFile& file) {
  nb::dict d;
  d["path"] = file.path;
  d["record_count"] = file.record_count;
  d["file_size_in_bytes"] = file.file_size_in_bytes;
  d["descriptor"] = nb::bytes(file.descriptor.data(), file.descriptor.size());
  return d;
}

// Writes data files of a table and commits nothing (data_file_writer.h).
class CoreFileWriter {
 public:
  explicit CoreFileWriter(std::unique_ptr<DataFileWriter> writer) : writer_(std::move(writer)) {}
  // A stream is written batch by batch: batches are read with the GIL held
  // (a generator-backed stream needs it) and written without it.
  void Write(const nb::object& data) {
    if (!nb::hasattr(data, "__arrow_c_stream__")) {
      auto table = ImportTable(data);
      CheckWithoutGil([&] { return writer_->Write(table); });
      return;
    }
    nb::object capsule = data.attr("__arrow_c_stream__")();
    auto* stream = static_cast<ArrowArrayStream*>(CapsulePointer(capsule, "arrow_array_stream"));
    auto reader = Unwrap(arrow::ImportRecordBatchReader(stream));
    while (true) {
      auto batch = Unwrap(reader->Next());
      if (batch == nullptr) break;
      auto table = Unwrap(arrow::Table::FromRecordBatches({batch}));
      CheckWithoutGil([&] { return writer_->Write(table); });
    }
  }
  std::vector<nb::dict> Finish() {
    Result<std::vector<WrittenFile>> files;
    {
      nb::gil_scoped_release release;
      files = writer_->Finish();
    }
    std::vector<nb::dict> out;
    for (const auto& file : Unwrap(std::move(files))) out.push_back(WrittenFileToDict(file));
    return out;
  }
  void Abort() {
    CheckWithoutGil([&] { return writer_->Abort(); });
  }
  std::vector<nb::dict> Files() const {
    std::vector<nb::dict> out;
    for (const auto& file : writer_->files()) out.push_back(WrittenFileToDict(file));
    return out;
  }

 private:
  std::unique_ptr<DataFileWriter> writer_;
};

class CoreTable {
 public:
  explicit CoreTable(std::shared_ptr<Table> table) : table_(std::move(table)) {}

  std::string location() const { return table_->location(); }
  int64_t version() const { return table_->version(); }
  bool Created() const { return table_->created(); }
  void Refresh() {
    CheckWithoutGil([&] { return table_->Refresh(); });
  }
  std::string SchemaJson() const { return SchemaToJsonString(*table_->metadata()->CurrentSchema()); }
  // The schema a scan of this snapshot reads with: the Python layer resolves a
  // time-travel read's column names against it by field id.
  std::string ReadSchemaJson(std::optional<int64_t> snapshot_id) {
    Result<Schema> schema;
    {
      nb::gil_scoped_release release;
      schema = table_->ReadSchema(snapshot_id);
    }
    return SchemaToJsonString(Unwrap(std::move(schema)));
  }
  std::string PartitionSpecJson() const { return PartitionSpecToJsonString(*table_->metadata()->DefaultSpec()); }
  std::string SortOrderJson() const {
    const SortOrder* order = table_->metadata()->DefaultSortOrder();
    return SortOrderToJsonString(order != nullptr ? *order : SortOrder{});
  }
  std::map<std::string, std::string> Properties() const { return table_->metadata()->properties; }
  std::optional<int64_t> CurrentSnapshotId() const { return table_->metadata()->current_snapshot_id; }
  std::string MetadataLocation() const { return table_->metadata_location(); }

  nb::list Snapshots() const {
    nb::list out;
    for (const auto& s : table_->metadata()->snapshots) out.append(SnapshotToDict(s));
    return out;
  }

  nb::object SnapshotById(int64_t id) {
    Result<std::optional<Snapshot>> found;
    {
      nb::gil_scoped_release release;
      found = table_->FindSnapshot(id);
    }
    auto snapshot = Unwrap(std::move(found));
    if (!snapshot) return nb::none();
    return SnapshotToDict(*snapshot);
  }

  std::optional<int64_t> Append(const nb::object& data, const std::optional<std::string>& commit_key,
                                const std::optional<std::string>& durability) {
    std::optional<Durability> mode;
    if (durability) mode = ParseDurability(*durability);
    // A stream is appended as it is read, in bounded memory.
    std::shared_ptr<arrow::RecordBatchReader> stream = ImportStream(data);
    std::shared_ptr<arrow::Table> table = stream ? nullptr : ImportTable(data);
    Result<CommitInfo> info;
    {
      nb::gil_scoped_release release;
      info = stream ? table_->Append(stream, commit_key, mode) : table_->Append(table, commit_key, mode);
    }
    return Unwrap(std::move(info)).snapshot_id;
  }

  CoreTransaction* NewTransaction(const std::string& isolation, std::optional<std::string> branch) {
    Isolation level = Isolation::kSnapshot;
    if (isolation == "serializable") {
      level = Isolation::kSerializable;
    } else if (isolation != "snapshot") {
      Raise(InvalidArgument("isolation must be \"snapshot\" or \"serializable\", not \"", isolation, "\""));
    }
    auto tx = table_->NewTransaction(level);
    if (branch) Check(tx->SetBranch(*branch));
    return new CoreTransaction(std::move(tx));
  }

  nb::dict ExpireSnapshots(std::optional<int64_t> older_than_ms, int64_t retain_last, bool dry_run) {
    ExpireOptions options{older_than_ms, retain_last, dry_run};
    Result<ExpireResult> result;
    {
      nb::gil_scoped_release release;
      result = datashard::ExpireSnapshots(*table_, options);
    }
    auto r = Unwrap(std::move(result));
    nb::dict d;
    d["expired_snapshot_ids"] = r.expired_snapshot_ids;
    d["deleted_data_files"] = r.deleted_data_files;
    d["deleted_manifests"] = r.deleted_manifests;
    d["deleted_manifest_lists"] = r.deleted_manifest_lists;
    d["deleted_metadata_files"] = r.deleted_metadata_files;
    d["cleanup_skipped"] = r.cleanup_skipped;
    return d;
  }

  nb::dict RemoveOrphanFiles(int64_t older_than_ms, bool dry_run, const std::string& data_file_prefix,
                             const std::vector<std::string>& only_paths) {
    Result<OrphanResult> result;
    {
      nb::gil_scoped_release release;
      result =
          datashard::RemoveOrphanFiles(*table_, OrphanOptions{older_than_ms, dry_run, data_file_prefix, only_paths});
    }
    auto r = Unwrap(std::move(result));
    nb::dict d;
    d["orphans"] = r.orphans;
    d["data_files"] = r.data_files;
    d["manifest_files"] = r.manifest_files;
    d["manifest_lists"] = r.manifest_lists;
    d["other_files"] = r.other_files;
    return d;
  }

  std::string ReplaceSortOrder(const std::vector<SortTermTuple>& terms) {
    std::vector<SortTerm> parsed = ParseSortTerms(terms);
    Result<SortOrder> order;
    {
      nb::gil_scoped_release release;
      order = datashard::ReplaceSortOrder(*table_, parsed);
    }
    return SortOrderToJsonString(Unwrap(std::move(order)));
  }

  nb::dict Rewrite(std::optional<int64_t> target_file_size, const std::optional<std::vector<SortTermTuple>>& sort,
                   const std::optional<std::vector<std::string>>& zorder) {
    RewriteOptions options;
    if (target_file_size) options.target_file_size = *target_file_size;
    if (sort) {
      options.strategy = RewriteOptions::Strategy::kSort;
      options.sort = ParseSortTerms(*sort);
    } else if (zorder) {
      options.strategy = RewriteOptions::Strategy::kZOrder;
      options.zorder_columns = *zorder;
    }
    Result<RewriteResult> result;
    {
      nb::gil_scoped_release release;
      result = target_file_size ? RewriteDataFiles(*table_, options) : RewriteManifests(*table_);
    }
    auto r = Unwrap(std::move(result));
    nb::dict d;
    d["rewritten_files"] = r.rewritten_files;
    d["added_files"] = r.added_files;
    d["rewritten_manifests"] = r.rewritten_manifests;
    d["added_manifests"] = r.added_manifests;
    d["snapshot_id"] = r.snapshot_id ? nb::cast(*r.snapshot_id) : nb::none();
    return d;
  }

  nb::dict Verify(std::optional<int64_t> snapshot_id) {
    Result<VerifyReport> result;
    {
      nb::gil_scoped_release release;
      result = datashard::Verify(*table_, snapshot_id);
    }
    auto r = Unwrap(std::move(result));
    nb::dict d;
    d["snapshot_id"] = r.snapshot_id ? nb::cast(*r.snapshot_id) : nb::none();
    d["data_files"] = r.data_files;
    d["manifests"] = r.manifests;
    d["rows"] = r.rows;
    d["bytes"] = r.bytes;
    nb::list problems;
    for (const auto& p : r.problems) problems.append(nb::make_tuple(p.path, p.problem));
    d["problems"] = problems;
    return d;
  }

  nb::list AllSnapshots() {
    Result<std::vector<Snapshot>> result;
    {
      nb::gil_scoped_release release;
      result = datashard::AllSnapshots(*table_);
    }
    nb::list out;
    for (const auto& s : Unwrap(std::move(result))) out.append(SnapshotToDict(s));
    return out;
  }

  // Schema on write: the table's schema afterwards (the caller's, or the one
  // another writer set first).
  std::string SetInitialSchema(const std::string& schema_json) {
    Schema schema = ParseSchema(schema_json);
    Result<Schema> result;
    {
      nb::gil_scoped_release release;
      result = datashard::SetInitialSchema(*table_, schema);
    }
    return SchemaToJsonString(Unwrap(std::move(result)));
  }

  std::string UpdateSchema(
      const std::vector<std::tuple<std::string, std::string, std::string, std::string, std::string>>& updates) {
    std::vector<SchemaUpdate> parsed;
    for (const auto& [kind, column, new_name, type, doc] : updates) {
      SchemaUpdate u;
      u.column = column;
      u.new_name = new_name;
      u.doc = doc;
      if (!type.empty()) u.type = Unwrap(Type::Parse(type));
      if (kind == "add") {
        u.kind = SchemaUpdate::Kind::kAddColumn;
      } else if (kind == "rename") {
        u.kind = SchemaUpdate::Kind::kRenameColumn;
      } else if (kind == "drop") {
        u.kind = SchemaUpdate::Kind::kDropColumn;
      } else if (kind == "widen") {
        u.kind = SchemaUpdate::Kind::kWidenColumn;
      } else if (kind == "make_optional") {
        u.kind = SchemaUpdate::Kind::kMakeOptional;
      } else {
        Raise(InvalidArgument("unknown schema update \"", kind, "\""));
      }
      parsed.push_back(std::move(u));
    }
    Result<Schema> schema;
    {
      nb::gil_scoped_release release;
      schema = datashard::UpdateSchema(*table_, parsed);
    }
    return SchemaToJsonString(Unwrap(std::move(schema)));
  }

  void SetProperties(const std::map<std::string, std::string>& set, const std::vector<std::string>& remove) {
    CheckWithoutGil([&] { return datashard::SetProperties(*table_, set, remove); });
  }

  void SetRef(const std::string& name, std::optional<int64_t> snapshot_id, const std::string& type) {
    if (type != "drop" && type != "tag" && type != "branch") {
      Raise(InvalidArgument("ref type must be tag, branch or drop, not \"", type, "\""));
    }
    CheckWithoutGil([&]() -> Status {
      if (type == "drop") return DropRef(*table_, name);
      auto current = table_->metadata()->current_snapshot_id;
      if (!snapshot_id && !current) return InvalidArgument("the table has no snapshot to point \"", name, "\" at");
      const int64_t target = snapshot_id ? *snapshot_id : *current;
      return type == "tag" ? CreateTag(*table_, name, target) : CreateBranch(*table_, name, target);
    });
  }

  nb::dict Refs() const {
    nb::dict d;
    for (const auto& [name, ref] : table_->metadata()->refs) {
      nb::dict r;
      r["snapshot_id"] = ref.snapshot_id;
      r["type"] = ref.type;
      d[name.c_str()] = r;
    }
    return d;
  }

  std::optional<int64_t> SnapshotAsOf(int64_t timestamp_ms) {
    Result<std::optional<int64_t>> found;
    {
      nb::gil_scoped_release release;
      found = datashard::SnapshotAsOf(*table_, timestamp_ms);
    }
    return Unwrap(std::move(found));
  }

  CoreStream* Scan(std::optional<std::vector<std::string>> columns, const FilterList& filters,
                   std::optional<int64_t> snapshot_id, int threads, int64_t batch_size, std::optional<int64_t> limit,
                   std::optional<std::vector<std::string>> files, const ArrowFilter& arrow_filter) {
    auto options = ToScanOptions(std::move(columns), filters, snapshot_id, threads, batch_size, limit, std::move(files),
                                 arrow_filter);
    Result<std::shared_ptr<arrow::RecordBatchReader>> reader;
    {
      nb::gil_scoped_release release;
      reader = table_->Scan(options);
    }
    return new CoreStream(Unwrap(std::move(reader)), options.metrics);
  }

  int64_t RowCount(std::optional<int64_t> snapshot_id) {
    Result<int64_t> rows;
    {
      nb::gil_scoped_release release;
      rows = table_->RowCount(snapshot_id);
    }
    return Unwrap(std::move(rows));
  }

  nb::list DataFiles(std::optional<int64_t> snapshot_id) {
    Result<std::vector<DataFileInfo>> files;
    {
      nb::gil_scoped_release release;
      files = table_->DataFiles(snapshot_id);
    }
    nb::list out;
    for (const auto& f : Unwrap(std::move(files))) {
      nb::dict d;
      d["file_path"] = f.file_path;
      d["record_count"] = f.record_count;
      d["file_size_in_bytes"] = f.file_size_in_bytes;
      out.append(d);
    }
    return out;
  }

  // The snapshot's data files with partition values and column bounds
  // (datashard/files_table.h), as an Arrow stream.
  CoreFileWriter* FileWriter(const std::string& name_prefix, int64_t target_file_size, std::optional<int32_t> schema_id,
                             std::optional<int32_t> spec_id) {
    Result<std::unique_ptr<DataFileWriter>> writer;
    {
      nb::gil_scoped_release release;
      writer = DataFileWriter::Open(table_, DataFileWriterOptions{name_prefix, target_file_size, schema_id, spec_id});
    }
    return new CoreFileWriter(Unwrap(std::move(writer)));
  }
  CoreStream* Changes(std::optional<int64_t> from_snapshot, std::optional<int64_t> to_snapshot,
                      std::optional<std::vector<std::string>> columns, bool net) {
    ChangesOptions options;
    options.from_snapshot = from_snapshot;
    options.to_snapshot = to_snapshot;
    if (columns) options.columns = *columns;
    options.net = net;
    Result<std::shared_ptr<arrow::Table>> rows;
    {
      nb::gil_scoped_release release;
      rows = datashard::Changes(*table_, options);
    }
    return new CoreStream(std::make_shared<arrow::TableBatchReader>(Unwrap(std::move(rows))));
  }
  std::optional<int64_t> FindCommitKey(const std::string& key) {
    Result<std::optional<int64_t>> found;
    {
      nb::gil_scoped_release release;
      found = table_->FindCommitKey(key);
    }
    return Unwrap(std::move(found));
  }
  CoreStream* FilesTable(std::optional<int64_t> snapshot_id) {
    Result<std::shared_ptr<arrow::Table>> files;
    {
      nb::gil_scoped_release release;
      files = datashard::FilesTable(*table_, snapshot_id);
    }
    auto table = Unwrap(std::move(files));
    return new CoreStream(std::make_shared<arrow::TableBatchReader>(table));
  }

 private:
  std::shared_ptr<Table> table_;
};

CoreTable* CreateTable(const std::string& path, const std::string& schema_json,
                       std::optional<std::string> partition_spec_json, std::map<std::string, std::string> properties,
                       bool exist_ok, const std::vector<SortTermTuple>& sort_order) {
  CreateOptions options;
  if (!schema_json.empty()) options.schema = ParseSchema(schema_json);
  if (partition_spec_json && !partition_spec_json->empty()) {
    auto spec = PartitionSpecFromJsonString(*partition_spec_json);
    if (!spec.ok()) Raise(SchemaError(spec.status().message()));
    options.partition_spec = *spec;
  }
  options.properties = std::move(properties);
  options.exist_ok = exist_ok;
  options.sort_order = ParseSortTerms(sort_order);
  Result<std::shared_ptr<Table>> table;
  {
    nb::gil_scoped_release release;
    table = Table::Create(path, std::move(options));
  }
  return new CoreTable(Unwrap(std::move(table)));
}

CoreTable* LoadTable(const std::string& path) {
  Result<std::shared_ptr<Table>> table;
  {
    nb::gil_scoped_release release;
    table = Table::Load(path);
  }
  return new CoreTable(Unwrap(std::move(table)));
}

}  // namespace
}  // namespace datashard::python

NB_MODULE(_core, m) {
  using namespace datashard::python;
  m.doc() = "datashard's C++ engine (internal; use the datashard package)";
  // Tables referenced from module globals at exit are not leaks worth a warning.
  nb::set_leak_warnings(false);

  nb::class_<CoreStream>(m, "CoreStream")
      .def("__arrow_c_stream__", &CoreStream::ExportStream, "requested_schema"_a = nb::none())
      .def("metrics", &CoreStream::Metrics);
  nb::class_<CoreBatch>(m, "CoreBatch")
      .def_prop_ro("num_rows", &CoreBatch::num_rows)
      .def("__arrow_c_array__", &CoreBatch::ExportArray, "requested_schema"_a = nb::none());
  nb::class_<SchemaHolder>(m, "SchemaHolder").def("__arrow_c_schema__", &SchemaHolder::ExportSchema);

  nb::class_<CoreFileWriter>(m, "CoreFileWriter")
      .def("write", &CoreFileWriter::Write, "data"_a)
      .def("finish", &CoreFileWriter::Finish)
      .def("abort", &CoreFileWriter::Abort)
      .def("files", &CoreFileWriter::Files);
  nb::class_<CoreTransaction>(m, "CoreTransaction")
      .def("append", &CoreTransaction::Append, "data"_a)
      .def("delete", &CoreTransaction::Delete, "filters"_a = nb::none(), "arrow_filter"_a = nb::none())
      .def("delete_files", &CoreTransaction::DeleteFiles, "paths"_a)
      .def("append_files", &CoreTransaction::AppendFiles, "paths"_a)
      .def("add_written_files", &CoreTransaction::AddWrittenFiles, "descriptors"_a)
      .def("overwrite", &CoreTransaction::Overwrite, "data"_a, "filters"_a = nb::none(), "arrow_filter"_a = nb::none())
      .def("scan", &CoreTransaction::Scan, "columns"_a = nb::none(), "filters"_a = nb::none(), "threads"_a = 1,
           "batch_size"_a = 65536, "limit"_a = nb::none(), "arrow_filter"_a = nb::none(), nb::rv_policy::take_ownership)
      .def("set_commit_key", &CoreTransaction::SetCommitKey, "key"_a)
      .def("set_durability", &CoreTransaction::SetDurability, "mode"_a)
      .def("base_snapshot_id", &CoreTransaction::BaseSnapshotId)
      .def("commit", &CoreTransaction::Commit)
      .def("rollback", &CoreTransaction::Rollback);

  nb::class_<CoreTable>(m, "CoreTable")
      .def_prop_ro("location", &CoreTable::location)
      .def_prop_ro("version", &CoreTable::version)
      .def("refresh", &CoreTable::Refresh)
      .def("created", &CoreTable::Created)
      .def("schema_json", &CoreTable::SchemaJson)
      .def("read_schema_json", &CoreTable::ReadSchemaJson, "snapshot_id"_a = nb::none())
      .def("partition_spec_json", &CoreTable::PartitionSpecJson)
      .def("properties", &CoreTable::Properties)
      .def("current_snapshot_id", &CoreTable::CurrentSnapshotId)
      .def("metadata_location", &CoreTable::MetadataLocation)
      .def("snapshots", &CoreTable::Snapshots)
      .def("snapshot_by_id", &CoreTable::SnapshotById, "snapshot_id"_a)
      .def("append", &CoreTable::Append, "data"_a, "commit_key"_a = nb::none(), "durability"_a = nb::none())
      .def("new_transaction", &CoreTable::NewTransaction, "isolation"_a = "snapshot", "branch"_a = nb::none(),
           nb::rv_policy::take_ownership)
      .def("expire_snapshots", &CoreTable::ExpireSnapshots, "older_than_ms"_a = nb::none(), "retain_last"_a = 1,
           "dry_run"_a = false)
      .def("remove_orphan_files", &CoreTable::RemoveOrphanFiles, "older_than_ms"_a, "dry_run"_a = false,
           "data_file_prefix"_a = "", "only_paths"_a = std::vector<std::string>{})
      .def("file_writer", &CoreTable::FileWriter, "name_prefix"_a = "", "target_file_size"_a = 0,
           "schema_id"_a = nb::none(), "spec_id"_a = nb::none(), nb::rv_policy::take_ownership)
      .def("find_commit_key", &CoreTable::FindCommitKey, "commit_key"_a)
      .def("changes", &CoreTable::Changes, "from_snapshot"_a, "to_snapshot"_a = nb::none(), "columns"_a = nb::none(),
           "net"_a = true, nb::rv_policy::take_ownership)
      .def("rewrite", &CoreTable::Rewrite, "target_file_size"_a = nb::none(), "sort"_a = nb::none(),
           "zorder"_a = nb::none(),
           "target_file_size given: compact data files (sort: as one sorted run per partition, [] = the "
           "table's order; zorder: z-ordered over these columns); None: rewrite manifests")
      .def("sort_order_json", &CoreTable::SortOrderJson)
      .def("replace_sort_order", &CoreTable::ReplaceSortOrder, "terms"_a,
           "terms: (column, transform, asc|desc, nulls-first|nulls-last|''); none: unsorted")
      .def("verify", &CoreTable::Verify, "snapshot_id"_a = nb::none())
      .def("all_snapshots", &CoreTable::AllSnapshots)
      .def("set_initial_schema", &CoreTable::SetInitialSchema, "schema_json"_a)
      .def("update_schema", &CoreTable::UpdateSchema, "updates"_a,
           "updates: (kind, column, new_name, type, doc); kind in add|rename|drop|widen|make_optional")
      .def("set_properties", &CoreTable::SetProperties, "set"_a, "remove"_a)
      .def("set_ref", &CoreTable::SetRef, "name"_a, "snapshot_id"_a = nb::none(), "type"_a = "tag",
           "type: tag | branch | drop")
      .def("refs", &CoreTable::Refs)
      .def("snapshot_as_of", &CoreTable::SnapshotAsOf, "timestamp_ms"_a)
      .def("scan", &CoreTable::Scan, "columns"_a = nb::none(), "filters"_a = nb::none(), "snapshot_id"_a = nb::none(),
           "threads"_a = 1, "batch_size"_a = 65536, "limit"_a = nb::none(), "files"_a = nb::none(),
           "arrow_filter"_a = nb::none(), nb::rv_policy::take_ownership)
      .def("row_count", &CoreTable::RowCount, "snapshot_id"_a = nb::none())
      .def("data_files", &CoreTable::DataFiles, "snapshot_id"_a = nb::none())
      .def("files_table", &CoreTable::FilesTable, "snapshot_id"_a = nb::none(), nb::rv_policy::take_ownership);

  m.def("create_table", &CreateTable, "path"_a, "schema_json"_a, "partition_spec_json"_a = nb::none(),
        "properties"_a = std::map<std::string, std::string>{}, "exist_ok"_a = true,
        "sort_order"_a = std::vector<SortTermTuple>{}, nb::rv_policy::take_ownership);
  m.def("load_table", &LoadTable, "path"_a, nb::rv_policy::take_ownership);
  // The engine's registry of the table properties it reads (table_properties.h):
  // key (prefix keys end in "*") -> (default or None, the values it takes, what it does).
  m.def("table_properties", [] {
    std::map<std::string, std::tuple<std::optional<std::string>, std::string, std::string>> out;
    for (const datashard::TableProperty* property : datashard::TableProperties::All()) {
      std::optional<std::string> fallback;
      if (property->default_value != nullptr) fallback = property->default_value;
      std::string values = property->reserved ? "kept by datashard; cannot be set or removed by hand"
                                              : datashard::DescribeValues(*property);
      out[std::string(property->key) + (property->prefix ? "*" : "")] = {fallback, values, property->doc};
    }
    return out;
  });
  // Iceberg's partition transforms and bucket hash, for the original package's
  // datashard.partitioning helpers (values in, partition values out).
  m.def(
      "apply_transform",
      [](const std::string& transform, const std::string& source_type, const nb::object& data) -> CoreStream* {
        auto table = ImportTable(data);
        if (table->num_columns() != 1) Raise(datashard::InvalidArgument("apply_transform takes one column"));
        datashard::Type type = Unwrap(datashard::Type::Parse(source_type));
        const auto& chunks = table->column(0)->chunks();
        auto column = chunks.empty() ? Unwrap(arrow::MakeEmptyArray(table->column(0)->type()))
                                     : Unwrap(arrow::Concatenate(chunks));
        auto result = Unwrap(datashard::TransformToArrow(transform, type, *column));
        auto out = arrow::Table::Make(arrow::schema(arrow::FieldVector{arrow::field("value", result->type())}),
                                      arrow::ArrayVector{result});
        return new CoreStream(std::make_shared<arrow::TableBatchReader>(out));
      },
      "transform"_a, "source_type"_a, "data"_a, nb::rv_policy::take_ownership);
  m.def(
      "murmur3_32",
      [](const nb::bytes& data) { return datashard::Murmur3Hash32(std::string_view(data.c_str(), data.size())); },
      "data"_a);
  m.def(
      "rows_to_arrow",
      [](const nb::handle& rows, const SchemaHolder& schema) {
        return BatchOrNone(RowsToBatch(rows.ptr(), schema.schema()));
      },
      "rows"_a, "schema"_a,
      "Row dicts as Arrow data of `schema` without pyarrow, or None where a value needs the general "
      "converter (datashard._records), which words the errors.");
  m.def(
      "columns_to_arrow",
      [](const nb::handle& data, const SchemaHolder& schema) {
        return BatchOrNone(ColumnsToBatch(data.ptr(), schema.schema()));
      },
      "data"_a, "schema"_a,
      "A dict of columns (lists) as Arrow data of `schema` without pyarrow, or None where pyarrow's "
      "reading of it and the append's casts decide.");
  m.def(
      "arrow_schema_capsule",
      [](const std::string& schema_json) {
        return new SchemaHolder(datashard::ToArrowSchema(ParseSchema(schema_json)));
      },
      "schema_json"_a, nb::rv_policy::take_ownership);
  m.def(
      "schema_from_arrow",
      [](const nb::object& obj) {
        nb::object capsule = obj.attr("__arrow_c_schema__")();
        auto* c_schema = static_cast<ArrowSchema*>(CapsulePointer(capsule, "arrow_schema"));
        // ImportSchema moves out of the struct; the capsule's own release then sees it released.
        auto schema = Unwrap(arrow::ImportSchema(c_schema));
        auto iceberg = Unwrap(datashard::FromArrowSchema(*schema));
        return datashard::SchemaToJsonString(iceberg);
      },
      "schema"_a);
}
