"""Lance (``pylance``): its own columnar format and manifests, on the local filesystem."""

from __future__ import annotations

import importlib.metadata as md

import lance
import pyarrow as pa

UNSUPPORTED: dict[str, str] = {}


def versions() -> dict:
    return {"pylance": md.version("pylance"), "pyarrow": pa.__version__}


def create(path: str, schema: pa.Schema) -> None:
    lance.write_dataset(schema.empty_table(), path)


def bulk_write(path: str, table: pa.Table) -> None:
    lance.write_dataset(table, path)


class _Writer:
    def __init__(self, path: str) -> None:
        self.path = path

    def append(self, table: pa.Table):
        return lance.write_dataset(table, self.path, mode="append").version

    def version(self):
        return lance.dataset(self.path).version


def open_writer(path: str) -> _Writer:
    return _Writer(path)


def read(path: str, id_range=None, columns=None, version=None) -> pa.Table:
    ds = lance.dataset(path, version=version)
    flt = None if id_range is None else f"id >= {int(id_range[0])} AND id <= {int(id_range[1])}"
    return ds.to_table(columns=columns, filter=flt)


def count_rows(path: str, version) -> int:
    """Rows of a version from its manifest alone (fragment row counts)."""
    return lance.dataset(path, version=version).count_rows()


def stream(path: str, batch_size: int):
    return lance.dataset(path).to_batches(batch_size=batch_size)


def lookup_write(path: str, table: pa.Table) -> None:
    bulk_write(path, table)


def lookup(path: str, query: dict) -> pa.Table:
    ds = lance.dataset(path)
    if "key" in query:
        return ds.to_table(filter=f"key = '{query['key']}'")
    return ds.to_table(filter=" OR ".join(f"(id >= {int(lo)} AND id <= {int(hi)})" for lo, hi in query["ranges"]))
