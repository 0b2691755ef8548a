"""Workers write files, one coordinator commits them: the primitive under distributed appends.

``table.new_append()`` returns a :class:`DistributedAppend`, a small picklable object
(the table location, the schema pinned when it was made, the write properties and an
id; no open handles). Send it to any number of processes (a multiprocessing pool,
Ray or Dask tasks, Spark executors):

* :meth:`DistributedAppend.write` (any process) writes Parquet data files into the
  table's ``data/`` directory, conformed to the table's schema with the engine's rules
  and carrying the Iceberg field ids, and commits nothing. It returns
  :class:`WrittenFile` records (path, rows, bytes): small and picklable;
* :meth:`DistributedAppend.commit` (one process) adds all of them in ONE snapshot,
  through the engine's ``Transaction.append_files``, which registers each file in place
  (reading it once to take its column statistics) and publishes them atomically.

Files written but never committed are orphans: nothing references them, no reader sees
them, and the table's orphan cleanup (``remove_orphan_files(older_than=...)``,
``garbage_collect(grace_period_ms=...)``) deletes them once older than its grace
period (keep the grace longer than a job takes from first write to commit).
:meth:`DistributedAppend.abort` deletes them at once instead.

Limits, both from what the engine's bindings offer today:

* unpartitioned tables only. ``append_files`` never registers a file of a partitioned
  table in place: it derives no partition tuple from a file, so it would copy every row
  into new files in the committing process. Rather than funnel all the data through the
  coordinator, ``new_append()`` refuses a partitioned table (``NotImplementedError``);
* local tables only (the workers write with pyarrow; the engine's object-store
  credentials and conditional writes are not available to them), ``NotImplementedError``
  for ``s3://`` locations.
"""

from __future__ import annotations

import os
import uuid as _uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .errors import InvalidArgumentError, SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from .table import Table

__all__ = ["DistributedAppend", "WrittenFile", "FileWriter"]

# The engine's defaults (src/datashard/table/data_writer.cc).
_DEFAULT_CODEC = "zstd"
_DEFAULT_ROW_GROUP_ROWS = 1 << 20
_TINY_FILE_BYTES = 16 << 10
# A row group is flushed at this many buffered bytes even below the row-group row limit
# (bounds a writer's memory).
_ROW_GROUP_BYTES = 128 << 20
_DEFAULT_TARGET_FILE_SIZE = 512 << 20  # Iceberg's write.target-file-size-bytes default
_CODECS = {"zstd": "zstd", "snappy": "snappy", "gzip": "gzip", "lz4": "lz4", "uncompressed": "none", "none": "none"}


@dataclass(frozen=True)
class WrittenFile:
    """A data file written by :meth:`DistributedAppend.write`, not yet part of the table.

    Small and picklable: send it back to the process that commits."""

    path: str
    record_count: int
    file_size_in_bytes: int


# -- conforming data to the table's schema (the engine's ConformToSchema rules) -----------------


def _kind(t: pa.DataType) -> str:
    """Kinds of value between which a cast keeps the meaning (format/arrow_schema.cc)."""
    if pa.types.is_dictionary(t):
        return _kind(t.value_type)
    if isinstance(t, pa.ExtensionType):
        return _kind(t.storage_type)
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or getattr(pa.types, "is_string_view", lambda _: False)(t):
        return "text"
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or getattr(pa.types, "is_binary_view", lambda _: False)(t)
    ):
        return "bytes"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    return "other"


def _cast_keeps_meaning(source: pa.DataType, target: pa.DataType) -> bool:
    a, b = _kind(source), _kind(target)
    if a == "null":
        return True
    if a == "text" and b == "bytes":
        return True
    return a == b and a != "other"


def _conform(data: pa.Table, schema: pa.Schema, required: frozenset[str]) -> pa.Table:
    """``data`` with exactly ``schema`` (the table's Arrow schema, field ids included):
    columns matched by name, missing optional ones null, safe casts within one kind of
    value; SchemaError as the engine words it otherwise."""
    known = set(schema.names)
    seen: set[str] = set()
    for name in data.column_names:
        if name not in known:
            raise SchemaError(f'unknown column "{name}": the table has no such field')
        if name in seen:
            raise SchemaError(f'duplicate column "{name}": it appears more than once in the data')
        seen.add(name)
    columns = []
    for field in schema:
        if field.name not in seen:
            if field.name in required:
                raise SchemaError(f'required field "{field.name}" is missing')
            columns.append(pa.nulls(data.num_rows, field.type))
            continue
        column = data.column(field.name)
        if not column.type.equals(field.type):
            if not _cast_keeps_meaning(column.type, field.type):
                raise SchemaError(
                    f'field "{field.name}": cannot store {column.type} as {field.type} '
                    "(a different kind of value; convert it explicitly)"
                )
            try:
                column = column.cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
                raise SchemaError(f'field "{field.name}": cannot store {column.type} as {field.type} ({e})') from None
        if field.name in required and column.null_count:
            row = pc.index(pc.is_null(column), True).as_py()
            raise SchemaError(f'row {row}, field "{field.name}": null in a required field')
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


# -- the picklable append ----------------------------------------------------------------------


class DistributedAppend:
    """One append written by many processes and committed once (see the module docs).

    Made by :meth:`Table.new_append`. Picklable: it carries the table location, the
    schema pinned when it was made, the Parquet write properties and an id that prefixes
    every file it writes (``data/<append_id>-<uuid>.parquet``).
    """

    def __init__(
        self,
        location: str,
        schema_json: str,
        *,
        append_id: str | None = None,
        codec: str = _DEFAULT_CODEC,
        row_group_rows: int = _DEFAULT_ROW_GROUP_ROWS,
        target_file_size: int = _DEFAULT_TARGET_FILE_SIZE,
    ) -> None:
        self._location = location
        self._schema_json = schema_json
        self._append_id = append_id or _uuid.uuid4().hex[:16]
        self._codec = codec
        self._row_group_rows = row_group_rows
        self._target_file_size = target_file_size
        self._view: Any = None  # the schema in the forms the writer needs (built lazily)
        self._table: Table | None = None  # opened lazily in the committing process
        self._committed = False
        self._deduplicated = False  # the last commit found its key already in the table

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
    def data_dir(self) -> str:
        return os.path.join(self._location, "data")

    @property
    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema files are written with (the table's, pinned by ``new_append``)."""
        return self._schema_view().arrow

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_view"] = None
        state["_table"] = None
        state["_committed"] = False
        state["_deduplicated"] = False
        return state

    def __repr__(self) -> str:
        return f"<DistributedAppend {self._append_id} of {self._location!r}>"

    def _schema_view(self) -> Any:
        if self._view is None:
            from .table import _SchemaView

            self._view = _SchemaView(self._schema_json)
        return self._view

    def _required(self) -> frozenset[str]:
        return frozenset(f["name"] for f in self._schema_view().schema.fields if f.get("required"))

    # -- writing (any process) -----------------------------------------------------------------

    def writer(self) -> "FileWriter":
        """A :class:`FileWriter` for data that arrives in pieces (a stream of batches): call
        ``write`` for each, then ``close()`` for the files (or use it as a context manager and
        read ``.files``). Files roll over at the target file size."""
        return FileWriter(self)

    def write(self, data: Any) -> list[WrittenFile]:
        """Write ``data`` as Parquet data files of the table, committing nothing; return them.

        ``data``: what ``Table.append`` takes (pyarrow Table/RecordBatch/RecordBatchReader,
        anything with ``__arrow_c_stream__``, a pandas DataFrame, a list of row dicts, a dict
        of columns). Columns are matched by name and cast as ``append`` casts them;
        :class:`SchemaError` (unknown or duplicate column, missing required column, null in a
        required column, a value that does not fit) before the file is complete, and a
        partial file is removed. No rows: no files (``[]``)."""
        with self.writer() as w:
            w.write(data)
        return w.files

    def _to_arrow(self, data: Any) -> Iterator[pa.Table]:
        """``data`` as Arrow tables (a stream stays a stream)."""
        from ._records import records_to_arrow
        from .table import _failing_column, _from_pandas, _is_pandas_frame

        if isinstance(data, pa.Table):
            yield data
        elif isinstance(data, pa.RecordBatch):
            yield pa.Table.from_batches([data])
        elif _is_pandas_frame(data):
            yield _from_pandas(data)
        elif hasattr(data, "__arrow_c_stream__"):
            reader = pa.RecordBatchReader.from_stream(data)
            for batch in reader:
                yield pa.Table.from_batches([batch])
        elif hasattr(data, "__arrow_c_array__"):
            yield pa.Table.from_batches([pa.record_batch(data)])
        elif isinstance(data, list):
            view = self._schema_view()
            yield records_to_arrow(data, view.schema, view.arrow)
        elif isinstance(data, Mapping):
            try:
                yield pa.table(dict(data))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
                raise SchemaError(f"cannot build columns from the dict given: {_failing_column(data)}{e}") from None
        else:
            raise InvalidArgumentError(
                "write takes Arrow data (anything with __arrow_c_stream__: pyarrow, polars, DuckDB), "
                f"a pandas DataFrame, a list of row dicts or a dict of columns; got {type(data).__name__}"
            )

    def _new_path(self) -> str:
        return os.path.join(self.data_dir, f"{self._append_id}-{_uuid.uuid4().hex}.parquet")

    # -- committing (one process) --------------------------------------------------------------

    def _open_table(self) -> "Table":
        if self._table is None:
            from .table import load_table

            self._table = load_table(self._location)
        return self._table

    def commit(
        self, files: Iterable[WrittenFile | str], commit_key: str | None = None, *, durability: str | None = None
    ) -> int | None:
        """Add ``files`` (the :class:`WrittenFile` records the workers returned, or their
        paths) to the table in ONE snapshot; return its id (None when there are no files).

        ``commit_key``: an idempotency key, as ``Table.append`` takes it: a commit whose key
        is already in the table is not applied again and returns the earlier snapshot's id.
        ``durability``: ``"fsync"`` or ``"process"`` for this commit (the files are flushed
        with it). Appends never conflict with other writers' commits.

        The engine reads each file once to take its column statistics. Errors leave the table
        unchanged and the files where they are (commit again, or :meth:`abort`):
        ``InvalidArgumentError`` for a file that is missing, outside the table or already in
        it; ``SchemaError`` for a file that no longer fits the table's schema."""
        paths = []
        for f in files if not isinstance(files, (str, os.PathLike, WrittenFile)) else [files]:
            if isinstance(f, WrittenFile):
                paths.append(f.path)
            elif isinstance(f, (str, os.PathLike)):
                paths.append(os.fspath(f))
            else:
                raise InvalidArgumentError(f"commit takes WrittenFile records or paths, got {f!r}")
        if commit_key is not None and (not isinstance(commit_key, str) or not commit_key):
            raise InvalidArgumentError(f"commit_key must be a non-empty string, got {commit_key!r}")
        table = self._open_table()
        table.refresh()
        _check_unpartitioned(table)
        if commit_key is not None:
            # A retry after a commit that landed: its files are in the table now, and the
            # engine's append_files would refuse them before it looked at the key.
            for snap in table._core.snapshots():
                if dict(snap.get("summary") or {}).get("datashard.commit-key") == commit_key:
                    self._committed = True
                    self._deduplicated = True
                    return int(snap["snapshot_id"])
        self._deduplicated = False
        if not paths:
            return None
        tx = table.new_transaction(commit_key=commit_key, durability=durability)
        tx.begin()
        try:
            tx.append_files(paths)
        except BaseException:
            tx.rollback()  # never deletes the files given
            raise
        tx.commit()
        self._committed = True
        return tx.snapshot_id

    def abort(self, files: Iterable[WrittenFile | str] | None = None) -> int:
        """Delete files of this append that were never committed; return how many.

        ``files``: those to delete; None: every file in the data directory whose name starts
        with this append's id (the files of every worker, including ones whose results were
        lost). A file the current snapshot references is never deleted. Call it instead of
        :meth:`commit`, not after one: after a commit (by this object) it raises
        ``RuntimeError``. Workers still writing when it runs leave files that only the orphan
        cleanup removes."""
        if self._committed:
            raise RuntimeError("this append was committed; its files belong to the table now")
        if files is None:
            paths = self._own_files()
        else:
            paths = [f.path if isinstance(f, WrittenFile) else os.fspath(f) for f in files]
        if not paths:
            return 0
        table = self._open_table()
        table.refresh()
        live = {_local(d["file_path"]) for d in table.data_files()}
        deleted = 0
        for path in paths:
            if path in live or _local(path) in live:
                continue
            try:
                os.remove(path)
                deleted += 1
            except FileNotFoundError:
                pass
        return deleted


    def _own_files(self) -> list[str]:
        """Every file in the data directory named as this append's."""
        prefix = self._append_id + "-"
        try:
            names = os.listdir(self.data_dir)
        except FileNotFoundError:
            return []
        return [os.path.join(self.data_dir, n) for n in names if n.startswith(prefix) and n.endswith(".parquet")]

    def _remove_strays(self, committed: Iterable[WrittenFile | str]) -> int:
        """After a successful commit of ``committed``: delete this append's other files (of
        task attempts whose results were lost, e.g. a retried task), which nothing references."""
        keep = {f.path if isinstance(f, WrittenFile) else os.fspath(f) for f in committed}
        removed = 0
        for path in self._own_files():
            if path not in keep:
                try:
                    os.remove(path)
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed


class FileWriter:
    """Writes a stream of Arrow data as data files of one :class:`DistributedAppend`.

    Row groups of up to the table's ``write.parquet.row-group-limit`` rows (and at most
    128 MiB or the target file size buffered), a new file once one reaches the target size, the table's
    compression codec, page checksums: the files the engine itself would write."""

    def __init__(self, append: DistributedAppend) -> None:
        self._append = append
        self._buffer: list[pa.Table] = []
        self._buffered_rows = 0
        self._buffered_bytes = 0
        self._writer: pq.ParquetWriter | None = None
        self._sink: Any = None
        self._path: str | None = None
        self._rows_in_file = 0
        self._closed = False
        # Buffered (decoded) bytes that make a row group: never more than a file may hold.
        self._max_buffer = min(_ROW_GROUP_BYTES, append._target_file_size)
        #: the files completed so far (all of them after ``close()``)
        self.files: list[WrittenFile] = []

    def write(self, data: Any) -> "FileWriter":
        """Add ``data`` (anything :meth:`DistributedAppend.write` takes)."""
        if self._closed:
            raise RuntimeError("this FileWriter is closed")
        append = self._append
        schema = append.arrow_schema
        required = append._required()
        try:
            for table in append._to_arrow(data):
                if table.num_rows == 0:
                    continue
                conformed = _conform(table, schema, required)
                self._buffer.append(conformed)
                self._buffered_rows += conformed.num_rows
                self._buffered_bytes += conformed.nbytes
                while self._buffered_rows >= append._row_group_rows or self._buffered_bytes >= self._max_buffer:
                    self._flush(final=False)
        except BaseException:
            self.discard()
            raise
        return self

    def _flush(self, final: bool) -> None:
        if not self._buffered_rows:
            return
        append = self._append
        table = pa.concat_tables(self._buffer)
        rows = min(table.num_rows, append._row_group_rows)
        chunk, rest = table.slice(0, rows), table.slice(rows)
        if self._writer is None:
            tiny = final and not rest.num_rows and chunk.nbytes < _TINY_FILE_BYTES
            os.makedirs(append.data_dir, exist_ok=True)
            self._path = append._new_path()
            self._sink = pa.OSFile(self._path, "wb")
            self._writer = pq.ParquetWriter(
                self._sink,
                append.arrow_schema,
                # A handful of rows: as the engine, no codec and no dictionary.
                compression="none" if tiny else append._codec,
                use_dictionary=not tiny,
                write_page_checksum=True,
                store_schema=False,
            )
        self._writer.write_table(chunk, row_group_size=append._row_group_rows)
        self._rows_in_file += chunk.num_rows
        self._buffer = [rest] if rest.num_rows else []
        self._buffered_rows = rest.num_rows
        self._buffered_bytes = rest.nbytes if rest.num_rows else 0
        if self._sink.tell() >= append._target_file_size:
            self._finish_file()

    def _finish_file(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._sink.close()
        assert self._path is not None
        self.files.append(WrittenFile(self._path, self._rows_in_file, os.path.getsize(self._path)))
        self._writer, self._sink, self._path, self._rows_in_file = None, None, None, 0

    def close(self) -> list[WrittenFile]:
        """Write what is buffered, finish the file; return every file written."""
        if not self._closed:
            try:
                while self._buffered_rows:
                    self._flush(final=True)
                self._finish_file()
            except BaseException:
                self.discard()
                raise
            self._closed = True
        return self.files

    def discard(self) -> None:
        """Stop: delete every file this writer wrote (none is committed yet)."""
        self._closed = True
        self._buffer, self._buffered_rows, self._buffered_bytes = [], 0, 0
        if self._writer is not None:
            try:
                self._writer.close()
                self._sink.close()
            except Exception:  # noqa: BLE001  (removing it anyway)
                pass
        for path in [f.path for f in self.files] + ([self._path] if self._path else []):
            try:
                os.remove(path)
            except OSError:
                pass
        self.files = []
        self._writer, self._sink, self._path = None, None, None

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


# -- helpers -----------------------------------------------------------------------------------


def _local(path: str) -> str:
    if path.startswith("file://"):
        return path[len("file://") :]
    if path.startswith("file:"):
        return path[len("file:") :]
    return path


def _check_unpartitioned(table: "Table") -> None:
    spec = table.spec()
    if spec.fields:
        raise NotImplementedError(
            f"new_append supports unpartitioned tables only; {table.location} is partitioned "
            f"(partition fields: {', '.join(f'{f.name} = {f.transform}' for f in spec.fields)}). "
            "The engine's append_files derives no partition values from a file, so it would copy every "
            "row of every worker's file again in the committing process. Append from each worker with "
            "table.append(...) (one commit each), or to one snapshot through a single process."
        )


def new_append(table: "Table", target_file_size: int | None = None) -> DistributedAppend:
    """:meth:`Table.new_append` (see there)."""
    location = table.location
    if "://" in location and not location.startswith("file:"):
        raise NotImplementedError(
            f"new_append writes with pyarrow to a local file system; {location} is on object storage, "
            "where the engine's own writer and credentials are needed. Use table.append(...) per worker."
        )
    table.refresh()
    _check_unpartitioned(table)
    if target_file_size is not None and (
        isinstance(target_file_size, bool) or not isinstance(target_file_size, int) or target_file_size < 1
    ):
        raise InvalidArgumentError(f"target_file_size must be a positive int (bytes), got {target_file_size!r}")
    props = table.properties
    codec = _CODECS.get(props.get("write.parquet.compression-codec", _DEFAULT_CODEC).lower(), _DEFAULT_CODEC)
    try:
        row_group_rows = max(1, int(props.get("write.parquet.row-group-limit", _DEFAULT_ROW_GROUP_ROWS)))
    except ValueError:
        row_group_rows = _DEFAULT_ROW_GROUP_ROWS
    if target_file_size is None:
        try:
            target_file_size = int(props.get("write.target-file-size-bytes", _DEFAULT_TARGET_FILE_SIZE))
        except ValueError:
            target_file_size = _DEFAULT_TARGET_FILE_SIZE
    return DistributedAppend(
        _local(location),
        table._core.schema_json(),
        codec=codec,
        row_group_rows=row_group_rows,
        target_file_size=max(1, target_file_size),
    )

