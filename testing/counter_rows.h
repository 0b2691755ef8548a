// Test support: the (writer, seq) table that concurrency tests append to, one
// row per commit, so that every commit can be found in the table afterwards.
#pragma once

#include <cstdint>
#include <memory>

#include <arrow/api.h>

#include "datashard/schema.h"

namespace datashard::testing {

inline Schema CounterSchema() {
  Schema schema;
  schema.fields = {{1, "writer", Type::Of(TypeId::kInt), true, ""}, {2, "seq", Type::Of(TypeId::kLong), true, ""}};
  return schema;
}

inline std::shared_ptr<arrow::Table> Row(int32_t writer, int64_t seq) {
  arrow::Int32Builder w;
  arrow::Int64Builder s;
  (void)w.Append(writer);
  (void)s.Append(seq);
  return arrow::Table::Make(
      arrow::schema({arrow::field("writer", arrow::int32(), false), arrow::field("seq", arrow::int64(), false)}),
      {*w.Finish(), *s.Finish()});
}

}  // namespace datashard::testing
