#include "datashard/commit/group_member.h"

#include <utility>

#include "datashard/commit/committer.h"
#include "datashard/commit/snapshot_producer.h"
#include "datashard/commit/version_resolver.h"

namespace datashard::commit {

GroupMember::GroupMember(FileSystem& fs, std::string location, Intent intent)
    : fs_(fs), location_(std::move(location)), intent_(std::move(intent)) {
  intent_.writer = slot_.writer();
  intent_.seq = slot_.seq();
}

void GroupMember::WriteRowsWith(InlineWriter writer, bool own_rows) {
  write_rows_ = std::move(writer);
  own_rows_ = own_rows;
}

void GroupMember::PostIntent() {
  if (posted_) return;
  intent_.created_ms = NowMs();
  // Counted as posted even if posting fails midway: a stray intent must be
  // settled like any other (own mark, deletion, withdrawal).
  posted_ = true;
  Status post = commit::PostIntent(fs_, location_, intent_);
  // Unless the intent is absent afterwards and no request can still land:
  // then nobody can apply it, and a failure stays a plain one (an unwritable
  // table is an I/O error, not an ambiguous commit). Without the intent this
  // writer only commits by itself.
  if (!post.ok() && !IsKind(post, ErrorKind::kAmbiguousCommit)) {
    auto left = fs_.ReadFile(IntentPath(location_, intent_.writer, intent_.seq));
    if (!left.ok() && IsNotFound(left.status())) posted_ = false;
  }
}

bool GroupMember::MaybeSettledBy(std::string_view text) const {
  return posted_ && TextShowsMark(text, intent_.writer, intent_.seq);
}

std::optional<int64_t> GroupMember::SettledBy(std::string_view text) {
  if (!posted_) return std::nullopt;
  auto seen = GlanceAtVersion(text, intent_.writer);
  // A withdrawn mark (snapshot id 0) cannot be ours here: only Settle
  // withdraws, after the commit. The full path reports it.
  if (!seen.ok() || seen->location != location_ || !seen->mark || seen->mark->seq < intent_.seq ||
      seen->mark->snapshot_id == 0) {
    return std::nullopt;
  }
  glance_ = std::move(*seen);
  return glance_->mark->snapshot_id;
}

Result<CommitOutcome> GroupMember::Settle(Result<CommitOutcome> outcome, io::CommitQueue* queue) {
  if (!posted_) return outcome;
  (void)fs_.DeleteFile(IntentPath(location_, intent_.writer, intent_.seq));
  if (outcome.ok() || IsKind(outcome.status(), ErrorKind::kAmbiguousCommit)) return outcome;
  // The commit failed, but a leader may have read the intent before it was
  // deleted. A property-only commit marks the seq settled (withdrawn) so
  // that no leader applies it later, unless one already has: then the commit
  // succeeded after all and that outcome is returned. If neither can be
  // established the outcome is ambiguous.
  const Status failure = outcome.status();
  CommitOptions options;
  options.durability = intent_.durability;
  options.max_attempts = 100;
  options.queue = queue;
  auto start = LoadLatest(fs_, location_, nullptr);
  Result<CommitOutcome> withdrawn =
      !start.ok() ? Result<CommitOutcome>(start.status())
                  : CommitWithRetry(
                        fs_, location_, *start,
                        [&](const VersionedMetadata& latest, int) -> Result<BuiltCommit> {
                          BuiltCommit built;
                          auto mark = MarkOf(*latest.metadata, intent_.writer);
                          if (mark && mark->seq >= intent_.seq) {
                            built.already_committed = true;
                            built.by_group = mark->snapshot_id != 0;
                            if (built.by_group) built.snapshot_id = mark->snapshot_id;
                            return built;
                          }
                          built.metadata = *latest.metadata;
                          FollowVersion(built.metadata, latest);
                          SetMark(built.metadata, intent_.writer, Mark{intent_.seq, 0, built.metadata.last_updated_ms});
                          return built;
                        },
                        options);
  if (!withdrawn.ok()) {
    return MakeError(ErrorKind::kAmbiguousCommit, "the commit failed (" + failure.message() +
                                                      ") and withdrawing its group-commit intent failed too (" +
                                                      withdrawn.status().message() +
                                                      "); another writer may still have applied it: reload the "
                                                      "table to find out");
  }
  if (withdrawn->by_group) return withdrawn;  // applied by another writer: a success
  return failure;
}

}  // namespace datashard::commit
