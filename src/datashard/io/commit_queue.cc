#include "datashard/io/commit_queue.h"

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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "datashard/file_system.h"
#include "datashard/format/file_names.h"

namespace datashard::io {
namespace {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

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
    UniqueFd own(raw);
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

class FlockFront final : public CommitQueue::Front {
 public:
  FlockFront(int fd, std::shared_ptr<QueueWord> word) : fd_(fd), word_(std::move(word)) {}
  ~FlockFront() override {
    ::close(fd_);  // releases the flock: nothing else holds this open file
    if (word_) word_->Release();
  }
  FlockFront(const FlockFront&) = delete;
  FlockFront& operator=(const FlockFront&) = delete;

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

class FlockQueue final : public CommitQueue {
 public:
  FlockQueue(std::string path, bool shared_by_all_hosts)
      : path_(std::move(path)), shared_by_all_hosts_(shared_by_all_hosts) {}

  std::unique_ptr<Front> TryEnter(double timeout_ms) override {
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return nullptr;
    std::shared_ptr<QueueWord> word = QueueWord::For(path_, fd);
    if (word) {
      // Try, and if the lock is held sleep until its holder lets go; at a
      // release every waiter wakes and tries again, one gets it.
      const auto started = std::chrono::steady_clock::now();
      for (;;) {
        const uint32_t seen = word->Load();
        if (TryFlock(fd)) return std::make_unique<FlockFront>(fd, std::move(word));
        const double left = timeout_ms - MsSince(started);
        if (left <= 0) {
          ::close(fd);
          return nullptr;
        }
        word->Wait(seen, std::min(left, kQueueWaitSliceMs));
      }
    }
    if (TryFlock(fd)) return std::make_unique<FlockFront>(fd, nullptr);
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
      return std::make_unique<FlockFront>(fd, nullptr);
    }
    std::unique_lock<std::mutex> lock(wait->mutex);
    if (!wait->done.wait_for(lock, std::chrono::duration<double, std::milli>(timeout_ms),
                             [&] { return wait->acquired; })) {
      wait->abandoned = true;  // the helper closes fd
      return nullptr;
    }
    return std::make_unique<FlockFront>(fd, nullptr);
  }

  std::unique_ptr<Front> EnterOrAwaitRelease(double timeout_ms, bool* look_again) override {
    *look_again = false;
    int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return nullptr;
    std::shared_ptr<QueueWord> word = QueueWord::For(path_, fd);
    if (!word) {
      ::close(fd);
      return TryEnter(timeout_ms);
    }
    const uint32_t seen = word->Load();
    if (TryFlock(fd)) return std::make_unique<FlockFront>(fd, std::move(word));
    ::close(fd);
    if (timeout_ms <= 0) return nullptr;
    word->Wait(seen, std::min(timeout_ms, kQueueWaitSliceMs));
    *look_again = true;
    return nullptr;
  }

  bool SharedByAllHosts() const override { return shared_by_all_hosts_; }

 private:
  std::string path_;
  bool shared_by_all_hosts_;
};

// Where this host keeps the lock files of object-store tables.
std::string LockDir() {
  const char* dir = std::getenv("DATASHARD_LOCK_DIR");
  if (dir != nullptr && *dir != 0) return dir;
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp != nullptr && *tmp != 0 ? tmp : "/tmp") + "/datashard-locks";
}

}  // namespace

std::shared_ptr<CommitQueue> LockFileQueue(std::string path, bool shared_by_all_hosts) {
  return std::make_shared<FlockQueue>(std::move(path), shared_by_all_hosts);
}

std::shared_ptr<CommitQueue> CommitQueueFor(const std::string& location) {
  if (!IsS3Path(location)) return LockFileQueue(format::CommitQueuePath(location), /*shared_by_all_hosts=*/true);
  // FNV-1a: the same name in every process and build.
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : location) hash = (hash ^ c) * 1099511628211ULL;
  char name[32];
  std::snprintf(name, sizeof(name), "%016llx.lock", static_cast<unsigned long long>(hash));
  const std::string dir = LockDir();
  if (!LocalFileSystem()->CreateDir(dir).ok()) return nullptr;
  return LockFileQueue(dir + "/" + name, /*shared_by_all_hosts=*/false);
}

}  // namespace datashard::io
