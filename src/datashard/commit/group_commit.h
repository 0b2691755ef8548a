// Group commit across processes, exactly once (docs/architecture.md, "Group
// commit").
//
// A plain append that loses the race for a version posts an intent,
// metadata/_pending/<writer>-<seq>.intent, naming its manifests (already
// durable: they were flushed with its first attempt), or, for a small append
// (Table::Append), carrying its rows: the leader then writes them beside its
// own, each append's rows in data files of their own, flushed with its
// commit. Whoever commits next
// with a plain append includes every pending intent in its snapshot and
// records, for each writer it included, a high-water mark in the table
// properties: datashard.group.<writer> = "<seq>:<snapshot id>:<ms>". A writer
// whose mark reaches its seq acknowledges without committing again; a leader
// skips intents at or below a writer's mark, so nothing is applied twice,
// whichever leader crashes where. A writer id has at most one intent
// outstanding (each commit borrows an id from a per-process pool), so a mark
// at seq s says every earlier seq of that writer is settled too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datashard/file_system.h"
#include "datashard/format/data_file.h"
#include "datashard/format/table_metadata.h"
#include "datashard/table_properties.h"

namespace datashard::commit {

// The table properties of group commit are in the registry:
// TableProperties::kCommitGroup (on/off), kCommitGroupRows (a small durable
// append that joins a group carries its rows in its intent, and the leader
// writes them, each append's rows into a data file of their own: never
// several writers' rows in one file, where a copy-on-write delete of one
// writer's rows would conflict with a concurrent one of another's), and
// kGroupMarks, the key prefix of the marks below.
inline constexpr const char* kGroupMarkPrefix = TableProperties::kGroupMarks.key;
// Leaders include at most this many intents per snapshot.
inline constexpr size_t kMaxIntentsPerCommit = 64;
// Intents older than this are never included (and are deleted): a writer
// that slow commits by itself, and orphan removal with any grace period
// longer than this can never delete files a leader is about to reference.
inline constexpr int64_t kIntentMaxAgeMs = 10 * 60 * 1000;
// Marks older than this are dropped (every intent they settle is older than
// kIntentMaxAgeMs by then, so no leader would consider it).
inline constexpr int64_t kMarkMaxAgeMs = 60 * 60 * 1000;

Result<bool> GroupCommitEnabled(const TableMetadata& metadata);
Result<bool> GroupRowsEnabled(const TableMetadata& metadata);

// A writer id and the seq of its one outstanding commit, borrowed from a
// process-wide pool for the duration of one commit.
class WriterSlot {
 public:
  WriterSlot();
  ~WriterSlot();
  WriterSlot(const WriterSlot&) = delete;
  WriterSlot& operator=(const WriterSlot&) = delete;
  const std::string& writer() const { return writer_; }
  int64_t seq() const { return seq_; }

 private:
  std::string writer_;
  int64_t seq_ = 0;
};

struct Intent {
  std::string writer;
  int64_t seq = 0;
  Durability durability = Durability::kFsync;
  int64_t created_ms = 0;
  std::vector<format::ManifestFile> manifests;
  // Every file the manifests add to the table (the manifests and the data
  // files they list): a leader checks they are all still there before it
  // publishes them. Intents posted before this field existed leave it empty;
  // FilesOfIntent then reads the manifests.
  std::vector<std::string> files;
  int64_t added_files = 0;
  int64_t added_records = 0;
  int64_t added_files_size = 0;
  // Rows carried in the intent (Arrow IPC stream) instead of manifests, for
  // a leader that takes them to write into its own data file. Conformed to
  // schema `schema_id`, partitioned by spec `spec_id`.
  std::string rows;
  int32_t schema_id = -1;
  int32_t spec_id = -1;
};

std::string IntentPath(const std::string& location, const std::string& writer, int64_t seq);
std::string EncodeIntent(const Intent& intent);
Result<Intent> DecodeIntent(std::string_view text);
// Creates the intent file atomically (readers never see a partial one). Not
// flushed: an intent lost in a crash only loses help, never data (the writer
// acknowledges only once a durable version includes it).
Status PostIntent(FileSystem& fs, const std::string& location, const Intent& intent);

struct Mark {
  int64_t seq = 0;
  int64_t snapshot_id = 0;  // 0: withdrawn by its writer, not applied
  int64_t ms = 0;
};
// A mark's value, "<seq>:<snapshot id>:<ms>"; nullopt if malformed.
std::optional<Mark> ParseMark(std::string_view value);
std::optional<Mark> MarkOf(const TableMetadata& metadata, const std::string& writer);
// Sets `writer`'s mark, unless it already stands at `mark.seq` or later.
void SetMark(TableMetadata& metadata, const std::string& writer, const Mark& mark);
// Whether the metadata JSON `text` seems to carry a mark of `writer` at or
// past `seq`, from a substring search. A filter only, before
// GlanceAtVersion, which decides.
bool TextShowsMark(std::string_view text, const std::string& writer, int64_t seq);
// What a writer waiting on a group reads from a version's JSON text in one
// SAX pass, without building its TableMetadata (a 20-30 KB document whose
// parse costs more than the rest of a settled writer's commit): its own
// mark, and what an append takes from its base metadata.
struct VersionGlance {
  std::optional<Mark> mark;  // of the writer asked about
  std::string location;
  std::string table_uuid;
  int64_t format_version = -1;
  int64_t current_schema_id = -1;
  int64_t default_spec_id = -1;
  int64_t default_sort_order_id = -1;
  std::map<std::string, std::string> properties;  // marks left out
};
// CorruptData if `text` is not one well-formed JSON object.
Result<VersionGlance> GlanceAtVersion(std::string_view text, const std::string& writer);
// Whether an append could start from `base` as well as from the version
// glanced at: same table, format, schema, partition spec, sort order and
// properties (marks aside). Ids of schemas, specs and orders are never
// reused for different content, so equal ids mean equal definitions.
bool SameAppendBase(const VersionGlance& glance, const TableMetadata& base);

// Drops marks older than kMarkMaxAgeMs.
void PruneMarks(TableMetadata& metadata, int64_t now_ms);

// Intents of writers other than `self` that `base` has not settled, with
// `durability` (a leader never makes a flushed commit reference files nobody
// flushed, nor waits on flushes a writer did not ask for), newest intents
// last, at most kMaxIntentsPerCommit. Settled, too old or unreadable intents
// are deleted on the way. Intents carrying rows only with `take_rows`.
Result<std::vector<Intent>> CollectIntents(FileSystem& fs, const TableMetadata& base, const std::string& self,
                                           Durability durability, int64_t now_ms, bool take_rows);

// The files an intent adds (Intent::files, or for an intent without that
// list, its manifests and the data files they list).
Result<std::vector<std::string>> FilesOfIntent(FileSystem& fs, const TableMetadata& metadata, const Intent& intent);

// Every readable intent younger than kMarkMaxAgeMs, settled or not, for orphan
// removal: a leader may still reference their files.
Result<std::vector<Intent>> RecentIntents(FileSystem& fs, const std::string& location, int64_t now_ms);

}  // namespace datashard::commit
