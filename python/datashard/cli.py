"""The ``datashard`` command: look at a table, or run the concurrency demo.

    datashard info PATH [--json]
    datashard schema PATH [--json]
    datashard history PATH [--json] [-n N]
    datashard head PATH [-n N] [--json]
    datashard demo [--processes P] [--commits M] [--dir D] [--keep]

Exit status: 0 success, 1 error (``error: ...`` on stderr), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, Sequence

__all__ = ["main"]


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _fmt_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000.0).isoformat(sep=" ", timespec="seconds")


def _fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[str(h) for h in header]] + [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cmd_info(args: argparse.Namespace) -> int:
    from . import load_table

    t = load_table(args.path)
    snap = t.current_snapshot()
    files = t.data_files()
    info = {
        "location": t.location,
        "metadata_location": t.metadata_location,
        "metadata_version": t.version,
        "current_snapshot_id": None if snap is None else snap.snapshot_id,
        "last_commit": None if snap is None else _fmt_time(snap.timestamp_ms),
        "snapshots_in_metadata": len(t.snapshots()),
        "rows": t.row_count(),
        "data_files": len(files),
        "data_bytes": sum(int(f["file_size_in_bytes"]) for f in files),
        "schema": t.schema().to_dict(),
        "partition_spec": t.spec().to_dict(),
        "properties": t.properties,
    }
    if args.json:
        _print_json(info)
        return 0
    print(f"location:          {info['location']}")
    print(f"metadata:          {info['metadata_location']} (version {info['metadata_version']})")
    print(f"current snapshot:  {info['current_snapshot_id']}" + (f" at {info['last_commit']}" if snap else ""))
    print(f"snapshots kept:    {info['snapshots_in_metadata']}")
    print(f"rows:              {info['rows']}")
    print(f"data files:        {info['data_files']} ({_fmt_bytes(info['data_bytes'])})")
    cols = ", ".join(f"{f['name']} {f['type']}{'' if not f['required'] else ' required'}" for f in t.schema().fields)
    print(f"columns:           {cols}")
    spec = t.spec()
    parts = ", ".join(f"{f.transform}({f.source_id}) as {f.name}" for f in spec.fields) or "unpartitioned"
    print(f"partitioning:      {parts}")
    if info["properties"]:
        print("properties:")
        for k, v in sorted(info["properties"].items()):
            print(f"  {k} = {v}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from . import load_table

    schema = load_table(args.path).schema()
    if args.json:
        _print_json(schema.to_dict())
        return 0
    rows = [(f["id"], f["name"], f["type"], "required" if f["required"] else "optional") for f in schema.fields]
    print(_table(rows, ("id", "name", "type", "")))
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from . import load_table

    t = load_table(args.path)
    snaps = t.snapshots()
    current = t.current_snapshot()
    if args.limit is not None:
        snaps = snaps[-args.limit :] if args.limit > 0 else []
    if args.json:
        _print_json(snaps)
        return 0
    rows = []
    for s in snaps:
        added = s["summary"].get("added-records", "")
        mark = "*" if current is not None and s["snapshot_id"] == current.snapshot_id else ""
        rows.append(
            (mark, s["sequence_number"], s["snapshot_id"], s["parent_id"], _fmt_time(s["timestamp_ms"]), s["operation"], added)
        )
    print(_table(rows, ("", "seq", "snapshot_id", "parent_id", "committed", "operation", "added rows")))
    return 0


def _cmd_head(args: argparse.Namespace) -> int:
    from . import load_table

    t = load_table(args.path)
    data = t.head(args.n)
    rows = t._rows(data)
    if args.json:
        for r in rows:
            print(json.dumps(r, default=str))
        return 0
    print(_table([[r[c] for c in data.column_names] for r in rows], data.column_names))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(processes=args.processes, commits=args.commits, directory=args.dir, keep=args.keep)


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="datashard", description="Inspect datashard (Apache Iceberg v2) tables.")
    p.add_argument("--version", action="version", version=f"datashard {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("info", help="location, snapshot, row and file counts, schema")
    s.add_argument("path")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_cmd_info)

    s = sub.add_parser("schema", help="the table's columns")
    s.add_argument("path")
    s.add_argument("--json", action="store_true", help="print the Iceberg schema JSON")
    s.set_defaults(func=_cmd_schema)

    s = sub.add_parser("history", help="snapshots, oldest first")
    s.add_argument("path")
    s.add_argument("-n", "--limit", type=int, default=None, help="only the last N snapshots")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_cmd_history)

    s = sub.add_parser("head", help="the first rows")
    s.add_argument("path")
    s.add_argument("-n", type=int, default=10, help="rows to show (default 10)")
    s.add_argument("--json", action="store_true", help="print one JSON object per row")
    s.set_defaults(func=_cmd_head)

    s = sub.add_parser(
        "demo",
        help="P processes x M increments: a plain JSON file loses updates, datashard keeps every one",
    )
    s.add_argument("--processes", "-p", type=int, default=4, help="writer processes (default 4)")
    s.add_argument("--commits", "-m", type=int, default=500, help="increments (commits) per process (default 500)")
    s.add_argument("--dir", default=None, help="work directory (default: a new temporary directory)")
    s.add_argument("--keep", action="store_true", help="keep the work directory afterwards")
    s.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo" and (args.processes < 1 or args.commits < 1):
        parser.error("--processes and --commits must be at least 1")
    if getattr(args, "n", 1) is not None and getattr(args, "n", 1) < 0:
        parser.error("-n must be >= 0")
    from .errors import DatashardError

    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (DatashardError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
