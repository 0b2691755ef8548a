"""Tables on S3, against a real S3-compatible server (versitygw) started on loopback.

The server is built and started by tests/python/s3_support.py; faults a real server will
not produce on demand (throttling, a 500 after the write applied, a connection reset after
the body, an endpoint that ignores If-None-Match) come from a fault-injecting proxy in
front of it. Writers "on separate hosts" are separate processes with their own S3 clients
and their own lock directories, so nothing but the store coordinates them.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pyarrow as pa
import pytest
from s3_support import FaultProxy, S3Server

import datashard
from datashard import (
    AmbiguousCommitError,
    ConcurrentModificationException,
    CorruptDataError,
    DatashardIOError,
    TableNotFoundError,
)

SCHEMA = pa.schema([("writer", pa.int64()), ("seq", pa.int64())])

_S3_VARIABLES = [
    "DATASHARD_STORAGE_TYPE", "DATASHARD_S3_BUCKET", "DATASHARD_S3_PREFIX", "DATASHARD_S3_ENDPOINT",
    "DATASHARD_S3_ACCESS_KEY", "DATASHARD_S3_SECRET_KEY", "DATASHARD_S3_REGION",
    "DATASHARD_S3_USE_CONDITIONAL_WRITES", "DATASHARD_S3_ADDRESSING_STYLE", "AWS_ENDPOINT_URL_S3",
    "AWS_PROFILE", "AWS_SESSION_TOKEN",
]


@pytest.fixture(scope="module")
def server():
    with S3Server() as s:
        yield s


def _use_endpoint(monkeypatch, server, endpoint, tmp_path):
    for name in _S3_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
    monkeypatch.setenv("AWS_REGION", server.region)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("DATASHARD_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture
def s3(server, monkeypatch, tmp_path):
    """A fresh bucket, and the environment pointing at the server."""
    bucket = "b" + uuid.uuid4().hex[:16]
    server.create_bucket(bucket)
    _use_endpoint(monkeypatch, server, server.endpoint, tmp_path)
    return SimpleNamespace(server=server, bucket=bucket, url=f"s3://{bucket}")


@pytest.fixture
def proxied(s3, monkeypatch, tmp_path):
    """Like ``s3``, with the client talking to the server through a FaultProxy."""
    with FaultProxy(s3.server) as proxy:
        _use_endpoint(monkeypatch, s3.server, proxy.endpoint, tmp_path)
        s3.proxy = proxy
        yield s3


def _keys(server, bucket, prefix=""):
    fs = server.pyarrow_fs()
    from pyarrow import fs as pafs

    infos = fs.get_file_info(pafs.FileSelector(f"{bucket}/{prefix}".rstrip("/"), recursive=True, allow_not_found=True))
    return sorted(i.path[len(bucket) + 1 :] for i in infos if i.type == pafs.FileType.File)


def _rows(table):
    t = table.to_arrow()
    return sorted(zip(t["writer"].to_pylist(), t["seq"].to_pylist()))


# --- the same table features as on disk --------------------------------------------------


def test_a_table_on_s3_works_like_one_on_disk(s3):
    table = datashard.create_table(f"{s3.url}/warehouse/t", SCHEMA)
    assert table.location == f"{s3.url}/warehouse/t"
    for i in range(5):
        table.append(pa.table({"writer": [0], "seq": [i]}))
    first = table.snapshots()[0]["snapshot_id"]
    table.delete({"seq": ("<", 2)})
    again = datashard.load_table(f"{s3.url}/warehouse/t")
    assert _rows(again) == [(0, 2), (0, 3), (0, 4)]
    assert again.row_count() == 3
    assert again.to_arrow(snapshot_id=first).num_rows == 1  # time travel
    keys = _keys(s3.server, s3.bucket, "warehouse/t")
    assert any(k.startswith("warehouse/t/metadata/v") and k.endswith(".metadata.json") for k in keys)
    assert any(k.startswith("warehouse/t/data/") and k.endswith(".parquet") for k in keys)
    assert not any(".datashard-probe" in k for k in keys)  # the probe cleans up after itself

    # Maintenance: expiry and orphan cleanup keep every file a live snapshot reaches,
    # and an object younger than the grace period (an in-flight commit's) as well.
    again.expire_snapshots(retain_last=1)
    s3.server.request("PUT", f"/{s3.bucket}/warehouse/t/data/in-flight.parquet", b"not yet committed")
    datashard.load_table(f"{s3.url}/warehouse/t").garbage_collect()
    assert _rows(datashard.load_table(f"{s3.url}/warehouse/t")) == [(0, 2), (0, 3), (0, 4)]
    assert datashard.load_table(f"{s3.url}/warehouse/t").verify()["ok"]
    assert "warehouse/t/data/in-flight.parquet" in _keys(s3.server, s3.bucket, "warehouse/t")

    # The command line takes s3:// locations too.
    info = subprocess.run(
        [sys.executable, "-m", "datashard.cli", "info", f"{s3.url}/warehouse/t", "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["rows"] == 3


def test_a_commit_never_names_an_object_orphan_cleanup_deleted(s3):
    """Issue 20 on S3: the commit checks its objects (under this host's commit queue, where the
    cleanup deletes) and, since cleanup on another host shares no queue, refuses objects older
    than datashard.commit.max-file-age-ms. Either way it raises and publishes nothing."""
    url = f"{s3.url}/warehouse/gc"
    table = datashard.create_table(url, SCHEMA)
    table.append(pa.table({"writer": [0], "seq": [0]}))
    tx = table.new_transaction()
    tx.begin()
    tx.append(pa.table({"writer": [0], "seq": [1]}))
    assert datashard.load_table(url).garbage_collect(grace_period_ms=0)["data_files"] == 1
    with pytest.raises(ConcurrentModificationException, match="is gone"):
        tx.commit()

    table.set_properties({"datashard.commit.max-file-age-ms": "500"})
    tx = table.new_transaction()
    tx.begin()
    tx.append(pa.table({"writer": [0], "seq": [2]}))
    time.sleep(2.1)  # Last-Modified has whole seconds
    with pytest.raises(ConcurrentModificationException, match="max-file-age-ms"):
        tx.commit()
    again = datashard.load_table(url)
    assert _rows(again) == [(0, 0)]
    assert again.verify()["ok"]
    again.append(pa.table({"writer": [0], "seq": [3]}))  # a fresh write commits as usual
    assert _rows(datashard.load_table(url)) == [(0, 0), (0, 3)]


def _pyiceberg(s3, table):
    """The table as PyIceberg reads it, through its own S3 file IO."""
    from pyiceberg.table import StaticTable

    static = StaticTable.from_metadata(
        table.metadata_location,
        properties={
            "s3.endpoint": s3.server.endpoint,
            "s3.access-key-id": s3.server.access_key,
            "s3.secret-access-key": s3.server.secret_key,
            "s3.region": s3.server.region,
        },
    )
    return static.scan().to_arrow()


def test_pyiceberg_reads_a_table_written_to_s3(s3):
    table = datashard.create_table(f"{s3.url}/t", SCHEMA)
    table.append(pa.table({"writer": [1, 2], "seq": [10, 20]}))
    table.append(pa.table({"writer": [3], "seq": [30]}))
    got = _pyiceberg(s3, table)
    assert sorted(zip(got["writer"].to_pylist(), got["seq"].to_pylist())) == [(1, 10), (2, 20), (3, 30)]


def test_the_original_packages_environment_variables_still_work(s3, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATASHARD_STORAGE_TYPE", "s3")
    monkeypatch.setenv("DATASHARD_S3_BUCKET", s3.bucket)
    monkeypatch.setenv("DATASHARD_S3_PREFIX", "team/tables")
    monkeypatch.setenv("DATASHARD_S3_ENDPOINT", s3.server.endpoint)
    monkeypatch.setenv("DATASHARD_S3_ACCESS_KEY", s3.server.access_key)
    monkeypatch.setenv("DATASHARD_S3_SECRET_KEY", s3.server.secret_key)
    monkeypatch.setenv("DATASHARD_S3_REGION", s3.server.region)
    table = datashard.create_table("metrics", SCHEMA)
    table.append_records([{"writer": 7, "seq": 1}])
    assert table.location == f"s3://{s3.bucket}/team/tables/metrics"
    assert _rows(datashard.load_table("metrics")) == [(7, 1)]
    assert any(k.startswith("team/tables/metrics/metadata/") for k in _keys(s3.server, s3.bucket))


# --- many writers, one bucket ---------------------------------------------------------------


def _writer(url, writer, commits, lock_dir, go, acks):
    """One writer 'host': its own process, S3 client and lock directory."""
    os.environ["DATASHARD_LOCK_DIR"] = lock_dir
    table = datashard.load_table(url)
    while not os.path.exists(go):  # start together
        time.sleep(0.01)
    with open(acks, "a") as out:
        for seq in range(commits):
            table.append(pa.table({"writer": [writer], "seq": [seq]}))
            out.write(f"{seq}\n")  # acknowledged: it must be in the table from now on
            out.flush()


def _run_writers(url, tmp_path, writers, commits):
    ctx = mp.get_context("spawn")
    go = tmp_path / "go"
    procs = [
        ctx.Process(target=_writer, args=(url, w, commits, str(tmp_path / f"host{w}"), str(go), str(tmp_path / f"acks{w}")))
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every writer open the table before the clock starts
    started = time.monotonic()
    go.touch()
    return procs, started


def test_eight_writers_on_separate_hosts_lose_nothing(s3, tmp_path):
    writers, commits = 8, 200
    url = f"{s3.url}/shared"
    datashard.create_table(url, SCHEMA)
    procs, started = _run_writers(url, tmp_path, writers, commits)
    for p in procs:
        p.join(timeout=600)
    elapsed = time.monotonic() - started
    assert [p.exitcode for p in procs] == [0] * writers
    rows = _rows(datashard.load_table(url))
    assert len(rows) == writers * commits
    assert rows == sorted((w, s) for w in range(writers) for s in range(commits))  # each exactly once
    print(f"\n{writers} writers x {commits} commits on S3: {writers * commits / elapsed:.0f} commits/s")


def test_writers_killed_at_random_lose_no_acknowledged_commit(s3, tmp_path):
    url = f"{s3.url}/killed"
    datashard.create_table(url, SCHEMA)
    rng = random.Random(7)
    ctx = mp.get_context("spawn")
    go = tmp_path / "go"
    go.touch()

    def start(writer):
        args = (url, writer, 10_000, str(tmp_path / f"host{writer % 4}"), str(go), str(tmp_path / f"acks{writer}"))
        proc = ctx.Process(target=_writer, args=args)
        proc.start()
        return proc

    # Four slots; a killed writer is replaced by a new one with a new id, so an
    # append that landed without its acknowledgement is never repeated.
    slots = [(w, start(w)) for w in range(4)]
    next_id, kills, deadline = 4, 0, time.monotonic() + 25
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(0.3, 1.0))
        slot = rng.randrange(len(slots))
        os.kill(slots[slot][1].pid, signal.SIGKILL)
        slots[slot][1].join()
        kills += 1
        slots[slot] = (next_id, start(next_id))
        next_id += 1
    for _, proc in slots:
        proc.kill()
        proc.join()
    table = datashard.load_table(url)
    rows = _rows(table)
    assert len(rows) == len(set(rows))  # nothing applied twice
    acknowledged = 0
    for w in range(next_id):
        acks = tmp_path / f"acks{w}"
        acked = {int(line) for line in acks.read_text().split()} if acks.exists() else set()
        present = {seq for (writer, seq) in rows if writer == w}
        assert acked <= present, f"writer {w} lost acknowledged commits {sorted(acked - present)[:5]}"
        acknowledged += len(acked)
    assert kills >= 20 and acknowledged > 0
    assert table.verify()["ok"]
    assert _pyiceberg(s3, table).num_rows == len(rows)
    # A later writer commits on top of whatever the kills left.
    table.append(pa.table({"writer": [-1], "seq": [0]}))
    assert (-1, 0) in _rows(datashard.load_table(url))
    print(f"\n{kills} writers killed, {acknowledged} acknowledged commits, {len(rows)} rows, none lost")


# --- faults ---------------------------------------------------------------------------------


def _version(url):
    return datashard.load_table(url).version


def test_throttling_is_retried(proxied):
    table = datashard.create_table(f"{proxied.url}/t", SCHEMA)
    proxied.proxy.fail_next(3, status=503, method="PUT")
    proxied.proxy.fail_next(2, status=503, method="GET")
    table.append(pa.table({"writer": [1], "seq": [1]}))
    assert proxied.proxy.pending_faults() == 0
    assert _rows(datashard.load_table(f"{proxied.url}/t")) == [(1, 1)]


@pytest.mark.parametrize("fault", ["500 after the write", "reset after the body"])
def test_a_commit_whose_answer_was_lost_is_resolved_by_reading_it_back(proxied, fault):
    url = f"{proxied.url}/t"
    table = datashard.create_table(url, SCHEMA)
    before = _version(url)
    if fault == "500 after the write":
        proxied.proxy.fail_after_forward(1, status=500, method="PUT", path=".metadata.json")
    else:
        proxied.proxy.reset_after_body(1, method="PUT", path=".metadata.json")
    table.append(pa.table({"writer": [1], "seq": [1]}))  # acknowledged, not an error
    assert proxied.proxy.pending_faults() == 0
    assert _version(url) == before + 1  # applied exactly once
    assert _rows(datashard.load_table(url)) == [(1, 1)]


def test_a_put_that_keeps_failing_leaves_the_table_as_it_was(proxied):
    url = f"{proxied.url}/t"
    table = datashard.create_table(url, SCHEMA)
    table.append(pa.table({"writer": [1], "seq": [1]}))
    before = _version(url)
    proxied.proxy.fail_next(1000, status=503, method="PUT", path=".metadata.json")
    with pytest.raises(DatashardIOError, match="503"):
        table.append(pa.table({"writer": [2], "seq": [2]}))
    proxied.proxy.clear_faults()
    assert _version(url) == before
    assert _rows(datashard.load_table(url)) == [(1, 1)]
    table.append(pa.table({"writer": [3], "seq": [3]}))  # and the next commit goes through
    assert _rows(datashard.load_table(url)) == [(1, 1), (3, 3)]


def test_a_commit_with_no_answer_at_all_is_ambiguous_not_a_guess(proxied):
    url = f"{proxied.url}/t"
    table = datashard.create_table(url, SCHEMA)
    before = _version(url)
    proxied.proxy.fail_next(1000, status=500, method="PUT", path=".metadata.json")
    with pytest.raises(AmbiguousCommitError):
        table.append(pa.table({"writer": [2], "seq": [2]}))
    proxied.proxy.clear_faults()
    assert _version(url) == before


def test_an_endpoint_that_ignores_conditional_writes_gets_nothing_written(proxied, monkeypatch):
    proxied.proxy.strip_if_none_match = True
    with pytest.raises(DatashardIOError, match="does not enforce conditional writes") as failure:
        datashard.create_table(f"{proxied.url}/t", SCHEMA)
    assert proxied.proxy.endpoint in str(failure.value)
    assert _keys(proxied.server, proxied.bucket) == []
    # The explicit single-writer opt-in commits without them.
    monkeypatch.setenv("DATASHARD_S3_USE_CONDITIONAL_WRITES", "false")
    table = datashard.create_table(f"{proxied.url}/t", SCHEMA)
    table.append(pa.table({"writer": [1], "seq": [1]}))
    assert _rows(datashard.load_table(f"{proxied.url}/t")) == [(1, 1)]


# --- bad input --------------------------------------------------------------------------------


def test_wrong_credentials_are_a_clear_error_and_write_nothing(s3, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(DatashardIOError, match="(?i)signature|access denied"):
        datashard.create_table(f"{s3.url}/t", SCHEMA)
    assert _keys(s3.server, s3.bucket) == []


def test_a_missing_bucket_is_named(s3):
    with pytest.raises(DatashardIOError, match="bucket"):
        datashard.create_table("s3://no-such-bucket-here/t", SCHEMA)


def test_an_endpoint_that_is_down_is_named(s3, monkeypatch):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(DatashardIOError, match=f"127.0.0.1:{port}"):
        datashard.load_table(f"{s3.url}/t")


def test_a_prefix_that_is_not_a_table(s3):
    s3.server.request("PUT", f"/{s3.bucket}/not-a-table/readme.txt", b"hello")
    with pytest.raises(TableNotFoundError):
        datashard.load_table(f"{s3.url}/not-a-table")


def test_a_truncated_metadata_object_is_corrupt_data(s3):
    table = datashard.create_table(f"{s3.url}/t", SCHEMA)
    table.append(pa.table({"writer": [1], "seq": [1]}))
    key = table.metadata_location[len(s3.url) + 1 :]
    body = s3.server.request("GET", f"/{s3.bucket}/{key}").body
    s3.server.request("PUT", f"/{s3.bucket}/{key}", body[: len(body) // 2])
    with pytest.raises(CorruptDataError):
        datashard.load_table(f"{s3.url}/t")


def test_metadata_pointing_into_another_bucket_is_refused(s3):
    table = datashard.create_table(f"{s3.url}/t", SCHEMA)
    table.append(pa.table({"writer": [1], "seq": [1]}))
    key = table.metadata_location[len(s3.url) + 1 :]
    metadata = json.loads(s3.server.request("GET", f"/{s3.bucket}/{key}").body)
    for snapshot in metadata["snapshots"]:
        snapshot["manifest-list"] = snapshot["manifest-list"].replace(s3.url, "s3://another-bucket")
    next_key = key.replace(f"v{table.version}.", f"v{table.version + 1}.")
    s3.server.request("PUT", f"/{s3.bucket}/{next_key}", json.dumps(metadata).encode())
    with pytest.raises(CorruptDataError, match="outside the table"):
        datashard.load_table(f"{s3.url}/t").to_arrow()


def test_bad_storage_settings_are_clear_errors(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # where a relative table path would land
    for name in _S3_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATASHARD_STORAGE_TYPE", "ftp")
    with pytest.raises(datashard.InvalidArgumentError, match="DATASHARD_STORAGE_TYPE"):
        datashard.create_table("t", SCHEMA)
    monkeypatch.setenv("DATASHARD_STORAGE_TYPE", "s3")
    with pytest.raises(datashard.InvalidArgumentError, match="DATASHARD_S3_BUCKET"):
        datashard.load_table("t")
    monkeypatch.delenv("DATASHARD_STORAGE_TYPE")
    with pytest.raises(datashard.InvalidArgumentError, match="unsupported scheme"):
        datashard.create_table("gs://bucket/t", SCHEMA)
    assert not any(tmp_path.iterdir())  # nothing was written anywhere


# --- distributed appends: workers write to the store, one commit --------------------------


def _s3_worker_write(blob, start, n):
    """In a spawned worker (the environment came with it): write rows, commit nothing."""
    import pickle

    append = pickle.loads(blob)
    return pickle.dumps(append.write(pa.table({"writer": [start] * n, "seq": list(range(start, start + n))})))


def test_new_append_workers_write_to_s3_and_one_commit_adds_them(s3):
    import pickle

    url = f"{s3.url}/warehouse/dist"
    table = datashard.create_table(url, SCHEMA)
    table.append(pa.table({"writer": [-1], "seq": [-1]}))
    append = table.new_append()
    blob = pickle.dumps(append)
    with mp.get_context("spawn").Pool(3) as pool:
        results = pool.starmap(_s3_worker_write, [(blob, 1000 * k, 500) for k in range(4)])
    files = [f for r in results for f in pickle.loads(r)]
    assert len(files) == 4 and all(f.path.startswith(url + "/data/" + append.append_id + "-") for f in files)
    assert table.row_count() == 1  # nothing visible before the commit
    sid = append.commit(files)
    assert len(table.snapshots()) == 2 and table.current_snapshot().snapshot_id == sid
    got = table.to_arrow()
    assert sorted(got["seq"].to_pylist()) == [-1] + [1000 * k + i for k in range(4) for i in range(500)]
    assert _pyiceberg(s3, table).num_rows == 2001
    # An abandoned append: abort removes its objects, and only those.
    stray = table.new_append()
    stray_files = stray.write(pa.table({"writer": [9], "seq": [9]}))
    assert stray_files[0].path[len(s3.url) + 1 :] in _keys(s3.server, s3.bucket)
    assert stray.abort() == 1
    assert stray_files[0].path[len(s3.url) + 1 :] not in _keys(s3.server, s3.bucket)
    assert table.row_count() == 2001 and table.verify()["ok"]
