// Iceberg partition specs (spec "Partitioning", "Partition Transforms").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "datashard/format/schema.h"
#include "datashard/status.h"

namespace datashard::format {

// Unpartitioned tables use spec id 0 with no fields; partition field ids start at 1000.
inline constexpr int32_t kUnpartitionedLastPartitionId = 999;
inline constexpr int32_t kFirstPartitionFieldId = 1000;

using datashard::PartitionField;
using datashard::PartitionSpec;

// The type of a partition value for `field` (bucket/year/month/hour -> int,
// day -> date, identity/truncate -> the source type).
Result<Type> PartitionResultType(const Schema& schema, const PartitionField& field);

// {"spec-id": 0, "fields": [...]} as in table metadata.
nlohmann::json PartitionSpecToJson(const PartitionSpec& spec);
Result<PartitionSpec> PartitionSpecFromJson(const nlohmann::json& json);
// The manifest header's "partition-spec" value: the JSON array of fields only.
std::string PartitionFieldsToJsonString(const PartitionSpec& spec);

}  // namespace datashard::format
