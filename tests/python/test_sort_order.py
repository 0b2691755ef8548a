"""Iceberg sort orders: ``replace_sort_order`` sets the table's order, appends write every data
file sorted by it (recording its id), and ``compact(sort=..., zorder=...)`` lays whole partitions
out for selective reads. Pruning is counted through the engine's I/O layer (scan metrics), as in
test_pruning.py, whose ``_read`` helper this reuses."""

from __future__ import annotations

import datetime as dt
import glob
import random
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_pruning import _read

from datashard import SortField, SortOrder, Table, col, create_table, load_table
from datashard.errors import InvalidArgumentError, SchemaError

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("name", pa.string()),
        pa.field("ts", pa.timestamp("us")),
        pa.field("score", pa.float64()),
    ]
)
PROCESS = {"datashard.commit.durability": "process"}


def _rows(ids: list[int | None]) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": [None if i is None or i % 5 == 0 else f"n{i:05d}" for i in ids],
            "ts": [dt.datetime(2024, 1, 1) + dt.timedelta(hours=7 * (i or 0)) for i in ids],
            "score": [float((i or 0) % 13) for i in ids],
        },
        schema=SCHEMA,
    )


@pytest.fixture
def t(tmp_path) -> Table:
    return create_table(str(tmp_path / "t"), SCHEMA, properties=PROCESS)


def _files(t: Table) -> list[str]:
    return sorted(d["file_path"] for d in t.data_files())


def _sort_order_ids(t: Table) -> list[int | None]:
    """sort_order_id of each current data file, as PyIceberg reads our manifests."""
    from pyiceberg.table import StaticTable

    tasks = StaticTable.from_metadata(t.metadata_location).scan().plan_files()
    return [task.file.sort_order_id for task in tasks]


def test_replace_sort_order_and_read_it_back(t: Table) -> None:
    assert t.sort_order() == SortOrder() and t.sort_order().is_unsorted()
    order = t.replace_sort_order("id desc", ("name", "asc", "nulls-last"), "day(ts)", "bucket[16](id)")
    assert order.order_id == 1
    assert [(f.source_id, f.transform, f.direction, f.null_order) for f in order.fields] == [
        (1, "identity", "desc", "nulls-last"),  # Iceberg's default null order for desc
        (2, "identity", "asc", "nulls-last"),
        (3, "day", "asc", "nulls-first"),
        (1, "bucket[16]", "asc", "nulls-first"),
    ]
    assert load_table(t.location).sort_order() == order
    # The same order again keeps its id, a new one gets the next, none is unsorted (0).
    assert t.replace_sort_order(["name"]).order_id == 2
    assert t.replace_sort_order("id desc", ("name", "asc", "nulls-last"), "day(ts)", "bucket[16](id)").order_id == 1
    assert t.replace_sort_order() == SortOrder()
    assert isinstance(t.replace_sort_order("score").fields[0], SortField)


@pytest.mark.parametrize(
    "terms, error",
    [
        (["nope"], "no such column"),
        (["frob[3](id)"], "cannot read sort term"),
        (["bucket[4](score)"], "bucket"),
        (["hour(name)"], "hour"),
        (["id sideways"], "cannot read sort term"),
        ([("id", "up")], "direction"),
        ([("id", "asc", "nulls-middle")], "null order"),
        ([42], "sort term"),
    ],
)
def test_bad_sort_orders_commit_nothing(t: Table, terms, error: str) -> None:
    version = t.version
    with pytest.raises(SchemaError, match=error):
        t.replace_sort_order(*terms)
    t.refresh()
    assert t.version == version and t.sort_order().is_unsorted()


def test_appends_write_each_file_sorted_and_time_travel_is_unaffected(t: Table) -> None:
    t.append(_rows([3, 1, 2]))
    before = t.to_arrow()
    before_sid = t.current_snapshot().snapshot_id
    t.replace_sort_order(("name", "desc", "nulls-first"), "id")
    ids = list(range(100))
    random.Random(3).shuffle(ids)
    t.append(_rows(ids + [None]))  # Table.append
    with t.new_transaction() as tx:  # a transaction
        tx.append(_rows([205, 201, 203]))
    writer = t.new_append()  # a distributed write
    writer.commit(writer.write(_rows([302, 300, 301])))
    t.overwrite(_rows([402, 400, 401]), where=col("id") >= 400)  # an overwrite
    old_file = {d["file_path"] for d in t.data_files(snapshot_id=before_sid)}
    for path in _files(t):
        data = pq.read_table(path)
        if path in old_file:
            assert data["id"].to_pylist() == [3, 1, 2]  # written before the order: as it was
            continue
        got = list(zip(data["name"].to_pylist(), data["id"].to_pylist()))
        nulls = [r for r in got if r[0] is None]
        assert got[: len(nulls)] == nulls  # nulls first
        rest = got[len(nulls) :]
        assert rest == sorted(rest, key=lambda r: (r[0], -r[1]), reverse=True)  # name desc, then id asc
        # ties on name by id ascending, nulls first (Iceberg's default for asc)
        assert [r[1] for r in nulls] == [None] * sum(r[1] is None for r in nulls) + sorted(
            r[1] for r in nulls if r[1] is not None
        )
    assert sorted(_sort_order_ids(t), key=str) == sorted([None] + [1] * (len(_files(t)) - 1), key=str)
    assert t.to_arrow(snapshot_id=before_sid).equals(before)
    assert t.row_count() == 3 + 101 + 3 + 3 + 3


def test_a_sort_order_change_racing_appends_loses_no_rows(tmp_path) -> None:
    path = str(tmp_path / "race")
    create_table(path, SCHEMA, properties=PROCESS)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            mine = load_table(path)
            for k in range(15):
                mine.append(_rows([worker * 1000 + k * 10 + j for j in range(10)]))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def reorder() -> None:
        try:
            mine = load_table(path)
            for k in range(10):
                mine.replace_sort_order("id desc" if k % 2 else "name")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(3)] + [threading.Thread(target=reorder)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    t = load_table(path)
    expected = sorted(w * 1000 + k * 10 + j for w in range(3) for k in range(15) for j in range(10))
    assert sorted(t.to_arrow()["id"].to_pylist()) == expected
    assert t.sort_order().order_id in (1, 2)
    # Files written before the first order took effect record none, the rest the order they had.
    assert set(_sort_order_ids(t)) <= {None, 1, 2} and set(_sort_order_ids(t)) & {1, 2}


def test_compact_needs_an_order_and_one_layout(t: Table) -> None:
    t.append(_rows([1, 2]))
    t.append(_rows([3]))
    with pytest.raises(InvalidArgumentError, match="no sort order"):
        t.compact(sort=True)
    with pytest.raises(InvalidArgumentError, match="two or more columns"):
        t.compact(zorder=["id"])
    with pytest.raises(InvalidArgumentError, match="not both"):
        t.compact(sort=["id"], zorder=["id", "name"])
    with pytest.raises(SchemaError, match="no such column"):
        t.compact(zorder=["id", "nope"])
    assert t.row_count() == 3 and len(_files(t)) == 2


ROWS = 300_000
ROW_GROUP_ROWS = 500


@pytest.fixture(scope="module")
def compacted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Table, int]:
    """ids 0..299,999 shuffled over 10 appends (every file spans nearly every id), each row with
    64 random bytes, then compacted with sort on id into files of about 4 MiB; returns the table
    and the snapshot before compaction."""
    path = str(tmp_path_factory.mktemp("sorted") / "t")
    t = create_table(
        path,
        pa.schema([pa.field("id", pa.int64()), pa.field("payload", pa.binary())]),
        properties={**PROCESS, "write.parquet.row-group-limit": str(ROW_GROUP_ROWS)},
    )
    rng = random.Random(11)
    ids = list(range(ROWS))
    rng.shuffle(ids)
    for k in range(10):
        chunk = ids[k * ROWS // 10 : (k + 1) * ROWS // 10]
        t.append(pa.table({"id": pa.array(chunk, pa.int64()), "payload": [rng.randbytes(64) for _ in chunk]}))
    before = t.current_snapshot().snapshot_id
    t.replace_sort_order("id")
    result = t.compact(4 * 1024 * 1024, sort=True)
    assert result["rewritten_files"] == 10 and result["added_files"] >= 4
    return t, before


def test_an_or_of_two_narrow_ranges_reads_under_2_percent_of_a_sorted_table(compacted) -> None:
    t, unsorted = compacted
    flt = col("id").between(50_000, 50_099) | col("id").between(220_000, 220_149)
    full = _read(t)[1]["bytes_read"]
    data, m = _read(t, flt)
    assert sorted(data["id"].to_pylist()) == list(range(50_000, 50_100)) + list(range(220_000, 220_150))
    assert m["bytes_read"] < 0.02 * full, (m, full)
    assert m["files_total"] - m["files_skipped"] <= 2
    # The same query on the table as it was before compaction opens every file.
    data, before = _read(t, flt, snapshot_id=unsorted)
    assert data.num_rows == 250 and before["files_skipped"] == 0
    assert before["bytes_read"] > 50 * m["bytes_read"]
    print(f"OR of two ranges: {m['bytes_read']} of {full} bytes sorted ({m['bytes_read'] / full:.2%}), "
          f"{before['bytes_read']} unsorted; files opened {m['files_total'] - m['files_skipped']} of {m['files_total']}")


def test_sorted_compaction_records_the_order_and_a_second_pass_commits_nothing(compacted) -> None:
    t, _ = compacted
    assert set(_sort_order_ids(t)) == {1}
    files = _files(t)
    bounds = sorted((pq.read_table(f)["id"][0].as_py(), pq.read_table(f)["id"][-1].as_py()) for f in files)
    assert all(a[1] < b[0] for a, b in zip(bounds, bounds[1:]))  # disjoint, in order
    assert t.row_count() == ROWS
    again = t.compact(4 * 1024 * 1024, sort=True, manifests=False)
    assert again["snapshot_id"] is None and again["rewritten_files"] == 0 and _files(t) == files


def test_zorder_box_query_opens_far_fewer_files(tmp_path) -> None:
    t = create_table(
        str(tmp_path / "z"), pa.schema([pa.field("x", pa.int32()), pa.field("y", pa.float64())]), properties=PROCESS
    )
    rng = random.Random(5)
    for _ in range(8):
        n = 12_500
        t.append({"x": [rng.randrange(1000) for _ in range(n)], "y": [rng.uniform(-500, 500) for _ in range(n)]})
    box = (col("x") >= 100) & (col("x") < 150) & (col("y") >= 200) & (col("y") < 250)
    expected, unsorted = _read(t, box)
    assert unsorted["files_skipped"] == 0  # every file spans the whole plane
    t.compact(32 * 1024, zorder=["x", "y"])
    data, m = _read(t, box)
    assert sorted(data.to_pylist(), key=str) == sorted(expected.to_pylist(), key=str)
    opened = m["files_total"] - m["files_skipped"]
    assert m["files_total"] >= 16 and opened <= m["files_total"] // 4, m
    assert set(_sort_order_ids(t)) == {None}  # z-order is no Iceberg sort order
    assert t.row_count() == 100_000
    print(f"z-order box query: {opened} of {m['files_total']} files opened (unsorted: all {unsorted['files_total']})")


def test_pyiceberg_and_duckdb_read_a_sorted_table(t: Table) -> None:
    from pyiceberg.table import StaticTable

    t.replace_sort_order("id desc", "bucket[8](name)", ("ts", "asc", "nulls-last"))
    ids = list(range(200))
    random.Random(1).shuffle(ids)
    t.append(_rows(ids[:120]))
    t.append(_rows(ids[120:] + [None]))
    t.compact(sort=True)
    iceberg = StaticTable.from_metadata(t.metadata_location)
    theirs = iceberg.sort_order()
    ours = t.sort_order()
    assert theirs.order_id == ours.order_id == 1
    assert [(f.source_id, str(f.transform), f.direction.value, f.null_order.value) for f in theirs.fields] == [
        (f.source_id, f.transform, f.direction, f.null_order) for f in ours.fields
    ]
    assert iceberg.scan().to_arrow().sort_by("id").to_pylist() == t.to_arrow().sort_by("id").to_pylist()
    assert set(_sort_order_ids(t)) == {1}
    duckdb_ext = pytest.importorskip("duckdb_ext")  # DuckDB's iceberg extension, from PyPI
    import pathlib

    import duckdb

    con = duckdb.connect()
    root = pathlib.Path(list(duckdb_ext.__path__)[0])
    for name in ("avro", "iceberg"):
        (found,) = root.glob(f"extensions/v{duckdb.__version__}/*/{name}.duckdb_extension")
        con.execute(f"LOAD '{found}'")
    count, total = con.sql(f"select count(*), sum(id) from iceberg_scan('{t.metadata_location}')").fetchone()
    assert (count, total) == (201, sum(range(200)))
    assert len(glob.glob(f"{t.location}/data/*.parquet")) >= 1


def test_create_table_takes_a_sort_order_now_or_at_the_first_append(tmp_path) -> None:
    t = create_table(str(tmp_path / "a"), SCHEMA, properties=PROCESS, sort_order=["name desc", "id"])
    assert [(f.source_id, f.direction) for f in t.sort_order().fields] == [(2, "desc"), (1, "asc")]
    with pytest.raises(SchemaError, match="no such column"):
        create_table(str(tmp_path / "b"), SCHEMA, sort_order=["nope"])
    later = create_table(str(tmp_path / "c"), sort_order="id desc")  # no schema yet
    assert later.sort_order().is_unsorted()
    later.append({"id": [1, 3, 2], "name": ["a", "c", "b"]})
    assert later.sort_order().fields == [SortField(1, transform="identity", direction="desc")]
    (path,) = _files(later)
    assert pq.read_table(path)["id"].to_pylist() == [3, 2, 1]
    assert "datashard.schema-on-write.sort-order" not in later.properties


def test_plain_compaction_of_a_sorted_table_writes_sorted_files(t: Table) -> None:
    t.replace_sort_order("id desc")
    for start in range(0, 40, 10):
        t.append(_rows(list(range(start, start + 10))))
    result = t.compact()
    assert result["rewritten_files"] == 4 and result["added_files"] == 1
    (path,) = _files(t)
    assert pq.read_table(path)["id"].to_pylist() == list(range(39, -1, -1))
    assert _sort_order_ids(t) == [1]


def test_an_order_another_engine_wrote_that_datashard_cannot_read_is_kept_and_not_sorted_by(t: Table) -> None:
    import json

    t.append(_rows([2, 1]))
    metadata = json.loads(open(t.metadata_location, encoding="utf-8").read())
    odd = {"order-id": 5, "fields": [{"transform": "identity", "source-ids": [1, 2], "direction": "sideways",
                                      "null-order": "nulls-first"}]}
    metadata["sort-orders"].append(odd)
    metadata["default-sort-order-id"] = 5
    following = t.metadata_location.replace(f"v{t.version}.metadata.json", f"v{t.version + 1}.metadata.json")
    with open(following, "x", encoding="utf-8") as f:
        json.dump(metadata, f)
    order = t.sort_order()
    assert order.order_id == 5 and order.fields == [] and order.raw == odd and not order.is_unsorted()
    t.append(_rows([9, 7, 8]))  # written as given (PyIceberg 0.12 refuses this metadata: no id check here)
    assert [pq.read_table(p)["id"].to_pylist() for p in _files(t)] in ([[2, 1], [9, 7, 8]], [[9, 7, 8], [2, 1]])
    after = json.loads(open(t.metadata_location, encoding="utf-8").read())
    assert odd in after["sort-orders"]  # kept exactly as it was written
    assert t.replace_sort_order("id").order_id == 6  # a fresh id past every listed one


def test_a_stream_into_a_sorted_table_is_sorted_whole_and_files_roll_in_order(tmp_path) -> None:
    """A RecordBatchReader past the small-append size (appends stream otherwise): into a table
    with a sort order its rows are sorted as one run, cut into files at the target size, each
    recording the order; files of a stream into an unsorted table record none."""
    ids = list(range(120_000))
    random.Random(9).shuffle(ids)

    def stream() -> pa.RecordBatchReader:
        batches = (_rows(ids[i : i + 10_000]).to_batches()[0] for i in range(0, len(ids), 10_000))
        return pa.RecordBatchReader.from_batches(SCHEMA, batches)

    props = {"write.target-file-size-bytes": str(1 << 20), "datashard.commit.durability": "process"}
    sorted_t = create_table(str(tmp_path / "sorted"), SCHEMA, properties=props, sort_order=["id"])
    sorted_t.append(stream())
    files = [pq.read_table(p) for p in _files(sorted_t)]
    assert len(files) > 1 and set(_sort_order_ids(sorted_t)) == {1}
    runs = sorted((f["id"].to_pylist() for f in files), key=lambda run: run[0])
    assert [i for run in runs for i in run] == sorted(ids)  # every file a run, the runs disjoint
    plain = create_table(str(tmp_path / "plain"), SCHEMA, properties=props)
    plain.append(stream())
    assert set(_sort_order_ids(plain)) == {None} and plain.row_count() == len(ids)
