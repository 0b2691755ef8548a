// Fuzzes the descriptor of a written, uncommitted data file as a commit reads
// it (Transaction::AddWrittenFiles): bytes a worker process sent. Whatever
// the bytes, decoding either fails cleanly or yields a file path inside the
// table location that does not climb out of it, and a descriptor that
// encodes back to bytes decoding to the same file.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "datashard/format/written_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace datashard;
  static const std::string location = "/warehouse/t";
  auto decoded = format::DecodeWrittenFile(std::string_view(reinterpret_cast<const char*>(data), size), location);
  if (!decoded.ok()) return 0;
  const std::string& path = decoded->file.file_path;
  if (path.rfind(location + "/", 0) != 0 || path.find("/../") != std::string::npos) std::abort();
  auto again = format::DecodeWrittenFile(format::EncodeWrittenFile(*decoded, location), location);
  if (!again.ok() || !(again->file == decoded->file) || again->spec_id != decoded->spec_id ||
      again->schema_id != decoded->schema_id) {
    std::abort();
  }
  return 0;
}
