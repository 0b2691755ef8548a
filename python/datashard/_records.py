"""Row dicts -> one Arrow table, checked before anything is written.

The original API takes records as a list of dicts. Each value is checked
against its column's Iceberg type here so that a bad row is reported by index
and field name (``row 17, field "ts": expected timestamp, got str 'yesterday'``)
and the engine never sees it. Only conversion happens here; the engine still
validates everything it receives.
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
import math
import uuid as _uuid
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ._lazy import lazy_module
from .errors import SchemaError
from .schema import Schema

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

_INT_LIMITS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class _Reject(Exception):
    """Internal: the value does not fit; the message says why."""


def _describe(v: Any) -> str:
    text = repr(v)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(v).__name__} {text}"


def _numpy_kind(v: Any) -> str | None:
    dtype = getattr(v, "dtype", None)
    if dtype is not None and getattr(v, "ndim", None) == 0:
        return getattr(dtype, "kind", None)
    return None


def _check_bool(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if _numpy_kind(v) == "b":
        return bool(v)
    raise _Reject()


def _int_checker(type_name: str) -> Callable[[Any], Any]:
    lo, hi = _INT_LIMITS[type_name]

    def check(v: Any) -> Any:
        if isinstance(v, bool):
            raise _Reject()
        if not isinstance(v, int):
            kind = _numpy_kind(v)
            if kind in ("i", "u"):
                v = int(v)
            elif isinstance(v, float) or kind == "f":
                f = float(v)
                if math.isnan(f):
                    raise _Reject(f"NaN is not allowed in a {type_name} column")
                if not f.is_integer():
                    raise _Reject()
                v = int(f)
            else:
                raise _Reject()
        if not lo <= v <= hi:
            raise _Reject(f"{v} is out of range for {type_name} ({lo}..{hi})")
        return v

    return check


def _check_float(v: Any) -> Any:
    if isinstance(v, bool):
        raise _Reject()
    if isinstance(v, (int, float)):
        return v
    if _numpy_kind(v) in ("i", "u", "f"):
        return v.item()
    raise _Reject()


def _decimal_checker(arrow_type: pa.DataType) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, _decimal.Decimal)):
            raise _Reject()
        if isinstance(v, _decimal.Decimal) and not v.is_finite():
            raise _Reject(f"{v} is not a finite decimal")
        try:
            pa.scalar(v, type=arrow_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
            raise _Reject(f"{v} does not fit {arrow_type}: {e}") from None
        return v

    return check


def _check_date(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        raise _Reject("got a datetime for a date column; pass value.date()")
    if isinstance(v, _dt.date):
        return v
    raise _Reject()


def _check_time(v: Any) -> Any:
    if isinstance(v, _dt.time):
        return v
    raise _Reject()


def _check_timestamp(v: Any) -> Any:
    if isinstance(v, _dt.datetime):
        return v
    raise _Reject()


def _check_string(v: Any) -> Any:
    if isinstance(v, str):
        return v
    raise _Reject()


def _check_uuid(v: Any) -> Any:
    if isinstance(v, _uuid.UUID):
        return v.bytes
    if isinstance(v, str):
        try:
            return _uuid.UUID(v).bytes
        except ValueError:
            raise _Reject(f"{v!r} is not a uuid") from None
    if isinstance(v, (bytes, bytearray)):
        if len(v) == 16:
            return bytes(v)
        raise _Reject(f"{_describe(v)} is not a uuid: a uuid as bytes is 16 bytes, got {len(v)}")
    raise _Reject()


def _check_binary(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise _Reject()


def _fixed_checker(length: int) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        if not isinstance(v, (bytes, bytearray, memoryview)):
            raise _Reject()
        b = bytes(v)
        if len(b) != length:
            raise _Reject(f"expected exactly {length} bytes, got {len(b)}")
        return b

    return check


def _checker(type_name: str, arrow_type: pa.DataType) -> Callable[[Any], Any]:
    if type_name == "boolean":
        return _check_bool
    if type_name in _INT_LIMITS:
        return _int_checker(type_name)
    if type_name in ("float", "double"):
        return _check_float
    if type_name.startswith("decimal"):
        return _decimal_checker(arrow_type)
    if type_name == "date":
        return _check_date
    if type_name == "time":
        return _check_time
    if type_name in ("timestamp", "timestamptz"):
        return _check_timestamp
    if type_name == "string":
        return _check_string
    if type_name == "uuid":
        return _check_uuid
    if type_name == "binary":
        return _check_binary
    if type_name.startswith("fixed["):
        return _fixed_checker(int(type_name[6:-1]))
    raise SchemaError(f"unsupported column type {type_name}")  # Schema() already rejects these


def records_to_arrow(records: Sequence[Mapping[str, Any]], schema: Schema, arrow_schema: pa.Schema) -> pa.Table:
    """Check every record against ``schema`` and build a table with ``arrow_schema``.

    Raises:
        SchemaError: naming the first bad row (0-based index) and field: an unknown key,
            a missing or None required field, a value of the wrong Python type, NaN in a
            non-floating column, an out-of-range number.
    """
    if isinstance(records, Mapping) or isinstance(records, (str, bytes)):
        raise SchemaError("records must be a list of dicts (one dict per row)")
    fields = schema.fields
    names = [f["name"] for f in fields]
    known = set(names)
    checkers = [_checker(f["type"], arrow_schema.field(f["name"]).type) for f in fields]
    columns: list[list[Any]] = [[] for _ in fields]
    for row_index, row in enumerate(records):
        if not isinstance(row, Mapping):
            raise SchemaError(f"row {row_index}: expected a dict, got {_describe(row)}")
        if len(row.keys() - known) > 0:
            unknown = sorted(str(k) for k in row.keys() - known)
            raise SchemaError(
                f'row {row_index}, field "{unknown[0]}": not a column of the table '
                f"(columns: {', '.join(names)})"
            )
        for col, f, check in zip(columns, fields, checkers):
            name = f["name"]
            v = row.get(name)
            if v is None:
                if f["required"]:
                    what = "is None" if name in row else "is missing"
                    raise SchemaError(f'row {row_index}, field "{name}": required field {what}')
                col.append(None)
                continue
            try:
                col.append(check(v))
            except _Reject as r:
                reason = str(r) or f"expected {f['type']}, got {_describe(v)}"
                raise SchemaError(f'row {row_index}, field "{name}": {reason}') from None
    try:
        by_name = {f["name"]: col for col, f in zip(columns, fields)}
        arrays = [pa.array(by_name[af.name], type=af.type) for af in arrow_schema]
        return pa.Table.from_arrays(arrays, schema=arrow_schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
        raise SchemaError(f"records do not fit the table schema: {e}") from None


# -- schema on write -----------------------------------------------------------------------------

# The Iceberg type each Python value kind infers (docs/compatibility.md, "Schema on write").
# Order matters: bool before int (bool is an int), datetime before date (a datetime is a date).
_INFERRED = (
    (bool, "boolean"),
    (int, "long"),
    (float, "double"),
    (str, "string"),
    (_dt.datetime, "timestamp"),  # "timestamptz" when it carries a tzinfo
    (_dt.date, "date"),
    (_dt.time, "time"),
    (_decimal.Decimal, "decimal"),
    (_uuid.UUID, "uuid"),
    ((bytes, bytearray, memoryview), "binary"),
)
_NUMPY_KINDS = {"b": "boolean", "i": "long", "u": "long", "f": "double"}
_MAX_DECIMAL_PRECISION = 38


def _value_kind(v: Any) -> str:
    for py_type, kind in _INFERRED:
        if isinstance(v, py_type):
            if kind == "timestamp" and isinstance(v, _dt.datetime) and v.utcoffset() is not None:
                return "timestamptz"
            return kind
    numpy_kind = _NUMPY_KINDS.get(_numpy_kind(v) or "")
    if numpy_kind is not None:
        return numpy_kind
    if isinstance(v, (list, tuple, dict, set)):
        raise _Reject(f"{type(v).__name__} values are not supported yet (nested types); give a schema or flatten it")
    raise _Reject(f"cannot infer a column type from {_describe(v)}")


def _decimal_shape(v: _decimal.Decimal) -> tuple[int, int]:
    """(integer digits, fraction digits) of a finite Decimal."""
    if not v.is_finite():
        raise _Reject(f"{v} is not a finite decimal")
    sign, digits, exponent = v.as_tuple()
    assert isinstance(exponent, int)
    fraction = max(0, -exponent)
    integer = max(0, len(digits) + exponent)
    return integer, fraction


def infer_schema(records: Sequence[Mapping[str, Any]]) -> Schema:
    """The schema a table created without one takes from its first records.

    Columns come in the order their keys first appear; field ids are 1..n in that order;
    every column is optional. Python int -> long (float in the same column -> double),
    float -> double, str -> string, bool -> boolean, datetime -> timestamp (naive) or
    timestamptz (aware), date -> date, time -> time, Decimal -> decimal(P, S) wide enough for
    every value, bytes -> binary, uuid.UUID -> uuid; numpy scalars as their Python kinds.

    Raises:
        SchemaError: naming the column for a column that is None in every row (its type
            cannot be known), values of two kinds in one column (other than int and float),
            naive and aware datetimes together, nested values, or an int beyond 64 bits.
    """
    if isinstance(records, Mapping) or isinstance(records, (str, bytes)):
        raise SchemaError("records must be a list of dicts (one dict per row)")
    kinds: dict[str, str | None] = {}
    first_row: dict[str, int] = {}
    decimal_digits: dict[str, tuple[int, int]] = {}
    for row_index, row in enumerate(records):
        if not isinstance(row, Mapping):
            raise SchemaError(f"row {row_index}: expected a dict, got {_describe(row)}")
        for name, v in row.items():
            if not isinstance(name, str) or not name:
                raise SchemaError(f"row {row_index}: column names must be non-empty strings, got {name!r}")
            if name not in kinds:
                kinds[name] = None
            if v is None:
                continue
            try:
                kind: str | None = _value_kind(v)
                if kind == "long":
                    _check_long_range(v)
                if kind == "decimal":
                    integer, fraction = _decimal_shape(v)
                    old_integer, old_fraction = decimal_digits.get(name, (0, 0))
                    decimal_digits[name] = (max(integer, old_integer), max(fraction, old_fraction))
            except _Reject as r:
                raise SchemaError(f'row {row_index}, field "{name}": {r}') from None
            known = kinds[name]
            if known is None or known == kind:
                kinds[name] = kind
                first_row.setdefault(name, row_index)
            elif {known, kind} == {"long", "double"}:
                kinds[name] = "double"
            else:
                raise SchemaError(
                    f'row {row_index}, field "{name}": {_describe(v)} is {kind}, but row {first_row[name]} '
                    f"made the column {known}; one column holds one type (give a schema to say which)"
                )
    if not kinds:
        raise SchemaError("the first append has no columns, so the table's schema cannot be inferred from it")
    fields: list[dict[str, Any]] = []
    for field_id, (name, kind) in enumerate(kinds.items(), start=1):
        if kind is None:
            raise SchemaError(
                f'field "{name}": None in every row of the first append, so its type cannot be inferred; '
                "give a value in at least one row, or create the table with a schema"
            )
        if kind == "decimal":
            integer, fraction = decimal_digits[name]
            precision = max(1, integer + fraction)
            if precision > _MAX_DECIMAL_PRECISION:
                raise SchemaError(
                    f'field "{name}": its Decimal values need {precision} digits; Iceberg decimals hold at most 38'
                )
            kind = f"decimal({precision}, {fraction})"
        fields.append({"id": field_id, "name": name, "type": kind, "required": False})
    return Schema(0, fields)


def _check_long_range(v: Any) -> None:
    lo, hi = _INT_LIMITS["long"]
    if isinstance(v, int) and not lo <= v <= hi:
        raise _Reject(f"{v} is out of range for long ({lo}..{hi})")
