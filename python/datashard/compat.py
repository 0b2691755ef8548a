"""Names that exist only for the original pure-Python package's users, in one place.

``OriginalTableAPI`` is mixed into :class:`~datashard.table.Table` and
``OriginalTransactionAPI`` into :class:`~datashard.transaction.Transaction`: the methods
and attributes the original (0.7 and 0.11.2) offered that the modern API spells
differently (``append_data``, ``append_arrow``, the list-of-dict reads, ``time_travel``,
``garbage_collect``, ``tag``, the queued maintenance of a transaction, ...), and the
results that read both as the original's values and as the modern API's dicts. Each
delegates to the modern API or makes one engine call; none holds table logic.
docs/compatibility.md lists where the behaviour deliberately differs, and why.

In the package's stack this module sits with the operations (it imports only the
leaf helpers, ``_convert`` and ``scan``), so that ``transaction`` can mix it in; it never
imports ``table``.
"""

from __future__ import annotations

import os
import uuid as _uuid
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence, TypeVar

from ._lazy import lazy_module
from ._convert import Parallel, TableInput, check_durability, positive_int, property_updates
from ._when import NO_AGE_LIMIT_MS, When, now_ms
from .data_structures import DataFile
from .errors import CorruptDataError, DatashardIOError, GarbageCollectionAborted, InvalidArgumentError, SchemaError
from .filters import FilterLike
from .progress import activity
from .scan import Scan
from .schema import Schema
from .snapshot import Snapshot

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pa = lazy_module("pyarrow")
    pc = lazy_module("pyarrow.compute")

_Tx = TypeVar("_Tx", bound="OriginalTransactionAPI")

__all__ = [
    "CompactManifestsResult",
    "ExpireSnapshotsResult",
    "OriginalTableAPI",
    "OriginalTransactionAPI",
    "SetPropertiesResult",
    "TableProperties",
    "UuidTextStream",
    "to_rows",
    "uuid_as_text",
]


def _table_relative(file_path: str, location: str) -> str:
    """``file_path`` relative to the table ``location``, with a leading slash (``/data/x.parquet``),
    as the original package recorded data file paths."""
    for prefix in (location, "file://" + location, "file:" + location):
        if file_path.startswith(prefix + "/"):
            return file_path[len(prefix) :]
    return file_path


def _uuid_text_array(array: pa.Array) -> pa.Array:
    """16-byte uuids as their canonical text (``6ba7b810-9dad-11d1-80b4-00c04fd430c8``)."""
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy comes with pandas and most pyarrow installs
        return pa.array([None if v is None else str(_uuid.UUID(bytes=v)) for v in array.to_pylist()], pa.string())
    n = len(array)
    if n == 0 or array.null_count == n:
        return pa.nulls(n, pa.string())
    data = np.frombuffer(array.buffers()[1], dtype=np.uint8)[array.offset * 16 : (array.offset + n) * 16]
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    pairs = data.reshape(n, 16)
    hex_digits = np.stack([digits[pairs >> 4], digits[pairs & 15]], axis=2).reshape(n, 32)
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _UUID_DIGIT_POSITIONS] = hex_digits
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(36), n, [None, pa.py_buffer(text.tobytes())])
    strings = fixed.cast(pa.binary()).cast(pa.string())
    return strings if array.null_count == 0 else pc.if_else(array.is_valid(), strings, None)


_UUID_DIGIT_POSITIONS = [i for i in range(36) if i not in (8, 13, 18, 23)]


def uuid_as_text(data: Any, uuid_columns: Any) -> Any:
    """``data`` (a ``pyarrow.Table`` or ``RecordBatch``) with its uuid columns (named in
    ``uuid_columns``, stored as 16 bytes) as strings.

    The original package's read API returned uuids as text (``to_arrow``, ``to_pandas``,
    ``scan``, the iterators, ``sql`` and ``to_duckdb``), and so do those methods here. The
    modern API (``new_scan()``, ``to_batches()``, ``pa.table(t)``) keeps Iceberg's uuid: 16
    bytes, ``fixed_size_binary(16)``, which is what Arrow engines and PyIceberg exchange.
    """
    names = [c for c in uuid_columns if c in data.schema.names]
    for name in names:
        i = data.schema.get_field_index(name)
        field = data.schema.field(i)
        if field.type != pa.binary(16):
            continue
        column = data.column(i)
        if isinstance(column, pa.ChunkedArray):
            text: Any = pa.chunked_array([_uuid_text_array(c) for c in column.chunks], pa.string())
        else:
            text = _uuid_text_array(column)
        data = data.set_column(i, pa.field(name, pa.string(), field.nullable, field.metadata), text)
    return data


class UuidTextStream:
    """A :class:`~datashard.scan.Scan` read with its uuid columns as text: what the original
    API's ``to_duckdb()`` and ``sql()`` register in DuckDB. Re-readable like the scan."""

    def __init__(self, scan: Any, uuid_columns: Any) -> None:
        self._scan = scan
        self._uuid_columns = tuple(uuid_columns)

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        reader = self._scan.to_batches()
        schema = uuid_as_text(reader.schema.empty_table(), self._uuid_columns).schema
        batches = (uuid_as_text(batch, self._uuid_columns) for batch in reader)
        return pa.RecordBatchReader.from_batches(schema, batches).__arrow_c_stream__(requested_schema)

    def to_duckdb(self, view_name: str = "t", connection: Any = None) -> Any:
        return Scan.to_duckdb(self, view_name, connection)  # type: ignore[arg-type]

    def sql(self, query: str, alias: str = "t") -> pa.Table:
        return Scan.sql(self, query, alias)  # type: ignore[arg-type]


def to_rows(data: pa.Table | pa.RecordBatch, uuid_columns: Sequence[str]) -> list[dict[str, Any]]:
    """Rows as the original's list-of-dict reads return them: dicts, uuids as text."""
    data = uuid_as_text(data, uuid_columns)
    try:
        return data.to_pylist()  # type: ignore[no-any-return]
    except (OverflowError, ValueError) as e:
        raise SchemaError(
            f"a value does not fit a Python object ({e}), e.g. a date or timestamp beyond year "
            "9999; read these rows with to_arrow(), to_pandas() or to_polars() instead"
        ) from None


# -- results that read as the original's and as the modern API's -------------------------------
#
# Where 0.11.2 returned a bare value (a method's dict, a bool, an int) and the modern API
# documents a dict, the result is one object that is both, so code written for either works.


class TableProperties(dict):  # type: ignore[type-arg]
    """``Table.properties``: the table's properties as a ``dict[str, str]``.

    The modern spelling reads it as an attribute (``t.properties["owner"]``); 0.11.2's
    ``properties`` was a method, so calling it (``t.properties()``) returns a plain ``dict``
    copy too.
    """

    def __call__(self) -> dict[str, str]:
        return dict(self)


class SetPropertiesResult(TableProperties):
    """``Table.set_properties``'s result: the properties now in force (a dict, the modern
    API), and true like the ``True`` 0.11.2 returned (the commit happened; a refused update
    raises), even when no property is left: ``assert t.set_properties(...)`` and
    ``t.set_properties(...) == True`` hold."""

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool):
            return other
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]


class CompactManifestsResult(dict):  # type: ignore[type-arg]
    """``Table.compact_manifests``'s result: ``{"snapshot_id", "rewritten_manifests",
    "added_manifests"}`` (the modern API), and true exactly when a compaction was committed,
    as 0.11.2's bool: ``if t.compact_manifests():``, ``== True`` / ``== False`` behave as
    that bool did. Only ``is True`` cannot: the result is not the ``True`` object."""

    def __bool__(self) -> bool:
        return self.get("snapshot_id") is not None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool):
            return bool(self) is other
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None


class ExpireSnapshotsResult(dict):  # type: ignore[type-arg]
    """``Table.expire_snapshots``'s result: the report the modern API documents, a ``dict``
    (``r["expired_snapshot_ids"]``, ``json.dumps(r)``, ``r["k"] = v``), that also behaves as
    the ``int`` 0.11.2 returned, the number of snapshots expired: ``r == 4``, ``r > 0``,
    ``r + 1``, ``int(r)``, ``"%d" % r``, ``if r:`` (true when any expired), and as text
    (``str(r)``, ``f"{r}"``) the count; ``repr(r)`` shows both. Compared with a mapping it
    compares the report. Not an ``int`` instance."""

    @property
    def count(self) -> int:
        """How many snapshots expired (or would, on a dry run)."""
        return len(self.get("expired_snapshot_ids") or ())

    def __int__(self) -> int:
        return self.count

    __index__ = __int__

    def __bool__(self) -> bool:
        return self.count > 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict.__eq__(self, other)
        if isinstance(other, (int, float)):
            return self.count == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None

    def __lt__(self, other: Any) -> bool:
        return self.count < other  # type: ignore[no-any-return]

    def __le__(self, other: Any) -> bool:
        return self.count <= other  # type: ignore[no-any-return]

    def __gt__(self, other: Any) -> bool:
        return self.count > other  # type: ignore[no-any-return]

    def __ge__(self, other: Any) -> bool:
        return self.count >= other  # type: ignore[no-any-return]

    def __add__(self, other: Any) -> Any:
        return self.count + other

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return self.count - other

    def __rsub__(self, other: Any) -> Any:
        return other - self.count

    def __str__(self) -> str:
        return str(self.count)

    def __format__(self, spec: str) -> str:
        return format(self.count, spec)

    def __repr__(self) -> str:
        return f"ExpireSnapshotsResult({self.count}, {dict.__repr__(self)})"


class OriginalTableAPI:
    """The original package's ``Table`` names, over the modern ones."""

    # Provided by Table.
    _core: Any
    _input: TableInput

    if TYPE_CHECKING:

        @property
        def location(self) -> str: ...

    # -- schema and snapshots ------------------------------------------------------------------

    def _get_current_schema(self, metadata: Any = None) -> Schema:  # name used by the original package's docs
        """The current schema; ``metadata`` (the original's parsed metadata) is ignored."""
        return self.schema()  # type: ignore[attr-defined, no-any-return]

    def time_travel(self, snapshot_id: int | None = None, timestamp: When | None = None) -> Snapshot | None:
        """The snapshot by id, or the one current at ``timestamp`` (epoch ms, datetime, ISO
        string; see :meth:`snapshot_as_of`), or the current one with no argument; None if there
        is none. Like the original, this returns the snapshot, not data: read its data with
        ``scan(snapshot_id=s.snapshot_id)``, ``to_arrow(as_of=...)`` or :meth:`read_as_of`."""
        if snapshot_id is not None:
            return self.snapshot_by_id(snapshot_id)  # type: ignore[attr-defined, no-any-return]
        if timestamp is not None:
            return self.snapshot_as_of(timestamp)  # type: ignore[attr-defined, no-any-return]
        return self.current_snapshot()  # type: ignore[attr-defined, no-any-return]

    def tag(self, name: str, snapshot_id: int | None = None) -> None:
        """Same as :meth:`create_tag`: name a snapshot, e.g. ``table.tag("run-42-epoch-3")``
        after a training epoch; Spark and other Iceberg engines read it as a tag ref."""
        self.create_tag(name, snapshot_id)  # type: ignore[attr-defined]

    # -- writes --------------------------------------------------------------------------------

    def append_records(
        self,
        records: Sequence[Mapping[str, Any]],
        schema: Schema | pa.Schema | None = None,
        partition_values: Mapping[str, Any] | None = None,
        *,
        durability: str | None = None,
    ) -> bool:
        """Append row dicts in one commit (the original's name; ``append(records)`` is the modern
        one). Returns True.

        ``schema``, if given, must agree with the table's by column names, types and required
        flags. ``partition_values`` is accepted for compatibility: partition values come from
        the data, so on a partitioned table giving them is an :class:`InvalidArgumentError`
        (they would be ignored), and on an unpartitioned one they are ignored.
        ``durability``: for this commit, as in :meth:`append`.

        Raises SchemaError naming the row (0-based) and field for an unknown key, a missing or
        None required field, a value of the wrong type or NaN in a non-float column; nothing is
        written then.
        """
        durability = check_durability(durability)
        self._input.check_partition_values(partition_values)
        table = self._input.records(records, schema)
        self._core.append(table, None, durability)
        return True

    def append_arrow(self, data: Any, schema: Schema | pa.Schema | None = None) -> bool:
        """Append Arrow data in one commit (0.11.2 name; see :meth:`append`). ``schema``, as in
        0.11.2: the schema a table created without one takes (instead of the data's), else it
        must match the table's (``SchemaError`` naming the difference). Returns True."""
        if schema is not None:
            self._input.given_schema(schema)
        self.append(data)  # type: ignore[attr-defined]
        return True

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
        self.add_files(files)  # type: ignore[attr-defined]
        return True

    def append_pandas(self, df: "pd.DataFrame", schema: Schema | pa.Schema | None = None) -> bool:
        """Append a pandas DataFrame in one commit (the index is not stored). Returns True."""
        self._core.append(self._input.pandas(df, schema), None)
        return True

    # -- reads as lists of dicts ---------------------------------------------------------------

    def scan(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002
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
        data = self.to_arrow(  # type: ignore[attr-defined]
            columns=columns, filter=filter, parallel=parallel, snapshot_id=snapshot_id, limit=limit,
            as_of=as_of, ref=ref,
        )
        return to_rows(data, self._input.view().uuid_columns)

    def scan_batches(
        self,
        batch_size: int = 10000,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002
        verify_checksums: bool | str | None = None,
        snapshot_id: int | None = None,
        parallel: Parallel = False,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield lists of row dicts of at most ``batch_size`` rows, holding one batch at a time."""
        reader = self.to_batches(  # type: ignore[attr-defined]
            columns=columns, filter=filter, snapshot_id=snapshot_id, parallel=parallel, batch_size=batch_size,
            as_of=as_of, ref=ref,
        )
        for batch in reader:
            if batch.num_rows:
                yield to_rows(batch, self._input.view().uuid_columns)

    def iter_records(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002
        verify_checksums: bool | str | None = None,
        snapshot_id: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield row dicts one at a time."""
        for batch in self.scan_batches(1000, columns, filter, snapshot_id=snapshot_id, as_of=as_of, ref=ref):
            yield from batch

    def iter_pandas(
        self,
        chunksize: int = 50000,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002
        verify_checksums: bool | str | None = None,
        snapshot_id: int | None = None,
        *,
        as_of: When | None = None,
        ref: str | None = None,
    ) -> Iterator["pd.DataFrame"]:
        """Yield DataFrames of at most ``chunksize`` rows (uuid columns as text)."""
        uuids = self._input.view().uuid_columns
        reader = self.to_batches(  # type: ignore[attr-defined]
            columns=columns, filter=filter, snapshot_id=snapshot_id, parallel=False, batch_size=chunksize,
            as_of=as_of, ref=ref,
        )
        for batch in reader:
            if batch.num_rows:
                yield uuid_as_text(batch, uuids).to_pandas()

    # -- maintenance ---------------------------------------------------------------------------

    def garbage_collect(self, grace_period_ms: int = 3600000, allow_short_grace: bool = False) -> dict[str, int]:
        """The original package's name for :meth:`remove_orphan_files`: delete unreachable files
        older than ``grace_period_ms`` (default one hour).

        ``allow_short_grace`` is 0.11.2's opt-in for a grace period under five minutes; it is
        accepted and not needed here (docs/compatibility.md says why).

        Returns ``{"data_files": n, "manifest_files": n, "manifest_lists": n, "other_files": n}``
        (the original's three keys, with manifest lists now counted apart). Raises
        :class:`GarbageCollectionAborted` if it cannot prove a file unreachable because a
        reachable manifest or manifest list cannot be read (then nothing is deleted).
        """
        grace = positive_int(grace_period_ms, "grace_period_ms", minimum=0)
        try:
            r = self.remove_orphan_files(now_ms() - grace)  # type: ignore[attr-defined]
        except (CorruptDataError, DatashardIOError) as e:
            raise GarbageCollectionAborted(
                f"garbage collection of {self.location} stopped: it could not read what the table "
                f"references ({e}). Run verify() to find the damaged file."
            ) from e
        return {k: int(r[k]) for k in ("data_files", "manifest_files", "manifest_lists", "other_files")}

    # -- the original's internals its users call -----------------------------------------------

    @property
    def created(self) -> bool:
        """True when the call that opened this handle created the table (``create_table`` or
        ``Table(path)``), False when the table was there already; exact under racing creators."""
        return bool(self._core.created())

    def _get_all_data_files(self, metadata: Any = None, snapshot_id: int | None = None) -> list[Any]:
        """The data files of a snapshot (default: the current one) as :class:`DataFile` objects:
        the original's helper, which its docs and users call. ``metadata`` is accepted and
        ignored (it was the original's parsed metadata)."""
        files_table = getattr(self._core, "files_table", None)
        if files_table is None:  # an engine built before files_table: paths and counts only
            return [
                DataFile(
                    file_path=d["file_path"],
                    record_count=int(d["record_count"]),
                    file_size_in_bytes=int(d["file_size_in_bytes"]),
                )
                for d in self.data_files(snapshot_id)  # type: ignore[attr-defined]
            ]
        self._core.refresh()
        sid = snapshot_id if snapshot_id is not None else self._core.current_snapshot_id()
        if sid is None:
            return []
        rows = pa.RecordBatchReader.from_stream(files_table(sid)).read_all()
        uuids = {str(f["id"]) for f in self.schema().fields if f["type"] == "uuid"}  # type: ignore[attr-defined]
        location = self.location.rstrip("/")
        by_id = {f["id"]: f for f in self.schema().fields}  # type: ignore[attr-defined]
        uuid_partitions = {  # identity of a uuid column: the value is the uuid, shown as text
            p.name
            for p in self.spec().fields  # type: ignore[attr-defined]
            if p.transform == "identity" and by_id.get(p.source_id, {}).get("type") == "uuid"
        }

        def partition(values: dict[str, Any]) -> dict[str, Any]:
            return {
                k: (str(_uuid.UUID(bytes=v)) if k in uuid_partitions else v)
                for k, v in values.items()
                if v is not None
            }

        def bounds(values: dict[str, Any]) -> dict[int, Any]:
            # The original's bounds: by field id, a uuid as its text.
            return {
                int(k): (str(_uuid.UUID(bytes=v)) if k in uuids else v) for k, v in values.items() if v is not None
            }

        return [
            DataFile(
                # As the original recorded it: relative to the table, with a leading slash.
                file_path=_table_relative(row["file_path"], location),
                partition_values=partition(row["partition"] or {}),
                record_count=row["record_count"],
                file_size_in_bytes=row["file_size_in_bytes"],
                lower_bounds=bounds(row["lower_bounds"] or {}),
                upper_bounds=bounds(row["upper_bounds"] or {}),
            )
            for row in rows.to_pylist()
        ]

    def duckdb_s3_secret_sql(self, name: str = "datashard_s3") -> str:
        """The ``CREATE SECRET`` statement that lets DuckDB's httpfs read this table's bucket
        (e.g. the files of :meth:`parquet_paths`) with the endpoint and credentials datashard
        uses: ``DATASHARD_S3_*`` first, then the AWS variables; without keys, DuckDB's own
        credential chain. Only for tables on S3 (else ``InvalidArgumentError``, a ValueError)."""
        if not self.location.startswith("s3://"):
            raise InvalidArgumentError(f"duckdb_s3_secret_sql() applies to tables on S3 only; {self.location} is local")

        def env(*names: str) -> str:
            return next((os.environ[n].strip() for n in names if os.environ.get(n, "").strip()), "")

        def quote(value: str) -> str:
            return "'" + value.replace("'", "''") + "'"

        region = env("DATASHARD_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION") or "us-east-1"
        parts = ["TYPE S3", f"REGION {quote(region)}", "URL_STYLE 'path'"]
        endpoint = env("DATASHARD_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
        if endpoint:
            scheme, sep, host = endpoint.partition("://")
            if not sep:
                scheme, host = "https", endpoint
            parts.append(f"ENDPOINT {quote(host.rstrip('/'))}")
            parts.append(f"USE_SSL {'false' if scheme.lower() == 'http' else 'true'}")
        key = env("DATASHARD_S3_ACCESS_KEY", "AWS_ACCESS_KEY_ID")
        secret = env("DATASHARD_S3_SECRET_KEY", "AWS_SECRET_ACCESS_KEY")
        if key and secret:
            parts.append(f"KEY_ID {quote(key)}")
            parts.append(f"SECRET {quote(secret)}")
            token = env("AWS_SESSION_TOKEN")
            if token:
                parts.append(f"SESSION_TOKEN {quote(token)}")
        else:
            parts.append("PROVIDER credential_chain")
        return f"CREATE OR REPLACE SECRET {name} (" + ", ".join(parts) + ");"

    def _get_data_files_from_manifest(self) -> list[Any]:
        """The original's alias of :meth:`_get_all_data_files` for the current snapshot."""
        return self._get_all_data_files()

    def repair_version_hint(self, metadata_file: str) -> None:
        """0.11.2's operator action on its ``version-hint.text``. datashard writes no version
        hint (readers find the newest ``v<N>.metadata.json`` themselves, so there is nothing to
        repair): raises ``NotImplementedError`` saying so, rather than pretending to move it."""
        raise NotImplementedError(
            f"repair_version_hint({metadata_file!r}): datashard keeps no version hint; readers "
            "always find the newest v<N>.metadata.json, so nothing needs repairing. To read an "
            "older state, pass snapshot_id= (or as_of=) to the read, or tag it with create_tag()."
        )

    def relocate(self) -> dict[str, int]:
        """0.11.2's rewrite of a moved table's recorded location. Not available here: raises
        ``NotImplementedError`` (docs/compatibility.md, "Deliberate differences")."""
        raise NotImplementedError(
            "relocate() is not supported: datashard records absolute paths and opens a table "
            "only at its recorded location; copy a table with another Iceberg tool's "
            "register/rewrite, or re-create it and append its data"
        )



class OriginalTransactionAPI:
    """The original package's ``Transaction`` names, over the modern ones."""

    # Provided by Transaction.
    _core: Any
    _input: TableInput
    _after_commit: list[Callable[[], Any]]

    def _active(self) -> Any:
        raise NotImplementedError

    def _for_append(self, convert: Callable[[], Any]) -> tuple[Any, Any]:
        raise NotImplementedError

    def _filters(self, where: FilterLike) -> list[Any] | None:
        raise NotImplementedError

    # -- appends -------------------------------------------------------------------------------

    def append_data(
        self: _Tx,
        records: Sequence[Mapping[str, Any]],
        schema: Schema | pa.Schema | None = None,
        partition_values: Mapping[str, Any] | None = None,
    ) -> _Tx:
        """Write row dicts now; publish them at commit. Same checks as ``Table.append_records``
        (SchemaError naming row and field, nothing written). ``partition_values``: as in
        ``Table.append_records`` (refused on a partitioned table, else ignored)."""
        self._input.check_partition_values(partition_values)
        tx, data = self._for_append(lambda: self._input.records(records, schema))
        tx.append(data)
        return self

    append_records = append_data

    def append_pandas(self: _Tx, df: "pd.DataFrame", schema: Schema | pa.Schema | None = None) -> _Tx:
        """Write a pandas DataFrame now; publish it at commit."""
        tx, data = self._for_append(lambda: self._input.pandas(df, schema))
        tx.append(data)
        return self

    def append_arrow(
        self: _Tx,
        data: Any,
        schema: Schema | pa.Schema | None = None,
        partition_values: Mapping[str, Any] | None = None,
    ) -> _Tx:
        """Write Arrow data now; publish it at commit (0.11.2's name and keywords). ``schema``:
        the schema a table created without one takes, else checked against the table's (as
        ``Table.append_arrow``); ``partition_values``: as in ``Table.append_records``."""
        self._input.check_partition_values(partition_values)

        def convert() -> Any:
            if schema is not None:
                self._input.given_schema(schema)
            return self._input.data(data)

        tx, arrow = self._for_append(convert)
        tx.append(arrow)
        return self

    # -- deletes -------------------------------------------------------------------------------

    def overwrite_by_filter(self: _Tx, filter: FilterLike, data: Any = None) -> _Tx:  # noqa: A002
        """The original package's name (which always raised ``NotImplementedError``): delete the
        rows matching the ``filter`` dict and, if ``data`` is given, append it in their place.
        Returns the transaction.

        A Python callable is refused with ``TypeError``: the engine evaluates filters itself and
        cannot call back into Python per row. Select the rows with a filter dict instead, or
        read them with :meth:`scan` and delete them by key.
        """
        if callable(filter) and not isinstance(filter, Mapping):
            raise TypeError(
                "overwrite_by_filter takes a filter dict such as {\"status\": \"stale\"} or "
                "{\"ts\": (\"<\", cutoff)}, not a Python callable: the engine cannot run a Python "
                "function per row. Read the rows with tx.scan(), then tx.delete(where) or "
                "tx.overwrite(data, where) with a filter that selects them."
            )
        tx = self._active()
        filters = self._filters(filter)
        if data is None:
            tx.delete(filters)
        else:
            tx.overwrite(self._input.data(data), filters)
        return self

    # -- maintenance, queued: each a commit of its own right after the transaction's -----------

    def expire_snapshots(self: _Tx, older_than_ms: int | None = None, retain_last: int | None = None) -> _Tx:
        """The original package's call: after this transaction commits, expire the snapshots
        committed before ``older_than_ms`` (an **absolute** epoch-milliseconds cut-off, as in
        the original, not an age) and not among the newest ``retain_last``; at least one of the
        two is needed. The current snapshot, tagged snapshots and branch heads always stay. It
        runs as its own commit right after this transaction's (the engine has no expiry inside
        a data commit), and, unlike the original, also deletes the files only the expired
        snapshots used. ``Table.expire_snapshots(older_than=...)`` is the direct form. Returns
        the transaction."""
        self._active()
        if older_than_ms is None and retain_last is None:
            raise InvalidArgumentError("expire_snapshots needs older_than_ms and/or retain_last")
        if older_than_ms is not None and (
            isinstance(older_than_ms, bool) or not isinstance(older_than_ms, (int, float))
        ):
            raise InvalidArgumentError(
                f"older_than_ms must be epoch milliseconds (an absolute time), got {older_than_ms!r}"
            )
        cutoff = NO_AGE_LIMIT_MS if older_than_ms is None else int(older_than_ms)
        keep = 1 if retain_last is None else positive_int(retain_last, "retain_last")

        def expire() -> None:
            with activity("expiring snapshots"):
                self._core.expire_snapshots(cutoff, keep, False)

        self._after_commit.append(expire)
        return self

    def set_properties(self: _Tx, properties: Mapping[str, Any]) -> _Tx:
        """The original package's call: after this transaction commits, set table properties
        (a ``None`` value removes one), as ``Table.set_properties`` does, in a commit of its own
        right after this transaction's. Returns the transaction."""
        self._active()
        if not isinstance(properties, Mapping) or not all(isinstance(k, str) and k for k in properties):
            raise InvalidArgumentError(f"set_properties takes a dict of property names to values, got {properties!r}")
        updates, removals = property_updates(properties)
        self._after_commit.append(lambda: self._core.set_properties(updates, removals))
        return self

    def compact_manifests(self: _Tx) -> _Tx:
        """The original package's call: after this transaction commits, merge the manifests
        (``Table.compact_manifests``, a commit of its own; nothing is committed when there is
        nothing to merge). Returns the transaction."""
        self._active()

        def merge() -> None:
            with activity("merging manifests"):
                self._core.rewrite(None)

        self._after_commit.append(merge)
        return self

    # -- reads ---------------------------------------------------------------------------------

    def scan(
        self,
        columns: Sequence[str] | None = None,
        filter: FilterLike = None,  # noqa: A002
        parallel: Parallel = False,
        verify_checksums: bool | str | None = None,
    ) -> list[dict[str, Any]]:
        """Rows of the base snapshot as a list of dicts, as ``Table.scan`` returns them."""
        data = self.to_arrow(columns, filter, parallel)  # type: ignore[attr-defined]
        return to_rows(data, self._input.view().uuid_columns)
