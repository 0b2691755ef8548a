// Fuzzes a group-commit intent as a leader reads it: the JSON line, then for a
// small append its rows (an Arrow IPC stream). Whatever the bytes, decoding
// either fails cleanly or yields rows that pass Arrow's full validation and
// have the table schema's columns: a leader writes them into a data file.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <arrow/table.h>

#include "datashard/commit/group_commit.h"
#include "datashard/table/intent_rows.h"
#include "fuzz/fuzz_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace datashard;
  static const Schema schema = fuzz::FuzzSchema();
  auto intent = commit::DecodeIntent(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!intent.ok() || intent->rows.empty()) return 0;
  auto rows = table::DecodeIntentRows(intent->rows, schema);
  if (!rows.ok()) return 0;
  if (!(*rows)->ValidateFull().ok()) std::abort();
  if ((*rows)->num_columns() != static_cast<int>(schema.fields.size())) std::abort();
  return 0;
}
