// Fuzzes the manifest-list decoder (snap-*.avro).
#include <cstdint>
#include <string_view>

#include "datashard/format/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)datashard::format::DecodeManifestList(bytes);
  return 0;
}
