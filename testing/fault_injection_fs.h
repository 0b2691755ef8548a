// Test support: a FileSystem decorator that counts every call, fails chosen
// calls on purpose, and simulates power loss.
//
// Two kinds of test are built on it (tests/crash/). Fault sweeps (SQLite's
// I/O-error loop): run an operation once to count its calls, then once per
// call with that call failing (EIO, ENOSPC, EACCES, a short write), once
// failing only that call and once failing every call after it. Power loss
// (LevelDB's FaultInjectionTestEnv): remember which files and directory
// entries were made durable under the FileSystem contract (file_system.h),
// stop the "machine" at a chosen call, then drop everything that was not.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "datashard/file_system.h"
#include "datashard/io/commit_queue.h"

namespace datashard::testing {

// The kinds of FileSystem call, one per method (Exists and GetFileInfo are both
// kStat); kFileRead is one read on a file returned by OpenInputFile.
enum class FsOp {
  kRead,       // ReadFile
  kOpen,       // OpenInputFile
  kFileRead,   // Read/ReadAt/GetSize on an opened input file
  kStat,       // GetFileInfo, Exists
  kList,       // ListDir
  kCreateDir,  // CreateDir
  kWrite,      // WriteNewFile
  kSync,       // Sync
  kPublish,    // PublishIfAbsent (write temp, fsync, link)
  kLock,       // entering a commit queue from WrapQueue (a failure leaves the caller unqueued, not an error)
  kReplace,    // ReplaceFile (temp + rename)
  kDelete,     // DeleteFile
  kSyncDir,    // SyncDir
};
const char* FsOpName(FsOp op);

// The errno an injected failure reports.
enum class FaultError { kEIO, kENOSPC, kEACCES };
const char* FaultErrorName(FaultError error);

struct FaultSpec {
  // 1-based index of the call to fail, counted over every call (or, with `op`
  // set, over calls of that kind only). 0 with `op` set: every call of that kind.
  int64_t call = 0;
  std::optional<FsOp> op;
  FaultError error = FaultError::kEIO;
  // Writes fail after putting a prefix of the data on disk, like a write()
  // that stopped short and an error path that could not clean up: kWrite
  // leaves it under the final name; kReplace publishes it (the rename is
  // atomic, the content torn); kPublish, atomic by contract, leaves it in a
  // stray temp file beside the final name. Other kinds fail as usual.
  bool short_write = false;
  // Reads (kRead, kFileRead) succeed with a truncated result instead of failing.
  bool truncated_read = false;
  // Once the fault fires, every later call fails too (SQLite's "persistent"
  // I/O-error mode; a disk that went read-only or full for good).
  bool persistent = false;
};

struct CallRecord {
  int64_t index = 0;  // 1-based, over every call
  FsOp op = FsOp::kRead;
  std::string path;
  bool injected = false;  // failed (or crashed) on purpose
  std::string status;     // "OK" or the error the caller saw
};

// What happens to a file whose directory entry is durable but whose content
// was never flushed, at a power loss.
enum class UnsyncedContent {
  kEmpty,  // the file is there with length 0 (delayed allocation never happened)
  kKeep,   // the content survived anyway (the optimistic model)
};

class FaultInjectionFileSystem final : public FileSystem {
 public:
  // Everything that exists on `base` now counts as durable.
  explicit FaultInjectionFileSystem(std::shared_ptr<FileSystem> base);

  // --- counting
  int64_t calls() const;
  int64_t calls(FsOp op) const;
  std::vector<CallRecord> log() const;
  // Clears counters and the log (not the durability state).
  void ResetCounters();

  // --- fault injection
  void InjectFault(const FaultSpec& spec);
  void ClearFaults();
  // Faults that fired so far.
  int64_t injected() const;

  // --- power loss
  // At the `call`-th call (1-based, counted from the last ResetCounters) the
  // power fails: that call and every later one return an IOError and never
  // reach `base`. 0 disarms it.
  void CrashAtCall(int64_t call);
  // Loses power now: every later call fails.
  void Crash();
  bool crashed() const;
  // The machine comes back: deletes files (and the content of directories)
  // whose entries were not made durable, restores replaced files to their
  // last durable content, empties files whose content was not flushed
  // (per `unsynced`), then forgets all tracking (what remains is durable) and
  // accepts calls again. Returns the paths it changed, for diagnostics.
  Result<std::vector<std::string>> DropUnsyncedState(UnsyncedContent unsynced = UnsyncedContent::kEmpty);
  // Paths written through this FileSystem whose directory entry or content is
  // not yet durable.
  std::vector<std::string> NotDurable() const;

  FileSystem& base() { return *base_; }

  // --- the commit queue (io/commit_queue.h; not part of FileSystem)
  // `queue` with every attempt to enter it counted here as a kLock call on
  // `path`, failed or crashed like any other: a failure leaves the caller
  // unqueued, never an error. This object must outlive the result.
  std::shared_ptr<io::CommitQueue> WrapQueue(std::shared_ptr<io::CommitQueue> queue, std::string path);

  // --- FileSystem
  Result<std::string> ReadFile(const std::string& path) override;
  Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(const std::string& path) override;
  Result<FileInfo> GetFileInfo(const std::string& path) override;
  Result<bool> Exists(const std::string& path) override;
  Result<std::vector<FileInfo>> ListDir(const std::string& dir) override;
  Status CreateDir(const std::string& dir) override;
  Status WriteNewFile(const std::string& path, std::string_view data, Durability durability) override;
  Status Sync(const std::vector<std::string>& paths) override;
  Status PublishIfAbsent(const std::string& path, std::string_view data, Durability durability,
                         const std::vector<std::string>& sync_first) override;
  Status ReplaceFile(const std::string& path, std::string_view data) override;
  Status DeleteFile(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;

 private:
  class TrackedInputFile;
  class FaultInjectionQueue;

  // Decision for one call, taken under the lock.
  struct Verdict {
    int64_t index = 0;
    bool fail = false;
    bool crash = false;
    bool short_write = false;
    bool truncated_read = false;
    FaultError error = FaultError::kEIO;
  };
  Verdict Begin(FsOp op, const std::string& path);
  Status Finish(const Verdict& verdict, Status status);
  Status InjectedError(const Verdict& verdict, FsOp op, const std::string& path) const;

  // Durability bookkeeping (mutex_ held).
  struct FileState {
    bool content_durable = false;
    bool entry_durable = false;
    // For a file that replaced a durable one (ReplaceFile): the content a power
    // loss brings back. nullopt: no durable version, the name disappears.
    std::optional<std::string> previous;
  };
  void MarkSyncedLocked(const std::string& path);
  void MarkDirSyncedLocked(const std::string& dir);

  std::shared_ptr<FileSystem> base_;
  mutable std::mutex mutex_;
  int64_t calls_ = 0;
  std::map<FsOp, int64_t> calls_by_op_;
  std::vector<CallRecord> log_;
  std::vector<FaultSpec> faults_;
  int64_t injected_ = 0;
  bool failing_for_good_ = false;
  FaultError persistent_error_ = FaultError::kEIO;
  int64_t crash_at_ = 0;
  bool crashed_ = false;
  std::map<std::string, FileState> files_;  // written through us since the last drop
  std::map<std::string, bool> dirs_;        // created through us -> entry durable
};

}  // namespace datashard::testing
