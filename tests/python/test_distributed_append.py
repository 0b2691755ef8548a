"""Workers write files, one coordinator commits them: Table.new_append() across processes.

Workers are multiprocessing *spawn* processes (fresh interpreters, as Ray, Dask and Spark
executors are): everything they get travels by pickle.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datashard import (
    InvalidArgumentError,
    PartitionField,
    PartitionSpec,
    Schema,
    SchemaError,
    Table,
    col,
    create_table,
    load_table,
)
from datashard._distributed import DistributedAppend, WrittenFile


def _spawn_pool(n: int) -> Any:
    return multiprocessing.get_context("spawn").Pool(n)


def _chunk(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": ids,
            "name": [None if i % 5 == 4 else f"name-{i}" for i in ids],
            "score": [i / 2 for i in ids],
            "group": [i % 3 for i in ids],
        }
    )


def _worker_write(args: tuple[bytes, int, int]) -> bytes:
    """In a spawned worker: unpickle the append, write rows start..start+n-1, pickle the result."""
    blob, start, n = args
    append = pickle.loads(blob)
    files = append.write(_chunk(start, n))
    return pickle.dumps(files)


def _worker_read(blob: bytes) -> list[int]:
    return sorted(pickle.loads(blob).to_arrow()["id"].to_pylist())


def _coordinator_dies(blob: bytes, files_blob: bytes) -> None:
    """A coordinator that gets every file and dies before it commits."""
    append = pickle.loads(blob)
    pickle.loads(files_blob)
    assert isinstance(append, DistributedAppend)
    os._exit(3)


def _data_files(path: str) -> set[str]:
    data = os.path.join(path, "data")
    return {os.path.join(data, n) for n in os.listdir(data)} if os.path.isdir(data) else set()


def test_spawn_workers_write_coordinator_commits_one_snapshot(table: Table) -> None:
    table.append(_chunk(0, 10))  # rows already there stay
    before = len(table.snapshots())
    append = table.new_append()
    blob = pickle.dumps(append)
    assert len(blob) < 4096  # the location, the schema and a few properties: no handles
    with _spawn_pool(3) as pool:
        results = pool.map(_worker_write, [(blob, 10 + 1000 * k, 1000) for k in range(6)])
    files: list[WrittenFile] = [f for r in results for f in pickle.loads(r)]
    assert len(files) == 6 and all(isinstance(f, WrittenFile) for f in files)
    assert all(len(pickle.dumps(f)) < 512 for f in files)  # small enough to send anywhere
    assert sum(f.record_count for f in files) == 6000
    # Written, not committed: the table does not see them.
    assert table.row_count() == 10 and len(table.snapshots()) == before
    assert all(os.path.exists(f.path) and f.path.startswith(table.location + "/data/") for f in files)

    sid = append.commit(files)

    assert isinstance(sid, int)
    snaps = table.snapshots()
    assert len(snaps) == before + 1 and snaps[-1]["snapshot_id"] == sid  # exactly ONE snapshot
    assert snaps[-1]["summary"]["added-data-files"] == "6"
    assert snaps[-1]["summary"]["added-records"] == "6000"
    ids = sorted(table.to_arrow(columns=["id"])["id"].to_pylist())
    assert ids == list(range(10)) + [10 + 1000 * k + i for k in range(6) for i in range(1000)]
    # Registered in place (nothing copied), carrying Iceberg field ids; the metadata is sound.
    assert {f.path for f in files} <= {d["file_path"] for d in table.data_files()}
    assert pq.ParquetFile(files[0].path).schema_arrow.field("id").metadata[b"PARQUET:field_id"] == b"1"
    assert table.verify()["ok"]
    # Pruning works on them: column statistics were taken at commit.
    scan = table.new_scan(filter=col("id") >= 5010)
    assert scan.count() == 1000
    assert scan.metrics["files_skipped"] == 6


def test_files_written_but_not_committed_are_invisible_orphans(table: Table) -> None:
    append = table.new_append()
    files = append.write(_chunk(0, 100))
    assert table.current_snapshot() is None and table.row_count() == 0
    # The orphan cleanup's grace period protects them while the job may still commit ...
    assert table.remove_orphan_files()["data_files"] == 0
    assert table.garbage_collect(grace_period_ms=3_600_000)["data_files"] == 0
    assert os.path.exists(files[0].path)
    # ... and removes them once older than it.
    report = table.remove_orphan_files(older_than=timedelta(0))
    assert report["data_files"] == 1 and not os.path.exists(files[0].path)
    assert table.row_count() == 0


def test_a_coordinator_that_dies_before_commit_leaves_nothing(table: Table) -> None:
    table.append(_chunk(0, 5))
    before = (table.snapshots(), table.data_files())
    append = table.new_append()
    blob = pickle.dumps(append)
    with _spawn_pool(2) as pool:
        results = pool.map(_worker_write, [(blob, 100, 50), (blob, 200, 50)])
    files = [f for r in results for f in pickle.loads(r)]
    proc = multiprocessing.get_context("spawn").Process(target=_coordinator_dies, args=(blob, pickle.dumps(files)))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 3
    assert (table.snapshots(), table.data_files()) == before
    assert sorted(table.to_arrow()["id"].to_pylist()) == list(range(5))
    # The job's files can be dropped at once (or left to the orphan cleanup).
    assert append.abort() == 2
    assert not any(os.path.exists(f.path) for f in files)
    assert (table.snapshots(), table.data_files()) == before


def test_a_failed_commit_commits_none_of_the_files(table: Table) -> None:
    append = table.new_append()
    files = append.write(_chunk(0, 10)) + append.write(_chunk(10, 10))
    missing = WrittenFile(os.path.join(table.location, "data", "gone.parquet"), 1, 1)
    outside = WrittenFile("/tmp/not-in-the-table.parquet", 1, 1)
    for bad in (missing, outside):
        with pytest.raises(InvalidArgumentError):
            append.commit(files + [bad])
        assert table.current_snapshot() is None  # all or nothing
        assert all(os.path.exists(f.path) for f in files)  # the files are the caller's to retry
    with pytest.raises(InvalidArgumentError):
        append.commit(files + files[:1])  # given twice
    sid = append.commit(files)
    assert table.row_count() == 20 and table.current_snapshot().snapshot_id == sid
    with pytest.raises(RuntimeError):
        append.abort()  # committed: the files are the table's now
    assert all(os.path.exists(f.path) for f in files)


def test_commit_key_applies_a_retried_commit_once(table: Table) -> None:
    append = table.new_append()
    files = append.write(_chunk(0, 10))
    sid = append.commit(files, commit_key="job-42")
    # A retry of the whole commit (e.g. the coordinator was restarted) changes nothing.
    again = pickle.loads(pickle.dumps(append))
    assert again.commit(files, commit_key="job-42") == sid
    assert len(table.snapshots()) == 1 and table.row_count() == 10


def test_no_rows_no_files_no_snapshot(table: Table) -> None:
    append = table.new_append()
    assert append.write(_chunk(0, 0)) == []
    assert append.commit([]) is None
    assert table.current_snapshot() is None


def test_write_conforms_to_the_table_schema_like_append(table: Table, table_path: str) -> None:
    append = table.new_append()
    # Safe casts within one kind, missing optional columns as nulls, any input append takes.
    files = append.write({"id": pa.array([1, 2], pa.int32()), "group": [0, 1]})
    files += append.write([{"id": 3, "group": 2, "name": "x"}])
    pd = pytest.importorskip("pandas")
    files += append.write(pd.DataFrame({"id": [4], "group": [1], "score": [0.5]}))
    files += append.write(pa.RecordBatchReader.from_batches(
        pa.schema([("id", pa.int64()), ("group", pa.int64())]),
        [pa.record_batch({"id": [5, 6], "group": [0, 0]})],
    ))
    before = _data_files(table_path)
    bad_inputs = [
        ({"id": [1], "group": [1], "nope": [1]}, 'unknown column "nope"'),
        ({"id": [1]}, 'required field "group" is missing'),
        ({"id": [1, None], "group": [1, 1]}, 'row 1, field "id": null in a required field'),
        ({"id": [1], "group": [1], "name": [True]}, "a different kind of value"),
        ({"id": [2**40], "group": [2**40]}, 'field "group"'),  # overflows int
    ]
    for data, message in bad_inputs:
        with pytest.raises(SchemaError, match=message):
            append.write(data)
    assert _data_files(table_path) == before  # nothing half-written left behind
    append.commit(files)
    got = table.to_arrow().sort_by("id")
    assert got["id"].to_pylist() == [1, 2, 3, 4, 5, 6]
    assert got["name"].to_pylist() == [None, None, "x", None, None, None]
    assert {f.path for f in files} == {d["file_path"] for d in table.data_files()}  # all in place


def test_writer_streams_batches_and_rolls_files_at_the_target_size(table: Table) -> None:
    append = table.new_append(target_file_size=64 * 1024)
    with append.writer() as writer:
        for k in range(20):
            writer.write(_chunk(k * 5000, 5000))
    files = writer.files
    assert len(files) > 1 and sum(f.record_count for f in files) == 100_000
    assert all(f.file_size_in_bytes == os.path.getsize(f.path) for f in files)
    append.commit(files)
    assert table.row_count() == 100_000 and len(table.snapshots()) == 1
    assert sorted(table.to_arrow(columns=["id"])["id"].to_pylist()) == list(range(100_000))


def test_a_writer_that_fails_midway_removes_its_files(table: Table, table_path: str) -> None:
    append = table.new_append(target_file_size=16 * 1024)
    with pytest.raises(SchemaError):
        with append.writer() as writer:
            for k in range(5):
                writer.write(_chunk(k * 2000, 2000))
            assert writer.files  # some files were finished already
            writer.write({"id": [None], "group": [1]})
    assert _data_files(table_path) == set()


def test_table_scan_and_append_pickle_and_work_in_spawned_workers(filled: Table) -> None:
    scan = filled.new_scan(columns=["id"], filter=col("id") < 15)
    assert scan.count() == 15  # read once: holds the engine stream of that read
    copy = pickle.loads(pickle.dumps(scan))
    assert copy.snapshot_id == scan.snapshot_id and copy.metrics is None
    pinned = scan.snapshot_id
    filled.append(_chunk(1000, 3))  # a later commit: the scan still reads its snapshot
    with _spawn_pool(1) as pool:
        assert pool.map(_worker_read, [pickle.dumps(scan)]) == [list(range(15))]
    assert pickle.loads(pickle.dumps(scan)).snapshot_id == pinned
    t2 = pickle.loads(pickle.dumps(filled))
    assert isinstance(t2, Table) and t2.location == filled.location and t2.row_count() == 33
    wf = WrittenFile("/x/data/a.parquet", 3, 100)
    assert pickle.loads(pickle.dumps(wf)) == wf


def test_partitioned_tables_get_one_file_per_partition_from_each_worker(tmp_path: Any, schema: Schema) -> None:
    spec = PartitionSpec(spec_id=0, fields=[PartitionField(source_id=4, field_id=1000, name="group")])
    t = create_table(str(tmp_path / "p"), schema, spec)
    append = t.new_append()
    blob = pickle.dumps(append)
    with _spawn_pool(2) as pool:
        results = pool.map(_worker_write, [(blob, 0, 300), (blob, 300, 300)])
    files = [f for r in results for f in pickle.loads(r)]
    assert len(files) == 6  # three groups from each worker
    assert {os.path.basename(os.path.dirname(f.path)) for f in files} == {"group=0", "group=1", "group=2"}
    sid = append.commit(files)
    assert len(t.snapshots()) == 1 and t.current_snapshot().snapshot_id == sid
    assert sorted(t.to_arrow(columns=["id"])["id"].to_pylist()) == list(range(600))
    scan = t.new_scan(filter=col("group") == 1)  # pruned by the partition values the workers computed
    assert scan.count() == 200 and scan.metrics["files_skipped"] == 4
    assert t.verify()["ok"]


def test_schema_is_pinned_when_the_append_is_made(table: Table) -> None:
    append = table.new_append()
    table.add_column("extra", "string")
    files = append.write(_chunk(0, 3))  # written with the schema of new_append()
    append.commit(files)
    t = load_table(table.location)
    got = t.to_arrow().sort_by("id")
    assert got["id"].to_pylist() == [0, 1, 2] and got["extra"].to_pylist() == [None] * 3


_KILLED_WRITER = """
import pickle, sys, time
import pyarrow as pa
append = pickle.loads(bytes.fromhex(sys.argv[1]))
files = append.write(pa.table({"id": list(range(500)), "group": [1] * 500}))
print(pickle.dumps(files).hex(), flush=True)  # written: the coordinator would commit next
time.sleep(600)
"""


def test_a_writer_killed_between_write_and_commit_leaves_the_table_unchanged(table: Table) -> None:
    """kill -9 of a distributed writer after its files are written and before anything commits
    them: the table is as it was, and the files are orphans that the cleanup collects."""
    import signal
    import subprocess
    import sys

    table.append(_chunk(0, 5))
    before = (table.snapshots(), table.data_files(), sorted(table.to_arrow()["id"].to_pylist()))
    append = table.new_append()
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, pickle.dumps(append).hex()],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    files = pickle.loads(bytes.fromhex(proc.stdout.readline().strip()))
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(60) == -signal.SIGKILL
    assert files and all(os.path.exists(f.path) for f in files)
    after = load_table(table.location)
    assert (after.snapshots(), after.data_files(), sorted(after.to_arrow()["id"].to_pylist())) == before
    assert after.verify()["ok"]
    # Within the grace period the cleanup keeps them (a job may still commit) ...
    assert after.remove_orphan_files()["data_files"] == 0
    # ... and after it, takes exactly them.
    report = after.remove_orphan_files(older_than=timedelta(0))
    assert sorted(report["orphans"]) == sorted(f.path for f in files)
    assert not any(os.path.exists(f.path) for f in files)
    assert (after.snapshots(), after.data_files()) == before[:2]


def test_abort_of_chosen_files_deletes_only_those_and_never_a_committed_one(table: Table) -> None:
    append = table.new_append()
    first, second, third = (append.write(_chunk(k * 10, 10)) for k in range(3))
    committed = table.new_append()
    kept = committed.write(_chunk(100, 5))
    committed.commit(kept)
    assert append.abort(first) == 1  # only the file given
    assert not os.path.exists(first[0].path) and os.path.exists(second[0].path)
    assert append.abort([]) == 0
    # A file of the table is never deleted, whichever append it is given to.
    assert committed.remove_uncommitted(kept) == 0 and os.path.exists(kept[0].path)
    assert append.abort(kept) == 0 and os.path.exists(kept[0].path)
    append.commit(second + third)
    assert sorted(table.to_arrow()["id"].to_pylist()) == list(range(10, 30)) + list(range(100, 105))
