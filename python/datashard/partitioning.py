"""Partition specs as the original package spelled them, written as Iceberg JSON.

The engine validates transforms against the schema and applies them; this module
only carries the user's description.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .errors import SchemaError

__all__ = [
    "PartitionField",
    "PartitionSpec",
    "SortField",
    "SortOrder",
    "UnsupportedTransform",
    "murmur3_32",
    "transform_function",
]

# The original package's name for a transform that cannot partition its column. The
# engine refuses those with SchemaError (a ValueError, as the original's class was), so
# ``except UnsupportedTransform`` catches exactly what it did here.
UnsupportedTransform = SchemaError

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
                            source_id=int(f.get("source_id", f.get("source-id"))),
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


# -- the original package's transform helpers, over the engine's transforms ----------------------

_EPOCH_DATE_ORDINAL = 719163  # datetime.date(1970, 1, 1).toordinal()


def murmur3_32(data: bytes) -> int:
    """Iceberg's bucket hash (32-bit Murmur3 x86, seed 0, spec Appendix B) of ``data``, as a
    signed int; the engine's own implementation."""
    from . import _core

    return int(_core.murmur3_32(bytes(data)))


def transform_function(transform: str, source_type: str) -> Callable[[Any], Any]:
    """``f(value) -> partition value``: the Iceberg partition transform ``transform``
    (``identity``, ``bucket[N]``, ``truncate[W]``, ``year``, ``month``, ``day``, ``hour``,
    ``void``) of a value of the Iceberg type ``source_type`` (``"long"``, ``"decimal(18,8)"``,
    ...), computed by the engine, so it is the value datashard writes into manifests. Results
    are Python values as Iceberg defines them: ints for bucket, year, month, day and hour
    (units since 1970), the truncated value for truncate. :class:`SchemaError` (also
    ``UnsupportedTransform``) when the transform cannot apply to the type."""
    import pyarrow as pa

    from . import _core
    from .schema import Schema, normalize_type

    type_name = normalize_type(source_type, "value")
    arrow_type = Schema(0, [{"id": 1, "name": "value", "type": type_name}]).to_arrow().field(0).type
    _core.apply_transform(transform, type_name, pa.table({"value": pa.array([], arrow_type)}))  # checks now

    def apply(value: Any) -> Any:
        column = pa.array([value], arrow_type)
        result = pa.RecordBatchReader.from_stream(_core.apply_transform(transform, type_name, pa.table({"value": column})))
        out = result.read_all().column(0)[0].as_py()
        if transform == "day" and hasattr(out, "toordinal"):
            return out.toordinal() - _EPOCH_DATE_ORDINAL  # Iceberg's day: days since 1970-01-01
        return out

    return apply


# The original's writer helper, importable only: datashard's engine splits rows by partition
# when it writes (docs/compatibility.md).
def _refused_partition_groups() -> Any:
    from ._original_internals import original_internal_function

    return original_internal_function(
        "partitioning", "partition_groups",
        "append the rows to a partitioned table; the engine splits them by the table's spec",
    )


partition_groups = _refused_partition_groups()

