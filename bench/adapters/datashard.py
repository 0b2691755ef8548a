"""datashard (this checkout): the C++ engine through its public Python API."""

from __future__ import annotations

import os

import pyarrow as pa

import datashard

UNSUPPORTED: dict[str, str] = {}


def versions() -> dict:
    return {
        "datashard": getattr(datashard, "__version__", "?"),
        "datashard_module": os.path.dirname(datashard.__file__),
        "pyarrow": pa.__version__,
    }


def create(path: str, schema: pa.Schema, properties: dict | None = None) -> None:
    datashard.create_table(path, schema, properties=properties)


def bulk_write(path: str, table: pa.Table, properties: dict | None = None) -> None:
    t = datashard.create_table(path, table.schema, properties=properties)
    t.append(table)


class _Writer:
    def __init__(self, path: str) -> None:
        self.table = datashard.load_table(path)

    def append(self, table: pa.Table):
        return self.table.append(table)

    def version(self):
        snap = self.table.current_snapshot()
        return None if snap is None else snap.snapshot_id


def open_writer(path: str) -> _Writer:
    return _Writer(path)


def _filter(id_range):
    if id_range is None:
        return None
    lo, hi = id_range
    return {"id": ("between", (lo, hi))}


def read(path: str, id_range=None, columns=None, version=None) -> pa.Table:
    t = datashard.load_table(path)
    return t.to_arrow(columns=columns, filter=_filter(id_range), snapshot_id=version)


def count_rows(path: str, version) -> int:
    """Rows of a version from its metadata alone (finds the snapshot, reads its manifest list)."""
    return datashard.load_table(path).row_count(snapshot_id=version)


def stream(path: str, batch_size: int):
    t = datashard.load_table(path)
    return t.to_batches(batch_size=batch_size)


def data_paths(path: str) -> list[str]:
    """The Parquet files of the current snapshot (for pyarrow to read the same files)."""
    return list(datashard.load_table(path).parquet_paths())


def lookup_write(path: str, table: pa.Table) -> None:
    """The lookup table as a datashard user who looks rows up writes it: a bloom filter on
    ``key`` (the table property Iceberg names) and row groups of 65,536 rows, the unit a
    lookup reads (the default, 1,048,576, suits full scans)."""
    bulk_write(path, table, properties={"write.parquet.bloom-filter-enabled.column.key": "true",
                                        "write.parquet.row-group-limit": "65536"})


def lookup(path: str, query: dict) -> pa.Table:
    t = datashard.load_table(path)
    if "key" in query:
        return t.take([query["key"]], by="key")
    (a, b), (c, d) = query["ranges"]
    return t.to_arrow(filter=datashard.col("id").between(a, b) | datashard.col("id").between(c, d))
