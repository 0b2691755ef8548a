"""``datashard demo``: P processes each make M increments, first to a plain JSON file, then to a
datashard table, and the results are read back and checked.

1. Plain JSON file, no locking: each increment reads ``{"counter": n}``, adds one and writes
   it back. Concurrent read-modify-write cycles overwrite each other; the file's final value
   shows how many increments survived.
2. datashard, in one of two modes:

   * ``append`` (default): each increment is its own commit appending one row
     ``{"worker": w, "seq": s, "value": 1}``. Afterwards the table is read back and the row
     count, ``sum(value)`` and the set of ``(worker, seq)`` pairs are checked against P*M.
   * ``counter``: the same read-modify-write as the JSON file, on ONE row
     ``{"name": "counter", "value": n}``: each increment is ``Table.transact`` under
     serializable isolation (read the row, overwrite it with n + 1, commit; re-run on
     conflict). Afterwards the value is read from the table and checked against P*M, every
     value the workers' increments produced must be distinct (1..P*M, each once: no two
     increments read the same n), and the table's history must hold one commit per increment.

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

__all__ = ["run_demo", "read_counter", "MODES"]

_SCHEMA_FIELDS = [
    {"id": 1, "name": "worker", "type": "int", "required": True},
    {"id": 2, "name": "seq", "type": "long", "required": True},
    {"id": 3, "name": "value", "type": "long", "required": True},
]

_READY_TIMEOUT_S = 300.0


# -- workers (top-level so that 'spawn' can import them) -------------------------------------------


_JSON_READ_ATTEMPTS = 1000


def _json_worker(path: str, commits: int, ready: Any, go: Any, results: Any) -> None:
    torn = 0
    ready.put(os.getpid())
    go.wait()
    for _ in range(commits):
        # A reader can catch the file between truncate and write (read again), or find it left
        # corrupt by two writers at once for good (then it takes the leading value, as the final
        # count does; re-reading forever would never end).
        for _attempt in range(_JSON_READ_ATTEMPTS):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            n, corrupt = _read_json_counter(text)
            if not corrupt or n:
                break
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


def _read_json_counter(text: str) -> tuple[int, bool]:
    """The counter a plain-file reader would see, and whether the file is no longer valid JSON."""
    try:
        return int(json.loads(text)["counter"]), False
    except (ValueError, KeyError, TypeError):
        pass
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
        return int(value["counter"]), True
    except (ValueError, KeyError, TypeError):
        return 0, True


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
        text = f.read()
    counter, corrupt = _read_json_counter(text)
    expected = processes * commits
    lost = expected - counter
    if corrupt:
        # two writers truncated and wrote at once: the shorter write left the longer one's tail behind
        out.line(f"      the file itself is corrupt: {text!r}; its leading value is taken as the count")
    out.line(f"      final counter in the file: {counter:,} (expected {expected:,})")
    out.line(
        f"      lost increments: {lost:,} ({100.0 * lost / expected:.1f}%), "
        f"torn reads re-read: {torn:,}, {elapsed:.2f} s"
    )
    return counter, elapsed


def _start_workers(ctx: Any, target: Any, args_for: Any, processes: int) -> tuple[list[Any], Any, Any, Any]:
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_for(w), ready, go, results)) for w in range(processes)]
    for p in procs:
        p.start()
    _wait_ready(ready, procs, processes)
    return procs, ready, go, results


def _collect(procs: list[Any], results: Any, processes: int, poll: Any) -> list[Any]:
    """Worker reports as they arrive; ``poll()`` prints progress while waiting."""
    reports: list[Any] = []
    while len(reports) < processes:
        try:
            reports.append(results.get(timeout=1.0))
            continue
        except Exception:
            pass
        if all(not p.is_alive() for p in procs) and results.empty():
            break  # a worker died without reporting
        poll()
    for p in procs:
        p.join()
    return reports


def _print_checks(out: _Out, checks: list[tuple[bool, str, str]]) -> bool:
    for passed, what, detail in checks:
        out.line(f"      {'PASS' if passed else 'FAIL'}  {what}" + ("" if passed else f" ({detail})"))
    return all(c[0] for c in checks)


def _print_failures(out: _Out, errors: list[tuple[int, str]], missing_reports: int, procs: list[Any]) -> None:
    for w, e in errors:
        out.line(f"      worker {w} failed:\n" + "\n".join("        " + ln for ln in e.rstrip().splitlines()))
    if missing_reports:
        out.line(f"      {missing_reports} worker(s) exited without reporting (exit codes {[p.exitcode for p in procs]})")



# -- append mode ----------------------------------------------------------------------------------------


def _run_append_phase(ctx: Any, workdir: str, processes: int, commits: int, out: _Out) -> bool:
    import pyarrow.compute as pc

    from datashard import Schema, create_table, load_table

    expected = processes * commits
    out.line("[2/2] datashard table, one commit per increment (one row appended per commit)")
    table_path = os.path.join(workdir, "table")
    table = create_table(table_path, Schema(schema_id=0, fields=_SCHEMA_FIELDS))
    procs, _, go, results = _start_workers(ctx, _table_worker, lambda w: (table_path, w, commits), processes)
    t0 = time.time()
    go.set()

    def poll() -> None:
        rows = table.row_count()
        rate = rows / max(time.time() - t0, 1e-9)
        out.progress(f"      committed rows (row_count from metadata): {rows:,}  {rate:,.0f} commits/s")

    reports = _collect(procs, results, processes, poll)
    end = max((r[2] for r in reports), default=time.time())
    elapsed = max(end - t0, 1e-9)
    out.progress(f"      committed rows (row_count from metadata): {table.row_count():,}", force=True)
    out.end_progress()
    errors = [(w, e) for (w, _, _, e) in reports if e]
    missing_reports = processes - len(reports)
    _print_failures(out, errors, missing_reports, procs)

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
    ok = _print_checks(out, checks)
    if snap is not None:
        out.line(f"      last snapshot: sequence number {snap.sequence_number}, id {snap.snapshot_id}")
    out.line(
        f"      {rows:,} commits verified in {elapsed:.2f} s = {rows / elapsed:,.1f} commits/s "
        f"({processes} processes, {os.cpu_count()} CPUs)"
    )
    return ok and not errors and not missing_reports


# -- counter mode -------------------------------------------------------------------------------------

_COUNTER_FIELDS = [
    {"id": 1, "name": "name", "type": "string", "required": True},
    {"id": 2, "name": "value", "type": "long", "required": True},
]
_COUNTER = {"name": "counter"}
# Enough for every worker to get through 12-way contention on 2 cores; the demo reports how many
# were needed. Table.transact's own default is 10.
_COUNTER_RETRIES = 10_000


def _increment(tx: Any) -> int:
    """One read-modify-write of the counter row, inside ``tx``; returns the value written."""
    current = tx.to_arrow(columns=["value"], filter=_COUNTER)
    if current.num_rows != 1:
        raise RuntimeError(f"expected exactly one counter row, read {current.num_rows}")
    n = int(current["value"][0].as_py()) + 1
    tx.overwrite({"name": ["counter"], "value": [n]}, where=_COUNTER)
    return n


def _counter_worker(path: str, worker: int, increments: int, ready: Any, go: Any, results: Any) -> None:
    done = 0
    calls = 0
    values: list[int] = []
    error = None
    try:
        from datashard import load_table

        table = load_table(path)

        def increment(tx: Any) -> int:
            nonlocal calls
            calls += 1  # transact runs this once per attempt: calls - done = retries
            return _increment(tx)

        ready.put(os.getpid())
        go.wait()
        for _ in range(increments):
            values.append(table.transact(increment, retries=_COUNTER_RETRIES, isolation="serializable"))
            done += 1
    except BaseException:
        error = traceback.format_exc(limit=3)
        ready.put(os.getpid())
    results.put((worker, done, calls - done, values, time.time(), error))


def read_counter(path: str) -> tuple[int, int]:
    """(value, number of counter rows) read from the table at ``path`` by a fresh handle."""
    from datashard import load_table

    data = load_table(path).to_arrow(columns=["value"], filter=_COUNTER)
    return (int(data["value"][0].as_py()) if data.num_rows else 0), data.num_rows


def _run_counter_phase(ctx: Any, workdir: str, processes: int, increments: int, out: _Out) -> bool:
    from datashard import Schema, create_table, load_table

    expected = processes * increments
    out.line("[2/2] datashard table, the same read-modify-write on one row: Table.transact, serializable")
    table_path = os.path.join(workdir, "counter-table")
    table = create_table(table_path, Schema(schema_id=0, fields=_COUNTER_FIELDS))
    table.append({"name": ["counter"], "value": [0]})
    procs, _, go, results = _start_workers(
        ctx, _counter_worker, lambda w: (table_path, w, increments), processes
    )
    t0 = time.time()
    go.set()

    def poll() -> None:
        value, _ = read_counter(table_path)
        rate = value / max(time.time() - t0, 1e-9)
        out.progress(f"      counter in the table: {value:,}  {rate:,.1f} increments/s")

    reports = _collect(procs, results, processes, poll)
    end = max((r[4] for r in reports), default=time.time())
    elapsed = max(end - t0, 1e-9)
    out.end_progress()
    errors = [(r[0], r[5]) for r in reports if r[5]]
    _print_failures(out, errors, processes - len(reports), procs)

    # Everything below comes from the table's files, read by a fresh handle.
    value, counter_rows = read_counter(table_path)
    reread = load_table(table_path)
    snap = reread.current_snapshot()
    commits = 0 if snap is None or snap.sequence_number is None else snap.sequence_number - 1  # minus the first append
    done = sum(r[1] for r in reports)
    retries = sum(r[2] for r in reports)
    produced = sorted(v for r in reports for v in r[3])
    distinct = produced == list(range(1, expected + 1))
    out.line(f"      final counter in the table: {value:,} (expected {expected:,})")
    ok = _print_checks(
        out,
        [
            (value == expected, f"counter read from the table == {expected:,}", f"got {value:,}"),
            (counter_rows == 1, "exactly one counter row", f"got {counter_rows}"),
            (
                distinct,
                f"the increments produced the values 1..{expected:,}, each once (no two read the same value)",
                f"{len(produced):,} values, {len(produced) - len(set(produced)):,} repeated",
            ),
            (commits == expected, f"one commit per increment ({expected:,})", f"got {commits:,}"),
        ],
    )
    out.line(
        f"      {done:,} increments in {elapsed:.2f} s = {done / elapsed:,.1f} increments/s "
        f"({processes} processes, {os.cpu_count()} CPUs)"
    )
    out.line(
        f"      retries (conflicts re-run by Table.transact): {retries:,} "
        f"({retries / max(done, 1):.2f} per increment)"
    )
    return ok and not errors and len(reports) == processes


MODES = ("append", "counter")


def run_demo(
    processes: int = 4,
    commits: int = 500,
    directory: str | None = None,
    keep: bool = False,
    stream: TextIO | None = None,
    mode: str = "append",
) -> int:
    """Run the demo; return 0 if every check on the table passed, 1 otherwise.

    ``mode``: ``"append"`` (one row appended per increment) or ``"counter"`` (one row updated
    by serializable read-modify-write transactions); see the module docstring.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    out = _Out(stream or sys.stdout)
    if directory is not None:  # a fresh folder inside it: never reuse an earlier run's table
        os.makedirs(directory, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="datashard-demo-", dir=directory)
    ctx = mp.get_context("spawn")
    try:
        out.line(f"datashard demo ({mode}): {processes} processes x {commits:,} increments each, in {workdir}")
        out.line("")
        out.line("[1/2] plain JSON file, read-modify-write without locking")
        _run_json_phase(ctx, workdir, processes, commits, out)
        out.line("")
        phase = _run_counter_phase if mode == "counter" else _run_append_phase
        ok = phase(ctx, workdir, processes, commits, out)
        out.line("")
        out.line(f"RESULT: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        if keep:
            out.line(f"(files kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
