// The host-local queue of one table's committers (docs/architecture.md, "The
// commit queue").
//
// A writer that loses the race for a version waits here instead of racing
// again, so that on few cores the CPU goes to the winner rather than to
// doomed attempts; commits build and publish at the front of it, and orphan
// cleanup deletes there. It is advisory: correctness rests on
// FileSystem::PublishIfAbsent, and every caller proceeds unqueued where it
// cannot get to the front. It is not part of FileSystem: storage answers
// "which bytes are where", the queue "who goes next on this host".
#pragma once

#include <memory>
#include <string>

namespace datashard::io {

class CommitQueue {
 public:
  // The front of the queue, held until destroyed.
  class Front {
   public:
    virtual ~Front() = default;
  };

  virtual ~CommitQueue() = default;

  // The front of the queue, waiting up to `timeout_ms` for the writer there
  // to leave. nullptr if it is still held then, or if the queue's file cannot
  // be opened: the caller proceeds unqueued. Where the file system has no
  // flock, a Front that holds nothing.
  virtual std::unique_ptr<Front> TryEnter(double timeout_ms) = 0;
  // For a writer whose work the one in front may do for it (group commit):
  // the front if it is free now; otherwise waits, up to `timeout_ms`, until
  // its holder leaves, and returns nullptr without taking it, with
  // `*look_again` set: the caller looks at what the holder did and asks
  // again. Every waiter wakes at a release, instead of taking the front one
  // after another only to find its work done. nullptr with `*look_again`
  // false: the timeout passed.
  virtual std::unique_ptr<Front> EnterOrAwaitRelease(double timeout_ms, bool* look_again) = 0;
  // Whether the front cannot be had right now (another writer of this host
  // holds it, or the queue cannot be used).
  bool Busy() { return TryEnter(0) == nullptr; }
  // Whether every writer of the table, on any host, queues here (a table on
  // a file system whose flock all hosts share). Orphan cleanup deletes at the
  // front, so a commit there may trust that the files it checks stay.
  virtual bool SharedByAllHosts() const = 0;
};

// The queue on the lock file `path` (created if absent): an exclusive flock,
// with a release counter in the file that waiters sleep on.
std::shared_ptr<CommitQueue> LockFileQueue(std::string path, bool shared_by_all_hosts);

// The queue of the table at `location`: metadata/.commit-queue.lock for a
// table on a file system; for an object store (s3://), which has no locks, a
// lock file in this host's lock directory (DATASHARD_LOCK_DIR, by default
// $TMPDIR/datashard-locks) named by a hash of the location, which queues the
// writers of this host only. nullptr where that directory cannot be made.
std::shared_ptr<CommitQueue> CommitQueueFor(const std::string& location);

}  // namespace datashard::io
