#include "datashard/io/commit_queue.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "testing/temp_dir.h"

namespace datashard::io {
namespace {

// The commit queue: a waiter gets to the front the moment its holder lets go, a
// waiter whose holder does not let go in time gives up (and takes nothing
// with it: the front is free again once the holder is done).
TEST(CommitQueueTest, QueueWaitersGetTheLockWhenReleasedAndGiveUpInTime) {
  testing::TempDir dir;
  auto queue = LockFileQueue(dir.Join("queue.lock"), /*shared_by_all_hosts=*/true);
  auto held = queue->TryEnter(0);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(queue->TryEnter(0), nullptr);  // busy: no wait asked for
  std::atomic<bool> released{false};
  std::atomic<bool> got_it_early{false};
  std::thread waiter([&] {
    auto lock = queue->TryEnter(60'000);
    got_it_early = lock != nullptr && !released.load();
    EXPECT_NE(lock, nullptr);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  released = true;
  held.reset();
  waiter.join();
  EXPECT_FALSE(got_it_early.load());

  held = queue->TryEnter(0);
  ASSERT_NE(held, nullptr);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(queue->TryEnter(150), nullptr);  // the holder keeps it: gives up
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(140));
  held.reset();
  // The waiter that gave up leaves nothing held behind.
  EXPECT_NE(queue->TryEnter(10'000), nullptr);
}

// Group-commit waiters: while the queue is held they sleep and come back to
// look (the holder may have done their work), never taking it; once it is
// free the next call takes it.
TEST(CommitQueueTest, GroupWaitersLookAgainWithoutTakingAHeldQueue) {
  testing::TempDir dir;
  auto queue = LockFileQueue(dir.Join("queue.lock"), /*shared_by_all_hosts=*/true);
  auto held = queue->TryEnter(0);
  ASSERT_NE(held, nullptr);
  bool look_again = true;
  EXPECT_EQ(queue->EnterOrAwaitRelease(0, &look_again), nullptr);  // busy: no wait asked for
  EXPECT_FALSE(look_again);
  std::atomic<int> took{0};
  std::atomic<int> looked{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      bool again = false;
      if (queue->EnterOrAwaitRelease(60'000, &again) != nullptr) took++;
      if (again) looked++;
    });
  }
  for (auto& waiter : waiters) waiter.join();
  EXPECT_EQ(took.load(), 0);
  EXPECT_EQ(looked.load(), 3);
  EXPECT_EQ(queue->TryEnter(0), nullptr);  // still the holder's
  held.reset();
  auto mine = queue->EnterOrAwaitRelease(60'000, &look_again);
  EXPECT_NE(mine, nullptr);
  EXPECT_FALSE(look_again);
}

// A holder that dies without letting go in order (its flock goes with the
// process, its wake-up never comes) holds up waiters for a moment only.
TEST(CommitQueueTest, AQueueHolderKilledHoldingItHoldsUpNobody) {
  testing::TempDir dir;
  auto queue = LockFileQueue(dir.Join("queue.lock"), /*shared_by_all_hosts=*/true);
  ASSERT_NE(queue->TryEnter(0), nullptr);  // the counter file exists and is mapped here
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = queue->TryEnter(0);
    char byte = lock != nullptr ? 'y' : 'n';
    (void)!::write(ready[1], &byte, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::_exit(0);  // no destructors: the lock goes with the process, unannounced
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<CommitQueue::Front> mine;
  while (mine == nullptr && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    bool look_again = false;
    mine = queue->EnterOrAwaitRelease(60'000, &look_again);
    if (mine == nullptr) {
      EXPECT_TRUE(look_again);
    }
  }
  EXPECT_NE(mine, nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

// A table on a file system queues in its metadata directory, shared by
// every host that mounts it; an object-store table in this host's lock
// directory, one file per table, shared by no other host.
TEST(CommitQueueTest, TablesQueueWhereTheirWritersCanMeet) {
  testing::TempDir dir;
  auto local = CommitQueueFor(dir.Join("table"));
  ASSERT_NE(local, nullptr);
  EXPECT_TRUE(local->SharedByAllHosts());
  ::setenv("DATASHARD_LOCK_DIR", dir.Join("locks").c_str(), 1);
  auto one = CommitQueueFor("s3://bucket/a");
  auto same = CommitQueueFor("s3://bucket/a");
  auto other = CommitQueueFor("s3://bucket/b");
  ::unsetenv("DATASHARD_LOCK_DIR");
  ASSERT_NE(one, nullptr);
  EXPECT_FALSE(one->SharedByAllHosts());
  auto front = one->TryEnter(0);
  ASSERT_NE(front, nullptr);
  EXPECT_TRUE(same->Busy());    // the same table: the same queue
  EXPECT_FALSE(other->Busy());  // another table: its own
  front.reset();
  EXPECT_FALSE(same->Busy());
}

}  // namespace
}  // namespace datashard::io
