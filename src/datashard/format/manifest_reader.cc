#include "datashard/format/manifest_reader.h"

#include "datashard/format/file_names.h"
#include "datashard/format/manifest.h"

namespace datashard::format {

Result<std::vector<ManifestFile>> ReadManifestList(FileSystem& fs, const TableMetadata& metadata,
                                                   const Snapshot& snapshot) {
  ARROW_RETURN_NOT_OK(CheckInsideLocation(metadata.location, snapshot.manifest_list));
  ARROW_ASSIGN_OR_RAISE(std::string bytes, fs.ReadFile(snapshot.manifest_list));
  auto manifests = DecodeManifestList(bytes);
  if (!manifests.ok()) {
    return CorruptData("manifest list ", snapshot.manifest_list, ": ", manifests.status().message());
  }
  for (const auto& manifest : *manifests) {
    ARROW_RETURN_NOT_OK(CheckInsideLocation(metadata.location, manifest.manifest_path));
  }
  return manifests;
}

Result<std::vector<ManifestEntry>> ReadManifestEntries(FileSystem& fs, const TableMetadata& metadata,
                                                       const ManifestFile& manifest) {
  ARROW_RETURN_NOT_OK(CheckInsideLocation(metadata.location, manifest.manifest_path));
  const PartitionSpec* spec = metadata.SpecById(manifest.partition_spec_id);
  if (spec == nullptr) {
    return CorruptData("manifest ", manifest.manifest_path, " uses unknown partition spec ",
                       manifest.partition_spec_id);
  }
  ARROW_ASSIGN_OR_RAISE(std::string bytes, fs.ReadFile(manifest.manifest_path));
  auto entries = DecodeManifest(bytes, *metadata.CurrentSchema(), *spec);
  if (!entries.ok()) return CorruptData("manifest ", manifest.manifest_path, ": ", entries.status().message());
  for (auto& entry : *entries) {
    if (!entry.snapshot_id) entry.snapshot_id = manifest.added_snapshot_id;
    if (entry.status == ManifestEntryStatus::kAdded) {
      if (!entry.sequence_number) entry.sequence_number = manifest.sequence_number;
      if (!entry.file_sequence_number) entry.file_sequence_number = manifest.sequence_number;
    }
    if (!entry.sequence_number || !entry.file_sequence_number) {
      return CorruptData("manifest ", manifest.manifest_path, " has a non-ADDED entry without sequence numbers (",
                         entry.data_file.file_path, ")");
    }
    ARROW_RETURN_NOT_OK(CheckInsideLocation(metadata.location, entry.data_file.file_path));
  }
  return entries;
}

}  // namespace datashard::format
