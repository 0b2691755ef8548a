#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "datashard/file_system.h"
#include "datashard/format/file_names.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

TEST(LocalFileSystemTest, WriteReadListDelete) {
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  DS_ASSERT_OK(fs->CreateDir(dir.Join("a/b")));
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("a/b/f"), "hello", Durability::kFsync));
  DS_ASSIGN_OR_FAIL(std::string text, fs->ReadFile(dir.Join("a/b/f")));
  EXPECT_EQ(text, "hello");
  // New files are exclusive: never silently overwritten.
  EXPECT_FALSE(fs->WriteNewFile(dir.Join("a/b/f"), "again", Durability::kProcess).ok());
  DS_ASSIGN_OR_FAIL(auto entries, fs->ListDir(dir.Join("a/b")));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, "f");
  DS_ASSERT_OK(fs->DeleteFile(dir.Join("a/b/f")));
  auto missing = fs->ReadFile(dir.Join("a/b/f"));
  EXPECT_TRUE(IsNotFound(missing.status()));
}

TEST(LocalFileSystemTest, CreateDirAgainAfterTheDirectoryWasRemoved) {
  // A table deleted and re-created at the same path by one process: the
  // directory is created again, not remembered from before.
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  DS_ASSERT_OK(fs->CreateDir(dir.Join("t/data")));
  DS_ASSERT_OK(fs->CreateDir(dir.Join("t/data")));  // present: fine
  std::filesystem::remove_all(dir.Join("t"));
  DS_ASSERT_OK(fs->CreateDir(dir.Join("t/data")));
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("t/data/f"), "x", Durability::kFsync));
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("file"), "x", Durability::kProcess));
  EXPECT_FALSE(fs->CreateDir(dir.Join("file")).ok());  // a file in the way
}

TEST(LocalFileSystemTest, PublishIfAbsentNeverReplaces) {
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  DS_ASSERT_OK(fs->PublishIfAbsent(dir.Join("v1.metadata.json"), "first", Durability::kFsync));
  Status second = fs->PublishIfAbsent(dir.Join("v1.metadata.json"), "second", Durability::kFsync);
  EXPECT_TRUE(second.IsAlreadyExists()) << second.ToString();
  DS_ASSIGN_OR_FAIL(std::string text, fs->ReadFile(dir.Join("v1.metadata.json")));
  EXPECT_EQ(text, "first");
  // No temp file is left behind in either case.
  DS_ASSIGN_OR_FAIL(auto entries, fs->ListDir(dir.path()));
  EXPECT_EQ(entries.size(), 1u);
}

TEST(LocalFileSystemTest, RacingPublishersExactlyOneWins) {
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  constexpr int kThreads = 8;
  for (int round = 0; round < 50; ++round) {
    const std::string path = dir.Join("v" + std::to_string(round) + ".metadata.json");
    std::atomic<int> winners{0}, losers{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Status st = fs->PublishIfAbsent(path, "writer " + std::to_string(t), Durability::kProcess);
        (st.ok() ? winners : losers)++;
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(winners.load(), 1);
    EXPECT_EQ(losers.load(), kThreads - 1);
  }
}

TEST(LocalFileSystemTest, RefusesSymlinkAtAFileName) {
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("secret"), "s", Durability::kProcess));
  ASSERT_EQ(::symlink(dir.Join("secret").c_str(), dir.Join("link").c_str()), 0);
  EXPECT_FALSE(fs->ReadFile(dir.Join("link")).ok());
}

TEST(LocalFileSystemTest, ReplaceFileCreatesGrowsAndShrinks) {
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  const std::string hint = dir.Join("hint");
  DS_ASSERT_OK(fs->ReplaceFile(hint, "9"));   // absent: created
  DS_ASSERT_OK(fs->ReplaceFile(hint, "10"));  // longer: rewritten in place
  DS_ASSIGN_OR_FAIL(std::string text, fs->ReadFile(hint));
  EXPECT_EQ(text, "10");
  DS_ASSERT_OK(fs->ReplaceFile(hint, "11"));
  DS_ASSIGN_OR_FAIL(text, fs->ReadFile(hint));
  EXPECT_EQ(text, "11");
  DS_ASSERT_OK(fs->ReplaceFile(hint, "7"));  // shorter: replaced whole, no old byte left over
  DS_ASSIGN_OR_FAIL(text, fs->ReadFile(hint));
  EXPECT_EQ(text, "7");
  // A symlink planted at the name is replaced, never written through.
  std::filesystem::remove(hint);
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("victim"), "x", Durability::kProcess));
  std::filesystem::create_symlink(dir.Join("victim"), hint);
  DS_ASSERT_OK(fs->ReplaceFile(hint, "12"));
  DS_ASSIGN_OR_FAIL(text, fs->ReadFile(dir.Join("victim")));
  EXPECT_EQ(text, "x");
  EXPECT_FALSE(std::filesystem::is_symlink(hint));
}

// The commit queue: a waiter gets the lock the moment its holder lets go, a
// waiter whose holder does not let go in time gives up (and takes nothing
// with it: the lock is free again once the holder is done).
TEST(LocalFileSystemTest, QueueWaitersGetTheLockWhenReleasedAndGiveUpInTime) {
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  const std::string queue = dir.Join("queue.lock");
  auto held = fs->TryLockFor(queue, 0);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(fs->TryLockFor(queue, 0), nullptr);  // busy: no wait asked for
  std::atomic<bool> released{false};
  std::atomic<bool> got_it_early{false};
  std::thread waiter([&] {
    auto lock = fs->TryLockFor(queue, 60'000);
    got_it_early = lock != nullptr && !released.load();
    EXPECT_NE(lock, nullptr);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  released = true;
  held.reset();
  waiter.join();
  EXPECT_FALSE(got_it_early.load());

  held = fs->TryLockFor(queue, 0);
  ASSERT_NE(held, nullptr);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(fs->TryLockFor(queue, 150), nullptr);  // the holder keeps it: gives up
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(140));
  held.reset();
  // The waiter that gave up leaves nothing held behind.
  EXPECT_NE(fs->TryLockFor(queue, 10'000), nullptr);
}

// Group-commit waiters: while the queue is held they sleep and come back to
// look (the holder may have done their work), never taking it; once it is
// free the next call takes it.
TEST(LocalFileSystemTest, GroupWaitersLookAgainWithoutTakingAHeldQueue) {
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  const std::string queue = dir.Join("queue.lock");
  auto held = fs->TryLockFor(queue, 0);
  ASSERT_NE(held, nullptr);
  bool look_again = true;
  EXPECT_EQ(fs->LockOrAwaitRelease(queue, 0, &look_again), nullptr);  // busy: no wait asked for
  EXPECT_FALSE(look_again);
  std::atomic<int> took{0};
  std::atomic<int> looked{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      bool again = false;
      if (fs->LockOrAwaitRelease(queue, 60'000, &again) != nullptr) took++;
      if (again) looked++;
    });
  }
  for (auto& waiter : waiters) waiter.join();
  EXPECT_EQ(took.load(), 0);
  EXPECT_EQ(looked.load(), 3);
  EXPECT_EQ(fs->TryLockFor(queue, 0), nullptr);  // still the holder's
  held.reset();
  auto mine = fs->LockOrAwaitRelease(queue, 60'000, &look_again);
  EXPECT_NE(mine, nullptr);
  EXPECT_FALSE(look_again);
}

// A holder that dies without letting go in order (its flock goes with the
// process, its wake-up never comes) holds up waiters for a moment only.
TEST(LocalFileSystemTest, AQueueHolderKilledHoldingItHoldsUpNobody) {
  testing::TempDir dir;
  auto fs = LocalFileSystem();
  const std::string queue = dir.Join("queue.lock");
  ASSERT_NE(fs->TryLockFor(queue, 0), nullptr);  // the counter file exists and is mapped here
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = fs->TryLockFor(queue, 0);
    char byte = lock != nullptr ? 'y' : 'n';
    (void)!::write(ready[1], &byte, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::_exit(0);  // no destructors: the lock goes with the process, unannounced
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  const auto start = std::chrono::steady_clock::now();
  std::unique_ptr<FileSystem::Lock> mine;
  while (mine == nullptr && std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    bool look_again = false;
    mine = fs->LockOrAwaitRelease(queue, 60'000, &look_again);
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

TEST(FileNamesTest, ContainmentRejectsEscapes) {
  const std::string loc = "/lake/t";
  DS_ASSERT_OK(format::CheckInsideLocation(loc, "/lake/t/data/x.parquet"));
  for (const char* bad : {"/lake/other/x", "/lake/t", "/lake/t/", "/lake/t/../u/x", "/lake/t/data/./x", "/lake/t//x",
                          "/lake/tt/x", "relative/x"}) {
    EXPECT_TRUE(IsKind(format::CheckInsideLocation(loc, bad), ErrorKind::kCorruptData)) << bad;
  }
}

TEST(FileNamesTest, MetadataVersionParsing) {
  EXPECT_EQ(format::ParseMetadataVersion("v12.metadata.json"), 12);
  EXPECT_EQ(format::ParseMetadataVersion("v0.metadata.json"), std::nullopt);
  EXPECT_EQ(format::ParseMetadataVersion("12.metadata.json"), std::nullopt);
  EXPECT_EQ(format::ParseMetadataVersion(".v12.metadata.json.1234.tmp"), std::nullopt);
  EXPECT_EQ(format::ParseMetadataVersion("v1x.metadata.json"), std::nullopt);
}

}  // namespace
}  // namespace datashard
