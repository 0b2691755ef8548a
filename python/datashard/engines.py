"""Other engines over the same table, as methods of ``Table``: polars and DuckDB read a
pinned snapshot through the Arrow stream interface (nothing is copied), and a PyIceberg
catalog can be given the table by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ._lazy import lazy_module
from ._convert import Parallel, TableInput
from ._when import When
from .compat import UuidTextStream
from .errors import InvalidArgumentError
from .filters import FilterLike

if TYPE_CHECKING:  # pragma: no cover
    from .scan import Scan
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = ["TableEngines"]


class TableEngines:
    """Reads through polars and DuckDB, and catalog registration; mixed into
    :class:`~datashard.table.Table`."""

    _core: Any  # provided by Table
    _input: TableInput  # provided by Table

    if TYPE_CHECKING:  # provided by Table

        @property
        def metadata_location(self) -> str: ...

        def new_scan(
            self,
            columns: Sequence[str] | None = None,
            filter: FilterLike = None,  # noqa: A002
            snapshot_id: int | None = None,
            *,
            as_of: When | None = None,
            ref: str | None = None,
            limit: int | None = None,
            threads: Parallel = None,
        ) -> Scan: ...

    def to_polars(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        snapshot_id: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
        limit: int | None = None,
    ) -> Any:
        """Rows as a ``polars.DataFrame`` (needs polars)."""
        return self.new_scan(columns, filter, snapshot_id, as_of=as_of, ref=ref, limit=limit).to_polars()

    def to_duckdb(
        self,
        *args: Any,
        view_name: str = "t",
        connection: Any = None,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        snapshot_id: int | None = None,
        as_of: When | None = None,
        ref: str | None = None,
        parallel: Parallel = None,
        verify_checksums: bool | str | None = None,
    ) -> Any:
        """Register the table (a :meth:`new_scan` of the current snapshot, or the one chosen) in
        a DuckDB connection as ``view_name`` and return the connection (a new in-memory one
        unless ``connection``). Nothing is copied: each query scans the pinned snapshot; uuid
        columns read as text, as in :meth:`to_arrow`.

        Positional arguments are a view name (a str) and/or a connection, in either order:
        ``to_duckdb("v")``, ``to_duckdb("v", con)`` and the original package's
        ``to_duckdb(con, view_name="v")`` all work. ``parallel``: reader threads (as in
        :meth:`scan`); ``verify_checksums`` is accepted for compatibility.
        """
        if len(args) > 2:
            raise InvalidArgumentError(f"to_duckdb() takes a view name and a connection, got {len(args)} arguments")
        for arg in args:
            if isinstance(arg, str):
                view_name = arg
            else:
                connection = arg
        scan = self.new_scan(columns, filter, snapshot_id, as_of=as_of, ref=ref, threads=parallel)
        return UuidTextStream(scan, self._input.view().uuid_columns).to_duckdb(view_name, connection)

    def sql(
        self,
        query: str,
        alias: str = "t",
        snapshot_id: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        parallel: Parallel = None,
        verify_checksums: bool | str | None = None,
    ) -> pa.Table:
        """Run DuckDB SQL with the table visible as ``alias`` (default ``t``); the result as a
        ``pyarrow.Table``: ``t.sql("select name, count(*) from t group by 1")``. Needs duckdb.

        ``columns``/``filter`` narrow what the view holds (pushed into the scan, as in
        :meth:`scan`); uuid columns read as text, as in :meth:`to_arrow`."""
        scan = self.new_scan(columns, filter, snapshot_id, as_of=as_of, ref=ref, threads=parallel)
        return UuidTextStream(scan, self._input.view().uuid_columns).sql(query, alias)

    def register(self, catalog: Any, identifier: str | tuple[str, ...], *, replace: bool = False) -> Any:
        """Register this table in a PyIceberg catalog (``SqlCatalog``, ``RestCatalog``, ...) so
        catalog-based tools (PyIceberg, Ray's ``read_iceberg``, engines sharing the catalog)
        find it by name; returns the catalog's table.

        The catalog entry names the current metadata file; datashard's later commits do not
        move it (``datashard.load_table(identifier, catalog=...)`` always reads the newest
        version). ``replace=True`` drops an existing entry of that name first (the catalog
        entry only, never files) to point it at the current version.
        """
        self._core.refresh()
        if replace and catalog.table_exists(identifier):
            catalog.drop_table(identifier)
        return catalog.register_table(identifier, self.metadata_location)

