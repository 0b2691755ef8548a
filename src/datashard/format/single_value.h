// Iceberg single-value binary serialization (spec Appendix D), used for
// column bounds in manifests and for partition values. Converts to and from
// Arrow scalars of the column's Arrow type (format/arrow_schema.h).
#pragma once

#include <memory>
#include <string>

#include <arrow/type_fwd.h>

#include "datashard/schema.h"

namespace datashard::format {

// Bounds for strings and binaries are truncated to this many bytes/code points
// (Java's default metrics mode truncate(16)).
inline constexpr size_t kBoundTruncateLength = 16;

Result<std::string> SerializeValue(const Type& type, const arrow::Scalar& scalar);
Result<std::shared_ptr<arrow::Scalar>> DeserializeValue(const Type& type, std::string_view bytes);

// Truncation that keeps bounds valid: a lower bound is a prefix; an upper
// bound is a prefix with its last character incremented (nullopt if it cannot
// be, in which case no upper bound is written).
std::string TruncateLowerBound(const Type& type, const std::string& value);
std::optional<std::string> TruncateUpperBound(const Type& type, const std::string& value);

}  // namespace datashard::format
