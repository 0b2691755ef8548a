// Optimistic commit with retry: the only place that publishes table metadata.
//
// Each attempt builds v<N+1>.metadata.json on top of the latest version N and
// publishes it with create-if-absent. Losing the race means another writer
// took N+1: re-read, let the builder re-validate and rebuild (only the
// manifest list and metadata; data files and manifests are reused), back off
// with jitter, try again.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datashard/commit/version_resolver.h"
#include "datashard/file_system.h"
#include "datashard/io/commit_queue.h"
#include "datashard/table_properties.h"

namespace datashard::commit {

class GroupMember;

struct CommitOptions {
  Durability durability = Durability::kFsync;
  int max_attempts = 1000;
  // Backoff grows from the first delay to the cap, with full jitter; sized to a
  // commit window of about a millisecond, not Java's 100 ms floor.
  double min_backoff_ms = 0.5;
  double max_backoff_ms = 64.0;
  double total_timeout_ms = 600'000;
  // The table's host-local commit queue (io/commit_queue.h; nullptr: none).
  // Commits build and publish at its front; after a lost race, a writer waits
  // for it (CommitQueue::TryEnter; a group member with its intent out waits
  // with EnterOrAwaitRelease, looking at each release whether the holder
  // applied it) instead of racing again, up to queue_timeout_ms; 0 disables it.
  io::CommitQueue* queue = nullptr;
  double queue_timeout_ms = 5'000;
  // Files written before the race (data files, manifests) and not flushed
  // yet. With kFsync they are flushed in the same barrier as the first
  // attempt's manifest list and metadata, so a durable commit costs two flush
  // barriers (that one, then the directory after the link), not three.
  std::vector<std::string> unsynced_files;
  // Group commit (group_member.h): the commit's member, for a plain append
  // to main. When the commit meets contention (its first race lost, or the
  // host's queue busy before its first attempt, which would most likely
  // lose) the committer flushes the files above and posts the member's
  // intent, then waits on the queue looking at each new version for the
  // mark that settles it; the commit then ends there, without parsing that
  // version (CommitOutcome::committed_text).
  GroupMember* group = nullptr;
  // The base passed in may be stale: read the newest version before the
  // first attempt (after the wait when the writer joins a group, so a
  // writer another commit settles never parses a version at all).
  bool refresh_base = false;
  // A version known to exist, newer than the base, to search for the newest
  // from (the base of a writer that keeps being settled by others grows old).
  int64_t search_from = 0;
  // Files the commit adds that were written before it began (data files,
  // manifests, files registered in place). Orphan cleanup may have deleted
  // them since: every attempt checks they are all there before it publishes,
  // holding the commit queue, under which RemoveOrphanFiles deletes, so the
  // check and a delete never interleave. A commit that could not take the
  // queue (or whose queue is host-local, as for object stores: cleanup on
  // another host does not take it) also refuses files older than
  // max_file_age_ms, the contract orphan cleanup's grace period must exceed
  // (docs/architecture.md, "Orphan cleanup and open commits").
  std::vector<std::string> new_files;
  int64_t max_file_age_ms = 0;  // <= 0: no age limit
};

// "fsync" or "process"; any other value is an InvalidArgument error.
using datashard::ParseDurability;
// The table's durability mode (TableProperties::kCommitDurability; a value
// it does not take is an error).
Result<Durability> DurabilityOf(const TableMetadata& metadata);

// The oldest a file a commit adds may be (ms since it was last written) where
// the commit cannot check it under a queue that orphan cleanup shares
// (CommitOptions::new_files): TableProperties::kCommitMaxFileAgeMs; <= 0 lifts
// the limit. Orphan cleanup's grace period must be longer than this, with
// room for clock skew.
int64_t MaxFileAgeOf(const TableMetadata& metadata);

// OK if every file in `paths` exists and, with max_age_ms > 0, was last
// written at most that long before `now_ms`. Otherwise a ConcurrentModification
// error naming the first that is not: no commit may publish a reference to
// it (the files must be written again).
Status CheckFilesPresent(FileSystem& fs, const std::vector<std::string>& paths, int64_t max_age_ms, int64_t now_ms);

struct BuiltCommit {
  TableMetadata metadata;
  // Files written for this attempt only (the manifest list, merged
  // manifests), not yet flushed: the publish makes them durable before the
  // metadata that names them, and deletes them if the attempt loses.
  std::vector<std::string> attempt_files;
  // Set when the builder found that the commit already happened (same commit
  // key): nothing is published and `metadata` is ignored.
  bool already_committed = false;
  // The snapshot this attempt adds; with already_committed, the snapshot that
  // applied the change earlier, where known.
  std::optional<int64_t> snapshot_id;
  // With already_committed: another writer's group commit applied this
  // commit's own files (they are referenced now, not orphans).
  bool by_group = false;
};

// Makes `next` (built from `parent`'s metadata) follow it as the next
// version: `parent`'s file joins the metadata log and last-updated-ms moves
// to now (never backwards). For commits that change metadata only.
void FollowVersion(TableMetadata& next, const VersionedMetadata& parent);

// Builds the next metadata on top of `base`. Returns a ConcurrentModification
// error for a real conflict (retrying cannot help).
using MetadataBuilder = std::function<Result<BuiltCommit>(const VersionedMetadata& base, int attempt)>;

struct CommitOutcome {
  VersionedMetadata committed;  // the version holding our change
  int attempts = 0;
  bool already_committed = false;
  std::optional<int64_t> snapshot_id;  // as in BuiltCommit
  bool by_group = false;               // as in BuiltCommit
  // Set, with committed.metadata null, when the group member found its mark
  // in the version's text: that text, not parsed.
  std::string committed_text;
};

Result<CommitOutcome> CommitWithRetry(FileSystem& fs, const std::string& location, VersionedMetadata base,
                                      const MetadataBuilder& build, const CommitOptions& options);

// Publishes the first version of a table. AlreadyExists if a table is there.
Status PublishFirstVersion(FileSystem& fs, const TableMetadata& metadata, Durability durability);

}  // namespace datashard::commit
