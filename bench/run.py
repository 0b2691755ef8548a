#!/usr/bin/env python3
"""datashard benchmark suite: one command, every system, the same data, the same run.

    python bench/run.py [--quick | --mode quick|medium|full] [--workloads ...] [--systems ...]
                        [--out bench/results/<date>]

Each system runs in processes of its own (``bench/worker.py`` under that system's
interpreter), so imports never clash: datashard from this checkout (PYTHONPATH to
python/), pyarrow (the floor) from the interpreter running this script, and the original
``datashard`` package, PyIceberg (SQL catalog on SQLite), deltalake and pylance each from a
virtual environment under the cache dir (created on first use from PyPI; quick mode never
creates one and skips a peer that is not there). Within each repetition the systems take
turns, in an order that rotates from one repetition to the next; figures are medians over
repetitions, with ratios to datashard. Outputs in --out: results.json (raw), results.md
(tables), one PNG chart per workload (matplotlib from its own venv), and the log.

This script needs only the standard library; see docs/benchmarks.md for the method.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "worker.py")
sys.path.insert(0, HERE)

import report

SYSTEMS = ["datashard", "datashard-process", "datashard-files", "datashard-stream", "original", "pyiceberg", "deltalake",
           "lance", "pyarrow", "pyarrow-zstd", "floor"]
# Measured in the commit workload only: a variant of datashard, and the syscall floor.
COMMIT_ONLY = {"datashard-process", "datashard-files", "floor"}
# Measured in the bulk workload only: datashard appending a stream of batches, and pyarrow's
# writer with datashard's codec (zstd), the floor issue 24 compares bulk appends with.
BULK_ONLY = {"datashard-stream", "pyarrow-zstd"}
LABELS = {
    "datashard": "datashard (this checkout)",
    "datashard-process": "datashard, durability=process",
    "datashard-files": "datashard, rows in group-commit intents off",
    "original": "datashard 0.x (original, PyPI)",
    "pyiceberg": "PyIceberg + SQLite catalog",
    "deltalake": "deltalake (delta-rs)",
    "lance": "Lance (pylance)",
    "pyarrow": "pyarrow Parquet (floor)",
    "pyarrow-zstd": "pyarrow Parquet, zstd (floor, datashard's codec)",
    "datashard-stream": "datashard, streamed append (RecordBatchReader)",
    "floor": "syscall floor of a durable commit (Python os calls)",
    "pyarrow-dsfiles": "pyarrow on datashard's files",
    "interpreter": "the Python interpreter alone (floor)",
}
WORKLOADS = ["commits", "cold", "bulk", "scan", "lookup", "history", "timetravel", "memory"]

# Peers install from PyPI into their own venvs; datashard and pyarrow need none.
VENV_REQUIREMENTS = {
    "original": ["datashard", "pyarrow"],
    "pyiceberg": ["pyiceberg[sql-sqlite,pyarrow]"],
    "deltalake": ["deltalake", "pyarrow"],
    "lance": ["pylance", "pyarrow"],
    "charts": ["matplotlib"],
}

MODES: dict[str, dict[str, Any]] = {
    # CI smoke test: every workload runs, on tiny sizes, in seconds.
    "quick": dict(cold=3, reps=1, bulk_rows=20_000, procs=[3, 2], commits=3, commit_budget_s=30, history=[10, 30], measure=5,
                  batch=8192, budget_s=60, timeout_s=180),
    # A run that fits ~15 minutes on a 2-core machine.
    "medium": dict(cold=20, reps=2, bulk_rows=1_000_000, procs=[12, 2], commits=50, commit_budget_s=45, history=[100, 1000],
                   measure=50, batch=65536, budget_s=240, timeout_s=600),
    # The published run (a quiet machine; an hour or more).
    "full": dict(cold=50, reps=3, bulk_rows=10_000_000, procs=[12, 2], commits=100, commit_budget_s=300,
                 history=[100, 1000, 10000], measure=50, batch=65536, budget_s=1800, timeout_s=3600),
}


class Unavailable(Exception):
    pass


def log(msg: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if LOG_FILE is not None:
        LOG_FILE.write(line + "\n")
        LOG_FILE.flush()


LOG_FILE = None


# -- environments -----------------------------------------------------------------------------


def venv_python(cache: str, name: str) -> str:
    return os.path.join(cache, "venvs", name, "bin", "python")


def ensure_venv(cache: str, name: str, create: bool, upgrade: bool) -> str:
    """The interpreter of venv ``name``, created (or upgraded) from PyPI if allowed."""
    root = os.path.join(cache, "venvs", name)
    marker = os.path.join(root, ".bench-requirements.json")
    reqs = VENV_REQUIREMENTS[name]
    current = None
    if os.path.exists(marker):
        with open(marker) as f:
            current = json.load(f)
    if current == reqs and not upgrade:
        return venv_python(cache, name)
    if not create:
        raise Unavailable(f"not installed (no venv at {root}; quick mode creates none: run bench/run.py --setup)")
    log(f"venv {name}: {'upgrading' if current == reqs else 'creating'} {root} with {' '.join(reqs)}")
    if current != reqs:
        subprocess.run([sys.executable, "-m", "venv", "--clear", root], check=True)
    cmd = [venv_python(cache, name), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if upgrade:
        cmd.append("--upgrade")
    r = subprocess.run(cmd + reqs, capture_output=True, text=True)
    if r.returncode != 0:
        raise Unavailable(f"pip install {' '.join(reqs)} failed: {r.stderr.strip()[-300:]}")
    with open(marker, "w") as f:
        json.dump(reqs, f)
    return venv_python(cache, name)


def system_command(system: str, cache: str, create: bool, upgrade: bool) -> tuple[str, dict]:
    """(interpreter, environment) for the worker processes of ``system``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if system in ("datashard", "datashard-process", "datashard-files", "datashard-stream"):
        # This checkout's package when its extension is built in-tree (python/datashard/_core*.so,
        # the developer set-up), else the installed package (as in CI, which pip-installs it).
        # The versions reply records which one ran.
        pkg = os.path.join(REPO, "python", "datashard")
        if any(n.startswith("_core") for n in os.listdir(pkg)) if os.path.isdir(pkg) else False:
            env["PYTHONPATH"] = os.path.join(REPO, "python")
        return sys.executable, env
    if system in ("pyarrow", "pyarrow-zstd", "floor"):
        return sys.executable, env
    return ensure_venv(cache, system, create, upgrade), env


# -- child processes --------------------------------------------------------------------------


class Runner:
    def __init__(self, args: argparse.Namespace, cfg: dict, work: str) -> None:
        self.args, self.cfg, self.work = args, cfg, work
        self.cmds: dict[str, tuple[str, dict]] = {}
        self.req_n = 0
        self.live: set[subprocess.Popen] = set()
        self.stderr_dir = os.path.join(work, "stderr")
        os.makedirs(self.stderr_dir, exist_ok=True)

    def _request(self, system: str, op: str, args: dict) -> str:
        self.req_n += 1
        impl = "pyarrow" if system == "pyarrow-dsfiles" else system.replace("-", "_")
        path = os.path.join(self.work, "requests", f"{self.req_n:05d}-{system}-{op}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(dict(args, system=impl, op=op), f)
        return path

    def _popen(self, system: str, op: str, args: dict, stdin=None) -> subprocess.Popen:
        py, env = self.cmds["pyarrow" if system == "pyarrow-dsfiles" else system]
        req = self._request(system, op, args)
        err = open(os.path.join(self.stderr_dir, os.path.basename(req) + ".err"), "w")
        p = subprocess.Popen([py, WORKER, req], env=env, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=err, text=True, cwd=HERE)
        err.close()
        self.live.add(p)
        return p

    def kill_all(self) -> None:
        """End the worker processes this runner started and that are still running."""
        for p in list(self.live):
            if p.poll() is None:
                p.kill()
                p.wait()
        self.live.clear()

    def call(self, system: str, op: str, timeout: float | None = None, **args) -> dict:
        p = self._popen(system, op, args)
        try:
            out, _ = p.communicate(timeout=timeout or self.cfg["timeout_s"])
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return {"ok": False, "error": f"timeout after {timeout or self.cfg['timeout_s']:.0f} s"}
        finally:
            self.live.discard(p)
        return _parse_reply(out, p.returncode)

    def group(self, system: str, requests: list[dict], timeout: float) -> list[dict]:
        """Start one process per request, wait until all are READY, release them together."""
        procs = [self._popen(system, "commit_loop", dict(r, barrier=True), stdin=subprocess.PIPE) for r in requests]
        early: dict[int, dict] = {}
        for i, p in enumerate(procs):
            line = p.stdout.readline()
            if line.strip() != "READY":
                early[i] = _parse_reply(line + p.stdout.read(), p.wait())
        for i, p in enumerate(procs):
            if i not in early:
                p.stdin.write("GO\n")
                p.stdin.flush()
        replies = []
        deadline = time.monotonic() + timeout
        for i, p in enumerate(procs):
            if i in early:
                replies.append(early[i])
                continue
            try:
                out, _ = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
                replies.append(_parse_reply(out, p.returncode))
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                replies.append({"ok": False, "error": f"timeout after {timeout:.0f} s"})
        for p in procs:
            self.live.discard(p)
        return replies


def _parse_reply(out: str, rc: int | None) -> dict:
    for line in reversed((out or "").strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    return {"ok": False, "error": f"worker exited {rc} without a reply (see stderr/ in the work dir)"}


def rotated(systems: list[str], rep: int) -> list[str]:
    k = rep % len(systems) if systems else 0
    return systems[k:] + systems[:k]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    i = min(len(xs) - 1, max(0, int(round(q / 100 * (len(xs) - 1)))))
    return xs[i]


def rmtree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


# -- machine ----------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def machine(work: str) -> dict:
    cpuinfo = _read("/proc/cpuinfo")
    model = next((l.split(":", 1)[1].strip() for l in cpuinfo.splitlines() if l.startswith("model name")), platform.processor())
    mem_kb = next((int(l.split()[1]) for l in _read("/proc/meminfo").splitlines() if l.startswith("MemTotal")), 0)
    best = ("", "", "")
    for line in _read("/proc/mounts").splitlines():
        dev, mnt, fstype = line.split()[:3]
        if (work + "/").startswith(mnt.rstrip("/") + "/") and len(mnt) >= len(best[1]):
            best = (dev, mnt, fstype)
    dev = os.path.basename(best[0])
    rot = _read(f"/sys/block/{dev}/queue/rotational").strip()
    du = shutil.disk_usage(work)
    git = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "disk": {"device": best[0], "mount": best[1], "fstype": best[2],
                 "rotational": {"0": False, "1": True}.get(rot), "size_gib": round(du.total / 2**30),
                 "free_gib": round(du.free / 2**30)},
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "git_commit": git,
        "git_dirty": bool(dirty),
    }


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds the whole machine has spent busy since boot, CPU seconds of this runner and
    its finished children). Their growth over a run, subtracted, is what other work took from the
    machine meanwhile; the load average cannot tell the run's own processes from others'."""
    import resource

    with open("/proc/stat", encoding="ascii") as f:
        ticks = [int(x) for x in f.readline().split()[1:9]]
    busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait
    own = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        own += ru.ru_utime + ru.ru_stime
    return busy, own


# -- workloads --------------------------------------------------------------------------------


def w_commits(r: Runner, systems: list[str], res: dict) -> None:
    cfg = r.cfg
    m = cfg["commits"]
    out = res.setdefault("commits", {})
    for p in cfg["procs"]:
        key = f"P{p}"
        per = out.setdefault(key, {})
        for rep in range(cfg["reps"]):
            for s in rotated(systems, rep):
                path = os.path.join(r.work, s, f"commits-{key}-r{rep}")
                rmtree(path)
                c = r.call(s, "create", path=path, schema="commit")
                if not c.get("ok"):
                    per.setdefault(s, {"runs": []})["runs"].append({"ok": False, "error": "create: " + c.get("error", "")})
                    log(f"commits {key} rep {rep} {s}: create failed: {c.get('error')}")
                    continue
                # Each process stops starting commits after commit_budget_s, so a system that
                # crawls under contention is measured on what it did in that time.
                budget = cfg["commit_budget_s"]
                reqs = [dict(path=path, worker=w, start_seq=0, n=m, budget_s=budget) for w in range(p)]
                replies = r.group(s, reqs, timeout=budget + 180)
                run = summarize_commit_group(replies)
                acked = [[rep_["worker"], q] for rep_ in replies if rep_.get("ok") for q in rep_["acked"]]
                rb = r.call(s, "readback", path=path, acked=acked)
                run["readback"] = rb
                run["ok"] = all(x.get("ok") for x in replies) and rb.get("ok", False)
                per.setdefault(s, {"runs": []})["runs"].append(run)
                run["planned"] = p * m
                log(f"commits {key} rep {rep} {s}: {run['committed']}/{p * m} acked, {run['errors']} errors, "
                    f"{_fmt(run.get('commits_per_s'))} commits/s, read back {rb.get('rows')} rows"
                    + (f", {rb.get('acked_missing')} acked rows missing" if rb.get("acked_missing") else "")
                    + ("" if rb.get("ok") else f" (read back failed: {rb.get('error')})"))
                if not r.args.keep_work:
                    rmtree(path)
        for s, v in per.items():
            runs = v["runs"]
            v["summary"] = {
                "commits_per_s": med([x.get("commits_per_s") for x in runs]),
                "p50_ms": med([x.get("p50_ms") for x in runs]),
                "p95_ms": med([x.get("p95_ms") for x in runs]),
                "attempted": sum(x.get("attempted", 0) for x in runs),
                "planned": sum(x.get("planned", 0) for x in runs),
                "committed": sum(x.get("committed", 0) for x in runs),
                "errors": sum(x.get("errors", 0) for x in runs),
                "error_samples": [e for x in runs for e in x.get("error_samples", [])][:3],
                "worker_failures": [e for x in runs for e in x.get("worker_failures", [])][:3],
                "acked_missing": sum((x.get("readback") or {}).get("acked_missing", 0) or 0 for x in runs),
                "duplicates": sum((x.get("readback") or {}).get("duplicates", 0) or 0 for x in runs),
                "unacked_present": sum((x.get("readback") or {}).get("unacked_present", 0) or 0 for x in runs),
                "rows_read_back": sum((x.get("readback") or {}).get("rows", 0) or 0 for x in runs),
                "readback_errors": [x["readback"].get("error") for x in runs
                                    if x.get("readback") and not x["readback"].get("ok")][:2],
            }


# One commit from a fresh process (a worker that starts, records one result and exits): the
# code each library's user writes for it, with the interpreter of the system's venv. argv:
# table path, worker, seq. The row is the commit workload's, so op_readback checks it.
_COLD_ROW = ("w, s = int(sys.argv[2]), int(sys.argv[3])\n"
             "ts = datetime.datetime(2024, 1, 1) + datetime.timedelta(microseconds=s)\n")
_COLD_ARROW = (_COLD_ROW + "import pyarrow as pa\n"
               "row = pa.table({'worker': pa.array([w], pa.int64()), 'seq': pa.array([s], pa.int64()),\n"
               "                'ts': pa.array([ts], pa.timestamp('us')), 'payload': [f'w{w}-s{s}']})\n")
COLD_SCRIPTS = {
    # the original's API, unchanged: the same script measures both
    "datashard": "import datetime, sys\nimport datashard\n" + _COLD_ROW
                 + "datashard.load_table(sys.argv[1]).append_records("
                   "[{'worker': w, 'seq': s, 'ts': ts, 'payload': f'w{w}-s{s}'}])\n",
    "deltalake": "import datetime, sys\nfrom deltalake import write_deltalake\n" + _COLD_ARROW
                 + "write_deltalake(sys.argv[1], row, mode='append')\n",
    "lance": "import datetime, sys\nimport lance\n" + _COLD_ARROW
             + "lance.write_dataset(row, sys.argv[1], mode='append')\n",
}
COLD_SCRIPTS["original"] = COLD_SCRIPTS["datashard"]


def w_cold(r: Runner, systems: list[str], res: dict) -> None:
    """Wall time of a fresh process that imports the library, opens a table and commits one
    row, spawn to exit, one process at a time, the systems taking turns; then every row is
    read back. ``interpreter``: the Python interpreter alone (``python -c ''``), the floor."""
    out = res.setdefault("cold", {})
    systems = [s for s in systems if s in COLD_SCRIPTS] + ["interpreter"]
    r.cmds.setdefault("interpreter", system_command("floor", r.args.cache_dir, False, False))
    paths = {}
    for s in systems:
        paths[s] = os.path.join(r.work, s, "cold")
        rmtree(paths[s])
        if s != "interpreter":
            c = r.call(s, "create", path=paths[s], schema="commit")
            if not c.get("ok"):
                out[s] = {"ok": False, "error": "create: " + str(c.get("error"))}
                log(f"cold {s}: create failed: {c.get('error')}")
        out.setdefault(s, {"ok": True, "wall_ms": [], "failures": []})
    systems = [s for s in systems if out[s].get("ok")]
    n = r.cfg["cold"]
    # Seq n first, untimed: it warms the page cache and writes the bytecode caches an
    # installed package has from pip (the workers' PYTHONDONTWRITEBYTECODE is dropped here).
    for seq in [n, *range(n)]:
        for s in rotated(systems, seq):
            py, env = r.cmds[s]
            env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
            t0 = time.perf_counter()
            p = subprocess.run([py, "-c", COLD_SCRIPTS.get(s, ""), paths[s], "0", str(seq)], env=env, cwd=r.work,
                               capture_output=True, text=True, timeout=r.cfg["timeout_s"])
            wall = time.perf_counter() - t0
            if p.returncode == 0:
                if seq < n:
                    out[s]["wall_ms"].append(round(wall * 1e3, 2))
            elif len(out[s]["failures"]) < 3:
                out[s]["failures"].append(p.stderr[-400:])
    for s in systems:
        v = out[s]
        v["p50_ms"], v["p95_ms"] = med(v["wall_ms"]), pct(v["wall_ms"], 95)
        if s != "interpreter":
            acked = [[0, q] for q in range(n + 1)]
            v["readback"] = r.call(s, "readback", path=paths[s], acked=acked)
            v["ok"] = v["readback"].get("ok", False) and v["readback"].get("acked_missing") == 0 and not v["failures"]
        log(f"cold {s}: p50 {_fmt(v['p50_ms'])} ms, p95 {_fmt(v['p95_ms'])} ms over {len(v['wall_ms'])} processes"
            + (f", read back {v['readback'].get('rows')} rows" if "readback" in v else ""))
        if not r.args.keep_work:
            rmtree(paths[s])


SYNC_CALLS = ("fsync", "fdatasync", "syncfs", "sync_file_range", "msync", "sync")


def count_barriers(trace: str) -> tuple[int, int]:
    """(flush calls, flush barriers) in an ``strace -f -ttt -T`` log. Calls that overlap in time
    (one thread's fsync starting before another's has returned) share a journal commit and
    count as one barrier; a call that starts after every earlier one has returned is a new one."""
    calls = []
    for line in trace.splitlines():
        parts = line.split(None, 2)  # pid, start time, rest
        if len(parts) < 3 or "resumed>" in parts[2]:
            continue
        name = parts[2].split("(", 1)[0]
        if name not in SYNC_CALLS:
            continue
        start = float(parts[1])
        if "<unfinished ...>" in parts[2]:  # its duration is on the matching "resumed" line
            rest = [x for x in trace.splitlines() if x.startswith(parts[0] + " ") and f"<... {name} resumed>" in x
                    and float(x.split(None, 2)[1]) >= start]
            end = float(rest[0].split(None, 2)[1]) if rest else start
        else:
            tail = parts[2].rsplit("<", 1)
            end = start + (float(tail[1].rstrip(">\n ")) if len(tail) == 2 else 0.0)
        calls.append((start, end))
    calls.sort()
    barriers, group_end = 0, None
    for start, end in calls:
        if group_end is None or start > group_end:
            barriers += 1
            group_end = end
        else:
            group_end = max(group_end, end)
    return len(calls), barriers


def w_barriers(r: Runner, systems: list[str], res: dict) -> None:
    """Flush calls and flush barriers per commit: one writer, single-row commits, under strace."""
    out = res.setdefault("barriers", {})
    strace = shutil.which("strace")
    n = max(20, min(200, r.cfg["commits"] * 2))
    for s in systems:
        if s == "pyarrow":
            continue
        if strace is None:
            out[s] = {"ok": False, "error": "strace is not installed"}
            continue
        path = os.path.join(r.work, s, "barriers")
        rmtree(path)
        c = r.call(s, "create", path=path, schema="commit")
        if not c.get("ok"):
            out[s] = {"ok": False, "error": "create: " + c.get("error", "")}
            continue
        log_path = os.path.join(r.work, f"strace-{s}.log")
        py, env = r.cmds[s]
        req = r._request(s, "commit_loop", dict(path=path, worker=0, start_seq=0, n=n))
        p = subprocess.run([strace, "-f", "-ttt", "-T", "-e", "trace=" + ",".join(SYNC_CALLS), "-o", log_path,
                            py, WORKER, req], env=env, capture_output=True, text=True, cwd=HERE,
                           timeout=r.cfg["timeout_s"])
        reply = _parse_reply(p.stdout, p.returncode)
        if not reply.get("ok"):
            out[s] = {"ok": False, "error": reply.get("error", "commit loop failed")}
            continue
        calls, barriers = count_barriers(_read(log_path))
        done = len(reply["acked"])
        out[s] = {"ok": True, "commits": done, "sync_calls": calls, "barriers": barriers,
                  "sync_calls_per_commit": calls / done if done else None,
                  "barriers_per_commit": barriers / done if done else None}
        log(f"barriers {s}: {done} commits, {calls} flush calls, {barriers} barriers "
            f"({out[s]['barriers_per_commit']:.2f} per commit)")
        rmtree(path)


def summarize_commit_group(replies: list[dict]) -> dict:
    good = [x for x in replies if x.get("ok")]
    lat = [v for x in good for v in x["latencies"]]
    committed = sum(len(x["acked"]) for x in good)
    errors = sum(x["errors"] for x in good)
    wall = (max(x["t_end"] for x in good) - min(x["t_start"] for x in good)) if good else None
    return {
        "processes": len(replies),
        "attempted": sum(len(x["latencies"]) for x in good),
        "committed": committed,
        "errors": errors,
        "error_samples": [e for x in good for e in x["error_samples"]][:5],
        "worker_failures": [x.get("error") for x in replies if not x.get("ok")][:5],
        "wall_s": wall,
        "commits_per_s": committed / wall if wall else None,
        "p50_ms": (pct(lat, 50) or 0) * 1000 if lat else None,
        "p95_ms": (pct(lat, 95) or 0) * 1000 if lat else None,
    }


def bulk_input(r: Runner, rows: int) -> str:
    path = os.path.join(r.work, f"input-{rows}.arrow")
    if not os.path.exists(path):
        x = r.call("pyarrow", "make_input", rows=rows, out=path)
        if not x.get("ok"):
            raise RuntimeError(f"could not build the input data: {x.get('error')}")
    return path


def table_path(r: Runner, s: str, name: str) -> str:
    return os.path.join(r.work, s, name)


def setup_tables(r: Runner, systems: list[str], res: dict, timed: bool) -> dict[str, str]:
    """Bulk tables (workload 2 when ``timed``) and the tiny warm-up tables the readers use."""
    n = r.cfg["bulk_rows"]
    inp = bulk_input(r, n)
    small = bulk_input(r, 1000)
    for s in systems:
        w = table_path(r, s, "warmup")
        if not os.path.exists(w):
            x = r.call(s, "bulk_write", path=w, input=small)
            if not x.get("ok"):
                log(f"warm-up table {s}: {x.get('error')}")
    ready: dict[str, str] = {}
    out = res.setdefault("bulk", {}) if timed else {}
    reps = r.cfg["reps"] if timed else 1
    for rep in range(reps):
        for s in rotated(systems, rep):
            path = table_path(r, s, f"bulk-r{rep}")
            rmtree(path)
            x = r.call(s, "bulk_write", path=path, input=inp)
            if x.get("ok"):
                x["rows_per_s"] = x["rows"] / x["seconds"]
                x["rows_per_s_durable"] = x["rows"] / x["seconds_durable"]
                if rep == 0:
                    ready[s] = path
                elif not r.args.keep_work:
                    rmtree(path)
            if timed:
                out.setdefault(s, {"runs": []})["runs"].append(x)
                log(f"bulk rep {rep} {s}: " + (f"{_fmt(x['rows_per_s'])} rows/s, {x['bytes_on_disk'] / 1e6:.1f} MB on disk, "
                                               f"{x['files']} files" if x.get("ok") else f"FAILED {x.get('error')}"))
            elif not x.get("ok"):
                log(f"bulk table {s}: FAILED {x.get('error')}")
    for s, v in out.items():
        runs = [x for x in v["runs"] if x.get("ok")]
        v["summary"] = {
            "rows": n,
            "rows_per_s": med([x["rows_per_s"] for x in runs]),
            "rows_per_s_durable": med([x["rows_per_s_durable"] for x in runs]),
            "seconds": med([x["seconds"] for x in runs]),
            "bytes_on_disk": med([x["bytes_on_disk"] for x in runs]),
            "files": med([x["files"] for x in runs]),
            "write_bytes": med([x["io"].get("write_bytes") for x in runs]),
            "peak_rss_mb": med([x["maxrss_kb"] / 1024 for x in runs]),
            "error": None if runs else (v["runs"][0].get("error") if v["runs"] else "no run"),
        }
    return ready


def _readers(r: Runner, systems: list[str], tables: dict[str, str]) -> dict[str, dict]:
    """Who reads what in the scan and memory workloads: each system its own table, and
    pyarrow also datashard's data files (issue 4: the same Parquet files, read directly)."""
    readers = {s: {"path": tables[s]} for s in systems if s in tables}
    if "datashard" in tables and "pyarrow" in systems:
        x = r.call("datashard", "data_paths", path=tables["datashard"])
        if x.get("ok"):
            readers["pyarrow-dsfiles"] = {"path": tables["datashard"], "files": x["paths"]}
    for s, d in readers.items():
        d["warmup_path"] = table_path(r, "pyarrow" if s == "pyarrow-dsfiles" else s, "warmup")
    return readers


def w_scan(r: Runner, systems: list[str], tables: dict[str, str], res: dict) -> None:
    n = r.cfg["bulk_rows"]
    lo, hi = selective_range(n)
    readers = _readers(r, systems, tables)
    out = res.setdefault("scan", {})
    cases = [("full", None, n), ("filtered", [lo, hi], hi - lo + 1)]
    names = list(readers)
    for rep in range(r.cfg["reps"]):
        for s in rotated(names, rep):
            for case, rng, expect in cases:
                for cold in (True, False):
                    x = r.call(s, "read", id_range=rng, cold=cold, **readers[s])
                    if x.get("ok") and x["rows"] != expect:
                        x["ok"] = False
                        x["error"] = f"wrong result: {x['rows']} rows, expected {expect}"
                    key = f"{case}_{'cold' if cold else 'warm'}"
                    out.setdefault(s, {}).setdefault(key, []).append(x)
                    log(f"scan rep {rep} {s} {key}: " + (
                        f"{x['seconds'] * 1000:.1f} ms, {x['rows'] / x['seconds']:,.0f} rows/s, "
                        f"disk read {x['io'].get('read_bytes', 0) / 1e6:.1f} MB" if x.get("ok") else f"FAILED {x.get('error')}"))
    for s, v in out.items():
        summ = {}
        for key, runs in v.items():
            if key == "summary":
                continue
            ok = [x for x in runs if x.get("ok")]
            summ[key] = {
                "seconds": med([x["seconds"] for x in ok]),
                "rows": ok[0]["rows"] if ok else None,
                "rows_per_s": med([x["rows"] / x["seconds"] for x in ok]),
                "read_bytes": med([x["io"].get("read_bytes") for x in ok]),
                "rchar": med([x["io"].get("rchar") for x in ok]),
                "peak_rss_mb": med([x["maxrss_kb"] / 1024 for x in ok]),
                "error": None if ok else (runs[0].get("error") if runs else "no run"),
            }
        summ["table_rows"] = n
        summ["filter"] = f"{lo} <= id <= {hi}"
        v["summary"] = summ


def w_lookup(r: Runner, systems: list[str], res: dict) -> None:
    """Selective reads of the lookup table (``bulk_rows`` rows, data.lookup_table): an OR of
    two narrow ranges of the sorted ``id`` (0.1 % of the rows) and a point lookup of one
    unsorted, all-distinct ``key``, each cold and warm; every answer's row count is checked."""
    import data

    n = r.cfg["bulk_rows"]
    out = res.setdefault("lookup", {"rows": n})
    source = os.path.join(r.work, f"lookup-input-{n}.arrow")
    x = r.call("pyarrow", "make_input", rows=n, out=source, kind="lookup")
    if not x.get("ok"):
        raise RuntimeError(f"could not build the lookup data: {x.get('error')}")
    queries = data.lookup_queries(n)
    for s in systems:
        path = os.path.join(r.work, s, "lookup")
        rmtree(path)
        w = r.call(s, "lookup_write", path=path, input=source)
        per = out.setdefault(s, {"ok": w.get("ok", False), "bytes": w.get("bytes"), "error": w.get("error")})
        if not w.get("ok"):
            log(f"lookup {s}: write failed: {w.get('error')}")
            continue
        for name, q in queries.items():
            query = {k: v for k, v in q.items() if k != "rows"}
            for cold in (True, False):
                runs = [r.call(s, "lookup", path=path, query=query, cold=cold) for _ in range(r.cfg["reps"])]
                good = [x for x in runs if x.get("ok")]
                wrong = [x["rows"] for x in good if x["rows"] != q["rows"]]
                per[f"{name}_{'cold' if cold else 'warm'}"] = {
                    "ms": med([x["seconds"] * 1e3 for x in good]),
                    "read_mb": med([x["io"].get("rchar", 0) / 1e6 for x in good]),
                    "disk_mb": med([x["io"].get("read_bytes", 0) / 1e6 for x in good]),
                    "rows": good[0]["rows"] if good else None,
                    "expected_rows": q["rows"],
                    "ok": bool(good) and not wrong,
                    "error": None if good else runs[0].get("error"),
                }
            c = per[f"{name}_cold"]
            log(f"lookup {s} {name}: cold {_fmt(c['ms'])} ms ({_fmt(c['disk_mb'])} MB from disk), warm "
                f"{_fmt(per[name + '_warm']['ms'])} ms, {c['rows']} rows (expected {q['rows']})")
        if not r.args.keep_work:
            rmtree(path)


def w_memory(r: Runner, systems: list[str], tables: dict[str, str], res: dict) -> None:
    readers = _readers(r, systems, tables)
    out = res.setdefault("memory", {})
    n = r.cfg["bulk_rows"]
    for rep in range(r.cfg["reps"]):
        for s in rotated(list(readers), rep):
            x = r.call(s, "stream", batch_size=r.cfg["batch"], **readers[s])
            if x.get("ok") and x["rows"] != n:
                x["ok"], x["error"] = False, f"wrong result: {x['rows']} rows, expected {n}"
            out.setdefault(s, {"runs": []})["runs"].append(x)
            log(f"memory rep {rep} {s}: " + (
                f"peak RSS {x['maxrss_kb'] / 1024:.0f} MB (before the scan {x['maxrss_before_kb'] / 1024:.0f} MB), "
                f"{x['batches']} batches" if x.get("ok") else f"FAILED {x.get('error')}"))
    for s, v in out.items():
        ok = [x for x in v["runs"] if x.get("ok")]
        v["summary"] = {
            "peak_rss_mb": med([x["maxrss_kb"] / 1024 for x in ok]),
            "baseline_rss_mb": med([x["maxrss_before_kb"] / 1024 for x in ok]),
            "delta_rss_mb": med([(x["maxrss_kb"] - x["maxrss_before_kb"]) / 1024 for x in ok]),
            "rows_per_s": med([x["rows"] / x["seconds"] for x in ok]),
            "batches": med([x["batches"] for x in ok]),
            "batch_size": r.cfg["batch"],
            "error": None if ok else (v["runs"][0].get("error") if v["runs"] else "no run"),
        }


def w_history(r: Runner, systems: list[str], res: dict, measure: bool, travel: bool) -> None:
    """Workloads 4 and 5 on one growing table per system: build to each checkpoint (one
    process per build chunk, untimed), then measure the next commits and time travel."""
    cfg = r.cfg
    checkpoints = sorted(cfg["history"])
    marks = sorted({max(0, h // 2 - 1) for h in checkpoints})
    hist = res.setdefault("history", {}) if measure else {}
    tt = res.setdefault("timetravel", {}) if travel else {}
    state = {}
    for s in systems:
        path = table_path(r, s, "history")
        rmtree(path)
        c = r.call(s, "create", path=path, schema="commit")
        state[s] = {"path": path, "count": 0, "tokens": {}, "spent": 0.0,
                    "stopped": None if c.get("ok") else f"create failed: {c.get('error')}"}

    def commit(s: str, n: int, budget: float | None) -> dict:
        st = state[s]
        x = r.call(s, "commit_loop", timeout=(budget or cfg["timeout_s"]) + 120, path=st["path"], worker=0,
                   start_seq=st["count"], n=n, budget_s=budget, marks=marks)
        if x.get("ok"):
            st["count"] += len(x["acked"])
            st["tokens"].update(x["tokens"])
            st["spent"] += sum(x["latencies"])
        return x

    for h in checkpoints:
        for s in systems:
            st = state[s]
            if st["stopped"]:
                continue
            need = h - st["count"]
            t0 = time.monotonic()
            x: dict = {}
            while need > 0 and not st["stopped"]:
                left = cfg["budget_s"] - st["spent"]
                if left <= 0:
                    break
                x = commit(s, need, left)
                if not x.get("ok"):
                    st["stopped"] = f"building history failed at {st['count']} commits: {x.get('error')}"
                elif x["errors"]:
                    st["stopped"] = f"commits failed while building history at {st['count']}: {x['error_samples'][0]}"
                need = h - st["count"]
            if need > 0 and not st["stopped"]:
                last = x["latencies"][-20:] if x.get("ok") else []
                st["stopped"] = (f"building {h:,} commits exceeded the {cfg['budget_s']:.0f} s budget at "
                                 f"{st['count']:,} commits (last commits {1000 * (med(last) or 0):.0f} ms each)")
            log(f"history {s}: {st['count']:,} commits" + (f" (stopped: {st['stopped']})" if st["stopped"] else
                                                            f", built in {time.monotonic() - t0:.1f} s"))
        live = [s for s in systems if not state[s]["stopped"] and state[s]["count"] == h]
        if travel:
            token_key = str(max(0, h // 2 - 1))
            for rep in range(cfg["reps"]):
                for s in rotated(live, rep):
                    st = state[s]
                    if s == "pyarrow":  # no versions to travel to
                        continue
                    token = st["tokens"].get(token_key)
                    x = r.call(s, "time_travel", path=st["path"], version=token,
                               warmup_path=table_path(r, s, "warmup"))
                    if x.get("ok") and x["rows"] != h // 2:
                        x["ok"], x["error"] = False, f"wrong result: {x['rows']} rows at version {token}, expected {h // 2}"
                    if x.get("ok") and x.get("open_rows", h // 2) != h // 2:
                        x["ok"], x["error"] = False, (f"wrong row count from metadata: {x['open_rows']} at version "
                                                      f"{token}, expected {h // 2}")
                    tt.setdefault(s, {}).setdefault(str(h), []).append(x)
                    log(f"time travel h={h} {s}: " + (f"open {x.get('open_seconds', float('nan')) * 1000:.1f} ms, "
                                                       f"read {x['seconds'] * 1000:.1f} ms (again in-process "
                                                       f"{x['seconds_again'] * 1000:.1f} ms)" if x.get("ok")
                                                       else f"FAILED {x.get('error')}"))
        if measure:
            for rep in range(cfg["reps"]):
                for s in rotated(live, rep):
                    x = commit(s, cfg["measure"], None)
                    hist.setdefault(s, {}).setdefault(str(h), []).append(x)
                    lat = x.get("latencies") or []
                    log(f"commit latency h={h} rep {rep} {s}: p50 {1000 * (pct(lat, 50) or 0):.1f} ms, "
                        f"p95 {1000 * (pct(lat, 95) or 0):.1f} ms" + (f", {x['errors']} errors" if x.get("errors") else "")
                        + ("" if x.get("ok") else f" FAILED {x.get('error')}"))
    for s in systems:
        stop = state[s]["stopped"]
        if measure:
            v = hist.setdefault(s, {})
            summ = {}
            for h in checkpoints:
                runs = [x for x in v.get(str(h), []) if x.get("ok")]
                lat = [t for x in runs for t in x["latencies"]]
                summ[str(h)] = {"p50_ms": 1000 * pct(lat, 50), "p95_ms": 1000 * pct(lat, 95), "n": len(lat),
                                "errors": sum(x["errors"] for x in runs)} if lat else {"error": stop or "no run"}
            v["summary"] = summ
            v["stopped"] = stop
            v["commits_built"] = state[s]["count"]
        if travel and s != "pyarrow":
            v = tt.setdefault(s, {})
            summ = {}
            for h in checkpoints:
                runs = [x for x in v.get(str(h), []) if x.get("ok")]
                summ[str(h)] = {"ms": 1000 * med([x["seconds"] for x in runs]),
                                "again_ms": 1000 * med([x["seconds_again"] for x in runs]),
                                "open_ms": (1000 * med([x["open_seconds"] for x in runs])
                                            if all("open_seconds" in x for x in runs) else None),
                                "version_rows": h // 2} if runs else {
                    "error": (v.get(str(h)) or [{}])[0].get("error") or stop or "no run"}
            v["summary"] = summ
    if not r.args.keep_work:
        for s in systems:
            rmtree(state[s]["path"])


def selective_range(n: int) -> tuple[int, int]:
    # Same as data.selective_range (kept here so this script needs no pyarrow).
    width = max(1, n // 1000)
    lo = n // 2
    return lo, min(n - 1, lo + width - 1)


def _fmt(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


# -- main -------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="same as --mode quick (CI smoke test: seconds, tiny sizes)")
    ap.add_argument("--mode", choices=list(MODES), default=None, help="sizes (default: full; see MODES in this file)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma list from {','.join(SYSTEMS)}")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma list from {','.join(WORKLOADS)}")
    ap.add_argument("--out", default=None, help="output folder (default bench/results/<mode>-<date>)")
    ap.add_argument("--cache-dir", default=os.path.expanduser("~/.cache/datashard-bench"), help="where the venvs live")
    ap.add_argument("--work-dir", default=None, help="where the tables are written (default: a temp dir on /tmp)")
    ap.add_argument("--keep-work", action="store_true", help="keep the tables afterwards")
    ap.add_argument("--setup", action="store_true", help="create the peers' venvs (also in quick mode) and exit")
    ap.add_argument("--upgrade-venvs", action="store_true", help="pip install --upgrade in every venv first")
    ap.add_argument("--no-charts", action="store_true")
    for k, typ in (("reps", int), ("bulk_rows", int), ("cold", int), ("commits", int), ("commit_budget_s", float),
                   ("measure", int), ("budget_s", float),
                   ("timeout_s", float), ("batch", int)):
        ap.add_argument("--" + k.replace("_", "-"), type=typ, default=None, help=f"override the mode's {k}")
    ap.add_argument("--procs", default=None, help="override: comma list of process counts, e.g. 12,2")
    ap.add_argument("--history", default=None, help="override: comma list of history checkpoints, e.g. 100,1000,10000")
    args = ap.parse_args(argv)
    args.mode = "quick" if args.quick else (args.mode or "full")
    return args


def _terminate(signum, frame):  # so that `finally` ends the workers and removes the work dir
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    global LOG_FILE
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args(argv)
    cfg = dict(MODES[args.mode])
    for k in ("reps", "bulk_rows", "cold", "commits", "commit_budget_s", "measure", "budget_s", "timeout_s", "batch"):
        if getattr(args, k) is not None:
            cfg[k] = getattr(args, k)
    if args.procs:
        cfg["procs"] = [int(x) for x in args.procs.split(",")]
    if args.history:
        cfg["history"] = [int(x) for x in args.history.split(",")]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for s in systems:
        if s not in SYSTEMS:
            sys.exit(f"unknown system {s!r}; choose from {', '.join(SYSTEMS)}")
    for w in workloads:
        if w not in WORKLOADS:
            sys.exit(f"unknown workload {w!r}; choose from {', '.join(WORKLOADS)}")
    create_venvs = args.mode != "quick" or args.setup

    if args.setup:
        for s in systems:
            if s in VENV_REQUIREMENTS:
                ensure_venv(args.cache_dir, s, True, args.upgrade_venvs)
        ensure_venv(args.cache_dir, "charts", True, args.upgrade_venvs)
        print("venvs ready under", os.path.join(args.cache_dir, "venvs"))
        return 0

    stamp = dt.datetime.now().strftime("%Y-%m-%d-%H%M")
    out = os.path.abspath(args.out or os.path.join(HERE, "results", f"{args.mode}-{stamp}"))
    os.makedirs(out, exist_ok=True)
    LOG_FILE = open(os.path.join(out, "run.log"), "w")
    work = tempfile.mkdtemp(prefix="datashard-bench-", dir=args.work_dir)
    started = time.time()
    meta = {
        "command": "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "mode": args.mode,
        "config": cfg,
        "systems": systems,
        "workloads": workloads,
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(work),
        "load_before": loadavg(),
        "cpu_before": cpu_seconds(),
        "work_dir": work,
        "cold_cache_method": "posix_fadvise(POSIX_FADV_DONTNEED) on every file of the table, after sync, "
                             "in the reading process, just before the timed read",
    }
    log(f"mode {args.mode}: {cfg}; work dir {work}; load {meta['load_before']}")
    r = Runner(args, cfg, work)
    res: dict[str, Any] = {}
    sysinfo: dict[str, dict] = {}
    avail = []
    for s in systems:
        try:
            r.cmds[s] = system_command(s, args.cache_dir, create_venvs, args.upgrade_venvs)
        except (Unavailable, subprocess.CalledProcessError) as e:
            sysinfo[s] = {"available": False, "reason": str(e)}
            log(f"{s}: skipped: {e}")
            continue
        v = r.call(s, "versions", timeout=300)
        if v.get("ok"):
            sysinfo[s] = {"available": True, "versions": v["versions"], "python": v["python"],
                          "executable": v["executable"]}
            avail.append(s)
            log(f"{s}: {v['versions']}")
        else:
            sysinfo[s] = {"available": False, "reason": f"import failed: {v.get('error')}"}
            log(f"{s}: skipped: {v.get('error')}")
    if "pyarrow" in systems and "pyarrow" not in r.cmds:
        r.cmds["pyarrow"] = system_command("pyarrow", args.cache_dir, False, False)
    if "pyarrow" not in r.cmds:  # the input data is built with the runner's own pyarrow
        r.cmds["pyarrow"] = system_command("pyarrow", args.cache_dir, False, False)

    def run_workload(name, fn):
        t0 = time.monotonic()
        log(f"== workload {name}")
        try:
            fn()
        except Exception as e:  # keep the other workloads' figures
            import traceback

            res.setdefault("_errors", {})[name] = traceback.format_exc()
            log(f"workload {name} failed: {e!r}")
        res.setdefault("_seconds", {})[name] = round(time.monotonic() - t0, 1)

    try:
        if "commits" in workloads:
            committers = [s for s in avail if s not in BULK_ONLY]
            run_workload("commits", lambda: w_commits(r, committers, res))
            run_workload("barriers", lambda: w_barriers(r, committers, res))
        if "cold" in workloads:
            run_workload("cold", lambda: w_cold(r, [s for s in avail if s not in BULK_ONLY], res))
        tables: dict[str, str] = {}
        avail = [s for s in avail if s not in COMMIT_ONLY]
        if {"bulk", "scan", "memory"} & set(workloads):
            writers = avail if "bulk" in workloads else [s for s in avail if s not in BULK_ONLY]
            run_workload("bulk", lambda: tables.update(setup_tables(r, writers, res, "bulk" in workloads)))
        avail = [s for s in avail if s not in BULK_ONLY]
        if "scan" in workloads:
            run_workload("scan", lambda: w_scan(r, avail, tables, res))
        if "lookup" in workloads:
            run_workload("lookup", lambda: w_lookup(r, [s for s in avail if s != "original"], res))
        if "memory" in workloads:
            run_workload("memory", lambda: w_memory(r, avail, tables, res))
        if {"history", "timetravel"} & set(workloads):
            run_workload("history", lambda: w_history(r, avail, res, "history" in workloads, "timetravel" in workloads))
    finally:
        r.kill_all()
        if not args.keep_work:
            rmtree(work)
    if "bulk" not in workloads:
        res.pop("bulk", None)
    meta["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    meta["elapsed_s"] = round(time.time() - started, 1)
    meta["load_after"] = loadavg()
    busy_after, own_after = cpu_seconds()
    busy_before, own_before = meta.pop("cpu_before")
    meta["other_cpu_s"] = round(max(0.0, (busy_after - busy_before) - (own_after - own_before)), 1)
    results = {"meta": meta, "systems": sysinfo, "labels": LABELS, "workloads": res,
               "unsupported": unsupported(avail, workloads)}
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    charts: list[str] = []
    if not args.no_charts:
        charts = make_charts(args, out, create_venvs)
    results["charts"] = charts
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(report.render(results))
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    log(f"done in {meta['elapsed_s']:.0f} s; load {meta['load_after']}; results in {out}")
    errs = res.get("_errors")
    return 1 if errs else 0


def unsupported(systems: list[str], workloads: list[str]) -> dict:
    """What a system cannot do at all (from its adapter), for the "n/a: reason" cells."""
    na = {}
    if "timetravel" in workloads and "pyarrow" in systems:
        na.setdefault("timetravel", {})["pyarrow"] = "plain Parquet files have no versions"
    if "lookup" in workloads and "original" in systems:
        na.setdefault("lookup", {})["original"] = "0.11.2 filters are AND-ed lists only (no OR)"
    return na


def make_charts(args, out: str, create: bool) -> list[str]:
    """PNG charts through matplotlib: this interpreter's if it has it, else the charts venv."""
    try:
        import matplotlib  # noqa: F401

        py = sys.executable
    except ImportError:
        py = venv_python(args.cache_dir, "charts")
        if not os.path.exists(py) or create:
            try:
                py = ensure_venv(args.cache_dir, "charts", create, False)
            except (Unavailable, subprocess.CalledProcessError) as e:
                log(f"charts skipped: matplotlib {e}")
                return []
    p = subprocess.run([py, os.path.join(HERE, "charts.py"), os.path.join(out, "results.json"), out],
                       capture_output=True, text=True)
    if p.returncode != 0:
        log(f"charts failed: {p.stderr.strip()[-500:]}")
        return []
    made = [line.strip() for line in p.stdout.splitlines() if line.strip().endswith(".png")]
    log(f"charts: {', '.join(made)}")
    return made


if __name__ == "__main__":
    sys.exit(main())
