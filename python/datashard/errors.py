"""Typed errors of datashard.

Every error the package raises on purpose derives from :class:`DatashardError`.
Each one also derives from the builtin exception a caller of the original
pure-Python package already catches (as pyarrow does with ``ArrowInvalid(ValueError)``),
so ``except ValueError`` around a bad append or ``except FileNotFoundError``
around ``load_table`` keeps working.

The C++ extension (``datashard._core``) looks these classes up here by name and
raises them for the matching engine status codes; keep the names stable.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

__all__ = [
    "DatashardError",
    "TableExistsError",
    "SchemaMismatchError",
    "TableNotFoundError",
    "SchemaError",
    "InvalidArgumentError",
    "FilterTypeError",
    "ConcurrentModificationException",
    "AmbiguousCommitError",
    "CorruptDataError",
    "DatashardIOError",
    "GarbageCollectionAborted",
]


class DatashardError(Exception):
    """Base class of every error datashard raises on purpose."""


class TableExistsError(DatashardError, FileExistsError):
    """A table already exists at the path (or exists with a different schema)."""


class TableNotFoundError(DatashardError, FileNotFoundError, ValueError):
    """No table at the path.

    Also a ``ValueError`` because the original ``load_table`` raised
    ``ValueError("No Iceberg table found at ...")``.
    """


class SchemaError(DatashardError, ValueError):
    """Data or a schema does not fit: wrong type, missing required field, unknown column."""


class SchemaMismatchError(TableExistsError, SchemaError):
    """``create_table`` found a table at the path whose schema differs from the one given
    (0.11.2's name): both a :class:`TableExistsError`, as there, and a :class:`SchemaError`."""


class InvalidArgumentError(DatashardError, ValueError):
    """An argument is malformed (a bad filter operator, a None filter value, ...)."""


class FilterTypeError(SchemaError, InvalidArgumentError):
    """A filter compares a column with a value of another type (``col("name") < 5`` on a
    string column). Both a :class:`SchemaError` and an :class:`InvalidArgumentError`."""


class ConcurrentModificationException(DatashardError):
    """A commit could not be applied after its retries because other writers kept winning,
    or a concurrent change conflicts with what this commit replaces."""


class AmbiguousCommitError(DatashardError):
    """The outcome of a commit is unknown (an I/O error after publishing started).

    The data files are kept: the commit may have succeeded. Re-read the table to find out.
    """


class CorruptDataError(DatashardError):
    """A file of the table is unreadable, fails a checksum, or points outside the table."""


class DatashardIOError(DatashardError, OSError):
    """An operating-system or storage error while reading or writing the table."""


class GarbageCollectionAborted(DatashardError, RuntimeError):
    """Garbage collection stopped without deleting anything because it could not prove
    that a file is unreachable (kept for compatibility with the original package)."""


_DETAIL = re.compile(r"\s*Detail: ([A-Za-z]+)\.?\s*$")


def typed_from_arrow(error: BaseException) -> "DatashardError | None":
    """The datashard error an Arrow error carries, if any.

    An engine error raised inside a stream that pyarrow consumes through the Arrow C
    interface reaches Python as ``pyarrow.ArrowInvalid``/``ArrowIOError`` whose message
    ends in ``Detail: <ClassName>``; this rebuilds the typed error from it.
    """
    text = str(error)
    match = _DETAIL.search(text)
    cls = globals().get(match.group(1)) if match else None
    if match is not None and isinstance(cls, type) and issubclass(cls, DatashardError):
        return cls(text[: match.start()].strip())
    return None


def typed_batches(reader: Any) -> Any:
    """``reader`` (a ``pyarrow.RecordBatchReader``) re-raising engine errors as their
    datashard classes."""
    import pyarrow as pa

    def batches() -> Iterator[Any]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowException as e:
                typed = typed_from_arrow(e)
                if typed is None:
                    raise
                raise typed from None
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches())
