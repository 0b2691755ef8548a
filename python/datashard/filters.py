"""The original package's filter language, converted into the engine's predicate list.

``filter`` is a dict whose entries are AND-ed::

    {"c": v}                      c == v
    {"c": ("op", v)}              any 2-tuple is (operator, value); operators are
                                  == = eq, != <> ne, < lt, <= le, > gt, >= ge,
                                  in, not_in / not in / notin, between (lo, hi),
                                  is_null / isnull, is_not_null / notnull / isnotnull
                                  (case-insensitive; the value of the null tests is ignored)

SQL null semantics: comparisons and ``in``/``not_in`` never match a null; nulls
inside an ``in`` list are dropped; ``in []`` matches nothing and ``not_in []``
every non-null row. ``{"c": None}`` is an error (write ``("is_null", None)``).

OR, NOT and explicit AND are dict entries whose key starts with ``$`` (a
column really named ``$or`` is filtered with the tuple form instead)::

    {"$or": [{"c": 1}, {"d": ("<", 0)}]}        c == 1 OR d < 0
    {"$not": {"c": ("in", [1, 2])}}             NOT (c IN (1, 2))
    {"$and": [{"c": (">", 0)}, {"c": ("<", 9)}]}  two predicates on one column
    {"g": "a", "$or": [...]}                    entries are still AND-ed

Each operand of ``$or`` / ``$and`` (and the one of ``$not``) may be any filter
form: a dict, a tuple, a list of tuples, a ``col()`` expression.

Besides the dict, ``filter`` may be one ``(column, op, value)`` tuple, a list of
them (AND-ed), a :class:`FilterExpression`, an expression built with
``datashard.col`` (``(col("x") > 3) | ~col("y").isin([1, 2])``, see
:mod:`datashard.expressions`) or a list mixing these.

Three-valued logic, as in SQL: a comparison with a null cell is unknown,
``NOT`` unknown is unknown, and a row is returned only where the whole filter
is true, so ``NOT (c < 5)`` returns neither the rows where ``c`` is null nor
those where ``c < 5``. Comparisons follow Arrow: NaN equals nothing and is
neither less nor greater than anything (``NOT (c < 5)`` does return NaN rows),
and ``-0.0 == 0.0``.

An unknown column is a :class:`SchemaError`; a value of the wrong type for its
column (``{"name": ("<", 5)}`` on a string column) a :class:`FilterTypeError`,
which is both a ``SchemaError`` and an ``InvalidArgumentError``.

The engine receives ``[(column, op, values)]`` where ``values`` is a pyarrow
array of the column's own Arrow type, and ``("or" | "and", [items])`` /
``("not", [item])`` for the boolean nodes; converting the Python values here
keeps the C++ side free of Python-object handling.
"""

from __future__ import annotations

import decimal
import math
import uuid as _uuid
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Protocol, Sequence, Union, runtime_checkable

from ._lazy import lazy_module
from .errors import FilterTypeError, InvalidArgumentError, SchemaError

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = [
    "FilterOp",
    "FilterExpression",
    "FilterLike",
    "FilterTerm",
    "And",
    "Or",
    "Not",
    "SupportsFilterTerms",
    "parse_filter_dict",
    "parse_filter",
    "to_core_filters",
    "to_pyarrow_compute_expression",
    "describe_core_filters",
    "map_columns",
    "prune_files_by_bounds",
]


class FilterOp(str, Enum):
    """Comparison operators of the filter language (values as the engine spells them)."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"
    NOT_IN = "not_in"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"

    def __str__(self) -> str:
        return self.value


_ALIASES: dict[str, FilterOp | str] = {
    "==": FilterOp.EQ, "=": FilterOp.EQ, "eq": FilterOp.EQ,
    "!=": FilterOp.NE, "<>": FilterOp.NE, "ne": FilterOp.NE,
    "<": FilterOp.LT, "lt": FilterOp.LT,
    "<=": FilterOp.LE, "le": FilterOp.LE,
    ">": FilterOp.GT, "gt": FilterOp.GT,
    ">=": FilterOp.GE, "ge": FilterOp.GE,
    "in": FilterOp.IN,
    "not_in": FilterOp.NOT_IN, "not in": FilterOp.NOT_IN, "notin": FilterOp.NOT_IN,
    "is_null": FilterOp.IS_NULL, "isnull": FilterOp.IS_NULL,
    "is_not_null": FilterOp.IS_NOT_NULL, "notnull": FilterOp.IS_NOT_NULL, "isnotnull": FilterOp.IS_NOT_NULL,
    "between": "between",
}

_NULL_OPS = (FilterOp.IS_NULL, FilterOp.IS_NOT_NULL)
_SET_OPS = (FilterOp.IN, FilterOp.NOT_IN)


def _parse_op(op: Any, column: str) -> FilterOp | str:
    if isinstance(op, FilterOp):
        return op
    if isinstance(op, str):
        found = _ALIASES.get(" ".join(op.strip().lower().split()))
        if found is not None:
            return found
    raise InvalidArgumentError(
        f'filter on "{column}": unknown operator {op!r} (use one of ==, !=, <, <=, >, >=, in, not_in, '
        "between, is_null, is_not_null)"
    )


@dataclass(frozen=True)
class FilterExpression:
    """One predicate ``column op value``. ``value`` is a sequence for in/not_in and ignored
    for is_null/is_not_null."""

    column: str
    op: FilterOp
    value: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise InvalidArgumentError(f"filter column must be a non-empty string, got {self.column!r}")
        op = _parse_op(self.op, self.column)
        if op == "between":
            raise InvalidArgumentError(
                f'filter on "{self.column}": "between" expands into two expressions; use parse_filter_dict'
            )
        object.__setattr__(self, "op", op)
        if op in _NULL_OPS:
            object.__setattr__(self, "value", None)
        elif op in _SET_OPS:
            if isinstance(self.value, (str, bytes)) or not isinstance(self.value, Iterable):
                raise InvalidArgumentError(
                    f'filter on "{self.column}": "{op}" needs a list of values, got {self.value!r}'
                )
            object.__setattr__(self, "value", list(self.value))  # a list, as the original kept it
        elif self.value is None:
            raise InvalidArgumentError(
                f'filter on "{self.column}": cannot compare with None; use ("is_null", None) or '
                '("is_not_null", None) to test for missing values'
            )

    def __hash__(self) -> int:  # the value of in/not_in is a list
        value = tuple(self.value) if isinstance(self.value, list) else self.value
        return hash((self.column, self.op, value))


@dataclass(frozen=True)
class And:
    """All of ``terms`` (a nested AND; the top level of a filter is AND-ed already)."""

    terms: tuple["FilterTerm", ...]


@dataclass(frozen=True)
class Or:
    """Any of ``terms``."""

    terms: tuple["FilterTerm", ...]


@dataclass(frozen=True)
class Not:
    """The negation of ``term`` (three-valued: NOT of an unknown stays unknown)."""

    term: "FilterTerm"


#: One AND-ed item of a filter: a predicate, or a boolean combination of them.
FilterTerm = Union[FilterExpression, And, Or, Not]


def map_columns(terms: Sequence[FilterTerm], rename: Any) -> list[FilterTerm]:
    """``terms`` with every predicate's column replaced by ``rename(column)``."""

    def one(t: FilterTerm) -> FilterTerm:
        if isinstance(t, FilterExpression):
            return FilterExpression(rename(t.column), t.op, t.value)
        if isinstance(t, Not):
            return Not(one(t.term))
        return type(t)(tuple(one(c) for c in t.terms))

    return [one(t) for t in terms]


def _is_term(item: Any) -> bool:
    return isinstance(item, (FilterExpression, And, Or, Not))


@runtime_checkable
class SupportsFilterTerms(Protocol):
    """A filter object that stands for AND-ed :data:`FilterTerm` s: what
    ``datashard.col(...)`` expressions (:class:`datashard.expressions.Expr`) are, so that this
    module accepts them without importing the module that builds them."""

    def filter_terms(self) -> Sequence[FilterTerm]:
        """The AND-ed terms."""
        ...


FilterLike = Union[
    Mapping[str, Any],
    FilterExpression,
    And,
    Or,
    Not,
    SupportsFilterTerms,  # datashard.col(...) expressions
    Sequence[Any],  # (column, op, value) or a list of those / of FilterExpressions / of Exprs
    None,
]


def _expand(column: str, op: Any, value: Any) -> list[FilterExpression]:
    parsed = _parse_op(op, column)
    if parsed == "between":
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
            raise InvalidArgumentError(f'filter on "{column}": "between" needs (low, high), got {value!r}')
        lo, hi = value
        if lo is None or hi is None:
            raise InvalidArgumentError(f'filter on "{column}": "between" bounds cannot be None')
        return [FilterExpression(column, FilterOp.GE, lo), FilterExpression(column, FilterOp.LE, hi)]
    return [FilterExpression(column, parsed, value)]  # type: ignore[arg-type]


_DICT_NODES = ("$or", "$and", "$not")


def _dict_node(key: str, spec: Any) -> FilterTerm:
    """``{"$or": [...]}``, ``{"$and": [...]}`` or ``{"$not": ...}`` as a term."""
    if key == "$not":  # NOT of one filter (a list of tuples is one filter: their AND)
        return Not(_as_one(parse_filter(spec)))
    if isinstance(spec, (str, bytes, Mapping)) or not isinstance(spec, (list, tuple)) or not spec:
        raise InvalidArgumentError(
            f'"{key}" takes a non-empty list of filters, e.g. {{"{key}": [{{"a": 1}}, {{"b": ("<", 0)}}]}}, '
            f"got {spec!r}"
        )
    operands = [_as_one(parse_filter(item)) for item in spec]
    return Or(tuple(operands)) if key == "$or" else And(tuple(operands))


def _as_one(terms: list[FilterTerm]) -> FilterTerm:
    """AND-ed terms as one term."""
    if len(terms) == 1:
        return terms[0]
    if not terms:
        raise InvalidArgumentError("an operand of $or / $and / $not is an empty filter")
    return And(tuple(terms))


def parse_filter_dict(filter_dict: Mapping[str, Any]) -> list[FilterTerm]:
    """Parse the dict form into AND-ed terms: :class:`FilterExpression` s, and :class:`Or` /
    :class:`And` / :class:`Not` for the ``$or`` / ``$and`` / ``$not`` entries.

    Raises :class:`InvalidArgumentError` (a ``ValueError``) for an unknown operator,
    a None value outside the null tests, or a malformed ``between``/``in``/``$or``.
    """
    if not isinstance(filter_dict, Mapping):
        raise InvalidArgumentError(f"filter must be a dict, got {type(filter_dict).__name__}")
    out: list[FilterTerm] = []
    for column, spec in filter_dict.items():
        if isinstance(column, str) and column.lower() in _DICT_NODES:
            out.append(_dict_node(column.lower(), spec))
        elif isinstance(column, str) and column.startswith("$"):
            raise InvalidArgumentError(
                f'unknown filter key "{column}": the keys starting with $ are "$or", "$and" and "$not" '
                f'(to filter a column named "{column}", use the tuple form ("{column}", "==", value))'
            )
        elif isinstance(spec, tuple) and len(spec) == 2:
            out.extend(_expand(column, spec[0], spec[1]))
        elif spec is None:
            raise InvalidArgumentError(
                f'filter on "{column}": value None is ambiguous; use {{"{column}": ("is_null", None)}} '
                f'to select missing values or ("is_not_null", None) for present ones'
            )
        elif isinstance(spec, (list, set, frozenset)):
            raise InvalidArgumentError(
                f'filter on "{column}": a list is not a value; use {{"{column}": ("in", [...])}}'
            )
        else:
            out.append(FilterExpression(column, FilterOp.EQ, spec))
    return out


def parse_filter(filter: FilterLike) -> list[FilterTerm]:
    """Any accepted filter form -> AND-ed terms ([] for None)."""
    if filter is None:
        return []
    if isinstance(filter, Mapping):
        return parse_filter_dict(filter)
    if _is_term(filter):
        return [filter]  # type: ignore[list-item]
    if isinstance(filter, SupportsFilterTerms):  # datashard.col() expressions
        return list(filter.filter_terms())
    if isinstance(filter, str):
        raise InvalidArgumentError(
            f"filter must be a dict, a (column, op, value) tuple, a list of them or a col() expression, "
            f"not a string; to use the command line's syntax, pass datashard.parse_where({filter!r})"
        )
    if isinstance(filter, tuple) and len(filter) == 3 and isinstance(filter[0], str):
        expanded: list[FilterTerm] = list(_expand(*filter))
        return expanded
    if isinstance(filter, (list, tuple)):
        out: list[FilterTerm] = []
        for item in filter:
            if _is_term(item):
                out.append(item)
            elif isinstance(item, SupportsFilterTerms):
                out.extend(item.filter_terms())
            elif isinstance(item, (tuple, list)) and len(item) == 3 and isinstance(item[0], str):
                out.extend(_expand(item[0], item[1], item[2]))
            elif isinstance(item, Mapping):
                out.extend(parse_filter_dict(item))
            else:
                raise InvalidArgumentError(
                    "filter list items must be (column, op, value) tuples, dicts, col() expressions or "
                    f"FilterExpressions, got {item!r}"
                )
        return out
    raise InvalidArgumentError(
        f"filter must be a dict, a (column, op, value) tuple or a list of them, got {type(filter).__name__}"
    )


# -- conversion into the engine's form -----------------------------------------------------------

CoreFilter = tuple[str, str, "pa.Array | None"]



def _int_range(arrow_type: pa.DataType) -> tuple[int, int] | None:
    """The values a signed integer column holds, None for any other type."""
    if not pa.types.is_signed_integer(arrow_type):
        return None
    bits = arrow_type.bit_width
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _uuid_bytes(column: str, v: Any) -> bytes:
    if isinstance(v, _uuid.UUID):
        return v.bytes
    if isinstance(v, (bytes, bytearray)) and len(v) == 16:
        return bytes(v)
    if isinstance(v, str):
        try:
            return _uuid.UUID(v).bytes
        except ValueError:
            pass
    raise FilterTypeError(f'filter on uuid column "{column}": {v!r} is not a UUID')


def _to_array(column: str, values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    if not pa.types.is_boolean(arrow_type) and any(isinstance(v, bool) for v in values):
        shown = values[0] if len(values) == 1 else values
        raise FilterTypeError(f'filter on "{column}" ({arrow_type}): cannot compare with the boolean {shown!r}')
    try:
        return pa.array(values, type=arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        pass
    if (pa.types.is_temporal(arrow_type) or pa.types.is_decimal(arrow_type)) and all(
        isinstance(v, str) for v in values
    ):
        try:  # "2024-01-31" for a date column, "2024-01-31T10:00:00" for a timestamp
            return pa.array(values, type=pa.string()).cast(arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    shown = values[0] if len(values) == 1 else values
    raise FilterTypeError(
        f'filter on "{column}" ({arrow_type}): cannot compare with {type(shown).__name__} {shown!r}'
    )


def _integral(v: Any) -> Any:
    """A Decimal literal for an integer column: an int if it is one, a float if NaN or infinite
    (Arrow would truncate ``Decimal("1.5")`` to 1 on its own)."""
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            return float(v)
        if v == v.to_integral_value():
            return int(v)
    return v


def _int_comparison(column: str, op: FilterOp, v: Any, arrow_type: pa.DataType) -> CoreFilter | None:
    """Rewrite a comparison of an integer column with a non-integral or out-of-range number
    into one the engine can evaluate exactly (``x > 2.5`` is ``x >= 3``). None: no rewrite needed."""
    bounds = _int_range(arrow_type)
    assert bounds is not None
    lo, hi = bounds
    nothing: CoreFilter = (column, FilterOp.IN.value, pa.array([], type=arrow_type))
    # True on every non-null cell and, like the comparison it replaces, unknown on a null one
    # (IS NOT NULL would be false there, and NOT of it true).
    every_non_null: CoreFilter = (column, FilterOp.NOT_IN.value, pa.array([], type=arrow_type))
    v = _integral(v)
    if isinstance(v, bool) or not isinstance(v, (int, float, decimal.Decimal)):
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return every_non_null if op == FilterOp.NE else nothing
        if v.is_integer() and lo <= v <= hi:
            return (column, op.value, pa.array([int(v)], type=arrow_type))
    elif isinstance(v, int) and lo <= v <= hi:
        return None
    # v is not an integer the column can hold.
    if v > hi or v < lo:
        below = v > hi  # every value of the column is below v
        if op == FilterOp.NE:
            return every_non_null
        if op == FilterOp.EQ:
            return nothing
        true_ops = (FilterOp.LT, FilterOp.LE) if below else (FilterOp.GT, FilterOp.GE)
        return every_non_null if op in true_ops else nothing
    if op == FilterOp.EQ:
        return nothing
    if op == FilterOp.NE:
        return every_non_null
    if op in (FilterOp.LT, FilterOp.LE):
        return (column, FilterOp.LE.value, pa.array([math.floor(v)], type=arrow_type))
    return (column, FilterOp.GE.value, pa.array([math.ceil(v)], type=arrow_type))


def _exact_decimal(column: str, v: Any, arrow_type: pa.DataType) -> decimal.Decimal:
    """A literal for a decimal column as the exact number it means: a float as its shortest
    decimal text (``99.99`` is ``Decimal("99.99")``, not the binary fraction nearest it)."""
    if isinstance(v, decimal.Decimal):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return decimal.Decimal(v)
    if isinstance(v, float):
        return decimal.Decimal(repr(v))
    if isinstance(v, str):
        try:
            return decimal.Decimal(v.strip())
        except decimal.InvalidOperation:
            pass
    raise FilterTypeError(f'filter on "{column}" ({arrow_type}): cannot compare with {type(v).__name__} {v!r}')


def _decimal_in_column(d: decimal.Decimal, arrow_type: pa.DataType) -> decimal.Decimal | None:
    """``d`` at the column's scale if the column can hold it exactly, else None."""
    if not d.is_finite() or abs(d) >= decimal.Decimal(10) ** (arrow_type.precision - arrow_type.scale):
        return None
    with decimal.localcontext() as ctx:
        ctx.prec = arrow_type.precision + 2  # |d| < 10**(precision - scale): no rounding below
        at_scale = d.quantize(decimal.Decimal(1).scaleb(-arrow_type.scale), rounding=decimal.ROUND_FLOOR)
    return at_scale if at_scale == d else None


def _decimal_comparison(column: str, op: FilterOp, d: decimal.Decimal, arrow_type: pa.DataType) -> CoreFilter:
    """``column op d`` for a decimal column and a number it cannot hold (more fractional digits
    than its scale, beyond its precision, or NaN/infinity), rewritten into an exact comparison
    with one it can hold: on decimal(10,2), ``x > 99.995`` is ``x >= 100.00`` and ``x <= 99.995``
    is ``x <= 99.99``. The engine prunes with the rewritten literal, which is exact too."""
    nothing: CoreFilter = (column, FilterOp.IN.value, pa.array([], type=arrow_type))
    # True on every non-null cell and, like the comparison it replaces, unknown on a null one
    # (IS NOT NULL would be false there, and NOT of it true).
    every_non_null: CoreFilter = (column, FilterOp.NOT_IN.value, pa.array([], type=arrow_type))
    if op == FilterOp.EQ:
        return nothing
    if op == FilterOp.NE:
        return every_non_null
    if d.is_nan():
        return nothing
    below = op in (FilterOp.LT, FilterOp.LE)  # the rows wanted lie below d
    limit = decimal.Decimal(10) ** (arrow_type.precision - arrow_type.scale)  # |x| < limit for every x
    if d >= limit:
        return every_non_null if below else nothing
    if d <= -limit:
        return nothing if below else every_non_null
    with decimal.localcontext() as ctx:
        ctx.prec = arrow_type.precision + 2
        bound = d.quantize(decimal.Decimal(1).scaleb(-arrow_type.scale),
                           rounding=decimal.ROUND_FLOOR if below else decimal.ROUND_CEILING)
    if abs(bound) >= limit:  # d lies between the column's largest (smallest) value and the limit
        return every_non_null if below == (bound > 0) else nothing
    rewritten = FilterOp.LE if below else FilterOp.GE
    return (column, rewritten.value, pa.array([bound], type=arrow_type))


def to_core_filters(
    expressions: Sequence[FilterTerm],
    arrow_schema: pa.Schema,
    uuid_columns: Iterable[str] = (),
) -> list[Any]:
    """Convert AND-ed terms into the engine's form using the table's Arrow schema: a predicate
    becomes ``(column, op, values)``, an :class:`Or` / :class:`And` ``("or" | "and", [items])``
    and a :class:`Not` ``("not", [item])``. ``uuid_columns`` names the columns whose values
    are UUIDs (Arrow has no uuid type of its own here; they are 16-byte fixed binary).

    Raises :class:`SchemaError` for an unknown column and :class:`InvalidArgumentError` for a
    value that cannot be compared with the column.
    """
    uuids = set(uuid_columns)

    def convert(term: FilterTerm) -> Any:
        if isinstance(term, FilterExpression):
            return _core_predicate(term, arrow_schema, uuids)
        if isinstance(term, Not):
            return ("not", [convert(term.term)])
        if isinstance(term, (And, Or)):
            return ("or" if isinstance(term, Or) else "and", [convert(t) for t in term.terms])
        raise InvalidArgumentError(f"not a filter term: {term!r}")

    return [convert(e) for e in expressions]


def _core_predicate(e: FilterExpression, arrow_schema: pa.Schema, uuids: set[str]) -> CoreFilter:
    idx = arrow_schema.get_field_index(e.column)
    if idx < 0:
        raise SchemaError(
            f'filter on unknown column "{e.column}" (table columns: {", ".join(arrow_schema.names)})'
        )
    t = arrow_schema.field(idx).type
    op = e.op
    if op in _NULL_OPS:
        return (e.column, op.value, None)
    values = list(e.value) if op in _SET_OPS else [e.value]
    values = [v for v in values if v is not None]  # a null never matches (SQL semantics)
    if e.column in uuids:
        values = [_uuid_bytes(e.column, v) for v in values]
    if pa.types.is_floating(t):  # the double nearest a Decimal, as for a float literal
        values = [float(v) if isinstance(v, decimal.Decimal) else v for v in values]
    if pa.types.is_decimal(t):  # exactly, whatever the literal's type and number of digits
        if any(isinstance(v, bool) for v in values):
            raise FilterTypeError(f'filter on "{e.column}" ({t}): cannot compare with a boolean')
        exact = [_exact_decimal(e.column, v, t) for v in values]
        held = [_decimal_in_column(d, t) for d in exact]
        if op in _SET_OPS:  # a number the column cannot hold matches no row
            values = [d for d in held if d is not None]
        elif held[0] is None:
            return _decimal_comparison(e.column, op, exact[0], t)
        else:
            values = held
    int_range = _int_range(t)
    if int_range is not None:
        if op in _SET_OPS:
            lo, hi = int_range
            values = [
                int(v) if isinstance(v, float) else v
                for v in map(_integral, values)
                if not (isinstance(v, float) and not v.is_integer())
                and not isinstance(v, decimal.Decimal)  # not integral: matches no row
                and not (isinstance(v, (int, float)) and not isinstance(v, bool) and not lo <= v <= hi)
            ]
        else:
            rewritten = _int_comparison(e.column, op, e.value, t)
            if rewritten is not None:
                return rewritten
    return (e.column, op.value, _to_array(e.column, values, t))


# -- the original package's helpers over pyarrow.compute and DataFile bounds -------------------


def to_pyarrow_compute_expression(expressions: Sequence[FilterTerm]) -> Any:
    """The AND of ``expressions`` as a ``pyarrow.compute.Expression`` (None for an empty list),
    with the same semantics as a scan: three-valued logic, where comparisons and
    ``in``/``not_in`` are unknown (null) on a null cell. For filtering Arrow data outside
    datashard (``pyarrow.dataset``, ``Table.filter``)."""
    import pyarrow.compute as pc

    def one(e: FilterTerm) -> Any:
        if isinstance(e, Not):
            return ~one(e.term)
        if isinstance(e, (And, Or)):
            parts = [one(t) for t in e.terms]
            combined = parts[0]
            for p in parts[1:]:
                combined = (combined | p) if isinstance(e, Or) else (combined & p)
            return combined
        field = pc.field(e.column)
        if e.op == FilterOp.IS_NULL:
            return field.is_null()
        if e.op == FilterOp.IS_NOT_NULL:
            return field.is_valid()
        if e.op in _SET_OPS:
            values = [v for v in e.value if v is not None]
            found = pc.is_in(field, value_set=pa.array(values)) if values else pc.scalar(False)
            # null on a null cell, as a comparison would be (so that NOT keeps it out)
            condition = pc.if_else(field.is_valid(), found, pa.scalar(None, pa.bool_()))
            return condition if e.op == FilterOp.IN else ~condition
        return {
            FilterOp.EQ: field.__eq__, FilterOp.NE: field.__ne__, FilterOp.LT: field.__lt__,
            FilterOp.LE: field.__le__, FilterOp.GT: field.__gt__, FilterOp.GE: field.__ge__,
        }[e.op](e.value)

    combined = None
    for e in expressions:
        condition = one(e)
        combined = condition if combined is None else combined & condition
    return combined


def describe_core_filters(items: Sequence[Any]) -> str:
    """The engine-form filter of :func:`to_core_filters` as text, for reprs."""

    def one(item: Any) -> str:
        if len(item) == 3:
            c, op, v = item
            return f"{c} {op}" + ("" if v is None else f" {v.to_pylist()}")
        kind, operands = item
        if kind == "not":
            return f"~({one(operands[0])})"
        return "(" + f" {'|' if kind == 'or' else '&'} ".join(one(o) for o in operands) + ")"

    return " & ".join(one(i) for i in items)


def prune_files_by_bounds(data_files: Sequence[Any], expressions: Sequence[FilterTerm], schema: Any) -> list[Any]:
    """The files of ``data_files`` (objects with ``lower_bounds``/``upper_bounds`` dicts keyed
    by field id, such as :class:`~datashard.DataFile`) that may hold rows matching all of
    ``expressions``; ``schema`` (a :class:`~datashard.Schema`) maps column names to field ids.
    Conservative: a file without bounds for a column, or whose bounds do not compare with the
    value, is kept. Scans prune by themselves; this is the original package's helper for
    callers that hold file lists of their own."""
    ids = {f["name"]: f["id"] for f in schema.fields if isinstance(f, Mapping)}

    def may_match(lo: Any, hi: Any, e: FilterExpression) -> bool:
        v = e.value
        if e.op == FilterOp.EQ:
            return bool(lo <= v <= hi)
        if e.op == FilterOp.NE:
            return bool(not (lo == hi == v))
        if e.op == FilterOp.GT:
            return bool(hi > v)
        if e.op == FilterOp.GE:
            return bool(hi >= v)
        if e.op == FilterOp.LT:
            return bool(lo < v)
        if e.op == FilterOp.LE:
            return bool(lo <= v)
        if e.op == FilterOp.IN and v:
            return any(lo <= x <= hi for x in v if x is not None)
        return True

    kept = []
    for f in data_files:
        lower, upper = getattr(f, "lower_bounds", None) or {}, getattr(f, "upper_bounds", None) or {}
        keep = True
        for e in expressions:
            if not isinstance(e, FilterExpression):  # OR / NOT: kept (scans prune those themselves)
                continue
            fid = ids.get(e.column)
            lo, hi = lower.get(fid), upper.get(fid)
            if fid is None or lo is None or hi is None:
                continue
            try:
                keep = may_match(lo, hi, e)
            except TypeError:
                keep = True
            if not keep:
                break
        if keep:
            kept.append(f)
    return kept
