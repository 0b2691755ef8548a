// Iceberg's partition transforms (spec "Partition Transforms") applied to
// Arrow values, and the 32-bit Murmur3 hash of the bucket transform (spec
// Appendix B): for callers that compare partition values with other
// implementations or compute them outside a table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <arrow/type_fwd.h>

#include "datashard/schema.h"
#include "datashard/status.h"

namespace datashard {

// Murmur3 x86 32-bit with seed 0, as Iceberg's bucket transform uses.
int32_t Murmur3Hash32(std::string_view data);

// The partition values of `source` (a column of type `source_type`) under
// `transform` ("identity", "bucket[16]", "truncate[4]", "year", "month",
// "day", "hour", "void"), as an Arrow array of the transform's result type
// (null where the value is null).
Result<std::shared_ptr<arrow::Array>> TransformToArrow(const std::string& transform, const Type& source_type,
                                                       const arrow::Array& source);

}  // namespace datashard
