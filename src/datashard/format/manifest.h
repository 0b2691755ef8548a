// Iceberg v2 manifests and manifest lists as Avro object container files
// (spec "Manifests", "Manifest Lists", Appendix A; shared/notes/iceberg-manifest-avro.md).
//
// Writing produces the exact schemas Java and PyIceberg write (field ids,
// element ids, k<id>_v<id> map records, null-first optional unions) so those
// readers accept our files. Reading decodes with the writer schema found in the
// file and looks fields up by field id, so files from other writers (other field
// order, extra fields, other codecs) read the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datashard/format/avro.h"
#include "datashard/format/data_file.h"
#include "datashard/format/partition_spec.h"
#include "datashard/format/schema.h"
#include "datashard/status.h"

namespace datashard::format {

// Encodes a manifest of `content` whose entries are partitioned by `spec`.
// Entries other than ADDED must carry both sequence numbers (InvalidArgument
// otherwise), each entry's partition must have one value per spec field, and
// data manifests may hold only data files, delete manifests only delete files.
Result<std::string> EncodeManifest(const Schema& schema, const PartitionSpec& spec, ManifestContent content,
                                   const std::vector<ManifestEntry>& entries, AvroCodec codec = AvroCodec::kDeflate);

// Decodes a manifest written for `spec` (the header's partition-spec-id must
// match when present). Partition values come back in single-value binary form
// in spec order; null sequence numbers and snapshot ids are left null for the
// caller to inherit from the manifest list entry.
Result<std::vector<ManifestEntry>> DecodeManifest(std::string_view bytes, const Schema& schema,
                                                  const PartitionSpec& spec);

// Header values of a manifest list (a convention of Java and PyIceberg).
struct ManifestListInfo {
  int64_t snapshot_id = 0;
  std::optional<int64_t> parent_snapshot_id;
  int64_t sequence_number = 0;
};

Result<std::string> EncodeManifestList(const ManifestListInfo& info, const std::vector<ManifestFile>& manifests,
                                       AvroCodec codec = AvroCodec::kDeflate);

Result<std::vector<ManifestFile>> DecodeManifestList(std::string_view bytes);

}  // namespace datashard::format
