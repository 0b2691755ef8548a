"""The original pure-Python ``datashard`` package (latest PyPI release), in its own venv."""

from __future__ import annotations

import importlib.metadata as md

import pyarrow as pa

import datashard

UNSUPPORTED: dict[str, str] = {"lookup": "0.11.2 filters are AND-ed lists only (no OR)"}

_TYPES = {
    pa.int64(): "long",
    pa.int32(): "int",
    pa.float64(): "double",
    pa.string(): "string",
    pa.timestamp("us"): "timestamp",
}


def versions() -> dict:
    return {"datashard (PyPI)": md.version("datashard"), "pyarrow": pa.__version__}


def _schema(schema: pa.Schema) -> datashard.Schema:
    fields = [
        {"id": i + 1, "name": f.name, "type": _TYPES[f.type], "required": not f.nullable}
        for i, f in enumerate(schema)
    ]
    return datashard.Schema(schema_id=1, fields=fields)


def create(path: str, schema: pa.Schema) -> None:
    datashard.create_table(path, _schema(schema))


def bulk_write(path: str, table: pa.Table) -> None:
    t = datashard.create_table(path, _schema(table.schema))
    t.append_arrow(table)


class _Writer:
    def __init__(self, path: str) -> None:
        self.table = datashard.load_table(path)

    def append(self, table: pa.Table):
        self.table.append_arrow(table)

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
    # parallel=True: the documented "all cores" setting, as a user after speed would pass.
    return t.to_arrow(columns=columns, filter=_filter(id_range), parallel=True, snapshot_id=version)


def stream(path: str, batch_size: int):
    # Its only streaming reads yield Python objects: scan_batches gives lists of row dicts.
    t = datashard.load_table(path)
    return t.scan_batches(batch_size=batch_size)
