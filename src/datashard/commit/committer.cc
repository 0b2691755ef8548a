#include "datashard/commit/committer.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "datashard/commit/snapshot_producer.h"
#include "datashard/format/file_names.h"
#include "datashard/format/table_metadata.h"
#include "datashard/util/uuid.h"

namespace datashard::commit {
namespace {

void SleepWithJitter(double ceiling_ms) {
  const double fraction = static_cast<double>(RandomBits() >> 11) / static_cast<double>(1ULL << 53);
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(fraction * ceiling_ms));
}

void DeleteQuietly(FileSystem& fs, const std::vector<std::string>& paths) {
  for (const auto& path : paths) (void)fs.DeleteFile(path);
}

// After an I/O error during publish the outcome is unknown: the link may or
// may not have happened. Read the version back and look for our commit id.
Result<bool> PublishedByUs(FileSystem& fs, const std::string& location, int64_t version, const TableMetadata& ours) {
  auto loaded = LoadVersion(fs, location, version);
  if (!loaded.ok()) {
    if (IsNotFound(loaded.status())) return false;
    return loaded.status();
  }
  const Snapshot* mine = ours.CurrentSnapshot();
  const Snapshot* theirs = loaded->metadata->CurrentSnapshot();
  if (mine == nullptr || theirs == nullptr) return loaded->metadata->last_updated_ms == ours.last_updated_ms;
  return mine->snapshot_id == theirs->snapshot_id;
}

}  // namespace

namespace {

// A flush that failed for a missing file (NotFound) fails the commit the way
// CheckFilesPresent does, if one of `files` is what went missing.
Status NameMissingFile(FileSystem& fs, const Status& failed, const std::vector<std::string>& files) {
  if (failed.ok() || !IsNotFound(failed)) return failed;
  Status gone = CheckFilesPresent(fs, files, 0, 0);
  return gone.ok() ? failed : gone;
}

}  // namespace

Result<Durability> DurabilityOf(const TableMetadata& metadata) {
  ARROW_ASSIGN_OR_RAISE(std::string mode, CheckedProperty(metadata, TableProperties::kCommitDurability));
  return ParseDurability(mode);
}

int64_t MaxFileAgeOf(const TableMetadata& metadata) {
  return IntegerProperty(metadata, TableProperties::kCommitMaxFileAgeMs);
}

Status CheckFilesPresent(FileSystem& fs, const std::vector<std::string>& paths, int64_t max_age_ms, int64_t now_ms) {
  for (const auto& path : paths) {
    auto info = fs.GetFileInfo(path);
    if (!info.ok()) {
      if (!IsNotFound(info.status())) return info.status();
      return MakeError(ErrorKind::kConcurrentModification,
                       "commit refused: " + path +
                           ", a file it adds, is gone (orphan-file cleanup, remove_orphan_files or "
                           "garbage_collect, deleted it while the commit was open); nothing was committed: "
                           "write the data again");
    }
    // Object stores give Last-Modified in whole seconds (an HTTP date): the
    // write may have ended up to a second after such a stamp.
    const int64_t written_ms = info->mtime_ms % 1000 == 0 ? info->mtime_ms + 999 : info->mtime_ms;
    if (max_age_ms > 0 && now_ms - written_ms > max_age_ms) {
      return MakeError(ErrorKind::kConcurrentModification,
                       "commit refused: " + path + ", a file it adds, was written " +
                           std::to_string((now_ms - info->mtime_ms) / 1000) + " s ago, longer than table property " +
                           TableProperties::kCommitMaxFileAgeMs.key + " (" + std::to_string(max_age_ms) +
                           " ms) allows where orphan cleanup on another host could have deleted it; nothing was "
                           "committed: write the data again (or raise the property along with the cleanup's grace "
                           "period)");
    }
  }
  return Status::OK();
}

void FollowVersion(TableMetadata& next, const VersionedMetadata& parent) {
  next.metadata_log.push_back(MetadataLogEntry{parent.metadata->last_updated_ms,
                                               format::MetadataFilePath(parent.metadata->location, parent.version)});
  next.last_updated_ms = std::max(NowMs(), parent.metadata->last_updated_ms);
}

Result<CommitOutcome> CommitWithRetry(FileSystem& fs, const std::string& location, VersionedMetadata base,
                                      const MetadataBuilder& build, const CommitOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  double backoff = options.min_backoff_ms;
  std::unique_ptr<io::CommitQueue::Front> queue;
  // Acknowledge only once the new directory entry is durable; this flush
  // happens after the commit queue is released, outside the race window.
  auto finish = [&](int64_t next, TableMetadata metadata, int attempt,
                    std::optional<int64_t> snapshot_id) -> Result<CommitOutcome> {
    queue.reset();
    if (options.durability == Durability::kFsync) {
      Status synced = fs.SyncDir(format::MetadataDir(location));
      if (!synced.ok()) {
        // The version is published and visible; only its durability is in
        // doubt. Never report a plain failure here: the caller would roll
        // back files the table now references.
        return MakeError(ErrorKind::kAmbiguousCommit, "version " + std::to_string(next) + " of " + location +
                                                          " was published but making it durable failed (" +
                                                          synced.message() +
                                                          "); it is visible now but may not survive a power loss");
      }
    }
    // The hint is advisory; a failure to write it loses nothing.
    (void)UpdateVersionHint(fs, location, next);
    VersionedMetadata committed{next, std::make_shared<const TableMetadata>(std::move(metadata))};
    return CommitOutcome{std::move(committed), attempt, false, snapshot_id, false, {}};
  };
  std::vector<std::string> unsynced = options.unsynced_files;
  // Waits for the front of the queue, if the table has one here.
  auto enter = [&](double timeout_ms) -> std::unique_ptr<io::CommitQueue::Front> {
    return options.queue != nullptr ? options.queue->TryEnter(timeout_ms) : nullptr;
  };
  bool joined = false;  // after_lost_race has run
  std::optional<CommitOutcome> settled;
  // The newest version a waiting group member looked at, and its text.
  int64_t glanced = 0;
  std::string glanced_text;
  // With our intent out: whether the newest version applied it (then
  // `settled` is the outcome), from its text alone.
  auto glance_latest = [&](int attempt) -> Status {
    ARROW_ASSIGN_OR_RAISE(int64_t latest,
                          FindLatestVersion(fs, location, std::max({base.version, options.search_from, glanced})));
    if (latest == 0) return Status::KeyError("no table metadata under ", location);
    if (latest == base.version || latest == glanced) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(glanced_text, fs.ReadFile(format::MetadataFilePath(location, latest)));
    glanced = latest;
    if (!options.maybe_settled || options.maybe_settled(glanced_text)) {
      if (auto snapshot_id = options.settled_by(glanced_text)) {
        settled = CommitOutcome{
            VersionedMetadata{latest, nullptr}, attempt, true, snapshot_id, true, std::move(glanced_text)};
      }
    }
    return Status::OK();
  };
  // With our intent out, while other writers lead: at each release, look
  // whether the leader applied the intent, and take the queue once it is
  // free. Leaves the queue held, or `settled` set, or (the wait timed out)
  // neither: the writer then goes on unqueued.
  auto await_group = [&](int attempt) -> Status {
    const auto started_waiting = std::chrono::steady_clock::now();
    for (;;) {
      const double left =
          options.queue_timeout_ms -
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_waiting).count();
      bool look_again = false;
      if (options.queue == nullptr) return Status::OK();
      queue = options.queue->EnterOrAwaitRelease(left, &look_again);
      if (queue || !look_again) return Status::OK();
      ARROW_RETURN_NOT_OK(glance_latest(attempt));
      if (settled) return Status::OK();
    }
  };
  // Moves `base` to the newest version, unless (with our intent out) that
  // version applied it: then `settled` is the outcome, from its text alone.
  auto load_latest = [&](int attempt) -> Status {
    ARROW_ASSIGN_OR_RAISE(int64_t latest, FindLatestVersion(fs, location, std::max(base.version, options.search_from)));
    if (latest == base.version) return Status::OK();
    if (latest == 0) return Status::KeyError("no table metadata under ", location);
    std::string text;
    if (latest == glanced) {
      text = std::move(glanced_text);
      glanced = 0;
    } else {
      ARROW_ASSIGN_OR_RAISE(text, fs.ReadFile(format::MetadataFilePath(location, latest)));
    }
    if (joined && options.settled_by && (!options.maybe_settled || options.maybe_settled(text))) {
      // Likely settled: leave the queue before the exact check, so the
      // writers one group settled pass through it quickly.
      const bool held = queue != nullptr;
      queue.reset();
      if (auto snapshot_id = options.settled_by(text)) {
        settled = CommitOutcome{VersionedMetadata{latest, nullptr}, attempt, true, snapshot_id, true, std::move(text)};
        return Status::OK();
      }
      if (held) queue = enter(options.queue_timeout_ms);
    }
    ARROW_ASSIGN_OR_RAISE(base, VersionFromText(location, latest, text));
    return Status::OK();
  };
  if (options.after_lost_race && options.queue != nullptr && options.queue_timeout_ms > 0) {
    // Group commit: while another writer on this host is committing, an
    // attempt of ours would most likely lose. Join its group instead: make
    // our files durable, post the intent, and wait; whoever leads next
    // applies the intent (or we do, once the queue is free).
    queue = enter(0);
    if (!queue) {
      if (options.durability == Durability::kFsync && !unsynced.empty()) {
        ARROW_RETURN_NOT_OK(NameMissingFile(fs, fs.Sync(unsynced), options.new_files));
      }
      unsynced.clear();
      options.after_lost_race();
      joined = true;
      if (options.settled_by) {
        ARROW_RETURN_NOT_OK(await_group(1));
      } else {
        queue = enter(options.queue_timeout_ms);
      }
      if (!settled) ARROW_RETURN_NOT_OK(load_latest(1));
      if (settled) return std::move(*settled);
    }
  }
  // Build and publish holding the queue: orphan cleanup deletes under it, so
  // the files this commit (and a leader, the intents it takes) checks are
  // still there when the version naming them appears. A commit that cannot
  // take it in time goes on without (CommitOptions::new_files).
  if (!queue && !joined && options.queue_timeout_ms > 0) queue = enter(options.queue_timeout_ms);
  if (options.refresh_base && !joined) ARROW_RETURN_NOT_OK(load_latest(1));
  for (int attempt = 1;; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(BuiltCommit built, build(base, attempt));
    if (built.already_committed) return CommitOutcome{base, attempt, true, built.snapshot_id, built.by_group, {}};
    const int64_t next = base.version + 1;
    const std::string path = format::MetadataFilePath(location, next);
    {
      // Exact under the queue on a shared file system; otherwise (no queue,
      // or one that only this host's writers share) also bounded by age.
      // Without the queue, this attempt's own files were written where a
      // cleanup could see them too.
      const bool exact = queue != nullptr && options.queue->SharedByAllHosts();
      std::vector<std::string> added = options.new_files;
      if (!queue) added.insert(added.end(), built.attempt_files.begin(), built.attempt_files.end());
      Status present = CheckFilesPresent(fs, added, exact ? 0 : options.max_file_age_ms, NowMs());
      if (!present.ok()) {
        DeleteQuietly(fs, built.attempt_files);
        return present;
      }
    }
    const std::string json = format::TableMetadataToJson(built.metadata);
    std::vector<std::string> sync_first = unsynced;
    sync_first.insert(sync_first.end(), built.attempt_files.begin(), built.attempt_files.end());
    Status published = fs.PublishIfAbsent(path, json, options.durability, sync_first);
    // Both outcomes below mean the flush before the link succeeded.
    if (published.ok() || published.IsAlreadyExists()) unsynced.clear();
    if (published.ok()) return finish(next, std::move(built.metadata), attempt, built.snapshot_id);
    if (!published.IsAlreadyExists()) {
      auto ours = PublishedByUs(fs, location, next, built.metadata);
      if (ours.ok() && *ours) return finish(next, std::move(built.metadata), attempt, built.snapshot_id);
      // An object store that could not tell whether its conditional PUT
      // landed says so (kAmbiguousCommit): a request still in flight may land
      // later, so its files must stay even though the version is absent now.
      if (ours.ok() && !*ours && !IsKind(published, ErrorKind::kAmbiguousCommit)) {
        // Definitely not published: a plain I/O error, or the flush before
        // the link found a file gone (said as CheckFilesPresent says it).
        std::vector<std::string> added = options.new_files;
        added.insert(added.end(), built.attempt_files.begin(), built.attempt_files.end());
        Status failed = NameMissingFile(fs, published, added);
        DeleteQuietly(fs, built.attempt_files);
        return failed;
      }
      if (ours.ok()) return published;
      return MakeError(ErrorKind::kAmbiguousCommit,
                       "commit of " + path + " failed (" + published.message() + ") and reading it back failed too (" +
                           ours.status().message() +
                           "); the commit may or may not have happened, reload the table to find out");
    }
    // Lost the race for `next`: someone else committed first.
    DeleteQuietly(fs, built.attempt_files);
    const double elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    if (attempt >= options.max_attempts || elapsed > options.total_timeout_ms) {
      return MakeError(ErrorKind::kConcurrentModification, "gave up committing to " + location + " after " +
                                                               std::to_string(attempt) +
                                                               " attempts: other writers kept committing first");
    }
    if (!joined && options.after_lost_race) {
      options.after_lost_race();
      joined = true;
    }
    if (!queue && options.queue_timeout_ms > 0) {
      // Contention: queue behind the other committers on this host instead
      // of racing them again (on few cores, doomed attempts starve winners).
      if (joined && options.settled_by) {
        ARROW_RETURN_NOT_OK(await_group(attempt + 1));
        if (settled) return std::move(*settled);
      } else {
        queue = enter(options.queue_timeout_ms);
      }
    }
    if (!queue) {
      SleepWithJitter(backoff);
      backoff = std::min(options.max_backoff_ms, backoff * 2);
    }
    ARROW_RETURN_NOT_OK(load_latest(attempt + 1));
    if (settled) return std::move(*settled);
  }
}

Status PublishFirstVersion(FileSystem& fs, const TableMetadata& metadata, Durability durability) {
  ARROW_RETURN_NOT_OK(fs.CreateDir(format::MetadataDir(metadata.location)));
  ARROW_RETURN_NOT_OK(fs.CreateDir(format::DataDir(metadata.location)));
  const std::string path = format::MetadataFilePath(metadata.location, 1);
  ARROW_RETURN_NOT_OK(fs.PublishIfAbsent(path, format::TableMetadataToJson(metadata), durability));
  if (durability == Durability::kFsync) ARROW_RETURN_NOT_OK(fs.SyncDir(format::MetadataDir(metadata.location)));
  (void)UpdateVersionHint(fs, metadata.location, 1);
  return Status::OK();
}

}  // namespace datashard::commit
