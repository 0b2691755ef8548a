#include "datashard/table_properties.h"

#include <charconv>
#include <optional>
#include <vector>

namespace datashard {
namespace {

using TP = TableProperties;

constexpr const TableProperty* kAll[] = {
    &TP::kCommitDurability,
    &TP::kCommitGroup,
    &TP::kCommitGroupRows,
    &TP::kCommitMaxFileAgeMs,
    &TP::kCommitKeyLookbackMs,
    &TP::kMetadataMaxSnapshots,
    &TP::kMetadataPreviousVersionsMax,
    &TP::kParquetCompressionCodec,
    &TP::kParquetRowGroupLimit,
    &TP::kParquetBloomFilterColumn,
    &TP::kTargetFileSizeBytes,
    &TP::kFormatVersion,
    &TP::kHistoryStartVersion,
    &TP::kGroupMarks,
    &TP::kPendingPartitionSpec,
    &TP::kPendingSortOrder,
};

std::optional<int64_t> ParseInteger(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> Choices(const TableProperty& property) {
  std::vector<std::string_view> out;
  std::string_view rest = property.choices == nullptr ? "" : property.choices;
  while (!rest.empty()) {
    const size_t space = rest.find(' ');
    out.push_back(rest.substr(0, space));
    rest = space == std::string_view::npos ? "" : rest.substr(space + 1);
  }
  return out;
}

bool Takes(const TableProperty& property, std::string_view value) {
  switch (property.values) {
    case PropertyValues::kText: return true;
    case PropertyValues::kBool: return value == "true" || value == "false";
    case PropertyValues::kChoice: {
      for (std::string_view choice : Choices(property)) {
        if (value == choice) return true;
      }
      return false;
    }
    case PropertyValues::kInteger: return ParseInteger(value).has_value();
    case PropertyValues::kNonNegativeInteger: return ParseInteger(value).value_or(-1) >= 0;
    case PropertyValues::kPositiveInteger: return ParseInteger(value).value_or(0) >= 1;
  }
  return false;
}

// The property's text in `metadata`, nullopt where absent.
std::optional<std::string_view> Stored(const TableMetadata& metadata, const TableProperty& property) {
  auto it = metadata.properties.find(property.key);
  if (it == metadata.properties.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string_view Default(const TableProperty& property) {
  return property.default_value == nullptr ? "" : property.default_value;
}

}  // namespace

std::span<const TableProperty* const> TableProperties::All() { return kAll; }

const TableProperty* TableProperties::Find(std::string_view key) {
  for (const TableProperty* property : kAll) {
    if (property->prefix ? key.starts_with(property->key) : key == property->key) return property;
  }
  return nullptr;
}

std::string DescribeValues(const TableProperty& property) {
  switch (property.values) {
    case PropertyValues::kText: return "any text";
    case PropertyValues::kBool: return "\"true\" or \"false\"";
    case PropertyValues::kChoice: {
      const auto choices = Choices(property);
      std::string out;
      for (size_t i = 0; i < choices.size(); ++i) {
        if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
        out += "\"" + std::string(choices[i]) + "\"";
      }
      return out;
    }
    case PropertyValues::kInteger: return "an integer";
    case PropertyValues::kNonNegativeInteger: return "an integer, 0 or more";
    case PropertyValues::kPositiveInteger: return "a positive integer";
  }
  return "";
}

Status CheckPropertyValue(const TableProperty& property, std::string_view value, std::string_view key) {
  if (Takes(property, value)) return Status::OK();
  return InvalidArgument("table property ", key.empty() ? std::string_view(property.key) : key, " must be ",
                         DescribeValues(property), ", not \"", value, "\"");
}

std::string PropertyOrDefault(const TableMetadata& metadata, const TableProperty& property) {
  auto stored = Stored(metadata, property);
  return std::string(stored && Takes(property, *stored) ? *stored : Default(property));
}

int64_t IntegerProperty(const TableMetadata& metadata, const TableProperty& property) {
  return ParseInteger(PropertyOrDefault(metadata, property)).value_or(0);
}

Result<std::string> CheckedProperty(const TableMetadata& metadata, const TableProperty& property) {
  auto stored = Stored(metadata, property);
  if (!stored) return std::string(Default(property));
  ARROW_RETURN_NOT_OK(CheckPropertyValue(property, *stored));
  return std::string(*stored);
}

Result<bool> BoolProperty(const TableMetadata& metadata, const TableProperty& property) {
  ARROW_ASSIGN_OR_RAISE(std::string value, CheckedProperty(metadata, property));
  return value == "true";
}

Result<Durability> ParseDurability(std::string_view mode) {
  if (!Takes(TableProperties::kCommitDurability, mode)) {
    return InvalidArgument("durability must be ", DescribeValues(TableProperties::kCommitDurability), ", not \"", mode,
                           "\"");
  }
  return mode == "process" ? Durability::kProcess : Durability::kFsync;
}

}  // namespace datashard
