"""The ``datashard`` command: inspect, query and maintain a table, or run the concurrency demo.

    datashard info PATH                       location, snapshot, rows, files, schema, refs
    datashard schema PATH                     columns
    datashard history PATH [-n N] [--ref R]   commits that led to the current state
    datashard head PATH [-n N] [READ OPTIONS]
    datashard scan PATH [--where W]... [--columns C] [--limit N] [--count] [--stats] [READ OPTIONS]
    datashard changes PATH --from ID [--to ID] [--columns C] [--raw]   rows inserted/deleted since ID
    datashard verify PATH [--snapshot-id ID]
    datashard compact PATH [--target-file-size 128MiB] [--manifests-only]
    datashard expire PATH [--older-than T] [--retain-last N] [--dry-run]
    datashard gc PATH [--older-than 3d] [--dry-run]
    datashard tag create PATH NAME [--snapshot-id ID] | tag list PATH [--all] | tag drop PATH NAME
    datashard demo [--mode append|counter] [--processes P] [--commits M] [--dir D] [--keep]

READ OPTIONS pick the snapshot: ``--as-of T``, ``--snapshot-id ID`` or ``--ref NAME``.
Every command but ``demo`` takes ``--json`` (machine-readable output on stdout) and the
long-running ones ``-q/--quiet`` (no progress indicator; it is drawn on stderr only when
stderr is a terminal).

Times (``--as-of``, ``--older-than``): a duration meaning "that long ago" (``30s``, ``15m``,
``12h``, ``7d``, ``2w``, ``1d12h``), epoch milliseconds, or ISO 8601 (``2024-01-31``,
``2024-01-31T10:00:00``; without a zone it is local time).

``--where``: ``col OP value`` with OP one of ``== = != <> < <= > >=``, or ``col in (v, ...)``,
``col not in (...)``, ``col between a and b``, ``col is null``, ``col is not null``, combined
with ``and``, ``or``, ``not`` and parentheses (``"id = 1 or (g in (2, 3) and not x < 0)"``);
repeated ``--where`` are AND-ed. Text values in quotes (``"name == 'x'"``).

Exit status: 0 success; 1 error (``error: ...`` on stderr); 2 usage error (bad arguments,
an unparsable ``--where`` or time); 3 ``verify`` found damaged files.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any, Callable, Sequence

__all__ = ["main", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_CORRUPT"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CORRUPT = 3


class _Usage(Exception):
    """A usage error found after argument parsing (exit status 2)."""


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


def _progress(args: argparse.Namespace, description: str, unit: str = "") -> Any:
    from .progress import Progress, progress_enabled

    return Progress(description, progress_enabled(getattr(args, "quiet", False)), unit)


def _load(args: argparse.Namespace) -> Any:
    from . import load_table

    return load_table(args.path)


# -- argument types (errors here are usage errors: exit 2) ------------------------------------


def _arg(fn: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        from .errors import InvalidArgumentError

        try:
            return fn(text)
        except InvalidArgumentError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = fn.__name__
    return convert


def _when(text: str) -> Any:
    from ._when import parse_when

    return parse_when(text)


def _size(text: str) -> int:
    from ._when import parse_size

    return parse_size(text)


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _columns(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [c.strip() for v in values for c in v.split(",") if c.strip()]
    if not out:
        raise _Usage("--columns needs at least one column name")
    return out


def _where(values: list[str] | None) -> Any:
    if not values:
        return None
    from .errors import InvalidArgumentError
    from .expressions import parse_where

    try:
        return parse_where(values)
    except (InvalidArgumentError, NotImplementedError) as e:
        raise _Usage(f"--where: {e}") from None


def _read_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"snapshot_id": args.snapshot_id, "as_of": args.as_of, "ref": args.ref}


def _json_row(row: dict[str, Any]) -> str:
    return json.dumps(row, default=str)


# -- commands ----------------------------------------------------------------------------------


def _cmd_info(args: argparse.Namespace) -> int:
    t = _load(args)
    snap = t.current_snapshot()
    files = t.data_files()
    refs = t.refs()
    info = {
        "location": t.location,
        "metadata_location": t.metadata_location,
        "metadata_version": t.version,
        "current_snapshot_id": None if snap is None else snap.snapshot_id,
        "last_commit": None if snap is None else _fmt_time(snap.timestamp_ms),
        "snapshots_in_metadata": len(t.snapshots()),
        "snapshots": len(t._core.all_snapshots()),
        "rows": t.row_count(),
        "data_files": len(files),
        "data_bytes": sum(int(f["file_size_in_bytes"]) for f in files),
        "schema": t.schema().to_dict(),
        "partition_spec": t.spec().to_dict(),
        "sort_order": t.sort_order().to_dict(),
        "refs": refs,
        "properties": t.properties,
    }
    if args.json:
        _print_json(info)
        return EXIT_OK
    print(f"location:          {info['location']}")
    print(f"metadata:          {info['metadata_location']} (version {info['metadata_version']})")
    print(f"current snapshot:  {info['current_snapshot_id']}" + (f" at {info['last_commit']}" if snap else ""))
    print(f"snapshots:         {info['snapshots']} reachable, {info['snapshots_in_metadata']} in the metadata file")
    print(f"rows:              {info['rows']}")
    print(f"data files:        {info['data_files']} ({_fmt_bytes(info['data_bytes'])})")
    cols = ", ".join(f"{f['name']} {f['type']}{'' if not f['required'] else ' required'}" for f in t.schema().fields)
    print(f"columns:           {cols}")
    spec = t.spec()
    parts = ", ".join(f"{f.transform}({f.source_id}) as {f.name}" for f in spec.fields) or "unpartitioned"
    print(f"partitioning:      {parts}")
    names = {f["id"]: f["name"] for f in t.schema().fields}
    terms = [
        (names.get(f.source_id, f"#{f.source_id}") if f.transform == "identity"
         else f"{f.transform}({names.get(f.source_id, f'#{f.source_id}')})") + f" {f.direction} {f.null_order}"
        for f in t.sort_order().fields
    ]
    print(f"sort order:        {', '.join(terms) or 'unsorted'}")
    others = {n: r for n, r in refs.items() if n != "main"}
    if others:
        shown = ", ".join(f"{n} ({r['type']} -> {r['snapshot_id']})" for n, r in sorted(others.items()))
        print(f"refs:              {shown}")
    # Group-commit marks (one per recent writer) are bookkeeping: counted, not listed.
    marks = [k for k in info["properties"] if k.startswith("datashard.group.")]
    shown_props = {k: v for k, v in info["properties"].items() if not k.startswith("datashard.group.")}
    if shown_props or marks:
        print("properties:")
        for k, v in sorted(shown_props.items()):
            print(f"  {k} = {v}")
        if marks:
            print(f"  ({len(marks)} group-commit marks, datashard.group.*: see --json)")
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    schema = _load(args).schema()
    if args.json:
        _print_json(schema.to_dict())
        return EXIT_OK
    rows = [(f["id"], f["name"], f["type"], "required" if f["required"] else "optional") for f in schema.fields]
    print(_table(rows, ("id", "name", "type", "")))
    return EXIT_OK


def _cmd_history(args: argparse.Namespace) -> int:
    t = _load(args)
    entries = list(reversed(t.history(limit=args.limit, ref=args.ref)))  # oldest first, like a log's tail
    if args.json:
        for e in entries:
            e["timestamp"] = e["timestamp"].isoformat()
        _print_json(entries)
        return EXIT_OK
    rows = [
        (
            "*" if e["current"] else "",
            e["sequence_number"],
            e["snapshot_id"],
            e["parent_id"],
            _fmt_time(e["timestamp_ms"]),
            e["operation"],
            e["rows_added"],
            e["rows_removed"],
            e["total_rows"],
            ",".join(n for n in e["refs"] if n != "main"),
        )
        for e in entries
    ]
    header = ("", "seq", "snapshot_id", "parent_id", "committed", "operation", "+rows", "-rows", "rows", "refs")
    print(_table(rows, header))
    return EXIT_OK


def _uuid_columns(t: Any) -> tuple[str, ...]:
    from ._convert import uuid_columns

    return uuid_columns(t.schema())


def _print_rows(t: Any, data: Any, as_json: bool) -> None:
    from .compat import to_rows

    rows = to_rows(data, _uuid_columns(t))  # uuids as text, as the original API's reads return them
    if as_json:
        for r in rows:
            print(_json_row(r))
        return
    print(_table([[r[c] for c in data.column_names] for r in rows], data.column_names))


def _cmd_head(args: argparse.Namespace) -> int:
    columns, where = _columns(args.columns), _where(args.where)
    t = _load(args)
    data = t.head(args.n, columns=columns, filter=where, **_read_options(args))
    _print_rows(t, data, args.json)
    return EXIT_OK


def _cmd_changes(args: argparse.Namespace) -> int:
    t = _load(args)
    data = t.changes(args.from_snapshot, args.to_snapshot, columns=_columns(args.columns), net=not args.raw)
    _print_rows(t, data, args.json)
    return EXIT_OK


def _cmd_scan(args: argparse.Namespace) -> int:
    import pyarrow as pa

    from .compat import to_rows

    columns, where = _columns(args.columns), _where(args.where)
    t = _load(args)
    scan = t.new_scan(columns, where, limit=args.limit, **_read_options(args))
    uuids = _uuid_columns(t)
    batches = []
    count = 0
    with _progress(args, "scanning", "rows") as progress:
        for batch in scan.to_batches():
            count += batch.num_rows
            progress.update(batch.num_rows)
            if args.count:
                continue
            if args.json:  # stream JSON lines; nothing is held
                for r in to_rows(batch, uuids):
                    print(_json_row(r))
            else:
                batches.append(batch)
    if args.count:
        print(json.dumps({"rows": count}) if args.json else count)
    elif not args.json:
        _print_rows(t, pa.Table.from_batches(batches, scan.schema), False)
    if args.stats:
        m = scan.metrics or dict.fromkeys(
            ("files_total", "files_skipped", "row_groups_total", "row_groups_skipped", "manifests_total",
             "manifests_skipped", "bytes_read", "rows_read"), 0)
        if args.json:
            print(json.dumps({"stats": m}), file=sys.stderr)
        else:
            def kept(level: str) -> str:
                return f"{m[level + '_total'] - m[level + '_skipped']}/{m[level + '_total']}"

            print(
                f"files {kept('files')} read, row groups {kept('row_groups')}, manifests {kept('manifests')}, "
                f"{_fmt_bytes(m['bytes_read'])} read, {m['rows_read']} rows read, {count} rows matched",
                file=sys.stderr,
            )
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from .errors import CorruptDataError

    t = _load(args)
    try:
        with _progress(args, "verifying"):
            report = t.verify(args.snapshot_id, raise_on_error=False)
    except CorruptDataError as e:  # the metadata itself is unreadable
        if args.json:
            _print_json({"ok": False, "problems": [{"path": None, "problem": str(e)}]})
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CORRUPT
    if args.json:
        _print_json(report)
    else:
        print(
            f"snapshot {report['snapshot_id']}: {report['data_files']} data files, {report['manifests']} manifests, "
            f"{report['rows']} rows, {_fmt_bytes(report['bytes'])} checked"
        )
        for p in report["problems"]:
            print(f"DAMAGED {p['path']}: {p['problem']}")
        print("OK" if report["ok"] else f"{len(report['problems'])} problem(s) found")
    return EXIT_OK if report["ok"] else EXIT_CORRUPT


def _cmd_compact(args: argparse.Namespace) -> int:
    t = _load(args)
    with _progress(args, "compacting"):
        if args.manifests_only:
            result = t.compact_manifests()
        else:
            result = t.compact(args.target_file_size)
    if args.json:
        _print_json(result)
    elif args.manifests_only:
        print(f"manifests merged in snapshot {result['snapshot_id']}")
    else:
        print(
            f"{result['rewritten_files']} data files rewritten into {result['added_files']}"
            + (f" (snapshot {result['snapshot_id']})" if result["snapshot_id"] else "")
            + f"; manifests merged in snapshot {result['manifests_snapshot_id']}"
        )
    return EXIT_OK


def _cmd_expire(args: argparse.Namespace) -> int:
    if args.older_than is None and args.retain_last is None:
        raise _Usage("say what to expire: --older-than T and/or --retain-last N")
    t = _load(args)
    with _progress(args, "expiring snapshots"):
        result = t.expire_snapshots(args.older_than, args.retain_last or 1, dry_run=args.dry_run)
    if args.json:
        result["dry_run"] = args.dry_run
        _print_json(result)
        return EXIT_OK
    verb = "would expire" if args.dry_run else "expired"
    print(f"{verb} {len(result['expired_snapshot_ids'])} snapshot(s)")
    deleted = "would delete" if args.dry_run else "deleted"
    print(
        f"{deleted} {result['deleted_data_files']} data files, {result['deleted_manifests']} manifests, "
        f"{result['deleted_manifest_lists']} manifest lists, {result['deleted_metadata_files']} metadata files"
    )
    return EXIT_OK


def _cmd_gc(args: argparse.Namespace) -> int:
    t = _load(args)
    with _progress(args, "looking for orphan files"):
        result = t.remove_orphan_files(args.older_than, dry_run=args.dry_run)
    if args.json:
        result["dry_run"] = args.dry_run
        _print_json(result)
        return EXIT_OK
    for path in result["orphans"]:
        print(("would delete " if args.dry_run else "deleted ") + path)
    print(
        f"{len(result['orphans'])} orphan file(s): {result['data_files']} data files, {result['manifest_files']} "
        f"manifests, {result['manifest_lists']} manifest lists, {result['other_files']} other"
        + (" (dry run: nothing deleted)" if args.dry_run else "")
    )
    return EXIT_OK


def _cmd_tag(args: argparse.Namespace) -> int:
    t = _load(args)
    if args.tag_command == "create":
        t.create_tag(args.name, args.snapshot_id)
        sid = t.refs()[args.name]["snapshot_id"]
        if args.json:
            _print_json({"name": args.name, "type": "tag", "snapshot_id": sid})
        else:
            print(f"tag {args.name} -> snapshot {sid}")
        return EXIT_OK
    if args.tag_command == "drop":
        t.drop_tag(args.name)
        if args.json:
            _print_json({"dropped": args.name})
        else:
            print(f"dropped tag {args.name}")
        return EXIT_OK
    refs = {n: r for n, r in sorted(t.refs().items()) if args.all or r["type"] == "tag"}
    if args.json:
        _print_json(refs)
    else:
        print(_table([(n, r["type"], r["snapshot_id"]) for n, r in refs.items()], ("name", "type", "snapshot_id")))
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    processes, commits = _DEMO_DEFAULTS[args.mode]
    return run_demo(
        processes=args.processes or processes,
        commits=args.commits or commits,
        directory=args.dir,
        keep=args.keep,
        mode=args.mode,
    )


# (processes, increments per process) when not given: the counter mode's default is the
# 12 x 100 serializable counter the transactions issue asks to be proven.
_DEMO_DEFAULTS = {"append": (4, 500), "counter": (12, 100)}


# -- the parser ----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="datashard",
        description="Inspect, query and maintain datashard (Apache Iceberg v2) tables.",
        epilog="Exit status: 0 ok, 1 error, 2 usage error, 3 verify found damaged files.",
    )
    p.add_argument("--version", action="version", version=f"datashard {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help: str, func: Callable[[argparse.Namespace], int], quiet: bool = False) -> Any:
        s = sub.add_parser(name, help=help, description=help)
        s.add_argument("path", help="the table's directory")
        s.add_argument("--json", action="store_true", help="machine-readable output on stdout")
        if quiet:
            s.add_argument("-q", "--quiet", action="store_true", help="no progress indicator")
        s.set_defaults(func=func, subparser=s)
        return s

    def read_options(s: Any) -> None:
        g = s.add_mutually_exclusive_group()
        g.add_argument("--as-of", type=_arg(_when), default=None, metavar="T",
                       help="the table as it was at T (7d, 2h, epoch ms, or ISO 8601)")
        g.add_argument("--snapshot-id", type=int, default=None, metavar="ID", help="the table at this snapshot")
        g.add_argument("--ref", default=None, metavar="NAME", help="the table at this tag or branch")
        s.add_argument("--columns", "-c", action="append", metavar="A,B",
                       help="only these columns (comma-separated; repeatable)")
        s.add_argument("--where", "-w", action="append", metavar="EXPR",
                       help="""filter, e.g. "score > 3" or "name == 'x' or not (id < 5)" (repeatable: AND)""")

    command("info", "location, snapshot, row and file counts, schema, refs", _cmd_info)
    command("schema", "the table's columns", _cmd_schema)

    s = command("history", "the commits that led to the current state (oldest first)", _cmd_history)
    s.add_argument("-n", "--limit", type=_nonneg_int, default=None, help="only the last N commits")
    s.add_argument("--ref", default=None, metavar="NAME", help="the history of this branch or tag instead")

    s = command("head", "the first rows", _cmd_head)
    s.add_argument("-n", type=_nonneg_int, default=10, help="rows to show (default 10)")
    read_options(s)

    s = command("scan", "rows matching a filter (JSON lines with --json)", _cmd_scan, quiet=True)
    read_options(s)
    s.add_argument("--limit", "-n", type=_nonneg_int, default=None, help="at most N rows")
    s.add_argument("--count", action="store_true", help="print only the number of matching rows")
    s.add_argument("--stats", action="store_true",
                   help="print on stderr what the scan pruned and read (files, row groups, bytes)")

    s = command("changes", "rows inserted and deleted between two snapshots (_change_type column)", _cmd_changes)
    s.add_argument("--from", dest="from_snapshot", type=int, required=True, metavar="ID",
                   help="the snapshot already processed")
    s.add_argument("--to", dest="to_snapshot", type=int, default=None, metavar="ID",
                   help="up to this snapshot (default: the current one)")
    s.add_argument("--columns", "-c", action="append", metavar="A,B", help="only these columns")
    s.add_argument("--raw", action="store_true",
                   help="whole rewritten files as deletes and inserts (no cancelling of unchanged rows)")

    s = command("verify", "re-read every live file and check it against the metadata (exit 3 if damaged)",
                _cmd_verify, quiet=True)
    s.add_argument("--snapshot-id", type=int, default=None, metavar="ID", help="check this snapshot (default: current)")

    s = command("compact", "rewrite small data files into large ones and merge manifests", _cmd_compact, quiet=True)
    s.add_argument("--target-file-size", type=_arg(_size), default=128 * 1024 * 1024, metavar="SIZE",
                   help="target data file size (default 128MiB; e.g. 64MiB, 1GB, bytes)")
    s.add_argument("--manifests-only", action="store_true", help="only merge manifests")

    s = command("expire", "forget old snapshots and delete the files only they used", _cmd_expire, quiet=True)
    s.add_argument("--older-than", type=_arg(_when), default=None, metavar="T",
                   help="expire snapshots committed before T (7d = seven days ago, or a time); default: no age limit")
    s.add_argument("--retain-last", type=_positive_int, default=None, metavar="N",
                   help="always keep the newest N snapshots (default 1)")
    s.add_argument("--dry-run", action="store_true", help="report what would expire; change nothing")

    s = command("gc", "delete files no snapshot uses (older than a grace period)", _cmd_gc, quiet=True)
    s.add_argument("--older-than", type=_arg(_when), default="3d", metavar="T",
                   help="only files last modified before T (default 3d: three days ago)")
    s.add_argument("--dry-run", action="store_true", help="list the orphans; delete nothing")

    tag = sub.add_parser("tag", help="create, list or drop tags (named snapshots that never expire)")
    tag_sub = tag.add_subparsers(dest="tag_command", metavar="ACTION", required=True)
    s = tag_sub.add_parser("create", help="tag a snapshot (default: the current one)")
    s.add_argument("path")
    s.add_argument("name")
    s.add_argument("--snapshot-id", type=int, default=None, metavar="ID")
    s.add_argument("--json", action="store_true")
    s = tag_sub.add_parser("list", help="the tags (--all: branches too)")
    s.add_argument("path")
    s.add_argument("--all", action="store_true", help="list branches too")
    s.add_argument("--json", action="store_true")
    s = tag_sub.add_parser("drop", help="remove a tag")
    s.add_argument("path")
    s.add_argument("name")
    s.add_argument("--json", action="store_true")
    tag.set_defaults(func=_cmd_tag)

    s = sub.add_parser(
        "demo",
        help="P processes x M increments: a plain JSON file loses updates, datashard keeps every one",
    )
    s.add_argument(
        "--mode",
        choices=("append", "counter"),
        default="append",
        help="append: one row appended per increment (default); counter: one row updated by "
        "serializable read-modify-write transactions (Table.transact)",
    )
    s.add_argument(
        "--processes", "-p", type=int, default=None, help="writer processes (default 4; counter mode 12)"
    )
    s.add_argument(
        "--commits",
        "-m",
        type=int,
        default=None,
        help="increments (commits) per process (default 500; counter mode 100)",
    )
    s.add_argument("--dir", default=None, help="work directory (default: a new temporary directory)")
    s.add_argument("--keep", action="store_true", help="keep the work directory afterwards")
    s.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # exits 2 on a usage error
    if args.command == "demo" and any(v is not None and v < 1 for v in (args.processes, args.commits)):
        parser.error("--processes and --commits must be at least 1")
    from .errors import DatashardError

    try:
        return int(args.func(args))
    except _Usage as e:
        sub = getattr(args, "subparser", parser)
        sub.print_usage(sys.stderr)
        print(f"{sub.prog}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except (DatashardError, OSError, ValueError, NotImplementedError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
