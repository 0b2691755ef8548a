"""Snapshot: one committed state of a table, as the engine reports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

__all__ = ["Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """A committed table state (Iceberg snapshot).

    Attribute names follow the original package: ``parent_snapshot_id`` here,
    ``parent_id`` in the dicts of ``Table.snapshots()``.
    """

    snapshot_id: int
    timestamp_ms: int
    manifest_list: str
    parent_snapshot_id: int | None = None
    operation: str | None = None
    summary: dict[str, str] = field(default_factory=dict)
    schema_id: int | None = None
    sequence_number: int | None = None

    @property
    def timestamp(self) -> datetime:
        """Commit time as a naive local datetime (what the original package returned)."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000.0)

    def to_dict(self) -> dict[str, Any]:
        """The dict ``Table.snapshots()`` returns for this snapshot."""
        return {
            "snapshot_id": self.snapshot_id,
            "timestamp_ms": self.timestamp_ms,
            "timestamp": self.timestamp,
            "operation": self.operation,
            "summary": dict(self.summary),
            "parent_id": self.parent_snapshot_id,
            "sequence_number": self.sequence_number,
            "schema_id": self.schema_id,
            "manifest_list": self.manifest_list,
        }

    def _repr_html_(self) -> str:
        """Jupyter: the snapshot's facts and row counts."""
        from ._html import snapshot_html

        return snapshot_html(self)

    def __repr__(self) -> str:
        return (
            f"Snapshot(snapshot_id={self.snapshot_id}, sequence_number={self.sequence_number}, "
            f"timestamp={self.timestamp.isoformat(sep=' ', timespec='milliseconds')}, "
            f"operation={self.operation!r}, parent_snapshot_id={self.parent_snapshot_id})"
        )


def from_core(d: Mapping[str, Any]) -> Snapshot:
    """A :class:`Snapshot` from the dict the engine reports for it."""
    return Snapshot(
        snapshot_id=int(d["snapshot_id"]),
        timestamp_ms=int(d["timestamp_ms"]),
        manifest_list=str(d.get("manifest_list", "")),
        parent_snapshot_id=d.get("parent_id"),
        operation=d.get("operation"),
        summary=dict(d.get("summary") or {}),
        schema_id=d.get("schema_id"),
        sequence_number=d.get("sequence_number"),
    )
