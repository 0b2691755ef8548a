"""results.json -> one PNG per workload: ``python charts.py results.json OUTDIR``.

Runs under whichever interpreter has matplotlib (the runner uses the ``charts`` venv);
prints the file names it wrote.
"""

from __future__ import annotations

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLORS = {
    "datashard": "#1f77b4",
    "datashard-process": "#aec7e8",
    "datashard-files": "#98df8a",
    "original": "#9467bd",
    "pyiceberg": "#2ca02c",
    "deltalake": "#d62728",
    "lance": "#ff7f0e",
    "pyarrow": "#7f7f7f",
    "pyarrow-dsfiles": "#bcbd22",
}


def _bars(ax, groups, systems, value, labels, log=False, fmt="{:,.0f}"):
    """Grouped bars: one group per entry of ``groups``, one bar per system with a value."""
    width = 0.8 / max(1, len(systems))
    for i, s in enumerate(systems):
        xs, ys = [], []
        for g_i, g in enumerate(groups):
            v = value(s, g)
            if v is not None:
                xs.append(g_i + i * width - 0.4 + width / 2)
                ys.append(v)
        if xs:
            bars = ax.bar(xs, ys, width, label=labels.get(s, s), color=COLORS.get(s))
            for b, y in zip(bars, ys):
                ax.annotate(fmt.format(y), (b.get_x() + b.get_width() / 2, y), ha="center", va="bottom",
                            fontsize=7, rotation=90, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(groups)))
    if log:
        ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi * (4 if log else 1.2))  # room for the value labels
    ax.grid(axis="y", alpha=0.3)


def _title(res, text):
    m = res["meta"]
    return f"{text}\n{m['mode']} run {m['started'][:10]}, {m['machine']['cores']} cores, load {m['load_before'][0]:.1f}"


def main(path: str, out: str) -> None:
    with open(path) as f:
        res = json.load(f)
    wl = res["workloads"]
    labels = res.get("labels", {})
    systems = [s for s in res["meta"]["systems"] if res["systems"].get(s, {}).get("available")]
    made = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"{name}.png"), dpi=110)
        plt.close(fig)
        made.append(f"{name}.png")

    if "commits" in wl:
        keys = list(wl["commits"])
        fig, ax = plt.subplots(figsize=(8, 4.5))
        _bars(ax, keys, systems, lambda s, k: ((wl["commits"][k].get(s) or {}).get("summary") or {}).get("commits_per_s"),
              labels, log=True, fmt="{:,.1f}")
        ax.set_xticklabels([f"{k[1:]} processes × {res['meta']['config']['commits']} commits" for k in keys])
        ax.set_ylabel("commits / s (log scale, higher is better)")
        ax.set_title(_title(res, "1. Small concurrent commits"))
        ax.legend(fontsize=8)
        save(fig, "commits")

    if "bulk" in wl:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        get = lambda s, k: ((wl["bulk"].get(s) or {}).get("summary") or {}).get(k)
        _bars(ax, ["rows_per_s", "rows_per_s_durable"], systems, get, labels, fmt="{:,.0f}")
        ax.set_xticklabels(["call returns", "+ fsync of the table (durable)"])
        ax.set_ylabel("rows / s (higher is better)")
        ax.set_title(_title(res, f"2. Bulk append of {res['meta']['config']['bulk_rows']:,} rows"))
        ax.legend(fontsize=8)
        save(fig, "bulk")

    if "scan" in wl:
        readers = [s for s in systems + ["pyarrow-dsfiles"] if s in wl["scan"]]
        get = lambda s, k, f: (((wl["scan"].get(s) or {}).get("summary") or {}).get(k) or {}).get(f)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
        _bars(a1, ["full_cold", "full_warm"], readers, lambda s, k: get(s, k, "rows_per_s"), labels, log=True,
              fmt="{:,.0f}")
        a1.set_xticklabels(["full scan, cold", "full scan, warm"])
        a1.set_ylabel("rows / s (log, higher is better)")
        a1.set_title("full scan")
        _bars(a2, ["filtered_cold", "filtered_warm"], readers,
              lambda s, k: None if get(s, k, "seconds") is None else 1000 * get(s, k, "seconds"), labels, log=True,
              fmt="{:,.1f}")
        a2.set_xticklabels(["filtered 0.1 %, cold", "filtered 0.1 %, warm"])
        a2.set_ylabel("ms (log, lower is better)")
        a2.set_title("selective filtered scan")
        a2.legend(fontsize=8)
        fig.suptitle(_title(res, f"3. Scans of {res['meta']['config']['bulk_rows']:,} rows"), fontsize=10)
        save(fig, "scan")

    for name, key, ylabel, title in (
        ("history", "p50_ms", "ms per commit (log; p50 solid, p95 dashed)", "4. Commit latency as history grows"),
        ("timetravel", "ms", "ms to open an old version and read it (log)", "5. Time travel"),
    ):
        if name not in wl:
            continue
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for s in systems:
            summ = (wl[name].get(s) or {}).get("summary") or {}
            pts = sorted((int(h), v) for h, v in summ.items() if key in v)
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1][key] for p in pts], "o-", label=labels.get(s, s), color=COLORS.get(s))
            if name == "history":
                ax.plot([p[0] for p in pts], [p[1]["p95_ms"] for p in pts], "--", color=COLORS.get(s), alpha=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("commits in the table's history")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
        ax.set_title(_title(res, title))
        ax.legend(fontsize=8)
        save(fig, name)

    if "memory" in wl:
        readers = [s for s in systems + ["pyarrow-dsfiles"] if s in wl["memory"]]
        get = lambda s, k: ((wl["memory"].get(s) or {}).get("summary") or {}).get(k)
        fig, ax = plt.subplots(figsize=(8, 4.5))
        _bars(ax, ["peak_rss_mb", "delta_rss_mb"], readers, get, labels, fmt="{:,.0f}")
        ax.set_xticklabels(["peak RSS", "peak over baseline"])
        ax.set_ylabel("MB (lower is better)")
        ax.set_title(_title(res, "6. Peak resident memory of a streaming scan"))
        ax.legend(fontsize=8)
        save(fig, "memory")

    for m in made:
        print(m)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
