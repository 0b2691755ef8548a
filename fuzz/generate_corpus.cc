// Writes the seed corpora of the fuzz targets from real files: it builds two
// small tables with the engine (one partitioned with fuzz_schema.h's spec)
// and copies their metadata JSON, manifests, manifest lists, version hints and
// Parquet data files into <out>/<target>/.
//
//   generate_corpus <out-dir>        (scripts/fuzz.sh --regenerate-corpus)
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <arrow/api.h>

#include "datashard/commit/group_commit.h"
#include "datashard/data_file_writer.h"
#include "datashard/file_system.h"
#include "datashard/format/arrow_schema.h"
#include "datashard/format/file_names.h"
#include "datashard/format/manifest_reader.h"
#include "datashard/table.h"
#include "datashard/table/intent_rows.h"
#include "fuzz/fuzz_schema.h"

namespace datashard {
namespace {

std::shared_ptr<arrow::Table> Rows(int64_t first, int64_t count) {
  arrow::Int64Builder ids;
  arrow::StringBuilder names;
  arrow::TimestampBuilder ts(arrow::timestamp(arrow::TimeUnit::MICRO), arrow::default_memory_pool());
  arrow::Decimal128Builder amounts(arrow::decimal128(9, 2));
  arrow::DoubleBuilder scores;
  arrow::BooleanBuilder flags;
  for (int64_t i = first; i < first + count; ++i) {
    (void)ids.Append(i);
    if (i % 5 == 4) {
      (void)names.AppendNull();
    } else {
      (void)names.Append("name-" + std::to_string(i % 3));
    }
    (void)ts.Append(1'700'000'000'000'000 + i * 86'400'000'000 / 3);
    (void)amounts.Append(arrow::Decimal128(i * 125 - 300));
    (void)scores.Append(i % 7 == 0 ? std::numeric_limits<double>::quiet_NaN() : static_cast<double>(i) / 4);
    (void)flags.Append(i % 2 == 0);
  }
  auto schema = arrow::schema({arrow::field("id", arrow::int64(), false), arrow::field("name", arrow::utf8()),
                               arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO)),
                               arrow::field("amount", arrow::decimal128(9, 2)), arrow::field("score", arrow::float64()),
                               arrow::field("flag", arrow::boolean())});
  return arrow::Table::Make(
      schema, {*ids.Finish(), *names.Finish(), *ts.Finish(), *amounts.Finish(), *scores.Finish(), *flags.Finish()});
}

Status Fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "generate_corpus: %s: %s\n", what.c_str(), status.ToString().c_str());
  return status;
}

// <out>/<target>/<tag>-<n>
std::string SeedPath(const std::string& out, const std::string& target, const std::string& tag, int n) {
  std::string path = out;
  path.append("/").append(target).append("/").append(tag).append("-").append(std::to_string(n));
  return path;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Status Generate(const std::string& out) {
  namespace fs = std::filesystem;
  const std::string work = (fs::temp_directory_path() / "datashard-corpus").string();
  fs::remove_all(work);
  for (const char* target : {"metadata_json", "manifest", "manifest_list", "avro_container", "version_hint", "parquet",
                             "intent", "written_file"}) {
    fs::create_directories(fs::path(out) / target);
  }
  auto local = LocalFileSystem();
  int n = 0;
  for (bool partitioned : {false, true}) {
    CreateOptions options;
    options.schema = fuzz::FuzzSchema();
    if (partitioned) options.partition_spec = fuzz::FuzzSpec();
    const std::string location = work + (partitioned ? "/partitioned" : "/plain");
    auto table = Table::Create(location, options);
    if (!table.ok()) return Fail("create " + location, table.status());
    for (int commit = 0; commit < 3; ++commit) {
      auto appended = (*table)->Append(Rows(int64_t{commit} * 10, partitioned ? 6 : 4 + commit));
      if (!appended.ok()) return Fail("append", appended.status());
    }
    const std::string tag = partitioned ? "partitioned" : "plain";
    // Metadata, manifests, lists and the hint with the listing it came from.
    std::string listing;
    for (const auto& entry : fs::directory_iterator(format::MetadataDir(location))) {
      const std::string name = entry.path().filename().string();
      const std::string path = entry.path().string();
      auto bytes = local->ReadFile(path);
      if (!bytes.ok()) return Fail("read " + path, bytes.status());
      std::vector<std::string> targets;
      if (EndsWith(name, ".metadata.json")) {
        targets = {"metadata_json"};
        listing.append("\n").append(name);
      } else if (name.rfind("snap-", 0) == 0) {
        targets = {"manifest_list", "avro_container"};
      } else if (EndsWith(name, ".avro")) {
        // Manifests decode against fuzz_schema.h's spec: the partitioned ones.
        targets = partitioned ? std::vector<std::string>{"manifest", "avro_container"}
                              : std::vector<std::string>{"avro_container"};
      }
      for (const auto& target : targets) {
        const std::string seed = SeedPath(out, target, tag, ++n);
        auto written = local->WriteNewFile(seed, *bytes, Durability::kProcess);
        if (!written.ok()) return Fail("write " + seed, written);
      }
    }
    auto hint = local->ReadFile(format::VersionHintPath(location));
    if (!hint.ok()) return Fail("read hint", hint.status());
    for (const std::string& text : {*hint + listing, std::string("1") + listing, std::string("x") + listing}) {
      const std::string seed = SeedPath(out, "version_hint", tag, ++n);
      auto written = local->WriteNewFile(seed, text, Durability::kProcess);
      if (!written.ok()) return Fail("write " + seed, written);
    }
    // Intents as a leader finds them: rows of a small append, and manifests.
    auto rows = format::ConformToSchema(Rows(100, partitioned ? 3 : 1), fuzz::FuzzSchema());
    if (!rows.ok()) return Fail("conform", rows.status());
    commit::Intent intent;
    intent.writer = "0f8e2c1a-1111-4222-8333-444455556666";
    intent.seq = 7;
    intent.created_ms = 1'700'000'000'000;
    auto encoded = table::EncodeIntentRows(**rows);
    if (!encoded.ok()) return Fail("encode rows", encoded.status());
    intent.rows = *encoded;
    intent.schema_id = 0;
    intent.spec_id = (*table)->metadata()->default_spec_id;
    commit::Intent listed = intent;
    listed.rows.clear();
    auto snapshot = (*table)->metadata()->CurrentSnapshot();
    if (snapshot != nullptr) {
      auto manifests = format::ReadManifestList(*local, *(*table)->metadata(), *snapshot);
      if (manifests.ok()) listed.manifests = *manifests;
    }
    for (const auto& text : {commit::EncodeIntent(intent), commit::EncodeIntent(listed)}) {
      const std::string seed = SeedPath(out, "intent", tag, ++n);
      auto written = local->WriteNewFile(seed, text, Durability::kProcess);
      if (!written.ok()) return Fail("write " + seed, written);
    }
    // Descriptors of files a distributed writer wrote and did not commit.
    auto writer = DataFileWriter::Open(*table);
    if (!writer.ok()) return Fail("open a file writer", writer.status());
    if (auto wrote = (*writer)->Write(Rows(200, 5)); !wrote.ok()) return Fail("write files", wrote);
    auto written = (*writer)->Finish();
    if (!written.ok()) return Fail("finish files", written.status());
    for (const auto& file : *written) {
      const std::string seed = SeedPath(out, "written_file", tag, ++n);
      auto saved = local->WriteNewFile(seed, file.descriptor, Durability::kProcess);
      if (!saved.ok()) return Fail("write " + seed, saved);
    }
    for (const auto& entry : fs::recursive_directory_iterator(format::DataDir(location))) {
      if (!entry.is_regular_file() || !EndsWith(entry.path().string(), ".parquet")) continue;
      auto bytes = local->ReadFile(entry.path().string());
      if (!bytes.ok()) return Fail("read data file", bytes.status());
      const std::string seed = SeedPath(out, "parquet", tag, ++n);
      auto written = local->WriteNewFile(seed, *bytes, Durability::kProcess);
      if (!written.ok()) return Fail("write " + seed, written);
    }
  }
  fs::remove_all(work);
  return Status::OK();
}

}  // namespace
}  // namespace datashard

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
    return 2;
  }
  return datashard::Generate(argv[1]).ok() ? 0 : 1;
}
