// The descriptor of a data file written but not committed (DataFileWriter):
// the DataFile a manifest entry needs, as bytes that cross processes (a
// worker writes the file, a coordinator commits it) so that the commit need
// not read the file again. MessagePack (nlohmann's codec): one array, binary
// bounds and partition values as they are, so a descriptor stays a few
// hundred bytes for a table of a few columns.
#pragma once

#include <cstdint>
#include <string>

#include "datashard/format/data_file.h"
#include "datashard/status.h"

namespace datashard::format {

struct WrittenFileDescriptor {
  DataFile file;
  int32_t spec_id = 0;    // the partition spec `file.partition` follows
  int32_t schema_id = 0;  // the schema the file was written with
};

// The path is stored relative to `location` (the table's), which it must lie
// under.
std::string EncodeWrittenFile(const WrittenFileDescriptor& descriptor, const std::string& location);

// InvalidArgument for bytes that are not a descriptor this engine wrote
// (another version, a missing or mistyped member); nothing else is checked
// here (the path against the table, the file against the disk: the commit).
// The path comes back under `location`; a stored path that is absolute or
// climbs out ("..") is refused.
Result<WrittenFileDescriptor> DecodeWrittenFile(std::string_view bytes, const std::string& location);

}  // namespace datashard::format
