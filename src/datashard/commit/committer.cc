#include "datashard/commit/committer.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "datashard/commit/group_member.h"
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

namespace {

// One commit's way to a published version: the attempts, the races lost, the
// waits on the queue and, for a group member, the versions looked at for its
// mark. Run() reads top to bottom as the protocol does.
class Committer {
 public:
  Committer(FileSystem& fs, const std::string& location, VersionedMetadata base, const MetadataBuilder& build,
            const CommitOptions& options)
      : fs_(fs),
        location_(location),
        base_(std::move(base)),
        build_(build),
        options_(options),
        group_(options.group),
        started_(std::chrono::steady_clock::now()),
        backoff_ms_(options.min_backoff_ms),
        unsynced_(options.unsynced_files) {}

  Result<CommitOutcome> Run() {
    // Group commit: while another writer on this host is committing, an
    // attempt of ours would most likely lose. Join its group instead.
    if (group_ != nullptr && options_.queue != nullptr && options_.queue_timeout_ms > 0) {
      queue_ = Enter(0);
      if (!queue_) {
        ARROW_RETURN_NOT_OK(JoinGroup(1));
        if (settled_) return std::move(*settled_);
      }
    }
    // Build and publish holding the queue: orphan cleanup deletes under it,
    // so the files this commit (and a leader, the intents it takes) checks
    // are still there when the version naming them appears. A commit that
    // cannot take it in time goes on without (CommitOptions::new_files).
    if (!queue_ && !joined_ && options_.queue_timeout_ms > 0) queue_ = Enter(options_.queue_timeout_ms);
    if (options_.refresh_base && !joined_) ARROW_RETURN_NOT_OK(LoadLatest(1));
    for (int attempt = 1;; ++attempt) {
      ARROW_ASSIGN_OR_RAISE(std::optional<CommitOutcome> done, Attempt(attempt));
      if (done) return std::move(*done);
      // Lost the race for the next version: someone else committed first.
      ARROW_RETURN_NOT_OK(WaitAfterLostRace(attempt));
      if (settled_) return std::move(*settled_);
      ARROW_RETURN_NOT_OK(LoadLatest(attempt + 1));
      if (settled_) return std::move(*settled_);
    }
  }

 private:
  // One attempt on top of base_: the outcome, or nullopt if the race for the
  // next version was lost (nothing of the attempt is left behind then).
  Result<std::optional<CommitOutcome>> Attempt(int attempt) {
    ARROW_ASSIGN_OR_RAISE(BuiltCommit built, build_(base_, attempt));
    if (built.already_committed) return CommitOutcome{base_, attempt, true, built.snapshot_id, built.by_group, {}};
    const int64_t next = base_.version + 1;
    const std::string path = format::MetadataFilePath(location_, next);
    Status present = CheckAddedFiles(built);
    if (!present.ok()) {
      DeleteQuietly(fs_, built.attempt_files);
      return present;
    }
    const std::string json = format::TableMetadataToJson(built.metadata);
    std::vector<std::string> sync_first = unsynced_;
    sync_first.insert(sync_first.end(), built.attempt_files.begin(), built.attempt_files.end());
    Status published = fs_.PublishIfAbsent(path, json, options_.durability, sync_first);
    // Both outcomes below mean the flush before the link succeeded.
    if (published.ok() || published.IsAlreadyExists()) unsynced_.clear();
    if (published.ok()) return Finish(next, std::move(built.metadata), attempt, built.snapshot_id);
    if (published.IsAlreadyExists()) {
      DeleteQuietly(fs_, built.attempt_files);
      return std::nullopt;
    }
    return PublishFailed(published, next, std::move(built), attempt);
  }

  // The files the attempt adds must all be there. Exact under the queue on a
  // file system every host shares; otherwise (no queue, or one that only
  // this host's writers share) also bounded by age. Without the queue, the
  // attempt's own files were written where a cleanup could see them too.
  Status CheckAddedFiles(const BuiltCommit& built) const {
    const bool exact = queue_ != nullptr && options_.queue->SharedByAllHosts();
    std::vector<std::string> added = options_.new_files;
    if (!queue_) added.insert(added.end(), built.attempt_files.begin(), built.attempt_files.end());
    return CheckFilesPresent(fs_, added, exact ? 0 : options_.max_file_age_ms, NowMs());
  }

  // After an error other than a lost race, the link may or may not have
  // happened: read the version back and look for our snapshot.
  Result<std::optional<CommitOutcome>> PublishFailed(const Status& published, int64_t next, BuiltCommit built,
                                                     int attempt) {
    auto ours = PublishedByUs(fs_, location_, next, built.metadata);
    if (ours.ok() && *ours) return Finish(next, std::move(built.metadata), attempt, built.snapshot_id);
    // An object store that could not tell whether its conditional PUT
    // landed says so (kAmbiguousCommit): a request still in flight may land
    // later, so its files must stay even though the version is absent now.
    if (ours.ok() && !*ours && !IsKind(published, ErrorKind::kAmbiguousCommit)) {
      // Definitely not published: a plain I/O error, or the flush before
      // the link found a file gone (said as CheckFilesPresent says it).
      std::vector<std::string> added = options_.new_files;
      added.insert(added.end(), built.attempt_files.begin(), built.attempt_files.end());
      Status failed = NameMissingFile(fs_, published, added);
      DeleteQuietly(fs_, built.attempt_files);
      return failed;
    }
    if (ours.ok()) return published;
    return MakeError(ErrorKind::kAmbiguousCommit,
                     "commit of " + format::MetadataFilePath(location_, next) + " failed (" + published.message() +
                         ") and reading it back failed too (" + ours.status().message() +
                         "); the commit may or may not have happened, reload the table to find out");
  }

  // Published. Acknowledge only once the new directory entry is durable;
  // this flush happens after the queue is left, outside the race window.
  Result<CommitOutcome> Finish(int64_t next, TableMetadata metadata, int attempt, std::optional<int64_t> snapshot_id) {
    queue_.reset();
    if (options_.durability == Durability::kFsync) {
      Status synced = fs_.SyncDir(format::MetadataDir(location_));
      if (!synced.ok()) {
        // The version is published and visible; only its durability is in
        // doubt. Never report a plain failure here: the caller would roll
        // back files the table now references.
        return MakeError(ErrorKind::kAmbiguousCommit, "version " + std::to_string(next) + " of " + location_ +
                                                          " was published but making it durable failed (" +
                                                          synced.message() +
                                                          "); it is visible now but may not survive a power loss");
      }
    }
    // The hint is advisory; a failure to write it loses nothing.
    (void)UpdateVersionHint(fs_, location_, next);
    VersionedMetadata committed{next, std::make_shared<const TableMetadata>(std::move(metadata))};
    return CommitOutcome{std::move(committed), attempt, false, snapshot_id, false, {}};
  }

  // Gives up after too many attempts or too long; otherwise a group member
  // joins a group, and the writer waits its turn: on the queue if it can,
  // else a backoff with jitter.
  Status WaitAfterLostRace(int attempt) {
    const double elapsed = MsSince(started_);
    if (attempt >= options_.max_attempts || elapsed > options_.total_timeout_ms) {
      return MakeError(ErrorKind::kConcurrentModification, "gave up committing to " + location_ + " after " +
                                                               std::to_string(attempt) +
                                                               " attempts: other writers kept committing first");
    }
    if (group_ != nullptr && !joined_) {
      // The lost attempt flushed this commit's files: the intent may name them.
      group_->PostIntent();
      joined_ = true;
    }
    if (!queue_ && options_.queue_timeout_ms > 0) {
      // Contention: queue behind the other committers on this host instead
      // of racing them again (on few cores, doomed attempts starve winners).
      if (joined_) {
        ARROW_RETURN_NOT_OK(AwaitGroup(attempt + 1));
        if (settled_) return Status::OK();
      } else {
        queue_ = Enter(options_.queue_timeout_ms);
      }
    }
    if (!queue_) {
      SleepWithJitter(backoff_ms_);
      backoff_ms_ = std::min(options_.max_backoff_ms, backoff_ms_ * 2);
    }
    return Status::OK();
  }

  // With the queue busy before the first attempt: make the files durable,
  // post the intent and wait; whoever leads next applies it (or this writer
  // does, once the queue is free).
  Status JoinGroup(int attempt) {
    if (options_.durability == Durability::kFsync && !unsynced_.empty()) {
      ARROW_RETURN_NOT_OK(NameMissingFile(fs_, fs_.Sync(unsynced_), options_.new_files));
    }
    unsynced_.clear();
    group_->PostIntent();
    joined_ = true;
    ARROW_RETURN_NOT_OK(AwaitGroup(attempt));
    if (!settled_) ARROW_RETURN_NOT_OK(LoadLatest(attempt));
    return Status::OK();
  }

  // With the intent out, while other writers lead: at each release, look
  // whether the leader applied the intent, and take the queue once it is
  // free. Leaves the queue held, or settled_ set, or (the wait timed out)
  // neither: the writer then goes on unqueued.
  Status AwaitGroup(int attempt) {
    if (options_.queue == nullptr) return Status::OK();
    const auto started_waiting = std::chrono::steady_clock::now();
    for (;;) {
      bool look_again = false;
      queue_ = options_.queue->EnterOrAwaitRelease(options_.queue_timeout_ms - MsSince(started_waiting), &look_again);
      if (queue_ || !look_again) return Status::OK();
      ARROW_RETURN_NOT_OK(GlanceAtLatest(attempt));
      if (settled_) return Status::OK();
    }
  }

  // With the intent out: whether the newest version applied it (then
  // settled_ is the outcome), from its text alone. The text is kept for
  // LoadLatest.
  Status GlanceAtLatest(int attempt) {
    ARROW_ASSIGN_OR_RAISE(int64_t latest,
                          FindLatestVersion(fs_, location_, std::max({base_.version, options_.search_from, glanced_})));
    if (latest == 0) return Status::KeyError("no table metadata under ", location_);
    if (latest == base_.version || latest == glanced_) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(glanced_text_, fs_.ReadFile(format::MetadataFilePath(location_, latest)));
    glanced_ = latest;
    if (group_->MaybeSettledBy(glanced_text_)) {
      if (auto snapshot_id = group_->SettledBy(glanced_text_)) Settled(latest, *snapshot_id, attempt, &glanced_text_);
    }
    return Status::OK();
  }

  // Moves base_ to the newest version, unless (with the intent out) that
  // version applied it: then settled_ is the outcome, from its text alone.
  Status LoadLatest(int attempt) {
    ARROW_ASSIGN_OR_RAISE(int64_t latest,
                          FindLatestVersion(fs_, location_, std::max(base_.version, options_.search_from)));
    if (latest == base_.version) return Status::OK();
    if (latest == 0) return Status::KeyError("no table metadata under ", location_);
    std::string text;
    if (latest == glanced_) {
      text = std::move(glanced_text_);
      glanced_ = 0;
    } else {
      ARROW_ASSIGN_OR_RAISE(text, fs_.ReadFile(format::MetadataFilePath(location_, latest)));
    }
    if (joined_ && group_->MaybeSettledBy(text)) {
      // Likely settled: leave the queue before the exact check, so the
      // writers one group settled pass through it quickly.
      const bool held = queue_ != nullptr;
      queue_.reset();
      if (auto snapshot_id = group_->SettledBy(text)) {
        Settled(latest, *snapshot_id, attempt, &text);
        return Status::OK();
      }
      if (held) queue_ = Enter(options_.queue_timeout_ms);
    }
    ARROW_ASSIGN_OR_RAISE(base_, VersionFromText(location_, latest, text));
    return Status::OK();
  }

  void Settled(int64_t version, int64_t snapshot_id, int attempt, std::string* text) {
    settled_ = CommitOutcome{VersionedMetadata{version, nullptr}, attempt, true, snapshot_id, true, std::move(*text)};
  }

  // The front of the queue, if the table has one here.
  std::unique_ptr<io::CommitQueue::Front> Enter(double timeout_ms) const {
    return options_.queue != nullptr ? options_.queue->TryEnter(timeout_ms) : nullptr;
  }

  static double MsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }

  FileSystem& fs_;
  const std::string& location_;
  VersionedMetadata base_;
  const MetadataBuilder& build_;
  const CommitOptions& options_;
  GroupMember* const group_;
  const std::chrono::steady_clock::time_point started_;
  double backoff_ms_;
  std::vector<std::string> unsynced_;  // written before the commit, not flushed yet
  std::unique_ptr<io::CommitQueue::Front> queue_;
  bool joined_ = false;  // the group member's intent is out
  std::optional<CommitOutcome> settled_;
  // The newest version a waiting group member glanced at, and its text.
  int64_t glanced_ = 0;
  std::string glanced_text_;
};

}  // namespace

Result<CommitOutcome> CommitWithRetry(FileSystem& fs, const std::string& location, VersionedMetadata base,
                                      const MetadataBuilder& build, const CommitOptions& options) {
  return Committer(fs, location, std::move(base), build, options).Run();
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
