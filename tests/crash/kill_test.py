#!/usr/bin/env python3
"""Crash test: writer processes are killed with SIGKILL at random moments; after every kill the
table must be whole.

Each iteration starts ``--writers`` appenders and ``--rewriters`` rewriters on one table and
kills every one of them with SIGKILL after an independent random delay (0..``--max-delay`` s
after it is ready), so kills land anywhere: while a data file is written, while a manifest is
flushed, mid-publish, between commits.

* An appender commits 3 rows per commit, all carrying the commit's id (``commit_id``, ``k`` =
  0, 1, 2). It writes ``begin <id>`` to its own log before ``Table.append`` and ``ack <id>``
  only after it returned: an acknowledged commit. Odd ids carry a commit key (a killed one is
  retried by the next round's writer); even ids carry none, so they take part in group commit
  (a writer that loses a race is applied by whoever commits next) and a killed one is not
  retried: it may land or not, but at most once.
* A rewriter runs ``Table.transact`` (serializable) on one acknowledged commit: it reads its 3
  rows and overwrites them with ``gen + 1`` (copy-on-write delete + append in one commit), and
  logs ``begin-rewrite <id>`` / ``ack-rewrite <id>`` the same way.

* A reader (``--readers``, default 1) loops for as long as it lives: it notes the commits
  acknowledged so far (from the logs), opens the table afresh and reads it whole, and checks
  what a reader racing writers must see: every commit it noted, and every commit whole (rows
  k = 0, 1, 2 of one ``gen``). It logs ``read <rows>`` or ``bad-read <what>`` per read (to a
  ``.rlog``, outside the oracle's logs) and is killed like the writers.

After each kill a fresh process-level check (the oracle is the logs):

1. the table opens (``load_table``), and ``row_count()`` from metadata equals the rows read;
2. every acknowledged commit id is present, with exactly its 3 rows, once each;
3. no partial commit is visible: every commit id present has exactly rows k = 0, 1, 2, with one
   ``gen`` for all three (an overwrite is never half applied), and that ``gen`` is at least the
   number of acknowledged rewrites of it and at most the number begun;
4. no reader of the round logged a bad read;
5. PyIceberg opens the current metadata file and sees the same current snapshot (and, every
   ``--pyiceberg-every`` iterations and at the end, the same rows).

At the end the files no snapshot of any metadata version references (orphans: left by killed
writers) are counted by kind. Removing them is maintenance's job (issue 5); this only reports.

Output ends with one line ``crash: N passed, M failed`` and the exit status is 1 on any failure.

    PYTHONPATH=python python tests/crash/kill_test.py                    # short: 50 iterations
    PYTHONPATH=python python tests/crash/kill_test.py --iterations 200   # long mode
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

# The checkout's package when its extension is built in-tree (python/datashard/_core*.so);
# otherwise whatever datashard the interpreter finds (an installed wheel, PYTHONPATH).
_REPO_PYTHON = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "python")
_IN_TREE = [p for p in glob.glob(os.path.join(_REPO_PYTHON, "datashard", "_core*.so")) if os.path.exists(p)]
if _IN_TREE and _REPO_PYTHON not in sys.path:
    sys.path.insert(0, _REPO_PYTHON)

ROWS_PER_COMMIT = 3
IDS_PER_WRITER = 10**6

FIELDS = [
    {"id": 1, "name": "commit_id", "type": "long", "required": True},
    {"id": 2, "name": "k", "type": "int", "required": True},
    {"id": 3, "name": "gen", "type": "int", "required": True},
    {"id": 4, "name": "writer", "type": "long", "required": True},
    {"id": 5, "name": "payload", "type": "string"},
]


# -- the processes that get killed ----------------------------------------------------------------------


def _log(fd: int, line: str) -> None:
    os.write(fd, (line + "\n").encode())  # one write(2) on an O_APPEND file: whole lines


def _commit_rows(commit_id: int, writer: int, gen: int) -> list[dict[str, Any]]:
    return [
        {"commit_id": commit_id, "k": k, "gen": gen, "writer": writer, "payload": f"{commit_id}/{k}" * 8}
        for k in range(ROWS_PER_COMMIT)
    ]


def _warm_up() -> None:
    """Arrow initialises its compute functions on first use (~150 ms in pyarrow 26); do it before
    saying ready, so that the kill window covers commits, not that."""
    import pyarrow as pa

    pa.array([0]).cast(pa.int32())


def _commit_key(commit_id: int) -> str:
    return f"kill-test-{commit_id}"


def _in_flight(log_path: str) -> int | None:
    """The commit a killed appender had begun but not acknowledged, if any."""
    if not os.path.exists(log_path):
        return None
    with open(log_path, encoding="utf-8") as f:
        lines = f.read().split()
    return int(lines[-1]) if len(lines) >= 2 and lines[-2] == "begin" else None


def run_appender(table_path: str, log_path: str, writer: int, resume_log: str) -> None:
    from datashard import load_table

    table = load_table(table_path)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    _warm_up()
    print("ready", flush=True)
    # A restarted writer first retries the commit its predecessor was killed in, with the same
    # commit key: it must be applied exactly once, whether or not the killed try had landed.
    retry = _in_flight(resume_log)
    if retry is not None and retry % 2 == 1:
        _log(fd, f"retry {retry}")
        _log(fd, f"begin {retry}")  # last, so that a kill during the retry is retried again
        table.append(_commit_rows(retry, retry // IDS_PER_WRITER, 0), commit_key=_commit_key(retry))
        _log(fd, f"ack {retry}")
    seq = 0
    while True:
        commit_id = writer * IDS_PER_WRITER + seq
        _log(fd, f"begin {commit_id}")
        key = _commit_key(commit_id) if commit_id % 2 == 1 else None
        table.append(_commit_rows(commit_id, writer, 0), commit_key=key)
        _log(fd, f"ack {commit_id}")
        seq += 1


def _acked(log_dir: str) -> list[int]:
    out = []
    for path in glob.glob(os.path.join(log_dir, "*.log")):
        with open(path, encoding="utf-8") as f:
            out += [int(line.split()[1]) for line in f if line.startswith("ack ")]
    return out


def run_rewriter(table_path: str, log_path: str, log_dir: str, seed: int) -> None:
    from datashard import load_table

    rng = random.Random(seed)
    table = load_table(table_path)
    candidates = _acked(log_dir)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    _warm_up()
    print("ready", flush=True)
    if not candidates:
        time.sleep(3600)
    while True:
        commit_id = rng.choice(candidates)

        def rewrite(tx: Any) -> None:
            rows = tx.to_arrow(filter={"commit_id": commit_id})
            gens = set(rows["gen"].to_pylist())
            if rows.num_rows != ROWS_PER_COMMIT or len(gens) != 1:
                raise SystemExit(f"rewriter read commit {commit_id} as {rows.to_pylist()}")
            writer = rows["writer"][0].as_py()
            replaced = tx.overwrite(_commit_rows(commit_id, writer, gens.pop() + 1), where={"commit_id": commit_id})
            if replaced != ROWS_PER_COMMIT:
                raise SystemExit(f"rewriter replaced {replaced} rows of commit {commit_id}")

        _log(fd, f"begin-rewrite {commit_id}")
        table.transact(rewrite, retries=1000)
        _log(fd, f"ack-rewrite {commit_id}")


def _commit_groups(data: Any) -> tuple[dict[int, int], list[str]]:
    """({commit id: its gen}, problems) for rows of (commit_id, k, gen): each commit must be
    whole (rows k = 0, 1, 2 once each) and of one generation (an overwrite is never half seen)."""
    groups = data.group_by("commit_id").aggregate(
        [("k", "count"), ("k", "count_distinct"), ("k", "min"), ("k", "max"), ("gen", "min"), ("gen", "max")]
    )
    present: dict[int, int] = {}
    problems: list[str] = []
    for g in groups.to_pylist():
        cid = g["commit_id"]
        whole = (
            g["k_count"] == ROWS_PER_COMMIT
            and g["k_count_distinct"] == ROWS_PER_COMMIT
            and g["k_min"] == 0
            and g["k_max"] == ROWS_PER_COMMIT - 1
        )
        if not whole:
            problems.append(f"commit {cid} is partial or duplicated: {g}")
        if g["gen_min"] != g["gen_max"]:
            problems.append(f"commit {cid} has rows of different generations (half an overwrite): {g}")
        present[cid] = g["gen_max"]
    return present, problems


def run_reader(table_path: str, log_path: str, log_dir: str) -> None:
    from datashard import load_table

    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    _warm_up()
    print("ready", flush=True)
    while True:
        acked = set(_acked(log_dir))  # acknowledged before the table is opened: must be seen
        data = load_table(table_path).to_arrow(columns=["commit_id", "k", "gen"])
        present, problems = _commit_groups(data)
        missing = sorted(acked - present.keys())
        if missing:
            problems.append(f"{len(missing)} acknowledged commits not seen: {missing[:5]}")
        _log(fd, f"bad-read {json.dumps(problems[:3])}" if problems else f"read {data.num_rows}")


def _reads(log_dir: str, prefix: str) -> tuple[int, list[str]]:
    """(good reads, bad-read lines) of the readers whose logs start with ``prefix``."""
    good, bad = 0, []
    for path in glob.glob(os.path.join(log_dir, prefix + "*.rlog")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("read "):
                    good += 1
                elif line.startswith("bad-read "):
                    bad.append(line.strip())
    return good, bad


# -- the checker ----------------------------------------------------------------------------------------


class Oracle:
    """What the logs say must (and may) be in the table."""

    def __init__(self, log_dir: str) -> None:
        self.acked: set[int] = set()
        self.begun: set[int] = set()
        self.rewrites_acked: collections.Counter[int] = collections.Counter()
        self.rewrites_begun: collections.Counter[int] = collections.Counter()
        self.in_flight: dict[str, tuple[str, int]] = {}  # log name -> its last line, if a "begin"
        self.retried: set[int] = set()  # in-flight commits a restarted writer retried (same key)
        for path in sorted(glob.glob(os.path.join(log_dir, "*.log"))):
            last = None
            with open(path, encoding="utf-8") as f:
                for line in f:
                    word, _, value = line.strip().partition(" ")
                    if not value:
                        continue  # a torn last line cannot happen with one write(2), but be safe
                    cid = int(value)
                    {
                        "begin": self.begun.add,
                        "ack": self.acked.add,
                        "begin-rewrite": lambda c: self.rewrites_begun.update([c]),
                        "ack-rewrite": lambda c: self.rewrites_acked.update([c]),
                        "retry": self.retried.add,
                    }[word](cid)
                    if word != "retry":
                        last = (word, cid)
            if last is not None and last[0].startswith("begin"):
                self.in_flight[os.path.basename(path)] = last


def _grouped_commits(table_path: str) -> tuple[int, int]:
    """(commits that applied other writers' appends, appends they applied for others), over the
    whole history."""
    from datashard import load_table

    grouped = [h for h in load_table(table_path).history() if "datashard.group-size" in h["summary"]]
    return len(grouped), sum(int(h["summary"]["datashard.group-size"]) - 1 for h in grouped)


def check_table(
    table_path: str, log_dir: str, pyiceberg_rows: bool, round_prefix: str = ""
) -> tuple[list[str], dict[str, Any]]:
    """Problems found (empty = whole) and figures; the in-flight figures are for the logs whose
    names start with ``round_prefix`` (the round just killed)."""
    from datashard import load_table

    problems: list[str] = []
    oracle = Oracle(log_dir)
    table = load_table(table_path)
    data = table.to_arrow(columns=["commit_id", "k", "gen"])
    if table.row_count() != data.num_rows:
        problems.append(f"row_count() {table.row_count()} != {data.num_rows} rows read")
    present, found = _commit_groups(data)
    problems += found
    for cid in present:
        if cid not in oracle.begun:
            problems.append(f"commit {cid} is in the table but no writer began it")
    lost = sorted(oracle.acked - present.keys())
    if lost:
        problems.append(f"{len(lost)} acknowledged commits are missing: {lost[:10]}")
    for cid, n in oracle.rewrites_acked.items():
        if present.get(cid, -1) < n:
            problems.append(f"commit {cid}: {n} acknowledged rewrites but gen {present.get(cid)}")
    for cid, gen in present.items():
        if gen > oracle.rewrites_begun.get(cid, 0):
            problems.append(f"commit {cid}: gen {gen} but only {oracle.rewrites_begun.get(cid, 0)} rewrites begun")

    # PyIceberg opens the metadata file the table is at.
    from pyiceberg.table import StaticTable

    st = StaticTable.from_metadata(table.metadata_location)
    ours = table.current_snapshot()
    theirs = st.current_snapshot()
    if (ours is None) != (theirs is None) or (ours is not None and ours.snapshot_id != theirs.snapshot_id):
        problems.append(f"PyIceberg's current snapshot {theirs} != ours {ours}")
    if pyiceberg_rows:
        key = ["commit_id", "k", "gen"]
        a = sorted(st.scan(selected_fields=tuple(key)).to_arrow().select(key).to_pylist(), key=str)
        b = sorted(data.select(key).to_pylist(), key=str)
        if a != b:
            problems.append(f"PyIceberg reads {len(a)} rows, we read {len(b)}, or they differ")

    this_round = [last for name, last in oracle.in_flight.items() if name.startswith(round_prefix)]
    appends = [cid for word, cid in this_round if word == "begin"]
    rewrites = [cid for word, cid in this_round if word == "begin-rewrite"]
    figures = {
        "commits": len(present),
        "acked": len(oracle.acked),
        "rows": data.num_rows,
        "in_flight_appends": len(appends),
        "in_flight_appends_landed": sum(1 for cid in appends if cid in present),
        "in_flight_rewrites": len(rewrites),
        "in_flight_rewrites_landed": sum(1 for cid in rewrites if present.get(cid, 0) > oracle.rewrites_acked[cid]),
        "rewrites_acked": sum(oracle.rewrites_acked.values()),
        "retried": len(oracle.retried),
        "version": table.version,
        "unacked_present": len(present.keys() - oracle.acked),
    }
    return problems, figures


def count_orphans(table_path: str) -> dict[str, tuple[int, int]]:
    """Files under the table no metadata version references: {kind: (files, bytes)}.

    Walks every ``v<N>.metadata.json`` (every published version), every snapshot's manifest
    list and every manifest, read independently of the engine (JSON + fastavro).
    """
    import fastavro

    meta_dir = os.path.join(table_path, "metadata")
    referenced: set[str] = set()
    manifest_lists: set[str] = set()
    for path in glob.glob(os.path.join(meta_dir, "v*.metadata.json")):
        referenced.add(os.path.abspath(path))
        with open(path, encoding="utf-8") as f:
            metadata = json.load(f)
        for snap in metadata.get("snapshots", []):
            manifest_lists.add(_local(snap["manifest-list"]))
        for entry in metadata.get("metadata-log", []):
            referenced.add(_local(entry["metadata-file"]))
    manifests: set[str] = set()
    for path in manifest_lists:
        referenced.add(path)
        with open(path, "rb") as f:
            manifests.update(_local(r["manifest_path"]) for r in fastavro.reader(f))
    for path in manifests:
        referenced.add(path)
        with open(path, "rb") as f:
            referenced.update(_local(r["data_file"]["file_path"]) for r in fastavro.reader(f))

    orphans: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for root, _, names in os.walk(table_path):
        for name in names:
            path = os.path.abspath(os.path.join(root, name))
            if path in referenced or name in ("version-hint.text", ".commit-queue.lock"):
                continue
            if name.endswith(".parquet"):
                kind = "data files"
            elif name.startswith("snap-") and name.endswith(".avro"):
                kind = "manifest lists"
            elif name.endswith(".avro"):
                kind = "manifests"
            elif name.endswith(".metadata.json"):
                kind = "metadata files"
            else:
                kind = "temporary files"
            orphans[kind][0] += 1
            orphans[kind][1] += os.path.getsize(path)
    return {k: (v[0], v[1]) for k, v in orphans.items()}


def _local(path: str) -> str:
    for prefix in ("file://", "file:"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    return os.path.abspath(path)


# -- the driver -----------------------------------------------------------------------------------------


def _spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.1)
        if ready:
            return proc.stdout.readline().strip() == "ready"
        if proc.poll() is not None:
            return False
    return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--iterations", type=int, default=50, help="kill rounds (default 50; long mode: 200)")
    p.add_argument("--time-limit", type=float, default=None, help="stop starting rounds after this many seconds")
    p.add_argument("--writers", type=int, default=2, help="appenders per round (default 2)")
    p.add_argument("--rewriters", type=int, default=1, help="rewriters per round (default 1)")
    p.add_argument("--readers", type=int, default=1, help="readers per round (default 1)")
    p.add_argument("--max-delay", type=float, default=0.4, help="kill within this many seconds of ready")
    p.add_argument("--pyiceberg-every", type=int, default=10, help="compare PyIceberg's rows every N rounds")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument(
        "--durability",
        choices=("fsync", "process"),
        default="fsync",
        help="the table's commit durability (both must survive kill -9; default fsync)",
    )
    p.add_argument("--dir", default=None, help="work directory (default: a new temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the table and logs")
    p.add_argument("--appender", nargs=4, metavar=("TABLE", "LOG", "WRITER", "RESUME"), help=argparse.SUPPRESS)
    p.add_argument("--rewriter", nargs=4, metavar=("TABLE", "LOG", "LOGDIR", "SEED"), help=argparse.SUPPRESS)
    p.add_argument("--reader", nargs=3, metavar=("TABLE", "LOG", "LOGDIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.appender:
        run_appender(args.appender[0], args.appender[1], int(args.appender[2]), args.appender[3])
        return 0
    if args.rewriter:
        run_rewriter(args.rewriter[0], args.rewriter[1], args.rewriter[2], int(args.rewriter[3]))
        return 0
    if args.reader:
        run_reader(*args.reader)
        return 0

    from datashard import Schema, create_table

    seed = args.seed if args.seed is not None else random.randrange(2**31)
    rng = random.Random(seed)
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="datashard-kill-", dir=args.dir)
    table_path = os.path.join(workdir, "table")
    log_dir = os.path.join(workdir, "logs")
    os.makedirs(log_dir)
    # The default metadata window (32 snapshots): a retry often comes more than 32 commits after
    # the original, so commit keys must be found along the metadata-log chain.
    create_table(
        table_path, Schema(schema_id=0, fields=FIELDS), properties={"datashard.commit.durability": args.durability}
    )
    print(
        f"kill test: seed {seed}, {args.iterations} rounds x ({args.writers} appenders + {args.rewriters} "
        f"rewriters + {args.readers} readers), kill within {args.max_delay} s, durability {args.durability}, in {workdir}",
        flush=True,
    )
    started = time.monotonic()
    passed = failed = 0
    kills = 0
    totals: collections.Counter[str] = collections.Counter()
    figures: dict[str, Any] = {}
    try:
        for it in range(args.iterations):
            if args.time_limit is not None and time.monotonic() - started > args.time_limit:
                break
            procs = []
            for w in range(args.writers):
                writer = it * 100 + w + 1
                log = os.path.join(log_dir, f"{it:05d}-a{w}.log")
                resume = os.path.join(log_dir, f"{it - 1:05d}-a{w}.log")  # the killed predecessor's
                procs.append(_spawn(["--appender", table_path, log, str(writer), resume]))
            for r in range(args.rewriters):
                log = os.path.join(log_dir, f"{it:05d}-r{r}.log")
                procs.append(_spawn(["--rewriter", table_path, log, log_dir, str(rng.randrange(2**31))]))
            for r in range(args.readers):
                procs.append(_spawn(["--reader", table_path, os.path.join(log_dir, f"{it:05d}-q{r}.rlog"), log_dir]))
            problems: list[str] = []
            ready_at = []
            for proc in procs:
                if not _wait_ready(proc, 60):
                    problems.append(f"a writer did not start: {proc.poll()} {proc.stderr.read()[-2000:]}")
                ready_at.append(time.monotonic())
            schedule = sorted((at + rng.uniform(0, args.max_delay), i) for i, at in enumerate(ready_at))
            for when, i in schedule:
                time.sleep(max(0.0, when - time.monotonic()))
                if procs[i].poll() is None:
                    os.kill(procs[i].pid, signal.SIGKILL)
            for proc in procs:
                proc.wait(timeout=60)
                if proc.returncode != -signal.SIGKILL:
                    problems.append(f"a writer exited by itself ({proc.returncode}): {proc.stderr.read()[-2000:]}")
                else:
                    kills += 1
                proc.stdout.close()
                proc.stderr.close()
            good_reads, bad_reads = _reads(log_dir, f"{it:05d}-")
            totals["reads"] += good_reads + len(bad_reads)
            problems += [f"a reader saw: {line}" for line in bad_reads]
            final = it == args.iterations - 1
            try:
                found, figures = check_table(
                    table_path,
                    log_dir,
                    pyiceberg_rows=final or (it + 1) % args.pyiceberg_every == 0,
                    round_prefix=f"{it:05d}-",
                )
                problems += found
                for key in ("in_flight_appends", "in_flight_appends_landed", "in_flight_rewrites", "in_flight_rewrites_landed"):
                    totals[key] += figures[key]
            except Exception as e:  # the table did not open, or could not be read
                problems.append(f"check failed: {type(e).__name__}: {e}")
            if problems:
                failed += 1
                print(f"round {it}: FAIL", flush=True)
                for problem in problems:
                    print(f"  {problem}", flush=True)
            else:
                passed += 1
            if (it + 1) % 10 == 0 or problems:
                print(
                    f"round {it + 1}: {figures.get('commits', 0)} commits ({figures.get('acked', 0)} acknowledged), "
                    f"metadata v{figures.get('version', 0)}, {time.monotonic() - started:.0f} s",
                    flush=True,
                )
        rounds = passed + failed
        # A final check with PyIceberg's rows, whatever round the time limit stopped at.
        final_problems, figures = check_table(table_path, log_dir, pyiceberg_rows=True)
        if final_problems:
            failed += 1
            for problem in final_problems:
                print(f"  final: {problem}", flush=True)
        orphans = count_orphans(table_path)
        grouped = _grouped_commits(table_path)
        elapsed = time.monotonic() - started
        print(f"rounds: {rounds} in {elapsed:.0f} s, seed {seed}")
        print(f"processes killed with SIGKILL: {kills}")
        print(
            f"reads by {args.readers} reader(s) per round, racing the writers: {totals['reads']}, each saw every "
            f"commit acknowledged before it opened the table, and only whole commits"
            + ("" if failed == 0 else " (except where a FAIL line says otherwise)")
        )
        print(
            f"kills inside Table.append: {totals['in_flight_appends']} (that commit had landed: "
            f"{totals['in_flight_appends_landed']}; those with a commit key were retried by the next round's "
            f"writer with the same key: {figures['retried']} retries, every commit present at most once); inside "
            f"Table.transact (overwrite): {totals['in_flight_rewrites']} (landed: "
            f"{totals['in_flight_rewrites_landed']}); the others left at most orphan files"
        )
        print(
            f"table: {figures['commits']} commits of {ROWS_PER_COMMIT} rows ({figures['acked']} acknowledged, "
            f"{figures['unacked_present']} committed but killed before the acknowledgement), "
            f"{figures['rewrites_acked']} acknowledged rewrites, metadata version {figures['version']}"
        )
        print(
            f"group commit: {grouped[0]} commits applied {grouped[1]} appends of writers that had lost a race"
        )
        print("acknowledged commits lost: 0" if failed == 0 else "acknowledged commits lost: see FAIL lines")
        total = sum(n for n, _ in orphans.values())
        print(
            f"orphan files (for maintenance, issue 5): {total}"
            + "".join(f"; {kind}: {n} ({size / 1024:.0f} KiB)" for kind, (n, size) in sorted(orphans.items()))
        )
        print(f"crash: {passed} passed, {failed} failed")
        return 0 if failed == 0 and rounds > 0 else 1
    finally:
        if args.keep or failed:
            print(f"(files kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
