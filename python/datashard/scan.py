"""Scan: a planned read of one snapshot that any Arrow consumer can pull from.

``table.new_scan(columns=, filter=, snapshot_id= / as_of= / ref=, limit=, threads=)``
pins the snapshot when it is made. The object speaks the Arrow PyCapsule stream
protocol, and every ``__arrow_c_stream__`` call starts a fresh engine scan of that same
snapshot, so it can be read more than once::

    s = table.new_scan(columns=["id", "score"], filter=col("score") > 0.5)
    pa.table(s); polars.from_arrow(s); duckdb.sql("select count(*) from s")
    s.metrics   # what the last read pruned and read (after it was consumed)

DuckDB and polars receive a stream: they read what the scan yields (the projection,
filter and limit given here are pushed into the engine), and filter anything else in
their own SQL afterwards.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Sequence

from . import _core
from ._lazy import lazy_module
from ._convert import SchemaView, check_arrow_expression, is_arrow_expression, serialize_arrow_expression, threads
from .errors import InvalidArgumentError, SchemaError, typed_batches
from .filters import FilterLike, FilterTerm, describe_core_filters, map_columns, parse_filter, to_core_filters

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = ["Scan", "ScanSpec", "SnapshotNames", "plan_scan", "projected_schema"]

_METRIC_KEYS = (
    "manifests_total",
    "manifests_skipped",
    "files_total",
    "files_skipped",
    "row_groups_total",
    "row_groups_skipped",
    "bytes_read",
    "rows_read",
)


def _optional_import(module: str, what: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError as e:
        raise ImportError(f"{what} needs {module}, which is not installed: pip install {extra}") from e


@dataclasses.dataclass(frozen=True)
class ScanSpec:
    """What a :class:`Scan` reads, checked and converted (see :func:`plan_scan`)."""

    columns: list[str] | None
    core_filters: list[Any] | None
    snapshot_id: int | None
    #: "as of" a time before the first commit, or an empty ``files=`` share: no rows
    empty: bool
    threads: int
    batch_size: int
    limit: int | None
    #: the Arrow schema of the rows it yields
    schema: pa.Schema
    #: a pyarrow.compute.Expression: applied exactly by the engine, which prunes with the
    #: comparisons, IN lists and null tests it is made of
    arrow_filter: Any = None
    files: list[str] | None = None


class Scan:
    """A read of one snapshot with a projection, a filter and a limit (see the module docs).

    Made by :meth:`Table.new_scan` over the engine's table handle (``core``); ``spec`` is
    already checked and converted (:func:`plan_scan`).
    """

    def __init__(self, core: Any, spec: ScanSpec) -> None:
        self._core = core
        self._spec = spec
        self._last_stream: Any = None
        self._reads = 0

    @property
    def snapshot_id(self) -> int | None:
        """The snapshot this scan reads (None: the table had no rows then)."""
        return self._spec.snapshot_id

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the rows it yields."""
        return self._spec.schema

    def _new_stream(self) -> Any:
        self._reads += 1
        spec = self._spec
        if spec.empty or spec.snapshot_id is None:
            self._last_stream = None
            return pa.RecordBatchReader.from_batches(spec.schema, [])
        arrow_filter = None if spec.arrow_filter is None else serialize_arrow_expression(spec.arrow_filter)
        stream = self._core.scan(
            spec.columns, spec.core_filters, spec.snapshot_id, spec.threads, spec.batch_size, spec.limit, spec.files,
            arrow_filter,
        )
        self._last_stream = stream
        return stream

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (for worker processes): the table travels as its location, the snapshot
        stays pinned; the last read's engine stream and metrics stay behind."""
        return {"location": str(self._core.location), "spec": self._spec}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._core = _core.load_table(state["location"])
        self._spec = state["spec"]
        self._last_stream = None
        self._reads = 0

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """A fresh engine scan of the pinned snapshot, as an Arrow C stream capsule."""
        return self._new_stream().__arrow_c_stream__(requested_schema)

    @property
    def metrics(self) -> dict[str, int] | None:
        """What the most recent read of this scan did, once it has been consumed:
        ``manifests_total/skipped``, ``files_total/skipped`` (pruned by partition values and
        column bounds), ``row_groups_total/skipped`` (by Parquet statistics, in files that
        were opened), ``bytes_read`` (data-file bytes pulled from storage) and ``rows_read``
        (before the exact row filter). None before the first read."""
        if self._reads == 0:
            return None
        if self._last_stream is None:  # nothing to read: no snapshot then
            return dict.fromkeys(_METRIC_KEYS, 0)
        return {k: int(v) for k, v in self._last_stream.metrics().items()}

    # -- conveniences ------------------------------------------------------------------------

    def to_batches(self) -> pa.RecordBatchReader:
        """A streaming ``pyarrow.RecordBatchReader`` (one pass). Engine errors while reading
        (a corrupt or missing data file) raise their datashard classes."""
        return typed_batches(pa.RecordBatchReader.from_stream(self))

    def to_arrow(self) -> pa.Table:
        return self.to_batches().read_all()

    def to_pandas(self, **kwargs: Any) -> "pd.DataFrame":
        """``to_arrow().to_pandas(**kwargs)``."""
        _optional_import("pandas", "to_pandas()", "pandas")
        return self.to_arrow().to_pandas(**kwargs)

    def to_polars(self) -> Any:
        """A ``polars.DataFrame``."""
        pl = _optional_import("polars", "to_polars()", "polars")
        return pl.from_arrow(self.to_arrow())

    def to_duckdb(self, view_name: str = "t", connection: Any = None) -> Any:
        """Register this scan in a DuckDB connection (a new in-memory one by default) as
        ``view_name`` and return the connection. Nothing is read yet: each query that uses
        the view starts a fresh scan of the pinned snapshot."""
        duckdb = _optional_import("duckdb", "to_duckdb()", "duckdb")
        con = duckdb.connect() if connection is None else connection
        con.register(view_name, self)
        return con

    def sql(self, query: str, alias: str = "t") -> pa.Table:
        """Run DuckDB SQL over this scan, visible as ``alias``; the result as a ``pyarrow.Table``."""
        con = self.to_duckdb(alias)
        try:
            rel = con.sql(query)
            if rel is None:  # a statement without a result
                return pa.table({})
            if hasattr(rel, "to_arrow_table"):
                return rel.to_arrow_table()
            result = rel.arrow()
            return result.read_all() if isinstance(result, pa.RecordBatchReader) else result
        finally:
            con.close()

    def count(self) -> int:
        """Rows this scan yields (reads the data; ``Table.row_count()`` answers an unfiltered
        count from metadata)."""
        return sum(batch.num_rows for batch in self.to_batches())

    def _preview(self, rows: int) -> pa.Table:
        """The first ``rows`` rows this scan yields (stops reading there)."""
        batches, seen = [], 0
        reader = self.to_batches()
        for batch in reader:
            batches.append(batch)
            seen += batch.num_rows
            if seen >= rows:
                break
        return pa.Table.from_batches(batches, schema=self._spec.schema).slice(0, rows)

    def _repr_html_(self) -> str:
        """Jupyter: what the scan reads and its first rows."""
        from ._html import scan_html

        return scan_html(self)

    def __repr__(self) -> str:
        spec = self._spec
        parts = [f"snapshot_id={spec.snapshot_id}"]
        if spec.columns is not None:
            parts.append(f"columns={spec.columns}")
        if spec.core_filters:
            parts.append("filter=" + describe_core_filters(spec.core_filters))
        if spec.limit is not None:
            parts.append(f"limit={spec.limit}")
        m = self.metrics
        if m is not None and self._last_stream is not None:
            parts.append(f"last read: {m['files_total'] - m['files_skipped']}/{m['files_total']} files, "
                         f"{m['bytes_read']} bytes")
        return f"<Scan of {str(self._core.location)!r} " + ", ".join(parts) + ">"


def projected_schema(schema: pa.Schema, columns: Sequence[str] | None, location: str) -> pa.Schema:
    """The Arrow schema a scan of ``columns`` yields (SchemaError for an unknown column)."""
    if columns is None:
        return schema
    missing = [c for c in columns if schema.get_field_index(c) < 0]
    if missing:
        raise SchemaError(
            f'unknown column "{missing[0]}" in table {location} (columns: {", ".join(schema.names)})'
        )
    return pa.schema([schema.field(c) for c in columns])


# -- time travel: the caller's column names, resolved against the snapshot's schema -------------

_FIELD_ID = b"PARQUET:field_id"  # how the engine's Arrow schemas carry Iceberg field ids


def _field_ids(schema: pa.Schema) -> dict[int, str]:
    """Field id -> name, for the fields of an Arrow schema that carry their Iceberg id."""
    out: dict[int, str] = {}
    for field in schema:
        if field.metadata and _FIELD_ID in field.metadata:
            out[int(field.metadata[_FIELD_ID])] = field.name
    return out


class SnapshotNames:
    """Resolves the column names of a time-travel read (``filter=``, ``columns=``) by field id.

    The engine reads an old snapshot as it was written, with its own schema, so it binds
    names against that schema. A name is looked up there first; a name the snapshot does
    not have is then looked up in the table's current schema and mapped by field id onto
    the snapshot's column (after ``rename_column("cat", "category")``, a read of an older
    snapshot accepts ``"cat"`` and ``"category"`` alike). The rows keep the snapshot's names.
    A name in neither schema, or one for a column added after the snapshot, is a
    :class:`SchemaError` that lists the snapshot's columns.

    ``read`` without field ids (an engine that does not expose the snapshot's schema
    with its ids) resolves by the snapshot's names only.
    """

    __slots__ = ("_read", "_current", "_snapshot_id", "_location")

    def __init__(self, read: pa.Schema, current: pa.Schema, snapshot_id: int, location: str) -> None:
        self._read = read
        self._current = current
        self._snapshot_id = snapshot_id
        self._location = location

    def name(self, name: str, what: str = "column") -> str:
        """The snapshot's name for ``name`` (``what`` says where it came from, for errors)."""
        if self._read.get_field_index(name) >= 0:
            return name
        read_ids = _field_ids(self._read)
        field_id = {n: i for i, n in _field_ids(self._current).items()}.get(name)
        if field_id is not None and field_id in read_ids:
            return read_ids[field_id]
        columns = ", ".join(self._read.names)
        where = f"snapshot {self._snapshot_id} of table {self._location}"
        if field_id is not None and read_ids:
            raise SchemaError(
                f'{what} "{name}" did not exist in {where} (the column was added later); '
                f"the snapshot's columns: {columns}"
            )
        if field_id is not None:
            raise SchemaError(
                f'{what} "{name}" is not in {where}, which is read with its own schema: '
                f"use the snapshot's column names: {columns}"
            )
        renamed = [f"{new} (then {read_ids[i]})" for i, new in _field_ids(self._current).items()
                   if i in read_ids and read_ids[i] != new]
        also = f"; current names of its columns work too: {', '.join(renamed)}" if renamed else ""
        raise SchemaError(f"unknown {what} \"{name}\" in {where} (the snapshot's columns: {columns}{also})")

    def columns(self, columns: Sequence[str] | None) -> list[str] | None:
        return None if columns is None else [self.name(c) for c in columns]

    def filters(self, expressions: Sequence[FilterTerm]) -> list[FilterTerm]:
        return map_columns(expressions, lambda c: self.name(c, "filter column"))


# -- planning: the arguments of Table.new_scan, checked and converted ----------------------------


def plan_scan(
    core: Any,
    view: SchemaView,
    snapshot_id: int | None,
    empty: bool,
    *,
    columns: Sequence[str] | None = None,
    filter: FilterLike | Any = None,  # noqa: A002
    limit: int | None = None,
    parallel: Any = None,
    batch_size: int,
    files: Sequence[str] | None = None,
) -> Scan:
    """A :class:`Scan` of ``snapshot_id`` (already resolved: None = the table is empty, or
    ``empty``: a time before the first commit) of the engine table ``core`` whose current
    schema is ``view``; see :meth:`Table.new_scan` for the arguments."""
    if columns is not None:
        if isinstance(columns, str):
            raise InvalidArgumentError('columns must be a list of names, e.g. ["id"], not a string')
        columns = list(columns)
    location = str(core.location)
    expressions = None if is_arrow_expression(filter) else parse_filter(filter)
    read = _read_schema(core, snapshot_id, empty, view)
    if read is not view:  # time travel across a schema change: resolve names by field id
        names = SnapshotNames(read.arrow, view.arrow, snapshot_id, location)  # type: ignore[arg-type]
        columns = names.columns(columns)
        expressions = None if expressions is None else names.filters(expressions)
    if expressions is None:
        check_arrow_expression(filter, read.arrow)
        arrow_filter, core_filters = filter, None
    else:
        arrow_filter, core_filters = None, to_core_filters(expressions, read.arrow, read.uuid_columns) or None
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(f"batch_size must be a positive int, got {batch_size!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidArgumentError(f"limit must be an int >= 0, got {limit!r}")
    schema = projected_schema(read.arrow, columns, location)
    n_threads = threads(True if parallel is None else parallel)
    file_list = None
    if files is not None:
        if isinstance(files, str):
            raise InvalidArgumentError("files must be a list of data file paths, not a string")
        file_list = [str(f) for f in files]
        if not file_list:
            empty = True  # a share with no files reads no rows
    spec = ScanSpec(columns, core_filters, snapshot_id, empty, n_threads, batch_size, limit, schema, arrow_filter,
                    file_list)
    return Scan(core, spec)


def _read_schema(core: Any, sid: int | None, empty: bool, view: SchemaView) -> SchemaView:
    """The schema the engine reads snapshot ``sid`` with (``view`` when that is the current
    one): an old snapshot's own for time travel (see :class:`SnapshotNames`)."""
    if empty or sid is None or sid == core.current_snapshot_id():
        return view
    schema_json = core.read_schema_json(sid)
    return view if schema_json == view.json else SchemaView(schema_json)
