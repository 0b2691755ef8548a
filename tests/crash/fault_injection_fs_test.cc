// The fault-injecting FileSystem itself: counting, failing chosen calls, and
// the power-loss model (what survives is exactly what file_system.h promises).
#include "testing/fault_injection_fs.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <arrow/buffer.h>

#include "testing/temp_dir.h"

namespace datashard::testing {
namespace {

std::shared_ptr<FaultInjectionFileSystem> NewFs() {
  return std::make_shared<FaultInjectionFileSystem>(LocalFileSystem());
}

bool Exists(const std::string& path) { return *LocalFileSystem()->Exists(path); }

std::string Read(const std::string& path) {
  auto text = LocalFileSystem()->ReadFile(path);
  return text.ok() ? *text : "<" + text.status().ToString() + ">";
}

TEST(FaultInjectionFsTest, CountsEveryCallByKind) {
  TempDir dir;
  auto fs = NewFs();
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("a"), "hello", Durability::kProcess));
  DS_ASSERT_OK(fs->ReadFile(dir.Join("a")));
  DS_ASSERT_OK(fs->Exists(dir.Join("b")));
  DS_ASSERT_OK(fs->ListDir(dir.path()));
  DS_ASSERT_OK(fs->DeleteFile(dir.Join("a")));
  EXPECT_EQ(fs->calls(), 5);
  EXPECT_EQ(fs->calls(FsOp::kWrite), 1);
  EXPECT_EQ(fs->calls(FsOp::kStat), 1);
  auto log = fs->log();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[1].op, FsOp::kRead);
  EXPECT_EQ(log[1].path, dir.Join("a"));
  EXPECT_EQ(log[4].index, 5);
}

TEST(FaultInjectionFsTest, FailsTheChosenCallOnceOrForGood) {
  TempDir dir;
  auto fs = NewFs();
  fs->InjectFault(FaultSpec{2, std::nullopt, FaultError::kENOSPC});
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("a"), "1", Durability::kProcess));
  Status failed = fs->WriteNewFile(dir.Join("b"), "2", Durability::kProcess);
  EXPECT_TRUE(IsKind(failed, ErrorKind::kIO));
  EXPECT_NE(failed.message().find("No space left on device"), std::string::npos) << failed.ToString();
  EXPECT_FALSE(Exists(dir.Join("b")));  // the call never reached the disk
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("c"), "3", Durability::kProcess));
  EXPECT_EQ(fs->injected(), 1);

  FaultSpec persistent{1, FsOp::kRead, FaultError::kEIO};
  persistent.persistent = true;
  fs->InjectFault(persistent);
  EXPECT_FALSE(fs->ReadFile(dir.Join("a")).ok());
  EXPECT_FALSE(fs->Exists(dir.Join("a")).ok());  // every later call, of any kind
  fs->ClearFaults();
  DS_ASSERT_OK(fs->ReadFile(dir.Join("a")));
}

TEST(FaultInjectionFsTest, FailsEveryCallOfAKind) {
  TempDir dir;
  auto fs = NewFs();
  fs->InjectFault(FaultSpec{0, FsOp::kSyncDir, FaultError::kEACCES});
  EXPECT_FALSE(fs->SyncDir(dir.path()).ok());
  EXPECT_FALSE(fs->SyncDir(dir.path()).ok());
  DS_ASSERT_OK(fs->Sync({}));
  auto queue = fs->WrapQueue(io::LockFileQueue(dir.Join("lock"), true), dir.Join("lock"));
  EXPECT_NE(queue->TryEnter(10), nullptr);
  const int64_t locks = fs->calls(FsOp::kLock);
  fs->InjectFault(FaultSpec{0, FsOp::kLock});
  EXPECT_EQ(queue->TryEnter(10), nullptr);  // failed: the caller goes on unqueued
  EXPECT_EQ(fs->calls(FsOp::kLock), locks + 1);
}

TEST(FaultInjectionFsTest, ShortWritesLeaveATornFileAndTruncatedReadsReturnLess) {
  TempDir dir;
  auto fs = NewFs();
  FaultSpec torn{1, FsOp::kWrite};
  torn.short_write = true;
  fs->InjectFault(torn);
  EXPECT_FALSE(fs->WriteNewFile(dir.Join("a"), "0123456789", Durability::kFsync).ok());
  EXPECT_EQ(Read(dir.Join("a")), "01234");
  FaultSpec truncated{1, FsOp::kRead};
  truncated.truncated_read = true;
  fs->InjectFault(truncated);
  DS_ASSIGN_OR_FAIL(std::string text, fs->ReadFile(dir.Join("a")));
  EXPECT_EQ(text, "01");
  EXPECT_EQ(fs->injected(), 2);
}

TEST(FaultInjectionFsTest, InputFileReadsAreCountedAndFailable) {
  TempDir dir;
  auto fs = NewFs();
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("a"), "0123456789", Durability::kProcess));
  DS_ASSIGN_OR_FAIL(auto file, fs->OpenInputFile(dir.Join("a")));
  DS_ASSIGN_OR_FAIL(auto size, file->GetSize());
  EXPECT_EQ(size, 10);
  DS_ASSIGN_OR_FAIL(auto buffer, file->ReadAt(2, 3));
  EXPECT_EQ(buffer->ToString(), "234");
  EXPECT_EQ(fs->calls(FsOp::kFileRead), 2);
  fs->InjectFault(FaultSpec{3, FsOp::kFileRead, FaultError::kEIO});
  EXPECT_FALSE(file->ReadAt(0, 4).ok());
}

TEST(FaultInjectionFsTest, PowerLossKeepsOnlyWhatWasMadeDurable) {
  TempDir dir;
  DS_ASSERT_OK(LocalFileSystem()->WriteNewFile(dir.Join("before"), "old", Durability::kProcess));
  DS_ASSERT_OK(LocalFileSystem()->WriteNewFile(dir.Join("hint"), "1", Durability::kProcess));
  auto fs = NewFs();  // what exists now counts as durable
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("fsynced"), "a", Durability::kFsync));
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("unsynced"), "b", Durability::kProcess));
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("synced-later"), "c", Durability::kProcess));
  DS_ASSERT_OK(fs->Sync({dir.Join("synced-later")}));
  // Published with kFsync: content durable, the name only after SyncDir.
  DS_ASSERT_OK(fs->PublishIfAbsent(dir.Join("published"), "d", Durability::kFsync, {}));
  DS_ASSERT_OK(fs->ReplaceFile(dir.Join("hint"), "2"));
  DS_ASSERT_OK(fs->CreateDir(dir.Join("sub/deeper")));
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("sub/deeper/x"), "e", Durability::kFsync));
  fs->Crash();
  EXPECT_FALSE(fs->WriteNewFile(dir.Join("after"), "f", Durability::kFsync).ok());
  DS_ASSERT_OK(fs->DropUnsyncedState());
  EXPECT_EQ(Read(dir.Join("before")), "old");
  EXPECT_EQ(Read(dir.Join("fsynced")), "a");
  // Syncing a sibling flushed the directory, so the name survived; the data
  // was never flushed.
  EXPECT_EQ(Read(dir.Join("unsynced")), "");
  EXPECT_EQ(Read(dir.Join("synced-later")), "c");
  EXPECT_FALSE(Exists(dir.Join("published")));
  EXPECT_EQ(Read(dir.Join("hint")), "1");  // the rename was never made durable
  EXPECT_FALSE(Exists(dir.Join("after")));
  // CreateDir's contract: new directories are durable on return, so the
  // fsynced file below them survives.
  EXPECT_EQ(Read(dir.Join("sub/deeper/x")), "e");
}

TEST(FaultInjectionFsTest, SyncDirMakesNamesDurable) {
  TempDir dir;
  auto fs = NewFs();
  DS_ASSERT_OK(fs->PublishIfAbsent(dir.Join("published"), "d", Durability::kFsync, {}));
  DS_ASSERT_OK(fs->CreateDir(dir.Join("sub")));
  DS_ASSERT_OK(fs->SyncDir(dir.path()));
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("sub/x"), "e", Durability::kFsync));
  DS_ASSERT_OK(fs->WriteNewFile(dir.Join("entry-only"), "g", Durability::kProcess));
  DS_ASSERT_OK(fs->SyncDir(dir.path()));  // the name is durable, its data is not
  EXPECT_EQ(fs->NotDurable(), std::vector<std::string>{dir.Join("entry-only")});
  fs->CrashAtCall(fs->calls() + 1);
  EXPECT_FALSE(fs->ReadFile(dir.Join("published")).ok());
  EXPECT_TRUE(fs->crashed());
  DS_ASSERT_OK(fs->DropUnsyncedState(UnsyncedContent::kEmpty));
  EXPECT_EQ(Read(dir.Join("published")), "d");
  EXPECT_EQ(Read(dir.Join("sub/x")), "e");
  EXPECT_EQ(Read(dir.Join("entry-only")), "");
}

}  // namespace
}  // namespace datashard::testing
