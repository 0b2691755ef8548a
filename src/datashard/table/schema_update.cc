#include "datashard/schema_update.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "datashard/commit/committer.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/commit/version_resolver.h"
#include "datashard/format/file_names.h"
#include "datashard/format/partition_spec.h"
#include "datashard/format/sort_order.h"
#include "datashard/table/table_internal.h"
#include "datashard/table_properties.h"

namespace datashard {
namespace {

bool IsAllowedPromotion(const Type& from, const Type& to) {
  if (from == to) return true;
  if (from.id == TypeId::kInt && to.id == TypeId::kLong) return true;
  if (from.id == TypeId::kFloat && to.id == TypeId::kDouble) return true;
  return from.id == TypeId::kDecimal && to.id == TypeId::kDecimal && from.scale == to.scale &&
         to.precision >= from.precision;
}

Result<Schema> Apply(const TableMetadata& metadata, const std::vector<SchemaUpdate>& updates) {
  Schema schema = *metadata.CurrentSchema();
  int32_t last_id = std::max(metadata.last_column_id, schema.HighestFieldId());
  auto find = [&](const std::string& name) -> Result<NestedField*> {
    for (auto& field : schema.fields) {
      if (field.name == name) return &field;
    }
    return SchemaError("no column named \"", name, "\"");
  };
  for (const auto& update : updates) {
    switch (update.kind) {
      case SchemaUpdate::Kind::kAddColumn: {
        if (schema.FindField(update.column) != nullptr) {
          return SchemaError("column \"", update.column, "\" already exists");
        }
        // Older rows have no value for it, so a new column is optional.
        schema.fields.push_back(NestedField{++last_id, update.column, update.type, false, update.doc});
        break;
      }
      case SchemaUpdate::Kind::kRenameColumn: {
        ARROW_ASSIGN_OR_RAISE(NestedField * field, find(update.column));
        if (update.new_name.empty()) return SchemaError("the new name of \"", update.column, "\" is empty");
        if (schema.FindField(update.new_name) != nullptr) {
          return SchemaError("cannot rename \"", update.column, "\" to \"", update.new_name, "\": name in use");
        }
        field->name = update.new_name;
        break;
      }
      case SchemaUpdate::Kind::kDropColumn: {
        ARROW_ASSIGN_OR_RAISE(NestedField * field, find(update.column));
        for (const auto& spec : metadata.partition_specs) {
          for (const auto& pf : spec.fields) {
            if (pf.source_id == field->id && spec.spec_id == metadata.default_spec_id) {
              return SchemaError("cannot drop \"", update.column, "\": the table is partitioned by it");
            }
          }
        }
        const SortOrder* order = metadata.DefaultSortOrder();
        if (order != nullptr) {
          for (const auto& sf : order->fields) {
            if (sf.source_id == field->id) {
              return SchemaError("cannot drop \"", update.column,
                                 "\": the table's sort order uses it (replace the sort order first)");
            }
          }
        }
        if (std::find(schema.identifier_field_ids.begin(), schema.identifier_field_ids.end(), field->id) !=
            schema.identifier_field_ids.end()) {
          return SchemaError("cannot drop identifier column \"", update.column, "\"");
        }
        const int32_t id = field->id;
        std::erase_if(schema.fields, [id](const NestedField& f) { return f.id == id; });
        if (schema.fields.empty()) return SchemaError("cannot drop the last column");
        break;
      }
      case SchemaUpdate::Kind::kWidenColumn: {
        ARROW_ASSIGN_OR_RAISE(NestedField * field, find(update.column));
        if (!IsAllowedPromotion(field->type, update.type)) {
          return SchemaError("cannot change \"", update.column, "\" from ", field->type.ToString(), " to ",
                             update.type.ToString(),
                             " (allowed: int->long, float->double, decimal(P,S)->decimal(P',S) with P'>=P)");
        }
        field->type = update.type;
        break;
      }
      case SchemaUpdate::Kind::kMakeOptional: {
        ARROW_ASSIGN_OR_RAISE(NestedField * field, find(update.column));
        field->required = false;
        break;
      }
    }
  }
  if (schema.fields.empty()) return SchemaError("a table keeps at least one column; the last one cannot be dropped");
  ARROW_RETURN_NOT_OK(schema.Validate());
  return schema;
}

Result<commit::CommitOutcome> CommitMetadataChange(
    Table& table, const std::function<Result<TableMetadata>(const TableMetadata& latest)>& change) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  commit::CommitOptions options;
  options.queue = TableInternal::Queue(table);
  ARROW_ASSIGN_OR_RAISE(options.durability, commit::DurabilityOf(*table.metadata()));
  commit::VersionedMetadata start{table.version(), table.metadata()};
  ARROW_ASSIGN_OR_RAISE(auto outcome,
                        commit::CommitWithRetry(
                            table.fs(), table.location(), start,
                            [&](const commit::VersionedMetadata& latest, int) -> Result<commit::BuiltCommit> {
                              commit::BuiltCommit built;
                              ARROW_ASSIGN_OR_RAISE(built.metadata, change(*latest.metadata));
                              commit::FollowVersion(built.metadata, latest);
                              return built;
                            },
                            options));
  TableInternal::Adopt(table, outcome.committed.version, outcome.committed.metadata);
  return outcome;
}

// The table metadata `latest` with its first schema: `schema` replaces the
// empty schema 0 (no snapshot refers to it), a pending partition spec
// becomes spec 0 and a pending sort order the default order.
Result<TableMetadata> WithInitialSchema(const TableMetadata& latest, const Schema& schema) {
  TableMetadata m = latest;
  Schema first = schema;
  first.schema_id = latest.current_schema_id;
  for (auto& s : m.schemas) {
    if (s.schema_id == first.schema_id) s = first;
  }
  m.last_column_id = std::max(m.last_column_id, first.HighestFieldId());
  auto pending = m.properties.find(TableProperties::kPendingPartitionSpec.key);
  if (pending != m.properties.end()) {
    auto parsed = nlohmann::json::parse(pending->second, nullptr, false);
    if (parsed.is_discarded()) {
      return CorruptData("table property ", TableProperties::kPendingPartitionSpec.key, " is not JSON");
    }
    ARROW_ASSIGN_OR_RAISE(PartitionSpec spec, format::PartitionSpecFromJson(parsed));
    ARROW_RETURN_NOT_OK(spec.Validate(first));
    spec.spec_id = m.default_spec_id;
    for (auto& s : m.partition_specs) {
      if (s.spec_id == spec.spec_id) s = spec;
    }
    m.last_partition_id = std::max(m.last_partition_id, spec.LastFieldId());
    m.properties.erase(pending);
  }
  auto pending_order = m.properties.find(TableProperties::kPendingSortOrder.key);
  if (pending_order != m.properties.end()) {
    auto parsed = nlohmann::json::parse(pending_order->second, nullptr, false);
    if (parsed.is_discarded()) {
      return CorruptData("table property ", TableProperties::kPendingSortOrder.key, " is not JSON");
    }
    ARROW_ASSIGN_OR_RAISE(auto terms, format::SortTermsFromJson(parsed));
    ARROW_ASSIGN_OR_RAISE(SortOrder order, BindSortOrder(first, terms));
    m.properties.erase(pending_order);
    m = format::WithDefaultSortOrder(m, std::move(order));
  }
  return m;
}

Status SetRef(Table& table, const std::string& name, int64_t snapshot_id, const std::string& type) {
  if (name.empty()) return InvalidArgument("a ref needs a name");
  if (name == "main") return InvalidArgument("\"main\" is the table's current snapshot; it cannot be set directly");
  return CommitMetadataChange(table,
                              [&](const TableMetadata& latest) -> Result<TableMetadata> {
                                if (latest.refs.count(name))
                                  return InvalidArgument("a ref named \"", name, "\" already exists");
                                if (latest.SnapshotById(snapshot_id) == nullptr) {
                                  return InvalidArgument("snapshot ", snapshot_id,
                                                         " is not among the table's retained snapshots");
                                }
                                TableMetadata m = latest;
                                m.refs[name] = SnapshotRef{snapshot_id, type, {}, {}, {}};
                                return m;
                              })
      .status();
}

}  // namespace

namespace {

// A value datashard reads is checked against the registry; other keys are
// stored as given (Iceberg tables carry other engines' properties).
Status CheckProperty(const std::string& key, const std::string& value) {
  if (key.empty()) return InvalidArgument("a table property needs a name");
  const TableProperty* property = TableProperties::Find(key);
  if (property == nullptr) return Status::OK();
  if (property->reserved) {
    return InvalidArgument("table property ", key, " is kept by datashard itself and cannot be set by hand");
  }
  return CheckPropertyValue(*property, value, key);
}

}  // namespace

Status SetProperties(Table& table, const std::map<std::string, std::string>& set,
                     const std::vector<std::string>& remove) {
  for (const auto& [key, value] : set) ARROW_RETURN_NOT_OK(CheckProperty(key, value));
  for (const auto& key : remove) {
    if (set.count(key)) return InvalidArgument("property \"", key, "\" is both set and removed");
    const TableProperty* property = TableProperties::Find(key);
    if (property != nullptr && property->reserved) {
      return InvalidArgument("table property ", key, " is kept by datashard itself and cannot be removed by hand");
    }
  }
  if (set.empty() && remove.empty()) return Status::OK();
  return CommitMetadataChange(table,
                              [&](const TableMetadata& latest) -> Result<TableMetadata> {
                                TableMetadata m = latest;
                                for (const auto& [key, value] : set) m.properties[key] = value;
                                for (const auto& key : remove) m.properties.erase(key);
                                return m;
                              })
      .status();
}

Result<Schema> SetInitialSchema(Table& table, const Schema& schema) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  if (!table.metadata()->CurrentSchema()->fields.empty()) return *table.metadata()->CurrentSchema();
  if (schema.fields.empty()) return SchemaError("the first schema of a table needs at least one column");
  ARROW_RETURN_NOT_OK(schema.Validate());
  ARROW_RETURN_NOT_OK(WithInitialSchema(*table.metadata(), schema).status());  // fail fast, before any I/O
  bool lost_race = false;
  auto outcome = CommitMetadataChange(table, [&](const TableMetadata& latest) -> Result<TableMetadata> {
    if (!latest.CurrentSchema()->fields.empty()) {
      lost_race = true;  // another writer's first append set it: theirs stands
      return Status::Cancelled("the table has a schema already");
    }
    return WithInitialSchema(latest, schema);
  });
  if (lost_race) {
    ARROW_RETURN_NOT_OK(table.Refresh());
  } else {
    ARROW_RETURN_NOT_OK(outcome.status());
  }
  return *table.metadata()->CurrentSchema();
}

Result<Schema> UpdateSchema(Table& table, const std::vector<SchemaUpdate>& updates) {
  if (updates.empty()) return *table.metadata()->CurrentSchema();
  ARROW_RETURN_NOT_OK(Apply(*table.metadata(), updates).status());  // fail fast, before any I/O
  Schema committed;
  ARROW_RETURN_NOT_OK(CommitMetadataChange(table, [&](const TableMetadata& latest) -> Result<TableMetadata> {
                        ARROW_ASSIGN_OR_RAISE(Schema schema, Apply(latest, updates));
                        TableMetadata m = latest;
                        int32_t next_id = 0;
                        for (const auto& s : m.schemas) next_id = std::max(next_id, s.schema_id + 1);
                        schema.schema_id = next_id;
                        m.last_column_id = std::max(m.last_column_id, schema.HighestFieldId());
                        m.schemas.push_back(schema);
                        m.current_schema_id = schema.schema_id;
                        committed = schema;
                        return m;
                      }).status());
  return committed;
}

Result<SortOrder> ReplaceSortOrder(Table& table, const std::vector<SortTerm>& terms) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  ARROW_ASSIGN_OR_RAISE(SortOrder wanted, BindSortOrder(*table.metadata()->CurrentSchema(), terms));
  // The order in force already: nothing to commit (as Iceberg's
  // ReplaceSortOrder, which leaves the metadata as it is).
  const SortOrder* current = table.metadata()->DefaultSortOrder();
  if (current != nullptr && !current->opaque && current->fields == wanted.fields) return *current;
  SortOrder committed;
  ARROW_RETURN_NOT_OK(CommitMetadataChange(table, [&](const TableMetadata& latest) -> Result<TableMetadata> {
                        ARROW_ASSIGN_OR_RAISE(SortOrder order, BindSortOrder(*latest.CurrentSchema(), terms));
                        TableMetadata m = format::WithDefaultSortOrder(latest, std::move(order));
                        committed = *m.DefaultSortOrder();
                        return m;
                      }).status());
  return committed;
}

Status CreateTag(Table& table, const std::string& name, int64_t snapshot_id) {
  return SetRef(table, name, snapshot_id, "tag");
}

Status CreateBranch(Table& table, const std::string& name, int64_t snapshot_id) {
  return SetRef(table, name, snapshot_id, "branch");
}

Status DropRef(Table& table, const std::string& name) {
  if (name == "main") return InvalidArgument("the main branch cannot be dropped");
  return CommitMetadataChange(table,
                              [&](const TableMetadata& latest) -> Result<TableMetadata> {
                                if (!latest.refs.count(name)) return InvalidArgument("no ref named \"", name, "\"");
                                TableMetadata m = latest;
                                m.refs.erase(name);
                                return m;
                              })
      .status();
}

Result<std::optional<int64_t>> SnapshotAsOf(Table& table, int64_t timestamp_ms) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  auto current = table.metadata();
  // Recent history: the snapshot log of the current version answers directly.
  const auto& log = current->snapshot_log;
  if (!log.empty() && log.front().timestamp_ms <= timestamp_ms) {
    std::optional<int64_t> found;
    for (const auto& entry : log) {
      if (entry.timestamp_ms <= timestamp_ms) found = entry.snapshot_id;
    }
    return found;
  }
  // Older: binary search over versions by last-updated-ms (monotone); a
  // version whose file expiry deleted counts as "before the time".
  int64_t lo = 0;  // last version known to be at or before the time (0: none)
  int64_t hi = table.version() + 1;
  std::shared_ptr<const TableMetadata> best;
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    auto loaded = commit::LoadVersion(table.fs(), table.location(), mid);
    if (!loaded.ok() && !IsNotFound(loaded.status())) return loaded.status();
    if (!loaded.ok()) {
      lo = mid;  // deleted prefix: older than anything retained
      continue;
    }
    if (loaded->metadata->last_updated_ms <= timestamp_ms) {
      lo = mid;
      best = loaded->metadata;
    } else {
      hi = mid;
    }
  }
  if (best == nullptr || !best->current_snapshot_id) return std::optional<int64_t>();
  // A version older than the last expiry may name a snapshot it expired; the
  // expiry's own version lists every snapshot it retained.
  const int64_t start = IntegerProperty(*current, TableProperties::kHistoryStartVersion);
  if (lo < start) {
    ARROW_ASSIGN_OR_RAISE(auto expiry, commit::LoadVersion(table.fs(), table.location(), start));
    if (expiry.metadata->SnapshotById(*best->current_snapshot_id) == nullptr) return std::optional<int64_t>();
  }
  return best->current_snapshot_id;
}

}  // namespace datashard
