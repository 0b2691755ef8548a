// Fuzzes the Parquet open path of a scan: footer, schema, field ids, column
// chunks, casts to the table's types (scan::ReadDataFile over an in-memory file).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <arrow/compute/api.h>
#include <arrow/table.h>

#include "datashard/scan/file_reader.h"
#include "fuzz/fuzz_schema.h"
#include "fuzz/memory_file_system.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace datashard;
  // The engine's single-allocation floor, lowered below -malloc_limit_mb
  // (512 MB in scripts/fuzz.sh) so that its cap, not libFuzzer, catches a
  // corrupt header's huge claim.
  static const bool initialized = (scan::SetMinAllocationCap(int64_t{256} << 20), arrow::compute::Initialize().ok());
  (void)initialized;
  static const std::vector<NestedField> fields = fuzz::FuzzSchema().fields;
  fuzz::MemoryFileSystem fs;
  fs.Add("/table/data/f.parquet", std::string(reinterpret_cast<const char*>(data), size));
  auto table = scan::ReadDataFile(fs, "/table/data/f.parquet", fields);
  // What a scan hands out must be valid Arrow data (shared/notes/reliability.md:
  // data read from disk is untrusted; Arrow assumes its input is valid).
  if (!table.ok()) return 0;
  Status valid = (*table)->ValidateFull();
  if (!valid.ok()) {
    std::fprintf(stderr, "scan::ReadDataFile returned invalid data: %s\n", valid.ToString().c_str());
    std::abort();
  }
  return 0;
}
