#include "datashard/format/written_file.h"

#include <climits>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

namespace datashard::format {
namespace {

using nlohmann::json;

// The first element of every descriptor: which layout follows.
constexpr int kLayout = 1;

// Decoding errors are thrown as this inside DecodeWrittenFile and turned into
// a Status there (nlohmann's own exceptions are caught there too).
struct BadDescriptor {
  std::string what;
};

// Integers only: nlohmann converts a float to an int without a range check.
int64_t Int64(const json& value) {
  if (value.is_number_unsigned()) {
    const auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) throw BadDescriptor{"an integer out of range"};
    return static_cast<int64_t>(v);
  }
  if (!value.is_number_integer()) throw BadDescriptor{"a number that is not an integer"};
  return value.get<int64_t>();
}

int32_t Int32(const json& value) {
  const int64_t v = Int64(value);
  if (v < INT32_MIN || v > INT32_MAX) throw BadDescriptor{"an integer out of range"};
  return static_cast<int32_t>(v);
}

json Binary(const std::string& bytes) { return json::binary(std::vector<uint8_t>(bytes.begin(), bytes.end())); }

std::string FromBinary(const json& value) {
  if (!value.is_binary()) throw BadDescriptor{"a bound or partition value that is not binary"};
  const auto& bytes = value.get_binary();
  return std::string(bytes.begin(), bytes.end());
}

// Maps keyed by field id travel as flat [id, value, id, value, ...] arrays.
json Counts(const std::map<int32_t, int64_t>& map) {
  json out = json::array();
  for (const auto& [id, value] : map) {
    out.push_back(id);
    out.push_back(value);
  }
  return out;
}

json Bytes(const std::map<int32_t, std::string>& map) {
  json out = json::array();
  for (const auto& [id, value] : map) {
    out.push_back(id);
    out.push_back(Binary(value));
  }
  return out;
}

void CheckPairs(const json& flat) {
  if (!flat.is_array() || flat.size() % 2 != 0) throw BadDescriptor{"a field-id map that is not id/value pairs"};
}

int32_t FieldId(const json& value) {
  const auto id = Int64(value);
  if (id < 0 || id > INT32_MAX) throw BadDescriptor{"field id " + std::to_string(id)};
  return static_cast<int32_t>(id);
}

std::map<int32_t, int64_t> CountsFrom(const json& flat) {
  CheckPairs(flat);
  std::map<int32_t, int64_t> out;
  for (size_t i = 0; i < flat.size(); i += 2) out[FieldId(flat[i])] = Int64(flat[i + 1]);
  return out;
}

std::map<int32_t, std::string> BytesFrom(const json& flat) {
  CheckPairs(flat);
  std::map<int32_t, std::string> out;
  for (size_t i = 0; i < flat.size(); i += 2) out[FieldId(flat[i])] = FromBinary(flat[i + 1]);
  return out;
}

enum Slot : size_t {
  kLayoutSlot,
  kSpecId,
  kSchemaId,
  kPath,
  kPartition,
  kRecordCount,
  kFileSize,
  kColumnSizes,
  kValueCounts,
  kNullCounts,
  kNaNCounts,
  kLowerBounds,
  kUpperBounds,
  kSplitOffsets,
  kSortOrderId,  // added later within layout 1: a descriptor may end before it
  kSlots
};

}  // namespace

std::string EncodeWrittenFile(const WrittenFileDescriptor& descriptor, const std::string& location) {
  const DataFile& file = descriptor.file;
  std::string relative = file.file_path;
  if (relative.rfind(location + "/", 0) == 0) relative = relative.substr(location.size() + 1);
  json partition = json::array();
  for (const auto& value : file.partition) partition.push_back(value ? Binary(*value) : json(nullptr));
  json out = json::array();
  out.push_back(kLayout);
  out.push_back(descriptor.spec_id);
  out.push_back(descriptor.schema_id);
  out.push_back(relative);
  out.push_back(std::move(partition));
  out.push_back(file.record_count);
  out.push_back(file.file_size_in_bytes);
  out.push_back(Counts(file.column_sizes));
  out.push_back(Counts(file.value_counts));
  out.push_back(Counts(file.null_value_counts));
  out.push_back(Counts(file.nan_value_counts));
  out.push_back(Bytes(file.lower_bounds));
  out.push_back(Bytes(file.upper_bounds));
  out.push_back(file.split_offsets);
  out.push_back(file.sort_order_id ? json(*file.sort_order_id) : json(nullptr));
  std::vector<uint8_t> packed = json::to_msgpack(out);
  return std::string(packed.begin(), packed.end());
}

Result<WrittenFileDescriptor> DecodeWrittenFile(std::string_view bytes, const std::string& location) {
  std::string problem;
  try {
    json in = json::from_msgpack(bytes.begin(), bytes.end());
    if (!in.is_array() || (in.size() != kSlots && in.size() != kSortOrderId) || !in[kLayoutSlot].is_number_integer()) {
      throw BadDescriptor{"not a written-file descriptor"};
    }
    if (Int64(in[kLayoutSlot]) != kLayout) {
      throw BadDescriptor{"descriptor layout " + in[kLayoutSlot].dump() + " (this engine reads " +
                          std::to_string(kLayout) + ")"};
    }
    WrittenFileDescriptor out;
    out.spec_id = Int32(in[kSpecId]);
    out.schema_id = Int32(in[kSchemaId]);
    DataFile& file = out.file;
    const auto relative = in[kPath].get<std::string>();
    if (relative.empty() || relative.front() == '/' || relative.find("://") != std::string::npos || relative == ".." ||
        relative.rfind("../", 0) == 0 || relative.find("/../") != std::string::npos ||
        (relative.size() >= 3 && relative.compare(relative.size() - 3, 3, "/..") == 0)) {
      throw BadDescriptor{"a file path outside the table (\"" + relative + "\")"};
    }
    file.file_path = location + "/" + relative;
    if (!in[kPartition].is_array()) throw BadDescriptor{"partition values that are not a list"};
    for (const auto& value : in[kPartition]) {
      if (value.is_null()) {
        file.partition.emplace_back(std::nullopt);
      } else {
        file.partition.emplace_back(FromBinary(value));
      }
    }
    file.record_count = Int64(in[kRecordCount]);
    file.file_size_in_bytes = Int64(in[kFileSize]);
    if (file.file_path.empty() || file.record_count < 0 || file.file_size_in_bytes <= 0) {
      throw BadDescriptor{"an empty path or a negative count"};
    }
    file.column_sizes = CountsFrom(in[kColumnSizes]);
    file.value_counts = CountsFrom(in[kValueCounts]);
    file.null_value_counts = CountsFrom(in[kNullCounts]);
    file.nan_value_counts = CountsFrom(in[kNaNCounts]);
    file.lower_bounds = BytesFrom(in[kLowerBounds]);
    file.upper_bounds = BytesFrom(in[kUpperBounds]);
    if (!in[kSplitOffsets].is_array()) throw BadDescriptor{"split offsets that are not a list"};
    for (const auto& offset : in[kSplitOffsets]) file.split_offsets.push_back(Int64(offset));
    if (in.size() > kSortOrderId && !in[kSortOrderId].is_null()) file.sort_order_id = Int32(in[kSortOrderId]);
    return out;
  } catch (const BadDescriptor& e) {
    problem = e.what;
  } catch (const json::exception& e) {
    problem = e.what();
  }
  return InvalidArgument("not a written-file descriptor of this engine: ", problem);
}

}  // namespace datashard::format
