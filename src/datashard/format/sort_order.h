// Iceberg sort orders (spec "Sorting"): their JSON in table metadata and the
// checks that bind one to a schema. The model itself is public:
// include/datashard/schema.h.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "datashard/schema.h"
#include "datashard/status.h"
#include "datashard/table_metadata.h"

namespace datashard::format {

using datashard::NullOrder;
using datashard::SortDirection;
using datashard::SortField;
using datashard::SortOrder;

// The unsorted order's id; Java's SortOrder.Builder refuses any other id for
// an order without fields, and 0 for one with fields.
inline constexpr int32_t kUnsortedOrderId = 0;

// The spec's spellings: "asc" / "desc", "nulls-first" / "nulls-last".
const char* SortDirectionName(SortDirection direction);
const char* NullOrderName(NullOrder order);
// Iceberg's default null order for a direction (Java SortOrder.Builder,
// PyIceberg SortField): nulls first ascending, nulls last descending.
NullOrder DefaultNullOrder(SortDirection direction);

// {"order-id": 1, "fields": [...]} as in table metadata; an order read with
// verbatim_json is written back as it was read.
nlohmann::json SortOrderToJson(const SortOrder& order);
// An order this engine cannot fully read (an unknown direction, a field
// without a source id) comes back opaque rather than failing the table's
// metadata: it round-trips, and data is never sorted by it. JSON that is not
// an object with an integer "order-id" is CorruptData.
Result<SortOrder> SortOrderFromJson(const nlohmann::json& json);

// Sort terms by column name (a pending order, TableProperties::kPendingSortOrder):
// [[column, transform, "asc" | "desc", "nulls-first" | "nulls-last" | null], ...].
nlohmann::json SortTermsToJson(const std::vector<SortTerm>& terms);
Result<std::vector<SortTerm>> SortTermsFromJson(const nlohmann::json& json);

// `metadata` with `order` (bound to its schema, any id) as its default sort
// order: an order with the same fields keeps the listed one's id, another is
// added with the next free id; an unsorted order makes order 0 the default.
TableMetadata WithDefaultSortOrder(const TableMetadata& metadata, SortOrder order);

}  // namespace datashard::format
