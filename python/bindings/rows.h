// Row dicts (the original API's records), and dicts of columns, as one Arrow
// record batch of a table's schema, built from the Python objects directly. pyarrow's converter
// would do the same job, but importing it (and the numpy and pandas it pulls
// in) costs a short-lived process more than its whole commit.
//
// Only plain values are converted here: Python bool, int, float, str, bytes,
// and naive date/datetime, into the columns that take them unchanged, with
// the same range rules as datashard/_records.py. Anything else (a value of
// another kind, an unknown key, a missing required field, a non-dict row)
// returns nullptr, and the Python converter takes the whole list: it words
// every error by row and field, so there is one place that does.
#pragma once

#include <Python.h>

#include <memory>

#include <arrow/type_fwd.h>

namespace datashard::python {

// The rows of `rows` (a list or tuple of dicts) as a batch of `schema`, or
// nullptr if some value needs the general converter. Holds the GIL.
std::shared_ptr<arrow::RecordBatch> RowsToBatch(PyObject* rows, const std::shared_ptr<arrow::Schema>& schema);

// A dict of columns (name -> list or tuple of values, all of one length) as a
// batch of `schema`, the columns not given null; nullptr where pyarrow's
// reading of the dict and the append's casts should decide (any other value,
// an unknown name, unequal lengths, a naive datetime for a zoned column).
std::shared_ptr<arrow::RecordBatch> ColumnsToBatch(PyObject* data, const std::shared_ptr<arrow::Schema>& schema);

}  // namespace datashard::python
