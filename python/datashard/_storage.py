"""Where a table lives: a local directory or an ``s3://bucket/prefix`` location.

The engine picks the file system from the location itself; this module only keeps the
original package's configuration working: with ``DATASHARD_STORAGE_TYPE=s3`` a plain
table path names a key prefix ``DATASHARD_S3_PREFIX/<path>`` in ``DATASHARD_S3_BUCKET``.
Credentials, endpoint and region are read by the engine (``DATASHARD_S3_*`` first, then
the AWS variables and profile files).
"""

from __future__ import annotations

import os
import posixpath

from .errors import InvalidArgumentError


def resolve_table_path(path: str | os.PathLike[str]) -> str:
    """The location the engine opens for a user's table path."""
    text = os.fspath(path)
    storage = os.environ.get("DATASHARD_STORAGE_TYPE", "local").strip().lower() or "local"
    if storage not in ("local", "s3"):
        raise InvalidArgumentError(f'DATASHARD_STORAGE_TYPE must be "local" or "s3", not "{storage}"')
    if storage == "local" or "://" in text:
        return text
    bucket = os.environ.get("DATASHARD_S3_BUCKET", "").strip()
    if not bucket:
        raise InvalidArgumentError("DATASHARD_STORAGE_TYPE=s3 needs DATASHARD_S3_BUCKET (or pass an s3://bucket/... path)")
    prefix = os.environ.get("DATASHARD_S3_PREFIX", "").strip("/")
    key = "/".join(part for part in (prefix, text.strip("/")) if part)
    return f"s3://{bucket}/{key}" if key else f"s3://{bucket}"


def join_location(location: str, relative: str) -> str:
    """``relative`` (a table-relative path such as ``data/x.parquet``) inside ``location``."""
    relative = relative.lstrip("/")
    scheme, sep, rest = location.partition("://")
    if sep:
        bucket, _, key = rest.partition("/")
        joined = posixpath.normpath(posixpath.join("/" + key, relative))
        return f"{scheme}://{bucket}{joined}"
    return os.path.normpath(os.path.join(location, relative))


def local_path(file_path: str) -> str:
    """A data file's path as the OS (and DuckDB's read_parquet) wants it."""
    if file_path.startswith("file://"):
        return file_path[len("file://") :]
    if file_path.startswith("file:"):
        return file_path[len("file:") :]
    return file_path
