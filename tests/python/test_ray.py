"""Ray Data on datashard: read_datashard and DatashardDatasink on a local Ray (loopback only).

Ray is a test dependency (scripts/test.sh installs ``ray[data]``); the module is not skipped
when it is missing: that is a failure to see.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Iterator

# Loopback only: Ray then binds every server (GCS, raylet, workers) to 127.0.0.1, as it does
# on macOS and Windows. Read by ray when it is imported, so set before the import.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pytest  # noqa: E402
import ray  # noqa: E402

import datashard  # noqa: E402
from datashard import Table, col, create_table  # noqa: E402
from datashard.ray import DatashardDatasink, DatashardDatasource, read_datashard  # noqa: E402

N = 1_000_000
BLOCKS = 8


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    # Workers import this datashard and this test module (for the functions given to Ray).
    here = os.path.dirname(os.path.abspath(__file__))
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(datashard.__file__)))
    path = os.pathsep.join(p for p in (package_root, here, os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
        logging_level="WARNING",
        log_to_driver=False,
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
    try:
        yield
    finally:
        ray.shutdown()


def _schema() -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("value", pa.float64()),
            pa.field("kind", pa.string()),
        ]
    )


def _blocks(n: int, blocks: int) -> list[pa.Table]:
    ids = np.arange(n, dtype=np.int64)
    kinds = np.array(["a", "b", "c", "d"])
    step = n // blocks
    return [
        pa.table({"id": ids[i : i + step], "value": ids[i : i + step] * 0.5, "kind": kinds[ids[i : i + step] % 4]})
        for i in range(0, n, step)
    ]


def _fail_on_block_with(bad_id: int) -> Any:
    def fn(batch: pa.Table) -> pa.Table:
        if pc.any(pc.equal(batch["id"], bad_id)).as_py():
            raise RuntimeError(f"injected failure at id {bad_id}")
        return batch

    return fn


@pytest.fixture(scope="module")
def written(local_ray: None, tmp_path_factory: Any) -> tuple[Table, DatashardDatasink, int]:
    """A table with 10 rows, then N rows written through DatashardDatasink."""
    path = str(tmp_path_factory.mktemp("ray") / "events")
    table = create_table(path, _schema())
    table.append(pa.table({"id": list(range(-10, 0)), "value": [0.0] * 10, "kind": ["z"] * 10}))
    before = len(table.snapshots())
    sink = DatashardDatasink(path)
    ray.data.from_arrow(_blocks(N, BLOCKS)).write_datasink(sink)
    return table, sink, before


def test_datasink_writes_a_million_rows_in_one_snapshot(written: tuple[Table, DatashardDatasink, int]) -> None:
    table, sink, before = written
    snaps = table.snapshots()
    assert len(snaps) == before + 1  # exactly one new snapshot for the whole job
    assert sink.snapshot_id == snaps[-1]["snapshot_id"]
    assert snaps[-1]["summary"]["added-records"] == str(N)
    assert int(snaps[-1]["summary"]["added-data-files"]) == len(sink.files) >= 2  # several tasks wrote
    assert table.row_count() == N + 10
    got = table.to_arrow(columns=["id", "value"])
    assert got.num_rows == N + 10
    ids = np.sort(got["id"].to_numpy())
    assert np.array_equal(ids, np.arange(-10, N))


def test_read_datashard_reads_the_rows_back_exactly(written: tuple[Table, DatashardDatasink, int]) -> None:
    table, _, _ = written
    ds = read_datashard(table.location, override_num_blocks=4)
    assert ds.count() == N + 10  # from the files' record counts
    got = pa.concat_tables(ray.get(ds.to_arrow_refs()))
    assert got.schema.names == ["id", "value", "kind"]
    assert got.num_rows == N + 10
    ids = np.sort(got["id"].to_numpy())
    assert np.array_equal(ids, np.arange(-10, N))
    assert pc.sum(got["value"]).as_py() == pytest.approx(0.5 * N * (N - 1) / 2)
    vc = pc.value_counts(got["kind"])
    counts = dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist()))
    assert counts == {"a": N // 4, "b": N // 4, "c": N // 4, "d": N // 4, "z": 10}


def test_read_plans_one_task_per_file_group_on_a_pinned_snapshot(
    written: tuple[Table, DatashardDatasink, int],
) -> None:
    table, _, _ = written
    source = DatashardDatasource(table.location)
    n_files = len(table.data_files())
    tasks = source.get_read_tasks(3)
    assert len(tasks) == 3
    assert sorted(p for t in tasks for p in t.metadata.input_files) == sorted(d["file_path"] for d in table.data_files())
    assert sum(t.metadata.num_rows for t in tasks) == N + 10
    assert len(source.get_read_tasks(1000)) == n_files  # never more tasks than files
    # Pinned when planned: a later commit is not read.
    ds = read_datashard(table.location)
    assert ds.count() == N + 10
    snapshot = source.snapshot_id
    table.append(pa.table({"id": [N + 1], "value": [1.0], "kind": ["late"]}))
    try:
        assert ds.count() == N + 10
        assert ds.filter(expr=ray.data.expressions.col("kind") == "late").count() == 0
        assert read_datashard(table.location, snapshot_id=snapshot).count() == N + 10
        assert read_datashard(table.location).count() == N + 11
    finally:
        with table.new_transaction() as tx:
            tx.delete({"kind": "late"})


def test_filtered_and_projected_read(written: tuple[Table, DatashardDatasink, int], capsys: Any) -> None:
    table, _, _ = written
    ds = read_datashard(table.location, columns=["id", "kind"], filter=(col("id") >= 1000) & (col("id") < 3000))
    got = pa.concat_tables(ray.get(ds.to_arrow_refs()))
    assert got.schema.names == ["id", "kind"]
    assert sorted(got["id"].to_pylist()) == list(range(1000, 3000))
    # Ray's own select_columns and filter(expr=...) after the read are pushed into it.
    from ray.data.expressions import col as rcol

    ds2 = (
        read_datashard(table.location)
        .filter(expr=(rcol("id") < 500) & (rcol("kind") == "b") & ~rcol("kind").is_in(["c"]))
        .select_columns(["value"])
    )
    capsys.readouterr()
    ds2.explain()
    optimized = capsys.readouterr().out.split("Logical Plan (Optimized)")[1].split("Physical Plan")[0]
    assert "Filter" not in optimized and "Project" not in optimized  # both went into the read
    rows = ds2.take_all()
    assert sorted(r["value"] for r in rows) == [i * 0.5 for i in range(500) if i % 4 == 1]
    assert list(rows[0]) == ["value"]
    # Counting selects no columns: the read yields row counts only.
    window = (col("id") >= 1000) & (col("id") < 3000)
    assert read_datashard(table.location, filter=window).count() == 2000
    for source, rows_expected in ((DatashardDatasource(table.location, filter=window), 2000),
                                  (DatashardDatasource(table.location), N + 10)):
        tasks = source.apply_projection({}).get_read_tasks(4)
        blocks = [b for t in tasks for b in t()]
        assert sum(b.num_rows for b in blocks) == rows_expected
        assert all(b.column_names == ["__bsp_stub"] for b in blocks)


def test_a_failing_write_task_commits_nothing(local_ray: None, tmp_path: Any) -> None:
    path = str(tmp_path / "t")
    table = create_table(path, _schema())
    table.append(pa.table({"id": [1, 2, 3], "value": [0.5, 1.0, 1.5], "kind": ["x", "y", "z"]}))
    before = (table.snapshots(), table.data_files())
    data_dir = os.path.join(path, "data")
    files_before = set(os.listdir(data_dir))
    sink = DatashardDatasink(path)
    ds = ray.data.from_arrow(_blocks(80_000, 8)).map_batches(_fail_on_block_with(50_000), batch_format="pyarrow")
    with pytest.raises(Exception, match="injected failure"):
        ds.write_datasink(sink, concurrency=1)
    assert sink.snapshot_id is None
    assert (table.snapshots(), table.data_files()) == before  # no snapshot, same files
    assert sorted(table.to_arrow()["id"].to_pylist()) == [1, 2, 3]
    # The finished tasks' files were removed by on_write_failed: nothing left to collect.
    assert set(os.listdir(data_dir)) == files_before


def test_an_unknown_column_fails_before_any_task(local_ray: None, tmp_path: Any) -> None:
    path = str(tmp_path / "t")
    table = create_table(path, _schema())
    with pytest.raises(Exception, match='unknown column "nope"'):
        ray.data.from_arrow([pa.table({"id": [1], "nope": [1]})]).write_datasink(DatashardDatasink(path))
    assert table.current_snapshot() is None
    assert not os.path.isdir(os.path.join(path, "data")) or not os.listdir(os.path.join(path, "data"))


def test_without_the_cleanup_a_failed_write_leaves_only_orphans(
    local_ray: None, tmp_path: Any, monkeypatch: Any
) -> None:
    """The files finished tasks wrote are real (the test above is not vacuous), invisible, and
    the orphan cleanup removes them."""
    path = str(tmp_path / "t")
    table = create_table(path, _schema())
    table.append(pa.table({"id": [1], "value": [0.5], "kind": ["x"]}))
    before = (table.snapshots(), table.data_files())
    monkeypatch.setattr(DatashardDatasink, "on_write_failed", lambda self, error: None)  # driver-side only
    sink = DatashardDatasink(path)
    ds = ray.data.from_arrow(_blocks(80_000, 8)).map_batches(_fail_on_block_with(50_000), batch_format="pyarrow")
    with pytest.raises(Exception, match="injected failure"):
        ds.write_datasink(sink, concurrency=1)
    leftovers = [n for n in os.listdir(os.path.join(path, "data")) if n.startswith(sink._append.append_id)]
    assert leftovers  # tasks before the failing one wrote files ...
    assert (table.snapshots(), table.data_files()) == before  # ... that the table does not see
    assert table.row_count() == 1
    assert table.remove_orphan_files()["data_files"] == 0  # within the grace period: kept
    assert table.remove_orphan_files(older_than=timedelta(0))["data_files"] == len(leftovers)
    assert (table.snapshots(), table.data_files()) == before


def test_a_rerun_with_the_same_commit_key_commits_nothing(local_ray: None, tmp_path: Any) -> None:
    path = str(tmp_path / "t")
    table = create_table(path, _schema())
    first = DatashardDatasink(path, commit_key="nightly-2024-01-31")
    ray.data.from_arrow(_blocks(40_000, 4)).write_datasink(first)
    again = DatashardDatasink(path, commit_key="nightly-2024-01-31")
    ray.data.from_arrow(_blocks(40_000, 4)).write_datasink(again)
    assert again.snapshot_id == first.snapshot_id and again.files == []
    assert len(table.snapshots()) == 1 and table.row_count() == 40_000
    # The re-run's files were never committed, and are gone.
    assert sorted(os.listdir(os.path.join(path, "data"))) == sorted(
        os.path.basename(d["file_path"]) for d in table.data_files()
    )


def test_without_ray_the_module_imports_and_says_what_to_install() -> None:
    from conftest import run_python

    result = run_python(
        """
        import sys
        sys.modules["ray"] = None  # as if Ray were not installed
        import datashard.ray as dr
        try:
            dr.read_datashard("/nowhere")
        except ImportError as e:
            print("1", e)
        try:
            dr.DatashardDatasink
        except ImportError as e:
            print("2", e)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count('pip install "ray[data]"') == 2


def test_rays_own_read_iceberg_reads_the_table_through_a_pyiceberg_catalog(local_ray: None, tmp_path: Any) -> None:
    from pyiceberg.catalog.sql import SqlCatalog

    table = datashard.create_table(str(tmp_path / "t"), pa.schema([("id", pa.int64()), ("g", pa.string())]))
    table.append(pa.table({"id": list(range(100)), "g": ["a", "b"] * 50}))
    table.append(pa.table({"id": list(range(100, 150)), "g": ["c"] * 50}))
    props = {"uri": f"sqlite:///{tmp_path}/catalog.db", "warehouse": f"file://{tmp_path}/wh"}
    catalog = SqlCatalog("ml", **props)
    catalog.create_namespace("ml")
    table.register(catalog, "ml.t")
    ds = ray.data.read_iceberg(table_identifier="ml.t", catalog_kwargs={"name": "ml", "type": "sql", **props})
    assert ds.count() == 150
    assert ds.sum("id") == sum(range(150))


# -- partitioned and S3 tables: the tasks write through the engine -----------------------------

_DAY_US = 86_400_000_000
_T0_US = 1_700_006_400_000_000  # 2023-11-15 00:00:00 UTC, a day boundary


def _timed_blocks(n: int, blocks: int) -> list[pa.Table]:
    """_blocks plus a timestamp spreading the rows over ten days."""
    out = []
    for block in _blocks(n, blocks):
        ts = _T0_US + block["id"].to_numpy() * (10 * _DAY_US // n)
        out.append(block.append_column("ts", pa.array(ts, pa.timestamp("us"))))
    return out


def test_a_million_rows_into_a_table_partitioned_by_identity_and_day(local_ray: None, tmp_path: Any) -> None:
    from pyiceberg.table import StaticTable

    path = str(tmp_path / "events")
    schema = datashard.Schema.from_arrow(_timed_blocks(8, 1)[0].schema)
    by_id = {f["name"]: f["id"] for f in schema.fields}
    spec = datashard.PartitionSpec(
        0,
        [
            datashard.PartitionField(by_id["kind"], 1000, "kind", "identity"),
            datashard.PartitionField(by_id["ts"], 1001, "ts_day", "day"),
        ],
    )
    table = create_table(path, schema, spec)
    table.append(_timed_blocks(8, 1)[0])  # rows already there stay
    before = len(table.snapshots())
    sink = DatashardDatasink(path)
    ray.data.from_arrow(_timed_blocks(N, BLOCKS)).write_datasink(sink)

    snaps = table.snapshots()
    assert len(snaps) == before + 1 and sink.snapshot_id == snaps[-1]["snapshot_id"]
    assert snaps[-1]["summary"]["added-records"] == str(N)
    # Every file holds one kind on one day, in its partition's directory.
    partitions = {os.path.relpath(os.path.dirname(f.path), os.path.join(table.location, "data")) for f in sink.files}
    assert len(partitions) == 4 * 10 and all(p.startswith("kind=") and "/ts_day=" in p for p in partitions)
    got = table.to_arrow(columns=["id", "kind", "ts"])
    assert got.num_rows == N + 8
    ids = np.sort(got["id"].to_numpy())
    assert np.array_equal(ids, np.sort(np.concatenate([np.arange(8), np.arange(N)])))
    # Partition pruning works on the values the tasks computed.
    day3 = table.new_scan(filter=(col("kind") == "b") & (col("ts") >= pa.scalar(_T0_US + 3 * _DAY_US, pa.timestamp("us")))
                          & (col("ts") < pa.scalar(_T0_US + 4 * _DAY_US, pa.timestamp("us"))))
    assert day3.count() == N // 40
    assert day3.metrics["files_skipped"] >= len(sink.files) - 2
    assert table.verify()["ok"]
    # PyIceberg reads the same rows.
    iceberg = StaticTable.from_metadata(table.metadata_location).scan(selected_fields=("id", "kind")).to_arrow()
    assert iceberg.num_rows == N + 8
    assert pc.sum(iceberg["id"]).as_py() == sum(range(8)) + N * (N - 1) // 2
    vc = pc.value_counts(iceberg["kind"])
    assert dict(zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist())) == {
        "a": N // 4 + 2, "b": N // 4 + 2, "c": N // 4 + 2, "d": N // 4 + 2,
    }


@pytest.fixture(scope="module")
def s3_server() -> Iterator[Any]:
    from s3_support import S3Server

    with S3Server() as server:
        yield server


def test_a_million_rows_into_an_s3_table(local_ray: None, s3_server: Any, monkeypatch: Any, tmp_path: Any) -> None:
    import uuid

    from pyiceberg.table import StaticTable

    bucket = "r" + uuid.uuid4().hex[:16]
    s3_server.create_bucket(bucket)
    env = {
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_REGION": s3_server.region,
        "AWS_ENDPOINT_URL": s3_server.endpoint,
        "DATASHARD_LOCK_DIR": str(tmp_path / "locks"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the driver: the sink's table, the commit
    url = f"s3://{bucket}/warehouse/events"
    table = create_table(url, _schema())
    table.append(pa.table({"id": list(range(-10, 0)), "value": [0.0] * 10, "kind": ["z"] * 10}))
    before = len(table.snapshots())
    sink = DatashardDatasink(url)
    # The tasks write to the store themselves, with the same settings.
    ray.data.from_arrow(_blocks(N, BLOCKS)).write_datasink(sink, ray_remote_args={"runtime_env": {"env_vars": env}})

    snaps = table.snapshots()
    assert len(snaps) == before + 1 and sink.snapshot_id == snaps[-1]["snapshot_id"]
    assert snaps[-1]["summary"]["added-records"] == str(N)
    assert all(f.path.startswith(url + "/data/") for f in sink.files) and len(sink.files) >= 2
    got = table.to_arrow(columns=["id", "value"])
    assert np.array_equal(np.sort(got["id"].to_numpy()), np.arange(-10, N))
    assert pc.sum(got["value"]).as_py() == pytest.approx(0.5 * N * (N - 1) / 2)
    static = StaticTable.from_metadata(
        table.metadata_location,
        properties={
            "s3.endpoint": s3_server.endpoint,
            "s3.access-key-id": s3_server.access_key,
            "s3.secret-access-key": s3_server.secret_key,
            "s3.region": s3_server.region,
        },
    )
    assert static.scan(selected_fields=("id",)).to_arrow().num_rows == N + 10
    # A failed job's files on the store are removed by the sink, as on disk.
    failing = DatashardDatasink(url)
    ds = ray.data.from_arrow(_blocks(80_000, 8)).map_batches(_fail_on_block_with(50_000), batch_format="pyarrow")
    with pytest.raises(Exception, match="injected failure"):
        ds.write_datasink(failing, concurrency=1, ray_remote_args={"runtime_env": {"env_vars": env}})
    assert len(table.snapshots()) == before + 1
    assert table.remove_orphan_files(older_than=timedelta(0))["data_files"] == 0  # nothing left behind
