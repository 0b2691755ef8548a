"""Names the original package kept in ``datashard.data_structures``, for code that imports
them from there. ``DataFile`` and ``FileFormat`` describe files; the engine writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .partitioning import PartitionField, PartitionSpec, SortField, SortOrder
from .schema import Schema
from .snapshot import Snapshot

__all__ = [
    "DataFile",
    "FileFormat",
    "ManifestContent",
    "PartitionField",
    "PartitionSpec",
    "Schema",
    "Snapshot",
    "SortField",
    "SortOrder",
]


class ManifestContent(Enum):
    """What an Iceberg manifest lists (spec: ``content`` of a manifest file)."""

    DATA = 0
    DELETES = 1


class FileFormat(str, Enum):
    """Data file formats. datashard writes and reads PARQUET."""

    PARQUET = "PARQUET"
    AVRO = "AVRO"
    ORC = "ORC"


@dataclass
class DataFile:
    """A data file of a snapshot (see ``Table.data_files()``).

    ``lower_bounds``/``upper_bounds`` (column bounds by field id) are what the original's
    ``prune_files_by_bounds`` reads; files datashard reports leave them None (scans prune by
    the manifests' own bounds)."""

    file_path: str
    file_format: FileFormat = FileFormat.PARQUET
    partition_values: dict[str, Any] = field(default_factory=dict)
    record_count: int = 0
    file_size_in_bytes: int = 0
    lower_bounds: dict[int, Any] | None = None
    upper_bounds: dict[int, Any] | None = None
