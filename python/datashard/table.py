"""Table: the original package's API (records, dict filters, list-of-dict scans) and the
modern one (Arrow in and out) over one engine table object.

Everything that touches the table's files happens in ``datashard._core``; this
module converts arguments and results.

Reads in the original API re-read the table's latest metadata first, as the
original did on every call, so a process sees other processes' commits without
calling ``refresh()``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TypeVar

from . import _core
from ._lazy import lazy_module
from ._convert import (
    DEFAULT_BATCH_ROWS,
    MATERIALIZE_BATCH_ROWS,
    Parallel,
    TableInput,
    as_schema,
    check_durability,
    property_updates,
    threads,
)
from ._storage import local_path, resolve_table_path
from ._when import When
from .compat import OriginalTableAPI, SetPropertiesResult, TableProperties, uuid_as_text
from .engines import TableEngines
from .errors import (
    InvalidArgumentError,
    SchemaMismatchError,
    TableExistsError,
    TableNotFoundError,
)
from .filters import FilterExpression, FilterLike, FilterOp, to_core_filters
from .history import TableHistory
from .maintenance import TableMaintenance
from .partitioning import PartitionSpec, SortTermLike, sort_terms
from .progress import activity
from .scan import Scan, plan_scan, projected_schema
from .schema import Schema
from .schema_update import TableSchemaEvolution
from .transaction import Transaction, run_with_retries

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .distributed import DistributedAppend

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy_module("pyarrow")
    pc = lazy_module("pyarrow.compute")

__all__ = ["Table", "create_table", "load_table"]

T = TypeVar("T")


class Table(TableHistory, TableMaintenance, TableSchemaEvolution, TableEngines, OriginalTableAPI):
    """An Iceberg v2 table at a path.

    Open one with :func:`create_table` or :func:`load_table`. ``Table(path)`` also
    works, as in the original package: it opens the table, creating it when
    ``create_if_not_exists`` (without a ``schema``, the first append sets it).
    """

    def __init__(
        self,
        table_path: str | os.PathLike[str],
        create_if_not_exists: bool = True,
        schema: Schema | pa.Schema | None = None,
        partition_spec: PartitionSpec | None = None,
        *,
        _core_table: Any = None,
    ) -> None:
        self.table_path: str = resolve_table_path(table_path)
        if _core_table is None:
            if create_if_not_exists:
                _core_table = _create_core(self.table_path, schema, partition_spec, None)
            else:
                _core_table = _core.load_table(self.table_path)
        self._core = _core_table
        # The schema and input conversion this Table and its transactions share.
        self._input = TableInput(_core_table)

    # -- identity and state --------------------------------------------------------------------

    @property
    def location(self) -> str:
        """Absolute location of the table."""
        return str(self._core.location)

    @property
    def version(self) -> int:
        """Metadata version (the N of ``v<N>.metadata.json``) of the state this object holds."""
        return int(self._core.version)

    @property
    def metadata_location(self) -> str:
        """Path of the ``v<N>.metadata.json`` this object holds; any Iceberg reader can open it
        (``pyiceberg.table.StaticTable.from_metadata(t.metadata_location)``)."""
        return str(self._core.metadata_location())

    @property
    def properties(self) -> TableProperties:
        """Table properties, a ``dict[str, str]``. 0.11.2's spelling, the method call
        ``t.properties()``, works too and returns a plain ``dict`` copy."""
        return TableProperties(self._core.properties())

    def set_properties(
        self, properties: Mapping[str, Any] | None = None, *, remove: Iterable[str] = ()
    ) -> SetPropertiesResult:
        """Set (and with ``remove=[...]``, or 0.11.2's ``{key: None}``, delete) table
        properties in one commit, as 0.11.2's ``set_properties``; returns the properties now
        in force, a dict that is always true (0.11.2 returned ``True``; a refused update
        raises). Values become strings
        (``True`` -> ``"true"``). The properties datashard reads, listed with their defaults
        and values by :func:`datashard.table_properties`, are checked first and a bad value
        raises ``InvalidArgumentError`` with nothing committed. Other keys are stored as
        given (other Iceberg engines read them)."""
        updates, removals = property_updates(properties, remove)
        self._core.set_properties(updates, removals)
        return SetPropertiesResult(self._core.properties())

    def refresh(self) -> bool:
        """Re-read the latest committed state. Returns True."""
        self._core.refresh()
        return True

    def schema(self) -> Schema:
        """The table's current schema."""
        self._core.refresh()
        return self._input.view().schema

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema scans return and appends are cast to."""
        self._core.refresh()
        return self._input.view().arrow

    def spec(self) -> PartitionSpec:
        """The table's default partition spec."""
        return PartitionSpec.from_json(self._core.partition_spec_json())

    # -- writing -------------------------------------------------------------------------------

    def new_transaction(
        self,
        isolation: str = "snapshot",
        *,
        commit_key: str | None = None,
        branch: str | None = None,
        durability: str | None = None,
    ) -> "Transaction":
        """A new, not yet begun transaction (``with`` begins it, on the latest snapshot).

        ``isolation``: ``"snapshot"`` (default: commits fail only if a file they remove was
        removed or rewritten concurrently) or ``"serializable"`` (also if rows matching what
        the transaction read were added concurrently). ``commit_key``: idempotency key.
        ``branch``: write to this branch (see :meth:`create_branch`) instead of the main line:
        the transaction reads the branch head and its commit moves only the branch.
        ``durability``: ``"fsync"`` or ``"process"`` for this commit (see :meth:`append`).
        """
        return Transaction(self._input, isolation, commit_key, branch=branch, durability=durability)

    def transact(
        self,
        fn: Callable[["Transaction"], T],
        retries: int = 10,
        isolation: str = "serializable",
        *,
        branch: str | None = None,
    ) -> T:
        """Run ``fn(tx)`` in a fresh transaction on the latest snapshot and commit it; if the
        commit conflicts (:class:`ConcurrentModificationException`), back off, refresh and run
        ``fn`` again, up to ``retries`` more times, then re-raise. Returns ``fn``'s return value
        (of the run that committed).

        A read-modify-write in one call::

            def increment(tx):
                n = tx.to_arrow(filter={"name": "hits"})["value"][0].as_py()
                tx.overwrite({"name": ["hits"], "value": [n + 1]}, where={"name": "hits"})
                return n + 1

            table.transact(increment)

        ``fn`` may be called several times, so it should have no side effects outside ``tx``
        (count its calls to count retries). If ``fn`` commits or rolls back ``tx`` itself, that
        stands; any other exception from ``fn`` rolls back and propagates without a retry.
        Serializable isolation (the default here) makes a read-modify-write that overwrites
        what it read safe: the commit fails if a file it rewrites was rewritten, or if rows
        matching what ``fn`` read were added, since it began. Back-off between runs is jittered
        and exponential (5 ms doubling to 1 s). ``branch``: run on that branch's head.
        """
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidArgumentError(f"retries must be an int >= 0, got {retries!r}")
        if not callable(fn):
            raise InvalidArgumentError(f"transact needs a function of the transaction, got {type(fn).__name__}")
        return run_with_retries(lambda: self.new_transaction(isolation, branch=branch), fn, retries)

    def _retrying(self, fn: Callable[["Transaction"], T], retries: int) -> T:
        return self.transact(fn, retries=retries, isolation="snapshot")

    def delete(self, where: FilterLike, *, retries: int = 10) -> int:
        """Delete the rows matching ``where`` in one commit; return how many were deleted.

        ``where``: a filter as ``scan`` takes (``{"col": v}``, ``{"col": (op, v)}``,
        ``(col, op, v)`` tuples); ``None`` deletes every row. Files holding matching rows are
        rewritten without them (copy-on-write); files with none are untouched. If a concurrent
        commit removed or rewrote one of those files first, the delete is planned again on the
        new state, up to ``retries`` times (:meth:`transact` with snapshot isolation).
        """
        return self._retrying(lambda tx: tx.delete(where), retries)

    def overwrite(self, data: Any, where: FilterLike = None, *, retries: int = 10) -> int:
        """Replace the rows matching ``where`` (``None`` = every row) with ``data`` (anything
        :meth:`append` takes) in one commit; return how many rows were replaced (deleted).

        ``data`` is checked against the schema first (SchemaError, nothing written). Conflicts
        are retried as in :meth:`delete`.
        """
        arrow_data = self._input.data(data)
        if not isinstance(arrow_data, (pa.Table, pa.RecordBatch)):
            arrow_data = pa.table(arrow_data)  # a one-shot stream: read once, reuse on retries
        return self._retrying(lambda tx: tx.overwrite(arrow_data, where), retries)

    def append(self, data: Any, *, commit_key: str | None = None, durability: str | None = None) -> int | None:
        """Append data in one commit; return the new snapshot id (None if ``data`` had no rows).

        ``data``: a pyarrow Table/RecordBatch/RecordBatchReader, a polars or pandas DataFrame, a
        DuckDB result, anything with ``__arrow_c_stream__``, a list of row dicts or a dict of
        columns. Columns are matched by name and cast safely to the table's types, within one
        kind of value (numbers, text, bytes, dates, times, naive or zoned timestamps).
        A stream (a ``pyarrow.RecordBatchReader``, e.g. over a generator) is read batch by batch
        in bounded memory, into files of about ``write.target-file-size-bytes``, and committed as
        one snapshot when it ends; if it fails midway, nothing is committed and the files
        written for it are deleted.
        ``commit_key``: an idempotency key; a retried append with the same key is applied once.
        ``durability``: ``"fsync"`` (flush to disk before returning: survives a power cut) or
        ``"process"`` (no flush: survives the death of any process, not a power cut or kernel
        crash) for this commit; by default the table's ``datashard.commit.durability``
        property (``"fsync"`` unless set otherwise).

        Raises SchemaError (unknown or duplicate column, missing required column, null in a
        required column, a value that does not fit, a cast across kinds such as ``True`` into a
        string column) before anything is written.
        """
        durability = check_durability(durability)  # before a schema-less table takes the data's schema
        data = self._input.data(data)
        # Only large appends get an indicator: a thread per small commit would cost throughput.
        rows = getattr(data, "num_rows", 0)
        with activity(f"appending {rows:,} rows", None if isinstance(rows, int) and rows >= 1_000_000 else False):
            sid = self._core.append(data, commit_key, durability)
        return None if sid is None else int(sid)

    def add_files(self, files: Iterable[Any], *, commit_key: str | None = None) -> int | None:
        """Add existing Parquet files inside the table directory in one commit; return the new
        snapshot id (None if the files held no rows). See :meth:`Transaction.append_files` for
        which files are registered in place and which are copied."""
        with self.new_transaction() as tx:
            tx.append_files(files)
            tx.commit(commit_key)
        return tx.snapshot_id

    def new_append(self, *, target_file_size: int | None = None) -> "DistributedAppend":
        """A :class:`~datashard.distributed.DistributedAppend`: workers write files, one
        process commits them all in one snapshot. Picklable (the location, the schema and
        partition spec pinned now, no open handles): ``files = a.write(data)`` in any process
        or host has the engine write data files of the table (partitioned by its spec, local
        or ``s3://``) and commits nothing; ``a.commit(all_files, commit_key=None)`` adds them
        in ONE snapshot and returns its id. Files never committed are orphans for
        ``remove_orphan_files``/``garbage_collect`` (or ``a.abort()``). ``target_file_size``:
        bytes of rows a writer buffers before it writes a file (default
        ``write.target-file-size-bytes``; at most 128 MiB)."""
        from .distributed import new_append

        return new_append(self._core, target_file_size=target_file_size)

    # -- reading -------------------------------------------------------------------------------

    def new_scan(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        snapshot_id: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
        limit: int | None = None,
        threads: Parallel = None,
        batch_size: int = DEFAULT_BATCH_ROWS,
        files: Sequence[str] | None = None,
    ) -> Scan:
        """A :class:`~datashard.scan.Scan`: a read of one snapshot that pyarrow, polars and
        DuckDB consume directly (``pa.table(s)``, ``polars.from_arrow(s)``,
        ``duckdb.sql("select ... from s")``), re-readable, with ``.metrics`` after a read.

        ``columns``: projection (in this order). ``filter``: a ``col()`` expression, a dict, a
        ``(column, op, value)`` tuple or a list of them (AND-ed), pushed down to prune files and
        row groups; or a ``pyarrow.compute.Expression`` (any), applied exactly by the engine,
        which prunes with the comparisons, ``isin`` and null tests in it. Which snapshot: the current
        one, or exactly one of ``snapshot_id=``, ``as_of=`` (a time: epoch ms, datetime (naive =
        local), ISO string, or a timedelta meaning "that long ago") and ``ref=`` (a tag or
        branch name); it is pinned now. ``limit``: at most this many rows. ``threads``: files
        read in parallel (None/True: every core; False: 1; an int). ``files``: only these data
        files of the snapshot (paths as :meth:`data_files` lists them), e.g. one worker's share;
        a path not in the snapshot is an :class:`InvalidArgumentError`.
        """
        self._core.refresh()
        sid, empty = self._resolve_snapshot(snapshot_id, as_of, ref)
        if sid is None and not empty:
            sid = self._core.current_snapshot_id()
        return plan_scan(
            self._core, self._input.view(), sid, empty, columns=columns, filter=filter, limit=limit,
            parallel=threads, batch_size=batch_size, files=files,
        )

    def to_batches(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        snapshot_id: int | None = None,
        parallel: Parallel = True,
        batch_size: int = DEFAULT_BATCH_ROWS,
        limit: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> pa.RecordBatchReader:
        """A streaming reader over the table (current snapshot unless ``snapshot_id``,
        ``as_of`` or ``ref``; see :meth:`new_scan`)."""
        scan = self.new_scan(
            columns, filter, snapshot_id, as_of=as_of, ref=ref, limit=limit, threads=threads(parallel),
            batch_size=batch_size,
        )
        return scan.to_batches()

    def to_arrow(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        parallel: Parallel = True,
        verify_checksums: bool | str | None = None,
        snapshot_id: int | None = None,
        limit: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> pa.Table:
        """Read the table into a ``pyarrow.Table`` (current snapshot unless ``snapshot_id``,
        ``as_of`` or ``ref``; see :meth:`new_scan`). A uuid column reads as text, as the
        original package returned it (``new_scan()`` and ``to_batches()`` keep Iceberg's 16 bytes).

        ``verify_checksums`` is accepted for compatibility; the engine checks what it reads.
        """
        reader = self.to_batches(
            columns=columns, filter=filter, snapshot_id=snapshot_id, parallel=parallel,
            batch_size=MATERIALIZE_BATCH_ROWS, limit=limit, as_of=as_of, ref=ref,
        )
        with activity("reading", unit="rows") as progress:
            if not progress.enabled:
                return uuid_as_text(reader.read_all(), self._input.view().uuid_columns)
            batches = []
            for batch in reader:
                batches.append(batch)
                progress.update(batch.num_rows)
            return uuid_as_text(pa.Table.from_batches(batches, schema=reader.schema), self._input.view().uuid_columns)

    def head(
        self,
        n: int = 10,
        columns: Sequence[str] | None = None,
        snapshot_id: int | None = None,
        *,
        filter: FilterLike = None,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> pa.Table:
        """The first ``n`` rows the scan produces (no particular order)."""
        return self.to_arrow(
            columns=columns, filter=filter, snapshot_id=snapshot_id, limit=n, parallel=1, as_of=as_of, ref=ref
        )

    def take(
        self,
        keys: Iterable[Any],
        *,
        by: str,
        columns: Sequence[str] | None = None,
        snapshot_id: int | None = None,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> pa.Table:
        """Point lookup: the rows whose column ``by`` holds one of ``keys``, in the order of
        ``keys`` (the rows of one key in the order the scan meets them; a key with no row is
        simply absent). Opens as little as it can: the lookup is an ``in`` filter, so file
        bounds, row-group statistics, bloom filters
        (``write.parquet.bloom-filter-enabled.column.<by>``) and a sort order on ``by`` all
        rule files and row groups out before any is read. ``columns``: the columns returned
        (``by`` is read too, to order the rows, and dropped if not asked for). Which snapshot:
        as in :meth:`new_scan`. A key of the wrong type is a :class:`FilterTypeError`."""
        if isinstance(keys, (str, bytes)) or not isinstance(keys, Iterable):
            raise InvalidArgumentError(f"take: keys must be a list of values of column {by!r}, got {keys!r}")
        view = self._input.view()
        lookup = FilterExpression(by, FilterOp.IN, list(keys))
        # The keys as the column holds them: the filter's own conversion (type checks, uuids as
        # 16 bytes, numbers the column cannot hold dropped), so the order below matches it.
        _, _, held = to_core_filters([lookup], view.arrow, view.uuid_columns)[0]
        read = None if columns is None else list(dict.fromkeys([*columns, by]))
        found = self.new_scan(read, lookup, snapshot_id, as_of=as_of, ref=ref).to_arrow()
        # Rows in key order (ties in scan order): the position of each row's key among the keys.
        position = pc.index_in(found[by], value_set=held)
        rows = pa.table({"key": position, "row": pa.array(range(found.num_rows), pa.int64())})
        found = found.take(pc.sort_indices(rows, sort_keys=[("key", "ascending"), ("row", "ascending")]))
        if columns is not None and by not in columns:
            found = found.drop_columns([by])
        return uuid_as_text(found, self._input.view().uuid_columns)

    def to_pandas(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        parallel: Parallel = False,
        verify_checksums: bool | str | None = None,
        snapshot_id: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
        limit: int | None = None,
    ) -> "pd.DataFrame":
        """Rows as a pandas DataFrame (current snapshot unless ``snapshot_id``, ``as_of`` or
        ``ref``)."""
        try:
            import pandas  # noqa: F401
        except ImportError as e:
            raise ImportError("to_pandas needs pandas: pip install 'datashard[pandas]'") from e
        return self.to_arrow(
            columns=columns, filter=filter, parallel=parallel, snapshot_id=snapshot_id, limit=limit, as_of=as_of,
            ref=ref,
        ).to_pandas()

    def row_count(self, snapshot_id: int | None = None, *, as_of: When | None = None, ref: str | None = None) -> int:
        """Number of rows (current snapshot unless ``snapshot_id``, ``as_of`` or ``ref``), from
        metadata alone."""
        self._core.refresh()
        sid, empty = self._resolve_snapshot(snapshot_id, as_of, ref)
        return 0 if empty else int(self._core.row_count(sid))

    def data_files(
        self, snapshot_id: int | None = None, *, as_of: When | None = None, ref: str | None = None
    ) -> list[dict[str, Any]]:
        """The data files of a snapshot: ``{file_path, record_count, file_size_in_bytes}``."""
        self._core.refresh()
        sid, empty = self._resolve_snapshot(snapshot_id, as_of, ref)
        return [] if empty else [dict(d) for d in self._core.data_files(sid)]

    def changes(
        self,
        from_snapshot: int | None,
        to_snapshot: int | None = None,
        *,
        columns: Sequence[str] | None = None,
        net: bool = True,
    ) -> pa.Table:
        """The rows that came and went between two snapshots: for incremental training and
        feature pipelines that process only what is new since they last looked.

        ``from_snapshot``: the snapshot already processed (``None``: the empty table, so every
        row of ``to_snapshot`` is new); ``to_snapshot``: default the current one. Returns the
        rows with a ``_change_type`` column, ``"insert"`` or ``"delete"``: inserts are the rows
        of data files ``to_snapshot`` has and ``from_snapshot`` has not, deletes the rows of
        files that ``from_snapshot`` had and ``to_snapshot`` no longer has. A delete rewrites
        files (copy-on-write), so the rows it kept would appear as both; ``net=True`` (the
        default) cancels identical insert/delete pairs, leaving the rows really added and
        really deleted (rows are the same when every column is; computed by the engine on
        Arrow data). Appends-only history costs one read of the new files.
        """
        for name, sid in (("from_snapshot", from_snapshot), ("to_snapshot", to_snapshot)):
            if sid is not None and (isinstance(sid, bool) or not isinstance(sid, int)):
                raise InvalidArgumentError(f"{name} must be a snapshot id (int) or None, got {sid!r}")
        self._core.refresh()
        cols = list(columns) if columns is not None else None
        return pa.table(self._core.changes(from_snapshot, to_snapshot, cols, bool(net)))

    def parquet_paths(
        self, snapshot_id: int | None = None, *, as_of: When | None = None, ref: str | None = None
    ) -> list[str]:
        """Paths of the Parquet files of a snapshot, e.g. for DuckDB's ``read_parquet``."""
        return [local_path(d["file_path"]) for d in self.data_files(snapshot_id, as_of=as_of, ref=ref)]

    # -- protocols -----------------------------------------------------------------------------

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """Arrow PyCapsule stream of the current snapshot: ``pa.table(t)``, ``pl.DataFrame(t)``,
        ``duckdb.sql("from t")`` read the table directly. Each call starts a fresh scan."""
        return self.new_scan().__arrow_c_stream__(requested_schema)

    def __reduce__(self) -> tuple[Any, ...]:
        return (load_table, (self.location,))

    def __repr__(self) -> str:
        sid = self._core.current_snapshot_id()
        return f"Table({self.location!r}, version={self.version}, current_snapshot_id={sid})"

    def _repr_html_(self) -> str:
        """Jupyter: location, rows, size, schema and recent history."""
        from ._html import table_html

        return table_html(self)


# A table created without a schema has this empty one until its first append sets it.
_NO_SCHEMA = Schema(0, [])


def _create_core(
    path: str,
    schema: Schema | pa.Schema | None,
    partition_spec: PartitionSpec | None,
    properties: Mapping[str, Any] | None,
    exist_ok: bool = True,
    sort_order: Sequence[SortTermLike] | None = None,
) -> Any:
    if isinstance(sort_order, str):
        sort_order = [sort_order]
    terms = sort_terms(list(sort_order)) if sort_order is not None else []
    spec_json = None
    if partition_spec is not None:
        if not isinstance(partition_spec, PartitionSpec):
            raise InvalidArgumentError(f"partition_spec must be a PartitionSpec, got {type(partition_spec).__name__}")
        spec_json = partition_spec.to_json()
    props = {str(k): str(v) for k, v in (properties or {}).items()}
    given = _NO_SCHEMA if schema is None else as_schema(schema)
    return _core.create_table(path, given.to_json(), spec_json, props, exist_ok, terms)


def create_table(
    table_path: str | os.PathLike[str],
    schema: Schema | pa.Schema | None = None,
    partition_spec: PartitionSpec | None = None,
    properties: Mapping[str, Any] | None = None,
    *,
    exist_ok: bool = True,
    if_exists: str = "error",
    sort_order: Sequence[SortTermLike] | None = None,
) -> Table:
    """Create the table at ``table_path``, or open it if one is already there (as the original
    did; two processes may race to create it and both get the same table).

    ``schema``: a :class:`Schema` or a ``pyarrow.Schema``. Opening an existing table with a
    schema that differs from its own raises :class:`SchemaMismatchError` (a
    :class:`TableExistsError`) naming the difference, or, with ``if_exists="ignore"`` (0.11.2's
    option), opens it with its own schema; with ``schema=None`` an existing table is opened as
    it is. ``exist_ok=False`` makes an existing table an error.

    Without a schema the new table has no columns until its first append (records, pandas or
    Arrow) sets them: schema on write, inferred as documented in :func:`datashard._records.infer_schema`
    (or the ``schema=`` that append passes). A ``partition_spec`` given without a schema is
    checked and applied at that first append.

    ``sort_order``: the new table's sort order, terms as :meth:`Table.replace_sort_order`
    takes them (``["ts", "id desc"]``); appends sort every data file by it. Checked against
    the schema (:class:`SchemaError`), or, without a schema, at the first append, as the
    partition spec. An existing table keeps its own order.
    """
    if if_exists not in ("error", "ignore"):
        raise InvalidArgumentError(f'if_exists must be "error" or "ignore", got {if_exists!r}')
    path = resolve_table_path(table_path)
    try:
        core = _create_core(path, schema, partition_spec, properties, exist_ok, sort_order)
    except TableExistsError as e:
        if not exist_ok:  # with exist_ok the engine refuses an existing table only for its schema
            raise
        if if_exists == "error":
            raise SchemaMismatchError(str(e)) from None
        core = _core.load_table(path)
    return Table(path, _core_table=core)


def load_table(table_path: str | os.PathLike[str], *, catalog: Any = None) -> Table:
    """Open the table at ``table_path``; :class:`TableNotFoundError` if there is none.

    With ``catalog=`` (a PyIceberg catalog), ``table_path`` is an identifier in it, such as
    ``"ml.metrics"``: the table it names is opened at its newest version.
    """
    if catalog is not None:
        try:
            entry = catalog.load_table(table_path)
        except Exception as e:  # PyIceberg's NoSuchTableError and friends
            name = getattr(catalog, "name", catalog)
            raise TableNotFoundError(f"no table {table_path!r} in catalog {name!r}: {e}") from None
        metadata_location = entry.metadata_location
        table_path = metadata_location.rsplit("/metadata/", 1)[0]
    path = resolve_table_path(table_path)
    return Table(path, _core_table=_core.load_table(path))

