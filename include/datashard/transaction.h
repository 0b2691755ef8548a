// A transaction groups writes into one atomic commit.
//
// Data files are written as soon as data is added (outside the commit's race
// window); Commit() publishes them all in one snapshot or none of them.
// Rollback() (or destroying an uncommitted transaction) deletes the files it
// wrote, leaving no trace in the table.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/table.h>

#include "datashard/table.h"

namespace datashard {

class Transaction {
 public:
  explicit Transaction(std::shared_ptr<Table> table);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Validates `data` against the table schema and writes it as a data file.
  Status Append(const std::shared_ptr<arrow::Table>& data);
  void SetCommitKey(std::string key) { commit_key_ = std::move(key); }
  Result<CommitInfo> Commit();
  Status Rollback();
  bool active() const { return active_; }

 private:
  struct Impl;
  std::shared_ptr<Table> table_;
  std::unique_ptr<Impl> impl_;
  std::optional<std::string> commit_key_;
  bool active_ = true;
};

}  // namespace datashard
