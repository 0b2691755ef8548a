"""Partition specs as the original package spelled them, written as Iceberg JSON.

The engine validates transforms against the schema and applies them; this module
only carries the user's description.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .errors import SchemaError

__all__ = ["PartitionField", "PartitionSpec", "SortField", "SortOrder"]

_FIRST_PARTITION_FIELD_ID = 1000


@dataclass
class PartitionField:
    """One partition field: ``transform`` (identity, bucket[N], truncate[W], year, month,
    day, hour, void) applied to the source column with id ``source_id``."""

    source_id: int
    field_id: int
    name: str
    transform: str = "identity"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source-id": self.source_id,
            "field-id": self.field_id,
            "name": self.name,
            "transform": self.transform,
        }


@dataclass
class PartitionSpec:
    """A partition spec. ``PartitionSpec()`` (spec id 0, no fields) is unpartitioned."""

    spec_id: int = 0
    fields: list[PartitionField] = field(default_factory=list)

    def __post_init__(self) -> None:
        converted: list[PartitionField] = []
        for i, f in enumerate(self.fields):
            if isinstance(f, PartitionField):
                converted.append(f)
            elif isinstance(f, Mapping):
                try:
                    converted.append(
                        PartitionField(
                            source_id=int(f.get("source_id", f.get("source-id"))),  # type: ignore[arg-type]
                            field_id=int(f.get("field_id", f.get("field-id", _FIRST_PARTITION_FIELD_ID + i))),
                            name=str(f["name"]),
                            transform=str(f.get("transform", "identity")),
                        )
                    )
                except (KeyError, TypeError, ValueError) as e:
                    raise SchemaError(f"partition field {i} is malformed: {f!r} ({e})") from None
            else:
                raise SchemaError(f"partition field {i} must be a PartitionField or dict, got {f!r}")
        self.fields = converted

    def is_unpartitioned(self) -> bool:
        return not self.fields

    def to_dict(self) -> dict[str, Any]:
        return {"spec-id": self.spec_id, "fields": [f.to_dict() for f in self.fields]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any]) -> "PartitionSpec":
        obj = json.loads(text) if isinstance(text, (str, bytes)) else text
        return cls(int(obj.get("spec-id", 0)), list(obj.get("fields", [])))


@dataclass
class SortField:
    """Kept for compatibility with the original package (which persisted but never used it)."""

    source_id: int
    field_id: int
    transform: str = "identity"
    direction: str = "asc"


@dataclass
class SortOrder:
    """Kept for compatibility with the original package (which persisted but never used it)."""

    order_id: int = 0
    fields: Sequence[SortField] = field(default_factory=list)
