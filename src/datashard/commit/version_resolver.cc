#include "datashard/commit/version_resolver.h"

#include <charconv>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "datashard/format/file_names.h"
#include "datashard/format/table_metadata.h"

namespace datashard::commit {
namespace {

Result<bool> VersionExists(FileSystem& fs, const std::string& location, int64_t version) {
  return fs.Exists(format::MetadataFilePath(location, version));
}

int64_t ParseHint(const std::string& text) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' || text[end - 1] == ' ')) --end;
  int64_t version = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + end, version);
  if (ec != std::errc() || ptr != text.data() + end || version < 1) return 0;
  return version;
}

// Highest version by listing metadata/: the fallback when the hint is missing
// or points at nothing.
Result<int64_t> ListLatestVersion(FileSystem& fs, const std::string& location) {
  auto entries = fs.ListDir(format::MetadataDir(location));
  if (!entries.ok()) {
    if (IsNotFound(entries.status())) return 0;
    return entries.status();
  }
  int64_t latest = 0;
  for (const auto& entry : *entries) {
    if (auto version = format::ParseMetadataVersion(entry.path)) latest = std::max(latest, *version);
  }
  return latest;
}

}  // namespace

Result<int64_t> FindLatestVersion(FileSystem& fs, const std::string& location, int64_t known) {
  int64_t start = known;
  if (start > 0) {
    // Maintenance deletes old metadata files as a prefix (v1..vM). A process
    // that still knows a deleted version must not gallop from it: it would
    // find v<known+1> absent and publish it again, behind the real history.
    ARROW_ASSIGN_OR_RAISE(bool still_there, VersionExists(fs, location, start));
    if (!still_there) start = 0;
  }
  if (start <= 0) {
    auto hint = fs.ReadFile(format::VersionHintPath(location));
    if (hint.ok()) start = ParseHint(*hint);
    if (start > 0) {
      ARROW_ASSIGN_OR_RAISE(bool exists, VersionExists(fs, location, start));
      if (!exists) start = 0;
    }
    if (start <= 0) return ListLatestVersion(fs, location);
  }
  // Versions are contiguous from the hint upwards, so gallop forward to an
  // absent version, then binary-search the last present one.
  int64_t present = start;
  int64_t step = 1;
  int64_t absent = 0;
  while (true) {
    if (present > INT64_MAX / 4 - step) return CorruptData("table metadata version ", present, " is out of range");
    ARROW_ASSIGN_OR_RAISE(bool exists, VersionExists(fs, location, present + step));
    if (!exists) {
      absent = present + step;
      break;
    }
    present += step;
    step *= 2;
  }
  while (absent - present > 1) {
    int64_t mid = present + (absent - present) / 2;
    ARROW_ASSIGN_OR_RAISE(bool exists, VersionExists(fs, location, mid));
    (exists ? present : absent) = mid;
  }
  return present;
}

Result<VersionedMetadata> LoadVersion(FileSystem& fs, const std::string& location, int64_t version) {
  ARROW_ASSIGN_OR_RAISE(std::string text, fs.ReadFile(format::MetadataFilePath(location, version)));
  return VersionFromText(location, version, text);
}

Result<VersionedMetadata> VersionFromText(const std::string& location, int64_t version, const std::string& text) {
  const std::string path = format::MetadataFilePath(location, version);
  ARROW_ASSIGN_OR_RAISE(TableMetadata metadata, format::TableMetadataFromJson(text, path));
  if (metadata.location != location) {
    // Files this metadata names are checked against its own location; a
    // location that differs from where we found it means it was copied or forged.
    return CorruptData("table metadata ", path, " says its location is \"", metadata.location,
                       "\" but it was found at \"", location, "\"");
  }
  return VersionedMetadata{version, std::make_shared<const TableMetadata>(std::move(metadata))};
}

Result<VersionedMetadata> LoadLatest(FileSystem& fs, const std::string& location, const VersionedMetadata* cached) {
  ARROW_ASSIGN_OR_RAISE(int64_t latest, FindLatestVersion(fs, location, cached ? cached->version : 0));
  if (cached != nullptr && cached->version == latest) return *cached;
  if (latest == 0) return Status::KeyError("no table metadata under ", location);
  return LoadVersion(fs, location, latest);
}

Status UpdateVersionHint(FileSystem& fs, const std::string& location, int64_t version) {
  // A slow writer may overwrite a newer hint with its older version. Every
  // writer re-probes after writing and corrects the hint if a newer version
  // exists, so the last write always names the newest version.
  for (int round = 0; round < 8; ++round) {
    ARROW_RETURN_NOT_OK(fs.ReplaceFile(format::VersionHintPath(location), std::to_string(version)));
    ARROW_ASSIGN_OR_RAISE(int64_t latest, FindLatestVersion(fs, location, version));
    if (latest == version) return Status::OK();
    version = latest;
  }
  return Status::OK();
}

namespace {

// The log entry to read next from `m`. Snapshots not kept by a ref form the
// window's contiguous tail (older ones were trimmed); every snapshot added
// after the oldest of them is in this window, and a version last updated
// after it (timestamps never go backwards along the versions) came later,
// so its own window reaches back from there without a gap.
size_t NextLogEntry(const TableMetadata& m) {
  std::optional<int64_t> oldest;
  for (const auto& s : m.snapshots) {
    bool referenced = false;
    for (const auto& [name, ref] : m.refs) referenced = referenced || ref.snapshot_id == s.snapshot_id;
    if (!referenced && (!oldest || s.timestamp_ms < *oldest)) oldest = s.timestamp_ms;
  }
  const auto& log = m.metadata_log;
  if (oldest) {
    for (size_t i = 0; i < log.size(); ++i) {
      if (log[i].timestamp_ms > *oldest) return i;
    }
  }
  return log.size() - 1;  // one version back: never skips anything
}

}  // namespace

Status WalkMetadataLog(FileSystem& fs, const TableMetadata& metadata,
                       const std::function<bool(const TableMetadata&)>& visit) {
  std::set<std::string> visited;
  const TableMetadata* from = &metadata;
  TableMetadata parsed;
  while (!from->metadata_log.empty()) {
    const std::string older = from->metadata_log[NextLogEntry(*from)].metadata_file;
    ARROW_RETURN_NOT_OK(format::CheckInsideLocation(metadata.location, older));
    if (!visited.insert(older).second)
      return CorruptData("metadata log of ", metadata.location, " has a cycle at ", older);
    auto text = fs.ReadFile(older);
    if (!text.ok()) {
      if (IsNotFound(text.status())) return Status::OK();  // expired: history ends here
      return text.status();
    }
    ARROW_ASSIGN_OR_RAISE(parsed, format::TableMetadataFromJson(*text, older));
    if (!visit(parsed)) return Status::OK();
    from = &parsed;
  }
  return Status::OK();
}

}  // namespace datashard::commit
