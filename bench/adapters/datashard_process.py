"""datashard (this checkout) with ``durability="process"``: commits survive the death of any
process (kill -9) but not a power cut or kernel crash, because nothing is flushed to disk.
Measured in the commit workload only, beside the default durable mode."""

from __future__ import annotations

import functools

from adapters import datashard as _datashard
from adapters.datashard import UNSUPPORTED, data_paths, open_writer, read, stream, versions  # noqa: F401

PROPERTIES = {"datashard.commit.durability": "process"}

create = functools.partial(_datashard.create, properties=PROPERTIES)
bulk_write = functools.partial(_datashard.bulk_write, properties=PROPERTIES)
