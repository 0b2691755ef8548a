// Fuzzes the generic Avro object-container reader under both manifest
// decoders: header, writer schema JSON, codecs, blocks and values.
#include <cstdint>
#include <string_view>

#include "datashard/format/avro.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace datashard::format;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  avro::ReadOptions options;
  options.max_block_bytes = int64_t{1} << 24;  // keep decompression bombs cheap under the fuzzer
  (void)avro::ReadContainerFile(bytes, options);
  return 0;
}
