#include "datashard/status.h"

namespace datashard {

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kTableExists: return "TableExistsError";
    case ErrorKind::kTableNotFound: return "TableNotFoundError";
    case ErrorKind::kSchema: return "SchemaError";
    case ErrorKind::kConcurrentModification: return "ConcurrentModificationException";
    case ErrorKind::kAmbiguousCommit: return "AmbiguousCommitError";
    case ErrorKind::kCorruptData: return "CorruptDataError";
    case ErrorKind::kInvalidArgument: return "InvalidArgumentError";
    case ErrorKind::kIO: return "DatashardIOError";
  }
  return "DatashardError";
}

const char* ErrorDetail::type_id() const { return "datashard::ErrorDetail"; }

Status MakeError(ErrorKind kind, std::string message) {
  arrow::StatusCode code = arrow::StatusCode::Invalid;
  if (kind == ErrorKind::kIO) code = arrow::StatusCode::IOError;
  return Status(code, std::move(message), std::make_shared<ErrorDetail>(kind));
}

ErrorKind KindOf(const Status& status) {
  const auto& detail = status.detail();
  if (detail && std::string_view(detail->type_id()) == "datashard::ErrorDetail") {
    return static_cast<const ErrorDetail&>(*detail).kind();
  }
  if (status.IsInvalid() || status.IsTypeError()) return ErrorKind::kInvalidArgument;
  return ErrorKind::kIO;
}

bool IsKind(const Status& status, ErrorKind kind) { return !status.ok() && KindOf(status) == kind; }

}  // namespace datashard
