"""The scan object and the col() expression API, used as a pyarrow / polars / DuckDB user would."""

from __future__ import annotations

import sys

import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pytest

from datashard import (
    FilterTypeError,
    InvalidArgumentError,
    Scan,
    SchemaError,
    Table,
    col,
    create_table,
    parse_where,
)

from conftest import make_rows, python_env


def ids(data: pa.Table) -> list[int]:
    return sorted(data["id"].to_pylist())


def expected(pred) -> list[int]:
    return sorted(r["id"] for r in make_rows(0, 30) if pred(r))


# -- expressions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flt, pred",
    [
        (col("id") > 25, lambda r: r["id"] > 25),
        (col("id") >= 25, lambda r: r["id"] >= 25),
        (col("id") < 3, lambda r: r["id"] < 3),
        (col("id") <= 3, lambda r: r["id"] <= 3),
        (col("group") == 1, lambda r: r["group"] == 1),
        (col("group") != 1, lambda r: r["group"] != 1),
        (3 > col("id"), lambda r: r["id"] < 3),  # reflected
        (col("id").isin([1, 2, 99]), lambda r: r["id"] in (1, 2)),
        (col("group").not_in([0, 1]), lambda r: r["group"] == 2),
        (col("name").is_null(), lambda r: r["name"] is None),
        (col("name").not_null(), lambda r: r["name"] is not None),
        (~col("name").is_null(), lambda r: r["name"] is not None),
        (col("score").between(2, 5), lambda r: r["score"] is not None and 2 <= r["score"] <= 5),
        ((col("group") == 0) & (col("score") > 3) & col("name").not_null(),
         lambda r: r["group"] == 0 and r["score"] is not None and r["score"] > 3 and r["name"] is not None),
        (col("name") != "name-3", lambda r: r["name"] is not None and r["name"] != "name-3"),  # never a null
        ([col("id") > 10, ("group", "==", 2)], lambda r: r["id"] > 10 and r["group"] == 2),  # mixed list
        ({"group": 2, "id": (">", 10)}, lambda r: r["id"] > 10 and r["group"] == 2),  # the original dict
        (parse_where("id > 10 and group = 2"), lambda r: r["id"] > 10 and r["group"] == 2),
        (parse_where("name in ('name-1', 'name-2', null) AND score IS NOT NULL"),
         lambda r: r["name"] in ("name-1", "name-2") and r["score"] is not None),
        (parse_where(["id between 5 and 8", "group <> 0"]), lambda r: 5 <= r["id"] <= 8 and r["group"] != 0),
    ],
)
@pytest.mark.smoke
def test_expression_filters(filled: Table, flt, pred) -> None:
    assert ids(filled.to_arrow(filter=flt)) == expected(pred)
    assert sorted(r["id"] for r in filled.scan(filter=flt)) == expected(pred)


def test_python_boolean_keywords_are_refused_clearly() -> None:
    # | and ~ build OR and NOT (tests/python/test_filter_tree.py); Python's own and/or/not cannot.
    with pytest.raises(TypeError, match="&"):
        (col("a") > 1) and (col("b") < 2)  # noqa: B015  (Python's `and` asks for a truth value)
    with pytest.raises(TypeError, match="between"):
        1 < col("a") < 3  # noqa: B015
    with pytest.raises(TypeError, match="parenthes"):
        col("a") > 1 & col("b")  # noqa: B015  (& binds tighter than >)
    with pytest.raises(InvalidArgumentError, match="is_null"):
        col("a") == None  # noqa: E711, B015


@pytest.mark.parametrize("text", ["", "id >", "id like 3", "== 3", "id in 3", "id > 3 and", "id = null"])
def test_parse_where_rejects_malformed_text(text: str) -> None:
    with pytest.raises(InvalidArgumentError):
        parse_where(text)


def test_wrong_column_or_type_is_a_schema_error(filled: Table) -> None:
    with pytest.raises(SchemaError, match='"nope"'):
        filled.to_arrow(filter=col("nope") > 1)
    for flt in (col("name") < 5, col("id") == "seven", col("score") > True, col("id").isin(["a"])):
        with pytest.raises(FilterTypeError) as e:
            filled.to_arrow(filter=flt)
        assert isinstance(e.value, SchemaError) and isinstance(e.value, InvalidArgumentError)
    with pytest.raises(InvalidArgumentError, match="parse_where"):
        filled.to_arrow(filter="id > 3")


def test_expressions_in_deletes_and_transactions(filled: Table) -> None:
    assert filled.delete(col("id") >= 25) == 5
    with filled.new_transaction() as tx:
        assert len(tx.scan(filter=col("group") == 0)) == len(expected(lambda r: r["group"] == 0 and r["id"] < 25))
        tx.delete((col("id") < 5) & (col("group") == 1))
    assert ids(filled.to_arrow()) == expected(lambda r: r["id"] < 25 and not (r["id"] < 5 and r["group"] == 1))


# -- the scan object -------------------------------------------------------------------------------


def test_scan_feeds_pyarrow_polars_and_duckdb(filled: Table) -> None:
    s = filled.new_scan(columns=["id", "score"], filter=col("group") == 1)
    assert isinstance(s, Scan) and s.metrics is None
    want = expected(lambda r: r["group"] == 1)
    assert ids(pa.table(s)) == want
    assert s.metrics is not None and s.metrics["rows_read"] == 30
    assert ids(pa.RecordBatchReader.from_stream(s).read_all()) == want  # re-readable
    assert s.schema.names == ["id", "score"] and pa.table(s).schema == s.schema

    pl = pytest.importorskip("polars")
    # polars turns any Arrow stream object into a Series of structs: unnest it (or use pl.DataFrame)
    assert sorted(pl.from_arrow(s).struct.unnest()["id"].to_list()) == want
    assert sorted(pl.DataFrame(s)["id"].to_list()) == want
    assert sorted(s.to_polars()["id"].to_list()) == want

    duckdb = pytest.importorskip("duckdb")
    assert duckdb.sql("select count(*), sum(id) from s").fetchall() == [(len(want), sum(want))]
    con = s.to_duckdb("g1")
    for _ in range(2):  # each query rescans
        assert con.sql("select count(*) from g1").fetchall() == [(len(want),)]
    result = s.sql("select max(id) as m from t")
    assert isinstance(result, pa.Table) and result["m"].to_pylist() == [max(want)]
    assert filled.sql('select count(*) as n from t where "group" = 1')["n"].to_pylist() == [len(want)]
    assert filled.sql("select count(*) as n from events", alias="events")["n"].to_pylist() == [30]
    con = filled.to_duckdb("ev", columns=["id"], filter=col("id") < 4)
    assert con.sql("select sum(id) from ev").fetchall() == [(6,)]


@pytest.mark.smoke
def test_scan_pins_its_snapshot(filled: Table) -> None:
    s = filled.new_scan()
    filled.append_records(make_rows(30, 5))
    assert pa.table(s).num_rows == 30  # made before the append
    assert pa.table(filled.new_scan()).num_rows == 35
    assert pa.table(filled).num_rows == 35


def test_limit_on_read_methods(filled: Table) -> None:
    assert filled.to_arrow(limit=7).num_rows == 7
    assert len(filled.scan(limit=3)) == 3
    assert filled.head(4, filter=col("group") == 2).num_rows == 4
    assert filled.new_scan(limit=0).count() == 0
    pytest.importorskip("pandas")
    assert len(filled.to_pandas(limit=5)) == 5
    with pytest.raises(InvalidArgumentError):
        filled.to_arrow(limit=-1)


def test_row_count_from_metadata(filled: Table) -> None:
    first = filled.history()[-1]["snapshot_id"]
    assert filled.row_count() == 30 and filled.row_count(snapshot_id=first) == 10
    filled.create_tag("ten", first)
    assert filled.row_count(ref="ten") == 10
    assert filled.row_count(as_of=0) == 0  # before the first commit


def test_optional_imports_say_what_to_install(filled: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)
    monkeypatch.setitem(sys.modules, "polars", None)
    with pytest.raises(ImportError, match="pip install duckdb"):
        filled.sql("select 1")
    with pytest.raises(ImportError, match="pip install duckdb"):
        filled.new_scan().to_duckdb()
    with pytest.raises(ImportError, match="pip install polars"):
        filled.to_polars()


def test_scan_as_of_before_first_commit_is_empty(filled: Table) -> None:
    s = filled.new_scan(columns=["name", "id"], as_of=0)
    assert s.snapshot_id is None
    data = pa.table(s)
    assert data.num_rows == 0 and data.column_names == ["name", "id"]
    assert s.metrics["files_total"] == 0
    with pytest.raises(SchemaError):
        filled.new_scan(columns=["nope"], as_of=0)
    with pytest.raises(InvalidArgumentError, match="at most one"):
        filled.new_scan(snapshot_id=1, as_of=0)


def test_streaming_one_large_file_keeps_memory_bounded(tmp_path) -> None:
    """A single 2M-row file (32 MB decoded) streamed in 10,000-row batches: Arrow's memory
    never holds more than a fraction of the file, because it is decoded batch by batch."""
    n = 2_000_000
    t = create_table(
        str(tmp_path / "big"),
        pa.schema([("id", pa.int64()), ("x", pa.float64())]),
        properties={"write.parquet.row-group-limit": str(n), "datashard.commit.durability": "process"},
    )
    ids = pa.array(range(n), pa.int64())
    t.append(pa.table({"id": ids, "x": pa.compute.cast(ids, pa.float64())}))
    assert len(t.data_files()) == 1
    decoded = n * 16
    base = pa.total_allocated_bytes()
    peak, rows, total = 0, 0, 0
    for batch in t.new_scan(batch_size=10_000).to_batches():
        assert batch.num_rows <= 10_000
        rows += batch.num_rows
        total += pa.compute.sum(batch["id"]).as_py()
        peak = max(peak, pa.total_allocated_bytes() - base)
    assert rows == n and total == n * (n - 1) // 2
    assert peak < decoded / 2, f"peak {peak} bytes for a {decoded}-byte file"


@pytest.mark.smoke
def test_pyarrow_compute_expressions_filter_exactly(tmp_path) -> None:
    """A pyarrow.compute.Expression filter gives exactly what pyarrow's own filtering of the
    same rows gives, with projection and limit; an unknown column is a SchemaError."""
    import pyarrow.compute as pc

    t = create_table(str(tmp_path / "pc"), pa.schema([("id", pa.int64()), ("s", pa.string()), ("x", pa.float64())]))
    data = pa.table({
        "id": list(range(300)),
        "s": [None if i % 11 == 0 else f"k{i % 7}" for i in range(300)],
        "x": [i / 3 for i in range(300)],
    })
    for start in (0, 100, 200):
        t.append(data.slice(start, 100))
    expressions = [
        pc.field("id") > 250,
        (pc.field("s") == "k3") | (pc.field("x") < 2),
        ~pc.field("s").isin(["k1", "k2"]) & pc.field("s").is_valid(),
        pc.starts_with(pc.field("s"), "k5"),
    ]
    for expression in expressions:
        ours = t.to_arrow(filter=expression, columns=["id", "x"]).sort_by("id")
        theirs = data.filter(expression).select(["id", "x"]).sort_by("id")
        assert ours.equals(theirs), str(expression)
    assert t.new_scan(filter=pc.field("id") >= 10, limit=7).to_arrow().num_rows == 7
    with pytest.raises(SchemaError, match="nope"):
        t.to_arrow(filter=pc.field("nope") > 1)


def test_more_files_in_flight_than_pool_threads(tmp_path) -> None:
    # Opening files ahead on Arrow's I/O pool once deadlocked when as many files were in flight as
    # the pool has threads (the Parquet reader waits there on reads it queued to the same pool).
    import subprocess

    from datashard import create_table

    t = create_table(
        str(tmp_path / "t"), pa.schema([("id", pa.int64())]), properties={"datashard.commit.durability": "process"}
    )
    for i in range(40):
        t.append({"id": [i]})
    code = (
        "import sys, datashard; t = datashard.load_table(sys.argv[1]); "
        "print(sum(t.to_arrow(parallel=p).num_rows for p in (1, 2, 8, 16, 64)))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "t")], capture_output=True, text=True, timeout=120, env=python_env()
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(40 * 5)
