#include "datashard/format/partition_summary.h"

#include <arrow/compute/api.h>
#include <arrow/scalar.h>

#include "datashard/format/single_value.h"

namespace datashard::format {

Result<int> CompareValues(const Type& type, const std::string& a, const std::string& b) {
  ARROW_ASSIGN_OR_RAISE(auto left, DeserializeValue(type, a));
  ARROW_ASSIGN_OR_RAISE(auto right, DeserializeValue(type, b));
  ARROW_ASSIGN_OR_RAISE(auto less, arrow::compute::CallFunction("less", {left, right}));
  if (static_cast<const arrow::BooleanScalar&>(*less.scalar()).value) return -1;
  ARROW_ASSIGN_OR_RAISE(auto greater, arrow::compute::CallFunction("greater", {left, right}));
  return static_cast<const arrow::BooleanScalar&>(*greater.scalar()).value ? 1 : 0;
}

PartitionSummaryBuilder::PartitionSummaryBuilder(const Schema& schema, const PartitionSpec& spec) {
  for (const auto& field : spec.fields) {
    auto type = PartitionResultType(schema, field);
    if (!type.ok()) status_ = type.status();
    types_.push_back(type.ok() ? *type : Type::Of(TypeId::kInt));
    FieldSummary summary;
    summary.contains_nan = false;
    summaries_.push_back(summary);
  }
}

Status PartitionSummaryBuilder::Add(const DataFile& file) {
  ARROW_RETURN_NOT_OK(status_);
  if (file.partition.size() != summaries_.size()) {
    return InvalidArgument("data file ", file.file_path, " has ", file.partition.size(), " partition values, spec has ",
                           summaries_.size());
  }
  for (size_t i = 0; i < summaries_.size(); ++i) {
    auto& summary = summaries_[i];
    const auto& value = file.partition[i];
    if (!value) {
      summary.contains_null = true;
      continue;
    }
    if (!summary.lower_bound) {
      summary.lower_bound = *value;
      summary.upper_bound = *value;
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(int below, CompareValues(types_[i], *value, *summary.lower_bound));
    if (below < 0) summary.lower_bound = *value;
    ARROW_ASSIGN_OR_RAISE(int above, CompareValues(types_[i], *value, *summary.upper_bound));
    if (above > 0) summary.upper_bound = *value;
  }
  return Status::OK();
}

}  // namespace datashard::format
