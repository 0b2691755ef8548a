"""``datashard demo``: P processes each make M increments, first to a plain JSON file, then to a
datashard table, and the results are read back and checked.

1. Plain JSON file, no locking: each increment reads ``{"counter": n}``, adds one and writes
   it back. Concurrent read-modify-write cycles overwrite each other; the file's final value
   shows how many increments survived.
2. datashard: each increment is its own commit appending one row
   ``{"worker": w, "seq": s, "value": 1}``. Afterwards the table is read back and the row
   count, ``sum(value)`` and the set of ``(worker, seq)`` pairs are checked against P*M.

Every number reported is measured or read back from the files; the parameters give only the
expected values the results are compared against.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import traceback
from typing import Any, TextIO

__all__ = ["run_demo"]

_SCHEMA_FIELDS = [
    {"id": 1, "name": "worker", "type": "int", "required": True},
    {"id": 2, "name": "seq", "type": "long", "required": True},
    {"id": 3, "name": "value", "type": "long", "required": True},
]

_READY_TIMEOUT_S = 300.0


# -- workers (top-level so that 'spawn' can import them) -------------------------------------------


def _json_worker(path: str, commits: int, ready: Any, go: Any, results: Any) -> None:
    torn = 0
    ready.put(os.getpid())
    go.wait()
    for _ in range(commits):
        while True:  # a reader can catch the file between truncate and write; read again
            try:
                with open(path, encoding="utf-8") as f:
                    n = json.load(f)["counter"]
                break
            except (ValueError, KeyError):
                torn += 1
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"counter": n + 1}, f)
    results.put(torn)


def _table_worker(path: str, worker: int, commits: int, ready: Any, go: Any, results: Any) -> None:
    done = 0
    error = None
    try:
        from datashard import load_table

        table = load_table(path)  # every process opens the table itself
        ready.put(os.getpid())
        go.wait()
        for seq in range(commits):
            table.append_records([{"worker": worker, "seq": seq, "value": 1}])
            done += 1
    except BaseException:  # report, never hide: the checks below will also show the gap
        error = traceback.format_exc(limit=3)
        ready.put(os.getpid())  # in case it failed before saying it was ready
    results.put((worker, done, time.time(), error))


# -- helpers ------------------------------------------------------------------------------------------


class _Out:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_line = 0.0

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def progress(self, text: str, force: bool = False) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
        elif force or time.monotonic() - self._last_line >= 5.0:
            self._last_line = time.monotonic()
            self.line(text)

    def end_progress(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _wait_ready(ready: Any, procs: list[Any], count: int) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    seen = 0
    while seen < count:
        try:
            ready.get(timeout=1.0)
            seen += 1
        except Exception:
            if time.monotonic() > deadline or all(not p.is_alive() for p in procs):
                raise RuntimeError("worker processes did not start") from None


def _run_json_phase(ctx: Any, workdir: str, processes: int, commits: int, out: _Out) -> tuple[int, float]:
    path = os.path.join(workdir, "counter.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"counter": 0}, f)
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_json_worker, args=(path, commits, ready, go, results)) for _ in range(processes)]
    for p in procs:
        p.start()
    _wait_ready(ready, procs, processes)
    t0 = time.time()
    go.set()
    torn = 0
    for _ in range(processes):
        torn += results.get()
    for p in procs:
        p.join()
    elapsed = time.time() - t0
    with open(path, encoding="utf-8") as f:
        counter = int(json.load(f)["counter"])
    expected = processes * commits
    lost = expected - counter
    out.line(f"      final counter in the file: {counter:,} (expected {expected:,})")
    out.line(
        f"      lost increments: {lost:,} ({100.0 * lost / expected:.1f}%), "
        f"torn reads re-read: {torn:,}, {elapsed:.2f} s"
    )
    return counter, elapsed


def run_demo(
    processes: int = 4,
    commits: int = 500,
    directory: str | None = None,
    keep: bool = False,
    stream: TextIO | None = None,
) -> int:
    """Run the demo; return 0 if every check on the table passed, 1 otherwise."""
    import pyarrow.compute as pc

    from datashard import Schema, create_table, load_table

    out = _Out(stream or sys.stdout)
    expected = processes * commits
    if directory is not None:  # a fresh folder inside it: never reuse an earlier run's table
        os.makedirs(directory, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="datashard-demo-", dir=directory)
    ctx = mp.get_context("spawn")
    ok = False
    try:
        out.line(f"datashard demo: {processes} processes x {commits:,} increments each, in {workdir}")
        out.line("")
        out.line("[1/2] plain JSON file, read-modify-write without locking")
        _run_json_phase(ctx, workdir, processes, commits, out)
        out.line("")

        out.line("[2/2] datashard table, one commit per increment (one row appended per commit)")
        table_path = os.path.join(workdir, "table")
        table = create_table(table_path, Schema(schema_id=0, fields=_SCHEMA_FIELDS))
        ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
        procs = [
            ctx.Process(target=_table_worker, args=(table_path, w, commits, ready, go, results))
            for w in range(processes)
        ]
        for p in procs:
            p.start()
        _wait_ready(ready, procs, processes)
        t0 = time.time()
        go.set()
        reports: list[tuple[int, int, float, str | None]] = []
        while len(reports) < processes:
            try:
                reports.append(results.get(timeout=1.0))
                continue
            except Exception:
                pass
            if all(not p.is_alive() for p in procs) and results.empty():
                break  # a worker died without reporting
            rows = table.row_count()
            rate = rows / max(time.time() - t0, 1e-9)
            out.progress(f"      committed rows (row_count from metadata): {rows:,}  {rate:,.0f} commits/s")
        for p in procs:
            p.join()
        end = max((r[2] for r in reports), default=time.time())
        elapsed = max(end - t0, 1e-9)
        out.progress(f"      committed rows (row_count from metadata): {table.row_count():,}", force=True)
        out.end_progress()

        errors = [(w, e) for (w, _, _, e) in reports if e]
        missing_reports = processes - len(reports)
        for w, e in errors:
            out.line(f"      worker {w} failed:\n" + "\n".join("        " + ln for ln in e.rstrip().splitlines()))
        if missing_reports:
            out.line(f"      {missing_reports} worker(s) exited without reporting (exit codes {[p.exitcode for p in procs]})")

        # Everything below comes from the table's files, read by a fresh handle.
        t_read = time.time()
        reread = load_table(table_path)
        data = reread.to_arrow(columns=["worker", "seq", "value"], parallel=True)
        read_s = time.time() - t_read
        rows = data.num_rows
        total = pc.sum(data["value"]).as_py() or 0
        counts = data.group_by(["worker", "seq"]).aggregate([([], "count_all")])
        distinct = counts.num_rows
        duplicated = int(pc.sum(pc.greater(counts["count_all"], 1)).as_py() or 0)
        in_range = pc.and_(
            pc.and_(pc.greater_equal(counts["worker"], 0), pc.less(counts["worker"], processes)),
            pc.and_(pc.greater_equal(counts["seq"], 0), pc.less(counts["seq"], commits)),
        )
        distinct_in_range = int(pc.sum(in_range).as_py() or 0)
        unexpected = distinct - distinct_in_range
        missing = expected - distinct_in_range
        metadata_rows = reread.row_count()
        snap = reread.current_snapshot()
        files = len(reread.data_files())

        out.line(f"      read back {rows:,} rows from {files:,} data files in {read_s:.2f} s")
        checks = [
            (rows == expected, f"rows read back == {expected:,}", f"got {rows:,}"),
            (total == expected, f"sum(value) == {expected:,}", f"got {total:,}"),
            (
                duplicated == 0 and missing == 0 and unexpected == 0,
                "every (worker, seq) pair present exactly once",
                f"{missing:,} missing, {duplicated:,} duplicated, {unexpected:,} unexpected",
            ),
            (metadata_rows == rows, "row_count() from metadata agrees with the data", f"metadata says {metadata_rows:,}"),
        ]
        for passed, what, detail in checks:
            out.line(f"      {'PASS' if passed else 'FAIL'}  {what}" + ("" if passed else f" ({detail})"))
        if snap is not None:
            out.line(f"      last snapshot: sequence number {snap.sequence_number}, id {snap.snapshot_id}")
        out.line(
            f"      {rows:,} commits verified in {elapsed:.2f} s = {rows / elapsed:,.1f} commits/s "
            f"({processes} processes, {os.cpu_count()} CPUs)"
        )
        ok = all(c[0] for c in checks) and not errors and not missing_reports
        out.line("")
        out.line(f"RESULT: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        if keep:
            out.line(f"(files kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
