"""datashard (this checkout) with rows in group-commit intents on (table property
``datashard.commit.group-rows=true``, off by default): a small durable append that finds other
writers committing hands its rows to the next leader instead of writing and flushing a data
file and manifest of its own. Measured in the commit workload only, beside the default mode."""

from __future__ import annotations

import pyarrow as pa

import datashard
from adapters.datashard import UNSUPPORTED, data_paths, open_writer, read, stream, versions  # noqa: F401

PROPERTIES = {"datashard.commit.group-rows": "true"}


def create(path: str, schema: pa.Schema) -> None:
    datashard.create_table(path, schema, properties=PROPERTIES)


def bulk_write(path: str, table: pa.Table) -> None:
    t = datashard.create_table(path, table.schema, properties=PROPERTIES)
    t.append(table)
