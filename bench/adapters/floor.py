"""The syscall floor of a durable commit: the file operations datashard's protocol needs and
nothing else, from Python, for the commit workload only.

Per commit: four small new files (a data file holding the row as JSON, stand-ins of the
manifest and the manifest list, and the temp metadata file naming the data file), all flushed
at once with their two directories on a thread pool (one flush barrier), ``link()`` of the temp
file to ``metadata/v<N+1>.json`` (``EEXIST``: another writer won, try N+2), then
``fsync(metadata/)`` (the second barrier). No Parquet, no Avro, no JSON of a real table, no
retries beyond the name race, no version hint: what is left is the cost of the disk and the
kernel, plus Python's call overhead. Reading back walks the versions and their data files, so
the runner can check that every commit is there once.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import uuid

import pyarrow as pa

UNSUPPORTED = {
    "bulk": "the syscall floor is a commit-only measurement",
    "scan": "the syscall floor is a commit-only measurement",
    "timetravel": "the syscall floor is a commit-only measurement",
    "memory": "the syscall floor is a commit-only measurement",
}
MANIFEST_BYTES = 4096  # about what datashard writes for a one-row commit
LIST_BYTES = 2048
METADATA_PAD = 3072

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=6)


def versions() -> dict:
    return {"floor": "python os calls"}


def create(path: str, schema: pa.Schema) -> None:
    for sub in ("data", "metadata"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)


def _write(path: str, data: bytes) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, data)
    return fd


def _fdatasync_close(fd: int) -> None:
    os.fdatasync(fd)
    os.close(fd)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Writer:
    def __init__(self, path: str) -> None:
        self.path = path
        self.data_dir = os.path.join(path, "data")
        self.meta_dir = os.path.join(path, "metadata")
        self.version_ = 0

    def append(self, table: pa.Table):
        name = uuid.uuid4().hex
        data_path = os.path.join(self.data_dir, f"{name}.json")
        temp = os.path.join(self.meta_dir, f".{name}.tmp")
        metadata = json.dumps({"data": data_path, "pad": "x" * METADATA_PAD}).encode()
        fds = [
            _write(data_path, json.dumps(table.to_pylist(), default=str).encode()),
            _write(os.path.join(self.meta_dir, f"{name}-m0.avro"), b"\0" * MANIFEST_BYTES),
            _write(os.path.join(self.meta_dir, f"snap-{name}.avro"), b"\0" * LIST_BYTES),
            _write(temp, metadata),
        ]
        # Barrier 1: everything the new version names, and their directory entries.
        jobs = [_pool.submit(_fdatasync_close, fd) for fd in fds]
        jobs += [_pool.submit(_fsync_dir, d) for d in (self.data_dir, self.meta_dir)]
        for job in jobs:
            job.result()
        version = self.version_ + 1
        while True:
            try:
                os.link(temp, os.path.join(self.meta_dir, f"v{version}.json"))
                break
            except FileExistsError:
                version += 1
        os.unlink(temp)
        _fsync_dir(self.meta_dir)  # barrier 2: the new name
        self.version_ = version
        return version

    def version(self):
        return self.version_


def open_writer(path: str) -> _Writer:
    return _Writer(path)


def read(path: str, id_range=None, columns=None, version=None) -> pa.Table:
    meta_dir = os.path.join(path, "metadata")
    rows = []
    for name in os.listdir(meta_dir):
        if name.startswith("v") and name.endswith(".json"):
            with open(os.path.join(meta_dir, name), encoding="utf-8") as f:
                data_path = json.load(f)["data"]
            with open(data_path, encoding="utf-8") as f:
                rows += json.load(f)
    t = pa.Table.from_pylist(rows)
    return t.select(columns) if columns else t
