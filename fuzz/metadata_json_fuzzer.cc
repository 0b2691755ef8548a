// Fuzzes the v<N>.metadata.json parser. Anything it accepts must satisfy what
// the engine relies on without checking again (a current schema and spec,
// a current snapshot if one is named) and must survive our own writer.
// Also the group-commit glance a settled writer decides by: on a document
// the parser accepts, every mark it reports must be the parsed one (a mark
// the metadata does not hold would acknowledge an append never applied).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "datashard/commit/group_commit.h"
#include "datashard/format/table_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace datashard;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto glance = commit::GlanceAtVersion(text, "fuzz");
  if (!glance.ok() && !IsKind(glance.status(), ErrorKind::kCorruptData)) std::abort();
  auto parsed = format::TableMetadataFromJson(text, "fuzz.metadata.json");
  if (parsed.ok() && glance.ok()) {
    auto mark = commit::MarkOf(*parsed, "fuzz");
    if (glance->mark.has_value() != mark.has_value()) std::abort();
    if (mark && (glance->mark->seq != mark->seq || glance->mark->snapshot_id != mark->snapshot_id)) std::abort();
  }
  if (!parsed.ok()) {
    if (!IsKind(parsed.status(), ErrorKind::kCorruptData)) std::abort();  // malformed input is CorruptData
    return 0;
  }
  const TableMetadata& m = *parsed;
  if (m.CurrentSchema() == nullptr || m.DefaultSpec() == nullptr) std::abort();
  if (m.current_snapshot_id && m.CurrentSnapshot() == nullptr) std::abort();
  auto again = format::TableMetadataFromJson(format::TableMetadataToJson(m), "round trip");
  if (!again.ok()) std::abort();
  return 0;
}
