"""The data every system writes: built the same way in every process, from pyarrow alone.

Bulk table (workloads 2, 3, 6): ``id`` int64 0..n-1 (sorted, so a range filter on it is
selective in every format's statistics), ``value`` float64, ``name`` string (1,000
distinct values, 8-12 characters), ``ts`` timestamp[us] (one second apart).

Lookup table (workload ``lookup``): see :func:`lookup_table`.

Commit rows (workloads 1, 4, 5): one row per commit, ``worker`` int64, ``seq`` int64,
``ts`` timestamp[us], ``payload`` string; (worker, seq) identifies the commit, so reading
the table back shows exactly which commits landed.
"""

from __future__ import annotations

import datetime as _dt

import pyarrow as pa
import pyarrow.compute as pc

BULK_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("value", pa.float64()),
        pa.field("name", pa.string()),
        pa.field("ts", pa.timestamp("us")),
    ]
)

COMMIT_SCHEMA = pa.schema(
    [
        pa.field("worker", pa.int64()),
        pa.field("seq", pa.int64()),
        pa.field("ts", pa.timestamp("us")),
        pa.field("payload", pa.string()),
    ]
)

_EPOCH_US = 1_700_000_000 * 1_000_000
_NAMES = pa.array([f"name-{k:0{3 + k % 5}d}" for k in range(1000)], pa.string())
_CHUNK = 1 << 20


def _bulk_chunk(start: int, n: int) -> pa.RecordBatch:
    ids = pa.array(range(start, start + n), pa.int64())
    # A cheap deterministic scramble, so values and names are not sorted like ids.
    mixed = pc.bit_wise_and(pc.multiply(ids, pa.scalar(2654435761, pa.int64())), pa.scalar(0x7FFFFFFF, pa.int64()))
    value = pc.divide(pc.cast(pc.divide(mixed, pa.scalar(1000, pa.int64())), pa.float64()), pa.scalar(7.0))
    name = _NAMES.take(pc.divide(pc.bit_wise_and(mixed, pa.scalar(0xFFFFF, pa.int64())), pa.scalar(1049, pa.int64())))
    ts = pc.cast(pc.add(pc.multiply(ids, pa.scalar(1_000_000, pa.int64())), pa.scalar(_EPOCH_US, pa.int64())), pa.timestamp("us"))
    return pa.RecordBatch.from_arrays([ids, value, name, ts], schema=BULK_SCHEMA)


def bulk_table(n: int) -> pa.Table:
    """The first ``n`` rows of the bulk table, as one in-memory pyarrow Table."""
    batches = [_bulk_chunk(s, min(_CHUNK, n - s)) for s in range(0, n, _CHUNK)]
    if not batches:
        return BULK_SCHEMA.empty_table()
    return pa.Table.from_batches(batches, schema=BULK_SCHEMA).combine_chunks()


LOOKUP_SCHEMA = pa.schema([pa.field("id", pa.int64()), pa.field("key", pa.string()), pa.field("value", pa.float64())])


def lookup_key(i: int) -> str:
    """The ``key`` of row ``i`` of the lookup table: distinct for every row (a bijection of
    the 64-bit integers), in no order related to ``id``."""
    return f"k{(i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF:016x}"


def lookup_table(n: int) -> pa.Table:
    """The lookup table (workload ``lookup``): ``id`` int64 0..n-1 (sorted), ``key`` string
    (unsorted, every value distinct: the point lookup's column), ``value`` float64."""
    ids = pa.array(range(n), pa.int64())
    keys = pa.array([lookup_key(i) for i in range(n)], pa.string())
    value = pc.divide(pc.cast(ids, pa.float64()), pa.scalar(3.0))
    return pa.Table.from_arrays([ids, keys, value], schema=LOOKUP_SCHEMA)


def lookup_queries(n: int) -> dict:
    """The two lookups and their answers: an OR of two narrow ``id`` ranges (0.05 % of the
    rows each) and one ``key``."""
    w = max(1, n // 2000)
    ranges = [[n // 5, n // 5 + w - 1], [3 * n // 5, 3 * n // 5 + w - 1]]
    row = int(n * 0.37)
    return {"or_ranges": {"ranges": ranges, "rows": 2 * w}, "point": {"key": lookup_key(row), "rows": 1}}


def commit_row(worker: int, seq: int) -> pa.Table:
    """The single row that commit ``seq`` of ``worker`` appends."""
    ts = _dt.datetime(2024, 1, 1) + _dt.timedelta(microseconds=seq)
    return pa.table(
        {
            "worker": pa.array([worker], pa.int64()),
            "seq": pa.array([seq], pa.int64()),
            "ts": pa.array([ts], pa.timestamp("us")),
            "payload": pa.array([f"w{worker}-s{seq}"], pa.string()),
        },
        schema=COMMIT_SCHEMA,
    )


def selective_range(n: int) -> tuple[int, int]:
    """The inclusive ``id`` range of the selective scan: 0.1 % of the rows, mid-table."""
    width = max(1, n // 1000)
    lo = n // 2
    return lo, min(n - 1, lo + width - 1)
