// The rows a small append carries in its group-commit intent
// (commit/group_commit.h): an Arrow IPC stream, written by the appending
// writer and read by whichever leader takes the intent.
#pragma once

#include <memory>
#include <string>

#include <arrow/type_fwd.h>

#include "datashard/schema.h"
#include "datashard/status.h"

namespace datashard::table {

Result<std::string> EncodeIntentRows(const arrow::Table& rows);

// Another writer's rows, checked like any input read from a file: the stream
// must decode, pass Arrow's full validation and conform to `schema`.
Result<std::shared_ptr<arrow::Table>> DecodeIntentRows(const std::string& bytes, const Schema& schema);

}  // namespace datashard::table
