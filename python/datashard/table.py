"""Table: the original package's API (records, dict filters, list-of-dict scans) and the
modern one (Arrow in and out) over one engine table object.

Everything that touches the table's files happens in ``datashard._core``; this
module converts arguments and results.

Reads in the original API re-read the table's latest metadata first, as the
original did on every call, so a process sees other processes' commits without
calling ``refresh()``.
"""

from __future__ import annotations

import collections
import os
import random
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

import pyarrow as pa

from . import _core
from ._records import infer_schema, records_to_arrow
from ._when import When
from ._storage import resolve_table_path
from .errors import (
    ConcurrentModificationException,
    InvalidArgumentError,
    SchemaError,
    SchemaMismatchError,
    TableExistsError,
)
from .filters import FilterLike, parse_filter, to_core_filters
from .compat import OriginalTableAPI, SetPropertiesResult, TableProperties, UuidTextStream, uuid_as_text
from .history import TableHistory
from .maintenance import TableMaintenance
from .partitioning import PartitionSpec
from .progress import activity
from .scan import Scan, SnapshotNames, projected_schema
from .schema import Schema
from .schema_update import TableSchemaEvolution
from .snapshot import Snapshot
from .transaction import check_durability

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ._distributed import DistributedAppend
    from .transaction import Transaction

__all__ = ["Table", "create_table", "load_table"]

Parallel = bool | int | None

_DEFAULT_BATCH_ROWS = 64 * 1024
# Reads that materialize everything anyway decode in larger batches (fewer, larger
# allocations: about a fifth faster on a 10M-row file).
_MATERIALIZE_BATCH_ROWS = 1024 * 1024

# Table.transact: full-jitter exponential back-off between runs of fn.
_TRANSACT_MIN_BACKOFF_S = 0.005
_TRANSACT_MAX_BACKOFF_S = 1.0

T = TypeVar("T")


def _threads(parallel: Parallel) -> int:
    """``False``/None -> 1 thread, ``True`` -> every core, an int -> that many."""
    if parallel is True:
        return os.cpu_count() or 1
    if parallel is None or parallel is False:
        return 1
    if isinstance(parallel, int) and parallel >= 1:
        return parallel
    raise InvalidArgumentError(f"parallel must be True, False or a positive int, got {parallel!r}")


def _is_pandas_frame(obj: Any) -> bool:
    t = type(obj)
    return t.__name__ == "DataFrame" and t.__module__.split(".")[0] == "pandas"


def _cancel_pairs(inserts: pa.Table, deletes: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Drop rows that appear in both (as multisets): what a copy-on-write rewrite carried over."""
    shared = [n for n in inserts.column_names if n in deletes.column_names]

    def keys(t: pa.Table) -> list[tuple[Any, ...]]:
        return [tuple(repr(v) for v in row) for row in zip(*(t.column(n).to_pylist() for n in shared))]

    def unmatched(mine: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> pa.Array:
        """True for each of ``mine`` left once ``theirs`` have cancelled one each."""
        budget = collections.Counter(theirs)
        keep = []
        for key in mine:
            keep.append(budget[key] == 0)
            if budget[key] > 0:
                budget[key] -= 1
        return pa.array(keep)

    ins, dels = keys(inserts), keys(deletes)
    return inserts.filter(unmatched(ins, dels)), deletes.filter(unmatched(dels, ins))


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns in its order (missing ones null, types cast)."""
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _local_path(file_path: str) -> str:
    """A data file's path as the OS (and DuckDB's read_parquet) wants it."""
    if file_path.startswith("file://"):
        return file_path[len("file://") :]
    if file_path.startswith("file:"):
        return file_path[len("file:") :]
    return file_path


class _SchemaView:
    """The table's current schema in the three forms the Python layer needs."""

    __slots__ = ("json", "schema", "arrow", "uuid_columns")

    def __init__(self, schema_json: str) -> None:
        self.json = schema_json
        self.schema = Schema.from_json(schema_json)
        self.arrow = pa.schema(_core.arrow_schema_capsule(schema_json))
        self.uuid_columns = tuple(f["name"] for f in self.schema.fields if f["type"] == "uuid")


class Table(TableHistory, TableMaintenance, TableSchemaEvolution, OriginalTableAPI):
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
        self._schema_view: _SchemaView | None = None

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
        (``True`` -> ``"true"``). The properties datashard reads are checked first and a bad
        value raises ``InvalidArgumentError`` with nothing committed:
        ``datashard.commit.durability`` (``fsync``/``process``),
        ``write.parquet.compression-codec``, ``write.parquet.row-group-limit``,
        ``datashard.metadata.max-snapshots``, ``write.metadata.previous-versions-max``.
        Other keys are stored as given (other Iceberg engines read them)."""
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
        self._core.set_properties(updates, removals)
        return SetPropertiesResult(self._core.properties())

    def refresh(self) -> bool:
        """Re-read the latest committed state. Returns True."""
        self._core.refresh()
        return True

    def _view(self) -> _SchemaView:
        schema_json = self._core.schema_json()
        if self._schema_view is None or self._schema_view.json != schema_json:
            self._schema_view = _SchemaView(schema_json)
        return self._schema_view

    def _set_schema_on_write(self, given: Schema | pa.Schema | None, infer: Callable[[], Schema]) -> Schema | None:
        """Schema on write: a table created without a schema takes its first append's (``given``,
        else ``infer()``), in a commit of its own before the rows'. Returns the schema this append
        proposed, or None if the table had a schema already. When another writer's first append
        won the race, the table keeps theirs and this append is checked against it as usual."""
        if self._view().schema.fields:
            return None
        self._core.refresh()
        if self._view().schema.fields:
            return None
        if given is None:
            proposed = infer()
        elif isinstance(given, Schema):
            proposed = given
        else:
            proposed = _as_schema(given)
        self._core.set_initial_schema(proposed.to_json())
        return proposed

    def _raced(self, proposed: Schema | None, error: SchemaError) -> SchemaError:
        """``error`` naming how the schema another first append set differs from ours."""
        if proposed is None:
            return error
        diff = self._view().schema.difference(proposed)
        if not diff:
            return error
        return SchemaError(f"another writer's first append set the table's schema first ({diff}): {error}")

    def schema(self) -> Schema:
        """The table's current schema."""
        self._core.refresh()
        return self._view().schema

    def _get_current_schema(self, metadata: Any = None) -> Schema:  # name used by the original package's docs
        """The current schema; ``metadata`` (the original's parsed metadata) is ignored."""
        return self.schema()

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema scans return and appends are cast to."""
        self._core.refresh()
        return self._view().arrow

    def spec(self) -> PartitionSpec:
        """The table's default partition spec."""
        return PartitionSpec.from_json(self._core.partition_spec_json())

    # -- snapshots -----------------------------------------------------------------------------

    def current_snapshot(self) -> Snapshot | None:
        """The latest snapshot, or None for a table with no commits."""
        self._core.refresh()
        sid = self._core.current_snapshot_id()
        return None if sid is None else self._snapshot(sid)

    def _snapshot(self, snapshot_id: int) -> Snapshot | None:
        d = self._core.snapshot_by_id(int(snapshot_id))
        return None if d is None else Snapshot._from_core(d)

    def snapshot_by_id(self, snapshot_id: int) -> Snapshot | None:
        """The snapshot with this id (also one older than the metadata's snapshot window), or None."""
        self._core.refresh()
        return self._snapshot(snapshot_id)

    def snapshots(self) -> list[dict[str, Any]]:
        """Snapshots, oldest first, as dicts ``{snapshot_id, timestamp_ms, timestamp (naive local
        datetime), operation, summary, parent_id, sequence_number, schema_id, manifest_list}``.

        Lists the snapshots the current metadata keeps (table property
        ``datashard.metadata.max-snapshots``, default 32); older ones stay reachable through
        :meth:`snapshot_by_id` and ``time_travel``.
        """
        self._core.refresh()
        return [Snapshot._from_core(d).to_dict() for d in self._core.snapshots()]

    def time_travel(
        self, snapshot_id: int | None = None, timestamp: When | None = None
    ) -> Snapshot | None:
        """The snapshot by id, or the one current at ``timestamp`` (epoch ms, datetime, ISO
        string; see :meth:`snapshot_as_of`), or the current one with no argument; None if there
        is none. Like the original, this returns the snapshot, not data: read its data with
        ``scan(snapshot_id=s.snapshot_id)``, ``to_arrow(as_of=...)`` or :meth:`read_as_of`."""
        self._core.refresh()
        if snapshot_id is not None:
            return self._snapshot(snapshot_id)
        if timestamp is not None:
            return self.snapshot_as_of(timestamp)
        sid = self._core.current_snapshot_id()
        return None if sid is None else self._snapshot(sid)

    def read_as_of(
        self,
        snapshot_id: int | None = None,
        timestamp: When | None = None,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        parallel: Parallel = True,
    ) -> pa.Table:
        """The table's data as of a snapshot id or a time (epoch ms, datetime, ISO string), as a
        ``pyarrow.Table``. A time before the first commit gives an empty table."""
        if snapshot_id is None and timestamp is None:
            raise InvalidArgumentError("read_as_of needs snapshot_id= or timestamp=")
        return self.to_arrow(
            columns=columns, filter=filter, parallel=parallel, snapshot_id=snapshot_id, as_of=timestamp
        )

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
        from .transaction import Transaction

        return Transaction(self, isolation, commit_key, branch=branch, durability=durability)

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
        attempt = 0
        while True:
            tx = self.new_transaction(isolation, branch=branch)
            tx.begin()
            try:
                result = fn(tx)
                if tx.is_active():
                    tx.commit()
                return result
            except ConcurrentModificationException:
                tx.rollback()  # no-op once commit() has run: the engine cleaned up
                if attempt >= retries:
                    raise
            except BaseException:
                tx.rollback()
                raise
            attempt += 1
            ceiling = min(_TRANSACT_MAX_BACKOFF_S, _TRANSACT_MIN_BACKOFF_S * (2 ** (attempt - 1)))
            time.sleep(random.uniform(0, ceiling))

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
        arrow_data = self._to_arrow_input(data)
        if not isinstance(arrow_data, (pa.Table, pa.RecordBatch)):
            arrow_data = pa.table(arrow_data)  # a one-shot stream: read once, reuse on retries
        return self._retrying(lambda tx: tx.overwrite(arrow_data, where), retries)

    def _check_given_schema(self, schema: Schema | pa.Schema | None) -> None:
        if schema is None:
            return
        schema = _as_schema(schema)
        diff = self._view().schema.difference(schema)
        if diff:
            raise SchemaError(f"the schema given does not match the table's at {self.location}: {diff}")

    def _records_to_arrow(self, records: Sequence[Mapping[str, Any]], schema: Schema | pa.Schema | None) -> pa.Table:
        proposed = self._set_schema_on_write(schema, lambda: infer_schema(records))
        try:
            self._check_given_schema(schema)
            view = self._view()
            return records_to_arrow(records, view.schema, view.arrow)
        except SchemaError as e:
            raise self._raced(proposed, e) from None

    def _to_arrow_input(self, data: Any) -> Any:
        """Something ``_core`` can read through ``__arrow_c_stream__``; for a table without a
        schema yet, the data's schema becomes the table's first."""
        if isinstance(data, list):
            return self._records_to_arrow(data, None)
        arrow = self._arrow_input(data)
        # A schema once set never becomes empty (the last column cannot be dropped), so a
        # handle that has seen one skips the look at the engine's schema on every append.
        if self._schema_view is not None and self._schema_view.schema.fields or self._view().schema.fields:
            return arrow
        if not isinstance(arrow, (pa.Table, pa.RecordBatchReader)):
            arrow = pa.table(arrow)  # a one-shot stream: its schema is needed before its rows
        self._set_schema_on_write(None, lambda: Schema.from_arrow(arrow.schema))
        return arrow

    def _arrow_input(self, data: Any) -> Any:
        if _is_pandas_frame(data):
            return _from_pandas(data)
        if hasattr(data, "__arrow_c_stream__"):
            return data
        if hasattr(data, "__arrow_c_array__"):
            batch = pa.record_batch(data)
            return pa.Table.from_batches([batch])
        if isinstance(data, Mapping):
            try:
                return pa.table(dict(data))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
                raise SchemaError(f"cannot build columns from the dict given: {_failing_column(data)}{e}") from None
        raise InvalidArgumentError(
            "append takes Arrow data (anything with __arrow_c_stream__: pyarrow, polars, DuckDB), "
            f"a pandas DataFrame, a list of row dicts or a dict of columns; got {type(data).__name__}"
        )

    def append(self, data: Any, *, commit_key: str | None = None, durability: str | None = None) -> int | None:
        """Append data in one commit; return the new snapshot id (None if ``data`` had no rows).

        ``data``: a pyarrow Table/RecordBatch/RecordBatchReader, a polars or pandas DataFrame, a
        DuckDB result, anything with ``__arrow_c_stream__``, a list of row dicts or a dict of
        columns. Columns are matched by name and cast safely to the table's types, within one
        kind of value (numbers, text, bytes, dates, times, naive or zoned timestamps).
        ``commit_key``: an idempotency key; a retried append with the same key is applied once.
        ``durability``: ``"fsync"`` (flush to disk before returning: survives a power cut) or
        ``"process"`` (no flush: survives the death of any process, not a power cut or kernel
        crash) for this commit; by default the table's ``datashard.commit.durability``
        property (``"fsync"`` unless set otherwise).

        Raises SchemaError (unknown or duplicate column, missing required column, null in a
        required column, a value that does not fit, a cast across kinds such as ``True`` into a
        string column) before anything is written.
        """
        data = self._to_arrow_input(data)
        # Only large appends get an indicator: a thread per small commit would cost throughput.
        rows = getattr(data, "num_rows", 0)
        with activity(f"appending {rows:,} rows", None if isinstance(rows, int) and rows >= 1_000_000 else False):
            sid = self._core.append(data, commit_key, check_durability(durability))
        return None if sid is None else int(sid)

    def append_arrow(self, data: Any, schema: Schema | pa.Schema | None = None) -> bool:
        """Append Arrow data in one commit (0.11.2 name; see :meth:`append`). ``schema``, as in
        0.11.2: the schema a table created without one takes (instead of the data's), else it
        must match the table's (``SchemaError`` naming the difference). Returns True."""
        if schema is not None:
            self._given_schema_for_append(schema)
        self.append(data)
        return True

    def _given_schema_for_append(self, schema: Schema | pa.Schema) -> None:
        self._set_schema_on_write(schema, lambda: _as_schema(schema))
        self._check_given_schema(schema)

    def append_records(
        self,
        records: Sequence[Mapping[str, Any]],
        schema: Schema | pa.Schema | None = None,
        partition_values: Mapping[str, Any] | None = None,
        *,
        durability: str | None = None,
    ) -> bool:
        """Append row dicts in one commit. Returns True.

        ``schema``, if given, must agree with the table's by column names, types and required
        flags. ``partition_values`` is accepted for compatibility: partition values come from
        the data, so on a partitioned table giving them is an :class:`InvalidArgumentError`
        (they would be ignored), and on an unpartitioned one they are ignored.
        ``durability``: for this commit, as in :meth:`append`.

        Raises SchemaError naming the row (0-based) and field for an unknown key, a missing or
        None required field, a value of the wrong type or NaN in a non-float column; nothing is
        written then.
        """
        self._check_partition_values(partition_values)
        table = self._records_to_arrow(records, schema)
        self._core.append(table, None, check_durability(durability))
        return True

    def _check_partition_values(self, partition_values: Mapping[str, Any] | None) -> None:
        """The original API's ``partition_values``: refused where a partition spec computes them."""
        if partition_values and PartitionSpec.from_json(self._core.partition_spec_json()).fields:
            raise InvalidArgumentError(
                f"partition_values={dict(partition_values)!r}: this table's partition values are computed "
                "from the rows by its partition spec; leave partition_values out"
            )

    def add_files(self, files: Iterable[Any], *, commit_key: str | None = None) -> int | None:
        """Add existing Parquet files inside the table directory in one commit; return the new
        snapshot id (None if the files held no rows). See :meth:`Transaction.append_files` for
        which files are registered in place and which are copied."""
        with self.new_transaction() as tx:
            tx.append_files(files)
            tx.commit(commit_key)
        return tx.snapshot_id

    def new_append(self, *, target_file_size: int | None = None) -> "DistributedAppend":
        """A :class:`~datashard._distributed.DistributedAppend`: workers write files, one
        process commits them all in one snapshot. Picklable (the location and the schema
        pinned now, no open handles): ``files = a.write(data)`` in any process writes Parquet
        data files into the table and commits nothing; ``a.commit(all_files, commit_key=None)``
        adds them in ONE snapshot and returns its id. Files never committed are orphans for
        ``remove_orphan_files``/``garbage_collect`` (or ``a.abort()``). Unpartitioned local
        tables only (``NotImplementedError`` otherwise). ``target_file_size``: bytes per file
        before a writer starts the next (default ``write.target-file-size-bytes``, 512 MiB)."""
        from ._distributed import new_append

        return new_append(self, target_file_size)

    def append_data(self, files: Iterable[Any]) -> bool:
        """The original package's ``Table.append_data``: add existing data files (``DataFile``
        objects or paths inside the table) in one commit. Returns True. To append rows, use
        :meth:`append` or :meth:`append_records`."""
        files = list(files) if not isinstance(files, (str, os.PathLike)) else [files]
        if files and all(isinstance(f, Mapping) and "file_path" not in f for f in files):
            raise InvalidArgumentError(
                "Table.append_data takes data files (DataFile objects or paths), as in the original "
                "package; to append row dicts use append_records(records) or append(records)"
            )
        self.add_files(files)
        return True

    def append_pandas(self, df: "pd.DataFrame", schema: Schema | pa.Schema | None = None) -> bool:
        """Append a pandas DataFrame in one commit (the index is not stored). Returns True."""
        self._core.append(self._pandas_input(df, schema), None)
        return True

    def _pandas_input(self, df: "pd.DataFrame", schema: Schema | pa.Schema | None) -> pa.Table:
        if not _is_pandas_frame(df):
            raise InvalidArgumentError(f"Expected a pandas DataFrame, got {type(df).__name__}")
        arrow = _from_pandas(df)
        self._set_schema_on_write(schema, lambda: Schema.from_arrow(arrow.schema))
        self._check_given_schema(schema)
        return arrow

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
        batch_size: int = _DEFAULT_BATCH_ROWS,
        files: Sequence[str] | None = None,
    ) -> Scan:
        """A :class:`~datashard.scan.Scan`: a read of one snapshot that pyarrow, polars and
        DuckDB consume directly (``pa.table(s)``, ``polars.from_arrow(s)``,
        ``duckdb.sql("select ... from s")``), re-readable, with ``.metrics`` after a read.

        ``columns``: projection (in this order). ``filter``: a ``col()`` expression, a dict, a
        ``(column, op, value)`` tuple or a list of them (AND-ed), pushed down to prune files and
        row groups; or a ``pyarrow.compute.Expression`` (any, OR/NOT included), evaluated exactly
        on every batch without pruning. Which snapshot: the current
        one, or exactly one of ``snapshot_id=``, ``as_of=`` (a time: epoch ms, datetime (naive =
        local), ISO string, or a timedelta meaning "that long ago") and ``ref=`` (a tag or
        branch name); it is pinned now. ``limit``: at most this many rows. ``threads``: files
        read in parallel (None/True: every core; False: 1; an int). ``files``: only these data
        files of the snapshot (paths as :meth:`data_files` lists them), e.g. one worker's share;
        a path not in the snapshot is an :class:`InvalidArgumentError`.
        """
        self._core.refresh()
        if columns is not None:
            if isinstance(columns, str):
                raise InvalidArgumentError('columns must be a list of names, e.g. ["id"], not a string')
            columns = list(columns)
        sid, empty = self._resolve_snapshot(snapshot_id, as_of, ref)
        if sid is None and not empty:
            sid = self._core.current_snapshot_id()
        view = self._view()
        expressions = None if _is_arrow_expression(filter) else parse_filter(filter)
        read = self._read_schema(sid, empty, view)
        if read is not view:  # time travel across a schema change: resolve names by field id
            names = SnapshotNames(read.arrow, view.arrow, sid, self.location)  # type: ignore[arg-type]
            columns = names.columns(columns)
            expressions = None if expressions is None else names.filters(expressions)
        if expressions is None:
            _check_arrow_expression(filter, read.arrow)
            arrow_filter, core_filters = filter, None
        else:
            arrow_filter, core_filters = None, to_core_filters(expressions, read.arrow, read.uuid_columns) or None
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be a positive int, got {batch_size!r}")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise InvalidArgumentError(f"limit must be an int >= 0, got {limit!r}")
        schema = projected_schema(read.arrow, columns, self.location)
        n_threads = _threads(True if threads is None else threads)
        if files is not None:
            if isinstance(files, str):
                raise InvalidArgumentError("files must be a list of data file paths, not a string")
            files = [str(f) for f in files]
            if not files:
                empty = True  # a share with no files reads no rows
        return Scan(self, columns, core_filters, sid, empty, n_threads, batch_size, limit, schema, arrow_filter, files)

    def _read_schema(self, sid: int | None, empty: bool, view: _SchemaView) -> Any:
        """The schema the engine reads snapshot ``sid`` with (``view`` when that is the current
        one): an old snapshot's own for time travel (see :class:`~datashard.scan.SnapshotNames`)."""
        if empty or sid is None or sid == self._core.current_snapshot_id():
            return view
        schema_json = self._core.read_schema_json(sid)
        return view if schema_json == view.json else _SchemaView(schema_json)

    def to_batches(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        snapshot_id: int | None = None,
        parallel: Parallel = True,
        batch_size: int = _DEFAULT_BATCH_ROWS,
        limit: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> pa.RecordBatchReader:
        """A streaming reader over the table (current snapshot unless ``snapshot_id``,
        ``as_of`` or ``ref``; see :meth:`new_scan`)."""
        scan = self.new_scan(
            columns, filter, snapshot_id, as_of=as_of, ref=ref, limit=limit, threads=_threads(parallel),
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
            columns, filter, snapshot_id, parallel, _MATERIALIZE_BATCH_ROWS, limit, as_of=as_of, ref=ref
        )
        with activity("reading", unit="rows") as progress:
            if not progress.enabled:
                return uuid_as_text(reader.read_all(), self._view().uuid_columns)
            batches = []
            for batch in reader:
                batches.append(batch)
                progress.update(batch.num_rows)
            return uuid_as_text(pa.Table.from_batches(batches, schema=reader.schema), self._view().uuid_columns)

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
        return UuidTextStream(scan, self._view().uuid_columns).to_duckdb(view_name, connection)

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
        return UuidTextStream(scan, self._view().uuid_columns).sql(query, alias)

    def _rows(self, table: pa.Table | pa.RecordBatch) -> list[dict[str, Any]]:
        table = uuid_as_text(table, self._view().uuid_columns)  # the original returned uuids as text
        try:
            rows = table.to_pylist()
        except (OverflowError, ValueError) as e:
            raise SchemaError(
                f"a value does not fit a Python object ({e}), e.g. a date or timestamp beyond year "
                "9999; read these rows with to_arrow(), to_pandas() or to_polars() instead"
            ) from None
        return rows

    def scan(
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
    ) -> list[dict[str, Any]]:
        """Rows as a list of dicts (current snapshot unless ``snapshot_id``, ``as_of`` or
        ``ref``; see :meth:`new_scan`). The positional order is 0.11.2's (and ``to_arrow``'s):
        ``verify_checksums`` before ``snapshot_id``.

        ``filter``: ``{"col": value}``, ``{"col": (op, value)}`` (see :mod:`datashard.filters`),
        a ``(col, op, value)`` tuple, a ``col()`` expression or a list of them. ``parallel``:
        False = 1 thread, True = every core, an int = that many threads. ``verify_checksums``
        is accepted for compatibility; the engine checks what it reads.
        """
        return self._rows(
            self.to_arrow(columns, filter, parallel, verify_checksums, snapshot_id, limit, as_of=as_of, ref=ref)
        )

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
            columns, filter, parallel, verify_checksums, snapshot_id, limit, as_of=as_of, ref=ref
        ).to_pandas()

    def scan_batches(
        self,
        batch_size: int = 10000,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        verify_checksums: bool | str | None = None,
        snapshot_id: int | None = None,
        parallel: Parallel = False,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield lists of row dicts of at most ``batch_size`` rows, holding one batch at a time."""
        reader = self.to_batches(columns, filter, snapshot_id, parallel, batch_size, as_of=as_of, ref=ref)
        for batch in reader:
            if batch.num_rows:
                yield self._rows(batch)

    def iter_records(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        verify_checksums: bool | str | None = None,
        snapshot_id: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield row dicts one at a time."""
        for batch in self.scan_batches(1000, columns, filter, verify_checksums, snapshot_id, as_of=as_of, ref=ref):
            yield from batch

    def iter_pandas(
        self,
        chunksize: int = 50000,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,
        verify_checksums: bool | str | None = None,
        snapshot_id: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> Iterator["pd.DataFrame"]:
        """Yield DataFrames of at most ``chunksize`` rows (uuid columns as text)."""
        uuids = self._view().uuid_columns
        for batch in self.to_batches(columns, filter, snapshot_id, False, chunksize, as_of=as_of, ref=ref):
            if batch.num_rows:
                yield uuid_as_text(batch, uuids).to_pandas()

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
        really deleted. Appends-only history costs one read of the new files.
        """
        self._core.refresh()
        if to_snapshot is None:
            to_snapshot = self._core.current_snapshot_id()
        for name, sid in (("from_snapshot", from_snapshot), ("to_snapshot", to_snapshot)):
            if sid is not None and (isinstance(sid, bool) or not isinstance(sid, int)):
                raise InvalidArgumentError(f"{name} must be a snapshot id (int) or None, got {sid!r}")
        old = {d["file_path"] for d in self.data_files(from_snapshot)} if from_snapshot is not None else set()
        new = {d["file_path"] for d in self.data_files(to_snapshot)} if to_snapshot is not None else set()
        cols = list(columns) if columns is not None else None

        def rows(sid: int | None, files: set[str]) -> pa.Table:
            scan = self.new_scan(cols, snapshot_id=sid, files=sorted(files)) if sid is not None else None
            if scan is None or not files:
                return projected_schema(self._view().arrow, cols, self.location).empty_table()
            return scan.to_arrow()

        inserts, deletes = rows(to_snapshot, new - old), rows(from_snapshot, old - new)
        if net and inserts.num_rows and deletes.num_rows:
            inserts, deletes = _cancel_pairs(inserts, deletes)
        # Both sides in the newer schema's column order (a column added since reads as null).
        deletes = _conform(deletes, inserts.schema) if inserts.num_columns else deletes
        typed = [
            t.append_column("_change_type", pa.array([kind] * t.num_rows, pa.string()))
            for t, kind in ((inserts, "insert"), (deletes, "delete"))
        ]
        return pa.concat_tables(typed, promote_options="permissive")

    def parquet_paths(
        self, snapshot_id: int | None = None, *, as_of: When | None = None, ref: str | None = None
    ) -> list[str]:
        """Paths of the Parquet files of a snapshot, e.g. for DuckDB's ``read_parquet``."""
        return [_local_path(d["file_path"]) for d in self.data_files(snapshot_id, as_of=as_of, ref=ref)]

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

    def _repr_html_(self) -> str:
        """Jupyter: location, rows, size, schema and recent history."""
        from ._html import table_html

        return table_html(self)


def _as_schema(schema: Schema | pa.Schema | Any) -> Schema:
    if isinstance(schema, Schema):
        return schema
    if hasattr(schema, "__arrow_c_schema__"):
        return Schema.from_arrow(schema)
    raise SchemaError(f"schema must be a datashard.Schema or a pyarrow.Schema, got {type(schema).__name__}")


# A table created without a schema has this empty one until its first append sets it.
_NO_SCHEMA = Schema(0, [])


def _create_core(
    path: str,
    schema: Schema | pa.Schema | None,
    partition_spec: PartitionSpec | None,
    properties: Mapping[str, Any] | None,
    exist_ok: bool = True,
) -> Any:
    spec_json = None
    if partition_spec is not None:
        if not isinstance(partition_spec, PartitionSpec):
            raise InvalidArgumentError(f"partition_spec must be a PartitionSpec, got {type(partition_spec).__name__}")
        spec_json = partition_spec.to_json()
    props = {str(k): str(v) for k, v in (properties or {}).items()}
    given = _NO_SCHEMA if schema is None else _as_schema(schema)
    return _core.create_table(path, given.to_json(), spec_json, props, exist_ok)


def _is_arrow_expression(value: Any) -> bool:
    """A ``pyarrow.compute.Expression`` (checked without importing pyarrow.compute)."""
    cls = type(value)
    return cls.__name__ == "Expression" and cls.__module__.startswith("pyarrow")


def _check_arrow_expression(expression: Any, schema: pa.Schema) -> None:
    """SchemaError now for an expression that names an unknown column or does not type-check
    against the table (instead of an error in the middle of a read)."""
    try:
        schema.empty_table().filter(expression)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError) as e:
        raise SchemaError(f"filter {expression}: {e}") from None


def _failing_column(columns: Mapping[str, Any]) -> str:
    """'column "x": ' for the first value list Arrow cannot convert on its own, else ''."""
    for name, values in columns.items():
        try:
            pa.array(values)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            return f'column "{name}": '
    return ""


def _from_pandas(df: "pd.DataFrame") -> pa.Table:
    """A pandas DataFrame as Arrow (the index is not stored); SchemaError for what Arrow
    cannot take (duplicate column names, mixed-type object columns)."""
    duplicated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if duplicated:
        raise SchemaError(f'duplicate column "{duplicated[0]}": it appears more than once in the DataFrame')
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
        raise SchemaError(f"cannot convert the DataFrame to columns: {e}") from None


def create_table(
    table_path: str | os.PathLike[str],
    schema: Schema | pa.Schema | None = None,
    partition_spec: PartitionSpec | None = None,
    properties: Mapping[str, Any] | None = None,
    *,
    exist_ok: bool = True,
    if_exists: str = "error",
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
    """
    if if_exists not in ("error", "ignore"):
        raise InvalidArgumentError(f'if_exists must be "error" or "ignore", got {if_exists!r}')
    path = resolve_table_path(table_path)
    try:
        core = _create_core(path, schema, partition_spec, properties, exist_ok)
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
        from .errors import TableNotFoundError

        try:
            entry = catalog.load_table(table_path)
        except Exception as e:  # PyIceberg's NoSuchTableError and friends
            raise TableNotFoundError(f"no table {table_path!r} in catalog {getattr(catalog, 'name', catalog)!r}: {e}") from None
        metadata_location = entry.metadata_location
        table_path = metadata_location.rsplit("/metadata/", 1)[0]
    path = resolve_table_path(table_path)
    return Table(path, _core_table=_core.load_table(path))

