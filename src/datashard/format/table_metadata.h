// v<N>.metadata.json (de)serialisation, written to what Java, PyIceberg,
// Trino and DuckDB accept (shared/notes/iceberg-metadata-json.md): ids as bare
// int64, -1 for no current snapshot, no null values, string-only summaries.
#pragma once

#include <string>
#include <string_view>

#include "datashard/table_metadata.h"

namespace datashard::format {

std::string TableMetadataToJson(const TableMetadata& metadata);
// Validates what the engine relies on; anything malformed is CorruptData naming `source`.
Result<TableMetadata> TableMetadataFromJson(std::string_view text, const std::string& source);

}  // namespace datashard::format
