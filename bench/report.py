"""results.json -> results.md: one table per workload, ratios to datashard, n/a with reasons.

Standard library only (the runner imports it). ``python bench/report.py results.json``
re-renders the markdown of an earlier run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

BASE = "datashard"
# Variants measured only in the commit workloads (see run.py).
COMMIT_ONLY = {"datashard-process", "datashard-files", "floor"}


def _num(x: Any, digits: int = 0) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and digits:
        return f"{x:,.{digits}f}"
    return f"{x:,.0f}"


def _ms(x: Any) -> str:
    if x is None:
        return "-"
    return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"


def _mb(b: Any) -> str:
    return "-" if b is None else f"{b / 1e6:,.1f}"


def _ratio(x: Any, base: Any) -> str:
    if x is None or not base:
        return "-"
    r = x / base
    return f"×{r:.2f}" if r < 10 else f"×{r:,.0f}"


def _short(text: Any, n: int = 90) -> str:
    t = " ".join(str(text).split()).replace("|", "\\|")
    return t if len(t) <= n else t[: n - 1] + "…"


class Doc:
    def __init__(self, results: dict) -> None:
        self.r = results
        self.lines: list[str] = []
        self.labels = results.get("labels", {})
        self.systems = [s for s in results["meta"]["systems"]]
        self.sysinfo = results.get("systems", {})
        self.unsupported = results.get("unsupported", {})

    def w(self, line: str = "") -> None:
        self.lines.append(line)

    def label(self, s: str) -> str:
        return self.labels.get(s, s)

    def na_reason(self, workload: str, s: str) -> str | None:
        info = self.sysinfo.get(s, {})
        if s in self.sysinfo and not info.get("available"):
            return "n/a: " + _short(info.get("reason", "not available"), 80)
        reason = self.unsupported.get(workload, {}).get(s)
        return f"n/a: {reason}" if reason else None

    def table(self, workload: str, header: list[str], rows_for: Callable[[str], list[str] | str],
              systems: list[str] | None = None) -> None:
        self.w("| " + " | ".join(["system"] + header) + " |")
        self.w("|" + "---|" * (len(header) + 1))
        for s in systems or self.systems:
            if s in COMMIT_ONLY and workload not in ("commits", "barriers", "cold"):
                continue
            na = self.na_reason(workload, s)
            cells = na if na else rows_for(s)
            if isinstance(cells, str):
                cells = [cells] + [""] * (len(header) - 1)
            self.w("| " + " | ".join([self.label(s)] + cells) + " |")
        self.w()


def render(results: dict) -> str:
    d = Doc(results)
    meta, m = results["meta"], results["meta"]["machine"]
    wl = results.get("workloads", {})
    cfg = meta["config"]
    d.w("# datashard benchmark results")
    d.w()
    d.w(f"`{meta['command']}`, mode **{meta['mode']}**, {meta['started']} to {meta.get('finished', '?')} "
        f"({meta.get('elapsed_s', 0) / 60:.1f} min).")
    d.w()
    disk = m["disk"]
    d.w(f"Machine: {m['cores']} × {m['cpu_model']}, {m['memory_gib']} GiB memory, {disk['fstype']} on {disk['device']} "
        f"({'reports rotational' if disk.get('rotational') else 'reports non-rotational' if disk.get('rotational') is False else 'unknown medium'}, "
        f"{disk['size_gib']} GiB), kernel {m['kernel']}, Python {m['python']}; datashard at "
        f"{m['git_commit'][:10]}{' + uncommitted changes' if m.get('git_dirty') else ''}.")
    d.w()
    lb, la = meta.get("load_before", [0, 0, 0]), meta.get("load_after", [0, 0, 0])
    load = f"Load average before {lb[0]:.2f} / {lb[1]:.2f} / {lb[2]:.2f}, after {la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f}."
    other = meta.get("other_cpu_s")
    if other is not None:
        # CPU time the machine spent outside this run's processes (kernel flush threads included).
        share = other / max(1e-9, meta.get("elapsed_s", 0) * (m["cores"] or 1))
        busy = share > 0.05
        load += (f" Other work used {other:,.0f} CPU-seconds during the run, {share:.1%} of the machine"
                 + (" (under 5 %: a quiet machine)." if not busy else "."))
    else:  # results from before that was measured: the load average, which counts the run itself
        busy = max(lb[0], la[0]) > 0.5 * (m["cores"] or 1)
    d.w(load + (" **The machine was busy with other work: these figures are not publishable; a full run is for a "
                "quiet machine.**" if busy else ""))
    d.w()
    d.w(f"Sizes: {cfg['reps']} repetition(s) (medians shown); bulk {cfg['bulk_rows']:,} rows; concurrent commits "
        f"P ∈ {cfg['procs']} × M = {cfg['commits']} (time budget {cfg.get('commit_budget_s', '-')} s); history checkpoints {cfg['history']} with {cfg['measure']} "
        f"measured commits each per repetition; streaming batch {cfg['batch']:,} rows. Ratios (×) are to datashard.")
    d.w()
    d.w("| system | versions |")
    d.w("|---|---|")
    for s in d.systems:
        info = d.sysinfo.get(s, {})
        v = ", ".join(f"{k} {val}" for k, val in (info.get("versions") or {}).items() if k != "datashard_module")
        d.w(f"| {d.label(s)} | {v if info.get('available') else 'n/a: ' + _short(info.get('reason', ''), 100)} |")
    d.w()
    charts = set(results.get("charts", []))

    def chart(name: str) -> None:
        if f"{name}.png" in charts:
            d.w(f"![{name}]({name}.png)")
            d.w()

    # 1. concurrent commits
    if "commits" in wl:
        d.w("## 1. Small concurrent commits")
        d.w()
        d.w("P processes each append M single-row commits at once (released together); commits/s = acknowledged "
            "commits / wall time from release to the last finish. Then the table is read back: every acknowledged "
            "(worker, seq) row must be there exactly once. pyarrow writes one file per \"commit\" (no table). "
            f"Each process stops starting commits after {cfg.get('commit_budget_s', '?')} s (\"time budget\"), so a "
            "system that crawls under contention is measured on what it did in that time. p50 / p95: latency of one "
            "append call (failed ones included), in ms.")
        d.w()
        for key, per in wl["commits"].items():
            base = (per.get(BASE) or {}).get("summary", {}).get("commits_per_s")
            d.w(f"**{key.replace('P', 'P = ')}, M = {cfg['commits']}**")
            d.w()

            def row(s: str, per=per, base=base) -> list[str] | str:
                v = per.get(s)
                if not v:
                    return "no run"
                x = v["summary"]
                if not x.get("committed") and (x.get("worker_failures") or x.get("error_samples")):
                    return "failed: " + _short((x.get("worker_failures") or x.get("error_samples"))[0])
                rb = "failed: " + _short(x["readback_errors"][0], 50) if x.get("readback_errors") else _num(x["rows_read_back"])
                lost = x.get("acked_missing") or 0
                dup = x.get("duplicates") or 0
                check = "ok" if not lost and not dup and not x.get("readback_errors") else (
                    f"**{lost} acknowledged rows lost**" if lost else "") + (f" **{dup} duplicates**" if dup else "")
                errs = _num(x["errors"]) + (f" ({_short(x['error_samples'][0], 60)})" if x.get("error_samples") else "")
                planned = x.get("planned") or x["attempted"]
                budget = " (time budget)" if x["attempted"] < planned else ""
                return [_num(x["commits_per_s"], 1), _ratio(x["commits_per_s"], base), _ms(x["p50_ms"]), _ms(x["p95_ms"]),
                        f"{x['committed']:,} / {x['attempted']:,} / {planned:,}{budget}", errs, rb, check]

            d.table("commits", ["commits/s", "× ds", "p50 ms", "p95 ms", "committed / attempted / planned", "errors",
                                "rows read back", "check"], row)
        chart("commits")

    if "barriers" in wl:
        d.w("**Flush barriers per commit** (one writer, single-row commits, counted with `strace -f`): flush calls "
            "are fsync, fdatasync, syncfs, sync_file_range and msync; calls that overlap in time (issued from "
            "parallel threads) share a journal commit and count as one barrier.")
        d.w()

        def row_f(s: str) -> list[str] | str:
            x = wl["barriers"].get(s)
            if not x:
                return "no run"
            if not x.get("ok"):
                return "failed: " + _short(x.get("error", ""), 80)
            return [_num(x["commits"]), _num(x["sync_calls_per_commit"], 2), _num(x["barriers_per_commit"], 2)]

        d.table("barriers", ["commits traced", "flush calls / commit", "barriers / commit"], row_f,
                [s for s in d.systems if s != "pyarrow"])

    if "cold" in wl:
        cold = wl["cold"]
        d.w("**One commit from a fresh process**: wall time from spawning the interpreter to its exit, for a "
            "script that imports the library, opens the table and appends one row (the original's "
            "`load_table(path).append_records([row])` for both datashards; pyarrow + `write_deltalake` / "
            "`lance.write_dataset` for the peers). One process at a time, the systems taking turns; every row "
            "is read back afterwards. The last row is the interpreter alone (`python -c ''`), the floor.")
        d.w()
        base_c = (cold.get(BASE) or {}).get("p50_ms")

        def row_c(s: str) -> list[str] | str:
            x = cold.get(s)
            if not x:
                return "no run"
            if not x.get("wall_ms"):
                return "failed: " + _short(x.get("error") or (x.get("failures") or [""])[0], 80)
            rb = x.get("readback")
            check = "-" if rb is None else ("ok" if x.get("ok") else "**failed**: " + _short(
                rb.get("error") or f"{rb.get('acked_missing')} rows missing" or (x.get("failures") or [""])[0], 60))
            return [_num(len(x["wall_ms"])), _ms(x["p50_ms"]), _ms(x["p95_ms"]), _ratio(x["p50_ms"], base_c), check]

        d.table("cold", ["processes", "p50 ms", "p95 ms", "× ds", "rows read back"], row_c,
                [s for s in d.systems if s in cold] + ["interpreter"])

    if "lookup" in wl:
        lk = wl["lookup"]
        d.w(f"## Selective lookups ({lk.get('rows', 0):,} rows)")
        d.w()
        d.w("One table written once per system (`id` int64 sorted, `key` string with every value distinct and in no "
            "order, `value` float64; datashard with its lookup settings, a bloom filter on `key` and 65,536-row row "
            "groups, the others with their defaults). "
            "**OR of ranges**: `id` in two narrow ranges (0.05 % of the rows each); **point**: one `key`, the "
            "lookup datashard answers with `take`. Cold: the table's files evicted from the page cache first. "
            "MB read: bytes the reading process got from read() calls (`rchar`), cache hits included; disk MB: "
            "what came from the device (`read_bytes`). Every answer's row count is checked.")
        d.w()
        base_l = lk.get(BASE) or {}

        def row_l(s: str) -> list[str] | str:
            x = lk.get(s)
            if not x:
                return "no run"
            if not x.get("ok"):
                return "failed: " + _short(x.get("error", ""), 80)
            cells = []
            for q in ("or_ranges", "point"):
                c, w = x.get(q + "_cold") or {}, x.get(q + "_warm") or {}
                if not (c.get("ok") and w.get("ok")):
                    cells += ["**wrong answer**" if c.get("rows") is not None else "failed: " + _short(c.get("error"), 40),
                              "", "", ""]
                    continue
                cells += [_ms(c["ms"]), _ratio(c["ms"], (base_l.get(q + "_cold") or {}).get("ms")), _ms(w["ms"]),
                          _num(c["read_mb"], 2)]
            return cells

        d.table("lookup", ["OR cold ms", "× ds", "OR warm ms", "OR MB read", "point cold ms", "× ds",
                           "point warm ms", "point MB read"], row_l)

    # 2. bulk
    if "bulk" in wl:
        per = wl["bulk"]
        base = (per.get(BASE) or {}).get("summary", {})
        d.w(f"## 2. Bulk append of {cfg['bulk_rows']:,} rows")
        d.w()
        d.w("One commit of an in-memory pyarrow Table (int64, float64, string, timestamp). \"durable\" adds an fsync "
            "of every file and directory of the table after the call returns (free for a system that already did "
            "it). Bytes on disk: every file of the table afterwards.")
        d.w()

        def row_b(s: str) -> list[str] | str:
            v = per.get(s)
            if not v:
                return "no run"
            x = v["summary"]
            if x.get("rows_per_s") is None:
                return "failed: " + _short(x.get("error"))
            return [_num(x["rows_per_s"]), _ratio(x["rows_per_s"], base.get("rows_per_s")),
                    _num(x["rows_per_s_durable"]), _ratio(x["rows_per_s_durable"], base.get("rows_per_s_durable")),
                    _mb(x["bytes_on_disk"]), _num(x["files"]), _num(x["peak_rss_mb"])]

        d.table("bulk", ["rows/s", "× ds", "rows/s durable", "× ds", "MB on disk", "files", "peak RSS MB"], row_b)
        chart("bulk")

    # 3. scans
    if "scan" in wl:
        per = wl["scan"]
        base = (per.get(BASE) or {}).get("summary", {})
        anyv = next((v["summary"] for v in per.values() if "summary" in v), {})
        d.w(f"## 3. Full scan and selective filtered scan ({cfg['bulk_rows']:,} rows)")
        d.w()
        d.w(f"Full scan: the whole table into one Arrow table. Filtered: `{anyv.get('filter', '')}` (0.1 % of the rows, "
            "a range of the sorted id column, so statistics can skip the rest). Cold: the table's files were evicted "
            "from the page cache just before (posix_fadvise DONTNEED after sync); warm: run right after the cold one. "
            "Disk MB: /proc/self/io read_bytes of the reading process during the cold scan (what came from the "
            "device); read() MB: rchar (syscall bytes, cache hits included, mmap not).")
        d.w()
        systems = d.systems + (["pyarrow-dsfiles"] if "pyarrow-dsfiles" in per else [])

        def g(s, key, field):
            return ((per.get(s) or {}).get("summary", {}).get(key) or {}).get(field)

        def row_s(s: str) -> list[str] | str:
            v = per.get(s)
            if not v:
                return "no run"
            errs = [g(s, k, "error") for k in ("full_cold", "full_warm", "filtered_cold", "filtered_warm") if g(s, k, "error")]
            if errs and g(s, "full_cold", "rows_per_s") is None:
                return "failed: " + _short(errs[0])
            return [_num(g(s, "full_cold", "rows_per_s")), _ratio(g(s, "full_cold", "rows_per_s"), g(BASE, "full_cold", "rows_per_s")),
                    _num(g(s, "full_warm", "rows_per_s")), _ratio(g(s, "full_warm", "rows_per_s"), g(BASE, "full_warm", "rows_per_s")),
                    _mb(g(s, "full_cold", "read_bytes")),
                    _ms(_x1000(g(s, "filtered_cold", "seconds"))), _ratio(g(s, "filtered_cold", "seconds"), g(BASE, "filtered_cold", "seconds")),
                    _ms(_x1000(g(s, "filtered_warm", "seconds"))), _ratio(g(s, "filtered_warm", "seconds"), g(BASE, "filtered_warm", "seconds")),
                    _mb(g(s, "filtered_cold", "read_bytes")), _mb(g(s, "filtered_cold", "rchar"))
                    + (" (" + _short(errs[0], 60) + ")" if errs else "")]

        d.table("scan", ["full cold rows/s", "× ds", "full warm rows/s", "× ds", "full disk MB",
                         "filtered cold ms", "× ds", "filtered warm ms", "× ds", "filtered disk MB", "filtered read() MB"],
                row_s, systems)
        chart("scan")

    # 4. history
    if "history" in wl:
        per = wl["history"]
        hs = [str(h) for h in cfg["history"]]
        d.w("## 4. Commit latency as history grows")
        d.w()
        d.w(f"One table per system grows by single-row commits (one process per build chunk, untimed); at each "
            f"checkpoint h the next {cfg['measure']} commits (× {cfg['reps']} repetitions, systems taking turns) are "
            "timed in one process that opened the table first. p50 / p95 in ms (lower is better); × ds is the p50 ratio.")
        d.w()

        def row_h(s: str) -> list[str] | str:
            v = per.get(s)
            if not v:
                return "no run"
            cells = []
            for h in hs:
                x = v["summary"].get(h, {})
                if "p50_ms" not in x:
                    cells += ["n/a: " + _short(x.get("error", ""), 70), ""]
                    continue
                b = ((per.get(BASE) or {}).get("summary", {}).get(h) or {}).get("p50_ms")
                cells += [f"{_ms(x['p50_ms'])} / {_ms(x['p95_ms'])}" + (f" ({x['errors']} errors)" if x.get("errors") else ""),
                          _ratio(x["p50_ms"], b)]
            return cells

        d.table("history", [c for h in hs for c in (f"h={int(h):,} p50 / p95 ms", "× ds")], row_h)
        chart("history")

    # 5. time travel
    if "timetravel" in wl:
        per = wl["timetravel"]
        hs = [str(h) for h in cfg["history"]]
        d.w("## 5. Time travel")
        d.w()
        d.w("At each checkpoint h of the history table, a fresh process opens the version that had h/2 rows "
            "(by the id or number the system gave it then) and reads it whole; the row count is checked. "
            "Per system: ms to open the version alone (find it and count its rows from metadata, no data read), "
            "ms for the first read (open + resolve + read), then a second read of the same version in the same "
            "process; lower is better. The × ds ratio compares the first reads.")
        d.w()

        def row_t(s: str) -> list[str] | str:
            v = per.get(s)
            if not v:
                return "no run"
            cells = []
            for h in hs:
                x = v["summary"].get(h, {})
                if "ms" not in x:
                    cells += ["n/a: " + _short(x.get("error", ""), 70), ""]
                    continue
                b = ((per.get(BASE) or {}).get("summary", {}).get(h) or {}).get("ms")
                opened = f"open {_ms(x['open_ms'])}, " if x.get("open_ms") is not None else ""
                cells += [f"{opened}read {_ms(x['ms'])} (again {_ms(x['again_ms'])})", _ratio(x["ms"], b)]
            return cells

        d.table("timetravel", [c for h in hs for c in (f"h={int(h):,} ms", "× ds")], row_t)
        chart("timetravel")

    # 6. memory
    if "memory" in wl:
        per = wl["memory"]
        base = (per.get(BASE) or {}).get("summary", {})
        full = (wl.get("scan") or {})
        d.w("## 6. Peak resident memory of a streaming scan")
        d.w()
        d.w(f"The whole bulk table through each system's streaming read (batches of {cfg['batch']:,} rows requested), "
            "counting rows and dropping each batch. Peak RSS = ru_maxrss of the process; \"over baseline\" subtracts "
            "the peak before the scan (interpreter, library, warm-up). The last column is the peak of a full "
            "materializing scan (workload 3) for comparison. Lower is better.")
        d.w()
        systems = d.systems + (["pyarrow-dsfiles"] if "pyarrow-dsfiles" in per else [])

        def row_m(s: str) -> list[str] | str:
            v = per.get(s)
            if not v:
                return "no run"
            x = v["summary"]
            if x.get("peak_rss_mb") is None:
                return "failed: " + _short(x.get("error"))
            fm = ((full.get(s) or {}).get("summary", {}).get("full_warm") or {}).get("peak_rss_mb")
            return [_num(x["peak_rss_mb"]), _num(x["delta_rss_mb"]), _ratio(x["delta_rss_mb"], base.get("delta_rss_mb")),
                    _num(x["rows_per_s"]), _num(x["batches"]), _num(fm)]

        d.table("memory", ["peak RSS MB", "over baseline MB", "× ds", "rows/s", "batches", "full-scan peak MB"], row_m, systems)
        chart("memory")

    if wl.get("_errors"):
        d.w("## Errors in the runner")
        d.w()
        for k, tb in wl["_errors"].items():
            d.w(f"- {k}: `{_short(tb.strip().splitlines()[-1], 200)}`")
        d.w()
    return "\n".join(d.lines) + "\n"


def _x1000(x):
    return None if x is None else 1000 * x


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        sys.stdout.write(render(json.load(f)))
