"""datashard: ACID appends, time travel and safe concurrent writes on Apache Iceberg v2 tables.

A table is a directory holding a real Iceberg v2 table (Parquet data, Avro
manifests, JSON metadata); any Iceberg reader can open it. The engine is C++
(``datashard._core``); this package is its Python front, and a drop-in for the
original pure-Python ``datashard``::

    from datashard import create_table, Schema

    schema = Schema(schema_id=1, fields=[
        {"id": 1, "name": "user_id", "type": "long", "required": True},
        {"id": 2, "name": "event", "type": "string", "required": True},
    ])
    table = create_table("/data/events", schema)      # opens it if it exists
    table.append_records([{"user_id": 1, "event": "login"}], schema)
    rows = table.scan(filter={"event": "login"})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

try:
    # An installed extension finds the libarrow that ships inside pyarrow by its RUNPATH,
    # without pyarrow's Python modules (loaded only when a call needs them: see _lazy).
    from . import _core
except ImportError:
    # A build-tree extension, or a pyarrow installed elsewhere: importing pyarrow loads
    # its libarrow first. Fails here, clearly, if the extension itself is missing.
    import pyarrow as _pyarrow  # noqa: F401

    from . import _core

from .data_structures import DataFile, FileFormat
from .errors import (
    AmbiguousCommitError,
    ConcurrentModificationException,
    CorruptDataError,
    DatashardError,
    DatashardIOError,
    FilterTypeError,
    GarbageCollectionAborted,
    InvalidArgumentError,
    SchemaError,
    SchemaMismatchError,
    TableExistsError,
    TableNotFoundError,
)
from .expressions import col, parse_where
from .filters import FilterExpression, FilterOp, parse_filter_dict
from .partitioning import PartitionField, PartitionSpec, SortField, SortOrder
from .scan import Scan
from .schema import Schema
from .schema_update import UpdateSchema
from .snapshot import Snapshot
from .table import Table, create_table, load_table
from .transaction import Transaction


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("datashard")
    except PackageNotFoundError:
        return "0+unknown"


def table_properties() -> dict[str, tuple[str | None, str, str]]:
    """The table properties datashard reads, from the engine's one registry, as
    ``{key: (default, values, doc)}``: ``default`` is what a table without the property
    uses (``None``: only datashard sets it), ``values`` what :meth:`Table.set_properties`
    accepts for it, ``doc`` what it does. A key ending in ``*`` names a family of keys.
    Keys not listed are stored as given and never read (other Iceberg engines' properties)."""
    return dict(_core.table_properties())


# Made on first use (module __getattr__): importing importlib.metadata costs about 20 ms and
# logging about 9, more than a short-lived writer's whole commit.
__version__: str
logger: logging.Logger


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = value = _version()
        return value
    if name == "logger":
        import logging

        globals()["logger"] = found = logging.getLogger("datashard")
        return found
    raise AttributeError(f"module 'datashard' has no attribute {name!r}")


__author__ = "datashard contributors"

__all__ = [
    "create_table",
    "load_table",
    "Table",
    "Transaction",
    "Schema",
    "PartitionSpec",
    "PartitionField",
    "SortOrder",
    "SortField",
    "Snapshot",
    "DataFile",
    "FileFormat",
    "FilterOp",
    "FilterExpression",
    "parse_filter_dict",
    "col",
    "parse_where",
    "table_properties",
    "Scan",
    "UpdateSchema",
    "DatashardError",
    "TableExistsError",
    "TableNotFoundError",
    "SchemaError",
    "SchemaMismatchError",
    "InvalidArgumentError",
    "FilterTypeError",
    "ConcurrentModificationException",
    "AmbiguousCommitError",
    "CorruptDataError",
    "DatashardIOError",
    "GarbageCollectionAborted",
    "__version__",
    "__author__",
]
