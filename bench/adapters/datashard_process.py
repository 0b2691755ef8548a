"""datashard (this checkout) with ``durability="process"``: commits survive the death of any
process (kill -9) but not a power cut or kernel crash, because nothing is flushed to disk.
Measured in the commit workload only, beside the default durable mode."""

from __future__ import annotations

import pyarrow as pa

import datashard
from adapters.datashard import UNSUPPORTED, data_paths, open_writer, read, stream, versions  # noqa: F401

PROPERTIES = {"datashard.commit.durability": "process"}


def create(path: str, schema: pa.Schema) -> None:
    datashard.create_table(path, schema, properties=PROPERTIES)


def bulk_write(path: str, table: pa.Table) -> None:
    t = datashard.create_table(path, table.schema, properties=PROPERTIES)
    t.append(table)
