"""Schema on write: a table created without a schema takes it from its first append.

The original README's Quick Start runs verbatim; the inference rules are those documented in
docs/python-api.md ("Schema on write"); writers racing to create and first-append end with one
schema, every compatible row stored once, and a SchemaError for the incompatible ones.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import multiprocessing as mp
import os
import uuid
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashard import (
    PartitionField,
    PartitionSpec,
    Schema,
    SchemaError,
    TableExistsError,
    create_table,
    load_table,
)


def test_the_original_quick_start_runs_verbatim(tmp_path: Path) -> None:
    """The Quick Start of the original README, line for line; the path and the snapshot id are
    the only things a reader has to fill in."""
    path = str(tmp_path / "your-data")

    from datashard import create_table

    # Create a table to store your data safely
    table = create_table(path)

    # Multiple processes can safely add data
    table.append_records([
        {"id": 1, "name": "data_point", "value": 42}
    ])

    # Access data from any point in time
    historical_snapshot = table.time_travel(snapshot_id=table.current_snapshot().snapshot_id)

    assert historical_snapshot.snapshot_id == table.snapshots()[0]["snapshot_id"]  # a Snapshot, as the original's
    assert table.scan(snapshot_id=historical_snapshot.snapshot_id) == [{"id": 1, "name": "data_point", "value": 42}]
    assert load_table(path).schema().signature() == {
        "id": ("long", False), "name": ("string", False), "value": ("long", False)}


def test_every_python_kind_infers_its_documented_type_and_round_trips(tmp_path: Path) -> None:
    tz = dt.timezone(dt.timedelta(hours=2))
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    rows = [
        {"i": 1, "f": 1.5, "mixed": 1, "s": "a", "b": True, "ts": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
         "tstz": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz), "d": dt.date(2024, 1, 2), "t": dt.time(1, 2, 3),
         "dec": decimal.Decimal("12.5"), "bin": b"\x00\x01", "u": u},
        {"i": None, "f": -2.0, "mixed": 2.25, "s": None, "b": False, "ts": None, "tstz": None, "d": None,
         "t": None, "dec": decimal.Decimal("-1234.125"), "bin": None, "u": None, "late": "x"},
    ]
    table = create_table(str(tmp_path / "t"))
    table.append_records(rows)
    fields = table.schema().fields
    assert [(f["id"], f["name"], f["type"], f["required"]) for f in fields] == [
        (1, "i", "long", False), (2, "f", "double", False), (3, "mixed", "double", False),
        (4, "s", "string", False), (5, "b", "boolean", False), (6, "ts", "timestamp", False),
        (7, "tstz", "timestamptz", False), (8, "d", "date", False), (9, "t", "time", False),
        (10, "dec", "decimal(7, 3)", False), (11, "bin", "binary", False), (12, "u", "uuid", False),
        (13, "late", "string", False),
    ]
    got = table.scan()
    assert got[0]["tstz"] == rows[0]["tstz"] and got[0]["u"] == str(u)
    assert got[1]["dec"] == decimal.Decimal("-1234.125") and got[1]["mixed"] == 2.25
    assert got[0]["late"] is None and got[1]["late"] == "x"
    # Later appends are checked against the schema exactly as for any table.
    with pytest.raises(SchemaError, match='field "i"'):
        table.append_records([{"i": "not a number"}])
    with pytest.raises(SchemaError, match="not a column"):
        table.append_records([{"new_column": 1}])


@pytest.mark.parametrize(
    "rows,fragments",
    [
        ([{"a": 1, "b": None}, {"a": 2}], ['"b"', "None in every row"]),
        ([{"a": 1}, {"a": "x"}], ['"a"', "row 1", "string", "long"]),
        ([{"a": dt.datetime(2024, 1, 1)}, {"a": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}],
         ['"a"', "timestamptz", "timestamp"]),
        ([{"a": [1, 2]}], ['"a"', "list", "nested"]),
        ([{"a": 2**64}], ['"a"', "out of range"]),
        ([{"a": decimal.Decimal("1e40")}], ['"a"', "38"]),
        ([{"a": decimal.Decimal("NaN")}], ['"a"', "finite"]),
        ([{}], ["no columns"]),
        ([], ["no columns"]),
    ],
    ids=["all-none", "two-kinds", "naive-and-aware", "nested", "int-beyond-64-bits", "decimal-too-wide",
         "decimal-nan", "no-keys", "no-rows"],
)
def test_a_first_append_that_cannot_be_inferred_is_refused_and_writes_nothing(
    tmp_path: Path, rows: list, fragments: list[str]
) -> None:
    table = create_table(str(tmp_path / "t"))
    with pytest.raises(SchemaError) as raised:
        table.append_records(rows)
    for fragment in fragments:
        assert fragment in str(raised.value), (fragment, str(raised.value))
    fresh = load_table(str(tmp_path / "t"))
    assert fresh.schema().fields == [] and fresh.snapshots() == []
    table.append_records([{"a": 1}])  # the table still takes a good first append
    assert fresh.scan() == [{"a": 1}]


def test_a_schema_given_with_the_first_append_is_the_one_kept(tmp_path: Path) -> None:
    schema = Schema(schema_id=1, fields=[
        {"id": 7, "name": "k", "type": "int", "required": True},
        {"id": 9, "name": "v", "type": "float", "required": False},
    ])
    table = create_table(str(tmp_path / "t"))
    table.append_records([{"k": 1, "v": 0.5}], schema)
    kept = load_table(str(tmp_path / "t")).schema()
    assert [(f["id"], f["name"], f["type"], f["required"]) for f in kept.fields] == [
        (7, "k", "int", True), (9, "v", "float", False)]
    with pytest.raises(SchemaError, match="does not match"):
        table.append_records([{"k": 2}], Schema(schema_id=1, fields=[{"id": 1, "name": "k", "type": "long"}]))


def test_create_table_with_a_schema_on_a_schemaless_table_sets_it(tmp_path: Path) -> None:
    path = str(tmp_path / "t")
    create_table(path)
    schema = Schema(schema_id=1, fields=[{"id": 1, "name": "x", "type": "long", "required": True}])
    assert create_table(path, schema).schema().signature() == {"x": ("long", True)}
    with pytest.raises(TableExistsError, match="different schema"):
        create_table(path, Schema(schema_id=1, fields=[{"id": 1, "name": "y", "type": "long"}]))


@pytest.mark.parametrize("kind", ["arrow", "pandas", "dict-of-columns", "polars", "transaction", "tx-pandas"])
def test_every_write_path_sets_the_schema(tmp_path: Path, kind: str) -> None:
    table = create_table(str(tmp_path / "t"))
    data = pa.table({"n": pa.array([1, 2], pa.int32()), "s": ["a", "b"]})
    if kind == "arrow":
        table.append(data)
    elif kind == "pandas":
        table.append_pandas(data.to_pandas())
    elif kind == "dict-of-columns":
        table.append({"n": [1, 2], "s": ["a", "b"]})
    elif kind == "polars":
        polars = pytest.importorskip("polars")
        table.append(polars.from_arrow(data))
    elif kind == "transaction":
        with table.new_transaction() as tx:
            tx.append(data)
            tx.append_data([{"n": 3, "s": "c"}])
    else:
        with table.new_transaction() as tx:
            tx.append_pandas(data.to_pandas())
    names = [f["name"] for f in load_table(str(tmp_path / "t")).schema().fields]
    assert names == ["n", "s"]
    assert sorted(r["n"] for r in table.scan()) == ([1, 2, 3] if kind == "transaction" else [1, 2])


def test_a_partition_spec_without_a_schema_waits_for_the_first_append(tmp_path: Path) -> None:
    schema = Schema(schema_id=1, fields=[
        {"id": 1, "name": "hour", "type": "int", "required": True},
        {"id": 2, "name": "sym", "type": "string"},
    ])
    spec = PartitionSpec(spec_id=0, fields=[PartitionField(source_id=1, field_id=1000, name="hour",
                                                           transform="identity")])
    table = create_table(str(tmp_path / "t"), partition_spec=spec)
    table.append_records([{"hour": 9, "sym": "a"}, {"hour": 10, "sym": "b"}], schema)
    fresh = load_table(str(tmp_path / "t"))
    assert [f.source_id for f in fresh.spec().fields] == [1]
    assert len(fresh.data_files()) == 2  # one file per partition
    assert "datashard.schema-on-write.partition-spec" not in fresh.properties

    bad = PartitionSpec(spec_id=0, fields=[PartitionField(source_id=99, field_id=1000, name="nope",
                                                          transform="identity")])
    late = create_table(str(tmp_path / "late"), partition_spec=bad)
    with pytest.raises(SchemaError, match="not a column"):
        late.append_records([{"hour": 9, "sym": "a"}], schema)
    assert load_table(str(tmp_path / "late")).schema().fields == []  # nothing committed


def test_other_readers_open_a_schema_on_write_table(tmp_path: Path) -> None:
    from pyiceberg.table import StaticTable

    table = create_table(str(tmp_path / "t"))
    empty = StaticTable.from_metadata(table.metadata_location).scan().to_arrow()
    assert empty.num_rows == 0
    table.append_records([{"id": i, "name": f"n{i}", "score": i / 2} for i in range(5)])
    table.refresh()
    got = StaticTable.from_metadata(table.metadata_location).scan().to_arrow()
    assert sorted(got.to_pylist(), key=lambda r: r["id"]) == table.scan()


# -- racing creators ----------------------------------------------------------------------------

_WRITERS = 12
_ROWS_PER_WRITER = 20


def _race_worker(path: str, writer: int, barrier: "mp.synchronize.Barrier", out: "mp.Queue") -> None:
    barrier.wait()
    table = create_table(path)
    # Writers 0-7 write the "main" layout; 8-9 a compatible subset (ints for the double
    # column, no name); 10-11 an incompatible one (the id column as text).
    if writer < 8:
        rows = [{"writer": writer, "seq": i, "name": f"w{writer}-{i}", "score": i * 0.5}
                for i in range(_ROWS_PER_WRITER)]
    elif writer < 10:
        rows = [{"writer": writer, "seq": i, "score": i} for i in range(_ROWS_PER_WRITER)]
    else:
        rows = [{"writer": f"w{writer}", "seq": i} for i in range(_ROWS_PER_WRITER)]
    try:
        table.append_records(rows)
        out.put((writer, "ok", ""))
    except SchemaError as e:
        out.put((writer, "schema-error", str(e)))
    except Exception as e:  # noqa: BLE001 - reported to the parent, which fails the test
        out.put((writer, "other", f"{type(e).__name__}: {e}"))


def test_twelve_processes_racing_to_create_and_first_append(tmp_path: Path) -> None:
    path = str(tmp_path / "race")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(_WRITERS)
    out = ctx.Queue()
    procs = [ctx.Process(target=_race_worker, args=(path, w, barrier, out)) for w in range(_WRITERS)]
    for p in procs:
        p.start()
    results = {}
    for _ in procs:
        writer, outcome, message = out.get(timeout=120)
        results[writer] = (outcome, message)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(outcome != "other" for outcome, _ in results.values()), results

    table = load_table(path)
    schema = table.schema()
    layout = {f["name"]: f["type"] for f in schema.fields}
    # One first append won, and the schema is that writer's inferred schema, whole.
    winners = {
        "main": {"writer": "long", "seq": "long", "name": "string", "score": "double"},
        "subset": {"writer": "long", "seq": "long", "score": "long"},
        "text": {"writer": "string", "seq": "long"},
    }
    won = next(k for k, v in winners.items() if v == layout)
    # Who fits the winner's schema: the subset writers fit the main one (ints go into the
    # double column, the missing name is null); nobody else fits anybody else's.
    expected_ok = {"main": set(range(10)), "subset": {8, 9}, "text": {10, 11}}[won]
    assert {w for w, (outcome, _) in results.items() if outcome == "ok"} == expected_ok, results
    print(f"race: {_WRITERS} creators, {won!r} schema won, {len(expected_ok)} appends in, "
          f"{_WRITERS - len(expected_ok)} refused with SchemaError")
    rows = table.scan()
    stored = [(r["writer"], r["seq"]) for r in rows]
    assert len(stored) == len(set(stored)) == len(expected_ok) * _ROWS_PER_WRITER, "a row lost or stored twice"
    for w in expected_ok:
        key = f"w{w}" if w >= 10 else w
        assert {(key, i) for i in range(_ROWS_PER_WRITER)} <= set(stored), w
    for w, (outcome, message) in results.items():
        if outcome != "ok":
            # Names the row and field that did not fit (and, for a writer whose own first append
            # lost the race, the difference between its schema and the winner's).
            assert 'field "' in message, message
    assert table.verify()["ok"]
    metadata = json.load(open(table.metadata_location))
    assert len(metadata["schemas"]) == 1 and metadata["last-column-id"] == len(layout)


# -- property: infer and round-trip exactly, or refuse and write nothing --------------------------

_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=2**63, max_value=2**70),
    st.floats(allow_nan=False, width=64),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.timezone.utc)),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**6, max_value=10**6),
    st.uuids(),
    st.lists(st.integers(), max_size=2),
)
_records = st.lists(
    st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _values, max_size=4), min_size=0, max_size=6
)


def _expected(v: object) -> object:
    if isinstance(v, uuid.UUID):
        return str(v)
    return v


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=_records)
def test_random_first_appends_round_trip_exactly_or_write_nothing(tmp_path_factory, records: list) -> None:
    path = str(tmp_path_factory.mktemp("prop") / "t")
    table = create_table(path)
    try:
        table.append_records(records)
    except SchemaError:
        fresh = load_table(path)
        assert fresh.schema().fields == [] and fresh.snapshots() == []
        return
    got = load_table(path).scan()
    names = [f["name"] for f in load_table(path).schema().fields]
    assert len(got) == len(records)
    for row, back in zip(records, got):
        assert set(back) == set(names)
        for name in names:
            want = row.get(name)
            have = back[name]
            if isinstance(want, float) and isinstance(have, float):
                assert have == want or (have != have and want != want)
            elif isinstance(want, bool) or not isinstance(want, int) or isinstance(have, int):
                assert have == _expected(want), (name, want, have)
            else:  # an int in a column that also held floats
                assert have == float(want)


def test_table_constructor_creates_without_a_schema_as_the_original_did(tmp_path: Path) -> None:
    from datashard import Table

    table = Table(str(tmp_path / "t"))
    assert os.path.isdir(str(tmp_path / "t" / "metadata"))
    table.append_records([{"x": "y"}])
    assert Table(str(tmp_path / "t")).scan() == [{"x": "y"}]
