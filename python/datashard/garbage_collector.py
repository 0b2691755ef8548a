"""``datashard.garbage_collector``: where the original package kept its garbage collector.

Code written for the original imports ``GarbageCollectionAborted`` from here, and some
builds a ``GarbageCollector`` itself instead of calling ``table.garbage_collect()``. Both
keep working; the collection is the engine's orphan removal
(:meth:`datashard.Table.remove_orphan_files`), run through ``Table.garbage_collect``.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import GarbageCollectionAborted

__all__ = [
    "GarbageCollector",
    "GarbageCollectionAborted",
    "DEFAULT_INFLIGHT_TIMEOUT_MS",
    "MIN_GRACE_PERIOD_MS",
]

#: The original's shortest grace period without ``allow_short_grace`` (5 minutes). datashard
#: accepts shorter ones too (see docs/compatibility.md); the constant stays for code that uses it.
MIN_GRACE_PERIOD_MS = 5 * 60 * 1000

#: The original's age after which an in-flight marker counted as abandoned (24 hours).
#: datashard has no markers: files a writer has not committed yet are protected by the
#: grace period alone, so this value is accepted and not used.
DEFAULT_INFLIGHT_TIMEOUT_MS = 24 * 3600 * 1000


class GarbageCollector:
    """The original's ``GarbageCollector(table_path, metadata_manager, file_manager)``.

    ``table`` is a :class:`~datashard.Table` or a table path; the original's manager
    arguments are accepted and ignored (datashard has no such objects).
    """

    def __init__(self, table: Any, metadata_manager: Any = None, file_manager: Any = None) -> None:
        from .table import Table, load_table

        self.table = table if isinstance(table, Table) else load_table(os.fspath(table))
        self.table_path = self.table.table_path

    def collect(
        self,
        grace_period_ms: int = 3600000,
        inflight_timeout_ms: int = DEFAULT_INFLIGHT_TIMEOUT_MS,
        allow_short_grace: bool = False,
    ) -> dict[str, int]:
        """Delete the files no snapshot references that are older than ``grace_period_ms``;
        see :meth:`datashard.Table.garbage_collect`. Raises :class:`GarbageCollectionAborted`
        (nothing deleted) when a reachable manifest or manifest list cannot be read."""
        return self.table.garbage_collect(grace_period_ms, allow_short_grace=allow_short_grace)
