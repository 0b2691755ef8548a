"""A true counter: 12 processes x 100 read-modify-write increments of ONE row under
serializable isolation end at exactly 1,200, read from the table.

Each increment is ``Table.transact``: read the row, overwrite it with n + 1, commit; on a
conflict transact re-runs it. Besides the final value, every increment returns the value it
wrote, and those must be exactly 1..1,200 (two increments that read the same n would both
write n + 1: a lost update even if the final value were somehow right).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time

from datashard import Schema, create_table, load_table

PROCESSES = 12
INCREMENTS = 100
COUNTER = {"name": "counter"}


def _increment(tx) -> int:
    current = tx.to_arrow(columns=["value"], filter=COUNTER)
    assert current.num_rows == 1, current
    n = current["value"][0].as_py() + 1
    tx.overwrite({"name": ["counter"], "value": [n]}, where=COUNTER)
    return n


def _worker(path: str, increments: int, ready, go, results) -> None:
    table = load_table(path)
    calls = 0

    def counted(tx) -> int:
        nonlocal calls
        calls += 1
        return _increment(tx)

    ready.put(os.getpid())
    go.wait()
    values = [table.transact(counted, retries=10_000) for _ in range(increments)]
    results.put((values, calls - increments, time.time()))


def test_counter_12_processes_x_100_serializable_increments(tmp_path) -> None:
    path = str(tmp_path / "counter")
    schema = Schema(
        schema_id=0,
        fields=[
            {"id": 1, "name": "name", "type": "string", "required": True},
            {"id": 2, "name": "value", "type": "long", "required": True},
        ],
    )
    table = create_table(path, schema)
    table.append({"name": ["counter"], "value": [0]})

    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(path, INCREMENTS, ready, go, results)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    t0 = time.time()
    go.set()
    reports = [results.get(timeout=900) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    elapsed = max(r[2] for r in reports) - t0

    expected = PROCESSES * INCREMENTS
    fresh = load_table(path)
    data = fresh.to_arrow(filter=COUNTER)
    assert data.num_rows == 1
    assert data["value"][0].as_py() == expected
    assert sorted(v for r in reports for v in r[0]) == list(range(1, expected + 1))
    assert fresh.current_snapshot().sequence_number == expected + 1  # the first append + one per increment
    assert fresh.row_count() == 1

    retries = sum(r[1] for r in reports)
    print(
        f"\ncounter: {expected} increments ({PROCESSES} processes x {INCREMENTS}, serializable) in {elapsed:.1f} s "
        f"= {expected / elapsed:.1f} increments/s, {retries} retries ({retries / expected:.2f} per increment), "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
