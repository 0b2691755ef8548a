#include "rows.h"

// clang-format off: datetime.h needs Python.h first
#include <Python.h>
#include <datetime.h>
// clang-format on

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include <arrow/api.h>

namespace datashard::python {
namespace {

// What a column takes from Python; kOther: only None (null), any other value
// goes to the general converter.
enum class Kind { kBool, kInt32, kInt64, kFloat, kDouble, kString, kBinary, kDate, kTimestamp, kOther };

// `columns`: values will be taken from a dict of columns, which an append
// reads as pyarrow infers it and then casts within one kind of value; a naive
// datetime is then no zoned timestamp (the row form takes it as UTC).
Kind KindOf(const arrow::DataType& type, bool columns) {
  switch (type.id()) {
    case arrow::Type::BOOL: return Kind::kBool;
    case arrow::Type::INT32: return Kind::kInt32;
    case arrow::Type::INT64: return Kind::kInt64;
    case arrow::Type::FLOAT: return Kind::kFloat;
    case arrow::Type::DOUBLE: return Kind::kDouble;
    case arrow::Type::STRING: return Kind::kString;
    case arrow::Type::BINARY: return Kind::kBinary;
    case arrow::Type::DATE32: return Kind::kDate;
    case arrow::Type::TIMESTAMP: {
      const auto& timestamp = static_cast<const arrow::TimestampType&>(type);
      const bool plain = timestamp.unit() == arrow::TimeUnit::MICRO && (!columns || timestamp.timezone().empty());
      return plain ? Kind::kTimestamp : Kind::kOther;
    }
    default: return Kind::kOther;
  }
}

// Days from 1970-01-01 to the proleptic Gregorian date y-m-d.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t DaysOf(PyObject* date) {
  return DaysFromCivil(PyDateTime_GET_YEAR(date), PyDateTime_GET_MONTH(date), PyDateTime_GET_DAY(date));
}

// A Python int (not a bool) as int64; false if `v` is not one or overflows.
bool AsInt64(PyObject* v, int64_t* out) {
  if (!PyLong_Check(v) || PyBool_Check(v)) return false;
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
  if (overflow != 0 || (x == -1 && PyErr_Occurred() != nullptr)) {
    PyErr_Clear();
    return false;
  }
  *out = x;
  return true;
}

// A number for a float/double column; ints only where pyarrow takes them
// exactly (|v| <= 2^24 for float, 2^53 for double), floats as they are
// (a float column rounds them; one beyond its range is left to pyarrow).
bool AsFloating(PyObject* v, bool single, double* out) {
  if (PyFloat_Check(v)) {
    *out = PyFloat_AS_DOUBLE(v);
    return !single || !std::isfinite(*out) || std::abs(*out) <= FLT_MAX;
  }
  int64_t n = 0;
  if (!AsInt64(v, &n)) return false;
  const int64_t limit = single ? (int64_t{1} << 24) : (int64_t{1} << 53);
  if (n > limit || n < -limit) return false;
  *out = static_cast<double>(n);
  return true;
}

struct Column {
  Kind kind;
  bool required;
  PyObject* key;  // a new reference to the column name
  std::unique_ptr<arrow::ArrayBuilder> builder;
};

// Appends `v` (not None) to `column`; false: the general converter decides.
bool AppendValue(Column& column, PyObject* v) {
  arrow::ArrayBuilder& builder = *column.builder;
  switch (column.kind) {
    case Kind::kBool: return PyBool_Check(v) && static_cast<arrow::BooleanBuilder&>(builder).Append(v == Py_True).ok();
    case Kind::kInt32: {
      int64_t n = 0;
      return AsInt64(v, &n) && n >= std::numeric_limits<int32_t>::min() && n <= std::numeric_limits<int32_t>::max() &&
             static_cast<arrow::Int32Builder&>(builder).Append(static_cast<int32_t>(n)).ok();
    }
    case Kind::kInt64: {
      int64_t n = 0;
      return AsInt64(v, &n) && static_cast<arrow::Int64Builder&>(builder).Append(n).ok();
    }
    case Kind::kFloat: {
      double x = 0;
      return AsFloating(v, /*single=*/true, &x) &&
             static_cast<arrow::FloatBuilder&>(builder).Append(static_cast<float>(x)).ok();
    }
    case Kind::kDouble: {
      double x = 0;
      return AsFloating(v, /*single=*/false, &x) && static_cast<arrow::DoubleBuilder&>(builder).Append(x).ok();
    }
    case Kind::kString: {
      if (!PyUnicode_Check(v)) return false;
      Py_ssize_t size = 0;
      const char* utf8 = PyUnicode_AsUTF8AndSize(v, &size);
      if (utf8 == nullptr) {  // lone surrogates: not UTF-8
        PyErr_Clear();
        return false;
      }
      return static_cast<arrow::StringBuilder&>(builder).Append(std::string_view(utf8, size)).ok();
    }
    case Kind::kBinary: {
      auto& binary = static_cast<arrow::BinaryBuilder&>(builder);
      if (PyBytes_Check(v)) return binary.Append(std::string_view(PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v))).ok();
      if (PyByteArray_Check(v)) {
        return binary.Append(std::string_view(PyByteArray_AS_STRING(v), PyByteArray_GET_SIZE(v))).ok();
      }
      return false;
    }
    case Kind::kDate:  // exactly a date: a datetime (a date subclass) is refused by the general converter
      return PyDate_CheckExact(v) && static_cast<arrow::Date32Builder&>(builder).Append(DaysOf(v)).ok();
    case Kind::kTimestamp: {
      // Naive datetimes only (taken as UTC, as pyarrow does); exact type, so
      // that subclasses with more precision (pandas.Timestamp) go to pyarrow.
      if (!PyDateTime_CheckExact(v) || reinterpret_cast<PyDateTime_DateTime*>(v)->hastzinfo) return false;
      const int64_t seconds = DaysOf(v) * 86400 + PyDateTime_DATE_GET_HOUR(v) * 3600 +
                              PyDateTime_DATE_GET_MINUTE(v) * 60 + PyDateTime_DATE_GET_SECOND(v);
      const int64_t micros = seconds * 1000000 + PyDateTime_DATE_GET_MICROSECOND(v);
      return static_cast<arrow::TimestampBuilder&>(builder).Append(micros).ok();
    }
    case Kind::kOther: return false;
  }
  return false;
}

// The columns of a schema, each with its builder.
class Columns {
 public:
  Columns() = default;
  Columns(const Columns&) = delete;
  Columns& operator=(const Columns&) = delete;
  ~Columns() {
    for (auto& column : columns_) Py_XDECREF(column.key);
  }

  // Builders for `num_rows` values of each field of `schema`; false if one
  // cannot be made.
  bool Init(const arrow::Schema& schema, Py_ssize_t num_rows, bool from_columns) {
    if (PyDateTimeAPI == nullptr) {
      PyDateTime_IMPORT;
      if (PyDateTimeAPI == nullptr) {
        PyErr_Clear();
        return false;
      }
    }
    columns_.reserve(static_cast<size_t>(schema.num_fields()));
    for (const auto& field : schema.fields()) {
      auto builder = arrow::MakeBuilder(field->type());
      if (!builder.ok()) return false;
      PyObject* key = PyUnicode_FromStringAndSize(field->name().data(), static_cast<Py_ssize_t>(field->name().size()));
      if (key == nullptr) {
        PyErr_Clear();
        return false;
      }
      PyUnicode_InternInPlace(&key);
      columns_.push_back(
          Column{KindOf(*field->type(), from_columns), !field->nullable(), key, std::move(builder).ValueUnsafe()});
      if (!columns_.back().builder->Reserve(num_rows).ok()) return false;
    }
    return true;
  }

  std::vector<Column>& columns() { return columns_; }

  // `value` (borrowed; nullptr: not given) appended to `column`.
  static bool Append(Column& column, PyObject* value) {
    if (value == nullptr || value == Py_None) return !column.required && column.builder->AppendNull().ok();
    return AppendValue(column, value);
  }

  std::shared_ptr<arrow::RecordBatch> Finish(const std::shared_ptr<arrow::Schema>& schema, Py_ssize_t num_rows) {
    arrow::ArrayVector arrays;
    for (auto& column : columns_) {
      auto array = column.builder->Finish();
      if (!array.ok()) return nullptr;
      arrays.push_back(std::move(array).ValueUnsafe());
    }
    return arrow::RecordBatch::Make(schema, num_rows, std::move(arrays));
  }

 private:
  std::vector<Column> columns_;
};

// dict[key] into `value` (borrowed; nullptr if absent); false if the lookup
// itself failed (a key whose __eq__ raised).
bool Lookup(PyObject* dict, PyObject* key, PyObject** value) {
  *value = PyDict_GetItemWithError(dict, key);
  if (*value == nullptr && PyErr_Occurred() != nullptr) {
    PyErr_Clear();
    return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<arrow::RecordBatch> RowsToBatch(PyObject* rows, const std::shared_ptr<arrow::Schema>& schema) {
  if (!PyList_Check(rows) && !PyTuple_Check(rows)) return nullptr;
  const Py_ssize_t num_rows = PySequence_Fast_GET_SIZE(rows);
  PyObject** items = PySequence_Fast_ITEMS(rows);
  Columns columns;
  if (!columns.Init(*schema, num_rows, /*from_columns=*/false)) return nullptr;
  for (Py_ssize_t i = 0; i < num_rows; ++i) {
    PyObject* row = items[i];
    if (!PyDict_Check(row)) return nullptr;
    Py_ssize_t found = 0;
    for (auto& column : columns.columns()) {
      PyObject* value = nullptr;
      if (!Lookup(row, column.key, &value)) return nullptr;
      found += value != nullptr;
      if (!Columns::Append(column, value)) return nullptr;
    }
    if (found != PyDict_GET_SIZE(row)) return nullptr;  // a key that is not a column
  }
  return columns.Finish(schema, num_rows);
}

std::shared_ptr<arrow::RecordBatch> ColumnsToBatch(PyObject* data, const std::shared_ptr<arrow::Schema>& schema) {
  if (!PyDict_Check(data)) return nullptr;
  Columns columns;
  if (!columns.Init(*schema, 0, /*from_columns=*/true)) return nullptr;
  std::vector<PyObject*> given;  // borrowed; nullptr: a column not given
  Py_ssize_t num_rows = -1;
  Py_ssize_t found = 0;
  for (auto& column : columns.columns()) {
    PyObject* values = nullptr;
    if (!Lookup(data, column.key, &values)) return nullptr;
    if (values != nullptr) {
      if (!PyList_Check(values) && !PyTuple_Check(values)) return nullptr;  // arrays, Series...: pyarrow's
      const Py_ssize_t n = PySequence_Fast_GET_SIZE(values);
      if (num_rows >= 0 && n != num_rows) return nullptr;
      num_rows = n;
      ++found;
    }
    given.push_back(values);
  }
  // No column at all, or a name the table lacks: the append's own checks word it.
  if (found == 0 || found != PyDict_GET_SIZE(data)) return nullptr;
  for (size_t c = 0; c < given.size(); ++c) {
    Column& column = columns.columns()[c];
    PyObject** items = given[c] == nullptr ? nullptr : PySequence_Fast_ITEMS(given[c]);
    for (Py_ssize_t i = 0; i < num_rows; ++i) {
      if (!Columns::Append(column, items == nullptr ? nullptr : items[i])) return nullptr;
    }
  }
  return columns.Finish(schema, num_rows);
}

}  // namespace datashard::python
