// Iceberg partition transforms (spec "Partition Transforms"): identity,
// bucket[N] (32-bit Murmur3, spec Appendix B), truncate[W], year, month, day,
// hour, void. Applied column-at-a-time to Arrow arrays; each result is the
// partition value in single-value binary form (nullopt = null).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <memory>

#include <arrow/type_fwd.h>

#include "datashard/schema.h"
#include "datashard/transforms.h"

namespace datashard::format {

// Murmur3Hash32 and TransformToArrow are public (include/datashard/transforms.h).
using datashard::Murmur3Hash32;
using datashard::TransformToArrow;

// The partition value of every row of `source` (a column of type `source_type`).
Result<std::vector<std::optional<std::string>>> ApplyTransform(const std::string& transform, const Type& source_type,
                                                               const arrow::Array& source);

// Human-readable form of a partition value, for data file directory names.
std::string PartitionValueToPathSegment(const Type& result_type, const std::optional<std::string>& value);

}  // namespace datashard::format
