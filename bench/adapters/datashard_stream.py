"""datashard (this checkout) appending a stream: the bulk table handed over as a
``pyarrow.RecordBatchReader`` of 65,536-row batches, which the engine consumes batch by batch
(bounded memory) and commits in one snapshot. Measured in the bulk workload only."""

from __future__ import annotations

import pyarrow as pa

import datashard
from adapters.datashard import UNSUPPORTED, create, data_paths, open_writer, read, stream, versions  # noqa: F401

BATCH_ROWS = 65_536


def bulk_write(path: str, table: pa.Table) -> None:
    t = datashard.create_table(path, table.schema)
    t.append(pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=BATCH_ROWS)))
