// Manifest-list partition summaries (spec "Manifest Lists", field_summary):
// per partition field, whether any file has a null value and the lower and
// upper bound over all files' values. Scans use them to skip whole manifests.
#pragma once

#include <vector>

#include "datashard/format/data_file.h"
#include "datashard/format/partition_spec.h"

namespace datashard::format {

class PartitionSummaryBuilder {
 public:
  PartitionSummaryBuilder(const Schema& schema, const PartitionSpec& spec);
  Status Add(const DataFile& file);
  std::vector<FieldSummary> Finish() const { return summaries_; }

 private:
  std::vector<Type> types_;
  std::vector<FieldSummary> summaries_;
  Status status_;
};

// -1, 0, 1 comparing two single-value encoded values of `type`.
Result<int> CompareValues(const Type& type, const std::string& a, const std::string& b);

}  // namespace datashard::format
