"""delta-rs (``deltalake``) on the local filesystem."""

from __future__ import annotations

import importlib.metadata as md

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

UNSUPPORTED: dict[str, str] = {}


def versions() -> dict:
    return {"deltalake": md.version("deltalake"), "pyarrow": pa.__version__}


def create(path: str, schema: pa.Schema) -> None:
    DeltaTable.create(path, schema=schema)


def bulk_write(path: str, table: pa.Table) -> None:
    write_deltalake(path, table)


class _Writer:
    def __init__(self, path: str) -> None:
        self.path = path

    def append(self, table: pa.Table):
        # The usual call; write_deltalake reads the log's tail to find the next version.
        write_deltalake(self.path, table, mode="append")

    def version(self):
        return DeltaTable(self.path).version()


def open_writer(path: str) -> _Writer:
    return _Writer(path)


def read(path: str, id_range=None, columns=None, version=None) -> pa.Table:
    dt = DeltaTable(path, version=version) if version is not None else DeltaTable(path)
    filters = None if id_range is None else [("id", ">=", id_range[0]), ("id", "<=", id_range[1])]
    return dt.to_pyarrow_table(columns=columns, filters=filters)


def stream(path: str, batch_size: int):
    return DeltaTable(path).to_pyarrow_dataset().to_batches(batch_size=batch_size)


def lookup_write(path: str, table: pa.Table) -> None:
    bulk_write(path, table)


def lookup(path: str, query: dict) -> pa.Table:
    dt = DeltaTable(path)
    if "key" in query:
        return dt.to_pyarrow_table(filters=[("key", "=", query["key"])])
    # disjunctive normal form: a list of AND-ed lists, OR-ed
    return dt.to_pyarrow_table(filters=[[("id", ">=", lo), ("id", "<=", hi)] for lo, hi in query["ranges"]])
