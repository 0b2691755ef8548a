#include <gtest/gtest.h>

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
