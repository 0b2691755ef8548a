"""``datashard.metadata_manager``: the original package's module path for its commit errors.

Code written for the original imports ``ConcurrentModificationException`` and
``TableExistsError`` from here; they are datashard's own classes. ``MetadataManager``,
the original's internal metadata reader and committer, is importable but not usable:
the engine reads and commits metadata.
"""

from ._original_internals import original_internal
from .errors import AmbiguousCommitError, ConcurrentModificationException, SchemaMismatchError, TableExistsError

__all__ = [
    "AmbiguousCommitError",
    "ConcurrentModificationException",
    "MetadataManager",
    "SchemaMismatchError",
    "TableExistsError",
]

MetadataManager = original_internal(
    "metadata_manager",
    "MetadataManager",
    "read a table's state with Table.current_snapshot(), snapshots(), properties and metadata_location; "
    "change it with a transaction or Table.set_properties()",
)
