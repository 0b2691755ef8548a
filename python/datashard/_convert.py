"""Input conversion, the one copy: what every writer (``Table``, ``Transaction``,
``DistributedAppend``) does to the data it is given before the engine sees it, and the
argument checks the readers and writers share.

Below the operations in the package's stack: it imports only ``errors``, ``schema``,
``_records`` and the engine module, and nothing imports ``table`` from here. The
engine makes every check on the rows themselves (schema conformance, casts, required
fields); this module only turns Python-side inputs (pandas, row dicts, dicts of
columns) into Arrow and words the errors of that conversion. The option checks here
(``check_durability``, ``check_isolation``) are pre-checks for a friendlier, earlier
error (at ``new_transaction()`` rather than at ``begin()``); the engine parses the same
options again and stays the authority.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from . import _core
from ._lazy import lazy_module
from ._records import infer_schema, records_to_arrow
from .errors import InvalidArgumentError, SchemaError
from .partitioning import PartitionSpec
from .schema import Schema

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = [
    "SchemaView",
    "TableInput",
    "is_pandas_frame",
    "from_pandas",
    "failing_column",
    "arrow_input",
    "to_arrow",
    "as_schema",
    "uuid_columns",
    "Parallel",
    "threads",
    "ISOLATION_LEVELS",
    "check_isolation",
    "check_durability",
    "positive_int",
    "property_updates",
    "is_arrow_expression",
    "check_arrow_expression",
    "serialize_arrow_expression",
    "DEFAULT_BATCH_ROWS",
    "MATERIALIZE_BATCH_ROWS",
]

#: Rows per batch of a streaming read.
DEFAULT_BATCH_ROWS = 64 * 1024
#: Rows per batch of a read that materializes everything anyway (fewer, larger allocations:
#: about a fifth faster on a 10M-row file).
MATERIALIZE_BATCH_ROWS = 1024 * 1024

#: ``parallel=`` / ``threads=`` of the reads: False/None = 1 thread, True = every core, an int.
Parallel = bool | int | None

#: The isolation levels a transaction accepts.
ISOLATION_LEVELS = ("snapshot", "serializable")


class SchemaView:
    """A table schema in the three forms the Python layer needs: the engine's JSON, the
    :class:`Schema` and the Arrow schema (field ids included)."""

    __slots__ = ("json", "schema", "holder", "_arrow", "uuid_columns")

    def __init__(self, schema_json: str) -> None:
        self.json = schema_json
        self.schema = Schema.from_json(schema_json)
        #: the engine's Arrow schema (what ``_core.rows_to_arrow`` builds)
        self.holder = _core.arrow_schema_capsule(schema_json)
        self._arrow: pa.Schema | None = None
        self.uuid_columns = uuid_columns(self.schema)

    @property
    def arrow(self) -> pa.Schema:
        """The Arrow schema as pyarrow's (made on first use: it imports pyarrow)."""
        if self._arrow is None:
            self._arrow = pa.schema(self.holder)
        return self._arrow


def uuid_columns(schema: Schema) -> tuple[str, ...]:
    """The names of ``schema``'s uuid columns (the original API reads them as text)."""
    return tuple(f["name"] for f in schema.fields if f["type"] == "uuid")


def is_pandas_frame(obj: Any) -> bool:
    """A pandas DataFrame (checked without importing pandas)."""
    t = type(obj)
    return t.__name__ == "DataFrame" and t.__module__.split(".")[0] == "pandas"


def from_pandas(df: "pd.DataFrame") -> pa.Table:
    """A pandas DataFrame as Arrow (the index is not stored); SchemaError for what Arrow
    cannot take (duplicate column names, mixed-type object columns)."""
    duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if duplicated:
        raise SchemaError(f'duplicate column "{duplicated[0]}": it appears more than once in the DataFrame')
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
        raise SchemaError(f"cannot convert the DataFrame to columns: {e}") from None


def failing_column(columns: Mapping[str, Any]) -> str:
    """'column "x": ' for the first value list Arrow cannot convert on its own, else ''."""
    for name, values in columns.items():
        try:
            pa.array(values)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return f'column "{name}": '
    return ""


def arrow_input(data: Any, what: str = "append") -> Any:
    """``data`` (anything but a list of row dicts) as something the engine reads through
    ``__arrow_c_stream__``: a stream stays a stream. ``what`` names the call in errors."""
    if is_pandas_frame(data):
        return from_pandas(data)
    if hasattr(data, "__arrow_c_stream__"):
        return data
    if hasattr(data, "__arrow_c_array__"):
        return pa.Table.from_batches([pa.record_batch(data)])
    if isinstance(data, Mapping):
        try:
            return pa.table(dict(data))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
            raise SchemaError(f"cannot build columns from the dict given: {failing_column(data)}{e}") from None
    raise InvalidArgumentError(
        f"{what} takes Arrow data (anything with __arrow_c_stream__: pyarrow, polars, DuckDB), "
        f"a pandas DataFrame, a list of row dicts or a dict of columns; got {type(data).__name__}"
    )


def to_arrow(data: Any, view: SchemaView, what: str = "append") -> Any:
    """:func:`arrow_input`, plus row dicts, which are converted against ``view`` (the
    table's schema), naming the row and field of a value that does not fit."""
    if isinstance(data, list):
        return records_to_arrow(data, view.schema, view.arrow)
    return arrow_input(data, what)


def as_schema(schema: Schema | pa.Schema | Any) -> Schema:
    """A :class:`Schema` from a ``Schema`` or a ``pyarrow.Schema``; SchemaError for anything else."""
    if isinstance(schema, Schema):
        return schema
    if hasattr(schema, "__arrow_c_schema__"):
        return Schema.from_arrow(schema)
    raise SchemaError(f"schema must be a datashard.Schema or a pyarrow.Schema, got {type(schema).__name__}")


# -- argument checks shared by the readers and writers -------------------------------------------


def threads(parallel: Parallel) -> int:
    """``False``/None -> 1 thread, ``True`` -> every core, an int -> that many."""
    if parallel is True:
        return os.cpu_count() or 1
    if parallel is None or parallel is False:
        return 1
    if isinstance(parallel, int) and parallel >= 1:
        return parallel
    raise InvalidArgumentError(f"parallel must be True, False or a positive int, got {parallel!r}")


def check_isolation(isolation: str) -> str:
    """``isolation`` if it names a level of :data:`ISOLATION_LEVELS`: checked when the transaction
    is made, before the engine sees it at ``begin()``."""
    if isolation not in ISOLATION_LEVELS:
        raise InvalidArgumentError(f'isolation must be "snapshot" or "serializable", got {isolation!r}')
    return isolation


def check_durability(durability: str | None) -> str | None:
    """``durability`` if it names a mode (``"fsync"``, ``"process"``) or is None: checked before
    anything is converted or written (the engine binding would refuse a non-string with a bare
    ``TypeError``)."""
    if durability is not None and durability not in ("fsync", "process"):
        raise InvalidArgumentError(f'durability must be "fsync" or "process", got {durability!r}')
    return durability


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``, else InvalidArgumentError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def property_updates(
    properties: Mapping[str, Any] | None, remove: Iterable[str] | str = ()
) -> tuple[dict[str, str], list[str]]:
    """``(updates, removals)`` for the engine's ``set_properties``: values as strings (``True`` ->
    ``"true"``), a ``None`` value (0.11.2's spelling) as a removal. The engine checks the values."""
    updates: dict[str, str] = {}
    removals = [remove] if isinstance(remove, str) else list(remove)
    if not all(isinstance(k, str) for k in removals):
        raise InvalidArgumentError(f"remove takes property names, got {removals!r}")
    for key, value in dict(properties or {}).items():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"property names are strings, got {key!r}")
        if value is None:  # 0.11.2: a None value removes the property
            if key not in removals:
                removals.append(key)
            continue
        updates[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return updates, removals


def is_arrow_expression(value: Any) -> bool:
    """A ``pyarrow.compute.Expression`` (checked without importing pyarrow.compute)."""
    cls = type(value)
    return cls.__name__ == "Expression" and cls.__module__.startswith("pyarrow")


def serialize_arrow_expression(expression: Any) -> bytes:
    """A ``pyarrow.compute.Expression`` as the engine takes it: Arrow's own serialization, the
    bytes its pickle carries (the engine reads them back with the same Arrow)."""
    rebuild, args = expression.__reduce__()
    return bytes(args[0])


def check_arrow_expression(expression: Any, schema: pa.Schema) -> None:
    """SchemaError now for an expression that names an unknown column or does not type-check
    against the table (instead of an error in the middle of a read)."""
    try:
        schema.empty_table().filter(expression)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError) as e:
        raise SchemaError(f"filter {expression}: {e}") from None


# -- the input of one table's writers ------------------------------------------------------------


class TableInput:
    """One engine table's write side in Python: its current schema as a :class:`SchemaView`
    (re-made only when the engine's schema changes) and the conversion of what an append is
    given, schema on write included. A ``Table`` and the transactions it makes share one, so
    neither calls back into the other.

    Schema on write: a table created without a schema takes its first append's (the
    ``schema=`` given, else the data's), in a commit of its own before the rows'.
    """

    __slots__ = ("core", "_view")

    def __init__(self, core: Any) -> None:
        #: the engine's table handle (``datashard._core.CoreTable``)
        self.core = core
        self._view: SchemaView | None = None

    @property
    def location(self) -> str:
        return str(self.core.location)

    def view(self) -> SchemaView:
        """The schema the handle holds now (call ``core.refresh()`` first for the latest)."""
        schema_json = self.core.schema_json()
        if self._view is None or self._view.json != schema_json:
            self._view = SchemaView(schema_json)
        return self._view

    def has_schema(self) -> bool:
        # A schema once set never becomes empty (the last column cannot be dropped), so a
        # handle that has seen one skips the look at the engine's schema on every append.
        return bool(self._view is not None and self._view.schema.fields) or bool(self.view().schema.fields)

    def set_schema_on_write(self, given: Schema | pa.Schema | None, infer: Callable[[], Schema]) -> Schema | None:
        """For a table without a schema yet: set ``given`` (else ``infer()``) as its schema, in a
        commit of its own. Returns the schema this append proposed, or None if the table had a
        schema already. When another writer's first append won the race, the table keeps theirs
        and this append is checked against it as usual."""
        if self.view().schema.fields:
            return None
        self.core.refresh()
        if self.view().schema.fields:
            return None
        proposed = infer() if given is None else as_schema(given)
        self.core.set_initial_schema(proposed.to_json())
        return proposed

    def raced(self, proposed: Schema | None, error: SchemaError) -> SchemaError:
        """``error`` naming how the schema another first append set differs from ours."""
        if proposed is None:
            return error
        diff = self.view().schema.difference(proposed)
        if not diff:
            return error
        return SchemaError(f"another writer's first append set the table's schema first ({diff}): {error}")

    def check_given_schema(self, schema: Schema | pa.Schema | None) -> None:
        """SchemaError naming the difference when an append's ``schema=`` is not the table's."""
        if schema is None:
            return
        diff = self.view().schema.difference(as_schema(schema))
        if diff:
            raise SchemaError(f"the schema given does not match the table's at {self.location}: {diff}")

    def given_schema(self, schema: Schema | pa.Schema) -> None:
        """0.11.2's ``append_arrow(data, schema)``: the schema a table without one takes, else
        checked against the table's."""
        self.set_schema_on_write(schema, lambda: as_schema(schema))
        self.check_given_schema(schema)

    def check_partition_values(self, partition_values: Mapping[str, Any] | None) -> None:
        """The original API's ``partition_values``: refused where a partition spec computes them."""
        if partition_values and PartitionSpec.from_json(self.core.partition_spec_json()).fields:
            raise InvalidArgumentError(
                f"partition_values={dict(partition_values)!r}: this table's partition values are computed "
                "from the rows by its partition spec; leave partition_values out"
            )

    def records(self, records: Sequence[Mapping[str, Any]], schema: Schema | pa.Schema | None) -> Any:
        """Row dicts as Arrow data in the table's schema (SchemaError naming row and field).

        Plain rows into a table that has a schema are converted by the engine (no pyarrow
        import: the cold path of a short-lived writer); the rest, errors included, here."""
        if schema is None and isinstance(records, list) and self.has_schema():
            batch = _core.rows_to_arrow(records, self.view().holder)
            if batch is not None:
                return batch
        proposed = self.set_schema_on_write(schema, lambda: infer_schema(records))
        try:
            self.check_given_schema(schema)
            view = self.view()
            return records_to_arrow(records, view.schema, view.arrow)
        except SchemaError as e:
            raise self.raced(proposed, e) from None

    def pandas(self, df: "pd.DataFrame", schema: Schema | pa.Schema | None) -> pa.Table:
        """A pandas DataFrame as Arrow; ``schema`` as in :meth:`records`."""
        if not is_pandas_frame(df):
            raise InvalidArgumentError(f"Expected a pandas DataFrame, got {type(df).__name__}")
        arrow = from_pandas(df)
        self.set_schema_on_write(schema, lambda: Schema.from_arrow(arrow.schema))
        self.check_given_schema(schema)
        return arrow

    def data(self, data: Any, what: str = "append") -> Any:
        """Anything an append takes (see :func:`arrow_input`, plus row dicts) as something the
        engine reads through ``__arrow_c_stream__``; for a table without a schema yet, the data's
        schema becomes the table's first."""
        if isinstance(data, list):
            return self.records(data, None)
        if isinstance(data, dict) and self.has_schema():  # as records: the engine converts plain columns
            batch = _core.columns_to_arrow(data, self.view().holder)
            if batch is not None:
                return batch
        arrow = arrow_input(data, what)
        if self.has_schema():
            return arrow
        if not isinstance(arrow, (pa.Table, pa.RecordBatchReader)):
            arrow = pa.table(arrow)  # a one-shot stream: its schema is needed before its rows
        self.set_schema_on_write(None, lambda: Schema.from_arrow(arrow.schema))
        return arrow
