// Table maintenance: each operation is a normal commit that obeys the
// concurrency rules, so it is safe while other processes write.
//
//   ExpireSnapshots   forget old snapshots; delete the files only they used
//   RemoveOrphanFiles delete files no snapshot references (after a grace period)
//   RewriteDataFiles  compact small data files into large ones, or sort or
//                     z-order them for selective reads
//   RewriteManifests  merge all manifests into as few as possible
//   Verify            re-read every live file and check it against metadata
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datashard/schema.h"
#include "datashard/table.h"

namespace datashard {

struct ExpireOptions {
  // Snapshots committed before this time (ms since epoch) may expire (unset:
  // any age may)...
  std::optional<int64_t> older_than_ms;
  // ...but the newest `retain_last` snapshots always stay (at least 1: the current one).
  int64_t retain_last = 1;
  bool dry_run = false;
};

struct ExpireResult {
  std::vector<int64_t> expired_snapshot_ids;
  int64_t deleted_data_files = 0;
  int64_t deleted_manifests = 0;
  int64_t deleted_manifest_lists = 0;
  int64_t deleted_metadata_files = 0;
  // Set when the expiry committed but its files could not be worked out
  // (their manifests unreadable): none were deleted; remove_orphan_files
  // collects them later.
  std::string cleanup_skipped;
};

// Tagged snapshots and branch heads never expire.
Result<ExpireResult> ExpireSnapshots(Table& table, const ExpireOptions& options);

struct OrphanOptions {
  // Only files last modified before this time are candidates: a writer that
  // has written but not yet committed a file must never lose it.
  int64_t older_than_ms = 0;
  bool dry_run = false;
  // Only data files named "<data_file_prefix>-...": the uncommitted files of
  // one distributed append (DataFileWriterOptions::name_prefix). Empty: all.
  std::string data_file_prefix;
  // Only these paths (of those that are orphans). Empty: all.
  std::vector<std::string> only_paths;
};

struct OrphanResult {
  std::vector<std::string> orphans;  // deleted (or, on a dry run, that would be)
  int64_t data_files = 0;
  int64_t manifest_files = 0;
  int64_t manifest_lists = 0;
  int64_t other_files = 0;  // temp files left by crashed writers
};

Result<OrphanResult> RemoveOrphanFiles(Table& table, const OrphanOptions& options);

struct RewriteResult {
  int64_t rewritten_files = 0;
  int64_t added_files = 0;
  int64_t rewritten_manifests = 0;     // RewriteManifests: manifests replaced ...
  int64_t added_manifests = 0;         // ... by these
  std::optional<int64_t> snapshot_id;  // nullopt: nothing to do, nothing committed
};

// How RewriteDataFiles lays rows out.
struct RewriteOptions {
  enum class Strategy {
    kBinPack,  // combine small files; each output file sorted by the table's sort order
    kSort,     // each partition's files as one run sorted by `sort`, cut at the target size
    kZOrder,   // the same, in z-order over `zorder_columns`
  };
  int64_t target_file_size = int64_t{128} << 20;
  Strategy strategy = Strategy::kBinPack;
  // kSort: the order, by column name; empty: the table's default sort order
  // (an unsorted table is then an InvalidArgument).
  std::vector<SortTerm> sort;
  // kZOrder: two or more columns.
  std::vector<std::string> zorder_columns;
};

// kBinPack bins the current snapshot's data files (per partition) up to
// `target_file_size` bytes and rewrites each bin of two or more files as one
// file. kSort and kZOrder rewrite all the files of each partition as one
// globally ordered run, rolled into files of about the target size, so each
// file covers a narrow, mostly disjoint range of the ordering columns
// (pruning by column bounds then skips most files). A partition that is
// already such a run for kSort (files sorted by the order, disjoint in its
// leading identity column, at most one under half the target) is left
// alone, so a second pass rewrites nothing. A partition's rows are
// held in memory while they are ordered. Sorted output records its order's
// id when the table lists that order (an explicit order the table lacks, and
// a z-order, which is no Iceberg sort order, record none, as Spark does).
// Rows are unchanged; a concurrent append is never lost.
Result<RewriteResult> RewriteDataFiles(Table& table, const RewriteOptions& options);
Result<RewriteResult> RewriteDataFiles(Table& table, int64_t target_file_size);
// Rewrites every manifest of the current snapshot into one per partition spec.
Result<RewriteResult> RewriteManifests(Table& table);

struct VerifyProblem {
  std::string path;
  std::string problem;
};

struct VerifyReport {
  std::optional<int64_t> snapshot_id;
  int64_t data_files = 0;
  int64_t manifests = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  std::vector<VerifyProblem> problems;
};

// Re-reads every file of a snapshot (all of it, with Parquet page checksums)
// and checks sizes and row counts against what the metadata recorded.
Result<VerifyReport> Verify(Table& table, std::optional<int64_t> snapshot_id);

// Every snapshot still reachable: the metadata window plus the older
// versions' windows along the metadata-log chain, oldest first.
Result<std::vector<Snapshot>> AllSnapshots(Table& table);

}  // namespace datashard
