"""Partition specs and sort orders as the original package spelled them, written as Iceberg JSON.

The engine validates transforms against the schema and applies them; this module
only carries the user's description.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .errors import SchemaError

__all__ = [
    "PartitionField",
    "PartitionSpec",
    "SortField",
    "SortOrder",
    "sort_terms",
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


_DIRECTIONS = ("asc", "desc")
_NULL_ORDERS = ("nulls-first", "nulls-last")


def _default_null_order(direction: str) -> str:
    # Iceberg's default (Java SortOrder.Builder, PyIceberg SortField).
    return "nulls-first" if direction == "asc" else "nulls-last"


@dataclass
class SortField:
    """One field of a sort order: rows ordered by ``transform`` (identity, bucket[N],
    truncate[W], year, month, day, hour) of the column with id ``source_id``, in
    ``direction`` (``"asc"``/``"desc"``), nulls where ``null_order`` says (``"nulls-first"``
    / ``"nulls-last"``; default: first ascending, last descending, as Iceberg).

    ``field_id`` is the original package's (sort fields have no id in Iceberg) and is kept
    for compatibility only."""

    source_id: int
    field_id: int = 0
    transform: str = "identity"
    direction: str = "asc"
    null_order: str | None = None

    def __post_init__(self) -> None:
        if self.direction not in _DIRECTIONS:
            raise SchemaError(f'sort direction must be "asc" or "desc", got {self.direction!r}')
        if self.null_order is None:
            self.null_order = _default_null_order(self.direction)
        elif self.null_order not in _NULL_ORDERS:
            raise SchemaError(f'null order must be "nulls-first" or "nulls-last", got {self.null_order!r}')

    def to_dict(self) -> dict[str, Any]:
        return {
            "transform": self.transform,
            "source-id": self.source_id,
            "direction": self.direction,
            "null-order": self.null_order,
        }


@dataclass
class SortOrder:
    """A table's sort order (Iceberg "Sorting"): appends write each data file sorted by it
    and compaction (``compact(sort=True)``) sorts whole partitions by it. ``SortOrder()``
    (order id 0, no fields) is unsorted. ``table.sort_order()`` returns the table's; set it
    with ``table.replace_sort_order(...)``."""

    order_id: int = 0
    fields: Sequence[SortField] = field(default_factory=list)
    #: The order's JSON when its fields are not ones this package reads (another engine's
    #: direction or a multi-column field): the engine keeps it as it is and never sorts by it.
    raw: Mapping[str, Any] | None = field(default=None, compare=False)

    def is_unsorted(self) -> bool:
        return not self.fields and self.raw is None

    def to_dict(self) -> dict[str, Any]:
        if self.raw is not None:
            return dict(self.raw)
        return {"order-id": self.order_id, "fields": [f.to_dict() for f in self.fields]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any]) -> "SortOrder":
        obj = json.loads(text) if isinstance(text, (str, bytes)) else text
        fields = []
        try:
            for f in obj.get("fields", []):
                fields.append(
                    SortField(
                        source_id=int(f["source-id"]),
                        transform=str(f.get("transform", "identity")),
                        direction=str(f.get("direction", "asc")),
                        null_order=str(f["null-order"]) if "null-order" in f else None,
                    )
                )
        except (KeyError, TypeError, ValueError):  # SchemaError is a ValueError
            return cls(int(obj.get("order-id", 0)), [], raw=obj)
        return cls(int(obj.get("order-id", 0)), fields)


# A sort term as users write it: "ts", "id desc", "name asc nulls last", "day(ts) desc",
# "bucket[16](id)", or a tuple ("id", "desc"), ("name", "asc", "nulls-last").
SortTermLike = Any

_TERM = re.compile(
    r"^\s*(?:(?P<transform>identity|year|month|day|hour|bucket\[\d+\]|truncate\[\d+\]|void)\s*\(\s*(?P<inner>[^()]+?)\s*\)"
    r"|(?P<column>[^\s()]+))"
    r"(?:\s+(?P<direction>asc|desc))?(?:\s+nulls[\s_-]+(?P<nulls>first|last))?\s*$",
    re.IGNORECASE,
)


def _split_term(text: str) -> tuple[str, str, str, str]:
    match = _TERM.match(text)
    if match is None:
        raise SchemaError(
            f"cannot read sort term {text!r}: write a column, optionally as transform(column), then asc or desc "
            'and nulls first or nulls last, e.g. "ts", "id desc", "day(ts) desc nulls last", "bucket[16](id)"'
        )
    column = match.group("inner") or match.group("column")
    transform = (match.group("transform") or "identity").lower()
    direction = (match.group("direction") or "").lower()
    nulls = match.group("nulls")
    return column, transform, direction, f"nulls-{nulls.lower()}" if nulls else ""


def sort_terms(terms: Sequence[SortTermLike]) -> list[tuple[str, str, str, str]]:
    """``(column, transform, direction, null_order)`` for each term of a sort order as users
    write it (see :meth:`~datashard.Table.replace_sort_order`); ``null_order`` ``""`` means
    the direction's default. Raises :class:`SchemaError` for a term it cannot read; whether
    the column and transform fit the table is the engine's check."""
    out: list[tuple[str, str, str, str]] = []
    for term in terms:
        if isinstance(term, str):
            column, transform, direction, nulls = _split_term(term)
        elif isinstance(term, tuple) and 1 <= len(term) <= 3 and all(isinstance(t, str) for t in term):
            column, transform, direction, nulls = _split_term(term[0])
            if direction or nulls:
                raise SchemaError(f"sort term {term!r}: give the direction and null order once")
            if len(term) >= 2:
                direction = term[1].lower()
            if len(term) == 3:
                nulls = term[2].lower().replace(" ", "-").replace("_", "-")
        else:
            raise SchemaError(
                f"a sort term is a string such as \"id desc\" or a tuple (column, direction[, null_order]), got {term!r}"
            )
        direction = direction or "asc"
        if direction not in _DIRECTIONS:
            raise SchemaError(f'sort term {term!r}: direction must be "asc" or "desc", got {direction!r}')
        if nulls and nulls not in _NULL_ORDERS:
            raise SchemaError(f'sort term {term!r}: null order must be "nulls-first" or "nulls-last", got {nulls!r}')
        out.append((column, transform, direction, nulls))
    return out


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

