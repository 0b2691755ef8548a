#include "datashard/commit/commit_keys.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "datashard/commit/snapshot_producer.h"
#include "datashard/commit/version_resolver.h"
#include "datashard/format/file_names.h"
#include "datashard/format/table_metadata.h"
#include "datashard/table_properties.h"

namespace datashard::commit {
namespace {

// What one process knows of a table's commit keys: every keyed snapshot with
// a sequence number in [low, high] (the range is complete: every snapshot in
// it was seen), and how old the oldest of them may be.
struct KnownKeys {
  int64_t low = 0;
  int64_t high = -1;
  std::map<std::string, std::pair<int64_t, int64_t>> keys;  // key -> (snapshot id, timestamp)
};

std::mutex g_mutex;
std::map<std::string, KnownKeys> g_known;  // by table uuid

void Learn(const TableMetadata& m, KnownKeys& known) {
  for (const auto& snapshot : m.snapshots) {
    auto it = snapshot.summary.find(kCommitKeySummary);
    if (it != snapshot.summary.end()) known.keys[it->second] = {snapshot.snapshot_id, snapshot.timestamp_ms};
  }
}

int64_t OldestSequence(const TableMetadata& m) {
  int64_t oldest = m.last_sequence_number + 1;
  for (const auto& snapshot : m.snapshots) oldest = std::min(oldest, snapshot.sequence_number);
  return oldest;
}

int64_t OldestTimestamp(const TableMetadata& m) {
  int64_t oldest = m.last_updated_ms;
  for (const auto& snapshot : m.snapshots) oldest = std::min(oldest, snapshot.timestamp_ms);
  return oldest;
}

// Walks back from `m` along the metadata log, learning every window, until
// the windows reach back to sequence number `until` or older than `horizon`
// (by time), or the chain ends (expired or never written). Returns the
// lowest sequence number covered.
Result<int64_t> WalkBack(FileSystem& fs, const TableMetadata& m, int64_t until, int64_t horizon_ms, KnownKeys& known) {
  Learn(m, known);
  int64_t covered = OldestSequence(m);
  if (covered <= until || OldestTimestamp(m) < horizon_ms) return covered;
  ARROW_RETURN_NOT_OK(WalkMetadataLog(fs, m, [&](const TableMetadata& older) {
    Learn(older, known);
    covered = std::min(covered, OldestSequence(older));
    return covered > until && OldestTimestamp(older) >= horizon_ms;
  }));
  return covered;
}

}  // namespace

Result<std::optional<int64_t>> FindCommitKey(FileSystem& fs, const TableMetadata& metadata, const std::string& key) {
  for (const auto& snapshot : metadata.snapshots) {  // the common case: a retry soon after
    auto it = snapshot.summary.find(kCommitKeySummary);
    if (it != snapshot.summary.end() && it->second == key) return snapshot.snapshot_id;
  }
  const int64_t lookback = IntegerProperty(metadata, TableProperties::kCommitKeyLookbackMs);
  const int64_t horizon = NowMs() - lookback;

  std::lock_guard<std::mutex> lock(g_mutex);
  KnownKeys& known = g_known[metadata.table_uuid];
  if (known.high < known.low || metadata.last_sequence_number < known.high) {
    known = KnownKeys{};  // first use, or the table went back (re-created): start over
  }
  if (known.high < known.low) {
    ARROW_ASSIGN_OR_RAISE(known.low, WalkBack(fs, metadata, 0, horizon, known));
  } else if (metadata.last_sequence_number > known.high) {
    // Versions this process skipped since it last looked: only their windows.
    ARROW_ASSIGN_OR_RAISE(int64_t covered, WalkBack(fs, metadata, known.high + 1, horizon, known));
    if (covered > known.high + 1) {
      // The walk stopped early (the gap is older than the lookback, or
      // expired): what is known no longer connects; keep the newer part.
      known.low = covered;
    }
  }
  known.high = metadata.last_sequence_number;
  std::erase_if(known.keys, [&](const auto& entry) { return entry.second.second < horizon; });
  auto it = known.keys.find(key);
  if (it == known.keys.end()) return std::nullopt;
  return it->second.first;
}

}  // namespace datashard::commit
