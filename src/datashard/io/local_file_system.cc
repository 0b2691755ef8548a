// POSIX implementation of FileSystem.
//
// Commit publication uses write-temp, fsync, link(): link() fails with EEXIST
// if a concurrent writer published the same name first, which makes it an
// atomic create-if-absent on local disks and NFS. rename() would silently
// replace the winner's file, so it is never used for anything but the hint.
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include <arrow/io/file.h>
#include <arrow/io/interfaces.h>
#include <arrow/util/future.h>
#include <arrow/util/thread_pool.h>

#include "datashard/file_system.h"
#include "datashard/util/uuid.h"

namespace datashard {
namespace {

// ReplaceFile rewrites files up to this size in place.
constexpr size_t kMaxInPlaceReplace = 4096;

Status ErrnoStatus(const char* op, const std::string& path, int err) {
  if (err == ENOENT) return Status::KeyError(op, " ", path, ": no such file or directory");
  if (err == EEXIST) return Status::AlreadyExists(op, " ", path, ": file exists");
  return IOError(op, " ", path, ": ", std::strerror(err));
}

std::string ParentDir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string TempName(const std::string& path) {
  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(RandomBits()));
  // A leading dot and a ".tmp" suffix keep temps out of the "*.metadata.json"
  // namespace that readers such as Trino's register_table list.
  auto slash = path.find_last_of('/');
  return path.substr(0, slash + 1) + "." + path.substr(slash + 1) + "." + suffix + ".tmp";
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  Status Close(const std::string& path) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return ErrnoStatus("close", path, errno);
    return Status::OK();
  }

 private:
  int fd_;
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status SyncFd(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return ErrnoStatus("fdatasync", path, errno);
  return Status::OK();
}

// Writes a brand-new file; O_EXCL so a name collision is an error, and
// O_NOFOLLOW so a hostile symlink planted at that name is not followed.
Status WriteExclusive(const std::string& path, std::string_view data, bool sync) {
  int raw = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (raw < 0) return ErrnoStatus("create", path, errno);
  Fd fd(raw);
  Status st = WriteAll(fd.get(), data, path);
  if (st.ok() && sync) st = SyncFd(fd.get(), path);
  Status closed = fd.Close(path);
  if (!st.ok() || !closed.ok()) {
    ::unlink(path.c_str());
    return st.ok() ? closed : st;
  }
  return Status::OK();
}

Status FsyncPath(const std::string& path, bool is_dir) {
  int raw = ::open(path.c_str(), (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
  if (raw < 0) return ErrnoStatus("open for fsync", path, errno);
  Fd fd(raw);
  if ((is_dir ? ::fsync(fd.get()) : ::fdatasync(fd.get())) != 0) return ErrnoStatus("fsync", path, errno);
  return Status::OK();
}

// The commit queue's release counter: the first four bytes of the queue
// file, mapped shared by every process that queues on it. A holder bumps it
// when it lets go and wakes whoever sleeps on it (a futex on a shared file
// mapping works across processes); a waiter reads it before trying the lock,
// so it cannot sleep through a release. Advisory, like the queue itself.
class QueueWord {
 public:
  // The counter of the queue file `path`, open at `fd`, shared by every lock
  // on the same file in this process; nullptr where the file cannot be
  // mapped (the waiters then block in flock() on a helper thread instead).
  static std::shared_ptr<QueueWord> For(const std::string& path, int fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
    static std::mutex mutex;
    static std::map<std::pair<dev_t, ino_t>, std::shared_ptr<QueueWord>> words;
    const std::pair<dev_t, ino_t> key{st.st_dev, st.st_ino};
    std::lock_guard<std::mutex> lock(mutex);
    auto found = words.find(key);
    if (found != words.end()) return found->second;
    // Mapped through a descriptor of its own: a mapping keeps its open file
    // alive, and a flock lives as long as the open file that took it.
    int raw = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (raw < 0) return nullptr;
    Fd own(raw);
    struct stat same;
    if (::fstat(own.get(), &same) != 0 || same.st_dev != st.st_dev || same.st_ino != st.st_ino) return nullptr;
    if (same.st_size < kPage && ::ftruncate(own.get(), kPage) != 0) return nullptr;
    void* page = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_SHARED, own.get(), 0);
    if (page == MAP_FAILED) return nullptr;
    // A process that queues on many tables keeps only the newest few mapped
    // (a word still in use stays mapped until its last user lets go).
    if (words.size() >= kMaxMapped) words.erase(words.begin());
    auto word = std::shared_ptr<QueueWord>(new QueueWord(page));
    words.emplace(key, word);
    return word;
  }
  ~QueueWord() { ::munmap(page_, kPage); }
  QueueWord(const QueueWord&) = delete;
  QueueWord& operator=(const QueueWord&) = delete;

  uint32_t Load() const { return Word().load(std::memory_order_acquire); }
  void Release() {
    Word().fetch_add(1, std::memory_order_acq_rel);
    (void)::syscall(SYS_futex, page_, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  }
  // Sleeps until the counter is no longer `seen` or `ms` have passed.
  void Wait(uint32_t seen, double ms) const {
    const auto ns = static_cast<int64_t>(std::max(ms, 0.0) * 1e6);
    struct timespec timeout {};
    timeout.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    timeout.tv_nsec = static_cast<decltype(timeout.tv_nsec)>(ns % 1'000'000'000);
    (void)::syscall(SYS_futex, page_, FUTEX_WAIT, seen, &timeout, nullptr, 0);
  }

 private:
  static constexpr off_t kPage = 4096;
  static constexpr size_t kMaxMapped = 64;
  explicit QueueWord(void* page) : page_(page) {}
  std::atomic_ref<uint32_t> Word() const { return std::atomic_ref<uint32_t>(*static_cast<uint32_t*>(page_)); }
  void* page_;
};

// A waiter whose holder never bumps the counter (it crashed, or runs an
// older build) still looks again this often.
constexpr double kQueueWaitSliceMs = 20;

class FlockLock final : public FileSystem::Lock {
 public:
  FlockLock(int fd, std::shared_ptr<QueueWord> word) : fd_(fd), word_(std::move(word)) {}
  ~FlockLock() override {
    ::close(fd_);  // releases the flock: nothing else holds this open file
    if (word_) word_->Release();
  }
  FlockLock(const FlockLock&) = delete;
  FlockLock& operator=(const FlockLock&) = delete;

 private:
  int fd_;
  std::shared_ptr<QueueWord> word_;
};

// Where flock() itself fails (not for being held), the queue is off: the
// caller proceeds as the holder, unqueued.
bool TryFlock(int fd) { return ::flock(fd, LOCK_EX | LOCK_NB) == 0 || (errno != EWOULDBLOCK && errno != EINTR); }

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::string> ReadFile(const std::string& path) override {
    int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (raw < 0) return ErrnoStatus("open", path, errno);
    Fd fd(raw);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", path, errno);
    if (!S_ISREG(st.st_mode)) return IOError("open ", path, ": not a regular file");
    std::string out;
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("read", path, errno);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    out.resize(done);
    return out;
  }

  Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenInputFile(const std::string& path) override {
    // Opened here with O_NOFOLLOW, then handed to Arrow, which owns the fd.
    int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (raw < 0) return ErrnoStatus("open", path, errno);
    auto file = arrow::io::ReadableFile::Open(raw);
    if (!file.ok()) {
      ::close(raw);
      return file.status();
    }
    return std::static_pointer_cast<arrow::io::RandomAccessFile>(*file);
  }

  Result<FileInfo> GetFileInfo(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    FileInfo info;
    info.path = path;
    info.size = st.st_size;
    info.mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    info.is_dir = S_ISDIR(st.st_mode);
    return info;
  }

  Result<bool> Exists(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT) return false;
    return ErrnoStatus("stat", path, errno);
  }

  Result<std::vector<FileInfo>> ListDir(const std::string& dir) override {
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) return ErrnoStatus("list", dir, errno);
    std::vector<FileInfo> out;
    while (struct dirent* entry = ::readdir(handle)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      FileInfo info;
      info.path = name;
      info.is_dir = entry->d_type == DT_DIR;
      out.push_back(std::move(info));
    }
    ::closedir(handle);
    return out;
  }

  Status CreateDir(const std::string& dir) override {
    if (dir.empty() || dir == "/") return Status::OK();
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return IOError("create directory ", dir, ": a file is in the way");
      std::lock_guard<std::mutex> lock(dirs_mutex_);
      if (durable_dirs_.count(dir)) return Status::OK();
    } else {
      ARROW_RETURN_NOT_OK(CreateDir(ParentDir(dir)));
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", dir, errno);
    }
    // A directory's entry lives in its parent: flush it, or a power loss can
    // take the directory (and every file later synced inside it) away. That
    // holds for one another process just created too (its own flush may not
    // have happened yet), so an existing directory is flushed as well, once
    // per FileSystem: after that it is known durable.
    ARROW_RETURN_NOT_OK(SyncDir(ParentDir(dir)));
    std::lock_guard<std::mutex> lock(dirs_mutex_);
    durable_dirs_.insert(dir);
    return Status::OK();
  }

  Status WriteNewFile(const std::string& path, std::string_view data, Durability durability) override {
    const bool sync = durability == Durability::kFsync;
    ARROW_RETURN_NOT_OK(WriteExclusive(path, data, sync));
    if (sync) return SyncDir(ParentDir(path));
    return Status::OK();
  }

  Status Sync(const std::vector<std::string>& paths) override {
    // Every file and every distinct parent directory, fsynced from parallel
    // threads: concurrent fsyncs share one journal commit on ext4/xfs.
    std::vector<std::pair<std::string, bool>> targets;  // path, is_dir
    std::set<std::string> dirs;
    for (const auto& path : paths) {
      targets.emplace_back(path, false);
      if (dirs.insert(ParentDir(path)).second) targets.emplace_back(ParentDir(path), true);
    }
    if (targets.empty()) return Status::OK();
    // The others go to Arrow's I/O pool (threads kept across commits: a
    // thread started per fsync costs more than a small commit's CPU work);
    // the first is flushed on this thread meanwhile.
    arrow::internal::Executor* pool = arrow::io::default_io_context().executor();
    std::vector<arrow::Future<>> others;
    others.reserve(targets.size());
    for (size_t i = 1; i < targets.size(); ++i) {
      auto submitted = pool->Submit([target = targets[i]] { return FsyncPath(target.first, target.second); });
      others.push_back(submitted.ok() ? *submitted : arrow::Future<>::MakeFinished(submitted.status()));
    }
    Status result = FsyncPath(targets[0].first, targets[0].second);
    for (auto& other : others) {
      Status st = other.status();  // waits
      if (result.ok()) result = st;
    }
    return result;
  }

  Status PublishIfAbsent(const std::string& path, std::string_view data, Durability durability,
                         const std::vector<std::string>& sync_first) override {
    std::string temp = TempName(path);
    ARROW_RETURN_NOT_OK(WriteExclusive(temp, data, /*sync=*/false));
    if (durability == Durability::kFsync) {
      std::vector<std::string> paths = sync_first;
      paths.push_back(temp);
      Status synced = Sync(paths);
      if (!synced.ok()) {
        ::unlink(temp.c_str());
        return synced;
      }
    }
    // The link() fails with EEXIST if a concurrent writer published this
    // version first; that is the whole protocol.
    int rc = ::link(temp.c_str(), path.c_str());
    int err = errno;
    ::unlink(temp.c_str());
    if (rc != 0) return ErrnoStatus("publish", path, err);
    return Status::OK();
  }

  std::unique_ptr<Lock> TryLockFor(const std::string& path, double timeout_ms) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return nullptr;
    std::shared_ptr<QueueWord> word = QueueWord::For(path, fd);
    if (word) {
      // Try, and if the lock is held sleep until its holder lets go; at a
      // release every waiter wakes and tries again, one gets it.
      const auto started = std::chrono::steady_clock::now();
      for (;;) {
        const uint32_t seen = word->Load();
        if (TryFlock(fd)) return std::make_unique<FlockLock>(fd, std::move(word));
        const double left = timeout_ms - MsSince(started);
        if (left <= 0) {
          ::close(fd);
          return nullptr;
        }
        word->Wait(seen, std::min(left, kQueueWaitSliceMs));
      }
    }
    if (TryFlock(fd)) return std::make_unique<FlockLock>(fd, nullptr);
    if (timeout_ms <= 0) {
      ::close(fd);
      return nullptr;
    }
    // No counter to sleep on: wait in a blocking flock() (the kernel hands
    // the lock over the moment it is released), but on a helper thread: a
    // stopped holder must not hang everyone else, and flock() cannot time
    // out. A helper whose caller gave up releases the lock as soon as it
    // gets it.
    struct Wait {
      std::mutex mutex;
      std::condition_variable done;
      bool acquired = false;
      bool abandoned = false;
    };
    auto wait = std::make_shared<Wait>();
    try {
      std::thread([wait, fd] {
        while (::flock(fd, LOCK_EX) != 0 && errno == EINTR) {
        }
        std::lock_guard<std::mutex> lock(wait->mutex);
        if (wait->abandoned) {
          ::close(fd);
          return;
        }
        wait->acquired = true;
        wait->done.notify_one();
      }).detach();
    } catch (const std::system_error&) {  // no thread to spare: the caller proceeds unqueued
      return std::make_unique<FlockLock>(fd, nullptr);
    }
    std::unique_lock<std::mutex> lock(wait->mutex);
    if (!wait->done.wait_for(lock, std::chrono::duration<double, std::milli>(timeout_ms),
                             [&] { return wait->acquired; })) {
      wait->abandoned = true;  // the helper closes fd
      return nullptr;
    }
    return std::make_unique<FlockLock>(fd, nullptr);
  }

  std::unique_ptr<Lock> LockOrAwaitRelease(const std::string& path, double timeout_ms, bool* look_again) override {
    *look_again = false;
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return nullptr;
    std::shared_ptr<QueueWord> word = QueueWord::For(path, fd);
    if (!word) {
      ::close(fd);
      return TryLockFor(path, timeout_ms);
    }
    const uint32_t seen = word->Load();
    if (TryFlock(fd)) return std::make_unique<FlockLock>(fd, std::move(word));
    ::close(fd);
    if (timeout_ms <= 0) return nullptr;
    word->Wait(seen, std::min(timeout_ms, kQueueWaitSliceMs));
    *look_again = true;
    return nullptr;
  }

  Status ReplaceFile(const std::string& path, std::string_view data) override {
    // In place when that cannot leave old bytes behind (the new content is
    // at least as long). Renaming a temp file over the old one makes ext4
    // start writeback of the new file (auto_da_alloc) and free the old inode:
    // on every commit that was a tenth of a small commit's cost.
    if (data.size() <= kMaxInPlaceReplace) {
      int raw = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
      if (raw >= 0) {
        Fd fd(raw);
        struct stat st;
        if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) <= data.size() &&
            ::pwrite(fd.get(), data.data(), data.size(), 0) == static_cast<ssize_t>(data.size())) {
          return fd.Close(path);
        }
      }
    }
    std::string temp = TempName(path);
    ARROW_RETURN_NOT_OK(WriteExclusive(temp, data, /*sync=*/false));
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(temp.c_str());
      return ErrnoStatus("rename", path, err);
    }
    return Status::OK();
  }

  Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("delete", path, errno);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (raw < 0) return ErrnoStatus("open directory", dir, errno);
    Fd fd(raw);
    if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync directory", dir, errno);
    return Status::OK();
  }

 private:
  std::mutex dirs_mutex_;
  std::set<std::string> durable_dirs_;  // directories whose entries this object made durable
};

}  // namespace

std::shared_ptr<FileSystem> LocalFileSystem() {
  static auto fs = std::make_shared<PosixFileSystem>();
  return fs;
}

}  // namespace datashard
