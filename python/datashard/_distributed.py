"""Where distributed appends lived before they got their public module; kept so that
``from datashard._distributed import DistributedAppend, WrittenFile`` goes on working.
See :mod:`datashard.distributed`."""

from __future__ import annotations

from .distributed import DistributedAppend, FileWriter, WrittenFile, new_append

__all__ = ["DistributedAppend", "WrittenFile", "FileWriter", "new_append"]
