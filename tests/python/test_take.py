"""``Table.take``: point lookups by key, in key order, exact, and opening only the row groups
the keys can be in (bloom filters on an unsorted key; bounds on a sorted one), as the
engine's I/O counters of the scan it runs show."""

from __future__ import annotations

import random
import uuid

import pyarrow as pa
import pytest

from datashard import Schema, Table, create_table
from datashard.errors import FilterTypeError, InvalidArgumentError, SchemaError

ROWS = 20_000
ROW_GROUP_ROWS = 500  # 40 row groups


@pytest.fixture(scope="module")
def users(tmp_path_factory: pytest.TempPathFactory) -> tuple[Table, list[str]]:
    """Unsorted, high-cardinality string keys with a bloom filter, in 4 files."""
    rng = random.Random(11)
    keys = [f"user-{rng.getrandbits(48):012x}" for _ in range(ROWS)]
    t = create_table(
        str(tmp_path_factory.mktemp("take") / "t"),
        pa.schema([("key", pa.string()), ("n", pa.int64()), ("score", pa.float64())]),
        properties={
            "write.parquet.row-group-limit": str(ROW_GROUP_ROWS),
            "write.parquet.bloom-filter-enabled.column.key": "true",
            "datashard.commit.durability": "process",
        },
    )
    for part in range(4):
        lo, hi = part * ROWS // 4, (part + 1) * ROWS // 4
        t.append({"key": keys[lo:hi], "n": list(range(lo, hi)), "score": [i / 10 for i in range(lo, hi)]})
    return t, keys


def _take_with_metrics(monkeypatch: pytest.MonkeyPatch, t: Table, *args, **kwargs) -> tuple[pa.Table, dict]:
    """``t.take(...)`` and the I/O counters of the scan it ran."""
    scans = []
    new_scan = Table.new_scan

    def recording(self, *a, **kw):
        scan = new_scan(self, *a, **kw)
        scans.append(scan)
        return scan

    monkeypatch.setattr(Table, "new_scan", recording)
    out = t.take(*args, **kwargs)
    monkeypatch.undo()
    assert len(scans) == 1
    return out, scans[0].metrics


def test_rows_come_back_in_key_order(users) -> None:
    t, keys = users
    wanted = [keys[19_999], keys[3], "user-absent", keys[10_000], keys[3]]
    out = t.take(wanted, by="key")
    assert out["key"].to_pylist() == [keys[19_999], keys[3], keys[10_000]]
    assert out["n"].to_pylist() == [19_999, 3, 10_000]
    assert out.column_names == ["key", "n", "score"]
    assert t.take([], by="key").num_rows == 0


def test_a_lookup_opens_under_5_percent_of_the_row_groups(users, monkeypatch) -> None:
    t, keys = users
    out, m = _take_with_metrics(monkeypatch, t, [keys[12_345], keys[777]], by="key", columns=["score"])
    assert out.column_names == ["score"]  # the key column was read to order the rows, then dropped
    assert out["score"].to_pylist() == [1234.5, 77.7]
    assert m["row_groups_total"] == ROWS // ROW_GROUP_ROWS
    assert m["row_groups_total"] - m["row_groups_skipped"] < 0.05 * m["row_groups_total"] + 1, m
    assert m["rows_read"] <= 2 * ROW_GROUP_ROWS


def test_integer_keys_use_bounds(users, monkeypatch) -> None:
    t, _ = users
    out, m = _take_with_metrics(monkeypatch, t, [15_001, 2, 2**70, 15_000], by="n", columns=["n", "key"])
    assert out["n"].to_pylist() == [15_001, 2, 15_000]  # 2**70 cannot be in an int64 column
    assert m["files_total"] - m["files_skipped"] == 2  # n ascends: one file per key range
    with pytest.raises(FilterTypeError):
        t.take(["seven"], by="n")
    with pytest.raises(SchemaError):
        t.take([1], by="no_such_column")
    with pytest.raises(InvalidArgumentError):
        t.take("user-1", by="key")  # a string is not a list of keys


def test_time_travel_and_uuid_keys(tmp_path) -> None:
    schema = Schema(
        schema_id=0,
        fields=[
            {"id": 1, "name": "id", "type": "uuid", "required": True},
            {"id": 2, "name": "v", "type": "long", "required": False},
        ],
    )
    t = create_table(str(tmp_path / "u"), schema)
    ids = [uuid.UUID(int=i + 1) for i in range(10)]
    t.append_records([{"id": u, "v": i} for i, u in enumerate(ids)])
    first = t.current_snapshot().snapshot_id
    t.delete(("v", "<", 5))
    assert t.take([str(ids[7]), ids[2]], by="id")["v"].to_pylist() == [7]
    old = t.take([str(ids[7]), ids[2]], by="id", snapshot_id=first)
    assert old["v"].to_pylist() == [7, 2]
    assert old["id"].to_pylist() == [str(ids[7]), str(ids[2])]  # uuids read as text, as to_arrow


def test_a_sort_order_on_the_key_lets_bounds_rule_out_the_rest(tmp_path, monkeypatch) -> None:
    """Without bloom filters: after compaction by the table's sort order on ``key``, each row
    group's bounds cover a narrow run of keys, so a lookup opens one row group per key."""
    rng = random.Random(5)
    keys = [f"user-{rng.getrandbits(48):012x}" for _ in range(ROWS)]
    t = create_table(
        str(tmp_path / "s"),
        pa.schema([("key", pa.string()), ("n", pa.int64())]),
        properties={"write.parquet.row-group-limit": str(ROW_GROUP_ROWS), "datashard.commit.durability": "process"},
    )
    for part in range(4):
        lo, hi = part * ROWS // 4, (part + 1) * ROWS // 4
        t.append({"key": keys[lo:hi], "n": list(range(lo, hi))})
    before, m = _take_with_metrics(monkeypatch, t, [keys[9], keys[15_000]], by="key")
    assert m["row_groups_skipped"] == 0  # unsorted keys: every bound covers almost everything
    t.replace_sort_order("key")
    t.compact(sort=True)
    after, m = _take_with_metrics(monkeypatch, t, [keys[9], keys[15_000]], by="key")
    assert after.equals(before) and after["n"].to_pylist() == [9, 15_000]
    assert m["row_groups_total"] - m["row_groups_skipped"] <= 2, m
