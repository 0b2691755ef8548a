// Test support: a temporary directory removed at scope exit.
#pragma once

#include <string>

#include <arrow/result.h>
#include <arrow/status.h>

namespace datashard::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline arrow::Status ToStatus(const arrow::Status& status) { return status; }
template <typename T>
arrow::Status ToStatus(const arrow::Result<T>& result) {
  return result.status();
}

}  // namespace datashard::testing

// gtest helpers for Status / Result.
#define DS_ASSERT_OK(expr)                           \
  do {                                               \
    auto _st = ::datashard::testing::ToStatus(expr); \
    ASSERT_TRUE(_st.ok()) << _st.ToString();         \
  } while (false)

// `lhs` may be a declaration ("auto x"), so it cannot be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define DS_ASSIGN_OR_FAIL_IMPL(tmp, lhs, rexpr)     \
  auto tmp = (rexpr);                               \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString(); \
  lhs = std::move(tmp).ValueUnsafe();
// NOLINTEND(bugprone-macro-parentheses)

#define DS_CONCAT_INNER(a, b) a##b
#define DS_CONCAT(a, b) DS_CONCAT_INNER(a, b)
#define DS_ASSIGN_OR_FAIL(lhs, rexpr) DS_ASSIGN_OR_FAIL_IMPL(DS_CONCAT(_result_, __LINE__), lhs, rexpr)
