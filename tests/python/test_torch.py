"""datashard.torch.IterableDataset: a pinned snapshot sharded over ranks x DataLoader workers.

The planning tests need no torch. The rest need PyTorch: without it they are skipped with
the reason printed, unless DATASHARD_REQUIRE_TORCH=1 (the CI stage that installs torch sets
it), where a missing torch is a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import random
import socket
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import datashard.torch as dstorch
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from datashard.torch import FileShare, block_layout, plan_shards

from datashard import (
    InvalidArgumentError,
    SchemaError,
    Table,
    col,
    create_table,
    load_table,
)

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

if torch is None and os.environ.get("DATASHARD_REQUIRE_TORCH") == "1":  # pragma: no cover
    raise ImportError("DATASHARD_REQUIRE_TORCH=1 but PyTorch is not installed (pip install torch)")

needs_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is not installed (pip install torch; DATASHARD_REQUIRE_TORCH=1 makes this fail)"
)

SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("x", pa.float64()),
        pa.field("s", pa.string()),
        pa.field("g", pa.int32(), nullable=False),
    ]
)


def _rows(start: int, n: int) -> pa.Table:
    ids = list(range(start, start + n))
    return pa.table(
        {
            "id": ids,
            "x": [i / 4 for i in ids],
            "s": [f"s{i}" for i in ids],
            "g": [i % 5 for i in ids],
        },
        schema=SCHEMA,
    )


def _make_table(path: str, sizes: list[int]) -> Table:
    t = create_table(path, SCHEMA)
    start = 0
    for n in sizes:
        t.append(_rows(start, n))
        start += n
    return t


SIZES_20 = [40 + (i * 37) % 90 for i in range(20)]  # 20 files of 40..129 rows


@pytest.fixture(scope="module")
def table20(tmp_path_factory: pytest.TempPathFactory) -> Table:
    return _make_table(str(tmp_path_factory.mktemp("torch") / "t20"), SIZES_20)


def _ids(batches: Any) -> list[int]:
    out: list[int] = []
    for b in batches:
        ids = b["id"] if isinstance(b, dict) else b.column("id")
        out += ids.tolist() if hasattr(ids, "tolist") else ids.to_pylist()
    return out


# -- planning: no torch needed -----------------------------------------------------------------


def _covered_blocks(plan: list[list[list[FileShare]]]) -> dict[str, list[int]]:
    """For every file, how many shares keep each of its row blocks (must be 1)."""
    counts: dict[str, list[int]] = {}
    for rank in plan:
        for worker in rank:
            for share in worker:
                block, n_blocks, stride = block_layout(share.record_count)
                c = counts.setdefault(share.file_path, [0] * n_blocks)
                for i in range(n_blocks):
                    start = ((i * stride) % n_blocks) * block
                    if share.whole or share.row_lo <= start < share.row_hi:
                        c[i] += 1
    return counts


def test_plan_every_block_exactly_once_and_ranks_balanced() -> None:
    rnd = random.Random(5)
    for _ in range(200):
        n_files = rnd.randint(0, 25)
        files = [{"file_path": f"f{i:03d}", "record_count": rnd.choice([0, 1, 7, 100, 5000])} for i in range(n_files)]
        world, workers = rnd.randint(1, 9), rnd.randint(1, 4)
        seed = rnd.choice([None, 1, 2])
        plan = plan_shards(files, world, workers, seed=seed, epoch=rnd.randint(0, 3))
        assert len(plan) == world and all(len(r) == workers for r in plan)
        counts = _covered_blocks(plan)
        assert set(counts) == {f["file_path"] for f in files}  # no file dropped, none invented
        assert all(c == 1 for blocks in counts.values() for c in blocks)
        total = sum(f["record_count"] for f in files)
        per_rank = [sum(s.rows for w in r for s in w) for r in plan]
        assert sum(per_rank) == total
        assert max(per_rank) - min(per_rank) <= 1  # share sizes are exact; reads are within a block
        # Only files that straddle a rank cut are shared: at most world - 1 of them.
        partial = {s.file_path for r in plan for w in r for s in w if not s.whole}
        assert len(partial) <= world - 1


def test_plan_is_deterministic_and_shuffles_per_epoch() -> None:
    files = [(f"data/{i:02d}.parquet", 100) for i in range(30)]
    a = plan_shards(files, 2, 3, seed=11, epoch=0)
    assert a == plan_shards(list(reversed(files)), 2, 3, seed=11, epoch=0)  # order of the listing is irrelevant
    assert a != plan_shards(files, 2, 3, seed=11, epoch=1)
    unshuffled = plan_shards(files, 1, 1)[0][0]
    assert [s.file_path for s in unshuffled] == sorted(p for p, _ in files)
    with pytest.raises(InvalidArgumentError):
        plan_shards(files, 0, 1)
    with pytest.raises(InvalidArgumentError):
        plan_shards(files + files[:1], 2, 1)


def test_every_reader_combination_reads_each_row_once(table20: Table) -> None:
    """In one process, every (rank, worker) reader of several layouts, with and without a
    filter and a shuffle: the union is the filtered snapshot, with no row twice."""
    expect_all = list(range(sum(SIZES_20)))
    for filt in (None, col("g") == 2, pc.field("x") > 300.0):
        expected = sorted(table20.to_arrow(filter=filt)["id"].to_pylist()) if filt is not None else expect_all
        for world, workers in ((1, 1), (2, 3), (7, 1), (32, 2)):
            for seed in (None, 4):
                ds = dstorch._ShardedSnapshotReader(table20, filter=filt, batch_size=50, shuffle_seed=seed, output="arrow")
                seen = []
                for r in range(world):
                    for w in range(workers):
                        for b in ds.iter_batches(r, world, w, workers):
                            assert 0 < b.num_rows <= 50
                            seen += b.column("id").to_pylist()
                assert sorted(seen) == expected, (filt, world, workers, seed)


def test_fewer_files_than_ranks_still_feeds_every_rank(tmp_path: Path) -> None:
    t = _make_table(str(tmp_path / "one"), [1000])
    ds = dstorch._ShardedSnapshotReader(t, batch_size=128, output="arrow")
    per_rank = [_ids(ds.iter_batches(r, 4, 0, 1)) for r in range(4)]
    assert sorted(i for ids in per_rank for i in ids) == list(range(1000))
    assert [len(ids) for ids in per_rank] == [250] * 4
    # With a filter each rank still gets about its share (row blocks are dealt in proportion).
    ds = dstorch._ShardedSnapshotReader(t, filter=col("id") < 500, batch_size=128, output="arrow")
    per_rank = [_ids(ds.iter_batches(r, 4, 0, 1)) for r in range(4)]
    assert sorted(i for ids in per_rank for i in ids) == list(range(500))
    assert all(90 <= len(ids) <= 160 for ids in per_rank), [len(ids) for ids in per_rank]


def test_batches_and_drop_last(table20: Table) -> None:
    ds = dstorch._ShardedSnapshotReader(table20, batch_size=64, output="arrow")
    sizes = [b.num_rows for b in ds.iter_batches(0, 1, 0, 1)]
    assert sizes[:-1] == [64] * (len(sizes) - 1) and sum(sizes) == sum(SIZES_20)
    ds = dstorch._ShardedSnapshotReader(table20, batch_size=64, output="arrow", drop_last=True)
    sizes = [b.num_rows for b in ds.iter_batches(0, 1, 0, 1)]
    assert sizes == [64] * (sum(SIZES_20) // 64)


def test_arguments_checked_at_construction(table20: Table, tmp_path: Path) -> None:
    with pytest.raises(SchemaError):
        dstorch._ShardedSnapshotReader(table20, columns=["nope"])
    with pytest.raises(SchemaError):
        dstorch._ShardedSnapshotReader(table20, filter={"nope": 1})
    with pytest.raises(InvalidArgumentError):
        dstorch._ShardedSnapshotReader(table20, output="pandas")
    with pytest.raises(InvalidArgumentError):
        dstorch._ShardedSnapshotReader(table20, batch_size=0)
    with pytest.raises(InvalidArgumentError):
        dstorch._ShardedSnapshotReader(table20, rank=1)
    empty = create_table(str(tmp_path / "empty"), SCHEMA)
    ds = dstorch._ShardedSnapshotReader(empty, output="arrow")
    assert ds.snapshot_id is None and list(ds.iter_batches(0, 1, 0, 1)) == []


def test_module_imports_without_torch_and_says_what_to_install() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None          # as if PyTorch were not installed
        import datashard.torch as dt         # the module itself imports
        assert dt.plan_shards([("a", 1)], 1)
        try:
            dt.IterableDataset
        except ImportError as e:
            assert "pip install torch" in str(e), e
            print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, timeout=60, check=False
    )
    assert out.stdout.strip() == "ok", out.stderr


# -- with torch --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank_main(rank: int, world_size: int, port: int, location: str, out_dir: str) -> None:
    """One DDP rank (run by torch.multiprocessing.spawn): 3 DataLoader workers, two epochs."""
    import torch.distributed as dist
    from datashard.torch import IterableDataset
    from torch.utils.data import DataLoader

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    dist.init_process_group("gloo", rank=rank, world_size=world_size, timeout=timedelta(seconds=90))
    try:
        ds = IterableDataset(location, batch_size=32, shuffle_seed=3)
        # Rank 0's workers are forked, rank 1's spawned: the dataset is pickled for those,
        # and must carry the rank across (a spawned worker has no process group).
        context = "fork" if rank == 0 else "spawn"
        loader = DataLoader(ds, batch_size=None, num_workers=3, multiprocessing_context=context)
        result: dict[str, Any] = {"snapshot_id": ds.snapshot_id}
        for epoch in (0, 1):
            ds.set_epoch(epoch)
            ids: list[int] = []
            for batch in loader:
                assert isinstance(batch["id"], torch.Tensor) and batch["id"].dtype == torch.int64
                assert isinstance(batch["s"], list)
                ids += batch["id"].tolist()
            result[f"epoch{epoch}"] = ids
        gathered: list[Any] = [None] * world_size
        dist.all_gather_object(gathered, len(result["epoch0"]))
        result["gathered_counts"] = gathered
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


@needs_torch
def test_two_ranks_three_workers_each_row_exactly_once(table20: Table, tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    port = _free_port()
    context = mp.spawn(
        _rank_main, args=(2, port, table20.location, str(tmp_path)), nprocs=2, join=False
    )
    deadline = time.monotonic() + 240
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for p in context.processes:
                p.kill()
            pytest.fail("the ranks did not finish in 240 s")
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert {r["snapshot_id"] for r in results} == {table20.current_snapshot().snapshot_id}
    total = sum(SIZES_20)
    for epoch in ("epoch0", "epoch1"):
        every = results[0][epoch] + results[1][epoch]
        assert len(every) == total and sorted(every) == list(range(total))  # each row exactly once
        assert abs(len(results[0][epoch]) - len(results[1][epoch])) <= 2 * 64  # ranks balanced
    assert results[0]["epoch0"] != results[0]["epoch1"]  # a new order per epoch
    assert results[0]["gathered_counts"] == [len(results[0]["epoch0"]), len(results[1]["epoch0"])]


_WRITER = """
import sys, time
import pyarrow as pa
from datashard import load_table
t = load_table(sys.argv[1])
for k in range(int(sys.argv[2])):
    start = 1_000_000 + 100 * k
    t.append(pa.table({"id": list(range(start, start + 100)), "x": [0.0] * 100,
                       "s": ["new"] * 100, "g": [0] * 100}))
    time.sleep(0.02)
"""


@needs_torch
def test_writers_during_the_epoch_do_not_change_it(tmp_path: Path) -> None:
    from datashard.torch import IterableDataset
    from torch.utils.data import DataLoader

    t = _make_table(str(tmp_path / "t"), [300] * 6)
    pinned = t.current_snapshot().snapshot_id
    ds = IterableDataset(t, batch_size=50, columns=["id"])
    t.append(_rows(5000, 10))  # committed after the dataset was made, before the workers start
    writer = subprocess.Popen([sys.executable, "-c", _WRITER, t.location, "15"], env=os.environ)
    try:
        ids: list[int] = []
        for batch in DataLoader(ds, batch_size=None, num_workers=2):
            if not ids:  # mid-epoch: wait until the writer has committed
                deadline = time.monotonic() + 60
                while load_table(t.location).row_count() == 1810 and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert load_table(t.location).row_count() > 1810, "the writer committed nothing mid-epoch"
            ids += batch["id"].tolist()
            time.sleep(0.01)
    finally:
        assert writer.wait(timeout=120) == 0
    assert sorted(ids) == list(range(1800))
    assert load_table(t.location).row_count() == 1800 + 10 + 1500
    ds.set_epoch(1)  # the next epoch too: still the pinned snapshot
    assert sorted(_ids(ds)) == list(range(1800)) and ds.snapshot_id == pinned
    assert len(_ids(IterableDataset(t, columns=["id"]))) == 1800 + 10 + 1500  # a new dataset: the new state
    # An explicit older snapshot is read as it was.
    first = t.snapshots()[0]["snapshot_id"]
    assert sorted(_ids(IterableDataset(t, snapshot_id=first, columns=["id"]))) == list(range(300))


@needs_torch
def test_shuffle_changes_order_not_set_and_is_reproducible(table20: Table) -> None:
    from datashard.torch import IterableDataset
    from torch.utils.data import DataLoader

    total = list(range(sum(SIZES_20)))

    def epoch_ids(seed: int | None, epoch: int, workers: int = 0) -> list[int]:
        ds = IterableDataset(table20, batch_size=40, shuffle_seed=seed, columns=["id"])
        ds.set_epoch(epoch)
        return _ids(DataLoader(ds, batch_size=None, num_workers=workers))

    plain = epoch_ids(None, 0)
    assert plain == epoch_ids(None, 5)  # no seed: the same order every epoch
    e0, e1 = epoch_ids(7, 0), epoch_ids(7, 1)
    assert sorted(e0) == sorted(e1) == sorted(plain) == total
    assert e0 != e1 and e0 != plain  # another order...
    assert e0 == epoch_ids(7, 0)  # ...and the same one again for the same seed and epoch
    assert epoch_ids(8, 0) != e0
    # Rows are mixed within files too, not only the file order.
    assert sum(1 for a, b in itertools.pairwise(e0) if b == a + 1) < len(e0) // 4
    with_workers = epoch_ids(7, 1, workers=2)
    assert sorted(with_workers) == total and with_workers == epoch_ids(7, 1, workers=2)


@needs_torch
def test_columns_and_filter_pushdown(table20: Table) -> None:
    from datashard.torch import IterableDataset

    ds = IterableDataset(table20, columns=["x", "id", "s"], filter=(col("g") == 1) & (col("id") >= 200), batch_size=30)
    expected = table20.to_arrow(columns=["x", "id", "s"], filter=(col("g") == 1) & (col("id") >= 200))
    got: dict[str, list[Any]] = {"x": [], "id": [], "s": []}
    for batch in ds:
        assert list(batch) == ["x", "id", "s"]  # the projection, in its order
        assert batch["x"].dtype == torch.float64 and batch["id"].dtype == torch.int64
        assert isinstance(batch["s"], list)
        for k in got:
            got[k] += batch[k] if k == "s" else batch[k].tolist()
    # The same rows (files are read in the dataset's own order, not in commit order).
    assert sorted(zip(*got.values())) == sorted(zip(*(expected[k].to_pylist() for k in got)))
    assert all(i % 5 == 1 and i >= 200 for i in got["id"])
    # A pyarrow compute expression (OR included) filters exactly, in the engine's read.
    ds = IterableDataset(table20, columns=["id"], filter=(pc.field("id") < 10) | (pc.field("id") > 2700))
    assert sorted(_ids(ds)) == [i for i in range(sum(SIZES_20)) if i < 10 or i > 2700]


@needs_torch
def test_output_arrow_numpy_and_tensor_types(table20: Table, tmp_path: Path) -> None:
    import numpy as np
    from datashard.torch import IterableDataset

    ds = IterableDataset(table20, batch_size=100, output="arrow")
    batches = list(ds)
    assert all(isinstance(b, pa.RecordBatch) and b.schema == ds.schema for b in batches)
    assert pa.Table.from_batches(batches).sort_by("id").equals(table20.to_arrow().sort_by("id"))

    numpy_batches = list(IterableDataset(table20, batch_size=100, output="numpy", columns=["id", "s"]))
    assert isinstance(numpy_batches[0]["id"], np.ndarray) and numpy_batches[0]["s"][0].startswith("s")

    typed = pa.schema(
        [
            pa.field("d", pa.date32()),
            pa.field("ts", pa.timestamp("us")),
            pa.field("b", pa.bool_()),
            pa.field("f", pa.float32()),
            pa.field("n", pa.int32()),
        ]
    )
    t = create_table(str(tmp_path / "typed"), typed)
    t.append(
        pa.table(
            {
                "d": [date(1970, 1, 11), date(2024, 1, 1)],
                "ts": [datetime(1970, 1, 1, 0, 0, 1), datetime(2024, 1, 1)],
                "b": [True, False],
                "f": [1.5, None],
                "n": [1, None],
            },
            schema=typed,
        )
    )
    (batch,) = IterableDataset(t, columns=["d", "ts", "b", "f"])
    assert batch["d"].tolist() == [10, 19723] and batch["d"].dtype == torch.int32
    assert batch["ts"].tolist()[0] == 1_000_000 and batch["ts"].dtype == torch.int64
    assert batch["b"].tolist() == [True, False] and batch["b"].dtype == torch.bool
    assert batch["f"].dtype == torch.float32 and batch["f"][0] == 1.5 and torch.isnan(batch["f"][1])
    with pytest.raises(ValueError, match='column "n".*nulls'):
        list(IterableDataset(t, columns=["n"]))
    (not_null,) = IterableDataset(t, columns=["n"], filter=col("n").not_null())
    assert not_null["n"].tolist() == [1]


@needs_torch
def test_tensors_share_the_arrow_memory() -> None:
    batch = pa.record_batch({"a": pa.array(range(10), pa.int64()), "f": pa.array([0.5] * 10)}).slice(3, 5)
    tensors = dstorch._batch_to_torch(torch, batch)
    for name, width in (("a", 8), ("f", 8)):
        column = batch.column(name)
        assert tensors[name].data_ptr() == column.buffers()[1].address + column.offset * width  # no copy
    assert tensors["a"].tolist() == [3, 4, 5, 6, 7]


@needs_torch
def test_pickles_without_a_handle(table20: Table) -> None:
    from datashard.torch import IterableDataset

    ds = IterableDataset(table20, batch_size=500, shuffle_seed=1, columns=["id"])
    ds.set_epoch(3)
    clone = pickle.loads(pickle.dumps(ds))
    assert type(clone) is IterableDataset and isinstance(clone, torch.utils.data.IterableDataset)
    assert clone._table is None and clone.snapshot_id == ds.snapshot_id and clone.epoch == 3
    assert _ids(clone) == _ids(ds)


# -- an S3 table: workers read from the store, rows written by distributed workers ------------


@needs_torch
def test_an_s3_table_written_by_new_append_feeds_every_row_once(tmp_path: Path, monkeypatch: Any) -> None:
    import uuid

    from s3_support import S3Server
    from torch.utils.data import DataLoader

    from datashard.torch import IterableDataset

    with S3Server() as server:
        bucket = "t" + uuid.uuid4().hex[:16]
        server.create_bucket(bucket)
        for name, value in {
            "AWS_ACCESS_KEY_ID": server.access_key,
            "AWS_SECRET_ACCESS_KEY": server.secret_key,
            "AWS_REGION": server.region,
            "AWS_ENDPOINT_URL": server.endpoint,
            "DATASHARD_LOCK_DIR": str(tmp_path / "locks"),
        }.items():
            monkeypatch.setenv(name, value)  # the DataLoader's workers inherit them
        url = f"s3://{bucket}/t"
        t = create_table(url, SCHEMA)
        append = t.new_append(target_file_size=16 * 1024)  # several files per writer
        files = []
        for k in range(4):
            files += append.write(_rows(k * 2500, 2500))
        assert len(files) > 4
        append.commit(files)
        assert len(t.snapshots()) == 1
        ds = IterableDataset(url, columns=["id", "g"], batch_size=256, shuffle_seed=3)
        seen: list[int] = []
        for batch in DataLoader(ds, batch_size=None, num_workers=2, multiprocessing_context="spawn"):
            assert set(batch) == {"id", "g"}
            seen += batch["id"].tolist()
        assert sorted(seen) == list(range(10_000))
