#include "datashard/commit/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <arrow/api.h>

#include "datashard/commit/snapshot_producer.h"
#include "datashard/table.h"
#include "testing/counter_rows.h"
#include "testing/fault_injection_fs.h"
#include "testing/temp_dir.h"

namespace datashard::commit {
namespace {

using testing::CounterSchema;
using testing::Row;

// (writer, seq) -> how many times the table holds it.
std::map<std::pair<int32_t, int64_t>, int> Contents(Table& table) {
  std::map<std::pair<int32_t, int64_t>, int> out;
  auto reader = table.Scan(ScanOptions{});
  if (!reader.ok()) return out;
  auto all = (*reader)->ToTable();
  if (!all.ok()) return out;
  auto combined = (*all)->CombineChunks();
  if (!combined.ok() || (*combined)->num_rows() == 0) return out;
  auto writers = std::static_pointer_cast<arrow::Int32Array>((*combined)->column(0)->chunk(0));
  auto seqs = std::static_pointer_cast<arrow::Int64Array>((*combined)->column(1)->chunk(0));
  for (int64_t i = 0; i < (*combined)->num_rows(); ++i) out[{writers->Value(i), seqs->Value(i)}]++;
  return out;
}

// Snapshots (along the whole history) that applied more than one writer's append.
int64_t GroupedSnapshots(Table& table) {
  int64_t grouped = 0;
  auto metadata = table.metadata();
  for (const auto& s : metadata->snapshots) grouped += s.summary.count(kGroupSizeSummary);
  return grouped;
}

TEST(GroupCommitTest, IntentsRoundTrip) {
  Intent intent;
  intent.writer = "0f8e2c1a-1111-4222-8333-444455556666";
  intent.seq = 17;
  intent.durability = Durability::kProcess;
  intent.created_ms = 1'700'000'000'123;
  intent.added_files = 2;
  intent.added_records = 5;
  intent.added_files_size = 1234;
  format::ManifestFile manifest;
  manifest.manifest_path = "/t/metadata/m.avro";
  manifest.manifest_length = 999;
  manifest.partition_spec_id = 3;
  manifest.added_files_count = 2;
  manifest.added_rows_count = 5;
  format::FieldSummary summary;
  summary.contains_null = true;
  summary.contains_nan = false;
  summary.lower_bound = std::string("\x00\xff\x10", 3);
  summary.upper_bound = std::string("\x7f", 1);
  manifest.partitions = {summary, format::FieldSummary{}};
  intent.manifests = {manifest};
  DS_ASSIGN_OR_FAIL(Intent back, DecodeIntent(EncodeIntent(intent)));
  EXPECT_EQ(back.writer, intent.writer);
  EXPECT_EQ(back.seq, 17);
  EXPECT_EQ(back.durability, Durability::kProcess);
  EXPECT_EQ(back.created_ms, intent.created_ms);
  EXPECT_EQ(back.added_files_size, 1234);
  ASSERT_EQ(back.manifests.size(), 1u);
  EXPECT_EQ(back.manifests[0], manifest);
  EXPECT_FALSE(DecodeIntent("{\"writer\": 1}").ok());
  EXPECT_FALSE(DecodeIntent("not json").ok());
}

TEST(GroupCommitTest, IntentsCarryRowsAfterTheirJson) {
  Intent intent;
  intent.writer = "w";
  intent.seq = 3;
  intent.created_ms = 5;
  intent.rows = std::string("row\nbytes\0with anything", 23);
  intent.schema_id = 2;
  intent.spec_id = 1;
  const std::string text = EncodeIntent(intent);
  DS_ASSIGN_OR_FAIL(Intent back, DecodeIntent(text));
  EXPECT_EQ(back.rows, intent.rows);
  EXPECT_EQ(back.schema_id, 2);
  EXPECT_EQ(back.spec_id, 1);
  EXPECT_TRUE(back.manifests.empty());
  // A torn or padded intent is unreadable (its writer commits by itself), never wrong rows.
  EXPECT_FALSE(DecodeIntent(text.substr(0, text.size() - 1)).ok());
  EXPECT_FALSE(DecodeIntent(text + "x").ok());
  intent.rows.clear();
  EXPECT_FALSE(DecodeIntent(EncodeIntent(intent) + "\nstray").ok());
  // Numbers out of an integer's range are errors, not undefined conversions
  // (fuzz/crashes/intent-ubsan-float-to-int64).
  std::string text_seq = EncodeIntent(intent);
  const size_t at = text_seq.find("\"seq\":3");
  ASSERT_NE(at, std::string::npos);
  for (const char* bad : {"\"seq\":1.5e30", "\"seq\":3.5", "\"seq\":18446744073709551615", "\"seq\":\"3\""}) {
    std::string text_bad = text_seq;
    text_bad.replace(at, 7, bad);
    EXPECT_FALSE(DecodeIntent(text_bad).ok()) << text_bad;
  }
}

TEST(GroupCommitTest, MarksParseAndOldOnesArePruned) {
  TableMetadata m;
  SetMark(m, "a", Mark{3, 42, 1000});
  SetMark(m, "b", Mark{7, 0, 1000 + kMarkMaxAgeMs + 5});
  m.properties["datashard.group.bad"] = "x:y";
  auto a = MarkOf(m, "a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->seq, 3);
  EXPECT_EQ(a->snapshot_id, 42);
  EXPECT_FALSE(MarkOf(m, "bad").has_value());
  EXPECT_FALSE(MarkOf(m, "missing").has_value());
  PruneMarks(m, 1000 + kMarkMaxAgeMs + 10);
  EXPECT_FALSE(MarkOf(m, "a").has_value());  // older than the limit
  EXPECT_TRUE(MarkOf(m, "b").has_value());
}

// A leader that takes two intents of one writer id (one left behind by a
// commit that failed, one from the next commit that borrowed the id) marks
// the higher seq whichever order it takes them in: a mark that moved back
// would make the higher intent look pending, and it would be applied twice.
TEST(GroupCommitTest, AMarkNeverMovesBack) {
  TableMetadata m;
  SetMark(m, "w", Mark{5, 42, 1000});
  SetMark(m, "w", Mark{4, 43, 1000});
  auto w = MarkOf(m, "w");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->seq, 5);
  EXPECT_EQ(w->snapshot_id, 42);
  SetMark(m, "w", Mark{6, 44, 1001});
  EXPECT_EQ(MarkOf(m, "w")->seq, 6);
  EXPECT_EQ(MarkOf(m, "w")->snapshot_id, 44);
}

// The glance a waiting writer takes at a version's text agrees with MarkOf
// on real metadata JSON, and finds nothing it should not.
TEST(GroupCommitTest, MarksAreFoundInTheTextTheParseWouldRead) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = CounterSchema();
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
  TableMetadata m = *table->metadata();
  SetMark(m, "w12", Mark{41, 7, 1000});
  SetMark(m, "w1", Mark{3, 8, 1000});
  m.properties["note"] = "\"datashard.group.w2\":\"99:1:1\"";  // escaped in the JSON: not a key
  const std::string text = format::TableMetadataToJson(m);
  EXPECT_TRUE(TextShowsMark(text, "w12", 41));
  EXPECT_TRUE(TextShowsMark(text, "w12", 40));
  EXPECT_FALSE(TextShowsMark(text, "w12", 42));
  EXPECT_TRUE(TextShowsMark(text, "w1", 3));
  EXPECT_FALSE(TextShowsMark(text, "w1", 4));
  EXPECT_FALSE(TextShowsMark(text, "w2", 1));
  EXPECT_FALSE(TextShowsMark(text, "w", 1));
  EXPECT_TRUE(TextShowsMark(R"({"datashard.group.x" : "5:1:1"})", "x", 5));
  EXPECT_FALSE(TextShowsMark(R"({"datashard.group.x":5})", "x", 5));
  EXPECT_FALSE(TextShowsMark(R"({"datashard.group.x":")", "x", 0));
  EXPECT_FALSE(TextShowsMark(R"({"datashard.group.x":"99999999999999999999999:1:1"})", "x", 1));
}

// The SAX glance a settled writer decides by: its own mark in the top-level
// properties only, and what an append takes from its base.
TEST(GroupCommitTest, AGlanceFindsTheMarkAndWhatAnAppendStartsFrom) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = CounterSchema();
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
  DS_ASSERT_OK(table->Append(Row(1, 1)).status());
  TableMetadata m = *table->metadata();
  SetMark(m, "w12", Mark{41, 7, 1000});
  m.properties["note"] = "\"datashard.group.w2\":\"99:1:1\"";  // a value, not a key
  m.snapshots.back().summary["datashard.group.w3"] = "5:5:5";  // not in the properties
  const std::string text = format::TableMetadataToJson(m);
  DS_ASSIGN_OR_FAIL(VersionGlance glance, GlanceAtVersion(text, "w12"));
  ASSERT_TRUE(glance.mark.has_value());
  EXPECT_EQ(glance.mark->seq, 41);
  EXPECT_EQ(glance.mark->snapshot_id, 7);
  EXPECT_EQ(glance.location, m.location);
  EXPECT_EQ(glance.properties.count("datashard.group.w12"), 0u);  // marks are left out
  DS_ASSIGN_OR_FAIL(glance, GlanceAtVersion(text, "w2"));
  EXPECT_FALSE(glance.mark.has_value());
  DS_ASSIGN_OR_FAIL(glance, GlanceAtVersion(text, "w3"));
  EXPECT_FALSE(glance.mark.has_value());

  // Marks and snapshots differ freely; what an append uses may not.
  const TableMetadata same = *table->metadata();  // no marks, no note
  TableMetadata base = same;
  EXPECT_FALSE(SameAppendBase(glance, base));  // the glance has a property more
  base.properties["note"] = m.properties["note"];
  EXPECT_TRUE(SameAppendBase(glance, base));
  base.properties["datashard.commit.durability"] = "process";
  EXPECT_FALSE(SameAppendBase(glance, base));
  glance.properties.erase("note");
  base = same;
  EXPECT_TRUE(SameAppendBase(glance, base));
  base.current_schema_id += 1;
  EXPECT_FALSE(SameAppendBase(glance, base));
  base = same;
  base.location += "-copy";
  EXPECT_FALSE(SameAppendBase(glance, base));

  // Anything but one well-formed JSON object is an error, never a mark.
  EXPECT_FALSE(GlanceAtVersion(text.substr(0, text.size() / 2), "w12").ok());
  EXPECT_FALSE(GlanceAtVersion(text + "{}", "w12").ok());
  EXPECT_FALSE(GlanceAtVersion("[1]", "w12").ok());
  EXPECT_FALSE(GlanceAtVersion("", "w12").ok());
}

class ContendedWriters : public ::testing::TestWithParam<const char*> {};

// Process durability: each writer writes its own data file and posts its
// manifest. Fsync: a small append that finds others committing posts its rows
// instead, and a leader writes them (each append's rows in a file of their
// own) with one manifest for the whole group.
TEST_P(ContendedWriters, ShareCommitsAndLoseNothing) {
  testing::TempDir dir;
  CreateOptions options;
  options.schema = CounterSchema();
  options.properties["datashard.commit.durability"] = GetParam();
  options.properties[TableProperties::kCommitGroupRows.key] = "true";
  DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
  constexpr int kWriters = 6;
  constexpr int kCommits = 30;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      auto mine = Table::Load(table->location());
      std::optional<int64_t> last;
      for (int i = 0; mine.ok() && i < kCommits; ++i) {
        auto info = (*mine)->Append(Row(w, i));
        if (!info.ok() || !info->snapshot_id) failures++;
        if (info.ok()) last = info->snapshot_id;
      }
      // Whether its last append was applied by another writer (the version
      // that did kept as text) or by itself, the table object now holds a
      // version with that snapshot.
      if (!mine.ok() || !last || (*mine)->metadata()->SnapshotById(*last) == nullptr) failures++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  DS_ASSERT_OK(table->Refresh());
  auto contents = Contents(*table);
  EXPECT_EQ(contents.size(), static_cast<size_t>(kWriters * kCommits));
  for (const auto& [row, count] : contents) EXPECT_EQ(count, 1) << row.first << "/" << row.second;
  // Fewer versions than commits: some commits applied other writers' appends.
  EXPECT_LT(table->version(), 1 + kWriters * kCommits);
  // Nothing left pending.
  auto pending = LocalFileSystem()->ListDir(table->location() + "/metadata/_pending");
  if (pending.ok()) {
    for (const auto& entry : *pending) EXPECT_TRUE(entry.path.empty() || entry.path[0] == '.') << entry.path;
  }
  auto snapshot = table->metadata()->CurrentSnapshot();
  ASSERT_NE(snapshot, nullptr);
  // One data file per append whoever wrote it, never rows of two appends in one.
  EXPECT_EQ(snapshot->SummaryLong("total-data-files", 0), kWriters * kCommits);
  DS_ASSIGN_OR_FAIL(auto listed, LocalFileSystem()->ListDir(table->location() + "/metadata"));
  int64_t manifests = 0;
  for (const auto& entry : listed) {
    if (entry.path.find("-m") != std::string::npos && entry.path.rfind("snap-", 0) != 0) ++manifests;
  }
  if (std::string(GetParam()) == "fsync") {
    EXPECT_LT(manifests, kWriters * kCommits) << "no leader ever wrote another writer's rows";
  } else {
    EXPECT_GE(manifests, kWriters * kCommits);  // every append wrote its own
  }
}

INSTANTIATE_TEST_SUITE_P(GroupCommitTest, ContendedWriters, ::testing::Values("process", "fsync"));

// Writers race with group commit on while the machine loses power at a
// chosen file-system call (any step of any writer, leaders included); after
// the restart every acknowledged append is in the table exactly once and no
// append is there twice. Swept over crash points spread across the run.
TEST(GroupCommitTest, PowerLossAtAnyStepKeepsAcknowledgedAppendsExactlyOnce) {
  constexpr int kWriters = 4;
  constexpr int kCommits = 12;
  constexpr int kTrials = 16;
  int64_t grouped = 0;
  int64_t calls_per_run = 0;
  for (int trial = -1; trial < kTrials; ++trial) {
    testing::TempDir dir;
    auto fs = std::make_shared<testing::FaultInjectionFileSystem>(LocalFileSystem());
    CreateOptions options;
    options.schema = CounterSchema();
    options.properties[TableProperties::kCommitGroupRows.key] = trial % 2 == 0 ? "true" : "false";
    DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options, fs));
    fs->ResetCounters();
    // Trial -1 runs without a crash to count the calls a run makes.
    if (trial >= 0) fs->CrashAtCall(1 + (calls_per_run * (trial + 1)) / (kTrials + 1));
    std::mutex mutex;
    std::set<std::pair<int32_t, int64_t>> acked;
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        auto mine = Table::Load(table->location(), fs);
        for (int i = 0; mine.ok() && i < kCommits; ++i) {
          auto info = (*mine)->Append(Row(w, i));
          if (!info.ok()) break;  // the power is out
          std::lock_guard<std::mutex> lock(mutex);
          acked.insert({w, i});
        }
      });
    }
    for (auto& t : threads) t.join();
    if (trial < 0) {
      calls_per_run = fs->calls();
      ASSERT_EQ(acked.size(), static_cast<size_t>(kWriters * kCommits));
    }
    DS_ASSERT_OK(fs->DropUnsyncedState().status());
    DS_ASSIGN_OR_FAIL(auto after, Table::Load(table->location(), fs));
    grouped += GroupedSnapshots(*after);
    auto contents = Contents(*after);
    for (const auto& row : acked)
      EXPECT_EQ(contents.count(row), 1u) << "trial " << trial << ": lost " << row.first << "/" << row.second;
    for (const auto& [row, count] : contents) {
      EXPECT_EQ(count, 1) << "trial " << trial << ": " << row.first << "/" << row.second << " applied twice";
    }
    // The table takes new commits after the restart.
    DS_ASSERT_OK(after->Append(Row(99, 0)).status());
  }
  EXPECT_GT(grouped, 0) << "no commit ever applied another writer's append";
}

// The model: writers race on one table, each through a file system of its
// own that makes it "die" (every later call fails, as for a killed process,
// whose written bytes the kernel keeps) at a random call, so leaders die at
// every step of the protocol: after writing files, after posting an intent,
// mid-build, after publishing but before acknowledging. Then a fresh writer
// commits once more (applying any intents left behind). The reference is a set:
// every acknowledged append is in the table exactly once, no append is there
// twice, and nothing is there that no writer began.
TEST(GroupCommitTest, WritersDyingAtRandomStepsMatchTheReference) {
  constexpr int kWriters = 5;
  constexpr int kCommits = 10;
  constexpr int kTrials = 12;
  std::mt19937_64 rng(20261128);
  for (int trial = 0; trial < kTrials; ++trial) {
    testing::TempDir dir;
    CreateOptions options;
    options.schema = CounterSchema();
    options.properties["datashard.commit.durability"] = trial % 2 == 0 ? "fsync" : "process";
    options.properties[TableProperties::kCommitGroupRows.key] = trial % 4 == 0 ? "true" : "false";
    DS_ASSIGN_OR_FAIL(auto table, Table::Create(dir.Join("t"), options));
    std::mutex mutex;
    std::set<std::pair<int32_t, int64_t>> acked, begun;
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      // Roughly 60 calls per commit: deaths spread over the writer's whole run.
      const int64_t death = 1 + static_cast<int64_t>(rng() % (60 * kCommits));
      threads.emplace_back([&, w, death] {
        auto fs = std::make_shared<testing::FaultInjectionFileSystem>(LocalFileSystem());
        fs->CrashAtCall(death);
        auto mine = Table::Load(table->location(), fs);
        for (int i = 0; mine.ok() && i < kCommits; ++i) {
          {
            std::lock_guard<std::mutex> lock(mutex);
            begun.insert({w, i});
          }
          auto info = (*mine)->Append(Row(w, i));
          if (!info.ok()) break;  // dead
          std::lock_guard<std::mutex> lock(mutex);
          acked.insert({w, i});
        }
      });
    }
    for (auto& t : threads) t.join();
    DS_ASSIGN_OR_FAIL(auto after, Table::Load(table->location()));
    DS_ASSERT_OK(after->Append(Row(99, 0)).status());  // a leader after the deaths
    auto contents = Contents(*after);
    for (const auto& row : acked) {
      EXPECT_EQ(contents.count(row), 1u) << "trial " << trial << ": lost " << row.first << "/" << row.second;
    }
    for (const auto& [row, count] : contents) {
      EXPECT_EQ(count, 1) << "trial " << trial << ": " << row.first << "/" << row.second << " applied twice";
      if (row.first != 99) {
        EXPECT_TRUE(begun.count(row)) << "trial " << trial << ": " << row.first << "/" << row.second;
      }
    }
  }
}

}  // namespace
}  // namespace datashard::commit
