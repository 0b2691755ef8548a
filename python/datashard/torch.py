"""PyTorch data loading: one pinned snapshot, sharded across ranks and DataLoader workers.

``datashard.torch.IterableDataset(table, ...)`` is a ``torch.utils.data.IterableDataset``
that reads ONE snapshot of a table (pinned when it is made) and splits its data files
among the ``torch.distributed`` ranks and, within a rank, among the DataLoader workers, so
that every row of the snapshot (that passes the filter) is yielded exactly once per epoch::

    from torch.utils.data import DataLoader
    from datashard.torch import IterableDataset

    ds = IterableDataset(table, columns=["x", "y"], batch_size=1024, shuffle_seed=0)
    loader = DataLoader(ds, batch_size=None, num_workers=4)   # the dataset batches itself
    for epoch in range(3):
        ds.set_epoch(epoch)                                    # a new order, the same rows
        for batch in loader:                                   # {"x": tensor, "y": tensor}
            ...

How the rows are split (see :func:`plan_shards`):

* The snapshot's data files are ordered (by path, or by a per-epoch permutation when
  ``shuffle_seed`` is set, the same on every rank) and their rows, counted from the
  metadata, are cut into ``world_size`` contiguous ranges of equal size: rank ``r`` gets
  rows ``[r*N/W, (r+1)*N/W)``. So ranks get the same number of rows (before the filter,
  to within a row block of at most 64 rows per shared file), whatever the file sizes, and
  a table with fewer files than ranks still feeds every rank.
* A file that straddles a cut is shared: both ranks read it through datashard's scan and
  each keeps its blocks of rows (row blocks are dealt to them in proportion to their share,
  by a fixed permutation that every process computes the same way). At most
  ``world_size - 1`` files are read by more than one rank.
* Within a rank, its files (whole or shared) go to the DataLoader workers by a greedy
  balance on row counts. Files are not split further: a rank with fewer files than workers
  leaves some workers idle (they yield nothing), which costs throughput, never rows.

Reads go through :meth:`datashard.Table.new_scan` with ``files=`` at the pinned snapshot, so
projection, filters (with pruning), schema evolution and field ids are datashard's own.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import pyarrow as pa

from .errors import InvalidArgumentError
from .table import Table, load_table

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["FileShare", "IterableDataset", "plan_shards"]

_OUTPUTS = ("torch", "arrow", "numpy")
# When shuffling, a reader's whole files are read in its permuted order, in groups of at
# least _MIN_FILES_PER_SCAN files and in at most _MAX_SCANS_PER_READER scans: each engine scan
# plans the snapshot's manifests again, and returns a group's files in commit order (the
# shuffle buffer then mixes their rows). Without shuffling a reader reads its whole files in
# one scan.
_MIN_FILES_PER_SCAN = 4
_MAX_SCANS_PER_READER = 16
_DEFAULT_SHUFFLE_BATCHES = 16  # shuffle buffer, in batches, when shuffle_buffer is None
_MAX_BLOCK_ROWS = 64
_MIN_BLOCKS = 1024


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            "datashard.torch.IterableDataset needs PyTorch, which is not installed: pip install torch "
            '(output="arrow" and "numpy" need it too, for DataLoader workers and torch.distributed)'
        ) from e
    return torch


def _import_numpy() -> Any:
    try:
        import numpy
    except ImportError as e:
        raise ImportError("datashard.torch needs numpy, which is not installed: pip install numpy") from e
    return numpy


# -- planning (pure Python, no torch) ------------------------------------------------------------


class FileShare(NamedTuple):
    """One data file, or a share of it, that one reader reads.

    ``row_lo``/``row_hi`` are the share of the file's rows, as counted by the metadata
    (``record_count``): ``0, record_count`` is the whole file. A partial share keeps the row
    blocks of the file whose (permuted) start row lies in ``[row_lo, row_hi)``; see
    :func:`block_layout`.
    """

    file_path: str
    record_count: int
    row_lo: int
    row_hi: int

    @property
    def whole(self) -> bool:
        return self.row_lo <= 0 and self.row_hi >= self.record_count

    @property
    def rows(self) -> int:
        return self.row_hi - self.row_lo


def block_layout(record_count: int) -> tuple[int, int, int]:
    """``(block_rows, n_blocks, stride)`` of a shared file: its rows are cut into blocks of
    ``block_rows`` in the order the scan yields them (after the filter), and block ``i`` is
    kept by the share whose ``[row_lo, row_hi)`` holds ``((i * stride) % n_blocks) * block_rows``.
    ``stride`` is coprime with ``n_blocks`` (a permutation) and near ``n_blocks / golden
    ratio``, so any prefix of blocks is dealt to the shares in proportion to their sizes: a
    filter that drops rows shrinks every share alike. Pure integer arithmetic: every process
    computes the same layout."""
    n = max(0, int(record_count))
    block = max(1, min(_MAX_BLOCK_ROWS, -(-n // _MIN_BLOCKS))) if n else 1
    n_blocks = max(1, -(-n // block))
    stride = max(1, round(n_blocks * 0.6180339887498949))
    while math.gcd(stride, n_blocks) != 1:
        stride += 1
    return block, n_blocks, stride


def _epoch_rng(seed: int, *parts: int) -> random.Random:
    digest = hashlib.sha256(repr((int(seed),) + tuple(int(p) for p in parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "little"))


def _ordered_files(files: Sequence[Any], seed: int | None, epoch: int) -> list[tuple[str, int]]:
    out = []
    for f in files:
        if isinstance(f, Mapping):
            out.append((str(f["file_path"]), int(f["record_count"])))
        else:
            path, count = f
            out.append((str(path), int(count)))
    out.sort()
    if len({p for p, _ in out}) != len(out):
        raise InvalidArgumentError("plan_shards: a data file is listed twice")
    if seed is not None:
        _epoch_rng(seed, epoch).shuffle(out)
    return out


def plan_shards(
    files: Sequence[Any],
    world_size: int,
    num_workers: int = 1,
    *,
    seed: int | None = None,
    epoch: int = 0,
) -> list[list[list[FileShare]]]:
    """Split a snapshot's data files among ``world_size`` ranks x ``num_workers`` workers.

    ``files``: ``data_files()`` entries (``{file_path, record_count}``) or
    ``(path, record_count)`` pairs. Returns ``plan[rank][worker]``: the :class:`FileShare`
    list that reader reads, in the order it takes them (whole files read by one engine scan
    come out in commit order). Deterministic: a function of the file list,
    the counts, ``seed`` and ``epoch`` only, so every rank and worker computes the same plan
    without talking to the others. Every row block of every file belongs to exactly one
    share (no overlap, no gap). See the module docs for the policy.
    """
    if world_size < 1 or num_workers < 1:
        raise InvalidArgumentError(f"world_size and num_workers must be >= 1, got {world_size}, {num_workers}")
    ordered = _ordered_files(files, seed, epoch)
    total = sum(c for _, c in ordered)
    per_rank: list[list[FileShare]] = [[] for _ in range(world_size)]
    start = 0
    for index, (path, count) in enumerate(ordered):
        if count <= 0 or total == 0:
            # No rows by the metadata: still read by exactly one rank (never dropped).
            owner = index % world_size if total == 0 else min(world_size - 1, start * world_size // total)
            per_rank[owner].append(FileShare(path, count, 0, max(0, count)))
            continue
        end = start + count
        # Ranks whose row range [r*N//W, (r+1)*N//W) meets [start, end).
        first = max(0, min(world_size - 1, start * world_size // total))
        for rank in range(first, world_size):
            lo, hi = rank * total // world_size, (rank + 1) * total // world_size
            if lo >= end:
                break
            a, b = max(lo, start), min(hi, end)
            if a < b:
                per_rank[rank].append(FileShare(path, count, a - start, b - start))
        start = end
    plan: list[list[list[FileShare]]] = []
    for rank, shares in enumerate(per_rank):
        workers: list[list[FileShare]] = [[] for _ in range(num_workers)]
        load = [0] * num_workers
        # Greedy balance, largest first; ties keep the rank's (path or permuted) order.
        for position in sorted(range(len(shares)), key=lambda i: (-shares[i].rows, i)):
            w = min(range(num_workers), key=lambda k: (load[k], k))
            workers[w].append((position, shares[position]))  # type: ignore[arg-type]
            load[w] += shares[position].rows
        plan.append([[s for _, s in sorted(w)] for w in workers])  # type: ignore[misc]
    return plan


# -- reading -------------------------------------------------------------------------------------


def _block_mask(np: Any, share: FileShare, first_row: int, n: int) -> Any:
    block, n_blocks, stride = block_layout(share.record_count)
    position = np.arange(first_row, first_row + n, dtype=np.int64)
    virtual = ((position // block) % n_blocks) * stride % n_blocks
    start = virtual * block
    return (start >= share.row_lo) & (start < share.row_hi)


def _rebatch(batches: Iterable[pa.RecordBatch], size: int, drop_last: bool) -> Iterator[pa.RecordBatch]:
    """Exactly ``size`` rows per batch (slices of one merged batch: no copy when a batch
    already has ``size`` rows); the last one shorter unless ``drop_last``."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        held += batch.num_rows
        if held < size:
            continue
        merged = pending[0] if len(pending) == 1 else pa.concat_batches(pending)
        offset = 0
        while held - offset >= size:
            yield merged.slice(offset, size)
            offset += size
        pending = [merged.slice(offset)] if offset < held else []
        held -= offset
    if held and not drop_last:
        yield pending[0] if len(pending) == 1 else pa.concat_batches(pending)


def _shuffled(batches: Iterable[pa.RecordBatch], rows: int, rng: np.random.Generator) -> Iterator[pa.RecordBatch]:
    """Permute rows within windows of at least ``rows`` rows."""
    pending: list[pa.RecordBatch] = []
    held = 0

    def flush() -> pa.RecordBatch:
        merged = pending[0] if len(pending) == 1 else pa.concat_batches(pending)
        return merged.take(pa.array(rng.permutation(merged.num_rows)))

    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        held += batch.num_rows
        if held >= rows:
            yield flush()
            pending, held = [], 0
    if held:
        yield flush()


_NOT_WRITABLE = "The given NumPy array is not writable"


def _column_to_torch(torch: Any, name: str, column: pa.Array) -> Any:
    t = column.type
    if pa.types.is_date32(t):
        column, t = column.view(pa.int32()), pa.int32()
    elif pa.types.is_timestamp(t) or pa.types.is_time64(t) or pa.types.is_date64(t) or pa.types.is_duration(t):
        column, t = column.view(pa.int64()), pa.int64()
    elif pa.types.is_time32(t):
        column, t = column.view(pa.int32()), pa.int32()
    if pa.types.is_floating(t):
        if column.null_count:
            column = column.fill_null(float("nan"))
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        if column.null_count:
            raise ValueError(
                f'column "{name}" ({column.type}) has nulls, which a {t} tensor cannot hold: filter them out '
                f'(filter=col("{name}").not_null()) or use output="arrow" or "numpy"'
            )
    else:
        return column.to_pylist()  # strings, bytes, decimals, uuids, nested: Python values
    values = column.to_numpy(zero_copy_only=False)  # no copy for numbers without nulls
    try:
        return torch.from_numpy(values)
    except TypeError:  # a dtype this torch lacks (Iceberg has no unsigned types): Python values
        return column.to_pylist()


def _batch_to_torch(torch: Any, batch: pa.RecordBatch) -> dict[str, Any]:
    with warnings.catch_warnings():
        # Tensors share the Arrow batch's (read-only) memory instead of copying it.
        warnings.filterwarnings("ignore", message=_NOT_WRITABLE)
        return {name: _column_to_torch(torch, name, col) for name, col in zip(batch.schema.names, batch.columns)}


def _batch_to_numpy(batch: pa.RecordBatch) -> dict[str, Any]:
    return {name: col.to_numpy(zero_copy_only=False) for name, col in zip(batch.schema.names, batch.columns)}


class _ShardedSnapshotReader:
    """The torch-free part of :class:`IterableDataset` (see its docs)."""

    def __init__(
        self,
        table: Table | str,
        columns: Sequence[str] | None = None,
        filter: Any = None,
        batch_size: int = 1024,
        snapshot_id: int | None = None,
        shuffle_seed: int | None = None,
        output: str = "torch",
        drop_last: bool = False,
        *,
        shuffle_buffer: int | None = None,
        threads: int | None = None,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        if output not in _OUTPUTS:
            raise InvalidArgumentError(f"output must be one of {', '.join(map(repr, _OUTPUTS))}, got {output!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError(f"batch_size must be a positive int, got {batch_size!r}")
        if shuffle_seed is not None and (isinstance(shuffle_seed, bool) or not isinstance(shuffle_seed, int)):
            raise InvalidArgumentError(f"shuffle_seed must be an int or None, got {shuffle_seed!r}")
        if shuffle_buffer is not None and (
            isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int) or shuffle_buffer < 0
        ):
            raise InvalidArgumentError(f"shuffle_buffer must be an int >= 0 or None, got {shuffle_buffer!r}")
        if (rank is None) != (world_size is None):
            raise InvalidArgumentError("give both rank= and world_size=, or neither")
        if world_size is not None and not (isinstance(world_size, int) and world_size >= 1 and 0 <= rank < world_size):  # type: ignore[operator]
            raise InvalidArgumentError(f"need 0 <= rank < world_size, got rank={rank!r}, world_size={world_size!r}")
        opened = table if isinstance(table, Table) else load_table(table)
        if snapshot_id is None:
            current = opened.current_snapshot()
            snapshot_id = None if current is None else current.snapshot_id
        # Checks the columns and the filter now (SchemaError / InvalidArgumentError here, not
        # in a worker), and gives the Arrow schema of the batches.
        probe = opened.new_scan(columns, filter, snapshot_id=snapshot_id, batch_size=batch_size, files=[])
        files = [] if snapshot_id is None else opened.data_files(snapshot_id)
        self._location = opened.location
        self._snapshot_id = snapshot_id
        self._files = [(str(f["file_path"]), int(f["record_count"])) for f in files]
        self._columns = None if columns is None else list(columns)
        self._filter = filter
        self._schema = probe.schema
        self._batch_size = batch_size
        self._shuffle_seed = shuffle_seed
        self._shuffle_buffer = shuffle_buffer
        self._output = output
        self._drop_last = bool(drop_last)
        self._threads = threads
        self._explicit = None if rank is None else (int(rank), int(world_size))  # type: ignore[arg-type]
        self._captured = self._distributed_now()
        self._epoch = 0
        self._table: Table | None = opened
        self._table_pid = os.getpid()

    # -- state -------------------------------------------------------------------------------

    @property
    def snapshot_id(self) -> int | None:
        """The pinned snapshot (None: the table had no commit when the dataset was made)."""
        return self._snapshot_id

    @property
    def location(self) -> str:
        return self._location

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the batches (before conversion to tensors)."""
        return self._schema

    @property
    def files(self) -> list[tuple[str, int]]:
        """The pinned snapshot's data files, ``(path, record_count)``, sorted by path."""
        return sorted(self._files)

    @property
    def num_rows(self) -> int:
        """Rows of the pinned snapshot by the metadata (before the filter)."""
        return sum(c for _, c in self._files)

    @property
    def epoch(self) -> int:
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Use the order of epoch ``epoch`` (with ``shuffle_seed``: a new permutation of the
        files and rows, the same on every rank). Call it on every rank before iterating the
        DataLoader; workers that are already running (``persistent_workers=True``) keep the
        epoch they were started with."""
        if isinstance(epoch, bool) or not isinstance(epoch, int):
            raise InvalidArgumentError(f"epoch must be an int, got {epoch!r}")
        self._epoch = epoch

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_table"] = None  # a handle is never pickled: workers open the table by location
        now = self._distributed_now()
        if now is not None:  # pickled for a spawned DataLoader worker: carry the rank along
            state["_captured"] = now
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @staticmethod
    def _distributed_now() -> tuple[int, int] | None:
        try:
            import torch.distributed as dist
        except ImportError:
            return None
        if dist.is_available() and dist.is_initialized():
            return int(dist.get_rank()), int(dist.get_world_size())
        return None

    def _rank_world(self) -> tuple[int, int]:
        if self._explicit is not None:
            return self._explicit
        return self._distributed_now() or self._captured or (0, 1)

    @staticmethod
    def _worker() -> tuple[int, int]:
        try:
            from torch.utils.data import get_worker_info
        except ImportError:
            return 0, 1
        info = get_worker_info()
        return (0, 1) if info is None else (int(info.id), int(info.num_workers))

    @staticmethod
    def _in_worker() -> bool:
        try:
            from torch.utils.data import get_worker_info
        except ImportError:
            return False
        return get_worker_info() is not None

    def shard(
        self, rank: int | None = None, world_size: int | None = None, worker: int | None = None,
        num_workers: int | None = None,
    ) -> list[FileShare]:
        """What one reader reads this epoch; by default the calling process's rank and
        DataLoader worker."""
        if rank is None or world_size is None:
            rank, world_size = self._rank_world()
        if worker is None or num_workers is None:
            worker, num_workers = self._worker()
        return plan_shards(self._files, world_size, num_workers, seed=self._shuffle_seed, epoch=self._epoch)[rank][worker]

    # -- reading -----------------------------------------------------------------------------

    def _open(self) -> Table:
        if self._table is None or self._table_pid != os.getpid():  # a forked worker opens its own
            self._table = load_table(self._location)
            self._table_pid = os.getpid()
        return self._table

    def _scan(self, table: Table, paths: list[str], threads: Any) -> pa.RecordBatchReader:
        return table.new_scan(
            self._columns, self._filter, snapshot_id=self._snapshot_id, threads=threads,
            batch_size=self._batch_size, files=paths,
        ).to_batches()

    def _arrow_batches(self, shares: list[FileShare], threads: Any) -> Iterator[pa.RecordBatch]:
        np = _import_numpy()
        table = self._open()
        whole = sum(1 for share in shares if share.whole)
        per_scan = max(1, whole)
        if self._shuffle_seed is not None:
            per_scan = min(per_scan, max(_MIN_FILES_PER_SCAN, -(-whole // _MAX_SCANS_PER_READER)))
        group: list[str] = []

        def flush() -> Iterator[pa.RecordBatch]:
            if group:
                yield from self._scan(table, list(group), threads)
                group.clear()

        for share in shares:
            if share.whole:
                group.append(share.file_path)
                if len(group) >= per_scan:
                    yield from flush()
                continue
            yield from flush()
            seen = 0
            for batch in self._scan(table, [share.file_path], 1):
                mask = _block_mask(np, share, seen, batch.num_rows)
                seen += batch.num_rows
                if mask.all():
                    yield batch
                elif mask.any():
                    yield batch.filter(pa.array(mask))
        yield from flush()

    def iter_batches(
        self, rank: int | None = None, world_size: int | None = None, worker: int | None = None,
        num_workers: int | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """The Arrow batches one reader yields this epoch (by default the calling process's
        rank and worker): ``batch_size`` rows each, the last shorter unless ``drop_last``."""
        if rank is None or world_size is None:
            rank, world_size = self._rank_world()
        if worker is None or num_workers is None:
            worker, num_workers = self._worker()
        if self._snapshot_id is None:
            return iter(())
        shares = self.shard(rank, world_size, worker, num_workers)
        threads: Any = self._threads
        if threads is None:  # DataLoader workers already read in parallel: one thread each
            threads = 1 if self._in_worker() else True
        batches: Iterable[pa.RecordBatch] = self._arrow_batches(shares, threads)
        if self._shuffle_seed is not None:
            window = self._shuffle_buffer
            if window is None:
                window = _DEFAULT_SHUFFLE_BATCHES * self._batch_size
            if window > 1:
                np = _import_numpy()
                seed = int.from_bytes(
                    hashlib.sha256(repr((self._shuffle_seed, self._epoch, rank, worker)).encode()).digest()[:8],
                    "little",
                )
                batches = _shuffled(batches, window, np.random.default_rng(seed))
        return _rebatch(batches, self._batch_size, self._drop_last)

    def __iter__(self) -> Iterator[Any]:
        batches = self.iter_batches()
        if self._output == "arrow":
            return batches
        if self._output == "numpy":
            return (_batch_to_numpy(b) for b in batches)
        torch = _import_torch()
        return (_batch_to_torch(torch, b) for b in batches)

    def __repr__(self) -> str:
        return (
            f"<datashard.torch.IterableDataset of {self._location!r}, snapshot_id={self._snapshot_id}, "
            f"{len(self._files)} files, {self.num_rows} rows, batch_size={self._batch_size}, "
            f"output={self._output!r}, shuffle_seed={self._shuffle_seed}, epoch={self._epoch}>"
        )


_DOC = """A ``torch.utils.data.IterableDataset`` over ONE snapshot of a datashard table.

``IterableDataset(table, columns=None, filter=None, batch_size=1024, snapshot_id=None,
shuffle_seed=None, output="torch", drop_last=False, *, shuffle_buffer=None, threads=None,
rank=None, world_size=None)``

* ``table``: a :class:`datashard.Table` or a table path. The snapshot (``snapshot_id``, or
  the current one) is pinned now: every epoch reads exactly it, whatever writers commit
  meanwhile (keep it from expiring while you train, e.g. with ``table.tag(...)``).
* ``columns``, ``filter``: projection and filter, as :meth:`datashard.Table.new_scan` takes
  them (pushed down: files, row groups pruned). Checked now.
* Sharding: ranks from ``torch.distributed`` when it is initialized (or ``rank=`` and
  ``world_size=``), workers from ``torch.utils.data.get_worker_info()``; every row exactly
  once per epoch across all of them (see :func:`plan_shards`). Ranks may use different
  ``num_workers``: the split among ranks does not depend on it.
* ``batch_size`` rows per yielded batch (use ``DataLoader(ds, batch_size=None)``); each
  reader's last batch is shorter unless ``drop_last``. Ranks get equal row counts before
  the filter, not equal batch counts: with DDP, stop all ranks together (e.g.
  ``torch.distributed.algorithms.Join``) or train a fixed number of steps.
* ``shuffle_seed``: each epoch (:meth:`set_epoch`) permutes the files (the same on every
  rank) and the rows within windows of ``shuffle_buffer`` rows (default 16 batches) in each
  reader; the same seed and epoch give the same order. ``None``: the same order every
  epoch (each reader's files in commit order).
* ``output``: ``"torch"``: ``{column: tensor}``; numbers, bools, dates and times
  (as ints: days, microseconds) become tensors sharing the Arrow memory where the layout
  allows (treat them as read-only, or ``clone()``), float nulls become NaN, an int or bool
  null raises ``ValueError``; strings, bytes, decimals stay Python lists. ``"numpy"``:
  ``{column: ndarray}`` by pyarrow's ``to_numpy``. ``"arrow"``: ``pyarrow.RecordBatch``.
* ``threads``: engine read threads per reader (default: 1 in a DataLoader worker, every
  core otherwise).

Picklable (DataLoader workers by fork or spawn): it carries the table location, the
snapshot id and the file list, never an open handle.
"""

_dataset_class: Any = None
IterableDataset: Any  # annotation only: the class is made by __getattr__ on first use


def _build_dataset_class() -> Any:
    global _dataset_class
    if _dataset_class is None:
        torch = _import_torch()

        class IterableDataset(_ShardedSnapshotReader, torch.utils.data.IterableDataset):  # type: ignore[misc, name-defined]
            __doc__ = _DOC

        IterableDataset.__module__ = __name__
        IterableDataset.__qualname__ = "IterableDataset"
        _dataset_class = IterableDataset
        globals()["IterableDataset"] = IterableDataset
    return _dataset_class


def __getattr__(name: str) -> Any:
    # PEP 562: ``datashard.torch`` imports without torch; the dataset class (a subclass of
    # torch's IterableDataset, which DataLoader checks for) is made on first use.
    if name == "IterableDataset":
        return _build_dataset_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
