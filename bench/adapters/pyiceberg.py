"""PyIceberg with its SQL catalog on SQLite (catalog.db beside the warehouse in ``path``)."""

from __future__ import annotations

import importlib.metadata as md
import os

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual, LessThanOrEqual, Or

UNSUPPORTED: dict[str, str] = {}
_IDENT = "bench.t"


def versions() -> dict:
    return {"pyiceberg": md.version("pyiceberg"), "sqlalchemy": md.version("sqlalchemy"), "pyarrow": pa.__version__}


def _catalog(path: str) -> SqlCatalog:
    os.makedirs(os.path.join(path, "warehouse"), exist_ok=True)
    return SqlCatalog(
        "bench",
        uri=f"sqlite:///{os.path.join(path, 'catalog.db')}",
        warehouse=f"file://{os.path.join(path, 'warehouse')}",
    )


def _create(path: str, schema: pa.Schema):
    cat = _catalog(path)
    cat.create_namespace_if_not_exists("bench")
    return cat.create_table(_IDENT, schema=schema)


def create(path: str, schema: pa.Schema) -> None:
    _create(path, schema)


def bulk_write(path: str, table: pa.Table) -> None:
    _create(path, table.schema).append(table)


class _Writer:
    def __init__(self, path: str) -> None:
        self.table = _catalog(path).load_table(_IDENT)

    def append(self, table: pa.Table):
        self.table.append(table)

    def version(self):
        snap = self.table.current_snapshot()
        return None if snap is None else snap.snapshot_id


def open_writer(path: str) -> _Writer:
    return _Writer(path)


def read(path: str, id_range=None, columns=None, version=None) -> pa.Table:
    t = _catalog(path).load_table(_IDENT)
    kwargs = {}
    if id_range is not None:
        kwargs["row_filter"] = And(GreaterThanOrEqual("id", id_range[0]), LessThanOrEqual("id", id_range[1]))
    if columns is not None:
        kwargs["selected_fields"] = tuple(columns)
    if version is not None:
        kwargs["snapshot_id"] = version
    return t.scan(**kwargs).to_arrow()


def stream(path: str, batch_size: int):
    # to_arrow_batch_reader has no batch-size knob; batches are what the Parquet reader yields.
    return _catalog(path).load_table(_IDENT).scan().to_arrow_batch_reader()


def lookup_write(path: str, table: pa.Table) -> None:
    bulk_write(path, table)


def lookup(path: str, query: dict) -> pa.Table:
    t = _catalog(path).load_table(_IDENT)
    if "key" in query:
        return t.scan(row_filter=EqualTo("key", query["key"])).to_arrow()
    (a, b), (c, d) = query["ranges"]
    between = [And(GreaterThanOrEqual("id", lo), LessThanOrEqual("id", hi)) for lo, hi in ((a, b), (c, d))]
    return t.scan(row_filter=Or(*between)).to_arrow()
