#include "datashard/changes.h"

#include <algorithm>
#include <set>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/row/grouper.h>

#include "datashard/format/arrow_schema.h"

namespace datashard {
namespace {

Result<std::set<std::string>> FilesOf(Table& table, std::optional<int64_t> snapshot_id) {
  std::set<std::string> out;
  if (!snapshot_id) return out;
  ARROW_ASSIGN_OR_RAISE(auto files, table.DataFiles(snapshot_id));
  for (const auto& f : files) out.insert(f.file_path);
  return out;
}

// The rows of `files` (of snapshot `snapshot_id`), projected; with no files,
// no rows, in the schema a scan of that snapshot (or the current one) has.
Result<std::shared_ptr<arrow::Table>> RowsOf(Table& table, std::optional<int64_t> snapshot_id,
                                             const std::vector<std::string>& files,
                                             const std::vector<std::string>& columns) {
  ScanOptions options;
  options.snapshot_id = snapshot_id ? snapshot_id : table.metadata()->current_snapshot_id;
  options.columns = columns;
  if (files.empty()) {
    ARROW_ASSIGN_OR_RAISE(Schema schema, table.ReadSchema(options.snapshot_id));
    auto arrow_schema = format::ToArrowSchema(schema);
    if (!columns.empty()) {
      arrow::FieldVector fields;
      for (const auto& name : columns) {
        auto field = arrow_schema->GetFieldByName(name);
        if (field == nullptr) return SchemaError("unknown column \"", name, "\"");
        fields.push_back(field);
      }
      arrow_schema = arrow::schema(fields);
    }
    return arrow::Table::MakeEmpty(arrow_schema);
  }
  options.files = files;
  ARROW_ASSIGN_OR_RAISE(auto reader, table.Scan(options));
  return reader->ToTable();
}

// For each row of `rows`, its group among the rows of both sides (same
// values in the key columns = same group).
struct Keyed {
  std::vector<uint32_t> inserts;
  std::vector<uint32_t> deletes;
  uint32_t groups = 0;
};

Result<std::vector<uint32_t>> GroupIds(arrow::compute::Grouper& grouper, const arrow::Table& keys) {
  std::vector<uint32_t> out;
  out.reserve(static_cast<size_t>(keys.num_rows()));
  ARROW_ASSIGN_OR_RAISE(auto combined, keys.CombineChunksToBatch());
  if (combined->num_rows() == 0) return out;
  arrow::compute::ExecBatch batch(*combined);
  ARROW_ASSIGN_OR_RAISE(arrow::Datum ids, grouper.Consume(arrow::compute::ExecSpan(batch)));
  const std::shared_ptr<arrow::Array> held = ids.make_array();
  const auto& array = static_cast<const arrow::UInt32Array&>(*held);
  for (int64_t i = 0; i < array.length(); ++i) out.push_back(array.Value(i));
  return out;
}

// Keeps, of each group, the rows beyond as many as the other side has.
Result<std::shared_ptr<arrow::Table>> Unmatched(const std::shared_ptr<arrow::Table>& rows,
                                                const std::vector<uint32_t>& mine,
                                                std::vector<int64_t> budget /* per group, of the other side */) {
  arrow::BooleanBuilder keep;
  ARROW_RETURN_NOT_OK(keep.Reserve(static_cast<int64_t>(mine.size())));
  for (uint32_t group : mine) {
    const bool cancelled = budget[group] > 0;
    if (cancelled) --budget[group];
    keep.UnsafeAppend(!cancelled);
  }
  ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum kept, arrow::compute::Filter(arrow::Datum(rows), arrow::Datum(mask)));
  return kept.table();
}

// Cancels identical insert/delete pairs, one for one, comparing the columns
// both sides have (by name, after Align).
Status CancelPairs(std::shared_ptr<arrow::Table>* inserts, std::shared_ptr<arrow::Table>* deletes) {
  std::vector<std::string> shared;
  for (const auto& field : (*inserts)->schema()->fields()) {
    if ((*deletes)->schema()->GetFieldIndex(field->name()) >= 0) shared.push_back(field->name());
  }
  if (shared.empty()) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto insert_keys, (*inserts)->SelectColumns([&] {
    std::vector<int> idx;
    for (const auto& n : shared) idx.push_back((*inserts)->schema()->GetFieldIndex(n));
    return idx;
  }()));
  ARROW_ASSIGN_OR_RAISE(auto delete_keys, (*deletes)->SelectColumns([&] {
    std::vector<int> idx;
    for (const auto& n : shared) idx.push_back((*deletes)->schema()->GetFieldIndex(n));
    return idx;
  }()));
  std::vector<arrow::TypeHolder> types;
  for (const auto& field : insert_keys->schema()->fields()) types.emplace_back(field->type());
  ARROW_ASSIGN_OR_RAISE(auto grouper, arrow::compute::Grouper::Make(types));
  ARROW_ASSIGN_OR_RAISE(auto insert_groups, GroupIds(*grouper, *insert_keys));
  ARROW_ASSIGN_OR_RAISE(auto delete_groups, GroupIds(*grouper, *delete_keys));
  const auto groups = static_cast<size_t>(grouper->num_groups());
  std::vector<int64_t> inserted(groups, 0), deleted(groups, 0);
  for (uint32_t g : insert_groups) ++inserted[g];
  for (uint32_t g : delete_groups) ++deleted[g];
  ARROW_ASSIGN_OR_RAISE(*inserts, Unmatched(*inserts, insert_groups, deleted));
  ARROW_ASSIGN_OR_RAISE(*deletes, Unmatched(*deletes, delete_groups, inserted));
  return Status::OK();
}

// `rows` (read with schema `rows_schema`) with the columns of `target`
// (read with `target_schema`), in its order: matched by field id, so a
// renamed column is still itself; cast to the target's type; a column the
// rows do not have is all nulls.
Result<std::shared_ptr<arrow::Table>> Align(const std::shared_ptr<arrow::Table>& rows, const Schema& rows_schema,
                                            const std::shared_ptr<arrow::Schema>& target, const Schema& target_schema) {
  arrow::ChunkedArrayVector columns;
  for (const auto& field : target->fields()) {
    const NestedField* target_field = target_schema.FindField(field->name());
    const NestedField* source = target_field != nullptr ? rows_schema.FindField(target_field->id) : nullptr;
    const int index = source != nullptr ? rows->schema()->GetFieldIndex(source->name) : -1;
    if (index < 0) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(field->type(), rows->num_rows()));
      columns.push_back(std::make_shared<arrow::ChunkedArray>(nulls));
      continue;
    }
    auto column = rows->column(index);
    if (!column->type()->Equals(*field->type())) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, arrow::compute::Cast(arrow::Datum(column), field->type()));
      column = cast.chunked_array();
    }
    columns.push_back(std::move(column));
  }
  return arrow::Table::Make(target, std::move(columns), rows->num_rows());
}

Result<std::shared_ptr<arrow::Table>> WithChangeType(const std::shared_ptr<arrow::Table>& rows,
                                                     const std::string& kind) {
  arrow::StringBuilder values;
  ARROW_RETURN_NOT_OK(values.Reserve(rows->num_rows()));
  ARROW_RETURN_NOT_OK(values.ReserveData(rows->num_rows() * static_cast<int64_t>(kind.size())));
  for (int64_t i = 0; i < rows->num_rows(); ++i) values.UnsafeAppend(kind);
  ARROW_ASSIGN_OR_RAISE(auto column, values.Finish());
  return rows->AddColumn(rows->num_columns(), arrow::field(kChangeTypeColumn, arrow::utf8()),
                         std::make_shared<arrow::ChunkedArray>(column));
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> Changes(Table& table, const ChangesOptions& options) {
  std::optional<int64_t> to = options.to_snapshot;
  if (!to) to = table.metadata()->current_snapshot_id;
  ARROW_ASSIGN_OR_RAISE(auto old_files, FilesOf(table, options.from_snapshot));
  ARROW_ASSIGN_OR_RAISE(auto new_files, FilesOf(table, to));
  std::vector<std::string> added, removed;
  std::set_difference(new_files.begin(), new_files.end(), old_files.begin(), old_files.end(),
                      std::back_inserter(added));
  std::set_difference(old_files.begin(), old_files.end(), new_files.begin(), new_files.end(),
                      std::back_inserter(removed));
  const std::optional<int64_t> from = options.from_snapshot ? options.from_snapshot : to;
  ARROW_ASSIGN_OR_RAISE(auto inserts, RowsOf(table, to, added, options.columns));
  ARROW_ASSIGN_OR_RAISE(auto deletes, RowsOf(table, from, removed, options.columns));
  // Both sides in the newer schema (a column added since reads as null).
  ARROW_ASSIGN_OR_RAISE(Schema new_schema, table.ReadSchema(to));
  ARROW_ASSIGN_OR_RAISE(Schema old_schema, table.ReadSchema(from));
  ARROW_ASSIGN_OR_RAISE(deletes, Align(deletes, old_schema, inserts->schema(), new_schema));
  if (options.net && inserts->num_rows() > 0 && deletes->num_rows() > 0) {
    ARROW_RETURN_NOT_OK(CancelPairs(&inserts, &deletes));
  }
  ARROW_ASSIGN_OR_RAISE(inserts, WithChangeType(inserts, "insert"));
  ARROW_ASSIGN_OR_RAISE(deletes, WithChangeType(deletes, "delete"));
  ARROW_ASSIGN_OR_RAISE(auto both, arrow::ConcatenateTables({inserts, deletes}));
  return both->CombineChunks();
}

}  // namespace datashard
