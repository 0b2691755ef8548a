"""The net change between two snapshots' rows, for ``Table.changes()``.

Kept apart from ``table.py`` until the engine computes changes itself (issue 21).
"""

from __future__ import annotations

import collections
from typing import Any

import pyarrow as pa

__all__ = ["cancel_pairs", "conform"]


def cancel_pairs(inserts: pa.Table, deletes: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Drop rows that appear in both (as multisets): what a copy-on-write rewrite carried over."""
    shared = [n for n in inserts.column_names if n in deletes.column_names]

    def keys(t: pa.Table) -> list[tuple[Any, ...]]:
        return [tuple(repr(v) for v in row) for row in zip(*(t.column(n).to_pylist() for n in shared))]

    def unmatched(mine: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> pa.Array:
        """True for each of ``mine`` left once ``theirs`` have cancelled one each."""
        budget = collections.Counter(theirs)
        keep = []
        for key in mine:
            keep.append(budget[key] == 0)
            if budget[key] > 0:
                budget[key] -= 1
        return pa.array(keep)

    ins, dels = keys(inserts), keys(deletes)
    return inserts.filter(unmatched(ins, dels)), deletes.filter(unmatched(dels, ins))


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with ``schema``'s columns in its order (missing ones null, types cast)."""
    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)
