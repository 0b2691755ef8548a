"""The floor: plain Parquet files written and read by pyarrow, with no table format at all.

A "commit" is one more Parquet file in the directory (no atomicity, no versions, no
conflict handling); a read lists the directory. For the scan workload the runner also has
pyarrow read datashard's own data files (``files=`` below), as issue 4 asks.
"""

from __future__ import annotations

import os
import uuid

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

UNSUPPORTED = {
    "timetravel": "plain Parquet files have no versions",
}


def versions() -> dict:
    return {"pyarrow": pa.__version__}


def create(path: str, schema: pa.Schema) -> None:
    os.makedirs(path, exist_ok=True)


def bulk_write(path: str, table: pa.Table) -> None:
    os.makedirs(path, exist_ok=True)
    pq.write_table(table, os.path.join(path, "part-0.parquet"))


class _Writer:
    def __init__(self, path: str) -> None:
        self.path = path

    def append(self, table: pa.Table):
        pq.write_table(table, os.path.join(self.path, f"{uuid.uuid4().hex}.parquet"))

    def version(self):
        return None


def open_writer(path: str) -> _Writer:
    return _Writer(path)


def _source(path: str, files):
    return list(files) if files else path


def read(path: str, id_range=None, columns=None, version=None, files=None) -> pa.Table:
    if version is not None:
        raise NotImplementedError(UNSUPPORTED["timetravel"])
    filters = None if id_range is None else [("id", ">=", id_range[0]), ("id", "<=", id_range[1])]
    return pq.read_table(_source(path, files), columns=columns, filters=filters)


def stream(path: str, batch_size: int, files=None):
    return pads.dataset(_source(path, files), format="parquet").to_batches(batch_size=batch_size)


def lookup_write(path: str, table: pa.Table) -> None:
    bulk_write(path, table)


def lookup(path: str, query: dict) -> pa.Table:
    if "key" in query:
        return pq.read_table(path, filters=[("key", "=", query["key"])])
    return pq.read_table(path, filters=[[("id", ">=", lo), ("id", "<=", hi)] for lo, hi in query["ranges"]])
