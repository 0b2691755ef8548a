#include "datashard/format/table_metadata.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "datashard/format/partition_spec.h"
#include "datashard/format/schema.h"
#include "datashard/format/sort_order.h"

namespace datashard {

std::string Snapshot::operation() const {
  auto it = summary.find("operation");
  return it == summary.end() ? "" : it->second;
}

int64_t Snapshot::SummaryLong(const std::string& key, int64_t fallback) const {
  auto it = summary.find(key);
  if (it == summary.end()) return fallback;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
  if (ec != std::errc() || ptr != it->second.data() + it->second.size()) return fallback;
  return value;
}

const Schema* TableMetadata::SchemaById(int32_t id) const {
  for (const auto& schema : schemas) {
    if (schema.schema_id == id) return &schema;
  }
  return nullptr;
}
const Schema* TableMetadata::CurrentSchema() const { return SchemaById(current_schema_id); }

const PartitionSpec* TableMetadata::SpecById(int32_t id) const {
  for (const auto& spec : partition_specs) {
    if (spec.spec_id == id) return &spec;
  }
  return nullptr;
}
const PartitionSpec* TableMetadata::DefaultSpec() const { return SpecById(default_spec_id); }

const SortOrder* TableMetadata::SortOrderById(int32_t id) const {
  for (const auto& order : sort_orders) {
    if (order.order_id == id) return &order;
  }
  return nullptr;
}
const SortOrder* TableMetadata::DefaultSortOrder() const { return SortOrderById(default_sort_order_id); }

const Snapshot* TableMetadata::SnapshotById(int64_t id) const {
  for (const auto& snapshot : snapshots) {
    if (snapshot.snapshot_id == id) return &snapshot;
  }
  return nullptr;
}
const Snapshot* TableMetadata::CurrentSnapshot() const {
  return current_snapshot_id ? SnapshotById(*current_snapshot_id) : nullptr;
}

}  // namespace datashard

namespace datashard::format {

using nlohmann::json;

namespace {

// Appends `text` as a JSON string. Plain printable ASCII (every key, number,
// path and operation the engine writes) is copied as is; anything else goes
// through nlohmann's escaping, which also rejects invalid UTF-8 as before.
void AppendString(std::string& out, std::string_view text) {
  const bool plain =
      std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
  if (plain) {
    out += '"';
    out += text;
    out += '"';
  } else {
    out += json(std::string(text)).dump();
  }
}

void AppendKey(std::string& out, std::string_view key) {
  AppendString(out, key);
  out += ':';
}

void AppendNumber(std::string& out, int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, end);
}

// The three arrays that grow with history (snapshots and the two logs), as
// JSON text written directly: building them as a JSON tree was most of a
// small commit's serialization cost.
void AppendHistory(std::string& out, const TableMetadata& m) {
  out += "\"snapshots\":[";
  for (size_t i = 0; i < m.snapshots.size(); ++i) {
    const Snapshot& s = m.snapshots[i];
    if (i > 0) out += ',';
    out += '{';
    AppendKey(out, "snapshot-id");
    AppendNumber(out, s.snapshot_id);
    // Java throws on a null parent: omit the key instead.
    if (s.parent_snapshot_id) {
      out += ",\"parent-snapshot-id\":";
      AppendNumber(out, *s.parent_snapshot_id);
    }
    out += ",\"sequence-number\":";
    AppendNumber(out, s.sequence_number);
    out += ",\"timestamp-ms\":";
    AppendNumber(out, s.timestamp_ms);
    out += ",\"manifest-list\":";
    AppendString(out, s.manifest_list);
    out += ",\"summary\":{";
    bool first = true;
    for (const auto& [key, value] : s.summary) {
      if (!first) out += ',';
      first = false;
      AppendKey(out, key);
      AppendString(out, value);
    }
    out += '}';
    if (s.schema_id) {
      out += ",\"schema-id\":";
      AppendNumber(out, *s.schema_id);
    }
    out += '}';
  }
  out += "],\"snapshot-log\":[";
  for (size_t i = 0; i < m.snapshot_log.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"timestamp-ms\":";
    AppendNumber(out, m.snapshot_log[i].timestamp_ms);
    out += ",\"snapshot-id\":";
    AppendNumber(out, m.snapshot_log[i].snapshot_id);
    out += '}';
  }
  out += "],\"metadata-log\":[";
  for (size_t i = 0; i < m.metadata_log.size(); ++i) {
    if (i > 0) out += ',';
    out += "{\"timestamp-ms\":";
    AppendNumber(out, m.metadata_log[i].timestamp_ms);
    out += ",\"metadata-file\":";
    AppendString(out, m.metadata_log[i].metadata_file);
    out += '}';
  }
  out += ']';
}

}  // namespace

std::string TableMetadataToJson(const TableMetadata& m) {
  json schemas = json::array();
  for (const auto& schema : m.schemas) schemas.push_back(SchemaToJson(schema));
  json specs = json::array();
  for (const auto& spec : m.partition_specs) specs.push_back(PartitionSpecToJson(spec));
  json orders = json::array();
  for (const auto& order : m.sort_orders) orders.push_back(SortOrderToJson(order));
  json refs = json::object();
  for (const auto& [name, ref] : m.refs) {
    json r = {{"snapshot-id", ref.snapshot_id}, {"type", ref.type}};
    if (ref.min_snapshots_to_keep) r["min-snapshots-to-keep"] = *ref.min_snapshots_to_keep;
    if (ref.max_snapshot_age_ms) r["max-snapshot-age-ms"] = *ref.max_snapshot_age_ms;
    if (ref.max_ref_age_ms) r["max-ref-age-ms"] = *ref.max_ref_age_ms;
    refs[name] = std::move(r);
  }
  json out = {
      {"format-version", m.format_version},
      {"table-uuid", m.table_uuid},
      {"location", m.location},
      {"last-sequence-number", m.last_sequence_number},
      {"last-updated-ms", m.last_updated_ms},
      {"last-column-id", m.last_column_id},
      {"current-schema-id", m.current_schema_id},
      {"schemas", std::move(schemas)},
      {"default-spec-id", m.default_spec_id},
      {"partition-specs", std::move(specs)},
      {"last-partition-id", m.last_partition_id},
      {"default-sort-order-id", m.default_sort_order_id},
      {"sort-orders", std::move(orders)},
      {"properties", m.properties},
      // -1, not null, for "no current snapshot" (Java v2 and the spec's Appendix F).
      {"current-snapshot-id", m.current_snapshot_id.value_or(-1)},
      {"refs", std::move(refs)},
      {"statistics", json::parse(m.statistics_json)},
      {"partition-statistics", json::parse(m.partition_statistics_json)},
  };
  // The tree above holds the fixed-size fields; the history arrays follow it
  // inside the same object.
  std::string text = out.dump();
  text.pop_back();  // the closing brace
  text += ',';
  AppendHistory(text, m);
  text += '}';
  return text;
}

namespace {

// Typed accessors: every missing or mistyped field is a CorruptData error
// naming the key and the file, never an exception.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  Result<int64_t> Long(const json& obj, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_number_integer()) return Missing(key, "an integer");
    return it->get<int64_t>();
  }
  Result<int32_t> Int(const json& obj, const char* key) const {
    ARROW_ASSIGN_OR_RAISE(int64_t value, Long(obj, key));
    if (value < INT32_MIN || value > INT32_MAX) return Missing(key, "a 32-bit integer");
    return static_cast<int32_t>(value);
  }
  Result<std::string> String(const json& obj, const char* key) const {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return Missing(key, "a string");
    return it->get<std::string>();
  }
  Result<const json*> Array(const json& obj, const char* key, bool optional) const {
    static const json kEmpty = json::array();
    auto it = obj.find(key);
    if (it == obj.end() || (optional && it->is_null())) {
      if (optional) return &kEmpty;
      return Missing(key, "an array");
    }
    if (!it->is_array()) return Missing(key, "an array");
    return &*it;
  }
  Result<std::map<std::string, std::string>> StringMap(const json& obj, const char* key) const {
    std::map<std::string, std::string> out;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return out;
    if (!it->is_object()) return Missing(key, "an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) return Missing(key, "an object of strings");
      out[k] = v.get<std::string>();
    }
    return out;
  }
  Status Missing(const char* key, const char* what) const {
    return CorruptData("table metadata ", source_, ": \"", key, "\" is missing or not ", what);
  }

 private:
  const std::string& source_;
};

Result<TableMetadata> Parse(const json& doc, const std::string& source) {
  Reader r(source);
  if (!doc.is_object()) return CorruptData("table metadata ", source, " is not a JSON object");
  TableMetadata m;
  ARROW_ASSIGN_OR_RAISE(m.format_version, r.Int(doc, "format-version"));
  if (m.format_version != 2) {
    return CorruptData("table metadata ", source, " has format-version ", m.format_version,
                       "; datashard reads and writes Iceberg format version 2");
  }
  ARROW_ASSIGN_OR_RAISE(m.table_uuid, r.String(doc, "table-uuid"));
  ARROW_ASSIGN_OR_RAISE(m.location, r.String(doc, "location"));
  while (m.location.size() > 1 && m.location.back() == '/') m.location.pop_back();
  ARROW_ASSIGN_OR_RAISE(m.last_sequence_number, r.Long(doc, "last-sequence-number"));
  ARROW_ASSIGN_OR_RAISE(m.last_updated_ms, r.Long(doc, "last-updated-ms"));
  ARROW_ASSIGN_OR_RAISE(m.last_column_id, r.Int(doc, "last-column-id"));
  ARROW_ASSIGN_OR_RAISE(m.current_schema_id, r.Int(doc, "current-schema-id"));
  ARROW_ASSIGN_OR_RAISE(const json* schemas, r.Array(doc, "schemas", false));
  for (const auto& s : *schemas) {
    auto schema = SchemaFromJson(s);
    if (!schema.ok()) return CorruptData("table metadata ", source, ": ", schema.status().message());
    m.schemas.push_back(std::move(*schema));
  }
  if (m.CurrentSchema() == nullptr) return r.Missing("current-schema-id", "the id of a listed schema");
  ARROW_ASSIGN_OR_RAISE(m.default_spec_id, r.Int(doc, "default-spec-id"));
  ARROW_ASSIGN_OR_RAISE(const json* specs, r.Array(doc, "partition-specs", false));
  for (const auto& s : *specs) {
    auto spec = PartitionSpecFromJson(s);
    if (!spec.ok()) return CorruptData("table metadata ", source, ": ", spec.status().message());
    m.partition_specs.push_back(std::move(*spec));
  }
  if (m.DefaultSpec() == nullptr) return r.Missing("default-spec-id", "the id of a listed partition spec");
  auto last_partition = r.Int(doc, "last-partition-id");
  m.last_partition_id = last_partition.ok() ? *last_partition : m.DefaultSpec()->LastFieldId();
  auto sort_id = r.Int(doc, "default-sort-order-id");
  m.default_sort_order_id = sort_id.ok() ? *sort_id : 0;
  if (doc.contains("sort-orders") && doc["sort-orders"].is_array()) {
    m.sort_orders.clear();
    for (const auto& o : doc["sort-orders"]) {
      auto order = SortOrderFromJson(o);
      if (!order.ok()) return CorruptData("table metadata ", source, ": ", order.status().message());
      m.sort_orders.push_back(std::move(*order));
    }
  }
  // Order 0 is the unsorted order, listed in every file this engine writes
  // so that `default-sort-order-id` 0 always names a listed order. A default
  // order that is not listed is kept as read; writers then sort by nothing
  // (DefaultSortOrder() is null).
  if (m.SortOrderById(kUnsortedOrderId) == nullptr) m.sort_orders.insert(m.sort_orders.begin(), SortOrder{});
  ARROW_ASSIGN_OR_RAISE(m.properties, r.StringMap(doc, "properties"));
  if (doc.contains("current-snapshot-id") && !doc["current-snapshot-id"].is_null()) {
    ARROW_ASSIGN_OR_RAISE(int64_t current, r.Long(doc, "current-snapshot-id"));
    if (current >= 0) m.current_snapshot_id = current;
  }
  ARROW_ASSIGN_OR_RAISE(const json* snapshots, r.Array(doc, "snapshots", true));
  for (const auto& s : *snapshots) {
    if (!s.is_object()) return r.Missing("snapshots", "an array of objects");
    Snapshot snap;
    ARROW_ASSIGN_OR_RAISE(snap.snapshot_id, r.Long(s, "snapshot-id"));
    if (s.contains("parent-snapshot-id") && !s["parent-snapshot-id"].is_null()) {
      ARROW_ASSIGN_OR_RAISE(snap.parent_snapshot_id, r.Long(s, "parent-snapshot-id"));
    }
    auto seq = r.Long(s, "sequence-number");
    snap.sequence_number = seq.ok() ? *seq : 0;
    ARROW_ASSIGN_OR_RAISE(snap.timestamp_ms, r.Long(s, "timestamp-ms"));
    ARROW_ASSIGN_OR_RAISE(snap.manifest_list, r.String(s, "manifest-list"));
    ARROW_ASSIGN_OR_RAISE(snap.summary, r.StringMap(s, "summary"));
    if (s.contains("schema-id") && s["schema-id"].is_number_integer()) snap.schema_id = s["schema-id"].get<int32_t>();
    m.snapshots.push_back(std::move(snap));
  }
  if (m.current_snapshot_id && m.CurrentSnapshot() == nullptr) {
    return CorruptData("table metadata ", source, ": current-snapshot-id ", *m.current_snapshot_id,
                       " is not among its snapshots");
  }
  ARROW_ASSIGN_OR_RAISE(const json* snapshot_log, r.Array(doc, "snapshot-log", true));
  for (const auto& e : *snapshot_log) {
    SnapshotLogEntry entry;
    ARROW_ASSIGN_OR_RAISE(entry.timestamp_ms, r.Long(e, "timestamp-ms"));
    ARROW_ASSIGN_OR_RAISE(entry.snapshot_id, r.Long(e, "snapshot-id"));
    m.snapshot_log.push_back(entry);
  }
  ARROW_ASSIGN_OR_RAISE(const json* metadata_log, r.Array(doc, "metadata-log", true));
  for (const auto& e : *metadata_log) {
    MetadataLogEntry entry;
    ARROW_ASSIGN_OR_RAISE(entry.timestamp_ms, r.Long(e, "timestamp-ms"));
    ARROW_ASSIGN_OR_RAISE(entry.metadata_file, r.String(e, "metadata-file"));
    m.metadata_log.push_back(std::move(entry));
  }
  if (doc.contains("refs") && doc["refs"].is_object()) {
    for (const auto& [name, ref_json] : doc["refs"].items()) {
      SnapshotRef ref;
      ARROW_ASSIGN_OR_RAISE(ref.snapshot_id, r.Long(ref_json, "snapshot-id"));
      ARROW_ASSIGN_OR_RAISE(ref.type, r.String(ref_json, "type"));
      if (ref.type != "branch" && ref.type != "tag") return r.Missing("refs.type", "\"branch\" or \"tag\"");
      if (ref_json.contains("min-snapshots-to-keep")) {
        ARROW_ASSIGN_OR_RAISE(ref.min_snapshots_to_keep, r.Int(ref_json, "min-snapshots-to-keep"));
      }
      if (ref_json.contains("max-snapshot-age-ms")) {
        ARROW_ASSIGN_OR_RAISE(ref.max_snapshot_age_ms, r.Long(ref_json, "max-snapshot-age-ms"));
      }
      if (ref_json.contains("max-ref-age-ms")) {
        ARROW_ASSIGN_OR_RAISE(ref.max_ref_age_ms, r.Long(ref_json, "max-ref-age-ms"));
      }
      m.refs[name] = ref;
    }
  } else if (m.current_snapshot_id) {
    m.refs["main"] = SnapshotRef{*m.current_snapshot_id, "branch", {}, {}, {}};
  }
  if (doc.contains("statistics") && doc["statistics"].is_array()) m.statistics_json = doc["statistics"].dump();
  if (doc.contains("partition-statistics") && doc["partition-statistics"].is_array()) {
    m.partition_statistics_json = doc["partition-statistics"].dump();
  }
  return m;
}

}  // namespace

Result<TableMetadata> TableMetadataFromJson(std::string_view text, const std::string& source) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return CorruptData("table metadata ", source, " is not valid JSON");
  try {
    return Parse(doc, source);
  } catch (const json::exception& e) {
    return CorruptData("table metadata ", source, " is malformed: ", e.what());
  }
}

}  // namespace datashard::format
