// Errors in the datashard engine.
//
// The engine returns arrow::Status / arrow::Result<T> (Arrow is already linked).
// A datashard-specific ErrorKind rides along as a StatusDetail so that each
// failure maps 1:1 to a Python exception class in the bindings.
#pragma once

#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include <arrow/result.h>
#include <arrow/status.h>

namespace datashard {

using arrow::Result;
using arrow::Status;

// One value per Python exception class (python/datashard/errors.py).
enum class ErrorKind {
  kTableExists,             // TableExistsError
  kTableNotFound,           // TableNotFoundError
  kSchema,                  // SchemaError: bad records, bad schema, bad filter column
  kConcurrentModification,  // ConcurrentModificationException: lost the race too often or a real conflict
  kAmbiguousCommit,         // AmbiguousCommitError: outcome of a publish cannot be read back
  kCorruptData,             // CorruptDataError: on-disk input is malformed or escapes the table
  kInvalidArgument,         // InvalidArgumentError (also a ValueError in Python)
  kIO,                      // DatashardIOError (also an OSError in Python)
};

const char* ErrorKindName(ErrorKind kind);

class ErrorDetail : public arrow::StatusDetail {
 public:
  explicit ErrorDetail(ErrorKind kind) : kind_(kind) {}
  const char* type_id() const override;
  std::string ToString() const override { return ErrorKindName(kind_); }
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// The kind carried by `status`, or kIO for an error that came from Arrow or the OS
// without one.
ErrorKind KindOf(const Status& status);
bool IsKind(const Status& status, ErrorKind kind);

Status MakeError(ErrorKind kind, std::string message);

// Concatenates any streamable values into one message.
template <typename... Args>
std::string JoinMessage(Args&&... args) {
  std::ostringstream out;
  (out << ... << std::forward<Args>(args));
  return out.str();
}

template <typename... Args>
Status CorruptData(Args&&... args) {
  return MakeError(ErrorKind::kCorruptData, JoinMessage(std::forward<Args>(args)...));
}
template <typename... Args>
Status SchemaError(Args&&... args) {
  return MakeError(ErrorKind::kSchema, JoinMessage(std::forward<Args>(args)...));
}
template <typename... Args>
Status InvalidArgument(Args&&... args) {
  return MakeError(ErrorKind::kInvalidArgument, JoinMessage(std::forward<Args>(args)...));
}
template <typename... Args>
Status IOError(Args&&... args) {
  return MakeError(ErrorKind::kIO, JoinMessage(std::forward<Args>(args)...));
}

}  // namespace datashard
