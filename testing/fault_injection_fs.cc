#include "testing/fault_injection_fs.h"

#include <algorithm>
#include <utility>

#include <arrow/buffer.h>

namespace datashard::testing {
namespace {

std::string ParentDir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool IsWrite(FsOp op) { return op == FsOp::kWrite || op == FsOp::kPublish || op == FsOp::kReplace; }
bool IsRead(FsOp op) { return op == FsOp::kRead || op == FsOp::kFileRead; }

// True if `path` lies strictly under directory `dir`.
bool IsUnder(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() + 1 && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/';
}

}  // namespace

const char* FsOpName(FsOp op) {
  switch (op) {
    case FsOp::kRead: return "read";
    case FsOp::kOpen: return "open";
    case FsOp::kFileRead: return "file-read";
    case FsOp::kStat: return "stat";
    case FsOp::kList: return "list";
    case FsOp::kCreateDir: return "mkdir";
    case FsOp::kWrite: return "write-new";
    case FsOp::kSync: return "sync";
    case FsOp::kPublish: return "publish";
    case FsOp::kLock: return "lock";
    case FsOp::kReplace: return "replace";
    case FsOp::kDelete: return "delete";
    case FsOp::kSyncDir: return "sync-dir";
  }
  return "?";
}

const char* FaultErrorName(FaultError error) {
  switch (error) {
    case FaultError::kEIO: return "EIO";
    case FaultError::kENOSPC: return "ENOSPC";
    case FaultError::kEACCES: return "EACCES";
  }
  return "?";
}

// Counts (and can fail) every read on a file opened through the fault
// FileSystem. The FileSystem must outlive the files it hands out.
class FaultInjectionFileSystem::TrackedInputFile final : public arrow::io::RandomAccessFile {
 public:
  TrackedInputFile(FaultInjectionFileSystem* owner, std::string path,
                   std::shared_ptr<arrow::io::RandomAccessFile> inner)
      : owner_(owner), path_(std::move(path)), inner_(std::move(inner)) {}

  Status Close() override { return inner_->Close(); }
  bool closed() const override { return inner_->closed(); }
  Result<int64_t> Tell() const override { return inner_->Tell(); }
  Status Seek(int64_t position) override { return inner_->Seek(position); }

  Result<int64_t> GetSize() override {
    Verdict verdict = owner_->Begin(FsOp::kFileRead, path_);
    if (verdict.fail || verdict.crash) return owner_->Finish(verdict, Status::OK());
    auto size = inner_->GetSize();
    (void)owner_->Finish(verdict, size.status());
    return size;
  }
  Result<int64_t> Read(int64_t nbytes, void* out) override {
    return Counted(nbytes, [&](int64_t n) { return inner_->Read(n, out); });
  }
  Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    return CountedBuffer(nbytes, [&](int64_t n) { return inner_->Read(n); });
  }
  Result<int64_t> ReadAt(int64_t position, int64_t nbytes, bool allow_short_read, void* out) override {
    return Counted(nbytes, [&](int64_t n) { return inner_->ReadAt(position, n, allow_short_read, out); });
  }
  Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
    return Counted(nbytes, [&](int64_t n) { return inner_->ReadAt(position, n, out); });
  }
  Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes, bool allow_short_read) override {
    return CountedBuffer(nbytes, [&](int64_t n) { return inner_->ReadAt(position, n, allow_short_read); });
  }
  Result<std::shared_ptr<arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes) override {
    return CountedBuffer(nbytes, [&](int64_t n) { return inner_->ReadAt(position, n); });
  }

 private:
  // A truncated read returns half of what was asked for, as a read() that
  // stopped short at a bad sector would, and lets the caller notice.
  template <typename F>
  Result<int64_t> Counted(int64_t nbytes, F&& read) {
    Verdict verdict = owner_->Begin(FsOp::kFileRead, path_);
    if (verdict.truncated_read) {
      auto got = read(nbytes / 2);
      (void)owner_->Finish(verdict, got.status());
      return got;
    }
    if (verdict.fail || verdict.crash) return owner_->Finish(verdict, Status::OK());
    auto got = read(nbytes);
    (void)owner_->Finish(verdict, got.status());
    return got;
  }
  template <typename F>
  Result<std::shared_ptr<arrow::Buffer>> CountedBuffer(int64_t nbytes, F&& read) {
    Verdict verdict = owner_->Begin(FsOp::kFileRead, path_);
    if (verdict.truncated_read) {
      auto got = read(nbytes / 2);
      (void)owner_->Finish(verdict, got.status());
      return got;
    }
    if (verdict.fail || verdict.crash) return owner_->Finish(verdict, Status::OK());
    auto got = read(nbytes);
    (void)owner_->Finish(verdict, got.status());
    return got;
  }

  FaultInjectionFileSystem* owner_;
  std::string path_;
  std::shared_ptr<arrow::io::RandomAccessFile> inner_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem(std::shared_ptr<FileSystem> base) : base_(std::move(base)) {}

int64_t FaultInjectionFileSystem::calls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_;
}

int64_t FaultInjectionFileSystem::calls(FsOp op) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = calls_by_op_.find(op);
  return it == calls_by_op_.end() ? 0 : it->second;
}

std::vector<CallRecord> FaultInjectionFileSystem::log() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_;
}

void FaultInjectionFileSystem::ResetCounters() {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_ = 0;
  calls_by_op_.clear();
  log_.clear();
  injected_ = 0;
}

void FaultInjectionFileSystem::InjectFault(const FaultSpec& spec) {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.push_back(spec);
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_.clear();
  failing_for_good_ = false;
}

int64_t FaultInjectionFileSystem::injected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return injected_;
}

void FaultInjectionFileSystem::CrashAtCall(int64_t call) {
  std::lock_guard<std::mutex> lock(mutex_);
  crash_at_ = call;
}

void FaultInjectionFileSystem::Crash() {
  std::lock_guard<std::mutex> lock(mutex_);
  crashed_ = true;
}

bool FaultInjectionFileSystem::crashed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return crashed_;
}

FaultInjectionFileSystem::Verdict FaultInjectionFileSystem::Begin(FsOp op, const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  Verdict verdict;
  verdict.index = ++calls_;
  const int64_t nth_of_kind = ++calls_by_op_[op];
  log_.push_back(CallRecord{verdict.index, op, path, false, ""});
  if (crash_at_ > 0 && verdict.index >= crash_at_) crashed_ = true;
  if (crashed_) {
    verdict.crash = true;
    return verdict;
  }
  if (failing_for_good_) {
    verdict.fail = true;
    verdict.error = persistent_error_;
    return verdict;
  }
  for (const auto& spec : faults_) {
    bool hit;
    if (spec.op) {
      hit = *spec.op == op && (spec.call == 0 || spec.call == nth_of_kind);
    } else {
      hit = spec.call == verdict.index;
    }
    if (!hit) continue;
    verdict.error = spec.error;
    if (spec.truncated_read && IsRead(op)) {
      verdict.truncated_read = true;
    } else {
      verdict.fail = true;
      verdict.short_write = spec.short_write && IsWrite(op);
    }
    if (spec.persistent) {
      failing_for_good_ = true;
      persistent_error_ = spec.error;
    }
    break;
  }
  return verdict;
}

Status FaultInjectionFileSystem::InjectedError(const Verdict& verdict, FsOp op, const std::string& path) const {
  if (verdict.crash) {
    return IOError("simulated power loss at call #", verdict.index, " (", FsOpName(op), " ", path, ")");
  }
  const char* text = "Input/output error";
  if (verdict.error == FaultError::kENOSPC) text = "No space left on device";
  if (verdict.error == FaultError::kEACCES) text = "Permission denied";
  return IOError(FsOpName(op), " ", path, ": ", text, " (injected ", FaultErrorName(verdict.error), " at call #",
                 verdict.index, ")");
}

Status FaultInjectionFileSystem::Finish(const Verdict& verdict, Status status) {
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t slot = static_cast<size_t>(verdict.index - 1);
  CallRecord* record = slot < log_.size() ? &log_[slot] : nullptr;
  if (verdict.fail || verdict.crash) {
    if (verdict.fail) ++injected_;
    const FsOp op = record ? record->op : FsOp::kRead;
    status = InjectedError(verdict, op, record ? record->path : "");
    if (record) record->injected = true;
  } else if (verdict.truncated_read) {
    ++injected_;
    if (record) record->injected = true;
  }
  if (record) record->status = status.ok() ? "OK" : status.ToString();
  return status;
}

// --- reads: counted and failable, no durability effect

Result<std::string> FaultInjectionFileSystem::ReadFile(const std::string& path) {
  Verdict verdict = Begin(FsOp::kRead, path);
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  auto text = base_->ReadFile(path);
  if (verdict.truncated_read && text.ok()) text = text->substr(0, text->size() / 2);
  ARROW_RETURN_NOT_OK(Finish(verdict, text.status()));
  return text;
}

Result<std::shared_ptr<arrow::io::RandomAccessFile>> FaultInjectionFileSystem::OpenInputFile(const std::string& path) {
  Verdict verdict = Begin(FsOp::kOpen, path);
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  auto file = base_->OpenInputFile(path);
  ARROW_RETURN_NOT_OK(Finish(verdict, file.status()));
  return std::make_shared<TrackedInputFile>(this, path, std::move(*file));
}

Result<FileInfo> FaultInjectionFileSystem::GetFileInfo(const std::string& path) {
  Verdict verdict = Begin(FsOp::kStat, path);
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  auto info = base_->GetFileInfo(path);
  ARROW_RETURN_NOT_OK(Finish(verdict, info.status()));
  return info;
}

Result<bool> FaultInjectionFileSystem::Exists(const std::string& path) {
  Verdict verdict = Begin(FsOp::kStat, path);
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  auto exists = base_->Exists(path);
  ARROW_RETURN_NOT_OK(Finish(verdict, exists.status()));
  return exists;
}

Result<std::vector<FileInfo>> FaultInjectionFileSystem::ListDir(const std::string& dir) {
  Verdict verdict = Begin(FsOp::kList, dir);
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  auto entries = base_->ListDir(dir);
  ARROW_RETURN_NOT_OK(Finish(verdict, entries.status()));
  return entries;
}

class FaultInjectionFileSystem::FaultInjectionQueue final : public io::CommitQueue {
 public:
  FaultInjectionQueue(FaultInjectionFileSystem* fs, std::shared_ptr<io::CommitQueue> base, std::string path)
      : fs_(fs), base_(std::move(base)), path_(std::move(path)) {}

  std::unique_ptr<Front> TryEnter(double timeout_ms) override {
    Verdict verdict = fs_->Begin(FsOp::kLock, path_);
    if (verdict.fail || verdict.crash) {
      (void)fs_->Finish(verdict, Status::OK());
      return nullptr;  // as if busy: the caller proceeds unqueued
    }
    auto front = base_->TryEnter(timeout_ms);
    (void)fs_->Finish(verdict, front ? Status::OK() : IOError("busy"));
    return front;
  }

  std::unique_ptr<Front> EnterOrAwaitRelease(double timeout_ms, bool* look_again) override {
    *look_again = false;
    Verdict verdict = fs_->Begin(FsOp::kLock, path_);
    if (verdict.fail || verdict.crash) {
      (void)fs_->Finish(verdict, Status::OK());
      return nullptr;
    }
    auto front = base_->EnterOrAwaitRelease(timeout_ms, look_again);
    (void)fs_->Finish(verdict, front ? Status::OK() : IOError("busy"));
    return front;
  }

  bool SharedByAllHosts() const override { return base_->SharedByAllHosts(); }

 private:
  FaultInjectionFileSystem* fs_;
  std::shared_ptr<io::CommitQueue> base_;
  std::string path_;
};

std::shared_ptr<io::CommitQueue> FaultInjectionFileSystem::WrapQueue(std::shared_ptr<io::CommitQueue> queue,
                                                                     std::string path) {
  if (queue == nullptr) return nullptr;
  return std::make_shared<FaultInjectionQueue>(this, std::move(queue), std::move(path));
}

// --- writes: counted, failable, and tracked for durability

Status FaultInjectionFileSystem::CreateDir(const std::string& dir) {
  Verdict verdict = Begin(FsOp::kCreateDir, dir);
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  // The directories this call will create: those missing from `dir` upwards.
  std::vector<std::string> missing;
  for (std::string d = dir; !d.empty() && d != "/" && d != "."; d = ParentDir(d)) {
    auto exists = base_->Exists(d);
    if (!exists.ok() || *exists) break;
    missing.push_back(d);
  }
  Status st = base_->CreateDir(dir);
  if (st.ok()) {
    // The contract (file_system.h): the new entries are durable on return.
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& d : missing) dirs_[d] = true;
    if (auto it = dirs_.find(dir); it != dirs_.end()) it->second = true;
  }
  return Finish(verdict, std::move(st));
}

Status FaultInjectionFileSystem::WriteNewFile(const std::string& path, std::string_view data, Durability durability) {
  Verdict verdict = Begin(FsOp::kWrite, path);
  if (verdict.crash) return Finish(verdict, Status::OK());
  if (verdict.fail) {
    if (verdict.short_write) {
      // A torn file under the final name, never flushed.
      if (base_->WriteNewFile(path, data.substr(0, data.size() / 2), Durability::kProcess).ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        files_[path] = FileState{};
      }
    }
    return Finish(verdict, Status::OK());
  }
  Status st = base_->WriteNewFile(path, data, durability);
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    FileState state;
    // kFsync: content and directory entry are flushed before the call returns.
    state.content_durable = state.entry_durable = durability == Durability::kFsync;
    files_[path] = state;
  }
  return Finish(verdict, std::move(st));
}

void FaultInjectionFileSystem::MarkDirSyncedLocked(const std::string& dir) {
  // An fsync of a directory makes every entry in it durable: files and subdirectories.
  for (auto& [path, state] : files_) {
    if (ParentDir(path) == dir) state.entry_durable = true;
  }
  for (auto& [path, durable] : dirs_) {
    if (ParentDir(path) == dir) durable = true;
  }
}

void FaultInjectionFileSystem::MarkSyncedLocked(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) {
    it->second.content_durable = true;
    it->second.previous.reset();
  }
  MarkDirSyncedLocked(ParentDir(path));
}

Status FaultInjectionFileSystem::Sync(const std::vector<std::string>& paths) {
  Verdict verdict = Begin(FsOp::kSync, paths.empty() ? std::string() : paths.front());
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  Status st = base_->Sync(paths);
  if (st.ok()) {
    // Sync flushes each file and its directory (file_system.h).
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& path : paths) MarkSyncedLocked(path);
  }
  return Finish(verdict, std::move(st));
}

Status FaultInjectionFileSystem::PublishIfAbsent(const std::string& path, std::string_view data, Durability durability,
                                                 const std::vector<std::string>& sync_first) {
  Verdict verdict = Begin(FsOp::kPublish, path);
  if (verdict.crash) return Finish(verdict, Status::OK());
  if (verdict.fail) {
    if (verdict.short_write) {
      // The publish is atomic (file_system.h), so a write that stopped short
      // can only leave a torn temp file beside the final name, never under it.
      const std::string torn = ParentDir(path) + "/." + path.substr(path.find_last_of('/') + 1) + ".torn.tmp";
      if (base_->WriteNewFile(torn, data.substr(0, data.size() / 2), Durability::kProcess).ok()) {
        std::lock_guard<std::mutex> lock(mutex_);
        files_[torn] = FileState{};
      }
    }
    return Finish(verdict, Status::OK());
  }
  Status st = base_->PublishIfAbsent(path, data, durability, sync_first);
  if (durability == Durability::kFsync && (st.ok() || st.IsAlreadyExists())) {
    // `sync_first` is flushed before the link is attempted, whether or not it wins.
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& p : sync_first) MarkSyncedLocked(p);
  }
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    FileState state;
    // The content is durable before the name appears; the name itself only
    // after a later SyncDir of its directory.
    state.content_durable = durability == Durability::kFsync;
    files_[path] = state;
  }
  return Finish(verdict, std::move(st));
}

Status FaultInjectionFileSystem::ReplaceFile(const std::string& path, std::string_view data) {
  Verdict verdict = Begin(FsOp::kReplace, path);
  if (verdict.crash) return Finish(verdict, Status::OK());
  // What a power loss would bring back: the last durable version, if any.
  // A file we did not write (or wrote durably) is its own durable version.
  std::optional<std::string> previous;
  bool read_current = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = files_.find(path);
    if (it != files_.end() && !(it->second.entry_durable && it->second.content_durable)) {
      previous = it->second.previous;
      read_current = false;
    }
  }
  if (read_current) {
    auto current = base_->ReadFile(path);
    if (current.ok()) previous = std::move(*current);
  }
  Status st;
  if (verdict.fail) {
    if (!verdict.short_write) return Finish(verdict, Status::OK());
    // rename() is atomic, so a short write shows up as a torn new version.
    st = base_->ReplaceFile(path, data.substr(0, data.size() / 2));
  } else {
    st = base_->ReplaceFile(path, data);
  }
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    FileState state;  // temp + rename, no flush: neither content nor entry durable
    state.previous = std::move(previous);
    files_[path] = std::move(state);
  }
  return Finish(verdict, std::move(st));
}

Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  Verdict verdict = Begin(FsOp::kDelete, path);
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  Status st = base_->DeleteFile(path);
  if (st.ok()) {
    // Model limit: an unlink that was never made durable could be undone by a
    // power loss (the file reappears); only orphans come back that way, so the
    // model treats deletes as durable at once.
    std::lock_guard<std::mutex> lock(mutex_);
    files_.erase(path);
  }
  return Finish(verdict, std::move(st));
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  Verdict verdict = Begin(FsOp::kSyncDir, dir);
  if (verdict.fail || verdict.crash) return Finish(verdict, Status::OK());
  Status st = base_->SyncDir(dir);
  if (st.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    MarkDirSyncedLocked(dir);
  }
  return Finish(verdict, std::move(st));
}

// --- power loss

std::vector<std::string> FaultInjectionFileSystem::NotDurable() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [path, state] : files_) {
    if (!state.entry_durable || !state.content_durable) out.push_back(path);
  }
  for (const auto& [path, durable] : dirs_) {
    if (!durable) out.push_back(path + "/");
  }
  return out;
}

Result<std::vector<std::string>> FaultInjectionFileSystem::DropUnsyncedState(UnsyncedContent unsynced) {
  std::map<std::string, FileState> files;
  std::map<std::string, bool> dirs;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    files.swap(files_);
    dirs.swap(dirs_);
  }
  std::vector<std::string> changed;
  auto remove = [&](const std::string& path) -> Status {
    Status st = base_->DeleteFile(path);
    if (!st.ok() && !IsNotFound(st)) return st;
    if (st.ok()) changed.push_back(path);
    return Status::OK();
  };
  // A directory whose own entry never became durable is gone, and with it
  // everything below it, durable or not. (The empty directory itself is
  // left: FileSystem has no rmdir, and an empty one holds no table state.)
  std::vector<std::string> lost_dirs;
  for (const auto& [dir, durable] : dirs) {
    bool ancestor_lost = false;
    for (const auto& lost : lost_dirs) ancestor_lost = ancestor_lost || IsUnder(dir, lost);
    if (!durable && !ancestor_lost) lost_dirs.push_back(dir);
  }
  std::vector<std::string> pending = lost_dirs;
  while (!pending.empty()) {
    std::string dir = std::move(pending.back());
    pending.pop_back();
    auto entries = base_->ListDir(dir);
    if (!entries.ok()) {
      if (IsNotFound(entries.status())) continue;
      return entries.status();
    }
    for (const auto& entry : *entries) {
      const std::string child = dir + "/" + entry.path;
      if (entry.is_dir) {
        pending.push_back(child);
      } else {
        ARROW_RETURN_NOT_OK(remove(child));
      }
    }
  }
  for (const auto& [path, state] : files) {
    bool under_lost = false;
    for (const auto& lost : lost_dirs) under_lost = under_lost || IsUnder(path, lost);
    if (under_lost) continue;
    if (!state.entry_durable) {
      ARROW_RETURN_NOT_OK(remove(path));
      if (state.previous) {
        ARROW_RETURN_NOT_OK(base_->WriteNewFile(path, *state.previous, Durability::kProcess));
        changed.push_back(path + " (restored)");
      }
    } else if (!state.content_durable && unsynced == UnsyncedContent::kEmpty) {
      ARROW_RETURN_NOT_OK(remove(path));
      ARROW_RETURN_NOT_OK(base_->WriteNewFile(path, "", Durability::kProcess));
      changed.push_back(path + " (emptied)");
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  crashed_ = false;
  crash_at_ = 0;
  faults_.clear();
  failing_for_good_ = false;
  return changed;
}

}  // namespace datashard::testing
