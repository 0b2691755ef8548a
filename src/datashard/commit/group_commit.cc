#include "datashard/commit/group_commit.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "datashard/commit/committer.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/util/uuid.h"

namespace datashard::commit {
namespace {

using nlohmann::json;

constexpr char kIntentSuffix[] = ".intent";

std::string PendingDir(const std::string& location) { return format::MetadataDir(location) + "/_pending"; }

std::optional<int64_t> ParseLong(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// An integer field of an intent. nlohmann converts a float to an integer
// type without a range check (undefined behaviour), and intents are input
// read from files, so the type and range are checked first.
template <typename T>
T IntegerAt(const json& object, const char* key) {
  const json& value = object.at(key);
  if (value.is_number_unsigned()) {
    const uint64_t unsigned_value = value.get<uint64_t>();
    if (unsigned_value > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      throw std::invalid_argument(std::string(key) + " is out of range");
    }
    return static_cast<T>(unsigned_value);
  }
  if (!value.is_number_integer()) throw std::invalid_argument(std::string(key) + " is not an integer");
  const int64_t signed_value = value.get<int64_t>();
  if (signed_value < std::numeric_limits<T>::min() || signed_value > std::numeric_limits<T>::max()) {
    throw std::invalid_argument(std::string(key) + " is out of range");
  }
  return static_cast<T>(signed_value);
}

Result<std::string> Unhex(const std::string& text) {
  if (text.size() % 2 != 0) return CorruptData("odd-length hex string in an intent");
  std::string out;
  out.reserve(text.size() / 2);
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = digit(text[i]), lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return CorruptData("bad hex digit in an intent");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// The process's writer ids that no commit is using, each with its next seq.
struct SlotPool {
  std::mutex mutex;
  std::vector<std::pair<std::string, int64_t>> free;
  // A forked child must not reuse its parent's ids: both would post the same
  // (writer, seq) and one's mark would settle the other's intent.
  pid_t pid = 0;
};

SlotPool& Pool() {
  static SlotPool pool;
  return pool;
}

}  // namespace

Result<bool> GroupCommitEnabled(const TableMetadata& metadata) {
  return BoolProperty(metadata, TableProperties::kCommitGroup);
}

Result<bool> GroupRowsEnabled(const TableMetadata& metadata) {
  return BoolProperty(metadata, TableProperties::kCommitGroupRows);
}

WriterSlot::WriterSlot() {
  {
    std::lock_guard<std::mutex> lock(Pool().mutex);
    if (Pool().pid != ::getpid()) {
      Pool().free.clear();
      Pool().pid = ::getpid();
    }
    if (!Pool().free.empty()) {
      std::tie(writer_, seq_) = Pool().free.back();
      Pool().free.pop_back();
    }
  }
  if (writer_.empty()) {
    writer_ = NewUuid();
    seq_ = 1;
  }
}

WriterSlot::~WriterSlot() {
  std::lock_guard<std::mutex> lock(Pool().mutex);
  if (Pool().pid == ::getpid()) Pool().free.emplace_back(writer_, seq_ + 1);
}

std::string IntentPath(const std::string& location, const std::string& writer, int64_t seq) {
  return PendingDir(location) + "/" + writer + "-" + std::to_string(seq) + kIntentSuffix;
}

std::string EncodeIntent(const Intent& intent) {
  json manifests = json::array();
  for (const auto& m : intent.manifests) {
    json partitions = json::array();
    for (const auto& p : m.partitions) {
      json summary = {{"contains-null", p.contains_null}};
      if (p.contains_nan) summary["contains-nan"] = *p.contains_nan;
      if (p.lower_bound) summary["lower-bound"] = Hex(*p.lower_bound);
      if (p.upper_bound) summary["upper-bound"] = Hex(*p.upper_bound);
      partitions.push_back(std::move(summary));
    }
    manifests.push_back({{"path", m.manifest_path},
                         {"length", m.manifest_length},
                         {"spec-id", m.partition_spec_id},
                         {"added-files", m.added_files_count},
                         {"added-rows", m.added_rows_count},
                         {"partitions", std::move(partitions)}});
  }
  json out = {{"writer", intent.writer},
              {"seq", intent.seq},
              {"durability", intent.durability == Durability::kFsync ? "fsync" : "process"},
              {"created-ms", intent.created_ms},
              {"added-files", intent.added_files},
              {"added-records", intent.added_records},
              {"added-files-size", intent.added_files_size},
              {"manifests", std::move(manifests)}};
  if (!intent.files.empty()) out["files"] = intent.files;
  if (intent.rows.empty()) return out.dump();
  // The rows follow the JSON line as raw bytes (dump() escapes every newline
  // inside strings, so the first newline ends the JSON).
  out["rows-bytes"] = intent.rows.size();
  out["schema-id"] = intent.schema_id;
  out["spec-id"] = intent.spec_id;
  std::string text = out.dump();
  text.push_back('\n');
  text += intent.rows;
  return text;
}

Result<Intent> DecodeIntent(std::string_view text) {
  const size_t newline = text.find('\n');
  const std::string_view head = text.substr(0, newline);
  json in = json::parse(head, nullptr, /*allow_exceptions=*/false);
  if (!in.is_object()) return CorruptData("an intent is not a JSON object");
  try {
    Intent intent;
    intent.writer = in.at("writer").get<std::string>();
    intent.seq = IntegerAt<int64_t>(in, "seq");
    ARROW_ASSIGN_OR_RAISE(intent.durability, ParseDurability(in.at("durability").get<std::string>()));
    intent.created_ms = IntegerAt<int64_t>(in, "created-ms");
    intent.added_files = IntegerAt<int64_t>(in, "added-files");
    intent.added_records = IntegerAt<int64_t>(in, "added-records");
    intent.added_files_size = IntegerAt<int64_t>(in, "added-files-size");
    for (const auto& m : in.at("manifests")) {
      format::ManifestFile manifest;
      manifest.manifest_path = m.at("path").get<std::string>();
      manifest.manifest_length = IntegerAt<int64_t>(m, "length");
      manifest.partition_spec_id = IntegerAt<int32_t>(m, "spec-id");
      manifest.added_files_count = IntegerAt<int32_t>(m, "added-files");
      manifest.added_rows_count = IntegerAt<int64_t>(m, "added-rows");
      for (const auto& p : m.at("partitions")) {
        format::FieldSummary summary;
        summary.contains_null = p.at("contains-null").get<bool>();
        if (p.contains("contains-nan")) summary.contains_nan = p.at("contains-nan").get<bool>();
        if (p.contains("lower-bound")) {
          ARROW_ASSIGN_OR_RAISE(summary.lower_bound, Unhex(p.at("lower-bound").get<std::string>()));
        }
        if (p.contains("upper-bound")) {
          ARROW_ASSIGN_OR_RAISE(summary.upper_bound, Unhex(p.at("upper-bound").get<std::string>()));
        }
        manifest.partitions.push_back(std::move(summary));
      }
      intent.manifests.push_back(std::move(manifest));
    }
    if (in.contains("files")) {
      for (const auto& path : in.at("files")) intent.files.push_back(path.get<std::string>());
    }
    const std::string_view tail = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (in.contains("rows-bytes")) {
      if (IntegerAt<int64_t>(in, "rows-bytes") != static_cast<int64_t>(tail.size())) {
        return CorruptData("an intent's rows are truncated");
      }
      if (tail.empty()) return CorruptData("an intent carries no rows");
      intent.rows = std::string(tail);
      intent.schema_id = IntegerAt<int32_t>(in, "schema-id");
      intent.spec_id = IntegerAt<int32_t>(in, "spec-id");
    } else if (!tail.empty()) {
      return CorruptData("an intent has bytes after its JSON");
    }
    return intent;
  } catch (const std::exception& e) {  // json::exception and IntegerAt's
    return CorruptData("an intent is malformed: ", e.what());
  }
}

Status PostIntent(FileSystem& fs, const std::string& location, const Intent& intent) {
  static std::mutex mutex;
  static std::set<std::string> created;  // locations whose _pending/ this process made sure of
  const std::string dir = PendingDir(location);
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(mutex);
    known = created.count(dir) > 0;
  }
  if (!known) {
    ARROW_RETURN_NOT_OK(fs.CreateDir(dir));
    std::lock_guard<std::mutex> lock(mutex);
    created.insert(dir);
  }
  return fs.PublishIfAbsent(IntentPath(location, intent.writer, intent.seq), EncodeIntent(intent),
                            Durability::kProcess);
}

std::optional<Mark> MarkOf(const TableMetadata& metadata, const std::string& writer) {
  auto it = metadata.properties.find(kGroupMarkPrefix + writer);
  if (it == metadata.properties.end()) return std::nullopt;
  return ParseMark(it->second);
}

void SetMark(TableMetadata& metadata, const std::string& writer, const Mark& mark) {
  // Never back: a leader may take two intents of one writer id (one left by
  // a commit that failed, one from the next commit that borrowed the id),
  // and in either order; the lower mark would make the higher intent look
  // pending, and the next leader would apply it again.
  auto current = MarkOf(metadata, writer);
  if (current && current->seq >= mark.seq) return;
  metadata.properties[kGroupMarkPrefix + writer] =
      std::to_string(mark.seq) + ":" + std::to_string(mark.snapshot_id) + ":" + std::to_string(mark.ms);
}

bool TextShowsMark(std::string_view text, const std::string& writer, int64_t seq) {
  const std::string key = "\"" + std::string(kGroupMarkPrefix) + writer + "\"";
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return false;
  size_t i = at + key.size();
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
  };
  skip_space();
  if (i >= text.size() || text[i] != ':') return false;
  ++i;
  skip_space();
  if (i >= text.size() || text[i] != '"') return false;
  const size_t start = ++i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  auto marked = ParseLong(text.substr(start, i - start));
  return marked && *marked >= seq;
}

namespace {

// Collects a VersionGlance: top-level scalars and the members of the
// top-level "properties" object; everything else is only lexed.
class GlanceHandler final : public nlohmann::json_sax<json> {
 public:
  GlanceHandler(VersionGlance& out, const std::string& writer)
      : out_(out), mark_key_(std::string(kGroupMarkPrefix) + writer) {}

  bool null() override { return true; }
  bool boolean(bool /*value*/) override { return true; }
  bool number_integer(number_integer_t value) override { return Integer(value); }
  bool number_unsigned(number_unsigned_t value) override {
    return value > static_cast<number_unsigned_t>(std::numeric_limits<int64_t>::max())
               ? true
               : Integer(static_cast<int64_t>(value));
  }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return true; }
  bool string(string_t& value) override {
    if (depth_ == 1 && key_ == "location") out_.location = value;
    if (depth_ == 1 && key_ == "table-uuid") out_.table_uuid = value;
    if (depth_ == 2 && in_properties_) {
      if (key_ == mark_key_) {
        out_.mark = ParseMark(value);
      } else if (!std::string_view(key_).starts_with(kGroupMarkPrefix)) {
        out_.properties[key_] = value;
      }
    }
    return true;
  }
  bool binary(binary_t& /*value*/) override { return true; }
  bool start_object(std::size_t /*size*/) override {
    if (depth_ == 1 && key_ == "properties") {
      // A repeated key replaces the earlier value, as in the full parse.
      in_properties_ = true;
      out_.properties.clear();
      out_.mark.reset();
    }
    ++depth_;
    return true;
  }
  bool key(string_t& value) override {
    if (depth_ <= 2) key_ = value;
    return true;
  }
  bool end_object() override {
    --depth_;
    if (depth_ == 1) in_properties_ = false;
    return true;
  }
  bool start_array(std::size_t /*size*/) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;
  }

 private:
  bool Integer(int64_t value) {
    if (depth_ != 1) return true;
    if (key_ == "format-version") out_.format_version = value;
    if (key_ == "current-schema-id") out_.current_schema_id = value;
    if (key_ == "default-spec-id") out_.default_spec_id = value;
    if (key_ == "default-sort-order-id") out_.default_sort_order_id = value;
    return true;
  }

  VersionGlance& out_;
  const std::string mark_key_;
  int depth_ = 0;
  bool in_properties_ = false;
  std::string key_;
};

}  // namespace

std::optional<Mark> ParseMark(std::string_view value) {
  const size_t first = value.find(':');
  const size_t second = first == std::string_view::npos ? std::string_view::npos : value.find(':', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto seq = ParseLong(value.substr(0, first));
  auto id = ParseLong(value.substr(first + 1, second - first - 1));
  auto ms = ParseLong(value.substr(second + 1));
  if (!seq || !id || !ms) return std::nullopt;
  return Mark{*seq, *id, *ms};
}

Result<VersionGlance> GlanceAtVersion(std::string_view text, const std::string& writer) {
  VersionGlance glance;
  GlanceHandler handler(glance, writer);
  if (text.empty() || text.front() != '{' || !json::sax_parse(text, &handler)) {
    return CorruptData("table metadata is not a well-formed JSON object");
  }
  return glance;
}

bool SameAppendBase(const VersionGlance& glance, const TableMetadata& base) {
  if (glance.location != base.location || glance.table_uuid != base.table_uuid ||
      glance.format_version != base.format_version || glance.current_schema_id != base.current_schema_id ||
      glance.default_spec_id != base.default_spec_id || glance.default_sort_order_id != base.default_sort_order_id) {
    return false;
  }
  const std::string prefix = kGroupMarkPrefix;
  size_t matched = 0;
  for (const auto& [key, value] : base.properties) {
    if (key.compare(0, prefix.size(), prefix) == 0) continue;
    auto it = glance.properties.find(key);
    if (it == glance.properties.end() || it->second != value) return false;
    ++matched;
  }
  return matched == glance.properties.size();
}

void PruneMarks(TableMetadata& metadata, int64_t now_ms) {
  const std::string prefix = kGroupMarkPrefix;
  for (auto it = metadata.properties.lower_bound(prefix);
       it != metadata.properties.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    auto mark = MarkOf(metadata, it->first.substr(prefix.size()));
    if (mark && now_ms - mark->ms > kMarkMaxAgeMs) {
      it = metadata.properties.erase(it);
    } else {
      ++it;
    }
  }
}

namespace {

struct PendingFile {
  std::string path;
  std::string writer;
  int64_t seq = 0;
};

// The intent files under metadata/_pending/ (temp files and strangers skipped).
Result<std::vector<PendingFile>> ListPending(FileSystem& fs, const std::string& location) {
  std::vector<PendingFile> out;
  auto listed = fs.ListDir(PendingDir(location));
  if (!listed.ok()) {
    if (IsNotFound(listed.status())) return out;  // nobody has posted an intent yet
    return listed.status();
  }
  const size_t suffix = sizeof(kIntentSuffix) - 1;
  for (const auto& entry : *listed) {
    const std::string& name = entry.path;
    if (name.empty() || name[0] == '.' || name.size() <= suffix ||
        name.compare(name.size() - suffix, suffix, kIntentSuffix) != 0) {
      continue;
    }
    const std::string stem = name.substr(0, name.size() - suffix);
    const size_t dash = stem.rfind('-');
    if (dash == std::string::npos) continue;
    auto seq = ParseLong(std::string_view(stem).substr(dash + 1));
    if (!seq) continue;
    out.push_back(PendingFile{PendingDir(location) + "/" + name, stem.substr(0, dash), *seq});
  }
  return out;
}

}  // namespace

Result<std::vector<Intent>> CollectIntents(FileSystem& fs, const TableMetadata& base, const std::string& self,
                                           Durability durability, int64_t now_ms, bool take_rows) {
  std::vector<Intent> out;
  ARROW_ASSIGN_OR_RAISE(auto pending, ListPending(fs, base.location));
  for (const auto& file : pending) {
    if (file.writer == self) continue;
    auto mark = MarkOf(base, file.writer);
    if (mark && mark->seq >= file.seq) {
      (void)fs.DeleteFile(file.path);  // settled: applied or withdrawn
      continue;
    }
    auto text = fs.ReadFile(file.path);
    if (!text.ok()) {
      if (IsNotFound(text.status())) continue;  // its writer just deleted it
      return text.status();
    }
    auto intent = DecodeIntent(*text);
    if (!intent.ok() || intent->writer != file.writer || intent->seq != file.seq ||
        now_ms - intent->created_ms > kIntentMaxAgeMs) {
      (void)fs.DeleteFile(file.path);  // its writer commits by itself
      continue;
    }
    if (intent->durability != durability || (!take_rows && !intent->rows.empty())) continue;
    out.push_back(std::move(*intent));
  }
  std::sort(out.begin(), out.end(), [](const Intent& a, const Intent& b) { return a.created_ms < b.created_ms; });
  if (out.size() > kMaxIntentsPerCommit) out.resize(kMaxIntentsPerCommit);
  return out;
}

Result<std::vector<std::string>> FilesOfIntent(FileSystem& fs, const TableMetadata& metadata, const Intent& intent) {
  if (!intent.files.empty() || intent.manifests.empty()) return intent.files;
  std::vector<std::string> files;
  for (const auto& manifest : intent.manifests) {
    files.push_back(manifest.manifest_path);
    auto entries = format::ReadManifestEntries(fs, metadata, manifest);
    if (!entries.ok()) {
      if (IsNotFound(entries.status())) continue;  // the check of the manifest's path reports it
      return entries.status();
    }
    for (const auto& entry : *entries) files.push_back(entry.data_file.file_path);
  }
  return files;
}

Result<std::vector<Intent>> RecentIntents(FileSystem& fs, const std::string& location, int64_t now_ms) {
  std::vector<Intent> out;
  ARROW_ASSIGN_OR_RAISE(auto pending, ListPending(fs, location));
  for (const auto& file : pending) {
    auto text = fs.ReadFile(file.path);
    if (!text.ok()) {
      if (IsNotFound(text.status())) continue;
      return text.status();
    }
    auto intent = DecodeIntent(*text);
    if (intent.ok() && now_ms - intent->created_ms <= kMarkMaxAgeMs) out.push_back(std::move(*intent));
  }
  return out;
}

}  // namespace datashard::commit
