"""Transaction: appends, deletes and overwrites published as one snapshot, with the original
package's begin/commit/rollback protocol and context manager.

A transaction pins the table's latest snapshot when it begins (its *base*). Its reads
(:meth:`Transaction.scan`, :meth:`Transaction.to_arrow`) see that snapshot, its deletes are
planned against it, and ``commit()`` validates what changed since, by Iceberg's rules:

* appends never conflict with appends;
* a transaction that removes a data file (``delete``, ``overwrite``, ``delete_files``) fails if
  another writer removed or rewrote that file first;
* under ``isolation="serializable"`` it also fails if another writer added rows that may match
  anything it read (the filters of its scans, deletes and overwrites).

A conflict raises :class:`~datashard.errors.ConcurrentModificationException` and leaves no
trace; :meth:`Table.transact` runs a function in a transaction and re-runs it on conflict.
"""

from __future__ import annotations

import os
import random
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence, TypeVar

from ._lazy import lazy_module
from ._convert import (
    DEFAULT_BATCH_ROWS,
    ISOLATION_LEVELS,
    MATERIALIZE_BATCH_ROWS,
    Parallel,
    TableInput,
    check_arrow_expression,
    check_durability,
    check_isolation,
    is_arrow_expression,
    serialize_arrow_expression,
    threads,
)
from ._storage import join_location
from .compat import OriginalTransactionAPI
from .errors import ConcurrentModificationException, InvalidArgumentError, typed_batches
from .filters import FilterLike, parse_filter, to_core_filters

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = ["Transaction", "ISOLATION_LEVELS", "run_with_retries"]

# run_with_retries: full-jitter exponential back-off between runs of fn.
_MIN_BACKOFF_S = 0.005
_MAX_BACKOFF_S = 1.0

T = TypeVar("T")


class Transaction(OriginalTransactionAPI):
    """Changes that become visible together, in one snapshot, or not at all.

    Each append (and each copy-on-write rewrite of a delete) writes its Parquet file at once;
    ``commit()`` publishes them all; ``rollback()`` deletes them and leaves the table untouched.
    Used as a context manager it begins on entry, rolls back if the block raises (and
    re-raises), and otherwise commits if still active::

        with table.new_transaction() as tx:
            tx.append_data(rows_a, schema)
            tx.delete({"status": "stale"})
        # committed here, as one snapshot

    Changing the table before ``begin()`` raises ``RuntimeError``.

    ``isolation``: ``"snapshot"`` (default) or ``"serializable"`` (see the module docstring).
    ``commit_key``: an idempotency key; a commit whose key is already in the table (a snapshot
    taken within ``datashard.commit-key.lookback-ms``, default one hour, and not expired) is not
    applied again (``commit()`` succeeds and ``snapshot_id`` is the earlier snapshot's id). It
    can also be given to :meth:`commit`.

    ``durability``: ``"fsync"`` or ``"process"`` for this commit, overriding the table's
    ``datashard.commit.durability`` property (see :meth:`Table.append`).

    Made by :meth:`Table.new_transaction` over the table's engine handle and schema
    (``table_input``, shared with the ``Table``). The original package's names
    (``append_data``, ``overwrite_by_filter``, the queued maintenance calls, the list-of-dict
    ``scan``) come from :class:`~datashard.compat.OriginalTransactionAPI`.
    """

    def __init__(
        self,
        table_input: TableInput,
        isolation: str = "snapshot",
        commit_key: str | None = None,
        *,
        branch: str | None = None,
        durability: str | None = None,
    ) -> None:
        self._input = table_input
        self._core = table_input.core
        self._isolation = check_isolation(isolation)
        self._commit_key = commit_key
        self._durability = check_durability(durability)
        if branch is not None and (not isinstance(branch, str) or not branch):
            raise InvalidArgumentError(f"branch must be a branch name, got {branch!r}")
        self._branch = branch
        # 0.11.2's queued maintenance (expire_snapshots, set_properties, compact_manifests):
        # commits of their own, run right after this transaction's.
        self._after_commit: list[Callable[[], Any]] = []
        self._core_tx: Any = None
        #: id of the snapshot the last commit() created (None for an empty transaction)
        self.snapshot_id: int | None = None

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def isolation(self) -> str:
        """``"snapshot"`` or ``"serializable"``."""
        return self._isolation

    @property
    def branch(self) -> str | None:
        """The branch this transaction writes to (None: the main line)."""
        return self._branch

    @property
    def base_snapshot_id(self) -> int | None:
        """The snapshot this transaction reads and plans against (None for an empty table or
        an inactive transaction)."""
        if self._core_tx is None:
            return None
        sid = self._core_tx.base_snapshot_id()
        return None if sid is None else int(sid)

    def begin(self) -> "Transaction":
        """Start the transaction on the table's latest snapshot. ``RuntimeError`` if it is
        already active."""
        if self._core_tx is not None:
            raise RuntimeError("Transaction already active")
        self._core.refresh()  # the base is the latest commit, as the original re-read it
        self._core_tx = self._core.new_transaction(self._isolation, self._branch)
        # A table created without a schema: the first append sets it (a commit of its own),
        # and this transaction then restarts on that version if it has written nothing yet.
        self._awaits_schema = not self._input.view().schema.fields
        self.snapshot_id = None
        self._after_commit = []
        return self

    def is_active(self) -> bool:
        return self._core_tx is not None

    def _active(self) -> Any:
        if self._core_tx is None:
            raise RuntimeError("Transaction is not active: call begin() or use it in a with block")
        return self._core_tx

    def _for_append(self, convert: Callable[[], Any]) -> tuple[Any, Any]:
        """(engine transaction, converted data): the conversion may set the schema of a table
        created without one; a transaction that has written nothing then restarts on it."""
        self._active()
        data = convert()
        if self._awaits_schema:
            self._awaits_schema = False
            if self._input.view().schema.fields and self._core_tx.base_snapshot_id() is None:
                self._core.refresh()
                self._core_tx = self._core.new_transaction(self._isolation, self._branch)
        return self._core_tx, data

    def _arrow_filter(self, where: Any) -> bytes:
        """A ``pyarrow.compute.Expression`` for the engine, checked against the base's schema."""
        check_arrow_expression(where, self._input.view().arrow)
        return serialize_arrow_expression(where)

    def _filters(self, where: FilterLike) -> list[Any] | None:
        view = self._input.view()  # the base's schema: begin() refreshed the table
        return to_core_filters(parse_filter(where), view.arrow, view.uuid_columns) or None

    # -- appends -------------------------------------------------------------------------------

    def append(self, data: Any) -> "Transaction":
        """Write Arrow data (anything ``Table.append`` takes) now; publish it at commit."""
        tx, arrow = self._for_append(lambda: self._input.data(data))
        tx.append(arrow)
        return self

    # -- deletes and overwrites ----------------------------------------------------------------

    def delete(self, where: FilterLike = None) -> int:
        """Delete the rows of the base snapshot that match ``where`` (a filter as ``scan``
        takes: ``{"col": v}``, ``{"col": (op, v)}``, ``(col, op, v)`` tuples; ``None`` = every
        row). Returns the number of rows deleted.

        Copy-on-write: each data file holding a matching row is replaced by a file of its
        remaining rows (written now, published at commit). Under ``"serializable"`` the filter
        counts as read. Rows appended earlier in this transaction are not affected.
        """
        tx = self._active()
        if is_arrow_expression(where):
            return int(tx.delete(None, self._arrow_filter(where)))
        return int(tx.delete(self._filters(where)))

    def overwrite(self, data: Any, where: FilterLike = None) -> int:
        """Replace the rows of the base snapshot matching ``where`` (``None`` = every row) with
        ``data`` (anything ``Table.append`` takes). Returns the number of rows replaced
        (deleted); ``data`` may hold any number of rows. ``data`` is checked against the schema
        before anything is deleted."""
        tx = self._active()
        if is_arrow_expression(where):
            return int(tx.overwrite(self._input.data(data), None, self._arrow_filter(where)))
        return int(tx.overwrite(self._input.data(data), self._filters(where)))

    def append_files(self, files: Iterable[Any]) -> "Transaction":
        """Add existing Parquet files to the table at commit (the original package's call).

        ``files``: ``DataFile`` objects, paths, or entries with a ``file_path``; each must lie
        inside the table directory (absolute, or table-relative as the original spelled it:
        ``"data/x.parquet"``). A file written with the table's Arrow schema
        (``pq.write_table(t.cast(table.arrow_schema()), path)``, which carries the Iceberg field
        ids) is registered where it is (on a partitioned table, if all its rows fall in one
        partition); any other file (plain pyarrow output without field ids, rows of several
        partitions) has its rows copied into new data files so that
        every Iceberg reader can read them, and the source file is deleted once the commit
        succeeds. Returns the transaction.

        Raises ``InvalidArgumentError`` (outside the table, missing, not Parquet, already in
        the table, given twice) or ``SchemaError`` (unknown column, null in a required column,
        a value that does not cast), with nothing added.
        """
        tx = self._active()
        if isinstance(files, (str, os.PathLike)) or hasattr(files, "file_path"):
            files = [files]
        tx.append_files([self._file_path(f, "append_files") for f in files])
        return self

    def _file_path(self, path: Any, caller: str = "delete_files") -> str:
        """A data file path as the table lists it, from what ``delete_files`` accepts."""
        if isinstance(path, Mapping) and "file_path" in path:  # an entry of Table.data_files()
            path = path["file_path"]
        elif hasattr(path, "file_path"):  # a DataFile
            path = path.file_path
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidArgumentError(f"{caller} takes file paths, got {path!r}")
        text = os.fspath(path)
        if text.startswith("file:") or not text:
            return text
        location = str(self._core.location).rstrip("/")
        if text.startswith(location + "/"):
            return text
        # Table-relative, as the original spelled it: "data/x.parquet" or "/data/x.parquet".
        return join_location(location, text)

    def delete_files(self, file_paths: Iterable[Any]) -> "Transaction":
        """Remove whole data files from the table (the files themselves stay on disk for
        maintenance to collect). Paths as ``Table.data_files()`` lists them, or table-relative
        (``"data/x.parquet"``, ``"/data/x.parquet"``); entries of ``data_files()`` and
        ``DataFile`` objects work too. Returns the transaction.

        A path that is not a data file of the base snapshot raises ``InvalidArgumentError``
        (the original silently ignored it).
        """
        tx = self._active()
        if isinstance(file_paths, (str, os.PathLike)):
            file_paths = [file_paths]
        tx.delete_files([self._file_path(p) for p in file_paths])
        return self

    # -- reads ---------------------------------------------------------------------------------

    def to_batches(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002
        parallel: Parallel = False,
        batch_size: int = DEFAULT_BATCH_ROWS,
        limit: int | None = None,
    ) -> pa.RecordBatchReader:
        """A streaming reader over the base snapshot. Under ``"serializable"`` the filter
        counts as read: rows matching it added concurrently make ``commit()`` fail."""
        tx = self._active()
        if columns is not None:
            if isinstance(columns, str):
                raise InvalidArgumentError('columns must be a list of names, e.g. ["id"], not a string')
            columns = list(columns)
        if batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be positive, got {batch_size}")
        if limit is not None and limit < 0:
            raise InvalidArgumentError(f"limit must be >= 0, got {limit}")
        if is_arrow_expression(filter):  # applied exactly by the engine, and recorded as read
            stream = tx.scan(columns, None, threads(parallel), batch_size, limit, self._arrow_filter(filter))
        else:
            stream = tx.scan(columns, self._filters(filter), threads(parallel), batch_size, limit)
        return typed_batches(pa.RecordBatchReader.from_stream(stream))

    def to_arrow(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002
        parallel: Parallel = False,
        limit: int | None = None,
    ) -> pa.Table:
        """Read the base snapshot into a ``pyarrow.Table`` (see :meth:`to_batches`)."""
        return self.to_batches(columns, filter, parallel, MATERIALIZE_BATCH_ROWS, limit).read_all()

    # -- outcome -------------------------------------------------------------------------------

    def commit(self, commit_key: str | None = None) -> bool:
        """Publish everything as one snapshot. Returns True (an empty transaction commits
        nothing). ``RuntimeError`` if not active.

        ``commit_key`` (or the one given to ``new_transaction``): idempotency key, see the
        class docstring.

        The transaction ends either way. On :class:`ConcurrentModificationException` (a
        conflict, see the module docstring) or another definite failure the engine has removed
        its files; after :class:`AmbiguousCommitError` they are kept because the commit may
        have landed: re-read the table to find out.
        """
        tx = self._active()
        key = commit_key if commit_key is not None else self._commit_key
        if key is not None:
            if not isinstance(key, str) or not key:
                raise InvalidArgumentError(f"commit_key must be a non-empty string, got {key!r}")
            tx.set_commit_key(key)
        if self._durability is not None:
            tx.set_durability(self._durability)
        self._core_tx = None  # over either way; never roll back after a failed commit (see above)
        sid = tx.commit()
        self.snapshot_id = None if sid is None else int(sid)
        after, self._after_commit = self._after_commit, []
        for step in after:
            step()
        return True

    def rollback(self) -> bool:
        """Delete the files written so far and end the transaction; the table is untouched.
        Returns False if the transaction was not active."""
        if self._core_tx is None:
            return False
        tx, self._core_tx = self._core_tx, None
        tx.rollback()
        return True

    def __enter__(self) -> "Transaction":
        if self._core_tx is None:
            self.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.rollback()
            return None
        if self._core_tx is not None:
            self.commit()
        return None

    def __repr__(self) -> str:
        state = "active" if self._core_tx is not None else "inactive"
        on = f" branch {self._branch!r}" if self._branch else ""
        return f"<Transaction {state} {self._isolation}{on} on {str(self._core.location)!r}>"


def run_with_retries(new_transaction: Callable[[], Transaction], fn: Callable[[Transaction], T], retries: int) -> T:
    """``fn(tx)`` in a fresh transaction from ``new_transaction()``, begun on the latest
    snapshot and committed (unless ``fn`` ended it); on a conflict, back off and run again, up
    to ``retries`` more times, then re-raise. Any other exception rolls back and propagates.
    What :meth:`Table.transact` does."""
    attempt = 0
    while True:
        tx = new_transaction()
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
        ceiling = min(_MAX_BACKOFF_S, _MIN_BACKOFF_S * (2 ** (attempt - 1)))
        time.sleep(random.uniform(0, ceiling))
