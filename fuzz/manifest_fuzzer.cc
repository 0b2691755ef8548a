// Fuzzes the manifest decoder (Avro object container + Iceberg manifest
// schema) with a fixed table schema and partition spec (fuzz_schema.h).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "datashard/format/manifest.h"
#include "fuzz/fuzz_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace datashard;
  static const Schema schema = fuzz::FuzzSchema();
  static const PartitionSpec spec = fuzz::FuzzSpec();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto entries = format::DecodeManifest(bytes, schema, spec);
  if (!entries.ok()) return 0;
  for (const auto& entry : *entries) {
    // Decoded entries carry one partition value per spec field.
    if (entry.data_file.partition.size() != spec.fields.size()) std::abort();
  }
  return 0;
}
