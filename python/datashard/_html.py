"""Rich display in Jupyter: ``_repr_html_`` for Table, Snapshot and Scan.

Small, escaped HTML tables built from the same public methods a user would call; a display
never fails (an error while rendering shows as text instead of a traceback).
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

_STYLE = "border-collapse:collapse;font-size:90%"


def _rows(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    head = "".join(f"<th style='text-align:left'>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table style='{_STYLE}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _size(size: int) -> str:
    n = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _safely(render: Any, fallback: str) -> str:
    try:
        return str(render())
    except Exception as e:  # a notebook display must not raise
        return f"<pre>{html.escape(fallback)}\n(could not render: {html.escape(str(e))})</pre>"


def table_html(table: Any, history: int = 5) -> str:
    def render() -> str:
        files = table.data_files()
        snap = table.current_snapshot()
        facts = [
            ("location", table.location),
            ("current snapshot", "none (empty table)" if snap is None else f"{snap.snapshot_id} at {_when(snap.timestamp_ms)}"),
            ("rows", f"{table.row_count():,}"),
            ("data files", f"{len(files):,} ({_size(sum(int(f['file_size_in_bytes']) for f in files))})"),
        ]
        schema = _rows(
            ["column", "type", "required"],
            [(f["name"], f["type"], "yes" if f["required"] else "") for f in table.schema().to_dict()["fields"]],
        )
        recent = table.history(limit=history)
        log = _rows(
            ["snapshot", "committed", "operation", "rows added", "rows removed", "refs"],
            [
                (e["snapshot_id"], _when(e["timestamp_ms"]), e["operation"], e["rows_added"], e["rows_removed"],
                 ", ".join(e["refs"]))
                for e in reversed(recent)
            ],
        )
        return (
            f"<div><strong>datashard.Table</strong>{_rows(['', ''], facts)}"
            f"<details open><summary>schema</summary>{schema}</details>"
            f"<details><summary>recent history (newest first)</summary>{log}</details></div>"
        )

    return _safely(render, repr(table))


def snapshot_html(snapshot: Any) -> str:
    def render() -> str:
        summary = snapshot.summary
        facts = [
            ("snapshot id", snapshot.snapshot_id),
            ("committed", _when(snapshot.timestamp_ms)),
            ("operation", snapshot.operation),
            ("parent", snapshot.parent_snapshot_id),
            ("sequence number", snapshot.sequence_number),
            ("rows added", summary.get("added-records", "0")),
            ("rows removed", summary.get("deleted-records", "0")),
            ("total rows", summary.get("total-records")),
        ]
        return f"<div><strong>datashard.Snapshot</strong>{_rows(['', ''], facts)}</div>"

    return _safely(render, repr(snapshot))


def scan_html(scan: Any, preview: int = 10) -> str:
    def render() -> str:
        head = scan._preview(preview)
        cells = [[row[c] for c in head.column_names] for row in head.to_pylist()]
        more = "" if head.num_rows < preview else f"<p>first {preview} rows</p>"
        return f"<div><strong>{html.escape(repr(scan))}</strong>{_rows(head.column_names, cells)}{more}</div>"

    return _safely(render, repr(scan))
