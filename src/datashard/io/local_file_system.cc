// POSIX implementation of FileSystem.
//
// Commit publication uses write-temp, fsync, link(): link() fails with EEXIST
// if a concurrent writer published the same name first, which makes it an
// atomic create-if-absent on local disks and NFS. rename() would silently
// replace the winner's file, so it is never used for anything but the hint.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>
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

  Result<std::shared_ptr<arrow::io::OutputStream>> OpenNewFile(const std::string& path) override {
    // O_EXCL and O_NOFOLLOW as for WriteNewFile; Arrow owns the fd from here.
    int raw = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (raw < 0) return ErrnoStatus("create", path, errno);
    auto file = arrow::io::FileOutputStream::Open(raw);
    if (!file.ok()) {
      ::close(raw);
      ::unlink(path.c_str());
      return file.status();
    }
    return std::static_pointer_cast<arrow::io::OutputStream>(*file);
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
