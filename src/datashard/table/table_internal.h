// The engine's side of Table and Transaction (leveldb's *_internal.h pattern):
// how commits move a Table's pinned version forward, what an append starts
// from, and the transaction modes only the engine's own writers use. Not part
// of the public API; the bindings never include it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "datashard/table.h"
#include "datashard/table_metadata.h"
#include "datashard/transaction.h"

namespace datashard {
namespace io {
class CommitQueue;
}  // namespace io

class TableInternal {
 public:
  // The table's commit queue on this host (io/commit_queue.h); nullptr: none.
  static io::CommitQueue* Queue(const Table& table);
  // For tests: queue through `queue` instead (one that fails on purpose).
  // Set before the table commits anything; nullptr commits unqueued.
  static void UseQueue(Table& table, std::shared_ptr<io::CommitQueue> queue);

  // Moves the pinned version forward to one this process just published (never
  // backwards). Unlike Refresh() it does no I/O, so nothing after a commit
  // point can turn a published commit into a reported failure.
  static void Adopt(Table& table, int64_t version, std::shared_ptr<const TableMetadata> metadata);
  // Moves the pinned version forward to one whose JSON text a commit of this
  // process read without parsing it (another writer's group commit applied
  // ours). It is parsed when first needed: a writer that keeps being settled
  // by others never needs it, if `same_append_base` (SameAppendBase) found
  // that an append can start from `compared_with` as well, and that is the
  // metadata held now.
  static void AdoptUnparsed(Table& table, int64_t version, std::string text, const TableMetadata& compared_with,
                            bool same_append_base);

  // The parsed version and its metadata, without parsing a newer unparsed
  // one, and the newest version known (a hint for finding the latest).
  struct ParsedState {
    int64_t version = 0;
    std::shared_ptr<const TableMetadata> metadata;
    int64_t newest_known = 0;
  };
  static ParsedState Parsed(const Table& table);
  // What an append starts from: the parsed metadata where the unparsed
  // version changed nothing an append uses, else the newest.
  static std::shared_ptr<const TableMetadata> AppendBase(const Table& table);
};

class TransactionInternal {
 public:
  // A transaction that starts from `base` instead of the table's metadata
  // (Table::Append, from TableInternal::AppendBase).
  static std::unique_ptr<Transaction> StartingFrom(std::shared_ptr<Table> table,
                                                   std::shared_ptr<const TableMetadata> base);
  // Records the commit as Iceberg's "replace" operation: the transaction only
  // reorganises rows that exist (compaction), it neither adds nor removes any.
  static void MarkAsRewrite(Transaction& tx);
  // The files the transaction writes keep the order of the rows given
  // (compaction has sorted or z-ordered them across the files already) and
  // record `sort_order_id` (nullopt: none, as for a z-order).
  static void KeepRowOrder(Transaction& tx, std::optional<int32_t> sort_order_id);
  // For a transaction that appends once and commits (Table::Append): a small
  // append keeps its rows in memory until the commit, so that when other
  // writers are committing it can hand them to the next group-commit leader
  // in its intent (no data file or manifest of its own to create and flush).
  static void DeferSmallAppend(Transaction& tx);
};

}  // namespace datashard
