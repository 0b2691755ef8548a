"""``datashard.disk_utils``: the original package's free-disk-space guard, importable only.

The engine reports a full disk as a typed I/O error (``DatashardIOError``, an ``OSError``)
when a write fails, and a failed write never becomes part of the table.
"""

from ._original_internals import original_internal_function

__all__ = ["check_disk_space"]

check_disk_space = original_internal_function(
    "disk_utils",
    "check_disk_space",
    "write normally: a write that fails for lack of space raises DatashardIOError (an OSError) "
    "and leaves the table unchanged",
)
