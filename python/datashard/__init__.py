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

import logging as _logging

# The extension links the libarrow that ships inside pyarrow; importing pyarrow first loads it.
import pyarrow as _pyarrow  # noqa: F401

from . import _core  # fails here, clearly, if the extension is missing
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


__version__: str = _version()
__author__ = "datashard contributors"

logger = _logging.getLogger("datashard")

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
