#include "datashard/maintenance.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include <arrow/api.h>

#include "datashard/commit/committer.h"
#include "datashard/commit/group_commit.h"
#include "datashard/commit/version_resolver.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest.h"
#include "datashard/schema_update.h"
#include "datashard/transaction.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

Schema IdSchema() {
  Schema schema;
  schema.fields = {{1, "id", Type::Of(TypeId::kLong), true, ""}};
  return schema;
}

std::shared_ptr<arrow::Table> Ids(int64_t first, int64_t count) {
  arrow::Int64Builder ids;
  for (int64_t i = first; i < first + count; ++i) (void)ids.Append(i);
  return arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64())}), {*ids.Finish()});
}

std::shared_ptr<Table> NewTable(const testing::TempDir& dir) {
  CreateOptions options;
  options.schema = IdSchema();
  options.properties["datashard.commit.durability"] = "process";
  return *Table::Create(dir.Join("t"), options);
}

int64_t Rows(Table& table, std::optional<int64_t> snapshot = std::nullopt) {
  ScanOptions options;
  options.snapshot_id = snapshot;
  auto reader = table.Scan(options);
  if (!reader.ok()) return -1;
  auto all = (*reader)->ToTable();
  return all.ok() ? (*all)->num_rows() : -1;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t CountFiles(const std::string& dir) {
  auto entries = LocalFileSystem()->ListDir(dir);
  return entries.ok() ? static_cast<int64_t>(entries->size()) : 0;
}

TEST(MaintenanceTest, ExpireForgetsOldSnapshotsAndDeletesOnlyTheirFiles) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*table->Append(Ids(i * 10, 10))->snapshot_id);
  auto tx = table->NewTransaction();
  ASSERT_EQ(*tx->Delete({Predicate{"id", PredicateOp::kLt, *arrow::MakeArrayFromScalar(arrow::Int64Scalar(20), 1)}}),
            20);
  DS_ASSERT_OK(tx->Commit().status());
  EXPECT_EQ(CountFiles(format::DataDir(table->location())), 5);

  ExpireOptions options;
  options.older_than_ms = NowMs() + 1000;
  options.retain_last = 2;
  DS_ASSIGN_OR_FAIL(auto result, ExpireSnapshots(*table, options));
  EXPECT_EQ(result.expired_snapshot_ids.size(), 4u);
  // The newest append still uses the two files the delete removed.
  EXPECT_EQ(result.deleted_data_files, 0);
  EXPECT_EQ(Rows(*table, ids[4]), 50);  // retained: the newest two snapshots
  EXPECT_EQ(Rows(*table, ids[0]), -1);  // expired: gone
  options.retain_last = 1;
  DS_ASSIGN_OR_FAIL(result, ExpireSnapshots(*table, options));
  EXPECT_EQ(result.expired_snapshot_ids.size(), 1u);
  // Now only expired snapshots used them: both files go, nothing else does.
  EXPECT_EQ(result.deleted_data_files, 2);
  EXPECT_EQ(CountFiles(format::DataDir(table->location())), 3);
  EXPECT_EQ(Rows(*table), 30);
  EXPECT_EQ(Rows(*table, ids[4]), -1);
  DS_ASSIGN_OR_FAIL(auto snapshots, AllSnapshots(*table));
  EXPECT_EQ(snapshots.size(), 1u);
  // A fresh process sees the same, and can keep writing.
  DS_ASSIGN_OR_FAIL(auto reloaded, Table::Load(table->location()));
  DS_ASSERT_OK(reloaded->Append(Ids(100, 1)).status());
  EXPECT_EQ(Rows(*reloaded), 31);
}

TEST(MaintenanceTest, ExpireAcrossTheMetadataWindowAndOldMetadataFiles) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  for (int i = 0; i < 80; ++i) DS_ASSERT_OK(table->Append(Ids(i, 1)).status());
  DS_ASSIGN_OR_FAIL(auto before, AllSnapshots(*table));
  EXPECT_EQ(before.size(), 80u);  // beyond the 32-snapshot window, through the chain
  ExpireOptions options;
  options.older_than_ms = NowMs() + 1000;
  options.retain_last = 10;
  DS_ASSIGN_OR_FAIL(auto result, ExpireSnapshots(*table, options));
  EXPECT_EQ(result.expired_snapshot_ids.size(), 70u);
  EXPECT_GT(result.deleted_metadata_files, 0);
  EXPECT_EQ(result.deleted_data_files, 0);  // every row is still live
  EXPECT_EQ(Rows(*table), 80);
  DS_ASSIGN_OR_FAIL(auto after, AllSnapshots(*table));
  EXPECT_EQ(after.size(), 10u);
  // A writer that still holds a version whose file was deleted re-finds the
  // latest instead of publishing behind it.
  DS_ASSERT_OK(table->Append(Ids(1000, 1)).status());
  EXPECT_EQ(Rows(*table), 81);
}

TEST(MaintenanceTest, TimeTravelAfterExpiryFindsRetainedSnapshotsAndNeverExpiredOnes) {
  testing::TempDir dir;
  CreateOptions create;
  create.schema = IdSchema();
  create.properties["datashard.commit.durability"] = "process";
  create.properties["datashard.metadata.max-snapshots"] = "4";
  create.properties["write.metadata.previous-versions-max"] = "100";  // old metadata files stay on disk
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), create));
  std::vector<int64_t> ids, times;
  for (int i = 0; i < 60; ++i) {
    ids.push_back(*table->Append(Ids(i, 1))->snapshot_id);
    times.push_back(table->metadata()->last_updated_ms);
    // Distinct commit times, so that a time names one snapshot.
    while (NowMs() <= times.back()) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ExpireOptions options;
  options.retain_last = 30;  // ids[30..59] stay; all but 4 are outside the window
  DS_ASSIGN_OR_FAIL(auto result, ExpireSnapshots(*table, options));
  EXPECT_EQ(result.expired_snapshot_ids.size(), 30u);
  EXPECT_EQ(result.deleted_metadata_files, 0);  // the expired snapshots are still named by old files
  EXPECT_EQ(table->metadata()->properties.at("datashard.history.start-version"), std::to_string(table->version()));
  DS_ASSERT_OK(table->Append(Ids(100, 1)).status());

  DS_ASSIGN_OR_FAIL(auto retained, table->FindSnapshot(ids[35]));
  ASSERT_TRUE(retained.has_value());
  EXPECT_EQ(Rows(*table, ids[35]), 36);
  DS_ASSIGN_OR_FAIL(auto expired, table->FindSnapshot(ids[10]));
  EXPECT_FALSE(expired.has_value());
  EXPECT_EQ(Rows(*table, ids[10]), -1);
  // By time: a retained snapshot is found, an expired one is not.
  DS_ASSIGN_OR_FAIL(auto at_retained, SnapshotAsOf(*table, times[35]));
  EXPECT_EQ(at_retained, ids[35]);
  DS_ASSIGN_OR_FAIL(auto at_expired, SnapshotAsOf(*table, times[10]));
  EXPECT_FALSE(at_expired.has_value());
  // The marker is the expiry's to keep.
  EXPECT_FALSE(SetProperties(*table, {{"datashard.history.start-version", "1"}}, {}).ok());
  EXPECT_FALSE(SetProperties(*table, {}, {"datashard.history.start-version"}).ok());
}

TEST(MaintenanceTest, OrphanRemovalRespectsTheGracePeriod) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Ids(0, 10)).status());
  auto fs = LocalFileSystem();
  const std::string stray = format::DataDir(table->location()) + "/stray.parquet";
  DS_ASSERT_OK(fs->WriteNewFile(stray, "not really parquet", Durability::kProcess));
  OrphanOptions options;
  options.older_than_ms = NowMs() - 60'000;  // only files older than a minute
  DS_ASSIGN_OR_FAIL(auto kept, RemoveOrphanFiles(*table, options));
  EXPECT_TRUE(kept.orphans.empty());
  options.older_than_ms = NowMs() + 1000;
  options.dry_run = true;
  DS_ASSIGN_OR_FAIL(auto dry, RemoveOrphanFiles(*table, options));
  ASSERT_EQ(dry.orphans.size(), 1u);
  EXPECT_TRUE(*fs->Exists(stray));
  options.dry_run = false;
  DS_ASSIGN_OR_FAIL(auto removed, RemoveOrphanFiles(*table, options));
  EXPECT_EQ(removed.data_files, 1);
  EXPECT_FALSE(*fs->Exists(stray));
  EXPECT_EQ(Rows(*table), 10);
}

TEST(MaintenanceTest, OrphanRemovalKeepsWhatAPendingGroupCommitIntentNames) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Ids(0, 1)).status());
  // A writer that lost a race: its data file and manifest are written, its
  // intent posted, and any leader may publish them next.
  const std::string data_path = format::DataDir(table->location()) + "/pending-writer.parquet";
  DS_ASSERT_OK(LocalFileSystem()->WriteNewFile(data_path, "rows", Durability::kProcess));
  format::ManifestEntry entry;
  entry.data_file.file_path = data_path;
  entry.data_file.record_count = 1;
  entry.data_file.file_size_in_bytes = 4;
  auto metadata = table->metadata();
  DS_ASSIGN_OR_FAIL(std::string manifest_bytes,
                    format::EncodeManifest(*metadata->CurrentSchema(), *metadata->DefaultSpec(),
                                           format::ManifestContent::kData, {entry}));
  const std::string manifest_path = format::NewManifestPath(table->location());
  DS_ASSERT_OK(LocalFileSystem()->WriteNewFile(manifest_path, manifest_bytes, Durability::kProcess));
  commit::Intent intent;
  intent.writer = "writer-under-test";
  intent.seq = 1;
  intent.durability = Durability::kProcess;
  intent.created_ms = NowMs();
  intent.added_files = 1;
  intent.added_records = 1;
  intent.added_files_size = 4;
  format::ManifestFile manifest;
  manifest.manifest_path = manifest_path;
  manifest.manifest_length = static_cast<int64_t>(manifest_bytes.size());
  manifest.added_files_count = 1;
  manifest.added_rows_count = 1;
  intent.manifests = {manifest};
  DS_ASSERT_OK(commit::PostIntent(*LocalFileSystem(), table->location(), intent));

  OrphanOptions options;
  options.older_than_ms = NowMs() + 60'000;  // everything is old enough
  DS_ASSIGN_OR_FAIL(auto result, RemoveOrphanFiles(*table, options));
  EXPECT_EQ(result.data_files, 0);
  EXPECT_EQ(result.manifest_files, 0);
  EXPECT_TRUE(*LocalFileSystem()->Exists(data_path));
  EXPECT_TRUE(*LocalFileSystem()->Exists(manifest_path));
  EXPECT_TRUE(*LocalFileSystem()->Exists(commit::IntentPath(table->location(), intent.writer, intent.seq)));
  // The next plain append applies the intent along with its own rows.
  DS_ASSERT_OK(table->Append(Ids(1, 1)).status());
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->summary.at("added-records"), "2");
  DS_ASSIGN_OR_FAIL(auto mark_table, Table::Load(table->location()));
  auto mark = commit::MarkOf(*mark_table->metadata(), intent.writer);
  ASSERT_TRUE(mark.has_value());
  EXPECT_EQ(mark->seq, 1);
  EXPECT_EQ(mark->snapshot_id, *mark_table->metadata()->current_snapshot_id);
}

std::shared_ptr<Table> NewTableWithDurability(const testing::TempDir& dir, const std::string& durability) {
  CreateOptions options;
  options.schema = IdSchema();
  options.properties["datashard.commit.durability"] = durability;
  return *Table::Create(dir.Join("t"), options);
}

// The issue-20 defect: a transaction whose data file orphan cleanup deleted
// while it was open used to publish a reference to the missing file.
TEST(MaintenanceTest, CommitRefusesFilesOrphanCleanupDeletedWhileItWasOpen) {
  for (const std::string durability : {"process", "fsync"}) {
    SCOPED_TRACE(durability);
    testing::TempDir dir;
    auto table = NewTableWithDurability(dir, durability);
    DS_ASSERT_OK(table->Append(Ids(0, 10)).status());
    const auto before = table->metadata()->current_snapshot_id;
    auto tx = table->NewTransaction();
    DS_ASSERT_OK(tx->Append(Ids(10, 5)));
    DS_ASSIGN_OR_FAIL(auto other, Table::Load(table->location()));
    OrphanOptions gc;
    gc.older_than_ms = NowMs() + 1000;  // grace period 0: the open transaction's file is fair game
    DS_ASSIGN_OR_FAIL(auto removed, RemoveOrphanFiles(*other, gc));
    EXPECT_EQ(removed.data_files, 1);
    auto committed = tx->Commit();
    ASSERT_FALSE(committed.ok());
    EXPECT_TRUE(IsKind(committed.status(), ErrorKind::kConcurrentModification)) << committed.status().ToString();
    EXPECT_NE(committed.status().message().find("is gone"), std::string::npos) << committed.status().ToString();
    DS_ASSERT_OK(table->Refresh());
    EXPECT_EQ(table->metadata()->current_snapshot_id, before);  // nothing published
    EXPECT_EQ(Rows(*table), 10);
    DS_ASSIGN_OR_FAIL(auto report, Verify(*table, std::nullopt));
    EXPECT_TRUE(report.problems.empty());
    // The table takes the next commit as usual.
    DS_ASSERT_OK(table->Append(Ids(10, 5)).status());
    EXPECT_EQ(Rows(*table), 15);
  }
}

// A group-commit leader never publishes another writer's intent whose files
// are gone: it leaves the intent pending, so that its writer gets the error.
TEST(MaintenanceTest, LeaderSkipsAnIntentWhoseFilesAreGone) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Ids(0, 1)).status());
  auto writer = table->NewTransaction();
  DS_ASSERT_OK(writer->Append(Ids(100, 1)));
  // Post the intent this writer would post on losing a race, with its files.
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  auto data_dir = LocalFileSystem()->ListDir(format::DataDir(table->location()));
  ASSERT_TRUE(data_dir.ok());
  std::string pending_file;
  for (const auto& entry : *data_dir) {
    const std::string path = format::DataDir(table->location()) + "/" + entry.path;
    if (path != files[0].file_path) pending_file = path;
  }
  ASSERT_FALSE(pending_file.empty());
  format::ManifestEntry entry;
  entry.data_file.file_path = pending_file;
  entry.data_file.record_count = 1;
  entry.data_file.file_size_in_bytes = LocalFileSystem()->GetFileInfo(pending_file).ValueOrDie().size;
  auto metadata = table->metadata();
  DS_ASSIGN_OR_FAIL(std::string manifest_bytes,
                    format::EncodeManifest(*metadata->CurrentSchema(), *metadata->DefaultSpec(),
                                           format::ManifestContent::kData, {entry}));
  const std::string manifest_path = format::NewManifestPath(table->location());
  DS_ASSERT_OK(LocalFileSystem()->WriteNewFile(manifest_path, manifest_bytes, Durability::kProcess));
  commit::Intent intent;
  intent.writer = "writer-whose-file-is-gone";
  intent.seq = 1;
  intent.durability = Durability::kProcess;
  intent.created_ms = NowMs();
  intent.added_files = 1;
  intent.added_records = 1;
  format::ManifestFile manifest;
  manifest.manifest_path = manifest_path;
  manifest.manifest_length = static_cast<int64_t>(manifest_bytes.size());
  manifest.added_files_count = 1;
  manifest.added_rows_count = 1;
  intent.manifests = {manifest};
  intent.files = {pending_file, manifest_path};
  DS_ASSERT_OK(commit::PostIntent(*LocalFileSystem(), table->location(), intent));
  DS_ASSERT_OK(LocalFileSystem()->DeleteFile(pending_file));  // as a cleanup would

  DS_ASSERT_OK(table->Append(Ids(1, 1)).status());
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->summary.at("added-records"), "1");
  EXPECT_FALSE(commit::MarkOf(*table->metadata(), intent.writer).has_value());
  EXPECT_TRUE(*LocalFileSystem()->Exists(commit::IntentPath(table->location(), intent.writer, intent.seq)));
  EXPECT_EQ(Rows(*table), 2);
  DS_ASSIGN_OR_FAIL(auto report, Verify(*table, std::nullopt));
  EXPECT_TRUE(report.problems.empty());
  (void)writer->Rollback();
}

// Where the check cannot be exact (no commit queue, or one only this host
// shares), files older than datashard.commit.max-file-age-ms are refused.
TEST(MaintenanceTest, CommitWithoutTheQueueRefusesFilesOlderThanTheMaxAge) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  auto fs = LocalFileSystem();
  const std::string path = format::DataDir(table->location()) + "/old.parquet";
  DS_ASSERT_OK(fs->WriteNewFile(path, "x", Durability::kProcess));
  const int64_t now = NowMs();
  DS_ASSERT_OK(commit::CheckFilesPresent(*fs, {path}, 60'000, now));
  DS_ASSERT_OK(commit::CheckFilesPresent(*fs, {path}, 0, now + 3'600'000));  // no limit
  Status old = commit::CheckFilesPresent(*fs, {path}, 60'000, now + 3'600'000);
  EXPECT_TRUE(IsKind(old, ErrorKind::kConcurrentModification)) << old.ToString();
  EXPECT_NE(old.message().find(TableProperties::kCommitMaxFileAgeMs.key), std::string::npos);
  Status gone = commit::CheckFilesPresent(*fs, {path + ".missing"}, 0, now);
  EXPECT_TRUE(IsKind(gone, ErrorKind::kConcurrentModification)) << gone.ToString();

  // A commit that goes without the queue applies the limit (here a
  // negative age: every file is too old) and publishes nothing.
  commit::CommitOptions options;
  options.durability = Durability::kProcess;
  options.queue_timeout_ms = 0;
  options.new_files = {path};
  options.max_file_age_ms = 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int64_t version = table->version();
  auto outcome = commit::CommitWithRetry(
      *fs, table->location(), commit::VersionedMetadata{version, table->metadata()},
      [&](const commit::VersionedMetadata& latest, int) -> Result<commit::BuiltCommit> {
        commit::BuiltCommit built;
        built.metadata = *latest.metadata;
        commit::FollowVersion(built.metadata, latest);
        return built;
      },
      options);
  ASSERT_FALSE(outcome.ok());
  EXPECT_TRUE(IsKind(outcome.status(), ErrorKind::kConcurrentModification));
  DS_ASSIGN_OR_FAIL(int64_t latest, commit::FindLatestVersion(*fs, table->location(), version));
  EXPECT_EQ(latest, version);
}

// Orphan cleanup with no grace period at all, in a loop, racing writers that
// hold transactions open: every commit either succeeds with all its files
// there or fails with a typed error, and the table verifies afterwards.
TEST(MaintenanceTest, OrphanCleanupWithoutGraceRacingOpenTransactions) {
  for (const std::string durability : {"process", "fsync"}) {
    SCOPED_TRACE(durability);
    testing::TempDir dir;
    auto table = NewTableWithDurability(dir, durability);
    constexpr int kWriters = 3;
    constexpr int kCommits = 25;
    std::atomic<bool> stop{false};
    std::atomic<int64_t> rows_committed{0};
    std::atomic<int> refused{0};
    std::vector<std::string> unexpected(kWriters + 1);
    std::thread cleaner([&] {
      auto handle = *Table::Load(table->location());
      while (!stop) {
        OrphanOptions gc;
        gc.older_than_ms = NowMs() + 1;
        auto removed = RemoveOrphanFiles(*handle, gc);
        if (!removed.ok()) unexpected[kWriters] = removed.status().ToString();
      }
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        auto handle = *Table::Load(table->location());
        for (int i = 0; i < kCommits; ++i) {
          auto tx = handle->NewTransaction();
          Status appended = tx->Append(Ids(w * 1000 + i * 10, 3));
          if (appended.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(i % 4));
          auto committed = appended.ok() ? tx->Commit().status() : appended;
          if (committed.ok()) {
            rows_committed += 3;
          } else if (IsKind(committed, ErrorKind::kConcurrentModification)) {
            refused++;
          } else {
            unexpected[static_cast<size_t>(w)] = committed.ToString();
          }
        }
      });
    }
    for (auto& t : writers) t.join();
    stop = true;
    cleaner.join();
    for (const auto& error : unexpected) EXPECT_EQ(error, "");
    DS_ASSERT_OK(table->Refresh());
    EXPECT_EQ(Rows(*table), rows_committed.load());
    DS_ASSIGN_OR_FAIL(auto report, Verify(*table, std::nullopt));
    EXPECT_TRUE(report.problems.empty()) << report.problems[0].path << ": " << report.problems[0].problem;
    std::cout << durability << ": " << rows_committed / 3 << " commits, " << refused << " refused\n";
  }
}

TEST(MaintenanceTest, CompactionKeepsRowsAndShrinksFileCount) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  for (int i = 0; i < 20; ++i) DS_ASSERT_OK(table->Append(Ids(i * 5, 5)).status());
  DS_ASSIGN_OR_FAIL(auto result, RewriteDataFiles(*table, 64 << 20));
  EXPECT_EQ(result.rewritten_files, 20);
  EXPECT_EQ(result.added_files, 1);
  EXPECT_EQ(table->metadata()->CurrentSnapshot()->operation(), "replace");
  EXPECT_EQ(Rows(*table), 100);
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  EXPECT_EQ(files.size(), 1u);
  DS_ASSIGN_OR_FAIL(auto manifests, RewriteManifests(*table));
  EXPECT_TRUE(manifests.snapshot_id.has_value());
  EXPECT_EQ(Rows(*table), 100);
}

// Compaction converges: it bins by the size the output will have, so a
// second pass over a compacted table finds nothing to do (issue 20: binning
// by the inputs' on-disk sizes went 30 -> 15 -> 7 files over three passes).
TEST(MaintenanceTest, CompactionTwiceInARowCommitsNothingTheSecondTime) {
  for (const std::string codec : {"zstd", "snappy", "gzip", "uncompressed"}) {
    for (const int64_t target : {int64_t{3} << 10, int64_t{8} << 10, int64_t{24} << 10, int64_t{1} << 20}) {
      SCOPED_TRACE(codec + " target " + std::to_string(target));
      testing::TempDir dir;
      CreateOptions options;
      options.schema = IdSchema();
      options.properties["datashard.commit.durability"] = "process";
      options.properties["write.parquet.compression-codec"] = codec;
      DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
      int64_t rows = 0;
      for (int i = 0; i < 30; ++i) {
        const int64_t count = 40 + (i % 7) * 60;
        DS_ASSERT_OK(table->Append(Ids(rows, count)).status());
        rows += count;
      }
      DS_ASSIGN_OR_FAIL(auto first, RewriteDataFiles(*table, target));
      EXPECT_GT(first.rewritten_files, 0);
      EXPECT_EQ(Rows(*table), rows);
      DS_ASSIGN_OR_FAIL(auto after_first, table->DataFiles(std::nullopt));
      const auto snapshots = table->metadata()->snapshots.size();
      const int64_t version = table->version();
      DS_ASSIGN_OR_FAIL(auto second, RewriteDataFiles(*table, target));
      EXPECT_EQ(second.rewritten_files, 0);
      EXPECT_FALSE(second.snapshot_id.has_value());
      EXPECT_EQ(table->version(), version);
      EXPECT_EQ(table->metadata()->snapshots.size(), snapshots);
      EXPECT_EQ(Rows(*table), rows);
      // No two files left below the target would have fit in one.
      int64_t small = 0;
      for (const auto& file : after_first) small += file.file_size_in_bytes < target;
      std::cout << codec << " target " << target << ": 30 files -> " << after_first.size() << " (" << small
                << " under the target)\n";
    }
  }
}

TEST(MaintenanceTest, VerifyFindsCorruption) {
  testing::TempDir dir;
  auto table = NewTable(dir);
  DS_ASSERT_OK(table->Append(Ids(0, 1000)).status());
  DS_ASSIGN_OR_FAIL(auto clean, Verify(*table, std::nullopt));
  EXPECT_TRUE(clean.problems.empty());
  EXPECT_EQ(clean.rows, 1000);
  DS_ASSIGN_OR_FAIL(auto files, table->DataFiles(std::nullopt));
  const std::string path = files[0].file_path;
  {
    // Flip bytes inside the data pages, keeping the size.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.write("\xff\xff\xff\xff\xff\xff\xff\xff", 8);
  }
  DS_ASSIGN_OR_FAIL(auto corrupt, Verify(*table, std::nullopt));
  ASSERT_EQ(corrupt.problems.size(), 1u);
  EXPECT_EQ(corrupt.problems[0].path, path);
}

}  // namespace
}  // namespace datashard
