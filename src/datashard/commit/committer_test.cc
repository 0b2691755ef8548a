#include "datashard/commit/committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "datashard/commit/version_resolver.h"
#include "datashard/format/file_names.h"
#include "datashard/table.h"
#include "datashard/transaction.h"
#include "testing/counter_rows.h"
#include "testing/temp_dir.h"

#include <arrow/api.h>

namespace datashard::commit {
namespace {

using testing::CounterSchema;
using testing::Row;

TEST(VersionResolverTest, ProbesPastAStaleHint) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = CounterSchema();
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
  for (int i = 0; i < 5; ++i) DS_ASSERT_OK(table->Append(Row(0, i)).status());
  auto fs = LocalFileSystem();
  // A stale hint (as a slow writer could leave) still finds the newest version.
  DS_ASSERT_OK(fs->ReplaceFile(format::VersionHintPath(table->location()), "2"));
  DS_ASSIGN_OR_FAIL(int64_t latest, FindLatestVersion(*fs, table->location(), 0));
  EXPECT_EQ(latest, 6);
  // A missing or garbage hint falls back to listing.
  DS_ASSERT_OK(fs->ReplaceFile(format::VersionHintPath(table->location()), "garbage"));
  DS_ASSIGN_OR_FAIL(latest, FindLatestVersion(*fs, table->location(), 0));
  EXPECT_EQ(latest, 6);
  DS_ASSERT_OK(UpdateVersionHint(*fs, table->location(), 3));
  DS_ASSIGN_OR_FAIL(std::string hint, fs->ReadFile(format::VersionHintPath(table->location())));
  EXPECT_EQ(hint, "6");  // corrected to the newest, digits only, no newline
}

TEST(CommitterTest, TwoWritersRaceForOneVersionExactlyOneWins) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = CounterSchema();
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
  auto fs = LocalFileSystem();
  // Both builders produce v2 on top of v1; with no retries allowed exactly one
  // publish succeeds and the other is told it lost.
  VersionedMetadata base{1, table->metadata()};
  std::atomic<int> won{0}, lost{0};
  auto attempt = [&](int writer) {
    CommitOptions once;
    once.max_attempts = 1;
    auto outcome = CommitWithRetry(
        *fs, table->location(), base,
        [&](const VersionedMetadata& latest, int) -> Result<BuiltCommit> {
          BuiltCommit built;
          built.metadata = *latest.metadata;
          built.metadata.properties["writer"] = std::to_string(writer);
          built.metadata.last_updated_ms += 1;
          return built;
        },
        once);
    if (outcome.ok()) {
      won++;
    } else {
      EXPECT_TRUE(IsKind(outcome.status(), ErrorKind::kConcurrentModification)) << outcome.status().ToString();
      lost++;
    }
  };
  std::thread a(attempt, 1), b(attempt, 2);
  a.join();
  b.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(lost.load(), 1);
  DS_ASSIGN_OR_FAIL(int64_t latest, FindLatestVersion(*fs, table->location(), 0));
  EXPECT_EQ(latest, 2);
}

TEST(CommitterTest, ConcurrentAppendersLoseNothing) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = CounterSchema();
  options.properties["datashard.commit.durability"] = "process";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
  constexpr int kWriters = 4;
  constexpr int kCommits = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto mine = Table::Load(table->location());
      if (!mine.ok()) {
        failures++;
        return;
      }
      for (int i = 0; i < kCommits; ++i) {
        if (!(*mine)->Append(Row(w, i)).ok()) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  DS_ASSERT_OK(table->Refresh());
  // Group commit may apply several writers' appends in one version.
  EXPECT_LE(table->version(), 1 + kWriters * kCommits);
  DS_ASSIGN_OR_FAIL(int64_t rows, table->RowCount(std::nullopt));
  EXPECT_EQ(rows, kWriters * kCommits);
  DS_ASSIGN_OR_FAIL(auto reader, table->Scan(ScanOptions{}));
  DS_ASSIGN_OR_FAIL(auto all, reader->ToTable());
  ASSERT_EQ(all->num_rows(), kWriters * kCommits);
  std::set<std::pair<int32_t, int64_t>> seen;
  DS_ASSIGN_OR_FAIL(auto combined, all->CombineChunks());
  auto writers = std::static_pointer_cast<arrow::Int32Array>(combined->column(0)->chunk(0));
  auto seqs = std::static_pointer_cast<arrow::Int64Array>(combined->column(1)->chunk(0));
  for (int64_t i = 0; i < combined->num_rows(); ++i) seen.insert({writers->Value(i), seqs->Value(i)});
  EXPECT_EQ(seen.size(), static_cast<size_t>(kWriters * kCommits));
  // Manifest merging keeps the newest manifest list short.
  auto metadata = table->metadata();
  EXPECT_LE(metadata->snapshots.size(), 32u);
}

}  // namespace
}  // namespace datashard::commit
