"""Maintenance racing concurrent writers loses nothing: while writer processes append single rows,
another process compacts, expires snapshots and collects garbage (with a grace period) in a loop.
Afterwards every acknowledged row is in the table exactly once and every live file verifies."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import time
import traceback
from collections import Counter

from datashard import Schema, create_table, load_table

WRITERS = 3
COMMITS = 150  # per writer
GRACE = dt.timedelta(seconds=30)  # longer than any writer holds an uncommitted file here


def _writer(path: str, worker: int, ack_path: str) -> None:
    t = load_table(path)
    with open(ack_path, "w") as ack:
        for seq in range(COMMITS):
            t.append_records([{"worker": worker, "seq": seq}])
            ack.write(f"{seq}\n")  # acknowledged: the commit returned
            ack.flush()


def _maintainer(path: str, stop_path: str, report_path: str) -> None:
    t = load_table(path)
    counts: Counter[str] = Counter()
    errors: list[str] = []
    while not os.path.exists(stop_path):
        try:
            r = t.compact(target_file_size=1 << 20)
            counts["compactions"] += 1
            counts["files_compacted"] += r["rewritten_files"]
            r = t.expire_snapshots(retain_last=3)
            counts["snapshots_expired"] += len(r["expired_snapshot_ids"])
            counts["data_files_deleted"] += r["deleted_data_files"]
            r = t.remove_orphan_files(older_than=GRACE)
            counts["orphans_removed"] += len(r["orphans"])
            counts["gc"] += sum(t.garbage_collect(grace_period_ms=int(GRACE.total_seconds() * 1000)).values())
        except Exception:  # noqa: BLE001 - reported to the test
            errors.append(traceback.format_exc())
            break
        time.sleep(0.01)
    with open(report_path, "w") as f:
        json.dump({"counts": counts, "errors": errors}, f)


def test_maintenance_while_processes_write(tmp_path) -> None:
    path = str(tmp_path / "t")
    schema = Schema(
        0,
        [
            {"id": 1, "name": "worker", "type": "int", "required": True},
            {"id": 2, "name": "seq", "type": "long", "required": True},
        ],
    )
    create_table(path, schema, properties={"datashard.commit.durability": "process"})
    # Orphans left by some long-gone crashed writer: old enough for the collector.
    old_orphans = [os.path.join(path, "data", f"crashed-{k}.parquet") for k in range(3)]
    for p in old_orphans:
        with open(p, "wb") as f:
            f.write(b"PAR1 garbage")
        past = time.time() - 86400
        os.utime(p, (past, past))

    ctx = mp.get_context("spawn")
    stop_path, report_path = str(tmp_path / "stop"), str(tmp_path / "report.json")
    maintainer = ctx.Process(target=_maintainer, args=(path, stop_path, report_path))
    maintainer.start()
    acks = [str(tmp_path / f"ack-{w}") for w in range(WRITERS)]
    writers = [ctx.Process(target=_writer, args=(path, w, acks[w])) for w in range(WRITERS)]
    for p in writers:
        p.start()
    for p in writers:
        p.join(timeout=300)
    with open(stop_path, "w"):
        pass
    maintainer.join(timeout=300)
    assert [p.exitcode for p in writers] == [0] * WRITERS
    assert maintainer.exitcode == 0
    with open(report_path) as f:
        report = json.load(f)
    assert report["errors"] == [], report["errors"][0]
    counts = report["counts"]
    assert counts["compactions"] >= 1

    acknowledged = set()
    for w, ack_path in enumerate(acks):
        with open(ack_path) as f:
            acknowledged |= {(w, int(line)) for line in f if line.strip()}
    assert len(acknowledged) == WRITERS * COMMITS

    t = load_table(path)
    data = t.to_arrow()
    rows = Counter(zip(data["worker"].to_pylist(), data["seq"].to_pylist()))
    assert set(rows) == acknowledged
    assert max(rows.values()) == 1, "a row appears twice"
    assert t.row_count() == WRITERS * COMMITS
    assert t.verify()["ok"]
    assert not any(os.path.exists(p) for p in old_orphans)

    # One more pass with everything quiet shrinks the table to a few files and keeps every row.
    t.compact(target_file_size=1 << 20)
    t.expire_snapshots(retain_last=1)
    assert len(t.data_files()) == 1
    assert Counter(zip(*(t.to_arrow()[c].to_pylist() for c in ("worker", "seq")))) == rows
    print(f"\nmaintenance during {WRITERS}x{COMMITS} commits: {dict(counts)}")
