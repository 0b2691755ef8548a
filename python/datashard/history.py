"""Snapshots, history, time travel and refs (Iceberg tags and branches), as methods of ``Table``.

Every snapshot not yet expired stays readable: by id, by time (the engine finds the
version current at a time by binary search over the metadata versions, O(log N) reads),
or by a tag or branch name. A tag pins a snapshot and survives
``expire_snapshots``; a branch is a line of commits that transactions can write to
(``table.new_transaction(branch="dev")``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ._lazy import lazy_module
from ._convert import Parallel
from ._when import When, epoch_ms
from .errors import InvalidArgumentError
from .filters import FilterLike
from .snapshot import Snapshot, from_core

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = ["TableHistory"]


def _summary_int(summary: dict[str, str], key: str) -> int:
    try:
        return int(summary.get(key, 0))
    except (TypeError, ValueError):
        return 0


def _history_entry(s: dict[str, Any], refs_at: dict[int, list[str]], current: int | None) -> dict[str, Any]:
    summary = dict(s.get("summary") or {})
    return {
        "snapshot_id": s["snapshot_id"],
        "parent_id": s.get("parent_id"),
        "sequence_number": s.get("sequence_number"),
        "timestamp": datetime.fromtimestamp(s["timestamp_ms"] / 1000.0, tz=timezone.utc),
        "timestamp_ms": s["timestamp_ms"],
        "operation": s.get("operation"),
        "rows_added": _summary_int(summary, "added-records"),
        "rows_removed": _summary_int(summary, "deleted-records"),
        "total_rows": _summary_int(summary, "total-records"),
        "files_added": _summary_int(summary, "added-data-files"),
        "files_removed": _summary_int(summary, "deleted-data-files"),
        "schema_id": s.get("schema_id"),
        "refs": refs_at.get(s["snapshot_id"], []),
        "current": s["snapshot_id"] == current,
        "summary": summary,
    }


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgumentError(f"a {what} name must be a non-empty string, got {name!r}")
    return name


class TableHistory:
    """Snapshots, history, time travel and refs; mixed into :class:`~datashard.table.Table`."""

    _core: Any  # provided by Table
    if TYPE_CHECKING:  # provided by Table

        @property
        def location(self) -> str: ...

    to_arrow: Callable[..., pa.Table]  # provided by Table

    # -- snapshots -----------------------------------------------------------------------------

    def current_snapshot(self) -> Snapshot | None:
        """The latest snapshot, or None for a table with no commits."""
        self._core.refresh()
        sid = self._core.current_snapshot_id()
        return None if sid is None else self._snapshot(sid)

    def _snapshot(self, snapshot_id: int) -> Snapshot | None:
        d = self._core.snapshot_by_id(int(snapshot_id))
        return None if d is None else from_core(d)

    def snapshot_by_id(self, snapshot_id: int) -> Snapshot | None:
        """The snapshot with this id (also one older than the metadata's snapshot window), or None."""
        self._core.refresh()
        return self._snapshot(snapshot_id)

    def snapshots(self) -> list[dict[str, Any]]:
        """Snapshots, oldest first, as dicts ``{snapshot_id, timestamp_ms, timestamp (naive local
        datetime), operation, summary, parent_id, sequence_number, schema_id, manifest_list}``.

        Lists the snapshots the current metadata keeps (table property
        ``datashard.metadata.max-snapshots``, default 32); older ones stay reachable through
        :meth:`snapshot_by_id` and ``time_travel``.
        """
        self._core.refresh()
        return [from_core(d).to_dict() for d in self._core.snapshots()]

    def read_as_of(
        self,
        snapshot_id: int | None = None,
        timestamp: When | None = None,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        parallel: Parallel = True,
    ) -> pa.Table:
        """The table's data as of a snapshot id or a time (epoch ms, datetime, ISO string), as a
        ``pyarrow.Table``. A time before the first commit gives an empty table."""
        if snapshot_id is None and timestamp is None:
            raise InvalidArgumentError("read_as_of needs snapshot_id= or timestamp=")
        return self.to_arrow(
            columns=columns, filter=filter, parallel=parallel, snapshot_id=snapshot_id, as_of=timestamp
        )

    # -- which snapshot a read means ---------------------------------------------------------

    def _resolve_snapshot(
        self, snapshot_id: int | None, as_of: When | None, ref: str | None
    ) -> tuple[int | None, bool]:
        """``(snapshot id or None for the current one, empty)``; ``empty`` is True when
        ``as_of`` is before the table's first commit (there was nothing to read then)."""
        given = [n for n, v in (("snapshot_id", snapshot_id), ("as_of", as_of), ("ref", ref)) if v is not None]
        if len(given) > 1:
            raise InvalidArgumentError(f"give at most one of snapshot_id=, as_of= and ref=, got {', '.join(given)}")
        if snapshot_id is not None:
            if isinstance(snapshot_id, bool) or not isinstance(snapshot_id, int):
                raise InvalidArgumentError(f"snapshot_id must be an int, got {snapshot_id!r}")
            return int(snapshot_id), False
        if ref is not None:
            return self._ref_snapshot(ref), False
        if as_of is not None:
            sid = self._core.snapshot_as_of(epoch_ms(as_of, "as_of"))
            return (None, True) if sid is None else (int(sid), False)
        return None, False

    def _ref_snapshot(self, name: str) -> int:
        refs = self._core.refs()
        if name not in refs:
            known = ", ".join(f"{n} ({r['type']})" for n, r in sorted(refs.items())) or "none"
            raise InvalidArgumentError(f'no tag or branch named "{name}" in table {self.location} (refs: {known})')
        return int(refs[name]["snapshot_id"])

    def snapshot_as_of(self, when: When) -> Snapshot | None:
        """The snapshot that was current at ``when`` (epoch ms, datetime (naive = local time),
        ISO 8601 string, or a timedelta meaning "that long ago"): the state of the last commit
        at or before it. None if the table had no commit yet then. O(log versions) reads."""
        self._core.refresh()
        sid = self._core.snapshot_as_of(epoch_ms(when, "when"))
        return None if sid is None else self._snapshot(int(sid))

    def history(self, limit: int | None = None, *, ref: str | None = None) -> list[dict[str, Any]]:
        """The commits that led to the current snapshot (or to the head of ``ref``), newest
        first, including those older than the metadata's snapshot window, back to the oldest
        one not expired. Each entry: ``snapshot_id, parent_id, sequence_number, timestamp``
        (a UTC ``datetime``), ``timestamp_ms, operation, rows_added, rows_removed, total_rows,
        files_added, files_removed, schema_id, refs`` (tags/branches pointing at it),
        ``current, summary``. ``limit``: only the newest ``limit`` entries.

        Row and file counts are Iceberg's snapshot summary counts: a copy-on-write delete or
        overwrite removes whole files (``rows_removed`` counts all their rows) and adds back
        the rows that survive (``rows_added``); ``total_rows`` is exact.
        """
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise InvalidArgumentError(f"limit must be an int >= 0, got {limit!r}")
        self._core.refresh()
        current = self._core.current_snapshot_id()
        head = current if ref is None else self._ref_snapshot(ref)
        refs_at: dict[int, list[str]] = {}
        for name, r in sorted(self._core.refs().items()):
            refs_at.setdefault(int(r["snapshot_id"]), []).append(name)
        by_id = {s["snapshot_id"]: s for s in self._core.all_snapshots()}
        out: list[dict[str, Any]] = []
        sid = head
        while sid is not None and sid in by_id and (limit is None or len(out) < limit):
            s = by_id.pop(sid)  # pop: a parent cycle in damaged metadata cannot loop forever
            out.append(_history_entry(s, refs_at, current))
            sid = s.get("parent_id")
        return out

    # -- tags and branches -------------------------------------------------------------------

    def refs(self) -> dict[str, dict[str, Any]]:
        """Tags and branches: ``{name: {"snapshot_id": id, "type": "tag" | "branch"}}``
        (``main`` is the branch that follows the current snapshot)."""
        self._core.refresh()
        return {name: dict(r) for name, r in self._core.refs().items()}

    def _set_ref(self, name: str, snapshot_id: int | None, kind: str) -> None:
        if snapshot_id is not None and (isinstance(snapshot_id, bool) or not isinstance(snapshot_id, int)):
            raise InvalidArgumentError(f"snapshot_id must be an int, got {snapshot_id!r}")
        self._core.set_ref(_check_name(name, kind), snapshot_id, kind)
        self._core.refresh()

    def create_tag(self, name: str, snapshot_id: int | None = None) -> None:
        """Tag a snapshot (default: the current one). A tagged snapshot never expires; read it
        with ``ref=name``. ``InvalidArgumentError`` if a tag or branch of that name exists."""
        self._set_ref(name, snapshot_id, "tag")

    def create_branch(self, name: str, snapshot_id: int | None = None) -> None:
        """Start a branch at a snapshot (default: the current one). Write to it with
        ``table.new_transaction(branch=name)``; read it with ``ref=name``."""
        self._set_ref(name, snapshot_id, "branch")

    def _drop_ref(self, name: str, kind: str) -> None:
        _check_name(name, kind)
        refs = self._core.refs()
        if name in refs and refs[name]["type"] != kind:
            raise InvalidArgumentError(f'"{name}" is a {refs[name]["type"]}, not a {kind}')
        if kind == "branch" and name == "main":
            raise InvalidArgumentError('the "main" branch is the table\'s current state; it cannot be dropped')
        self._core.set_ref(name, None, "drop")
        self._core.refresh()

    def drop_tag(self, name: str) -> None:
        """Remove a tag (its snapshot may then expire). ``InvalidArgumentError`` if there is no
        such tag."""
        self._drop_ref(name, "tag")

    def drop_branch(self, name: str) -> None:
        """Remove a branch (its commits may then expire). ``InvalidArgumentError`` if there is no
        such branch."""
        self._drop_ref(name, "branch")
