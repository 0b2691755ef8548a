"""datashard (this checkout) with rows in group-commit intents off (table property
``datashard.commit.group-rows=false``; on by default): every append writes and flushes its own
data file and manifest, even one that another writer's group commit applies. Measured in the
commit workload only, beside the default mode."""

from __future__ import annotations

import pyarrow as pa

import datashard
from adapters.datashard import UNSUPPORTED, data_paths, open_writer, read, stream, versions  # noqa: F401

PROPERTIES = {"datashard.commit.group-rows": "false"}


def create(path: str, schema: pa.Schema) -> None:
    datashard.create_table(path, schema, properties=PROPERTIES)


def bulk_write(path: str, table: pa.Table) -> None:
    t = datashard.create_table(path, table.schema, properties=PROPERTIES)
    t.append(table)
