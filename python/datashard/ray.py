"""Ray Data on datashard tables: ``read_datashard`` and ``DatashardDatasink``.

::

    import ray
    from datashard.ray import DatashardDatasink, read_datashard

    ds = read_datashard("/data/events", columns=["user_id", "amount"], filter=col("amount") > 0)
    ds.map_batches(fn).write_datasink(DatashardDatasink("/data/scored"))   # ONE snapshot

``read_datashard`` pins the table's snapshot when it is called and plans one read task per
group of data files (balanced by size); each task runs datashard's own scan of its files
(``Table.new_scan(files=...)``), so projection and filter are pushed into the engine (files
and row groups pruned). Ray's ``select_columns`` and ``filter(expr=...)`` that follow the
read are pushed down too.

``DatashardDatasink`` writes each write task's blocks as Parquet data files of the table
(``Table.new_append``: nothing committed by the tasks) and commits every task's files in ONE
snapshot in ``on_write_complete``. If any task fails nothing is committed; the files the
finished tasks wrote are deleted in ``on_write_failed`` (files of tasks still running then
are orphans for ``remove_orphan_files``).

Ray is imported only when one of these is used; without it they raise ``ImportError``
saying what to install (``pip install "ray[data]"``).
"""

from __future__ import annotations

import heapq
import logging
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import pyarrow as pa

from .errors import AmbiguousCommitError, DatashardError

if TYPE_CHECKING:  # pragma: no cover
    import ray.data

    from .filters import FilterLike
    from .scan import Scan

__all__ = ["read_datashard", "DatashardDatasource", "DatashardDatasink"]

logger = logging.getLogger("datashard")

# Rows per block a read task yields (Ray re-blocks as it needs).
_READ_BATCH_ROWS = 1 << 17
# Ray's estimate of decoded bytes per Parquet byte (PARQUET_ENCODING_RATIO_ESTIMATE_DEFAULT).
_PARQUET_DECODE_RATIO = 5
# The column Ray expects when a read projects no columns at all (ds.count()): it carries
# the row count.
_STUB_COLUMN = "__bsp_stub"


def _import_ray() -> Any:
    try:
        import ray.data  # noqa: F401
    except ImportError as e:
        raise ImportError(
            'datashard.ray needs Ray Data, which is not installed: pip install "ray[data]"'
        ) from e
    import ray

    return ray


# -- planning helpers (no Ray needed) ----------------------------------------------------------


def _balance(files: Sequence[dict[str, Any]], groups: int) -> list[list[dict[str, Any]]]:
    """Files in ``groups`` groups of about equal bytes (largest first into the lightest group;
    ties by path, so the plan is deterministic); each group in path order; no empty group."""
    groups = max(1, min(groups, len(files)))
    heap = [(0, g) for g in range(groups)]
    out: list[list[dict[str, Any]]] = [[] for _ in range(groups)]
    for f in sorted(files, key=lambda f: (-int(f["file_size_in_bytes"]), f["file_path"])):
        size, g = heapq.heappop(heap)
        out[g].append(f)
        heapq.heappush(heap, (size + int(f["file_size_in_bytes"]), g))
    return [sorted(g, key=lambda f: f["file_path"]) for g in out if g]


def _split_and(expr: Any) -> list[Any]:
    """The conjuncts of a Ray Data expression."""
    from ray.data.expressions import BinaryExpr, Operation

    if isinstance(expr, BinaryExpr) and expr.op == Operation.AND:
        return _split_and(expr.left) + _split_and(expr.right)
    return [expr]


def _to_datashard(expr: Any) -> Any:
    """A Ray Data predicate as a datashard ``col()`` expression, or None where the engine's
    filter would not select exactly the rows pyarrow selects (then it is applied per batch)."""
    from ray.data.expressions import AliasExpr, BinaryExpr, ColumnExpr, LiteralExpr, Operation, UnaryExpr

    from .expressions import col

    while isinstance(expr, AliasExpr):
        expr = expr.expr
    if isinstance(expr, UnaryExpr) and isinstance(expr.operand, ColumnExpr):
        if expr.op == Operation.IS_NULL:
            return col(expr.operand.name).is_null()
        if expr.op == Operation.IS_NOT_NULL:
            return col(expr.operand.name).not_null()
        return None
    if not isinstance(expr, BinaryExpr):
        return None
    if expr.op == Operation.IN and isinstance(expr.left, ColumnExpr) and isinstance(expr.right, LiteralExpr):
        values = expr.right.value
        return col(expr.left.name).isin(values if isinstance(values, (list, tuple)) else [values])
    # NOT_IN is left to pyarrow: Ray keeps nulls there (NOT is_in), the engine does not (SQL).
    flipped = {Operation.LT: Operation.GT, Operation.LE: Operation.GE, Operation.GT: Operation.LT,
               Operation.GE: Operation.LE, Operation.EQ: Operation.EQ, Operation.NE: Operation.NE}
    op, left, right = expr.op, expr.left, expr.right
    if op not in flipped:
        return None
    if isinstance(left, LiteralExpr) and isinstance(right, ColumnExpr):
        op, left, right = flipped[op], right, left
    if not (isinstance(left, ColumnExpr) and isinstance(right, LiteralExpr)):
        return None
    c, v = col(left.name), right.value
    if v is None:
        return None
    return {
        Operation.EQ: lambda: c == v, Operation.NE: lambda: c != v, Operation.LT: lambda: c < v,
        Operation.LE: lambda: c <= v, Operation.GT: lambda: c > v, Operation.GE: lambda: c >= v,
    }[op]()


def _read_group(scan: Any, residual: Any, columns: list[str] | None, stub: bool) -> Iterable[pa.Table]:
    """One read task: datashard's scan of its files, then the residual predicate (if any)."""
    for batch in scan.to_batches():
        if residual is not None:
            batch = batch.filter(residual)
        if columns is not None and batch.schema.names != columns:
            batch = batch.select(columns)
        if batch.num_rows == 0:
            continue
        if stub:
            yield pa.table({_STUB_COLUMN: pa.nulls(batch.num_rows)})
        else:
            yield pa.Table.from_batches([batch])


# -- the Ray classes, built on first use --------------------------------------------------------

_CLASSES: dict[str, type] = {}


def _classes() -> dict[str, type]:
    if _CLASSES:
        return _CLASSES
    _import_ray()
    from ray.data import Datasink, Datasource, ReadTask
    from ray.data.block import BlockAccessor, BlockMetadata

    class DatashardDatasource(Datasource):
        """A Ray Data datasource reading one pinned snapshot of a datashard table.

        ``path``, ``columns``, ``filter``, ``snapshot_id``, ``as_of``, ``ref``: as
        ``Table.new_scan`` takes them; the snapshot (default: the current one) is pinned
        here. Supports Ray's projection and predicate pushdown."""

        def __init__(
            self,
            path: str,
            columns: Sequence[str] | None = None,
            filter: Any = None,  # noqa: A002
            snapshot_id: int | None = None,
            *,
            as_of: Any = None,
            ref: str | None = None,
        ) -> None:
            super().__init__()
            from .table import load_table

            table = load_table(path)
            # Validates columns and filter and pins the snapshot, now.
            scan = table.new_scan(columns, filter, snapshot_id, as_of=as_of, ref=ref)
            self._location = table.location
            self._snapshot_id = scan.snapshot_id
            self._filter = filter
            # The whole row as this snapshot's scan yields it (projection applied per task).
            self._schema = scan.schema if columns is None else table.new_scan(snapshot_id=scan.snapshot_id).schema
            self._files = [] if scan.snapshot_id is None else table.data_files(scan.snapshot_id)
            self._projection_map = None if columns is None else {c: c for c in columns}

        @property
        def snapshot_id(self) -> int | None:
            """The snapshot this datasource reads (None: the table had no rows)."""
            return self._snapshot_id

        def get_name(self) -> str:
            return "Datashard"

        def supports_projection_pushdown(self) -> bool:
            return True

        def supports_predicate_pushdown(self) -> bool:
            return True

        def _columns(self) -> list[str] | None:
            return self._get_data_columns()

        def _plan_filters(self, table: Any) -> tuple[Any, Any]:
            """(the filter for datashard's scan, the pyarrow residual) from the user's filter
            and the predicate Ray pushed down."""
            from ._convert import is_arrow_expression, uuid_columns
            from .filters import parse_filter, to_core_filters

            pushed = self.get_current_predicate()
            if pushed is None:
                return self._filter, None
            if is_arrow_expression(self._filter):  # one pyarrow expression for the engine: AND it
                return self._filter & pushed.to_pyarrow(), None
            terms = [] if self._filter is None else list(parse_filter(self._filter))
            residual = []
            arrow_schema, uuids = table.arrow_schema(), uuid_columns(table.schema())
            for conjunct in _split_and(pushed):
                term = _to_datashard(conjunct)
                if term is not None:
                    try:
                        to_core_filters(parse_filter(term), arrow_schema, uuids)
                        terms.extend(parse_filter(term))
                        continue
                    except (ValueError, TypeError, pa.ArrowException):
                        pass  # e.g. a literal of another type: pyarrow compares it
                residual.append(conjunct.to_pyarrow())
            expr = None
            for r in residual:
                expr = r if expr is None else expr & r
            return (terms or None), expr

        def estimate_inmemory_data_size(self) -> int | None:
            total = sum(int(f["file_size_in_bytes"]) for f in self._files)
            columns = self._columns()
            if columns is not None and self._schema.names:
                total = total * max(len(columns), 1) // len(self._schema.names)
            return total * _PARQUET_DECODE_RATIO

        def get_read_tasks(
            self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
        ) -> list[Any]:
            from .table import load_table

            table = load_table(self._location)
            columns = self._columns()
            stub = columns == []
            scan_filter, residual = self._plan_filters(table)
            # The residual needs every column it names: read all, select after filtering. No
            # columns at all (ds.count()): the first one carries the row count.
            if residual is not None:
                scan_columns = None
            elif stub:
                scan_columns = self._schema.names[:1]
            else:
                scan_columns = columns
            out_columns = None if stub else columns
            if stub:
                schema = pa.schema([pa.field(_STUB_COLUMN, pa.null())])
            elif columns is None:
                schema = self._schema
            else:
                schema = pa.schema([self._schema.field(c) for c in columns])
            exact_counts = scan_filter is None and residual is None
            groups = _balance(self._files, parallelism if parallelism and parallelism > 0 else len(self._files))
            if not groups:  # no rows in the snapshot: one task, no rows, the schema
                groups = [[]]
            tasks = []
            for group in groups:
                paths = [f["file_path"] for f in group]
                scan: Scan | None = table.new_scan(
                    scan_columns,
                    scan_filter,
                    self._snapshot_id,
                    limit=per_task_row_limit if residual is None else None,
                    threads=1,
                    batch_size=_READ_BATCH_ROWS,
                    files=paths,
                )
                if self._snapshot_id is None:
                    scan = None
                size = sum(int(f["file_size_in_bytes"]) for f in group) * _PARQUET_DECODE_RATIO
                metadata = BlockMetadata(
                    num_rows=sum(int(f["record_count"]) for f in group) if exact_counts else None,
                    size_bytes=size,
                    input_files=tuple(paths),
                    exec_stats=None,
                )

                def read_fn(scan: Any = scan, empty: pa.Schema = schema, group: Any = group) -> Iterable[pa.Table]:
                    if scan is None:
                        return [empty.empty_table()]
                    if stub and exact_counts:  # rows counted by the metadata: nothing to read
                        return [pa.table({_STUB_COLUMN: pa.nulls(int(f["record_count"]))}) for f in group]
                    return _read_group(scan, residual, out_columns, stub)

                tasks.append(ReadTask(read_fn, metadata, schema=schema, per_task_row_limit=per_task_row_limit))
            return tasks

    class DatashardDatasink(Datasink):
        """Writes a Ray Dataset into a datashard table as ONE snapshot.

        ``ds.write_datasink(DatashardDatasink(path))``: each write task writes its blocks as
        data files (``Table.new_append``); ``on_write_complete`` commits all of them at once
        (``commit_key``: idempotency key, as ``Table.append`` takes it) and records the
        snapshot id in ``sink.snapshot_id``. If the job fails nothing is committed and
        ``on_write_failed`` deletes the files written so far. Any table: partitioned ones get
        files split by the partition spec in each task, and ``s3://`` tables are written by
        the tasks straight to the store. ``target_file_size``: bytes of rows a task buffers
        before it writes a file."""

        def __init__(
            self,
            path: str,
            commit_key: str | None = None,
            *,
            durability: str | None = None,
            target_file_size: int | None = None,
        ) -> None:
            from .table import load_table

            table = load_table(path)
            self._append = table.new_append(target_file_size=target_file_size)
            self._commit_key = commit_key
            self._durability = durability
            self._commit_started = False
            self._ambiguous = False
            #: the snapshot the write created (None before, or when there were no rows)
            self.snapshot_id: int | None = None
            #: the files committed (after on_write_complete)
            self.files: list[Any] = []

        def get_name(self) -> str:
            return "Datashard"

        def on_write_start(self, schema: pa.Schema | None = None) -> None:
            # An unknown or missing required column fails here, on the driver, before any
            # task runs (Ray passes the schema of the first block).
            if schema is None:
                return
            from .errors import SchemaError

            known = set(self._append.arrow_schema.names)
            unknown = [n for n in schema.names if n not in known]
            if unknown:
                raise SchemaError(f'unknown column "{unknown[0]}": the table {self._append.location} has no such field')
            missing = sorted(self._append.required_columns - set(schema.names))
            if missing:
                raise SchemaError(f'required field "{missing[0]}" is missing')

        def write(self, blocks: Iterable[Any], ctx: Any) -> list[Any]:
            with self._append.writer() as writer:
                for block in blocks:
                    table = BlockAccessor.for_block(block).to_arrow()
                    if table.num_rows:
                        writer.write(table)
            return writer.files

        def on_write_complete(self, write_result: Any) -> None:
            files = [f for task_files in write_result.write_returns for f in (task_files or [])]
            self._commit_started = True
            try:
                self.snapshot_id = self._append.commit(files, self._commit_key, durability=self._durability)
            except AmbiguousCommitError:
                self._ambiguous = True
                raise
            self.files = [] if self._append.deduplicated else files
            try:  # files of task attempts whose results Ray dropped (retries), or of a
                # repeated job whose commit key was already in the table: never committed
                self._append.remove_uncommitted()
            except DatashardError as e:
                logger.warning("datashard: could not remove stray files of %s: %s", self._append, e)

        def on_write_failed(self, error: Exception) -> None:
            if self._ambiguous:  # the commit may have landed: its files stay
                logger.warning("datashard: the commit's outcome is unknown; files of %s kept", self._append)
                return
            try:
                removed = self._append.abort()
            except Exception as e:  # noqa: BLE001  best effort: the orphan cleanup gets the rest
                logger.warning("datashard: could not remove the files of a failed write: %s", e)
                return
            logger.info("datashard: write failed (%s); nothing committed, %d files removed", error, removed)

    for cls in (DatashardDatasource, DatashardDatasink):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
        _CLASSES[cls.__name__] = cls
    return _CLASSES


def __getattr__(name: str) -> Any:
    if name in ("DatashardDatasource", "DatashardDatasink"):
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def read_datashard(
    path: str,
    *,
    columns: Sequence[str] | None = None,
    filter: "FilterLike" = None,  # noqa: A002
    snapshot_id: int | None = None,
    as_of: Any = None,
    ref: str | None = None,
    parallelism: int = -1,
    override_num_blocks: int | None = None,
    concurrency: int | None = None,
    ray_remote_args: dict[str, Any] | None = None,
    **read_args: Any,
) -> "ray.data.Dataset":
    """A Ray Dataset of one snapshot of the datashard table at ``path``.

    ``columns``, ``filter`` (a ``col()`` expression, dict, tuple or list of them, or a
    ``pyarrow.compute.Expression``) and ``snapshot_id``/``as_of``/``ref`` are as
    ``Table.new_scan`` takes them and are pushed into datashard's scan. The snapshot
    (default: the current one) is pinned now: the dataset reads it however often it is
    executed, whatever is committed meanwhile. One read task per group of data files
    (``override_num_blocks``, or Ray's choice; never more tasks than files).
    ``parallelism`` (deprecated by Ray), ``concurrency``, ``ray_remote_args`` and other
    keyword arguments (``num_cpus``, ``memory``, ...) go to ``ray.data.read_datasource``.
    """
    ray = _import_ray()
    datasource = _classes()["DatashardDatasource"](path, columns, filter, snapshot_id, as_of=as_of, ref=ref)
    return ray.data.read_datasource(
        datasource,
        parallelism=parallelism,
        override_num_blocks=override_num_blocks,
        concurrency=concurrency,
        ray_remote_args=ray_remote_args,
        **read_args,
    )
