"""Workers write files, one coordinator commits them: the primitive under distributed appends.

``table.new_append()`` returns a :class:`DistributedAppend`, a small picklable object
(the table location, the schema and partition spec pinned when it was made, and an id;
no open handles). Send it to any number of processes or hosts (a multiprocessing pool,
Ray or Dask tasks, Spark executors), on a local table, shared storage or ``s3://``:

* :meth:`DistributedAppend.write` (any process) has the engine write data files of the
  table and commit nothing: rows conformed to the table's schema by the rules ``append``
  follows, split by its partition spec, statistics computed while writing, through the
  table's own file system. It returns :class:`WrittenFile` records (path, rows, bytes
  and a descriptor of the file for the commit): small and picklable;
* :meth:`DistributedAppend.commit` (one process) adds all of them in ONE snapshot,
  without reading them again (the descriptors carry their statistics and partition
  values; the engine checks each is where it was written, whole).

Files written but never committed are orphans: nothing references them, no reader sees
them, and the table's orphan cleanup (``remove_orphan_files(older_than=...)``,
``garbage_collect(grace_period_ms=...)``) deletes them once older than its grace
period (keep the grace longer than a job takes from first write to commit).
:meth:`DistributedAppend.abort` deletes them at once instead.
"""

from __future__ import annotations

import json
import os
import uuid as _uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from . import _core
from ._lazy import lazy_module
from ._convert import SchemaView, to_arrow
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = ["DistributedAppend", "WrittenFile", "FileWriter", "new_append"]

# Far enough in the future that every file of an append is old enough to go.
_ANY_AGE_MS = 2**62


@dataclass(frozen=True)
class WrittenFile:
    """A data file written by :meth:`DistributedAppend.write`, not yet part of the table.

    Small and picklable: send it back to the process that commits. ``descriptor`` is the
    engine's description of the file (statistics, partition values); a record made by
    hand without one is committed by path, like ``Table.add_files`` (the file is read)."""

    path: str
    record_count: int
    file_size_in_bytes: int
    descriptor: bytes = field(default=b"", repr=False)


class DistributedAppend:
    """One append written by many processes and committed once (see the module docs).

    Made by :meth:`Table.new_append`. Picklable: it carries the table location, the schema
    and partition spec pinned when it was made, the target file size and an id that starts
    the name of every file it writes (``<append_id>-<uuid>.parquet``).
    """

    def __init__(
        self,
        location: str,
        schema_json: str,
        *,
        spec_id: int = 0,
        append_id: str | None = None,
        target_file_size: int | None = None,
    ) -> None:
        self._location = location
        self._schema_json = schema_json
        self._schema_id = int(json.loads(schema_json).get("schema-id", 0))
        self._spec_id = spec_id
        self._append_id = append_id or _uuid.uuid4().hex[:16]
        self._target_file_size = target_file_size or 0
        self._view: SchemaView | None = None  # built lazily
        self._core: Any = None  # the engine's table handle, opened lazily in each process
        self._committed = False
        self._deduplicated = False

    # -- identity ------------------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The table's location."""
        return self._location

    @property
    def append_id(self) -> str:
        """The id every file of this append starts with."""
        return self._append_id

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema files are written with (the table's, pinned by ``new_append``)."""
        return self._schema_view().arrow

    @property
    def required_columns(self) -> frozenset[str]:
        """The columns every row must have a value for."""
        return frozenset(f["name"] for f in self._schema_view().schema.fields if f.get("required"))

    @property
    def deduplicated(self) -> bool:
        """True when the last :meth:`commit` found its commit key in the table already."""
        return self._deduplicated

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_view=None, _core=None, _committed=False, _deduplicated=False)
        return state

    def __repr__(self) -> str:
        return f"<DistributedAppend {self._append_id} of {self._location!r}>"

    def _schema_view(self) -> SchemaView:
        if self._view is None:
            self._view = SchemaView(self._schema_json)
        return self._view

    def _table(self) -> Any:
        if self._core is None:
            self._core = _core.load_table(self._location)
        return self._core

    # -- writing (any process) -----------------------------------------------------------------

    def writer(self) -> "FileWriter":
        """A :class:`FileWriter` for data that arrives in pieces (a stream of batches): call
        ``write`` for each, then ``close()`` for the files (or use it as a context manager and
        read ``.files``)."""
        return FileWriter(self)

    def write(self, data: Any) -> list[WrittenFile]:
        """Write ``data`` as data files of the table, committing nothing; return them.

        ``data``: what ``Table.append`` takes (pyarrow Table/RecordBatch/RecordBatchReader,
        anything with ``__arrow_c_stream__``, a pandas DataFrame, a list of row dicts, a dict
        of columns). Columns are matched by name and cast as ``append`` casts them;
        :class:`SchemaError` (unknown or duplicate column, missing required column, null in a
        required column, a value that does not fit), and the files written so far are
        removed. No rows: no files (``[]``)."""
        with self.writer() as w:
            w.write(data)
        return w.files

    # -- committing (one process) --------------------------------------------------------------

    def commit(
        self, files: Iterable[WrittenFile | str], commit_key: str | None = None, *, durability: str | None = None
    ) -> int | None:
        """Add ``files`` (the :class:`WrittenFile` records the workers returned, or paths) to
        the table in ONE snapshot; return its id (None when there are no files).

        ``commit_key``: an idempotency key, as ``Table.append`` takes it: a commit whose key
        is already in the table is not applied again and returns the earlier snapshot's id.
        ``durability``: ``"fsync"`` or ``"process"`` for this commit (the files are flushed
        with it). Appends never conflict with other writers' commits.

        Errors leave the table unchanged and the files where they are (commit again, or
        :meth:`abort`): ``InvalidArgumentError`` for a file that is missing or not whole,
        outside the table, already in it, given twice, or written for a partition spec the
        table no longer has."""
        described: list[bytes] = []
        paths: list[str] = []
        for f in files if not isinstance(files, (str, os.PathLike, WrittenFile)) else [files]:
            if isinstance(f, WrittenFile) and f.descriptor:
                described.append(f.descriptor)
            elif isinstance(f, WrittenFile):
                paths.append(f.path)
            elif isinstance(f, (str, os.PathLike)):
                paths.append(os.fspath(f))
            else:
                raise InvalidArgumentError(f"commit takes WrittenFile records or paths, got {f!r}")
        if commit_key is not None and (not isinstance(commit_key, str) or not commit_key):
            raise InvalidArgumentError(f"commit_key must be a non-empty string, got {commit_key!r}")
        core = self._table()
        core.refresh()
        self._deduplicated = False
        if commit_key is not None:
            # A retry after a commit that landed: its files are in the table now, and adding
            # them again would be refused before the key was looked at.
            found = core.find_commit_key(commit_key)
            if found is not None:
                self._committed = self._deduplicated = True
                return int(found)
        if not described and not paths:
            return None
        tx = core.new_transaction()
        if commit_key is not None:
            tx.set_commit_key(commit_key)
        if durability is not None:
            tx.set_durability(durability)
        try:
            if described:
                tx.add_written_files(described)
            if paths:
                tx.append_files(paths)
            sid = tx.commit()
        except BaseException:
            tx.rollback()  # never deletes the files given
            raise
        self._committed = True
        return None if sid is None else int(sid)

    def abort(self, files: Iterable[WrittenFile | str] | None = None) -> int:
        """Delete files of this append that were never committed; return how many.

        ``files``: those to delete; None: every file of the table named as this append's
        (the files of every worker, including ones whose results were lost). A file the
        table references is never deleted. Call it instead of :meth:`commit`, not after one:
        after a commit (by this object) it raises ``RuntimeError``. Workers still writing
        when it runs leave files that only the orphan cleanup removes."""
        if self._committed:
            raise RuntimeError("this append was committed; its files belong to the table now")
        return self.remove_uncommitted(files)

    def remove_uncommitted(self, files: Iterable[WrittenFile | str] | None = None) -> int:
        """Delete this append's files that the table does not reference (``files``, or all of
        them); return how many. After a commit: the files of task attempts whose results were
        dropped (a retried task), which nothing will ever reference."""
        only = [] if files is None else [f.path if isinstance(f, WrittenFile) else os.fspath(f) for f in files]
        if files is not None and not only:
            return 0
        report = self._table().remove_orphan_files(_ANY_AGE_MS, False, self._append_id, only)
        return int(report["data_files"])


class FileWriter:
    """Writes a stream of Arrow data as data files of one :class:`DistributedAppend`, through
    the engine: the files the engine's own appends write (the table's codec, row groups and
    page checksums; a new file once about the target file size of rows is buffered, at most
    128 MiB)."""

    def __init__(self, append: DistributedAppend) -> None:
        self._append = append
        self._writer: Any = None
        self._closed = False
        self._files: list[WrittenFile] = []  # once closed or discarded

    @property
    def files(self) -> list[WrittenFile]:
        """The files completed so far (all of them after ``close()``)."""
        if self._closed or self._writer is None:
            return self._files
        return [_written(f) for f in self._writer.files()]

    def _engine_writer(self) -> Any:
        if self._writer is None:
            a = self._append
            self._writer = a._table().file_writer(a.append_id, a._target_file_size, a._schema_id, a._spec_id)
        return self._writer

    def write(self, data: Any) -> "FileWriter":
        """Add ``data`` (anything :meth:`DistributedAppend.write` takes)."""
        if self._closed:
            raise RuntimeError("this FileWriter is closed")
        try:
            arrow = to_arrow(data, self._append._schema_view(), "write")
            self._engine_writer().write(arrow)
        except BaseException:
            self.discard()
            raise
        return self

    def close(self) -> list[WrittenFile]:
        """Write what is buffered; return every file written."""
        if not self._closed:
            try:
                if self._writer is not None:
                    self._files = [_written(f) for f in self._writer.finish()]
            except BaseException:
                self.discard()
                raise
            self._closed = True
        return self.files

    def discard(self) -> None:
        """Stop: delete every file this writer wrote (none is committed yet)."""
        self._closed = True
        if self._writer is not None:
            self._writer.abort()
        self._files = []

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


def _written(f: dict[str, Any]) -> WrittenFile:
    return WrittenFile(str(f["path"]), int(f["record_count"]), int(f["file_size_in_bytes"]), bytes(f["descriptor"]))


def new_append(core: Any, *, target_file_size: int | None = None) -> DistributedAppend:
    """:meth:`Table.new_append` over the engine's table handle ``core`` (see there)."""
    if target_file_size is not None and (
        isinstance(target_file_size, bool) or not isinstance(target_file_size, int) or target_file_size < 1
    ):
        raise InvalidArgumentError(f"target_file_size must be a positive int (bytes), got {target_file_size!r}")
    core.refresh()
    spec_id = int(json.loads(core.partition_spec_json()).get("spec-id", 0))
    # The engine's checks for writing files (a table without columns yet, say), made now
    # rather than in every worker; the writer writes nothing until given rows.
    core.file_writer("", target_file_size or 0, None, spec_id).abort()
    return DistributedAppend(core.location, core.schema_json(), spec_id=spec_id, target_file_size=target_file_size)
