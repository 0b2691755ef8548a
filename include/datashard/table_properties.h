// The table properties datashard reads, in one place: for each key the value
// in force while it is absent, the values it takes and what it does. The
// engine reads every one of them through the functions below, and
// SetProperties checks a value here before it commits it. Keys not listed are
// stored as given and never read: Iceberg tables carry other engines'
// properties. docs/table-properties.md lists the same keys for users, and
// Python's datashard.table_properties() returns this list.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "datashard/file_system.h"
#include "datashard/status.h"
#include "datashard/table_metadata.h"

namespace datashard {

// The values a property takes.
enum class PropertyValues {
  kText,                // any text
  kChoice,              // one of TableProperty::choices
  kBool,                // "true" or "false"
  kInteger,             // any 64-bit integer
  kNonNegativeInteger,  // an integer, 0 or more
  kPositiveInteger,     // an integer, 1 or more
};

struct TableProperty {
  const char* key;
  // In force while the property is absent; nullptr where there is none (a
  // property only datashard sets, and only when it means something).
  const char* default_value;
  PropertyValues values;
  // For kChoice: the values, separated by spaces.
  const char* choices = nullptr;
  const char* doc = "";
  // Kept by datashard itself: SetProperties refuses to set or remove it.
  bool reserved = false;
  // A family of keys: `key` is their common prefix.
  bool prefix = false;
  // Written into a new table's metadata with its default, so that other
  // engines, whose own defaults differ, write the table the same way.
  bool set_at_create = false;
};

struct TableProperties {
  // How a commit is flushed (commit::DurabilityOf; a commit can override it).
  static constexpr TableProperty kCommitDurability{
      .key = "datashard.commit.durability",
      .default_value = "fsync",
      .values = PropertyValues::kChoice,
      .choices = "fsync process",
      .doc =
          "How a commit is flushed. fsync: everything the new version references, and then its name, is "
          "durable before the commit returns (survives a power cut). process: nothing is flushed; a commit "
          "survives the death of any process, not a power cut. A commit can override it (durability=)."};
  static constexpr TableProperty kCommitGroup{
      .key = "datashard.commit.group",
      .default_value = "true",
      .values = PropertyValues::kBool,
      .doc =
          "Group commit: a plain append that loses the race for the next version posts an intent, and "
          "whoever commits next applies it in the same snapshot."};
  static constexpr TableProperty kCommitGroupRows{
      .key = "datashard.commit.group-rows",
      .default_value = "true",
      .values = PropertyValues::kBool,
      .doc =
          "A small durable append that joins a group carries its rows in its intent, and the leader writes "
          "them, each append's rows into a data file of their own, flushed in its commit's one barrier."};
  static constexpr TableProperty kCommitMaxFileAgeMs{
      .key = "datashard.commit.max-file-age-ms",
      .default_value = "1800000",  // 30 minutes
      .values = PropertyValues::kInteger,
      .doc =
          "The oldest (ms since last written) a file a commit adds may be where the commit cannot check it "
          "under a queue orphan cleanup shares (object stores); 0 or less: no limit. Orphan cleanup's grace "
          "period must be longer, with room for clock skew."};
  static constexpr TableProperty kCommitKeyLookbackMs{
      .key = "datashard.commit-key.lookback-ms",
      .default_value = "3600000",  // one hour
      .values = PropertyValues::kNonNegativeInteger,
      .doc =
          "How far back (ms of snapshot time) a commit key is looked for beyond the snapshots the current "
          "metadata file holds; a key retried later than that is applied again."};
  static constexpr TableProperty kMetadataMaxSnapshots{
      .key = "datashard.metadata.max-snapshots",
      .default_value = "32",
      .values = PropertyValues::kPositiveInteger,
      .doc =
          "Snapshots the metadata file holds (plus any a ref points at); older ones stay reachable through "
          "the metadata-log chain.",
      .set_at_create = true};
  static constexpr TableProperty kMetadataPreviousVersionsMax{
      .key = "write.metadata.previous-versions-max",
      .default_value = "32",
      .values = PropertyValues::kPositiveInteger,
      .doc =
          "Metadata-log entries each metadata file holds (Iceberg's property), and metadata files "
          "expire_snapshots keeps.",
      .set_at_create = true};
  static constexpr TableProperty kParquetCompressionCodec{
      .key = "write.parquet.compression-codec",
      .default_value = "zstd",
      .values = PropertyValues::kChoice,
      .choices = "zstd snappy gzip lz4 uncompressed none",
      .doc =
          "The codec of data files (Iceberg's property). Files of a few rows are written uncompressed; "
          "compaction rewrites them with this codec.",
      .set_at_create = true};
  static constexpr TableProperty kParquetRowGroupLimit{
      .key = "write.parquet.row-group-limit",
      .default_value = "1048576",
      .values = PropertyValues::kPositiveInteger,
      .doc = "Rows per Parquet row group: smaller groups let selective scans skip more."};
  // Iceberg's property, one key per column: write.parquet.bloom-filter-enabled.column.<name>.
  static constexpr TableProperty kParquetBloomFilterColumn{
      .key = "write.parquet.bloom-filter-enabled.column.",
      .default_value = "false",
      .values = PropertyValues::kBool,
      .doc =
          "Whether data files carry a Parquet split-block bloom filter (1 % false positives) for the "
          "column named after the prefix; equality and IN filters on it then skip row groups whose filter "
          "rules the values out. A name that is not a column is ignored.",
      .prefix = true};
  static constexpr TableProperty kTargetFileSizeBytes{
      .key = "write.target-file-size-bytes",
      .default_value = "536870912",  // 512 MiB, Iceberg's default
      .values = PropertyValues::kPositiveInteger,
      .doc =
          "The size on disk at which an append closes a data file and starts the next (each partition "
          "likewise); a DataFileWriter (new_append(), the Ray sink) also buffers at most this many bytes of "
          "rows, and at most 128 MiB, before it writes them."};
  // Iceberg's reserved property: read at create, never stored.
  static constexpr TableProperty kFormatVersion{
      .key = "format-version",
      .default_value = "2",
      .values = PropertyValues::kChoice,
      .choices = "2",
      .doc = "The Iceberg format version, given at create; datashard writes version 2 only."};
  static constexpr TableProperty kHistoryStartVersion{
      .key = "datashard.history.start-version",
      .default_value = "1",
      .values = PropertyValues::kPositiveInteger,
      .doc =
          "Set by expire_snapshots to its own version: the metadata log restarts there, and that version "
          "lists every snapshot the expiry retained.",
      .reserved = true};
  static constexpr TableProperty kGroupMarks{
      .key = "datashard.group.",
      .default_value = nullptr,
      .values = PropertyValues::kText,
      .doc =
          "Group commit's marks, one per writer id (<seq>:<snapshot id>:<ms>): which of a writer's "
          "intents a commit applied.",
      .reserved = true,
      .prefix = true};
  static constexpr TableProperty kPendingPartitionSpec{
      .key = "datashard.schema-on-write.partition-spec",
      .default_value = nullptr,
      .values = PropertyValues::kText,
      .doc =
          "The partition spec a table created without columns takes with its first schema (JSON); "
          "removed when it is applied.",
      .reserved = true};

  static constexpr TableProperty kPendingSortOrder{
      .key = "datashard.schema-on-write.sort-order",
      .default_value = nullptr,
      .values = PropertyValues::kText,
      .doc =
          "The sort order a table created without columns takes with its first schema (JSON terms by column "
          "name); removed when it is applied.",
      .reserved = true};

  // Every property above.
  static std::span<const TableProperty* const> All();
  // The entry for `key` (an entry with `prefix` matches every key under it);
  // nullptr for a key datashard does not read.
  static const TableProperty* Find(std::string_view key);
};

// What a value of `property` must be, as messages say it ("a positive integer").
std::string DescribeValues(const TableProperty& property);
// OK if `value` is one `property` takes; else InvalidArgument
// `table property <key> must be <values>, not "<value>"`: the one message
// form of SetProperties and of the strict readers below.
// `key`: the key as given, for a family of keys (default: property.key).
Status CheckPropertyValue(const TableProperty& property, std::string_view value, std::string_view key = {});

// Reading a property of a table. Where the table holds a value the property
// does not take (another engine or an older datashard wrote it), properties
// that tune files and history fall back to their default, which costs at
// most speed or space; properties that choose how a commit is made are read
// strictly, and refuse the commit rather than guess.
//
// The value, or the default where absent or not one the property takes.
std::string PropertyOrDefault(const TableMetadata& metadata, const TableProperty& property);
// PropertyOrDefault of an integer property, as a number.
int64_t IntegerProperty(const TableMetadata& metadata, const TableProperty& property);
// The value, or the default where absent; a value the property does not take
// is CheckPropertyValue's error.
Result<std::string> CheckedProperty(const TableMetadata& metadata, const TableProperty& property);
// CheckedProperty of a kBool property, as a bool.
Result<bool> BoolProperty(const TableMetadata& metadata, const TableProperty& property);

// A durability mode by name, as TableProperties::kCommitDurability takes it
// (also for a per-commit override): InvalidArgument
// `durability must be "fsync" or "process", not "<mode>"` otherwise.
Result<Durability> ParseDurability(std::string_view mode);

}  // namespace datashard
