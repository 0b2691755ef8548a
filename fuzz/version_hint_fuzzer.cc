// Fuzzes how the latest version is found: the version-hint.text content and
// the names in metadata/ (the input: hint, a newline, then one name per
// line). Whatever the hint says, the answer must be 0 or a version whose
// metadata file exists.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "datashard/commit/version_resolver.h"
#include "datashard/format/file_names.h"
#include "fuzz/memory_file_system.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace datashard;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::string location = "/table";
  fuzz::MemoryFileSystem fs;
  size_t newline = input.find('\n');
  fs.Add(format::VersionHintPath(location), std::string(input.substr(0, newline)));
  while (newline != std::string_view::npos) {
    size_t start = newline + 1;
    newline = input.find('\n', start);
    std::string_view name = input.substr(start, newline == std::string_view::npos ? newline : newline - start);
    if (!name.empty() && name.find('/') == std::string_view::npos) {
      fs.Add(format::MetadataDir(location) + "/" + std::string(name), "");
    }
  }
  auto latest = commit::FindLatestVersion(fs, location, 0);
  if (!latest.ok()) return 0;
  if (*latest < 0) std::abort();
  if (*latest > 0 && !*fs.Exists(format::MetadataFilePath(location, *latest))) std::abort();
  return 0;
}
