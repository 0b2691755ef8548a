"""Schema evolution: add, rename, drop, widen and make-optional columns, by Iceberg field id.

::

    with table.update_schema() as u:       # one commit on leaving the block
        u.add_column("country", "string")
        u.rename_column("score", "rating")
        u.widen_column("id", "long")       # int -> long, float -> double, wider decimal
        u.make_optional("group")
        u.drop_column("legacy")

Columns are tracked by field id, so nothing is rewritten: a renamed column keeps its data,
an added one reads as null in older files, a dropped one is no longer read, and widened
types are promoted when old files are read. Invalid changes raise :class:`SchemaError` and
commit nothing. Every reader of the Iceberg table (PyIceberg, DuckDB, Spark) sees the
new schema.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._lazy import lazy_module
from .errors import InvalidArgumentError
from .partitioning import SortOrder, SortTermLike, sort_terms
from .schema import Schema, normalize_type

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = ["UpdateSchema", "TableSchemaEvolution"]


def _type_name(type_: Any, column: str) -> str:
    """An Iceberg type name from ``"long"``/``"decimal(10, 2)"`` or a pyarrow DataType."""
    if isinstance(type_, pa.DataType):
        return str(Schema.from_arrow(pa.schema([pa.field(column, type_)])).fields[0]["type"])
    return normalize_type(type_, column)


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidArgumentError(f"{what} must be a non-empty column name, got {value!r}")
    return value


class UpdateSchema:
    """Collects schema changes and commits them together (``commit()``, or leaving a ``with``
    block without an exception). Each method returns the builder, so calls chain.

    Made by :meth:`Table.update_schema` over the table's engine handle (``core``)."""

    def __init__(self, core: Any) -> None:
        self._core = core
        self._updates: list[tuple[str, str, str, str, str]] = []
        self._done = False

    @property
    def updates(self) -> list[tuple[str, str, str, str, str]]:
        """The pending changes as ``(kind, column, new_name, type, doc)``."""
        return list(self._updates)

    def _add(self, kind: str, column: str, new_name: str = "", type_: str = "", doc: str = "") -> "UpdateSchema":
        if self._done:
            raise RuntimeError("this schema update was already committed or abandoned; start a new one")
        self._updates.append((kind, column, new_name, type_, doc))
        return self

    def add_column(self, name: str, type: Any, doc: str | None = None) -> "UpdateSchema":  # noqa: A002
        """A new optional column (``type``: an Iceberg type name such as ``"long"``,
        ``"decimal(12, 2)"``, or a pyarrow type). Existing rows read it as null."""
        name = _name(name, "add_column")
        return self._add("add", name, "", _type_name(type, name), doc or "")

    def rename_column(self, name: str, new_name: str) -> "UpdateSchema":
        return self._add("rename", _name(name, "rename_column"), _name(new_name, "new_name"))

    def drop_column(self, name: str) -> "UpdateSchema":
        return self._add("drop", _name(name, "drop_column"))

    def widen_column(self, name: str, type: Any) -> "UpdateSchema":  # noqa: A002
        """Promote a column's type: int -> long, float -> double, decimal(P, S) -> decimal(P', S)
        with P' >= P."""
        name = _name(name, "widen_column")
        return self._add("widen", name, "", _type_name(type, name))

    def make_optional(self, name: str) -> "UpdateSchema":
        """Let a required column hold nulls from now on."""
        return self._add("make_optional", _name(name, "make_optional"))

    def commit(self) -> Schema:
        """Apply the changes, in order, as one commit; return the new schema. Nothing pending:
        the current schema, no commit."""
        if self._done:
            raise RuntimeError("this schema update was already committed or abandoned")
        self._done = True
        core = self._core
        if not self._updates:
            core.refresh()
            return Schema.from_json(core.schema_json())
        new_json = core.update_schema(self._updates)
        core.refresh()
        return Schema.from_json(new_json)

    def __enter__(self) -> "UpdateSchema":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._done = True  # abandoned: nothing was committed
            return None
        if not self._done:
            self.commit()
        return None

    def __repr__(self) -> str:
        return f"<UpdateSchema of {str(self._core.location)!r}: {len(self._updates)} change(s) pending>"


class TableSchemaEvolution:
    """Schema evolution and the sort order; mixed into :class:`~datashard.table.Table`."""

    _core: Any  # provided by Table

    def update_schema(self) -> UpdateSchema:
        """A builder for several schema changes in one commit; use it in a ``with`` block (see
        :mod:`datashard.schema_update`)."""
        return UpdateSchema(self._core)

    def add_column(self, name: str, type: Any, doc: str | None = None) -> Schema:  # noqa: A002
        """Add an optional column in one commit; returns the new schema."""
        return self.update_schema().add_column(name, type, doc).commit()

    def rename_column(self, name: str, new_name: str) -> Schema:
        """Rename a column in one commit (its data is kept); returns the new schema."""
        return self.update_schema().rename_column(name, new_name).commit()

    def drop_column(self, name: str) -> Schema:
        """Drop a column in one commit; returns the new schema. The data stays in the files
        (nothing is rewritten); reads of the current data no longer show it, while a time-travel
        read of an older snapshot does (it reads with that snapshot's schema)."""
        return self.update_schema().drop_column(name).commit()


    def sort_order(self) -> SortOrder:
        """The table's default sort order, which appends sort each data file by
        (``SortOrder()``, no fields, when the table is unsorted)."""
        self._core.refresh()
        return SortOrder.from_json(self._core.sort_order_json())

    def replace_sort_order(self, *terms: SortTermLike) -> SortOrder:
        """Make ``terms`` the table's sort order, in one commit; returns the order now in force.

        Each term is a column, optionally under a transform, with a direction and a null
        order: ``"ts"``, ``"id desc"``, ``"name asc nulls last"``, ``"day(ts) desc"``,
        ``"bucket[16](id)"``, ``"truncate[4](name)"``, or a tuple ``("id", "desc")``,
        ``("name", "asc", "nulls-last")``. The direction defaults to ascending and the null
        order to Iceberg's default (nulls first ascending, nulls last descending). Terms may be
        given as arguments or as one list; none (``replace_sort_order()``) makes the table
        unsorted::

            t.replace_sort_order("ts", "id desc")
            t.replace_sort_order(["day(ts)", ("score", "desc", "nulls-last")])

        From then on every data file an append, transaction, distributed write, overwrite or
        compaction writes is sorted by it and records the order's id in its manifest entry;
        files written before keep their order (``compact(sort=True)`` rewrites them sorted).
        As Iceberg's ``replace_sort_order``, an order with the same fields as one the table
        had keeps that order's id. Other engines (Spark, Trino, PyIceberg) see the order.
        An unknown column or transform, or a transform that does not apply to the column's
        type, raises :class:`SchemaError` and commits nothing.
        """
        given: Any = terms[0] if len(terms) == 1 and isinstance(terms[0], list) else list(terms)
        order_json = self._core.replace_sort_order(sort_terms(given))
        self._core.refresh()
        return SortOrder.from_json(order_json)
