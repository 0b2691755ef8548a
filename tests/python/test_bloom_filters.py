"""Bloom filters (``write.parquet.bloom-filter-enabled.column.<name>``): point lookups on a
column whose values are not sorted skip the row groups whose filter rules the value out,
counted by the scan's metrics; answers stay exact; pyarrow, PyIceberg and DuckDB read the
files."""

from __future__ import annotations

import glob
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datashard import Table, col, create_table
from datashard.errors import InvalidArgumentError

ROWS = 40_000
ROW_GROUP_ROWS = 500  # 80 row groups


def _table(path: str, bloom: bool) -> tuple[Table, list[str]]:
    rng = random.Random(7)
    keys = [f"user-{rng.getrandbits(48):012x}" for _ in range(ROWS)]  # unsorted, high cardinality
    properties = {"write.parquet.row-group-limit": str(ROW_GROUP_ROWS), "datashard.commit.durability": "process"}
    if bloom:
        properties["write.parquet.bloom-filter-enabled.column.key"] = "true"
        properties["write.parquet.bloom-filter-enabled.column.n"] = "true"
        properties["write.parquet.bloom-filter-enabled.column.not_a_column"] = "true"  # ignored
    t = create_table(path, pa.schema([("key", pa.string()), ("n", pa.int64()), ("x", pa.float64())]),
                     properties=properties)
    for part in range(4):
        lo, hi = part * ROWS // 4, (part + 1) * ROWS // 4
        ns = list(range(lo, hi))
        rng.shuffle(ns)
        t.append({"key": keys[lo:hi], "n": ns, "x": [float(i % 97) for i in range(lo, hi)]})
    return t, keys


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> tuple[Table, Table, list[str]]:
    base = tmp_path_factory.mktemp("bloom")
    with_bloom, keys = _table(str(base / "with"), True)
    without, _ = _table(str(base / "without"), False)
    return with_bloom, without, keys


def _read(t: Table, flt: object) -> tuple[pa.Table, dict[str, int]]:
    scan = t.new_scan(filter=flt)
    return scan.to_arrow(), scan.metrics  # type: ignore[return-value]


def test_a_point_lookup_opens_under_5_percent_of_the_row_groups(tables) -> None:
    with_bloom, without, keys = tables
    wanted = keys[12_345]
    data, m = _read(with_bloom, col("key") == wanted)
    assert data["key"].to_pylist() == [wanted]
    opened = m["row_groups_total"] - m["row_groups_skipped"]
    assert m["row_groups_total"] == ROWS // ROW_GROUP_ROWS
    assert opened < 0.05 * m["row_groups_total"], m
    # Without the filter the bounds of unsorted keys rule nothing out.
    data, m = _read(without, col("key") == wanted)
    assert data["key"].to_pylist() == [wanted]
    assert m["row_groups_skipped"] == 0
    # An absent key (inside every row group's bounds) opens almost nothing either.
    data, m = _read(with_bloom, col("key") == "user-800000000000")
    assert data.num_rows == 0 and m["row_groups_total"] - m["row_groups_skipped"] < 0.05 * m["row_groups_total"]


def test_in_lists_integers_and_every_filter_form_use_it_exactly(tables) -> None:
    import pyarrow.compute as pc

    with_bloom, without, keys = tables
    some = [keys[3], keys[20_000], keys[39_999]]
    for flt in (col("key").isin(some), {"key": ("in", some)}, pc.field("key").isin(some),
                {"$or": [{"key": k} for k in some]}):
        data, m = _read(with_bloom, flt)
        assert sorted(data["key"].to_pylist()) == sorted(some), flt
        assert m["row_groups_total"] - m["row_groups_skipped"] <= 3 + 2, (flt, m)  # a false positive or two
    # Integers: the file's bounds leave one file of 20 row groups, its bloom filters one row group.
    data, m = _read(with_bloom, ~(col("n") != 31_337))
    assert data["n"].to_pylist() == [31_337]
    assert m["files_skipped"] == 3 and m["row_groups_total"] - m["row_groups_skipped"] <= 2, m
    # Ranges, inequalities and floating columns are not the bloom filter's to answer: exact all the same.
    for flt in (col("n") < 100, col("key") != keys[0], col("x") == 5.0):
        assert _read(with_bloom, flt)[0].num_rows == _read(without, flt)[0].num_rows, flt


def test_the_property_is_checked_and_other_readers_read_the_files(tables, tmp_path) -> None:
    with_bloom, _, keys = tables
    with pytest.raises(InvalidArgumentError, match="bloom-filter-enabled.column.key must be"):
        with_bloom.set_properties({"write.parquet.bloom-filter-enabled.column.key": "yes"})
    files = sorted(glob.glob(f"{with_bloom.location}/data/**/*.parquet", recursive=True))
    assert len(files) == 4
    assert sum(pq.read_metadata(f).num_rows for f in files) == ROWS
    assert pq.read_table(files).num_rows == ROWS
    from pyiceberg.table import StaticTable

    iceberg = StaticTable.from_metadata(with_bloom.metadata_location)
    assert iceberg.scan(row_filter=f"key == '{keys[777]}'").to_arrow()["key"].to_pylist() == [keys[777]]
    duckdb = pytest.importorskip("duckdb")
    count = duckdb.connect().execute(
        f"select count(*) from read_parquet({files!r}) where key = ?", [keys[777]]).fetchall()
    assert count == [(1,)]
