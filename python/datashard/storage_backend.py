"""``datashard.storage_backend``: the original package's storage classes, importable only.

datashard picks its storage from the table's location (a local path or
``s3://bucket/prefix``) and the original's ``DATASHARD_STORAGE_TYPE`` / ``DATASHARD_S3_*``
environment variables; the engine does all I/O. These names exist so that code importing
them still imports; constructing one raises :class:`NotImplementedError`.
"""

from ._original_internals import original_internal

__all__ = ["LocalStorageBackend", "S3StorageBackend"]

_INSTEAD = (
    "open the table by its path (a local directory or s3://bucket/prefix, or DATASHARD_STORAGE_TYPE=s3 "
    "with DATASHARD_S3_BUCKET) and use the Table's methods"
)

LocalStorageBackend = original_internal("storage_backend", "LocalStorageBackend", _INSTEAD)
S3StorageBackend = original_internal("storage_backend", "S3StorageBackend", _INSTEAD)
