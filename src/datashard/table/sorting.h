// The order of rows inside the data files a write makes: the table's sort
// order (Iceberg "Sorting": each file sorted by the default order, which the
// file records as its sort_order_id), or an order compaction chose (a sort
// order or a z-order over several columns; docs/architecture.md, "Sort orders").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "datashard/schema.h"
#include "datashard/status.h"
#include "datashard/table_metadata.h"

namespace datashard::table {

// How a write orders each file's rows. By default, by the table's default
// sort order; a writer that ordered the rows itself (compaction's globally
// sorted or z-ordered run) keeps them as given and says what files record.
struct RowOrder {
  bool keep_as_given = false;
  std::optional<int32_t> sort_order_id;  // recorded when keep_as_given
};

// The rows of one data file, ordered, and the sort order id the file records
// (nullopt: none, as for unsorted tables).
struct OrderedRows {
  std::shared_ptr<arrow::Table> rows;
  std::optional<int32_t> sort_order_id;
};

// `data` (conformed to `schema`) as one file of `metadata`'s table holds it
// under `order`. The table's default order applies when this engine can sort
// by it against `schema`; an order it cannot (another engine's transform, a
// column since dropped) leaves the rows as given and unrecorded.
Result<OrderedRows> OrderRowsForFile(const TableMetadata& metadata, const Schema& schema, const arrow::Table& data,
                                     const RowOrder& order);

// Whether OrderRowsForFile sorts rows under `order` (the table's default
// order is one this engine sorts by against `schema`).
bool SortsRows(const TableMetadata& metadata, const Schema& schema, const RowOrder& order);

// `data` (columns named as in `schema`) sorted by `order`: by each field's
// transformed value in turn, in its direction, nulls where its null order
// says. Ties keep their input order. `order` must validate against `schema`.
Result<std::shared_ptr<arrow::Table>> SortForOrder(const Schema& schema, const SortOrder& order,
                                                   const arrow::Table& data);

// `data` in z-order over `columns` (two or more): rows sorted by the
// interleaved bits of an order-preserving unsigned key of each column's value
// (integers and temporals sign-flipped, floats with the sign-flip trick,
// strings and bytes by their first 8 bytes, decimals by their value), each
// stretched over the column's range in `data`, nulls first. Rows near each
// other in every one of the columns end up near each other, so files cut
// from the result have narrow ranges in all of them.
Result<std::shared_ptr<arrow::Table>> ZOrderRows(const Schema& schema, const std::vector<std::string>& columns,
                                                 const arrow::Table& data);

}  // namespace datashard::table
