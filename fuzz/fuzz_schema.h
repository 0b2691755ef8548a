// The fixed table schema and partition spec the manifest fuzzer decodes with,
// shared with the corpus generator so that seeds are valid manifests for it.
#pragma once

#include "datashard/schema.h"

namespace datashard::fuzz {

inline Schema FuzzSchema() {
  Schema schema;
  schema.fields = {
      {1, "id", Type::Of(TypeId::kLong), true, ""},       {2, "name", Type::Of(TypeId::kString), false, ""},
      {3, "ts", Type::Of(TypeId::kTimestamp), false, ""}, {4, "amount", Type::Decimal(9, 2), false, ""},
      {5, "score", Type::Of(TypeId::kDouble), false, ""}, {6, "flag", Type::Of(TypeId::kBoolean), false, ""}};
  return schema;
}

// identity(name), day(ts), bucket[16](id): three kinds of partition value.
inline PartitionSpec FuzzSpec() {
  PartitionSpec spec;
  spec.fields = {{2, 1000, "name", "identity"}, {3, 1001, "ts_day", "day"}, {1, 1002, "id_bucket", "bucket[16]"}};
  return spec;
}

}  // namespace datashard::fuzz
