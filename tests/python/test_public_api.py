"""The package's public names, written down as they were before the package was re-layered
(issue 21): a name that disappears, or a method whose positional parameters move, fails here.

The lists are literals on purpose. Adding a name is fine (add it here too if it is meant to
stay); removing or renaming one is a break for the original package's users and for ours.
Method signatures are recorded as their parameter names: plain names are positional (their
order is checked: the original API passes many arguments by position), ``name=`` is
keyword-only, ``*args`` / ``**kwargs`` are variadic. A new keyword-only parameter, or a new
positional one after the recorded ones, does not fail the test.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

import datashard

TOP_LEVEL_ALL = [
    "AmbiguousCommitError", "ConcurrentModificationException", "CorruptDataError", "DataFile", "DatashardError",
    "DatashardIOError", "FileFormat", "FilterExpression", "FilterOp", "FilterTypeError", "GarbageCollectionAborted",
    "InvalidArgumentError", "PartitionField", "PartitionSpec", "Scan", "Schema", "SchemaError",
    "SchemaMismatchError", "Snapshot", "SortField", "SortOrder", "Table", "TableExistsError", "TableNotFoundError",
    "Transaction", "UpdateSchema", "__author__", "__version__", "col", "create_table", "load_table",
    "parse_filter_dict", "parse_where", "table_properties",
]

# Importable as datashard.<name> once the package is imported (besides __all__).
TOP_LEVEL_OTHER = ["logger"]

# Modules users import by path (ours and the original package's), with their __all__.
MODULES = {
    "cli": ["main", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_CORRUPT"],
    "compat": [
        "CompactManifestsResult", "ExpireSnapshotsResult", "OriginalTableAPI", "SetPropertiesResult",
        "TableProperties", "uuid_as_text",
    ],
    "data_structures": [
        "DataFile", "FileFormat", "ManifestContent", "PartitionField", "PartitionSpec", "Schema", "Snapshot",
        "SortField", "SortOrder",
    ],
    "demo": ["run_demo", "read_counter", "MODES"],
    "disk_utils": ["check_disk_space"],
    "errors": [
        "DatashardError", "TableExistsError", "SchemaMismatchError", "TableNotFoundError", "SchemaError",
        "InvalidArgumentError", "FilterTypeError", "ConcurrentModificationException", "AmbiguousCommitError",
        "CorruptDataError", "DatashardIOError", "GarbageCollectionAborted",
    ],
    "expressions": ["col", "Column", "Expr", "parse_where"],
    "filters": [
        "FilterOp", "FilterExpression", "FilterLike", "parse_filter_dict", "parse_filter", "to_core_filters",
        "to_pyarrow_compute_expression", "prune_files_by_bounds",
    ],
    "garbage_collector": [
        "GarbageCollector", "GarbageCollectionAborted", "DEFAULT_INFLIGHT_TIMEOUT_MS", "MIN_GRACE_PERIOD_MS",
    ],
    "history": ["TableHistory"],
    "iceberg": ["Table", "create_table", "load_table"],
    "integrity": ["CorruptDataError"],
    "maintenance": ["TableMaintenance", "DEFAULT_TARGET_FILE_SIZE"],
    "metadata_manager": [
        "AmbiguousCommitError", "ConcurrentModificationException", "MetadataManager", "SchemaMismatchError",
        "TableExistsError",
    ],
    "partitioning": [
        "PartitionField", "PartitionSpec", "SortField", "SortOrder", "UnsupportedTransform", "murmur3_32",
        "transform_function",
    ],
    "progress": ["Progress", "activity", "progress_enabled"],
    "ray": ["read_datashard", "DatashardDatasource", "DatashardDatasink"],
    "scan": ["Scan", "SnapshotNames"],
    "schema": ["Schema", "PRIMITIVE_TYPES", "normalize_type"],
    "schema_update": ["UpdateSchema", "TableSchemaEvolution"],
    "snapshot": ["Snapshot"],
    "storage_backend": ["LocalStorageBackend", "S3StorageBackend"],
    "table": ["Table", "create_table", "load_table"],
    "torch": ["FileShare", "IterableDataset", "plan_shards"],
    "transaction": ["Transaction", "ISOLATION_LEVELS"],
}

# "property", "attribute" (a class attribute or dataclass field), or the parameters (see the
# module docstring). Table keeps three underscore names the original's docs and users call.
TABLE = {
    "_get_all_data_files": "metadata snapshot_id",
    "_get_current_schema": "metadata",
    "_get_data_files_from_manifest": "",
    "add_column": "name type doc",
    "add_files": "files commit_key=",
    "append": "data commit_key= durability=",
    "append_arrow": "data schema",
    "append_data": "files",
    "append_pandas": "df schema",
    "append_records": "records schema partition_values durability=",
    "arrow_schema": "",
    "changes": "from_snapshot to_snapshot columns= net=",
    "compact": "target_file_size manifests=",
    "compact_manifests": "",
    "create_branch": "name snapshot_id",
    "create_tag": "name snapshot_id",
    "created": "property",
    "current_snapshot": "",
    "data_files": "snapshot_id as_of= ref=",
    "delete": "where retries=",
    "drop_branch": "name",
    "drop_column": "name",
    "drop_tag": "name",
    "duckdb_s3_secret_sql": "name",
    "expire_snapshots": "older_than retain_last dry_run older_than_ms= compact_manifests=",
    "garbage_collect": "grace_period_ms allow_short_grace",
    "head": "n columns snapshot_id filter= as_of= ref=",
    "history": "limit ref=",
    "iter_pandas": "chunksize columns filter verify_checksums snapshot_id as_of= ref=",
    "iter_records": "columns filter verify_checksums snapshot_id as_of= ref=",
    "location": "property",
    "metadata_location": "property",
    "new_append": "target_file_size=",
    "new_scan": "columns filter snapshot_id as_of= ref= limit= threads= batch_size= files=",
    "new_transaction": "isolation commit_key= branch= durability=",
    "overwrite": "data where retries=",
    "parquet_paths": "snapshot_id as_of= ref=",
    "properties": "property",
    "read_as_of": "snapshot_id timestamp columns filter parallel",
    "refresh": "",
    "refs": "",
    "register": "catalog identifier replace=",
    "relocate": "",
    "remove_orphan_files": "older_than dry_run",
    "rename_column": "name new_name",
    "repair_version_hint": "metadata_file",
    "rewrite_data_files": "target_file_size target_file_size_bytes= partition= min_input_files= dry_run=",
    "row_count": "snapshot_id as_of= ref=",
    "scan": "columns filter parallel verify_checksums snapshot_id as_of= ref= limit=",
    "scan_batches": "batch_size columns filter verify_checksums snapshot_id parallel as_of= ref=",
    "schema": "",
    "set_properties": "properties remove=",
    "snapshot_as_of": "when",
    "snapshot_by_id": "snapshot_id",
    "snapshots": "",
    "spec": "",
    "sql": "query alias snapshot_id as_of= ref= columns= filter= parallel= verify_checksums=",
    "tag": "name snapshot_id",
    "time_travel": "snapshot_id timestamp",
    "to_arrow": "columns filter parallel verify_checksums snapshot_id limit as_of= ref=",
    "to_batches": "columns filter snapshot_id parallel batch_size limit as_of= ref=",
    "to_duckdb": "*args view_name= connection= columns= filter= snapshot_id= as_of= ref= parallel= verify_checksums=",
    "to_pandas": "columns filter parallel verify_checksums snapshot_id as_of= ref= limit=",
    "to_polars": "columns filter snapshot_id as_of= ref= limit=",
    "transact": "fn retries isolation branch=",
    "update_schema": "",
    "verify": "snapshot_id raise_on_error deep= limit=",
    "version": "property",
}

TRANSACTION = {
    "append": "data",
    "append_arrow": "data schema partition_values",
    "append_data": "records schema partition_values",
    "append_files": "files",
    "append_pandas": "df schema",
    "append_records": "records schema partition_values",
    "base_snapshot_id": "property",
    "begin": "",
    "branch": "property",
    "commit": "commit_key",
    "compact_manifests": "",
    "delete": "where",
    "delete_files": "file_paths",
    "expire_snapshots": "older_than_ms retain_last",
    "is_active": "",
    "isolation": "property",
    "overwrite": "data where",
    "overwrite_by_filter": "filter data",
    "rollback": "",
    "scan": "columns filter parallel verify_checksums",
    "set_properties": "properties",
    "to_arrow": "columns filter parallel limit",
    "to_batches": "columns filter parallel batch_size limit",
}

SCAN = {
    "count": "",
    "metrics": "property",
    "schema": "property",
    "snapshot_id": "property",
    "sql": "query alias",
    "to_arrow": "",
    "to_batches": "",
    "to_duckdb": "view_name connection",
    "to_pandas": "**kwargs",
    "to_polars": "",
}

SCHEMA = {
    "difference": "other",
    "field": "name",
    "fields": "attribute",
    "from_arrow": "schema schema_id",
    "from_json": "text",
    "names": "property",
    "schema_id": "attribute",
    "schema_string": "attribute",
    "signature": "",
    "to_arrow": "",
    "to_dict": "",
    "to_json": "",
}

UPDATE_SCHEMA = {
    "add_column": "name type doc",
    "commit": "",
    "drop_column": "name",
    "make_optional": "name",
    "rename_column": "name new_name",
    "updates": "property",
    "widen_column": "name type",
}

SNAPSHOT = {
    "operation": "attribute",
    "parent_snapshot_id": "attribute",
    "schema_id": "attribute",
    "sequence_number": "attribute",
    "timestamp": "property",
    "to_dict": "",
}

PARTITION_SPEC = {
    "from_json": "text",
    "is_unpartitioned": "",
    "spec_id": "attribute",
    "to_dict": "",
    "to_json": "",
}

CLASSES = {
    "Table": TABLE,
    "Transaction": TRANSACTION,
    "Scan": SCAN,
    "Schema": SCHEMA,
    "UpdateSchema": UPDATE_SCHEMA,
    "Snapshot": SNAPSHOT,
    "PartitionSpec": PARTITION_SPEC,
}


def test_top_level_names() -> None:
    missing = [n for n in TOP_LEVEL_ALL if n not in datashard.__all__ or not hasattr(datashard, n)]
    missing += [n for n in TOP_LEVEL_OTHER if not hasattr(datashard, n)]
    assert not missing, f"datashard no longer exports {missing}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_names(module: str) -> None:
    mod = importlib.import_module(f"datashard.{module}")
    gone = [n for n in MODULES[module] if not hasattr(mod, n)]
    assert not gone, f"datashard.{module} no longer has {gone}"
    unlisted = [n for n in MODULES[module] if n not in getattr(mod, "__all__", ())]
    assert not unlisted, f"datashard.{module}.__all__ no longer lists {unlisted}"


def test_error_classes_are_datashard_errors() -> None:
    from datashard import errors

    for name in MODULES["errors"]:
        assert issubclass(getattr(errors, name), errors.DatashardError), name


def _shape(cls: type, name: str) -> str:
    """The recorded form of ``cls.name`` (see the module docstring)."""
    raw = inspect.getattr_static(cls, name)
    if isinstance(raw, property):
        return "property"
    value = getattr(cls, name)
    if not callable(value):
        return "attribute"
    parts = []
    for p in inspect.signature(value).parameters.values():
        if p.name in ("self", "cls"):
            continue
        if p.kind is p.VAR_POSITIONAL:
            parts.append("*" + p.name)
        elif p.kind is p.VAR_KEYWORD:
            parts.append("**" + p.name)
        elif p.kind is p.KEYWORD_ONLY:
            parts.append(p.name + "=")
        else:
            parts.append(p.name)
    return " ".join(parts)


def _compatible(recorded: str, now: str) -> bool:
    """``now`` accepts every call ``recorded`` did: the positional names in the same order
    (more may follow), every keyword-only and variadic name still there (keyword-only names
    may have become positional)."""
    if recorded in ("property", "attribute") or now in ("property", "attribute"):
        return recorded == now
    old, new = recorded.split(), now.split()
    old_positional = [p for p in old if not p.endswith("=") and not p.startswith("*")]
    new_positional = [p for p in new if not p.endswith("=") and not p.startswith("*")]
    if new_positional[: len(old_positional)] != old_positional:
        return False
    names_now = {p.rstrip("=") for p in new}
    return all(p.rstrip("=") in names_now for p in old)


@pytest.mark.parametrize("class_name", sorted(CLASSES))
def test_class_members(class_name: str) -> None:
    cls: Any = getattr(datashard, class_name)
    fields = getattr(cls, "__dataclass_fields__", {})
    problems = []
    for name, recorded in CLASSES[class_name].items():
        if not hasattr(cls, name) and name not in fields:
            problems.append(f"{name}: gone")
            continue
        now = "attribute" if name in fields and not hasattr(cls, name) else _shape(cls, name)
        if not _compatible(recorded, now):
            problems.append(f"{name}: was ({recorded}), now ({now})")
    assert not problems, f"datashard.{class_name}: " + "; ".join(problems)


def test_instance_attributes(tmp_path) -> None:
    table = datashard.create_table(str(tmp_path / "t"), datashard.Schema(1, [{"id": 1, "name": "a", "type": "long"}]))
    assert isinstance(table.table_path, str)
    tx = table.new_transaction()
    assert tx.snapshot_id is None
    assert datashard.Table.__reduce__ is not object.__reduce__  # a Table pickles as its location
