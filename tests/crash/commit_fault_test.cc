// Fault sweeps and power-loss sweeps over commits (shared/notes/reliability.md,
// levels A and B).
//
// For each kind of commit: run it once through a FaultInjectionFileSystem to
// count its I/O calls N; then, for every call i in 1..N, restore the table to
// the same starting state, fail call i (or lose power at call i) and run the
// commit again. Afterwards, through a plain FileSystem, the table must open,
// hold exactly the old or the new rows (never a mix), hold the new rows if the
// commit was acknowledged, and take the next commit. A commit that reports a
// plain error must not have happened either (the caller would retry and
// apply it twice); only AmbiguousCommitError may leave it either way.
//
// Short CI mode by default; DATASHARD_CRASH_LONG=1 runs every error flavour in
// both the once and the persistent mode, and both models of unflushed data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/api.h>

#include "datashard/format/file_names.h"
#include "datashard/io/commit_queue.h"
#include "datashard/maintenance.h"
#include "datashard/schema_update.h"
#include "datashard/table.h"
#include "datashard/table/table_internal.h"
#include "datashard/transaction.h"
#include "testing/fault_injection_fs.h"
#include "testing/temp_dir.h"

namespace datashard {
namespace {

using testing::FaultError;
using testing::FaultInjectionFileSystem;
using testing::FaultSpec;
using testing::FsOp;
using testing::UnsyncedContent;

bool LongMode() {
  const char* value = std::getenv("DATASHARD_CRASH_LONG");
  return value != nullptr && std::string_view(value) != "0" && !std::string_view(value).empty();
}

Schema RowSchema() {
  Schema schema;
  schema.fields = {{1, "id", Type::Of(TypeId::kLong), true, ""}, {2, "category", Type::Of(TypeId::kString), true, ""}};
  return schema;
}

std::shared_ptr<arrow::Table> Rows(int64_t first, int64_t count, const std::string& category = "a") {
  arrow::Int64Builder ids;
  arrow::StringBuilder categories;
  for (int64_t i = first; i < first + count; ++i) {
    (void)ids.Append(i);
    (void)categories.Append(category);
  }
  return arrow::Table::Make(
      arrow::schema({arrow::field("id", arrow::int64(), false), arrow::field("category", arrow::utf8(), false)}),
      {*ids.Finish(), *categories.Finish()});
}

std::vector<int64_t> Ids(int64_t first, int64_t count) {
  std::vector<int64_t> out;
  for (int64_t i = first; i < first + count; ++i) out.push_back(i);
  return out;
}

std::vector<int64_t> Union(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  return a;
}

// Every id in the table's current snapshot, sorted (duplicates kept).
Result<std::vector<int64_t>> ReadIds(Table& table) {
  ScanOptions options;
  options.columns = {"id"};
  ARROW_ASSIGN_OR_RAISE(auto reader, table.Scan(options));
  ARROW_ASSIGN_OR_RAISE(auto all, reader->ToTable());
  std::vector<int64_t> ids;
  for (const auto& chunk : all->column(0)->chunks()) {
    const auto& values = static_cast<const arrow::Int64Array&>(*chunk);
    for (int64_t i = 0; i < values.length(); ++i) ids.push_back(values.Value(i));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string Describe(const std::vector<int64_t>& ids) {
  std::ostringstream out;
  out << ids.size() << " rows";
  if (!ids.empty()) out << " [" << ids.front() << ".." << ids.back() << "]";
  return out.str();
}

// What a reader can observe of a table, enough to tell the version before a
// commit from the version after it: the rows, the columns, how many snapshots
// and data files the current metadata holds.
struct State {
  std::vector<int64_t> ids;
  std::vector<std::string> columns;
  size_t snapshots = 0;
  size_t data_files = 0;

  bool operator==(const State&) const = default;
  std::string ToString() const {
    std::ostringstream out;
    out << Describe(ids) << ", columns";
    for (const auto& c : columns) out << " " << c;
    out << ", " << snapshots << " snapshots, " << data_files << " data files";
    return out.str();
  }
};

// Reads the state, and checks that every snapshot the metadata lists can
// still be read (time travel must not find files deleted under it).
Result<State> ReadState(Table& table) {
  State state;
  ARROW_ASSIGN_OR_RAISE(state.ids, ReadIds(table));
  auto metadata = table.metadata();
  for (const auto& field : metadata->CurrentSchema()->fields) state.columns.push_back(field.name);
  state.snapshots = metadata->snapshots.size();
  ARROW_ASSIGN_OR_RAISE(auto files, table.DataFiles(std::nullopt));
  state.data_files = files.size();
  for (const auto& snapshot : metadata->snapshots) {
    ScanOptions options;
    options.snapshot_id = snapshot.snapshot_id;
    auto reader = table.Scan(options);
    Status st = reader.ok() ? (*reader)->ToTable().status() : reader.status();
    if (!st.ok()) {
      return Status::Invalid("snapshot ", snapshot.snapshot_id, " is listed but does not read: ", st.ToString());
    }
  }
  return state;
}

std::shared_ptr<arrow::Array> Int64Literal(int64_t value) {
  return *arrow::MakeArrayFromScalar(arrow::Int64Scalar(value), 1);
}

// One kind of commit, run against a table opened through the fault FileSystem.
struct Scenario {
  std::string name;
  std::function<Status(const std::shared_ptr<Table>&)> run;
  bool partitioned = false;
  int prior_commits = 3;
  // Another writer commits after our table pinned its version, so our first
  // publish loses the race and the retry path runs.
  bool lose_a_race = false;
  // The commit carries a commit key: repeating it afterwards must apply it
  // exactly once, whatever the fault did.
  bool keyed = false;
  // Repeating the commit after a reported failure would apply it twice (an
  // append without a key), so a commit that reports a plain error must not
  // have happened. Otherwise (deletes, maintenance, schema changes: repeating
  // converges) an error after the commit is only counted as a false failure.
  bool repeat_applies_twice = false;
};

constexpr int64_t kRacerFirstId = 8000;

std::vector<Scenario> Scenarios() {
  std::vector<Scenario> out;
  Scenario append{"append", [](const std::shared_ptr<Table>& table) { return table->Append(Rows(1000, 7)).status(); }};
  append.repeat_applies_twice = true;
  out.push_back(append);
  Scenario transaction{"transaction-two-appends", [](const std::shared_ptr<Table>& table) {
                         auto tx = table->NewTransaction();
                         ARROW_RETURN_NOT_OK(tx->Append(Rows(2000, 3)));
                         ARROW_RETURN_NOT_OK(tx->Append(Rows(3000, 4)));
                         return tx->Commit().status();
                       }};
  transaction.repeat_applies_twice = true;
  out.push_back(transaction);
  // A new partition value: the commit creates a new data/category=... directory.
  Scenario partition{"append-new-partition", [](const std::shared_ptr<Table>& table) {
                       return table->Append(Rows(4000, 5, "fresh")).status();
                     }};
  partition.partitioned = true;
  partition.repeat_applies_twice = true;
  out.push_back(partition);
  // 16 small manifests inherited: the commit merges the full tier into one.
  Scenario merge{"append-merging-manifests",
                 [](const std::shared_ptr<Table>& table) { return table->Append(Rows(5000, 3)).status(); }};
  merge.prior_commits = 16;
  merge.repeat_applies_twice = true;
  out.push_back(merge);
  Scenario race{"append-after-lost-race",
                [](const std::shared_ptr<Table>& table) { return table->Append(Rows(6000, 4)).status(); }};
  race.lose_a_race = true;
  race.repeat_applies_twice = true;
  out.push_back(race);
  Scenario keyed{"keyed-append",
                 [](const std::shared_ptr<Table>& table) { return table->Append(Rows(7000, 3), "key-7000").status(); }};
  keyed.keyed = true;
  out.push_back(keyed);
  // Copy-on-write delete of ids < 3: the file holding ids 0..4 is rewritten
  // without them.
  out.push_back({"delete", [](const std::shared_ptr<Table>& table) {
                   auto tx = table->NewTransaction();
                   ARROW_RETURN_NOT_OK(tx->Delete({Predicate{"id", PredicateOp::kLt, Int64Literal(3)}}).status());
                   return tx->Commit().status();
                 }});
  out.push_back({"overwrite", [](const std::shared_ptr<Table>& table) {
                   auto tx = table->NewTransaction();
                   ARROW_RETURN_NOT_OK(
                       tx->Overwrite(Rows(100, 4), {Predicate{"id", PredicateOp::kGtEq, Int64Literal(20)}}).status());
                   return tx->Commit().status();
                 }});
  out.push_back({"compaction", [](const std::shared_ptr<Table>& table) {
                   return RewriteDataFiles(*table, int64_t{64} << 20).status();
                 }});
  out.push_back(
      {"rewrite-manifests", [](const std::shared_ptr<Table>& table) { return RewriteManifests(*table).status(); }});
  out.push_back({"expire-snapshots", [](const std::shared_ptr<Table>& table) {
                   ExpireOptions options;
                   options.older_than_ms = std::numeric_limits<int64_t>::max();
                   options.retain_last = 1;
                   return ExpireSnapshots(*table, options).status();
                 }});
  out.push_back({"schema-add-column", [](const std::shared_ptr<Table>& table) {
                   SchemaUpdate add;
                   add.kind = SchemaUpdate::Kind::kAddColumn;
                   add.column = "extra";
                   add.type = Type::Of(TypeId::kString);
                   return UpdateSchema(*table, {add}).status();
                 }});
  return out;
}

// Loads the table through `fs`, entering its commit queue through `fs` too:
// a sweep fails and crashes the queue's calls like any other.
Result<std::shared_ptr<Table>> LoadThrough(const std::string& path,
                                           const std::shared_ptr<FaultInjectionFileSystem>& fs) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Load(path, fs));
  if (fs != nullptr) {
    TableInternal::UseQueue(
        *table, fs->WrapQueue(io::CommitQueueFor(table->location()), format::CommitQueuePath(table->location())));
  }
  return table;
}

// A table with a few commits behind it, kept as a pristine copy that every
// iteration restores to the same absolute path (metadata holds absolute paths).
class TableFixture {
 public:
  TableFixture(const testing::TempDir& dir, const Scenario& scenario)
      : scenario_(scenario), path_(dir.Join("table")), pristine_(dir.Join("pristine")) {
    CreateOptions options;
    options.schema = RowSchema();
    if (scenario.partitioned) options.partition_spec.fields = {{2, 1000, "category", "identity"}};
    auto table = Table::Create(path_, options);
    EXPECT_TRUE(table.ok()) << table.status().ToString();
    if (!table.ok()) return;
    for (int64_t commit = 0; commit < scenario.prior_commits; ++commit) {
      auto appended = (*table)->Append(Rows(commit * 10, 5, commit % 2 ? "a" : "b"));
      EXPECT_TRUE(appended.ok()) << appended.status().ToString();
    }
    std::filesystem::copy(path_, pristine_, std::filesystem::copy_options::recursive);
    // The state before the commit: the pristine table (after the racer, if any).
    EXPECT_TRUE(Reset());
    auto before = Table::Load(path_);
    EXPECT_TRUE(before.ok()) << before.status().ToString();
    if (!before.ok()) return;
    auto state = ReadState(**before);
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    if (state.ok()) old_state_ = *state;
  }

  // Back to the starting point. With lose_a_race, `pinned` (opened before the
  // reset's racing commit) is what the scenario must commit through.
  bool Reset(const std::shared_ptr<FaultInjectionFileSystem>& fs = nullptr,
             std::shared_ptr<Table>* pinned = nullptr) const {
    std::filesystem::remove_all(path_);
    std::filesystem::copy(pristine_, path_, std::filesystem::copy_options::recursive);
    if (pinned != nullptr) {
      auto table = LoadThrough(path_, fs);
      if (!table.ok()) return false;
      *pinned = *table;
    }
    if (!scenario_.lose_a_race) return true;
    // The racing writer: a second process, through a plain FileSystem.
    auto other = Table::Load(path_);
    return other.ok() && (*other)->Append(Rows(kRacerFirstId, 2)).ok();
  }

  const std::string& path() const { return path_; }
  const State& old_state() const { return old_state_; }
  const State& new_state() const { return new_state_; }
  void set_new_state(State state) { new_state_ = std::move(state); }

 private:
  const Scenario& scenario_;
  std::string path_;
  std::string pristine_;
  State old_state_;
  State new_state_;
};

// How one injected failure is described and applied.
struct Injection {
  std::string label;  // e.g. "EIO once", "power loss"
  std::function<void(FaultInjectionFileSystem&, int64_t call)> arm;
  bool power_loss = false;
  UnsyncedContent unsynced = UnsyncedContent::kEmpty;
};

struct Tally {
  int64_t iterations = 0;
  int64_t injected = 0;
  int64_t acknowledged = 0;
  int64_t failed = 0;
  int64_t ambiguous = 0;
  int64_t ended_old = 0;
  int64_t ended_new = 0;
  int64_t false_failures = 0;  // reported an error, but the commit happened
  std::vector<std::string> violations;
  std::vector<std::string> false_failure_examples;
};

// Runs the scenario once with `arm` applied at `call` and checks the invariants.
void RunOnce(const TableFixture& fixture, const Scenario& scenario, const Injection& injection, int64_t call,
             Tally& tally) {
  auto fs = std::make_shared<FaultInjectionFileSystem>(LocalFileSystem());
  Status result;
  std::vector<testing::CallRecord> log;
  {
    std::shared_ptr<Table> table;
    if (!fixture.Reset(fs, &table)) {
      tally.violations.push_back(scenario.name + ": could not set up the starting table");
      return;
    }
    fs->ResetCounters();
    injection.arm(*fs, call);
    result = scenario.run(table);
    log = fs->log();
    tally.injected += fs->injected() + (fs->crashed() ? 1 : 0);
  }  // the table (and any transaction) is gone before the machine "restarts"
  if (injection.power_loss) {
    if (!fs->crashed()) fs->Crash();  // the crash point lies after the commit returned
    auto dropped = fs->DropUnsyncedState(injection.unsynced);
    if (!dropped.ok()) {
      tally.violations.push_back("dropping unsynced state failed: " + dropped.status().ToString());
      return;
    }
  }
  ++tally.iterations;
  const bool ambiguous = IsKind(result, ErrorKind::kAmbiguousCommit);
  if (result.ok()) {
    ++tally.acknowledged;
  } else if (ambiguous) {
    ++tally.ambiguous;
  } else {
    ++tally.failed;
  }

  std::ostringstream where;
  where << scenario.name << ", " << injection.label << " at call #" << call;
  if (call >= 1 && call <= static_cast<int64_t>(log.size())) {
    const auto& record = log[static_cast<size_t>(call - 1)];
    where << " (" << testing::FsOpName(record.op) << " " << record.path << ")";
  } else {
    where << " (after the commit returned)";
  }
  where << ", commit returned " << (result.ok() ? "OK" : result.ToString());
  auto violation = [&](const std::string& what) { tally.violations.push_back(where.str() + ": " + what); };

  // Everything below goes through a plain FileSystem: the machine is back.
  auto reopened = Table::Load(fixture.path());
  if (!reopened.ok()) return violation("table does not open: " + reopened.status().ToString());
  auto state = ReadState(**reopened);
  if (!state.ok()) return violation("table does not read: " + state.status().ToString());
  const bool is_old = *state == fixture.old_state();
  const bool is_new = *state == fixture.new_state();
  if (!is_old && !is_new) {
    return violation("table holds " + state->ToString() + ": neither the old " + fixture.old_state().ToString() +
                     " nor the new " + fixture.new_state().ToString());
  }
  (is_new ? tally.ended_new : tally.ended_old) += 1;
  if (result.ok() && !is_new) violation("acknowledged commit lost");
  if (!result.ok() && !ambiguous && is_new && !is_old) {
    if (scenario.repeat_applies_twice) {
      violation("commit reported failure but is in the table (repeating it would apply it twice)");
    } else {
      ++tally.false_failures;
      if (tally.false_failure_examples.size() < 3) tally.false_failure_examples.push_back(where.str());
    }
  }
  if (scenario.keyed) {
    // The caller's answer to any failure: repeat the commit with the same key.
    Status again = scenario.run(*reopened);
    if (!again.ok()) return violation("repeating the keyed commit failed: " + again.ToString());
    auto repeated = ReadState(**reopened);
    if (!repeated.ok() || !(*repeated == fixture.new_state())) {
      return violation("repeating the keyed commit did not leave it applied exactly once: " +
                       (repeated.ok() ? repeated->ToString() : repeated.status().ToString()));
    }
    state = std::move(repeated);
  }

  // The next commit succeeds and reads back, in this process and a fresh one.
  auto next = (*reopened)->Append(Rows(9000, 2));
  if (!next.ok()) return violation("next commit failed: " + next.status().ToString());
  const std::vector<int64_t> expected = Union(state->ids, Ids(9000, 2));
  auto after = ReadIds(**reopened);
  if (!after.ok() || *after != expected) return violation("next commit does not read back");
  auto fresh = Table::Load(fixture.path());
  if (!fresh.ok()) return violation("table does not open after the next commit: " + fresh.status().ToString());
  auto fresh_ids = ReadIds(**fresh);
  if (!fresh_ids.ok() || *fresh_ids != expected) violation("next commit does not read back in a fresh table");
}

// Runs the scenario without faults: counts its I/O calls and records the
// state it leaves (the "new" version).
int64_t CountCalls(TableFixture& fixture, const Scenario& scenario, std::vector<testing::CallRecord>* log) {
  auto fs = std::make_shared<FaultInjectionFileSystem>(LocalFileSystem());
  {
    std::shared_ptr<Table> table;
    EXPECT_TRUE(fixture.Reset(fs, &table));
    if (table == nullptr) return 0;
    fs->ResetCounters();
    Status st = scenario.run(table);
    EXPECT_TRUE(st.ok()) << scenario.name << ": " << st.ToString();
    *log = fs->log();
  }
  auto after = Table::Load(fixture.path());
  EXPECT_TRUE(after.ok()) << after.status().ToString();
  if (!after.ok()) return 0;
  auto state = ReadState(**after);
  EXPECT_TRUE(state.ok()) << state.status().ToString();
  if (!state.ok()) return 0;
  fixture.set_new_state(*state);
  std::cout << "[ figures  ] " << scenario.name << ": " << fs->calls() << " I/O calls:";
  for (const auto& record : *log) std::cout << " " << testing::FsOpName(record.op);
  std::cout << "\n[ figures  ]   old: " << fixture.old_state().ToString()
            << "\n[ figures  ]   new: " << fixture.new_state().ToString() << "\n";
  return fs->calls();
}

FsOp OpAt(const std::vector<testing::CallRecord>& log, int64_t call) { return log[static_cast<size_t>(call - 1)].op; }

bool IsWriteOp(FsOp op) { return op == FsOp::kWrite || op == FsOp::kPublish || op == FsOp::kReplace; }
bool IsReadOp(FsOp op) { return op == FsOp::kRead || op == FsOp::kFileRead; }

Injection Error(FaultError error, bool persistent) {
  std::string label = std::string(testing::FaultErrorName(error)) + (persistent ? " for good" : " once");
  return {label, [=](FaultInjectionFileSystem& fs, int64_t call) {
            FaultSpec spec{call, std::nullopt, error};
            spec.persistent = persistent;
            fs.InjectFault(spec);
          }};
}

Injection ShortWrite(bool persistent) {
  return {persistent ? "short write, then ENOSPC for good" : "short write",
          [=](FaultInjectionFileSystem& fs, int64_t call) {
            FaultSpec spec{call, std::nullopt, FaultError::kENOSPC};
            spec.short_write = true;
            spec.persistent = persistent;
            fs.InjectFault(spec);
          }};
}

Injection TruncatedRead() {
  return {"truncated read", [](FaultInjectionFileSystem& fs, int64_t call) {
            FaultSpec spec{call, std::nullopt, FaultError::kEIO};
            spec.truncated_read = true;
            fs.InjectFault(spec);
          }};
}

Injection PowerLoss(UnsyncedContent unsynced) {
  Injection injection{unsynced == UnsyncedContent::kEmpty ? "power loss" : "power loss (unflushed data kept)",
                      [](FaultInjectionFileSystem& fs, int64_t call) { fs.CrashAtCall(call); }};
  injection.power_loss = true;
  injection.unsynced = unsynced;
  return injection;
}

void Report(const std::string& title, const std::map<std::string, Tally>& tallies) {
  int64_t iterations = 0, injected = 0, violations = 0;
  for (const auto& [name, tally] : tallies) {
    std::cout << "[ figures  ] " << title << " " << name << ": " << tally.iterations << " runs, " << tally.injected
              << " faults injected; commit acknowledged " << tally.acknowledged << ", failed " << tally.failed
              << ", ambiguous " << tally.ambiguous << "; table ended old " << tally.ended_old << ", new "
              << tally.ended_new << "; false failures " << tally.false_failures << "; violations "
              << tally.violations.size() << "\n";
    for (const auto& example : tally.false_failure_examples) {
      std::cout << "[ figures  ]   false failure: " << example << "\n";
    }
    iterations += tally.iterations;
    injected += tally.injected;
    violations += static_cast<int64_t>(tally.violations.size());
  }
  std::cout << "[ figures  ] " << title << " total: " << iterations << " runs, " << injected << " faults injected, "
            << violations << " violations" << std::endl;
}

void ExpectNoViolations(const std::map<std::string, Tally>& tallies) {
  for (const auto& [name, tally] : tallies) {
    std::ostringstream all;
    const size_t shown = std::min<size_t>(tally.violations.size(), 40);
    for (size_t i = 0; i < shown; ++i) all << "\n  " << tally.violations[i];
    if (shown < tally.violations.size()) all << "\n  ... and " << tally.violations.size() - shown << " more";
    EXPECT_TRUE(tally.violations.empty()) << name << ": " << tally.violations.size() << " violations" << all.str();
  }
}

// Level A: fail each I/O call of the commit in turn.
TEST(CommitFaultTest, EveryFailedCallLeavesOldOrNewVersion) {
  std::map<std::string, Tally> tallies;
  for (const Scenario& scenario : Scenarios()) {
    testing::TempDir dir;
    TableFixture fixture(dir, scenario);
    std::vector<testing::CallRecord> log;
    const int64_t n = CountCalls(fixture, scenario, &log);
    ASSERT_GT(n, 0);
    Tally& tally = tallies[scenario.name];
    for (int64_t call = 1; call <= n; ++call) {
      std::vector<Injection> injections;
      const FsOp op = OpAt(log, call);
      if (LongMode()) {
        for (FaultError error : {FaultError::kEIO, FaultError::kENOSPC, FaultError::kEACCES}) {
          injections.push_back(Error(error, false));
          injections.push_back(Error(error, true));
        }
        if (IsWriteOp(op)) {
          injections.push_back(ShortWrite(false));
          injections.push_back(ShortWrite(true));
        }
      } else {
        // Each call fails once with EIO and for good with ENOSPC; EACCES
        // takes every third call.
        injections.push_back(Error(FaultError::kEIO, false));
        injections.push_back(Error(FaultError::kENOSPC, true));
        if (call % 3 == 0) injections.push_back(Error(FaultError::kEACCES, false));
        if (IsWriteOp(op)) injections.push_back(ShortWrite(false));
      }
      if (IsReadOp(op)) injections.push_back(TruncatedRead());
      for (const auto& injection : injections) RunOnce(fixture, scenario, injection, call, tally);
    }
  }
  Report("fault sweep", tallies);
  ExpectNoViolations(tallies);
}

// Level B: lose power at each I/O call of the commit (and once after it
// returned), drop what was not durable, and check the same invariants plus:
// an acknowledged commit survives.
TEST(CommitFaultTest, PowerLossAtEveryCallLeavesOldOrNewVersion) {
  std::map<std::string, Tally> tallies;
  for (const Scenario& scenario : Scenarios()) {
    testing::TempDir dir;
    TableFixture fixture(dir, scenario);
    std::vector<testing::CallRecord> log;
    const int64_t n = CountCalls(fixture, scenario, &log);
    ASSERT_GT(n, 0);
    Tally& tally = tallies[scenario.name];
    std::vector<Injection> injections = {PowerLoss(UnsyncedContent::kEmpty)};
    if (LongMode()) injections.push_back(PowerLoss(UnsyncedContent::kKeep));
    for (int64_t call = 1; call <= n + 1; ++call) {
      for (const auto& injection : injections) RunOnce(fixture, scenario, injection, call, tally);
    }
  }
  Report("power-loss sweep", tallies);
  ExpectNoViolations(tallies);
}

// Creating a table is a commit too: an acknowledged create must survive a
// power loss, and a failed one must leave either no table or an empty one.
TEST(CommitFaultTest, PowerLossDuringCreateLeavesNoTableOrAnEmptyOne) {
  Tally tally;
  int64_t n = 0;
  {
    testing::TempDir dir;
    auto fs = std::make_shared<FaultInjectionFileSystem>(LocalFileSystem());
    CreateOptions options;
    options.schema = RowSchema();
    DS_ASSERT_OK(Table::Create(dir.Join("table"), options, fs));
    n = fs->calls();
  }
  for (int64_t call = 1; call <= n + 1; ++call) {
    testing::TempDir dir;
    auto fs = std::make_shared<FaultInjectionFileSystem>(LocalFileSystem());
    fs->CrashAtCall(call);
    CreateOptions options;
    options.schema = RowSchema();
    Status created = Table::Create(dir.Join("table"), options, fs).status();
    auto log = fs->log();
    if (!fs->crashed()) fs->Crash();
    DS_ASSERT_OK(fs->DropUnsyncedState());
    ++tally.iterations;
    ++tally.injected;
    (created.ok() ? tally.acknowledged : tally.failed) += 1;
    std::ostringstream where;
    where << "create, power loss at call #" << call;
    if (call <= static_cast<int64_t>(log.size())) {
      where << " (" << testing::FsOpName(log[static_cast<size_t>(call - 1)].op) << " "
            << log[static_cast<size_t>(call - 1)].path << ")";
    } else {
      where << " (after Create returned)";
    }
    where << ", Create returned " << (created.ok() ? "OK" : created.ToString());
    auto loaded = Table::Load(dir.Join("table"));
    if (!loaded.ok()) {
      if (created.ok()) {
        tally.violations.push_back(where.str() + ": acknowledged table lost: " + loaded.status().ToString());
      } else if (!IsKind(loaded.status(), ErrorKind::kTableNotFound)) {
        tally.violations.push_back(where.str() + ": half-created table: " + loaded.status().ToString());
      } else {
        ++tally.ended_old;
      }
      continue;
    }
    ++tally.ended_new;
    auto appended = (*loaded)->Append(Rows(1, 3));
    if (!appended.ok()) {
      tally.violations.push_back(where.str() + ": next commit failed: " + appended.status().ToString());
    }
  }
  Report("power-loss sweep", {{"create", tally}});
  ExpectNoViolations({{"create", tally}});
}

// The per-commit durability override: an acknowledged fsync-mode append
// survives a power cut right after it returns even on a table whose property
// says "process", and a process-mode append on an fsync table leaves files
// that are not durable yet (so it really skipped the flushes).
TEST(CommitFaultTest, PerCommitDurabilityOverridesTheTableProperty) {
  for (const bool fsync_commit : {true, false}) {
    SCOPED_TRACE(fsync_commit ? "fsync commit on a process table" : "process commit on an fsync table");
    testing::TempDir dir;
    auto fs = std::make_shared<FaultInjectionFileSystem>(LocalFileSystem());
    CreateOptions options;
    options.schema = RowSchema();
    options.properties["datashard.commit.durability"] = fsync_commit ? "process" : "fsync";
    DS_ASSERT_OK(Table::Create(dir.Join("table"), options, fs));
    {
      DS_ASSIGN_OR_FAIL(auto table, LoadThrough(dir.Join("table"), fs));
      DS_ASSERT_OK(table->Append(Rows(0, 5), std::nullopt, fsync_commit ? Durability::kFsync : Durability::kProcess));
    }
    std::vector<std::string> not_durable = fs->NotDurable();
    std::erase_if(not_durable, [](const std::string& path) { return path.ends_with("version-hint.text"); });
    if (fsync_commit) {
      EXPECT_EQ(not_durable, std::vector<std::string>{});
      fs->Crash();
      DS_ASSERT_OK(fs->DropUnsyncedState());
      DS_ASSIGN_OR_FAIL(auto reloaded, Table::Load(dir.Join("table")));
      DS_ASSIGN_OR_FAIL(auto ids, ReadIds(*reloaded));
      EXPECT_EQ(ids.size(), 5u);
    } else {
      EXPECT_FALSE(not_durable.empty());
    }
  }
}

// Reads under faults: every failed or truncated read during a scan ends in an
// error or in exactly the right rows, never in wrong rows or a crash.
TEST(ReadFaultTest, EveryFailedReadIsAnErrorOrTheRightRows) {
  Scenario unused{"scan", nullptr};
  unused.prior_commits = 4;
  testing::TempDir dir;
  TableFixture fixture(dir, unused);
  std::vector<testing::CallRecord> log;
  auto scan = [&](FaultInjectionFileSystem& fs) -> Result<std::vector<int64_t>> {
    ARROW_ASSIGN_OR_RAISE(auto table, Table::Load(fixture.path(), std::shared_ptr<FileSystem>(&fs, [](auto*) {})));
    return ReadIds(*table);
  };
  int64_t n = 0;
  {
    FaultInjectionFileSystem fs(LocalFileSystem());
    DS_ASSIGN_OR_FAIL(auto ids, scan(fs));
    ASSERT_EQ(ids, fixture.old_state().ids);
    n = fs.calls();
    log = fs.log();
  }
  std::cout << "[ figures  ] load + scan: " << n << " I/O calls:";
  for (const auto& record : log) std::cout << " " << testing::FsOpName(record.op);
  std::cout << "\n";
  int64_t runs = 0, errors = 0, right = 0;
  std::vector<std::string> violations;
  for (int64_t call = 1; call <= n; ++call) {
    std::vector<FaultSpec> specs;
    for (FaultError error : {FaultError::kEIO, FaultError::kEACCES})
      specs.push_back(FaultSpec{call, std::nullopt, error});
    FaultSpec truncated{call, std::nullopt, FaultError::kEIO};
    truncated.truncated_read = true;
    if (IsReadOp(OpAt(log, call))) specs.push_back(truncated);
    for (const auto& spec : specs) {
      FaultInjectionFileSystem fs(LocalFileSystem());
      fs.InjectFault(spec);
      auto ids = scan(fs);
      ++runs;
      if (!ids.ok()) {
        ++errors;
        continue;
      }
      if (*ids == fixture.old_state().ids) {
        ++right;
        continue;
      }
      violations.push_back("call #" + std::to_string(call) + " (" + testing::FsOpName(OpAt(log, call)) + " " +
                           log[static_cast<size_t>(call - 1)].path + ")" + (spec.truncated_read ? " truncated" : "") +
                           ": scan returned " + Describe(*ids));
    }
  }
  std::cout << "[ figures  ] read-fault sweep: " << runs << " runs; error " << errors << ", right rows " << right
            << "; violations " << violations.size() << std::endl;
  for (const auto& v : violations) ADD_FAILURE() << v;
}

}  // namespace
}  // namespace datashard
