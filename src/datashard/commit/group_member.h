// One commit's part in group commit (group_commit.h), owned in one place.
//
// A plain append to main makes one GroupMember: the writer id and seq it
// borrows for the commit, its intent, whether the intent is out, the rows it
// may write for others, and what it learnt from the version that settled it.
// The committer drives it (posts the intent when the commit meets
// contention, asks each newer version whether it settled the intent); the
// snapshot producer reads it (skips a seq a leader settled, takes in other
// writers' intents, records this writer's own mark); the transaction makes
// it and settles it once the commit is over.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datashard/commit/group_commit.h"
#include "datashard/file_system.h"

namespace datashard::io {
class CommitQueue;
}  // namespace datashard::io

namespace datashard::commit {

struct CommitOutcome;

// The data files a leader wrote in its attempt for rows carried in intents
// (its own rows among them): unflushed, they become attempt files, flushed
// before the link and deleted if the attempt loses.
struct InlineWrite {
  std::vector<format::ManifestFile> manifests;
  std::vector<std::string> files;
  int64_t added_files = 0;
  int64_t added_records = 0;
  int64_t added_files_size = 0;
  std::vector<bool> taken;  // one per intent given: whether its rows were written
};
// Writes this commit's own rows, if it has any, and those of `intents`
// (each into data files of its own). A leader leaves the intents it did not
// take pending; their writers commit by themselves.
using InlineWriter = std::function<Result<InlineWrite>(const std::vector<const Intent*>& intents)>;

class GroupMember {
 public:
  // `intent` holds what the commit adds (manifests and their files, or rows);
  // the writer id, seq and creation time are filled in here.
  GroupMember(FileSystem& fs, std::string location, Intent intent);
  GroupMember(const GroupMember&) = delete;
  GroupMember& operator=(const GroupMember&) = delete;

  const std::string& writer() const { return intent_.writer; }
  int64_t seq() const { return intent_.seq; }
  Durability durability() const { return intent_.durability; }

  // For small appends whose rows ride in intents (TableProperties::kCommitGroupRows):
  // how this writer, leading, writes rows; `own_rows` if its own are among them.
  void WriteRowsWith(InlineWriter writer, bool own_rows);
  bool writes_rows() const { return static_cast<bool>(write_rows_); }
  bool own_rows() const { return own_rows_; }
  Result<InlineWrite> WriteRows(const std::vector<const Intent*>& intents) const { return write_rows_(intents); }

  // Posts the intent (once). Whose files it names must be durable by then.
  void PostIntent();
  // Whether the intent is out: posted, or a failed post may have left it.
  // Only then can another writer apply it, so only then does this writer's
  // own snapshot record its mark.
  bool posted() const { return posted_; }

  // Whether the version whose JSON text is given may have applied the
  // intent: a substring search, cheap enough to run holding the queue.
  bool MaybeSettledBy(std::string_view text) const;
  // The snapshot that applied the intent, if that version did, from one pass
  // over its text (GlanceAtVersion) without building its metadata.
  std::optional<int64_t> SettledBy(std::string_view text);
  // What SettledBy read from the version that settled this writer.
  const std::optional<VersionGlance>& glance() const { return glance_; }

  // Once the commit is over, with its outcome: removes a posted intent, and
  // after a failure withdraws it (records a mark with no snapshot, so no
  // leader applies it later), unless a leader applied it first, which turns
  // the failure into that leader's success.
  Result<CommitOutcome> Settle(Result<CommitOutcome> outcome, io::CommitQueue* queue);

 private:
  FileSystem& fs_;
  const std::string location_;
  WriterSlot slot_;
  Intent intent_;
  bool posted_ = false;
  InlineWriter write_rows_;
  bool own_rows_ = false;
  std::optional<VersionGlance> glance_;
};

}  // namespace datashard::commit
