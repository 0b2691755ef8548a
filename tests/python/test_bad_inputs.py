"""Bad-input matrix: every bad input gets a typed datashard error and nothing is written or lost.

Each case is one test id. For a refused input the test checks the error class (a subclass of
``DatashardError``), that its message names what is wrong, and that the table is untouched:
same metadata version, same row count, same files with the same bytes. "Works" cases (huge
values, unicode, NaN/inf, far timestamps, empty batches) check an exact round trip instead.

The first run of this matrix found 23 inputs datashard mishandled (duplicate Arrow columns
silently stored as NULL, Arrow casts across kinds of value such as True -> "true", NUL bytes in
table paths, untyped errors from a damaged data file, rows left behind by a failed delete);
all are fixed and asserted here.

``MATRIX`` below lists every case; ``N_CASES`` is the number of inputs tried.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from datashard import (
    CorruptDataError,
    DatashardError,
    DatashardIOError,
    FilterTypeError,
    InvalidArgumentError,
    Schema,
    SchemaError,
    Table,
    TableNotFoundError,
    col,
    create_table,
    load_table,
)

from conftest import EVENTS_FIELDS, make_rows, run_python

# -- helpers ------------------------------------------------------------------------------------


def fingerprint(path: str | os.PathLike[str]) -> dict[str, str]:
    """Every file below ``path`` with a hash of its bytes, every directory and every symlink
    with its target (stronger than ``files_under``: a rewritten file or a new empty directory
    counts as a change)."""
    out: dict[str, str] = {}
    for root, dirs, names in os.walk(path):
        for n in dirs + names:
            p = os.path.join(root, n)
            if os.path.islink(p):
                out[p] = "link:" + os.readlink(p)
            elif os.path.isdir(p):
                out[p] = "dir"
            elif n == ".commit-queue.lock":
                # Host-local coordination, not table content: every release of the commit
                # queue bumps the counter its waiters sleep on.
                out[p] = "queue"
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    out[p] = hashlib.sha1(f.read()).hexdigest()
            else:
                out[p] = "special"
    return out


def state(t: Table) -> tuple[int, int, dict[str, str]]:
    """(metadata version, row count, files and their bytes) of the table as committed."""
    t.refresh()
    return t.version, t.row_count(), fingerprint(t.location)


def assert_unchanged(t: Table, before: tuple[int, int, dict[str, str]]) -> None:
    after = state(t)
    assert after[0] == before[0], f"a new metadata version was written: v{before[0]} -> v{after[0]}"
    assert after[1] == before[1], f"row count changed: {before[1]} -> {after[1]}"
    added = sorted(set(after[2]) - set(before[2]))
    removed = sorted(set(before[2]) - set(after[2]))
    changed = sorted(p for p in set(after[2]) & set(before[2]) if after[2][p] != before[2][p])
    assert not (added or removed or changed), f"files changed: added={added} removed={removed} rewritten={changed}"
    # A fresh handle sees the same table.
    again = load_table(t.location)
    assert again.version == before[0] and again.row_count() == before[1]


def refused(call: Callable[[], Any], exc: type[BaseException], *fragments: str) -> str:
    """Run ``call``; it must raise ``exc`` (a DatashardError) whose message holds every fragment."""
    assert issubclass(exc, DatashardError)
    with pytest.raises(DatashardError) as info:
        call()
    err = info.value
    assert isinstance(err, exc), f"expected {exc.__name__}, got {type(err).__name__}: {err}"
    msg = str(err)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in the message: {msg}"
    return msg


def events_schema() -> Schema:
    return Schema(schema_id=1, fields=EVENTS_FIELDS)


# -- 1. row dicts: append_records(records) and append(list of dicts) ----------------------------

# (id, records, row named in the message, field named in the message, extra fragment)
RECORD_CASES = [
    ("str-into-long", [{"id": "7", "group": 0}], 0, "id", "expected long"),
    ("float-fraction-into-long", [{"id": 1.5, "group": 0}], 0, "id", "expected long"),
    ("float-fraction-into-int", [{"id": 1, "group": 0.25}], 0, "group", "expected int"),
    ("bool-into-string", [{"id": 1, "group": 0, "name": True}], 0, "name", "expected string"),
    ("bool-into-long", [{"id": False, "group": 0}], 0, "id", "expected long"),
    ("list-into-long", [{"id": [1], "group": 0}], 0, "id", "expected long"),
    ("dict-into-string", [{"id": 1, "group": 0, "name": {"a": 1}}], 0, "name", "expected string"),
    ("bytes-into-string", [{"id": 1, "group": 0, "name": b"abc"}], 0, "name", "expected string"),
    ("str-into-double", [{"id": 1, "group": 0, "score": "high"}], 0, "score", "expected double"),
    ("none-in-required", [{"id": None, "group": 0}], 0, "id", "is None"),
    ("none-in-required-row-2", [{"id": 1, "group": 0}, {"id": 2, "group": 0}, {"id": 3, "group": None}],
     2, "group", "is None"),
    ("missing-required", [{"id": 1}], 0, "group", "is missing"),
    ("unknown-column", [{"id": 1, "group": 0, "colour": "red"}], 0, "colour", "not a column"),
    ("unknown-unicode-column", [{"id": 1, "group": 0, "température": 1.0}], 0, "température", "not a column"),
    ("nan-into-long", [{"id": float("nan"), "group": 0}], 0, "id", "NaN"),
    ("inf-into-long", [{"id": float("inf"), "group": 0}], 0, "id", "inf"),
    ("long-overflow-2**63", [{"id": 2**63, "group": 0}], 0, "id", "out of range"),
    ("long-underflow-(-2**63-1)", [{"id": -(2**63) - 1, "group": 0}], 0, "id", "out of range"),
    ("int-overflow-2**31", [{"id": 1, "group": 2**31}], 0, "group", "out of range"),
    ("int-underflow-(-2**31-1)", [{"id": 1, "group": -(2**31) - 1}], 0, "group", "out of range"),
    ("row-not-a-dict", [{"id": 1, "group": 0}, ("id", 2)], 1, None, "expected a dict"),
]


@pytest.mark.parametrize("entry", ["append_records", "append_list"])
@pytest.mark.parametrize("records,row,field,fragment", [pytest.param(*c[1:], id=c[0]) for c in RECORD_CASES])
def test_bad_records(filled: Table, entry: str, records, row, field, fragment) -> None:
    before = state(filled)
    call = filled.append_records if entry == "append_records" else filled.append
    frags = [f"row {row}", fragment] + ([f'"{field}"'] if field else [])
    refused(lambda: call(records), SchemaError, *frags)
    assert_unchanged(filled, before)


# -- 2. Arrow input: append(pyarrow table / record batch / dict of columns / pandas) ------------


def _dup(names: list[str], arrays: list[pa.Array], batch: bool = False) -> Any:
    if batch:
        return pa.RecordBatch.from_arrays(arrays, names=names)
    return pa.Table.from_arrays(arrays, names=names)


def _pandas_dup() -> Any:
    pd = pytest.importorskip("pandas")
    return pd.DataFrame([[1, 0, "a", "b"]], columns=["id", "group", "name", "name"])


def _chunked_null_in_required() -> pa.Table:
    ids = pa.chunked_array([pa.array([1, 2], pa.int64()), pa.array([3, None], pa.int64())])
    return pa.table({"id": ids, "group": pa.array([0, 0, 0, 0], pa.int32())})


I32 = pa.int32()
# (id, data factory, error, message fragments, marks)
ARROW_CASES = [
    ("str-into-long", lambda: pa.table({"id": ["x"], "group": [0]}), SchemaError, ['"id"', "string"], ()),
    ("float-fraction-into-int", lambda: pa.table({"id": [1], "group": [1.5]}), SchemaError,
     ['"group"', "truncated"], ()),
    ("float-fraction-into-long", lambda: pa.table({"id": [2.5], "group": pa.array([0], I32)}), SchemaError,
     ['"id"', "truncated"], ()),
    ("list-into-long", lambda: pa.table({"id": [[1]], "group": [0]}), SchemaError, ['"id"', "list"], ()),
    ("struct-into-string", lambda: pa.table({"id": [1], "group": [0], "name": [{"a": 1}]}), SchemaError,
     ['"name"'], ()),
    ("null-in-required", lambda: pa.table({"id": pa.array([1, None], pa.int64()), "group": [0, 0]}),
     SchemaError, ['"id"', "null in a required field", "row 1"], ()),
    ("null-in-required-second-chunk", _chunked_null_in_required, SchemaError,
     ['"id"', "null in a required field", "row 3"], ()),
    ("null-typed-required-column", lambda: pa.table({"id": pa.array([None, None]), "group": [0, 1]}),
     SchemaError, ['"id"', "null"], ()),
    ("null-in-required-dict", lambda: {"id": [None], "group": [0]}, SchemaError, ['"id"', "null"], ()),
    ("unknown-column", lambda: pa.table({"id": [1], "group": [0], "colour": ["red"]}), SchemaError,
     ['"colour"', "unknown column"], ()),
    ("unknown-column-dict", lambda: {"id": [1], "group": [0], "名前": ["x"]}, SchemaError,
     ['"名前"', "unknown column"], ()),
    ("unknown-column-empty-batch", lambda: pa.table({"zz": pa.array([], pa.string())}), SchemaError,
     ['"zz"'], ()),
    ("missing-required", lambda: pa.table({"id": [1]}), SchemaError, ['"group"', "missing"], ()),
    ("missing-required-dict", lambda: {"group": [1]}, SchemaError, ['"id"', "missing"], ()),
    ("empty-dict-no-columns", dict, SchemaError, ['"id"', "missing"], ()),
    ("ragged-dict", lambda: {"id": [1, 2], "group": [0]}, SchemaError, ["length"], ()),
    ("nan-into-long", lambda: pa.table({"id": [float("nan")], "group": [0]}), SchemaError, ['"id"', "nan"], ()),
    ("inf-into-long", lambda: pa.table({"id": [float("-inf")], "group": [0]}), SchemaError, ['"id"', "inf"], ()),
    ("nan-into-long-dict", lambda: {"id": [1.0, float("nan")], "group": [0, 0]}, SchemaError, ['"id"'], ()),
    ("uint64-2**63-into-long", lambda: pa.table({"id": pa.array([2**63], pa.uint64()), "group": [0]}),
     SchemaError, ['"id"', "not in range"], ()),
    ("python-int-2**63-dict", lambda: {"id": [2**63], "group": [0]}, SchemaError, ['"id"'],
     ()),
    ("int64-2**31-into-int", lambda: pa.table({"id": [1], "group": pa.array([2**31], pa.int64())}),
     SchemaError, ['"group"', "not in range"], ()),
    ("int64-(-2**31-1)-into-int", lambda: pa.table({"id": [1], "group": pa.array([-(2**31) - 1], pa.int64())}),
     SchemaError, ['"group"', "not in range"], ()),
    # Duplicate column names.
    ("duplicate-required-column",
     lambda: _dup(["id", "id", "group"], [pa.array([1]), pa.array([2]), pa.array([0], I32)]),
     SchemaError, ['"id"', "duplicate"], ()),
    ("duplicate-optional-column-table",
     lambda: _dup(["id", "group", "name", "name"], [pa.array([1]), pa.array([0], I32), pa.array(["a"]), pa.array(["b"])]),
     SchemaError, ['"name"', "duplicate"],
     ()),
    ("duplicate-optional-column-batch",
     lambda: _dup(["id", "group", "name", "name"], [pa.array([1]), pa.array([0], I32), pa.array(["a"]), pa.array(["b"])],
                  batch=True),
     SchemaError, ['"name"', "duplicate"],
     ()),
    ("duplicate-column-pandas", _pandas_dup, SchemaError, ['"name"'], ()),
    # Wrong types that Arrow's safe cast converts instead of refusing.
    ("bool-into-string", lambda: pa.table({"id": [1], "group": [0], "name": [True]}), SchemaError,
     ['"name"'], ()),
    ("bool-into-long", lambda: pa.table({"id": [True], "group": [0]}), SchemaError,
     ['"id"'], ()),
    ("int-into-string", lambda: pa.table({"id": [1], "group": [0], "name": [5]}), SchemaError,
     ['"name"'], ()),
    ("numeric-string-into-long", lambda: pa.table({"id": ["12"], "group": [0]}), SchemaError,
     ['"id"'], ()),
]


@pytest.mark.parametrize(
    "make,exc,fragments", [pytest.param(*c[1:4], id=c[0], marks=c[4]) for c in ARROW_CASES]
)
def test_bad_arrow_input(filled: Table, make, exc, fragments) -> None:
    data = make()
    before = state(filled)
    refused(lambda: filled.append(data), exc, *fragments)
    assert_unchanged(filled, before)


def test_duplicate_column_via_overwrite(filled: Table) -> None:
    data = _dup(["id", "group", "name", "name"], [pa.array([1]), pa.array([0], I32), pa.array(["a"]), pa.array(["b"])])
    before = state(filled)
    refused(lambda: filled.overwrite(data, where={"id": 1}), SchemaError, '"name"', "duplicate")
    assert_unchanged(filled, before)


# -- 3. timestamps and dates out of range (Arrow input; Python's datetime stops at 9999) ---------

TS_FIELDS = [
    {"id": 1, "name": "k", "type": "long", "required": True},
    {"id": 2, "name": "ts", "type": "timestamp"},
    {"id": 3, "name": "tz", "type": "timestamptz"},
    {"id": 4, "name": "dt", "type": "date"},
]


@pytest.fixture
def ts_table(tmp_path: Path) -> Table:
    t = create_table(str(tmp_path / "ts"), Schema(schema_id=0, fields=TS_FIELDS))
    t.append(pa.table({"k": [0], "ts": pa.array([0], pa.timestamp("us"))}))
    return t


# (id, column, arrow array, message fragment)
TIMESTAMP_BAD_CASES = [
    ("seconds-overflow-microseconds", "ts", pa.array([2**62], pa.timestamp("s")), "out of bounds"),
    ("millis-overflow-microseconds", "ts", pa.array([2**62], pa.timestamp("ms")), "out of bounds"),
    ("seconds-underflow-microseconds", "ts", pa.array([-(2**62)], pa.timestamp("s")), "out of bounds"),
    ("nanos-not-whole-micros", "ts", pa.array([1_000_000_001], pa.timestamp("ns")), "lose data"),
    ("nanos-huge-not-whole-micros", "ts", pa.array([2**62], pa.timestamp("ns")), "lose data"),
    ("tz-nanos-not-whole-micros", "tz", pa.array([2**62], pa.timestamp("ns", tz="UTC")), "lose data"),
    ("date64-not-whole-days", "dt", pa.array([2**62], pa.date64()), "lose data"),
]


@pytest.mark.parametrize("column,values,fragment", [pytest.param(*c[1:], id=c[0]) for c in TIMESTAMP_BAD_CASES])
def test_timestamps_out_of_range_are_refused(ts_table: Table, column, values, fragment) -> None:
    before = state(ts_table)
    data = pa.table({"k": [1], column: values})
    refused(lambda: ts_table.append(data), SchemaError, f'"{column}"', fragment)
    assert_unchanged(ts_table, before)


# Values Iceberg can store (int64 microseconds / int32 days) but Python's datetime cannot.
TIMESTAMP_FAR_CASES = [
    ("year-10000", "ts", pa.array([253402300800], pa.timestamp("s"))),
    ("year-minus-5000", "ts", pa.array([-220000000000], pa.timestamp("s"))),
    ("tz-year-10000", "tz", pa.array([253402300800_000], pa.timestamp("ms", tz="UTC"))),
    ("date-year-10183", "dt", pa.array([3_000_000], pa.date32())),
    ("date-int32-max", "dt", pa.array([2**31 - 1], pa.date32())),
]


@pytest.mark.parametrize("column,values", [pytest.param(*c[1:], id=c[0]) for c in TIMESTAMP_FAR_CASES])
def test_far_timestamps_round_trip_exactly(ts_table: Table, column, values) -> None:
    ts_table.append(pa.table({"k": [1], column: values}))
    got = ts_table.to_arrow(filter={"k": 1}).column(column)
    storage = pa.int32() if column == "dt" else pa.int64()
    expected_type = ts_table.arrow_schema().field(column).type
    assert got.cast(storage).to_pylist() == values.cast(expected_type).cast(storage).to_pylist()


@pytest.mark.parametrize("column,values", [pytest.param(*c[1:], id=c[0]) for c in TIMESTAMP_FAR_CASES])
def test_far_timestamps_scan_as_dicts(ts_table: Table, column, values) -> None:
    ts_table.append(pa.table({"k": [1], column: values}))
    try:
        ts_table.scan(filter={"k": 1})
    except DatashardError:
        pass  # a typed error is acceptable; a raw OverflowError/ValueError is not


# -- 4. empty batches: succeed, write nothing, no new version -----------------------------------


def _empty_pandas() -> Any:
    pd = pytest.importorskip("pandas")
    return pd.DataFrame({"id": pd.Series([], dtype="int64"), "group": pd.Series([], dtype="int32")})


_EMPTY_SCHEMA = pa.schema([("id", pa.int64()), ("group", pa.int32())])
EMPTY_CASES = [
    ("append_records-empty-list", "append_records", list, True),
    ("append-empty-list", "append", list, None),
    ("append-empty-table", "append", lambda: _EMPTY_SCHEMA.empty_table(), None),
    ("append-empty-table-all-columns", "append",
     lambda: pa.table({"id": pa.array([], pa.int64()), "name": pa.array([], pa.string()),
                       "score": pa.array([], pa.float64()), "group": pa.array([], I32)}), None),
    ("append-empty-record-batch", "append", lambda: pa.RecordBatch.from_pylist([], schema=_EMPTY_SCHEMA), None),
    ("append-reader-without-batches", "append", lambda: pa.RecordBatchReader.from_batches(_EMPTY_SCHEMA, []), None),
    ("append-reader-of-empty-batches", "append",
     lambda: pa.RecordBatchReader.from_batches(_EMPTY_SCHEMA, [pa.RecordBatch.from_pylist([], schema=_EMPTY_SCHEMA)] * 3),
     None),
    ("append-dict-of-empty-lists", "append", lambda: {"id": [], "group": []}, None),
    ("append-empty-pandas", "append", _empty_pandas, None),
    ("append_arrow-empty-table", "append_arrow", lambda: _EMPTY_SCHEMA.empty_table(), True),
]


@pytest.mark.parametrize("method,make,result", [pytest.param(*c[1:], id=c[0]) for c in EMPTY_CASES])
def test_empty_batch_writes_nothing(filled: Table, method, make, result) -> None:
    data = make()
    before = state(filled)
    assert getattr(filled, method)(data) is result
    assert_unchanged(filled, before)
    assert filled.current_snapshot() is not None and len(filled.snapshots()) == 3


def test_empty_batch_on_empty_table_creates_no_snapshot(table: Table) -> None:
    before = state(table)
    assert table.append(_EMPTY_SCHEMA.empty_table()) is None
    assert table.append_records([]) is True
    assert table.current_snapshot() is None
    assert_unchanged(table, before)


# -- 5. values that must work: huge, unicode, NaN/inf ------------------------------------------

BIG_FIELDS = [
    {"id": 1, "name": "k", "type": "long", "required": True},
    {"id": 2, "name": "s", "type": "string"},
    {"id": 3, "name": "b", "type": "binary"},
]
MB20 = 20 * 1024 * 1024


def test_huge_string_round_trips(tmp_path: Path) -> None:
    t = create_table(str(tmp_path / "big"), Schema(schema_id=0, fields=BIG_FIELDS))
    unit = "aé名🎉"  # 1 + 2 + 3 + 4 bytes of UTF-8
    big = unit * (MB20 // 10) + "end"
    assert len(big.encode()) > MB20
    t.append_records([{"k": 1, "s": big}, {"k": 2, "s": "small"}])
    rows = {r["k"]: r["s"] for r in t.scan(columns=["k", "s"])}
    assert rows[2] == "small"
    assert len(rows[1]) == len(big) and rows[1] == big


def test_huge_binary_round_trips(tmp_path: Path) -> None:
    t = create_table(str(tmp_path / "big"), Schema(schema_id=0, fields=BIG_FIELDS))
    blob = os.urandom(MB20) + b"\x00end"
    t.append(pa.table({"k": [1, 2], "b": pa.array([blob, b""], pa.binary())}))
    got = {r["k"]: r["b"] for r in t.to_arrow(columns=["k", "b"]).to_pylist()}
    assert got[2] == b""
    assert hashlib.sha256(got[1]).digest() == hashlib.sha256(blob).digest()


UNICODE_FIELDS = [
    {"id": 1, "name": "température", "type": "double", "required": True},
    {"id": 2, "name": "名前", "type": "string"},
    {"id": 3, "name": "🎉", "type": "long"},
    {"id": 4, "name": "a b.c-ü", "type": "string"},
]
UNICODE_ROWS = [
    {"température": -3.5, "名前": "山田 🎌", "🎉": 1, "a b.c-ü": "ñ\x00x"},
    {"température": 21.0, "名前": None, "🎉": None, "a b.c-ü": "\U0010ffff" + "ß" * 100},
    {"température": 0.0, "名前": "", "🎉": -(2**63), "a b.c-ü": "\u200b\u202e"},
]


@pytest.mark.parametrize("dirname", ["plain", "tâble-名前-🎉"])
def test_unicode_names_and_values_round_trip(tmp_path: Path, dirname: str) -> None:
    path = str(tmp_path / dirname)
    t = create_table(path, Schema(schema_id=0, fields=UNICODE_FIELDS))
    t.append_records(UNICODE_ROWS)
    assert sorted(t.scan(), key=lambda r: r["température"]) == sorted(UNICODE_ROWS, key=lambda r: r["température"])
    assert t.scan(filter={"名前": "山田 🎌"}, columns=["🎉"]) == [{"🎉": 1}]
    again = load_table(path)
    assert [f["name"] for f in again.schema().fields] == [f["name"] for f in UNICODE_FIELDS]
    pyiceberg_table = pytest.importorskip("pyiceberg.table")
    read = pyiceberg_table.StaticTable.from_metadata(t.metadata_location).scan().to_arrow()
    assert read.schema.names == [f["name"] for f in UNICODE_FIELDS]
    assert sorted(read.to_pylist(), key=lambda r: r["température"]) == sorted(
        UNICODE_ROWS, key=lambda r: r["température"]
    )


@pytest.mark.parametrize("entry", ["records", "arrow"])
def test_nan_and_infinities_round_trip_in_double(filled: Table, entry: str) -> None:
    values = [float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, 1.7976931348623157e308]
    ids = list(range(100, 100 + len(values)))
    if entry == "records":
        filled.append_records([{"id": i, "group": 0, "score": v} for i, v in zip(ids, values)])
    else:
        filled.append(pa.table({"id": ids, "group": pa.array([0] * len(ids), I32), "score": values}))
    got = {r["id"]: r["score"] for r in filled.scan(filter={"id": (">=", 100)})}
    assert math.isnan(got[100])
    assert got[101] == math.inf and got[102] == -math.inf
    assert got[103] == 0.0 and math.copysign(1, got[103]) == -1
    assert got[104] == 5e-324 and got[105] == 1.7976931348623157e308
    assert len(filled.scan(filter={"score": ("==", float("inf"))})) == 1
    assert filled.row_count() == 30 + len(values)


# -- 6. table paths -----------------------------------------------------------------------------


def _regular_file(tmp_path: Path) -> Path:
    p = tmp_path / "plain-file"
    p.write_bytes(b"not a table\n")
    return p


def _path_case_file_create(tmp_path: Path) -> Callable[[], Any]:
    p = _regular_file(tmp_path)
    return lambda: create_table(str(p), events_schema())


def _path_case_file_load(tmp_path: Path) -> Callable[[], Any]:
    p = _regular_file(tmp_path)
    return lambda: load_table(str(p))


def _path_case_file_create_no_schema(tmp_path: Path) -> Callable[[], Any]:
    p = _regular_file(tmp_path)
    return lambda: create_table(str(p))


def _path_case_below_file_create(tmp_path: Path) -> Callable[[], Any]:
    p = _regular_file(tmp_path)
    return lambda: create_table(str(p / "sub"), events_schema())


def _path_case_below_file_load(tmp_path: Path) -> Callable[[], Any]:
    p = _regular_file(tmp_path)
    return lambda: load_table(str(p / "sub"))


def _path_case_metadata_is_file(tmp_path: Path) -> Callable[[], Any]:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "metadata").write_bytes(b"x")
    return lambda: create_table(str(tmp_path / "t"), events_schema())


def _path_case_metadata_is_file_load(tmp_path: Path) -> Callable[[], Any]:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "metadata").write_bytes(b"x")
    return lambda: load_table(str(tmp_path / "t"))


def _path_case_missing_load(tmp_path: Path) -> Callable[[], Any]:
    return lambda: load_table(str(tmp_path / "missing" / "deeper"))


def _path_case_empty_dir_load(tmp_path: Path) -> Callable[[], Any]:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "metadata").mkdir()
    return lambda: load_table(str(tmp_path / "empty"))


def _path_case_first_append_all_none(tmp_path: Path) -> Callable[[], Any]:
    table = create_table(str(tmp_path / "schema-on-write"))
    return lambda: table.append_records([{"id": 1, "note": None}, {"id": 2}])


def _path_case_empty_create(tmp_path: Path) -> Callable[[], Any]:
    return lambda: create_table("", events_schema())


def _path_case_empty_load(tmp_path: Path) -> Callable[[], Any]:
    return lambda: load_table("")


def _path_case_empty_table_ctor(tmp_path: Path) -> Callable[[], Any]:
    return lambda: Table("")


def _path_case_nul_create(tmp_path: Path) -> Callable[[], Any]:
    return lambda: create_table(str(tmp_path / "x") + "\0y", events_schema())


def _path_case_nul_load(tmp_path: Path) -> Callable[[], Any]:
    t = create_table(str(tmp_path / "z"), events_schema())  # a real table at the prefix
    t.append_records(make_rows(0, 3))
    return lambda: load_table(str(tmp_path / "z") + "\0junk")


# (id, setup -> call, error, message fragments, marks)
PATH_CASES = [
    ("create-on-regular-file", _path_case_file_create, DatashardIOError, ["plain-file", "Not a directory"], ()),
    ("create-on-regular-file-no-schema", _path_case_file_create_no_schema, DatashardError, ["plain-file"], ()),
    ("load-on-regular-file", _path_case_file_load, DatashardIOError, ["plain-file", "Not a directory"], ()),
    ("create-below-regular-file", _path_case_below_file_create, DatashardIOError, ["plain-file"], ()),
    ("load-below-regular-file", _path_case_below_file_load, DatashardIOError, ["plain-file"], ()),
    ("create-metadata-is-a-file", _path_case_metadata_is_file, DatashardIOError, ["metadata"], ()),
    ("load-metadata-is-a-file", _path_case_metadata_is_file_load, DatashardIOError, ["metadata"], ()),
    ("load-missing-path", _path_case_missing_load, TableNotFoundError, ["no table at", "deeper"], ()),
    ("load-empty-metadata-dir", _path_case_empty_dir_load, TableNotFoundError, ["no table at"], ()),
    ("first-append-all-none", _path_case_first_append_all_none, SchemaError, ['"note"', "None in every row"], ()),
    ("create-empty-path", _path_case_empty_create, InvalidArgumentError, ["path is empty"], ()),
    ("load-empty-path", _path_case_empty_load, InvalidArgumentError, ["path is empty"], ()),
    ("Table()-empty-path", _path_case_empty_table_ctor, InvalidArgumentError, ["path is empty"], ()),
    ("create-path-with-nul", _path_case_nul_create, InvalidArgumentError, ["NUL"],
     ()),
    ("load-path-with-nul", _path_case_nul_load, InvalidArgumentError, ["NUL"],
     ()),
]


@pytest.mark.parametrize("setup,exc,fragments", [pytest.param(*c[1:4], id=c[0], marks=c[4]) for c in PATH_CASES])
def test_bad_table_path(tmp_path: Path, setup, exc, fragments) -> None:
    call = setup(tmp_path)
    before = fingerprint(tmp_path)
    refused(call, exc, *fragments)
    assert fingerprint(tmp_path) == before, "a failed create/load wrote something"


# Unwritable directories. Root ignores permission bits, so when the tests run as root the
# attempt runs in a child process that drops to uid/gid 65534 ("nobody") after importing.
_UNWRITABLE_CHILD = r"""
import json, os, sys
import datashard
from datashard import Schema, create_table, load_table
mode, target = sys.argv[1], sys.argv[2]
if os.geteuid() == 0:
    try:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    except OSError as e:
        print(json.dumps({"skip": f"running as root and cannot drop to uid 65534: {e}"}))
        sys.exit(0)
probe = target if mode == "create" else os.path.join(target, "metadata")
if os.access(probe, os.W_OK):
    print(json.dumps({"skip": f"{probe} is still writable for uid {os.geteuid()}"}))
    sys.exit(0)
fields = [{"id": 1, "name": "id", "type": "long", "required": True},
          {"id": 4, "name": "group", "type": "int", "required": True}]
try:
    if mode == "create":
        create_table(os.path.join(target, "t"), Schema(schema_id=1, fields=fields))
    else:
        load_table(target).append_records([{"id": 99, "group": 0}])
except BaseException as e:
    print(json.dumps({"error": type(e).__name__, "typed": isinstance(e, datashard.DatashardError),
                      "io": isinstance(e, datashard.DatashardIOError), "msg": str(e)}))
else:
    print(json.dumps({"error": None}))
"""


@pytest.fixture
def shared_dir():
    """A temporary directory that uid 65534 can traverse (pytest's tmp_path is 0700 under root)."""
    d = tempfile.mkdtemp(prefix="datashard-bad-inputs-")
    os.chmod(d, 0o755)
    try:
        yield Path(d)
    finally:
        for root, dirs, _ in os.walk(d):
            for n in dirs:
                os.chmod(os.path.join(root, n), 0o755)
        shutil.rmtree(d, ignore_errors=True)


def _run_unwritable(mode: str, target: Path) -> dict[str, Any]:
    result = run_python(_UNWRITABLE_CHILD, mode, str(target), timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if "skip" in out:
        pytest.skip(out["skip"])
    return out


def test_create_in_unwritable_directory(shared_dir: Path) -> None:
    parent = shared_dir / "ro"
    parent.mkdir()
    os.chmod(parent, 0o500 if os.geteuid() != 0 else 0o555)  # nobody needs x to reach it
    out = _run_unwritable("create", parent)
    os.chmod(parent, 0o755)
    assert out["error"] is not None and out["typed"] and out["io"], out
    assert "Permission denied" in out["msg"] and str(parent) in out["msg"], out
    assert os.listdir(parent) == []


def test_append_to_unwritable_table(shared_dir: Path) -> None:
    t = create_table(str(shared_dir / "t"), events_schema())
    t.append_records(make_rows(0, 10))
    for sub in ("", "metadata", "data"):
        os.chmod(os.path.join(t.location, sub), 0o555)
    before = state(t)
    out = _run_unwritable("append", Path(t.location))
    assert out["error"] is not None and out["typed"] and out["io"], out
    assert "Permission denied" in out["msg"], out
    assert_unchanged(t, before)


# -- 7. corrupt metadata -----------------------------------------------------------------------


def _forge_next_version(t: Table, edit: Callable[[dict[str, Any]], None]) -> str:
    """Write v<N+1>.metadata.json: a copy of the latest with ``edit`` applied."""
    t.refresh()
    with open(t.metadata_location) as f:
        md = json.load(f)
    edit(md)
    path = os.path.join(t.location, "metadata", f"v{t.version + 1}.metadata.json")
    with open(path, "w") as f:
        json.dump(md, f)
    return path


def _current_snapshot(md: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"])


def _set_manifest_list(t: Table, target: str) -> None:
    _forge_next_version(t, lambda md: _current_snapshot(md).__setitem__("manifest-list", target))


def _latest_manifest_list(t: Table) -> str:
    with open(t.metadata_location) as f:
        return _current_snapshot(json.load(f))["manifest-list"]


def _rewrite_avro(src: str, dst: str, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    fastavro = pytest.importorskip("fastavro")
    with open(src, "rb") as f:
        reader = fastavro.reader(f)
        schema = reader.writer_schema
        meta = {k: v.decode() if isinstance(v, bytes) else v for k, v in reader.metadata.items()
                if not k.startswith("avro.")}
        records = [fn(r) for r in reader]
    with open(dst, "wb") as f:
        fastavro.writer(f, schema, records, metadata=meta)


def _outside_etc_passwd(t: Table, tmp: Path) -> str | None:
    _set_manifest_list(t, "/etc/passwd")
    return "/etc/passwd"


def _outside_relative_dotdot(t: Table, tmp: Path) -> str | None:
    _set_manifest_list(t, "../../x")
    return None


def _outside_dotdot_inside_prefix(t: Table, tmp: Path) -> str | None:
    copy = tmp / "outside-list.avro"
    shutil.copy(_latest_manifest_list(t), copy)
    _set_manifest_list(t, t.location + "/metadata/../../outside-list.avro")
    return str(copy)


def _outside_valid_list_copy(t: Table, tmp: Path) -> str | None:
    # A valid manifest list: reading it would give rows, so an error proves it was not read.
    copy = tmp / "outside-list.avro"
    shutil.copy(_latest_manifest_list(t), copy)
    _set_manifest_list(t, str(copy))
    return str(copy)


def _outside_sibling_prefix(t: Table, tmp: Path) -> str | None:
    # "<location>-evil/..." starts with the location's characters but is not inside it.
    evil = Path(t.location + "-evil")
    evil.mkdir()
    copy = evil / "list.avro"
    shutil.copy(_latest_manifest_list(t), copy)
    _set_manifest_list(t, str(copy))
    return str(copy)


def _outside_manifest_copy(t: Table, tmp: Path) -> str | None:
    fastavro = pytest.importorskip("fastavro")
    ml = _latest_manifest_list(t)
    with open(ml, "rb") as f:
        first = next(iter(fastavro.reader(f)))["manifest_path"]
    copy = tmp / "outside-m0.avro"
    shutil.copy(first, copy)
    new_ml = os.path.join(t.location, "metadata", "snap-forged.avro")
    _rewrite_avro(ml, new_ml, lambda r: dict(r, manifest_path=str(copy)) if r["manifest_path"] == first else r)
    _set_manifest_list(t, new_ml)
    return str(copy)


def _outside_data_file_copy(t: Table, tmp: Path) -> str | None:
    fastavro = pytest.importorskip("fastavro")
    ml = _latest_manifest_list(t)
    with open(ml, "rb") as f:
        first = next(iter(fastavro.reader(f)))["manifest_path"]
    with open(first, "rb") as f:
        data_path = next(iter(fastavro.reader(f)))["data_file"]["file_path"]
    copy = tmp / "outside.parquet"
    shutil.copy(data_path, copy)
    new_m = os.path.join(t.location, "metadata", "forged-m0.avro")
    _rewrite_avro(first, new_m, lambda r: dict(r, data_file=dict(r["data_file"], file_path=str(copy))))
    new_ml = os.path.join(t.location, "metadata", "snap-forged.avro")
    _rewrite_avro(ml, new_ml, lambda r: dict(r, manifest_path=new_m) if r["manifest_path"] == first else r)
    _set_manifest_list(t, new_ml)
    return str(copy)


# (id, forge, message fragment, whether only manifest entries (data-file paths) are forged)
OUTSIDE_CASES = [
    ("manifest-list=/etc/passwd", _outside_etc_passwd, "outside the table location", False),
    ("manifest-list=../../x", _outside_relative_dotdot, "outside the table location", False),
    ("manifest-list=<loc>/metadata/../../copy", _outside_dotdot_inside_prefix, "'..' segments", False),
    ("manifest-list=valid-copy-outside", _outside_valid_list_copy, "outside the table location", False),
    ("manifest-list=<loc>-evil/copy", _outside_sibling_prefix, "outside the table location", False),
    ("manifest=valid-copy-outside", _outside_manifest_copy, "outside the table location", False),
    ("data-file=valid-copy-outside", _outside_data_file_copy, "outside the table location", True),
]


@pytest.mark.parametrize("forge,fragment,entries_unread", [pytest.param(*c[1:], id=c[0]) for c in OUTSIDE_CASES])
def test_metadata_pointing_outside_the_table(filled: Table, tmp_path: Path, forge, fragment, entries_unread) -> None:
    outside = forge(filled, tmp_path)
    outside_before = Path(outside).read_bytes() if outside and outside != "/etc/passwd" else None
    forged_version = filled.version + 1
    t = load_table(filled.location)  # loading reads only the metadata JSON, which is well-formed
    assert t.version == forged_version
    before = fingerprint(t.location)
    for call in (lambda: t.scan(), lambda: t.to_arrow(), lambda: t.data_files(), lambda: t.delete({"id": 1}),
                 lambda: t.new_scan(filter={"id": 25}).count()):
        refused(call, CorruptDataError, fragment)
    if not entries_unread:
        refused(t.row_count, CorruptDataError, fragment)
        refused(lambda: t.append_records(make_rows(100, 2)), CorruptDataError, fragment)
        assert fingerprint(t.location) == before
    else:
        # Only a data file's path is forged: row counts come from the manifests, and a fast
        # append carries the existing manifests forward without opening their entries, so it
        # commits. The forged entry is carried, not laundered: reads of the new version still
        # refuse it.
        assert t.row_count() == 30
        assert fingerprint(t.location) == before
        t.append_records(make_rows(100, 2))
        assert load_table(t.location).version == forged_version + 1
        refused(lambda: load_table(t.location).scan(), CorruptDataError, fragment)
        refused(lambda: load_table(t.location).data_files(), CorruptDataError, fragment)
    if outside_before is not None:
        assert Path(outside).read_bytes() == outside_before


def test_metadata_with_forged_location(filled: Table) -> None:
    _forge_next_version(filled, lambda md: md.__setitem__("location", "/etc"))
    before = fingerprint(filled.location)
    refused(lambda: load_table(filled.location), CorruptDataError, 'says its location is "/etc"')
    refused(lambda: create_table(filled.location, events_schema()), CorruptDataError, "/etc")
    assert fingerprint(filled.location) == before


HINTS = [
    ("banana", b"banana"),
    ("minus-one", b"-1"),
    ("zero", b"0"),
    ("overflows-int64", b"99999999999999999999"),
    ("int64-max", b"9223372036854775807"),
    ("far-future", b"9223372036854775806"),
    ("empty", b""),
    ("binary-junk", b"\x00\xff\xfe\x80junk"),
    ("older-version", b"1"),
    ("previous-version", b"3"),
    ("leading-space", b" 4"),
    ("plus-sign", b"+4"),
    ("fraction", b"2.5"),
    ("newline-only", b"\n"),
    ("huge-file", b"7" * 1_000_000),
]


@pytest.mark.parametrize("hint", [pytest.param(h, id=i) for i, h in HINTS])
def test_garbage_version_hint_is_only_a_hint(filled: Table, hint: bytes) -> None:
    hint_path = os.path.join(filled.location, "metadata", "version-hint.text")
    with open(hint_path, "wb") as f:
        f.write(hint)
    before = fingerprint(filled.location)
    t = load_table(filled.location)
    assert t.version == 4
    assert t.row_count() == 30 and sorted(r["id"] for r in t.scan()) == list(range(30))
    assert fingerprint(filled.location) == before  # reading does not "repair" anything
    t.append_records(make_rows(30, 5))
    again = load_table(filled.location)
    assert again.version == 5 and again.row_count() == 35


def test_version_hint_is_a_directory(filled: Table) -> None:
    hint_path = os.path.join(filled.location, "metadata", "version-hint.text")
    os.remove(hint_path)
    os.mkdir(hint_path)
    t = load_table(filled.location)
    assert t.version == 4 and t.row_count() == 30


def _truncate(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def _wrong_type(raw: bytes) -> bytes:
    md = json.loads(raw)
    md["snapshots"] = "nope"
    return json.dumps(md).encode()


def _bad_snapshot_id(raw: bytes) -> bytes:
    md = json.loads(raw)
    md["current-snapshot-id"] = "x"
    return json.dumps(md).encode()


def _no_schema(raw: bytes) -> bytes:
    md = json.loads(raw)
    md["schemas"] = []
    return json.dumps(md).encode()


BAD_METADATA = [
    ("truncated", _truncate, "not valid JSON"),
    ("garbage-bytes", lambda raw: b"\x00\x01\xffgarbage", "not valid JSON"),
    ("empty-file", lambda raw: b"", "not valid JSON"),
    ("json-array", lambda raw: b"[]", "not a JSON object"),
    ("json-empty-object", lambda raw: b"{}", "format-version"),
    ("snapshots-not-array", _wrong_type, "snapshots"),
    ("snapshot-id-a-string", _bad_snapshot_id, "current-snapshot-id"),
    ("no-schemas", _no_schema, "schema"),
]


@pytest.mark.parametrize("mangle,fragment", [pytest.param(*c[1:], id=c[0]) for c in BAD_METADATA])
def test_corrupt_latest_metadata(filled: Table, mangle, fragment) -> None:
    stale = load_table(filled.location)  # holds v4
    filled.append_records(make_rows(30, 5))  # v5, which gets corrupted
    path = filled.metadata_location
    assert path.endswith("v5.metadata.json")
    with open(path, "rb") as f:
        raw = f.read()
    with open(path, "wb") as f:
        f.write(mangle(raw))
    before = fingerprint(filled.location)
    loc = filled.location
    for call in (lambda: load_table(loc), lambda: create_table(loc, events_schema()), lambda: create_table(loc),
                 stale.refresh, stale.scan, stale.row_count,
                 lambda: stale.append_records(make_rows(100, 1))):
        refused(call, CorruptDataError, "v5.metadata.json", fragment)
    assert fingerprint(filled.location) == before


DATA_FILE_DAMAGE = [
    ("data-file-deleted", lambda p: os.remove(p)),
    ("data-file-garbage", lambda p: Path(p).write_bytes(b"garbage" * 10)),
    ("data-file-truncated", lambda p: Path(p).write_bytes(Path(p).read_bytes()[:20])),
]


@pytest.mark.parametrize("damage", [pytest.param(d, id=i) for i, d in DATA_FILE_DAMAGE])
def test_damaged_data_file_gives_typed_error(filled: Table, damage) -> None:
    damage(filled.parquet_paths()[0])
    with pytest.raises(DatashardError):
        filled.scan()


@pytest.mark.parametrize("codec", ["uncompressed", "zstd"])
def test_a_flipped_byte_in_a_data_page_is_caught_by_its_checksum(tmp_path: Path, codec: str) -> None:
    """A bit flipped on disk inside a page's values must not come back as quietly wrong rows:
    the writer stores a CRC per page and every scan checks it."""
    import pyarrow.parquet as pq

    table = create_table(str(tmp_path / "t"), pa.schema([("id", pa.int64())]),
                         properties={"write.parquet.compression-codec": codec})
    table.append(pa.table({"id": pa.array(range(2000), pa.int64())}))
    path = table.parquet_paths()[0]
    chunk = pq.ParquetFile(path).metadata.row_group(0).column(0)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(Path(path).read_bytes())
    data[start + chunk.total_compressed_size - 8] ^= 0x5A  # inside the last page's values
    Path(path).write_bytes(bytes(data))
    with pytest.raises(CorruptDataError, match="could not be read"):
        table.scan()
    with pytest.raises(CorruptDataError):
        table.to_arrow()


# -- 8. symlinks ---------------------------------------------------------------------------------


def _link_data_dir(t: Table, tmp_path: Path) -> Path:
    elsewhere = tmp_path / "elsewhere"
    shutil.move(os.path.join(t.location, "data"), elsewhere)
    os.symlink(elsewhere, os.path.join(t.location, "data"))
    return elsewhere


def test_symlinked_data_dir_reads_but_refuses_appends(filled: Table, tmp_path: Path) -> None:
    elsewhere = _link_data_dir(filled, tmp_path)
    outside_before = fingerprint(elsewhere)
    before = state(filled)
    # Reading through the link works (the paths in the metadata are unchanged) ...
    assert sorted(r["id"] for r in filled.scan()) == list(range(30))
    pyiceberg_table = pytest.importorskip("pyiceberg.table")
    assert pyiceberg_table.StaticTable.from_metadata(filled.metadata_location).scan().to_arrow().num_rows == 30
    # ... but a write is refused (the engine will not fsync a directory through a symlink),
    # and the data file it had written is removed again: nothing stays outside the table.
    with pytest.raises(DatashardIOError, match="data") as info:
        filled.append_records(make_rows(30, 5))
    assert fingerprint(elsewhere) == outside_before  # checked while the error is still referenced
    del info
    assert_unchanged(filled, before)


@pytest.mark.parametrize("op", ["delete", "overwrite"])
def test_symlinked_data_dir_failed_rewrite_leaves_nothing(filled: Table, tmp_path: Path, op: str) -> None:
    elsewhere = _link_data_dir(filled, tmp_path)
    outside_before = fingerprint(elsewhere)
    before = state(filled)
    with pytest.raises(DatashardIOError, match="data") as info:
        if op == "delete":
            filled.delete({"id": 3})
        else:
            filled.overwrite([{"id": 3, "group": 0}], where={"id": 3})
    leftover = sorted(set(fingerprint(elsewhere)) - set(outside_before))  # while the error is referenced
    del info
    assert leftover == [], f"left outside the table after a failed {op}: {leftover}"
    assert_unchanged(filled, before)


def test_symlinked_metadata_dir_reads_but_refuses_appends(filled: Table, tmp_path: Path) -> None:
    elsewhere = tmp_path / "md-elsewhere"
    shutil.move(os.path.join(filled.location, "metadata"), elsewhere)
    os.symlink(elsewhere, os.path.join(filled.location, "metadata"))
    outside_before = fingerprint(elsewhere)
    data_before = fingerprint(os.path.join(filled.location, "data"))
    assert load_table(filled.location).row_count() == 30
    refused(lambda: load_table(filled.location).append_records(make_rows(30, 5)), DatashardIOError, "metadata")
    assert fingerprint(elsewhere) == outside_before
    assert fingerprint(os.path.join(filled.location, "data")) == data_before


def test_dangling_data_symlink_refuses_appends(filled: Table, tmp_path: Path) -> None:
    shutil.rmtree(os.path.join(filled.location, "data"))
    target = tmp_path / "nowhere"
    os.symlink(target, os.path.join(filled.location, "data"))
    before = fingerprint(filled.location)
    refused(lambda: filled.append_records(make_rows(30, 5)), DatashardIOError, "data")
    assert not os.path.lexists(target)
    assert fingerprint(filled.location) == before


def test_dangling_data_symlink_scan_gives_typed_error(filled: Table, tmp_path: Path) -> None:
    shutil.rmtree(os.path.join(filled.location, "data"))
    os.symlink(tmp_path / "nowhere", os.path.join(filled.location, "data"))
    with pytest.raises(DatashardError):
        filled.scan()


def test_table_opened_through_a_symlinked_path(filled: Table, tmp_path: Path) -> None:
    link = tmp_path / "link-to-table"
    os.symlink(filled.location, link)
    before = fingerprint(filled.location)
    refused(lambda: load_table(str(link)), CorruptDataError, "says its location is")
    refused(lambda: create_table(str(link), events_schema()), CorruptDataError, "says its location is")
    assert fingerprint(filled.location) == before


# -- 9. filters ----------------------------------------------------------------------------------

# (id, filter, error, message fragment)
FILTER_CASES = [
    ("unknown-column-dict", lambda: {"nope": 1}, SchemaError, '"nope"'),
    ("unknown-column-tuple", lambda: ("nope", "==", 1), SchemaError, '"nope"'),
    ("unknown-column-in-list", lambda: [("id", ">", 1), ("nope", "<", 2)], SchemaError, '"nope"'),
    ("unknown-column-expression", lambda: col("nope") > 1, SchemaError, '"nope"'),
    ("unknown-unicode-column", lambda: {"名前": "x"}, SchemaError, '"名前"'),
    ("column-case-differs", lambda: {"ID": 1}, SchemaError, '"ID"'),
    ("empty-column-name", lambda: {"": 1}, InvalidArgumentError, "non-empty"),
    ("string-literal-for-long", lambda: {"id": "5"}, FilterTypeError, '"id"'),
    ("string-literal-for-long-lt", lambda: {"id": ("<", "5")}, FilterTypeError, '"id"'),
    ("string-literal-for-long-expression", lambda: col("id") > "x", FilterTypeError, '"id"'),
    ("string-literals-in-list", lambda: {"id": ("in", [1, "a"])}, FilterTypeError, '"id"'),
    ("string-bounds-between", lambda: {"id": ("between", ("a", "b"))}, FilterTypeError, '"id"'),
    ("int-literal-for-string", lambda: {"name": ("==", 5)}, FilterTypeError, '"name"'),
    ("string-literal-for-double", lambda: {"score": ("<", "x")}, FilterTypeError, '"score"'),
    ("bool-literal-for-long", lambda: {"id": ("==", True)}, FilterTypeError, '"id"'),
    ("unknown-operator-like", lambda: {"id": ("like", 5)}, InvalidArgumentError, "unknown operator"),
    ("unknown-operator-tilde", lambda: {"id": ("~", 5)}, InvalidArgumentError, "unknown operator"),
    ("unknown-operator-tuple", lambda: ("id", "===", 5), InvalidArgumentError, "unknown operator"),
    ("operator-not-a-string", lambda: ("id", 5, 5), InvalidArgumentError, "unknown operator"),
    ("filter-not-a-filter", lambda: 42, InvalidArgumentError, "filter must be"),
]


@pytest.mark.parametrize("make,exc,fragment", [pytest.param(*c[1:], id=c[0]) for c in FILTER_CASES])
def test_bad_filter_is_an_error_not_an_empty_result(filled: Table, make, exc, fragment) -> None:
    flt = make()
    before = state(filled)
    refused(lambda: filled.scan(filter=flt), exc, fragment)
    refused(lambda: filled.to_arrow(filter=flt), exc, fragment)
    refused(lambda: filled.delete(flt), exc, fragment)
    assert_unchanged(filled, before)


# Literals outside a column's range are not errors: the comparison is exact.
FILTER_RANGE_CASES = [
    ("int-column-lt-2**40", {"group": ("<", 2**40)}, 30),
    ("int-column-eq-2**40", {"group": ("==", 2**40)}, 0),
    ("int-column-gt-minus-2**40", {"group": (">", -(2**40))}, 30),
    ("long-column-le-2**64", {"id": ("<=", 2**64)}, 30),
    ("long-column-lt-1.5", {"id": ("<", 1.5)}, 2),
    ("long-column-eq-1.5", {"id": ("==", 1.5)}, 0),
    ("long-column-ne-1.5", {"id": ("!=", 1.5)}, 30),
    ("long-column-in-with-huge", {"id": ("in", [1, 1.5, 2**70])}, 1),
    ("double-column-lt-inf", {"score": ("<", float("inf"))}, 26),
]


@pytest.mark.parametrize("flt,expected", [pytest.param(*c[1:], id=c[0]) for c in FILTER_RANGE_CASES])
def test_out_of_range_filter_literals_compare_exactly(filled: Table, flt, expected) -> None:
    assert len(filled.scan(filter=flt)) == expected


# -- the matrix ----------------------------------------------------------------------------------


def _ids(cases: list[Any], *variants: str) -> list[str]:
    ids = [c[0] if isinstance(c, tuple) else c for c in cases]
    return [f"{i}/{v}" for i in ids for v in variants] if variants else ids


# Every input tried, by section (one test id each, plus test_matrix_is_counted).
MATRIX: dict[str, list[str]] = {
    "row dicts (append_records, append(list))": _ids(RECORD_CASES, "append_records", "append_list"),
    "arrow / dict / pandas input": _ids(ARROW_CASES) + ["duplicate-column-via-overwrite"],
    "timestamps out of range (refused)": _ids(TIMESTAMP_BAD_CASES),
    "timestamps far out (round trip, scan as dicts)": _ids(TIMESTAMP_FAR_CASES, "to_arrow", "scan"),
    "empty batches": _ids(EMPTY_CASES) + ["empty-batch-on-empty-table"],
    "huge / unicode / NaN values": ["huge-string", "huge-binary", "unicode/plain-path", "unicode/unicode-path",
                                    "nan-inf/records", "nan-inf/arrow"],
    "table paths": _ids(PATH_CASES) + ["unwritable-parent/create", "unwritable-table/append"],
    "metadata pointing outside": _ids(OUTSIDE_CASES) + ["forged-location"],
    "version hints": _ids(HINTS) + ["hint-is-a-directory"],
    "corrupt latest metadata": _ids(BAD_METADATA),
    "damaged data files": _ids(DATA_FILE_DAMAGE),
    "symlinks": ["data-dir/read+append", "data-dir/delete", "data-dir/overwrite", "metadata-dir",
                 "dangling-data/append", "dangling-data/scan", "table-path-via-link"],
    "filters (refused)": _ids(FILTER_CASES),
    "filters (out-of-range literals)": _ids(FILTER_RANGE_CASES),
}
N_CASES = sum(len(v) for v in MATRIX.values())


def test_matrix_is_counted() -> None:
    all_ids = [f"{section}:{i}" for section, ids in MATRIX.items() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == N_CASES
    assert N_CASES >= 190, N_CASES
