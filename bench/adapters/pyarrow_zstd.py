"""The floor with datashard's codec: pyarrow's own Parquet writer with zstd at Arrow's default
level, the codec and level datashard writes (the pyarrow floor uses pyarrow's default, snappy).
Measured in the bulk workload only."""

from __future__ import annotations

import os

import pyarrow.parquet as pq

from adapters.pyarrow import UNSUPPORTED, create, open_writer, read, stream, versions  # noqa: F401


def bulk_write(path: str, table) -> None:
    os.makedirs(path, exist_ok=True)
    pq.write_table(table, os.path.join(path, "part-0.parquet"), compression="zstd")
