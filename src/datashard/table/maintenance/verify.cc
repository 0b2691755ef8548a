// Verify: re-read every file a snapshot uses and compare it with what the
// metadata recorded: manifest lengths, data file sizes and row counts, and
// every Parquet page checksum the writer stored.
#include <arrow/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/file_reader.h>
#include <parquet/properties.h>

#include "datashard/format/manifest_reader.h"
#include "datashard/maintenance.h"
#include "datashard/scan/file_reader.h"
#include "datashard/scan/table_scan.h"
#include "datashard/table/maintenance/history.h"

namespace datashard {
namespace {

// Reads the whole file with page checksum verification; returns rows read.
Result<int64_t> ReadWhole(FileSystem& fs, const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto input, fs.OpenInputFile(path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, input->GetSize());
  arrow::MemoryPool* pool = scan::DecodePoolForFile(size);
  parquet::ReaderProperties properties(pool);
  properties.set_page_checksum_verification(true);
  std::unique_ptr<parquet::ParquetFileReader> file;
  try {
    file = parquet::ParquetFileReader::Open(input, properties);
  } catch (const std::exception& e) {
    return CorruptData("not readable Parquet: ", e.what());
  }
  auto made = parquet::arrow::FileReader::Make(pool, std::move(file));
  if (!made.ok()) return CorruptData(made.status().message());
  std::unique_ptr<parquet::arrow::FileReader> reader = std::move(*made);
  int64_t rows = 0;
  for (int rg = 0; rg < reader->num_row_groups(); ++rg) {
    auto table = reader->ReadRowGroup(rg);
    if (!table.ok()) return CorruptData("row group ", rg, ": ", table.status().message());
    rows += (*table)->num_rows();
  }
  return rows;
}

}  // namespace

Result<VerifyReport> Verify(Table& table, std::optional<int64_t> snapshot_id) {
  ARROW_RETURN_NOT_OK(table.Refresh());
  FileSystem& fs = table.fs();
  auto metadata = table.metadata();
  VerifyReport report;
  std::optional<Snapshot> snapshot;
  if (snapshot_id) {
    ARROW_ASSIGN_OR_RAISE(snapshot, table.FindSnapshot(*snapshot_id));
    if (!snapshot) return InvalidArgument("snapshot ", *snapshot_id, " is not in table ", table.location());
  } else if (metadata->CurrentSnapshot() != nullptr) {
    snapshot = *metadata->CurrentSnapshot();
  }
  if (!snapshot) return report;
  report.snapshot_id = snapshot->snapshot_id;
  auto problem = [&](const std::string& path, const std::string& what) {
    report.problems.push_back(VerifyProblem{path, what});
  };
  auto manifests = format::ReadManifestList(fs, *metadata, *snapshot);
  if (!manifests.ok()) {
    problem(snapshot->manifest_list, manifests.status().message());
    return report;
  }
  for (const auto& manifest : *manifests) {
    report.manifests++;
    auto info = fs.GetFileInfo(manifest.manifest_path);
    if (!info.ok()) {
      problem(manifest.manifest_path, info.status().message());
      continue;
    }
    if (info->size != manifest.manifest_length) {
      problem(manifest.manifest_path, "size " + std::to_string(info->size) + " bytes, the manifest list recorded " +
                                          std::to_string(manifest.manifest_length));
    }
    auto entries = format::ReadManifestEntries(fs, *metadata, manifest);
    if (!entries.ok()) {
      problem(manifest.manifest_path, entries.status().message());
      continue;
    }
    for (const auto& entry : *entries) {
      if (entry.status == format::ManifestEntryStatus::kDeleted) continue;
      const auto& file = entry.data_file;
      report.data_files++;
      auto data_info = fs.GetFileInfo(file.file_path);
      if (!data_info.ok()) {
        problem(file.file_path, data_info.status().message());
        continue;
      }
      report.bytes += data_info->size;
      if (data_info->size != file.file_size_in_bytes) {
        problem(file.file_path, "size " + std::to_string(data_info->size) + " bytes, the manifest recorded " +
                                    std::to_string(file.file_size_in_bytes));
        continue;
      }
      auto rows = ReadWhole(fs, file.file_path);
      if (!rows.ok()) {
        problem(file.file_path, rows.status().message());
        continue;
      }
      report.rows += *rows;
      if (*rows != file.record_count) {
        problem(file.file_path,
                std::to_string(*rows) + " rows, the manifest recorded " + std::to_string(file.record_count));
      }
    }
  }
  return report;
}

Result<std::vector<Snapshot>> AllSnapshots(Table& table) {
  auto metadata = table.metadata();
  return maintenance::SnapshotsReachableFrom(table.fs(), *metadata);
}

}  // namespace datashard
