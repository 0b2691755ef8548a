#include "datashard/format/file_names.h"

#include <unistd.h>

#include <charconv>
#include <climits>
#include <vector>

#include "datashard/util/uuid.h"

namespace datashard::format {

std::string MetadataDir(const std::string& location) { return location + "/metadata"; }
std::string DataDir(const std::string& location) { return location + "/data"; }

std::string MetadataFilePath(const std::string& location, int64_t version) {
  return MetadataDir(location) + "/v" + std::to_string(version) + ".metadata.json";
}

std::string VersionHintPath(const std::string& location) { return MetadataDir(location) + "/version-hint.text"; }

std::string CommitQueuePath(const std::string& location) { return MetadataDir(location) + "/.commit-queue.lock"; }

std::string NewManifestPath(const std::string& location) {
  return MetadataDir(location) + "/" + NewUuid() + "-m0.avro";
}

std::string NewManifestListPath(const std::string& location, int64_t snapshot_id, int attempt) {
  return MetadataDir(location) + "/snap-" + std::to_string(snapshot_id) + "-" + std::to_string(attempt) + "-" +
         NewUuid() + ".avro";
}

std::string NewDataFilePath(const std::string& location) { return DataDir(location) + "/" + NewUuid() + ".parquet"; }

std::optional<int64_t> ParseMetadataVersion(std::string_view name) {
  constexpr std::string_view kSuffix = ".metadata.json";
  if (name.size() <= 1 + kSuffix.size() || name[0] != 'v' || name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  std::string_view digits = name.substr(1, name.size() - 1 - kSuffix.size());
  // Only the canonical spelling: "v07" would parse as 7 and then be opened as "v7".
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int64_t version = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || version <= 0) return std::nullopt;
  return version;
}

Status CheckInsideLocation(const std::string& location, const std::string& path) {
  const std::string prefix = location + "/";
  if (path.size() <= prefix.size() || path.compare(0, prefix.size(), prefix) != 0) {
    return CorruptData("metadata refers to \"", path, "\", which is outside the table location \"", location, "\"");
  }
  size_t start = prefix.size();
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view segment(path.data() + start, end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return CorruptData("metadata refers to \"", path, "\", a path with empty, '.' or '..' segments");
    }
    start = end + 1;
  }
  if (path.find('\0') != std::string::npos) return CorruptData("metadata refers to a path with a NUL byte");
  return Status::OK();
}

Result<std::string> NormalizeLocation(const std::string& path) {
  if (path.empty()) return InvalidArgument("table path is empty");
  if (path.find('\0') != std::string::npos) return InvalidArgument("table path contains a NUL byte");
  // Object-store locations keep their scheme and bucket; only the key is
  // normalized, and it may not climb out of the bucket.
  std::string root;
  std::string absolute = path;
  if (path.rfind("s3://", 0) == 0) {
    const auto slash = path.find('/', 5);
    root = path.substr(0, slash);
    if (root.size() == 5) return InvalidArgument("table path ", path, " names no bucket");
    absolute = slash == std::string::npos ? "/" : path.substr(slash);
    if (("/" + absolute + "/").find("/../") != std::string::npos) {
      return InvalidArgument("table path ", path, " contains a '..' segment");
    }
  } else if (path.rfind("file://", 0) == 0) {
    absolute = path.substr(7);
    if (absolute.empty()) return InvalidArgument("table path ", path, " names no directory");
  } else if (path.find("://") != std::string::npos) {
    return InvalidArgument("table path ", path, " has an unsupported scheme (local paths and s3:// are supported)");
  }
  if (absolute[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof(cwd)) == nullptr) return IOError("cannot determine the current directory");
    absolute = std::string(cwd) + "/" + absolute;
  }
  // Collapse ".", ".." and repeated slashes lexically.
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= absolute.size()) {
    size_t end = absolute.find('/', start);
    if (end == std::string::npos) end = absolute.size();
    std::string segment = absolute.substr(start, end - start);
    if (segment == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!segment.empty() && segment != ".") {
      parts.push_back(std::move(segment));
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& part : parts) out += "/" + part;
  if (!root.empty()) return root + out;
  return out.empty() ? std::string("/") : out;
}

}  // namespace datashard::format
