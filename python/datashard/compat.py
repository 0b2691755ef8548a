"""Names that exist only for the original pure-Python package's users.

``OriginalTableAPI`` is mixed into :class:`~datashard.table.Table`: the methods and
attributes the original (0.7 and 0.11.2) offered on its ``Table`` that the modern API
spells differently. Each delegates to the modern API; none holds table logic.
docs/compatibility.md lists where the behaviour deliberately differs, and why.
"""

from __future__ import annotations

import os
import uuid as _uuid
from typing import Any, Mapping

import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CompactManifestsResult",
    "ExpireSnapshotsResult",
    "OriginalTableAPI",
    "SetPropertiesResult",
    "TableProperties",
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
        from .scan import Scan

        return Scan.to_duckdb(self, view_name, connection)  # type: ignore[arg-type]

    def sql(self, query: str, alias: str = "t") -> pa.Table:
        from .scan import Scan

        return Scan.sql(self, query, alias)  # type: ignore[arg-type]


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

    __hash__ = None  # type: ignore[assignment]


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

    __hash__ = None  # type: ignore[assignment]

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

    @property
    def created(self) -> bool:
        """True when the call that opened this handle created the table (``create_table`` or
        ``Table(path)``), False when the table was there already; exact under racing creators."""
        return bool(self._core.created())  # type: ignore[attr-defined]

    def _get_all_data_files(self, metadata: Any = None, snapshot_id: int | None = None) -> list[Any]:
        """The data files of a snapshot (default: the current one) as :class:`DataFile` objects:
        the original's helper, which its docs and users call. ``metadata`` is accepted and
        ignored (it was the original's parsed metadata)."""
        from .data_structures import DataFile

        files_table = getattr(self._core, "files_table", None)  # type: ignore[attr-defined]
        if files_table is None:  # an engine built before files_table: paths and counts only
            return [
                DataFile(
                    file_path=d["file_path"],
                    record_count=int(d["record_count"]),
                    file_size_in_bytes=int(d["file_size_in_bytes"]),
                )
                for d in self.data_files(snapshot_id)  # type: ignore[attr-defined]
            ]
        self._core.refresh()  # type: ignore[attr-defined]
        sid = snapshot_id if snapshot_id is not None else self._core.current_snapshot_id()  # type: ignore[attr-defined]
        if sid is None:
            return []
        rows = pa.RecordBatchReader.from_stream(files_table(sid)).read_all()
        uuids = {str(f["id"]) for f in self.schema().fields if f["type"] == "uuid"}  # type: ignore[attr-defined]
        location = self.location.rstrip("/")  # type: ignore[attr-defined]
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
        from .errors import InvalidArgumentError

        if not self.location.startswith("s3://"):  # type: ignore[attr-defined]
            raise InvalidArgumentError(
                f"duckdb_s3_secret_sql() applies to tables on S3 only; {self.location} is local"  # type: ignore[attr-defined]
            )

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
