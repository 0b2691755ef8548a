"""Row dicts converted by the engine (``_core.rows_to_arrow``) are exactly what the Python
converter (``_records.records_to_arrow``) makes of them, dicts of columns
(``_core.columns_to_arrow``) append exactly as pyarrow's reading of them does, and
everything else is left to the Python side; a process that imports datashard, opens a table
and appends rows never imports pyarrow."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datashard as ds
from datashard import _core
from datashard._convert import SchemaView
from datashard._records import records_to_arrow

# Column types the engine converts, and the plain Python values each takes.
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
PLAIN_VALUES = {
    "boolean": st.booleans(),
    "int": st.integers(*INT32),
    "long": st.integers(*INT64),
    "float": st.one_of(
        st.floats(width=32, allow_nan=True), st.integers(-(2**24), 2**24), st.sampled_from([-0.0, math.inf])
    ),
    "double": st.one_of(st.floats(allow_nan=True), st.integers(-(2**53), 2**53), st.just(-0.0)),
    "string": st.text(),
    "binary": st.one_of(st.binary(), st.binary().map(bytearray)),
    "date": st.dates(),
    "timestamp": st.datetimes(),
    "timestamptz": st.datetimes(),
}


def view_of(types: list[tuple[str, bool]]) -> SchemaView:
    schema = ds.Schema(
        schema_id=0,
        fields=[{"id": i + 1, "name": f"c{i}", "type": t, "required": r} for i, (t, r) in enumerate(types)],
    )
    return SchemaView(schema.to_json())


@st.composite
def schema_and_rows(draw: st.DrawFn) -> tuple[SchemaView, list[dict]]:
    types = draw(st.lists(st.tuples(st.sampled_from(sorted(PLAIN_VALUES)), st.booleans()), min_size=1, max_size=6))
    rows = []
    for _ in range(draw(st.integers(0, 12))):
        row = {}
        for i, (t, required) in enumerate(types):
            if required or draw(st.booleans()):
                row[f"c{i}"] = draw(PLAIN_VALUES[t])
            elif draw(st.booleans()):
                row[f"c{i}"] = None
        rows.append(row)
    return view_of(types), rows


def same(a: pa.Table, b: pa.Table) -> bool:
    """Equal schemas (field ids included) and equal values, NaN equal to NaN and -0.0 told
    from 0.0 (compared as bytes)."""
    if a.schema != b.schema or not a.schema.equals(b.schema, check_metadata=True):
        return False
    for x, y in zip(a.columns, b.columns):
        x, y = x.combine_chunks(), y.combine_chunks()
        if pa.types.is_floating(x.type):
            width = "<f4" if x.type == pa.float32() else "<f8"
            if x.is_null().to_pylist() != y.is_null().to_pylist():
                return False
            bx = x.fill_null(0).to_numpy(zero_copy_only=False).astype(width).tobytes()
            by = y.fill_null(0).to_numpy(zero_copy_only=False).astype(width).tobytes()
            if bx != by:
                return False
        elif x != y:
            return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_and_rows())
def test_engine_conversion_is_the_python_conversion(case: tuple[SchemaView, list[dict]]) -> None:
    view, rows = case
    batch = _core.rows_to_arrow(rows, view.holder)
    assert batch is not None, "plain rows are converted by the engine"
    assert batch.num_rows == len(rows)
    assert same(pa.table(batch), records_to_arrow(rows, view.schema, view.arrow))


@st.composite
def schema_and_columns(draw: st.DrawFn) -> tuple[SchemaView, dict]:
    types = draw(st.lists(st.tuples(st.sampled_from(sorted(PLAIN_VALUES)), st.booleans()), min_size=1, max_size=5))
    n = draw(st.integers(0, 8))
    columns = {}
    for i, (t, required) in enumerate(types):
        if required or draw(st.booleans()):
            values = PLAIN_VALUES[t] if required else st.one_of(st.none(), PLAIN_VALUES[t])
            if t == "timestamptz":
                values = values.map(lambda v: v if v is None else v.replace(tzinfo=dt.timezone.utc))
            columns[f"c{i}"] = draw(st.lists(values, min_size=n, max_size=n))
    return view_of(types), columns


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_and_columns())
def test_columns_append_as_pyarrow_reads_them(case: tuple[SchemaView, dict]) -> None:
    view, columns = case
    if not columns:
        return
    batch = _core.columns_to_arrow(columns, view.holder)
    zoned = any(
        v is not None for f in view.schema.fields if f["type"] == "timestamptz" for v in columns.get(f["name"], [])
    )
    assert (batch is None) == zoned, "plain columns are converted by the engine, zoned datetimes are not"
    if batch is None:
        return
    base = tempfile.mkdtemp()
    try:
        engine = ds.create_table(f"{base}/engine", view.schema)
        engine.append(batch)
        general = ds.create_table(f"{base}/pyarrow", view.schema)
        general.append(pa.table(columns))  # pyarrow's reading of the dict, then the append's casts
        assert same(engine.new_scan().to_arrow(), general.new_scan().to_arrow())
    finally:
        shutil.rmtree(base)


def test_columns_the_append_decides() -> None:
    view = view_of([("long", True), ("double", False), ("timestamptz", False)])
    ok = _core.columns_to_arrow({"c0": [1, 2], "c1": (0.5, None)}, view.holder)
    assert ok is not None and ok.num_rows == 2
    for data in (
        {"c0": [1], "c1": [0.5, 1.5]},  # unequal lengths
        {"c0": [1], "other": [2]},  # a column the table lacks
        {"c1": [0.5]},  # a required column missing
        {"c0": [True]},  # a bool is not a number here
        {"c0": [1], "c2": [dt.datetime(2024, 1, 1)]},  # naive for zoned: the append refuses it
        {"c0": range(3)},  # not a list: pyarrow reads it
        {},
    ):
        assert _core.columns_to_arrow(data, view.holder) is None, data


@pytest.mark.parametrize(
    ("column_type", "value"),
    [
        ("int", True),  # a bool is not a number here
        ("long", 2**63),  # out of range: the Python converter words it
        ("int", 2**31),
        ("int", 3.0),  # an integral float: the Python converter takes it
        ("double", 2**53 + 1),  # not exactly a double
        ("float", 2**24 + 1),
        ("float", 1e39),  # beyond float32
        ("string", 5),
        ("string", "\ud800"),  # a lone surrogate is not UTF-8
        ("binary", memoryview(b"ab")),
        ("date", dt.datetime(2024, 1, 2)),  # a datetime for a date column
        ("timestamp", dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)),  # zoned
        ("timestamp", "2024-01-02"),
        ("uuid", "12345678-1234-5678-1234-567812345678"),  # types the engine leaves alone
        ("decimal(10, 2)", 1),
        ("time", dt.time(1, 2)),
    ],
)
def test_other_values_go_to_the_python_converter(column_type: str, value: object) -> None:
    view = view_of([(column_type, False)])
    assert _core.rows_to_arrow([{"c0": value}], view.holder) is None
    assert _core.rows_to_arrow([{"c0": None}], view.holder) is not None  # a null any column takes


@pytest.mark.parametrize(
    "rows",
    [
        [{"c0": 1, "extra": 2}],  # a key that is not a column
        [{}],  # a required field missing
        [{"c0": None}],  # a required field None
        [{1: 1, "c0": 1}],  # a key that is not a string
        [[("c0", 1)]],  # a row that is not a dict
        [{"c0": 1}, "row"],
    ],
)
def test_rows_the_python_converter_words(rows: list) -> None:
    view = view_of([("long", True)])
    assert _core.rows_to_arrow(rows, view.holder) is None


def test_appends_through_both_paths_read_back_alike(tmp_path) -> None:
    table = ds.create_table(
        str(tmp_path / "t"),
        ds.Schema(
            schema_id=0,
            fields=[
                {"id": 1, "name": "id", "type": "long", "required": True},
                {"id": 2, "name": "when", "type": "timestamp", "required": False},
                {"id": 3, "name": "tag", "type": "uuid", "required": False},
            ],
        ),
    )
    when = dt.datetime(2026, 12, 7, 15, 0, 0, 123456)
    table.append_records([{"id": 1, "when": when}])  # the engine's conversion
    table.append_records([{"id": 2, "tag": "12345678-1234-5678-1234-567812345678"}])  # Python's
    with pytest.raises(ds.SchemaError, match='row 0, field "id": required field is missing'):
        table.append_records([{"when": when}])
    rows = sorted(table.to_pandas().to_dict("records"), key=lambda r: r["id"])
    assert [r["id"] for r in rows] == [1, 2]
    assert rows[0]["when"].to_pydatetime() == when
    assert rows[1]["tag"] == "12345678-1234-5678-1234-567812345678"


def test_a_short_lived_writer_never_imports_pyarrow(tmp_path) -> None:
    location = str(tmp_path / "t")
    table = ds.create_table(
        location,
        ds.Schema(
            schema_id=0,
            fields=[
                {"id": 1, "name": "worker", "type": "int", "required": True},
                {"id": 2, "name": "loss", "type": "double", "required": False},
                {"id": 3, "name": "note", "type": "string", "required": False},
            ],
        ),
    )
    script = textwrap.dedent(
        f"""
        import sys
        import datashard
        table = datashard.load_table({location!r})
        table.append_records([{{"worker": 7, "loss": 0.25, "note": "done"}}])
        with table.new_transaction() as tx:
            tx.append_records([{{"worker": 8}}])
        table.append({{"worker": [9], "note": ["columns"]}})
        heavy = sorted(m for m in ("pyarrow", "numpy", "pandas") if m in sys.modules)
        print(",".join(heavy) or "none")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "none", out.stdout + out.stderr
    rows = sorted(table.to_arrow().to_pylist(), key=lambda r: r["worker"])
    assert rows == [
        {"worker": 7, "loss": 0.25, "note": "done"},
        {"worker": 8, "loss": None, "note": None},
        {"worker": 9, "loss": None, "note": "columns"},
    ]
