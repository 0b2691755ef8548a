"""``datashard.integrity``: where the original package kept ``CorruptDataError``.

Reads check what they read and raise :class:`CorruptDataError` for a damaged file;
``Table.verify()`` re-reads a whole snapshot.
"""

from .errors import CorruptDataError

__all__ = ["CorruptDataError"]
