"""datashard (this checkout) with rows in group-commit intents off (table property
``datashard.commit.group-rows=false``; on by default): every append writes and flushes its own
data file and manifest, even one that another writer's group commit applies. Measured in the
commit workload only, beside the default mode."""

from __future__ import annotations

import functools

from adapters import datashard as _datashard
from adapters.datashard import UNSUPPORTED, data_paths, open_writer, read, stream, versions  # noqa: F401

PROPERTIES = {"datashard.commit.group-rows": "false"}

create = functools.partial(_datashard.create, properties=PROPERTIES)
bulk_write = functools.partial(_datashard.bulk_write, properties=PROPERTIES)
