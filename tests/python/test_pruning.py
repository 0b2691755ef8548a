"""Pruning is real: a selective filter reads fewer manifests, files, row groups and bytes than a
full scan, as the scan's metrics (counted by the engine's I/O layer) show."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from datashard import PartitionField, PartitionSpec, Schema, Table, col, create_table

FILES = 10
ROWS_PER_FILE = 1000
ROW_GROUP_ROWS = 100


@pytest.fixture(scope="module")
def sorted_table(tmp_path_factory: pytest.TempPathFactory) -> Table:
    """ids 0..9999 in 10 commits (one file each, ids ascending), 100-row row groups."""
    path = str(tmp_path_factory.mktemp("sorted") / "t")
    t = create_table(
        path,
        pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("v", pa.string())]),
        properties={"write.parquet.row-group-limit": str(ROW_GROUP_ROWS), "datashard.commit.durability": "process"},
    )
    for k in range(FILES):
        ids = list(range(k * ROWS_PER_FILE, (k + 1) * ROWS_PER_FILE))
        t.append({"id": ids, "v": [f"value-{i}" for i in ids]})
    return t


def _read(t: Table, flt=None, **kw) -> tuple[pa.Table, dict[str, int]]:
    scan = t.new_scan(filter=flt, **kw)
    data = scan.to_arrow()
    return data, scan.metrics


def test_full_scan_reads_everything(sorted_table: Table) -> None:
    data, m = _read(sorted_table)
    assert data.num_rows == FILES * ROWS_PER_FILE
    assert m["manifests_total"] == FILES and m["manifests_skipped"] == 0
    assert m["files_total"] == FILES and m["files_skipped"] == 0
    assert m["row_groups_total"] == FILES * ROWS_PER_FILE // ROW_GROUP_ROWS and m["row_groups_skipped"] == 0
    assert m["rows_read"] == FILES * ROWS_PER_FILE
    assert m["bytes_read"] > 0


@pytest.mark.parametrize(
    "flt, rows",
    [
        (col("id").between(2500, 2599), 100),  # one row group of one file
        (col("id") == 7777, 1),
        ({"id": ("in", [4100, 4150])}, 2),  # the dict form prunes the same way
        ([("id", ">=", 5000), ("id", "<", 5100)], 100),  # and the tuple form
        (col("v") == "value-5", 1),  # string bounds
    ],
)
def test_selective_filter_reads_one_file_and_one_row_group(sorted_table: Table, flt, rows: int) -> None:
    full_bytes = _read(sorted_table)[1]["bytes_read"]
    data, m = _read(sorted_table, flt)
    assert data.num_rows == rows
    assert m["files_total"] == FILES and m["files_skipped"] == FILES - 1  # by column bounds
    row_groups = ROWS_PER_FILE // ROW_GROUP_ROWS
    assert m["row_groups_total"] == row_groups and m["row_groups_skipped"] == row_groups - 1  # by statistics
    assert m["rows_read"] == ROW_GROUP_ROWS
    assert 0 < m["bytes_read"] < full_bytes / 5


def test_filter_matching_nothing_opens_no_file(sorted_table: Table) -> None:
    data, m = _read(sorted_table, col("id") > 10**9)
    assert data.num_rows == 0
    assert m["files_skipped"] == FILES and m["row_groups_total"] == 0 and m["bytes_read"] == 0


def test_limit_stops_early(sorted_table: Table) -> None:
    data, m = _read(sorted_table, limit=5, threads=1)
    assert data.num_rows == 5
    assert m["rows_read"] < FILES * ROWS_PER_FILE / 2


def test_time_travel_scan_prunes_too(sorted_table: Table) -> None:
    third = sorted_table.history()[::-1][2]["snapshot_id"]  # ids 0..2999
    data, m = _read(sorted_table, col("id") >= 2950, snapshot_id=third)
    assert data.num_rows == 50
    assert m["files_total"] == 3 and m["files_skipped"] == 2


REGIONS = ["eu", "us", "ap", "sa"]


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> Table:
    """Partitioned by region (identity) and day(ts): one commit per region, three days each."""
    schema = Schema(
        0,
        [
            {"id": 1, "name": "id", "type": "long", "required": True},
            {"id": 2, "name": "region", "type": "string", "required": True},
            {"id": 3, "name": "ts", "type": "timestamp", "required": True},
        ],
    )
    spec = PartitionSpec(0, [PartitionField(2, 1000, "region", "identity"), PartitionField(3, 1001, "ts_day", "day")])
    t = create_table(str(tmp_path_factory.mktemp("part") / "t"), schema, spec,
                     properties={"datashard.commit.durability": "process"})
    for k, region in enumerate(REGIONS):
        ids = list(range(k * 300, (k + 1) * 300))
        t.append({"id": ids, "region": [region] * 300, "ts": [dt.datetime(2024, 1, 1 + i % 3, 12) for i in ids]})
    return t


def test_partition_filter_skips_manifests_and_files(partitioned: Table) -> None:
    assert len(partitioned.data_files()) == len(REGIONS) * 3
    full, fm = _read(partitioned)
    assert full.num_rows == 1200 and fm["manifests_total"] == 4 and fm["files_total"] == 12

    data, m = _read(partitioned, col("region") == "eu")
    assert data.num_rows == 300 and set(data["region"].to_pylist()) == {"eu"}
    assert m["manifests_total"] == 4 and m["manifests_skipped"] == 3  # by the manifests' partition summaries
    assert m["files_total"] == 3 and m["files_skipped"] == 0
    assert m["bytes_read"] < fm["bytes_read"] / 3

    data, m = _read(partitioned, (col("region") == "eu") & (col("ts") >= dt.datetime(2024, 1, 3)))
    assert data.num_rows == 100
    assert m["manifests_skipped"] == 3 and m["files_skipped"] == 2  # hidden day(ts) partition

    data, m = _read(partitioned, col("ts") < dt.datetime(2024, 1, 2))
    assert data.num_rows == 400
    assert m["files_total"] == 12 and m["files_skipped"] == 8

    data, m = _read(partitioned, col("region").isin(["us", "ap"]))
    assert data.num_rows == 600 and m["manifests_skipped"] == 2


# -- OR, NOT and pyarrow expressions ----------------------------------------------------------------------------------------


def test_or_prunes_what_no_branch_can_match(sorted_table: Table) -> None:
    full = _read(sorted_table, None)[1]
    data, m = _read(sorted_table, col("id").between(2510, 2519) | col("id").between(7700, 7709))
    assert sorted(data["id"].to_pylist()) == list(range(2510, 2520)) + list(range(7700, 7710))
    assert m["files_total"] == FILES and m["files_skipped"] == FILES - 2
    assert m["row_groups_total"] == 2 * ROWS_PER_FILE // ROW_GROUP_ROWS and m["row_groups_skipped"] == 18
    assert m["rows_read"] == 2 * ROW_GROUP_ROWS
    assert m["bytes_read"] < full["bytes_read"] / 4
    # One branch that can match anywhere: nothing can be skipped.
    m = _read(sorted_table, (col("id") == 5) | (col("v") != "x"))[1]
    assert m["files_skipped"] == 0 and m["row_groups_skipped"] == 0


def test_not_prunes_by_the_negated_bounds(sorted_table: Table) -> None:
    data, m = _read(sorted_table, ~(col("id") >= 150))
    assert data.num_rows == 150
    assert m["files_skipped"] == FILES - 1
    assert m["row_groups_skipped"] == ROWS_PER_FILE // ROW_GROUP_ROWS - 2
    # NOT (id < 9950 OR id > 9960) = 9950 <= id <= 9960: one file, one row group.
    data, m = _read(sorted_table, {"$not": {"$or": [{"id": ("<", 9950)}, {"id": (">", 9960)}]}})
    assert data.num_rows == 11
    assert m["files_skipped"] == FILES - 1 and m["rows_read"] == ROW_GROUP_ROWS


def test_pyarrow_expressions_prune_with_what_they_are_made_of(sorted_table: Table) -> None:
    import pyarrow.compute as pc

    full = _read(sorted_table, None)[1]
    two_ranges = ((pc.field("id") >= 2510) & (pc.field("id") <= 2519)) | ((pc.field("id") >= 7700) & (pc.field("id") < 7710))
    data, m = _read(sorted_table, two_ranges)
    assert sorted(data["id"].to_pylist()) == list(range(2510, 2520)) + list(range(7700, 7710))
    assert m["files_skipped"] == FILES - 2 and m["rows_read"] == 2 * ROW_GROUP_ROWS
    assert m["bytes_read"] < full["bytes_read"] / 4
    # What the engine cannot translate (a function) prunes nothing, but the AND beside it does.
    data, m = _read(sorted_table, pc.starts_with(pc.field("v"), "value-99") & (pc.field("id") >= 9900))
    assert sorted(data["id"].to_pylist()) == list(range(9900, 10000))
    assert m["files_skipped"] == FILES - 1
    # ~isin keeps null cells in pyarrow, unlike SQL's NOT IN: applied exactly, pruned not at all.
    data, m = _read(sorted_table, ~pc.field("id").isin(list(range(0, 9990))))
    assert sorted(data["id"].to_pylist()) == list(range(9990, 10000))
    assert m["files_skipped"] == 0
    # In a transaction, too: the same rows, and the columns read are only those named.
    tx = sorted_table.new_transaction().begin()
    got = tx.to_arrow(columns=["v"], filter=pc.field("id") == 4321)
    tx.rollback()
    assert got.column_names == ["v"] and got["v"].to_pylist() == ["value-4321"]


def test_or_and_not_in_scan_repr(sorted_table: Table) -> None:
    s = sorted_table.new_scan(filter=(col("id") < 5) | ~(col("v") == "x"))
    assert "filter=(id < [5] | v != ['x'])" in repr(s)
