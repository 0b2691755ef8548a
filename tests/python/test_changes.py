"""Incremental reads: the rows between two snapshots, reading a chosen share of a snapshot's
files, and tags for experiment tracking."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pytest

import datashard
from datashard import InvalidArgumentError

SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), ("v", pa.string())])


@pytest.fixture
def table(tmp_path):
    return datashard.create_table(str(tmp_path / "t"), SCHEMA)


def _changes(t, *args, **kwargs):
    return sorted((r["_change_type"], r["id"], r["v"]) for r in t.changes(*args, **kwargs).to_pylist())


def test_appends_since_a_snapshot_are_the_new_rows(table):
    first = table.append(pa.table({"id": [1, 2], "v": ["a", "b"]}))
    second = table.append(pa.table({"id": [3], "v": ["c"]}))
    table.append(pa.table({"id": [4, 5], "v": ["d", "e"]}))
    assert _changes(table, first) == [("insert", 3, "c"), ("insert", 4, "d"), ("insert", 5, "e")]
    assert _changes(table, first, second) == [("insert", 3, "c")]
    assert _changes(table, None, first) == [("insert", 1, "a"), ("insert", 2, "b")]
    assert _changes(table, second, second) == []


def test_a_copy_on_write_delete_shows_only_the_rows_it_removed(table):
    before = table.append(pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}))
    table.delete({"id": 2})
    table.append(pa.table({"id": [9], "v": ["z"]}))
    assert _changes(table, before) == [("delete", 2, "b"), ("insert", 9, "z")]
    # Without cancelling, the rewritten file's survivors show as deleted and inserted again.
    raw = _changes(table, before, net=False)
    assert ("delete", 1, "a") in raw and ("insert", 1, "a") in raw and ("delete", 2, "b") in raw


def test_duplicate_rows_cancel_one_for_one(table):
    before = table.append(pa.table({"id": [1, 1, 1], "v": ["x", "x", "x"]}))
    table.overwrite(pa.table({"id": [1], "v": ["x"]}))
    assert _changes(table, before) == [("delete", 1, "x"), ("delete", 1, "x")]


def test_changes_project_columns_and_reject_bad_ids(table):
    first = table.append(pa.table({"id": [1], "v": ["a"]}))
    table.append(pa.table({"id": [2], "v": ["b"]}))
    got = table.changes(first, columns=["id"])
    assert got.column_names == ["id", "_change_type"]
    assert got.to_pylist() == [{"id": 2, "_change_type": "insert"}]
    with pytest.raises(InvalidArgumentError):
        table.changes("yesterday")
    with pytest.raises(InvalidArgumentError):
        table.changes(12345)  # no such snapshot


def test_the_cli_prints_changes(table):
    first = table.append(pa.table({"id": [1], "v": ["a"]}))
    table.append(pa.table({"id": [2], "v": ["b"]}))
    out = subprocess.run(
        [sys.executable, "-m", "datashard.cli", "changes", table.location, "--from", str(first), "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert [json.loads(line) for line in out.stdout.splitlines()] == [{"id": 2, "v": "b", "_change_type": "insert"}]


def test_a_scan_of_chosen_files_reads_exactly_those(table):
    for i in range(4):
        table.append(pa.table({"id": [i * 10, i * 10 + 1], "v": ["a", "b"]}))
    files = sorted(d["file_path"] for d in table.data_files())
    shares = [files[0::2], files[1::2]]
    seen = []
    for share in shares:
        seen += table.new_scan(files=share, filter={"v": "a"}).to_arrow().column("id").to_pylist()
    assert sorted(seen) == [0, 10, 20, 30]  # every matching row once, across the shares
    assert table.new_scan(files=[]).to_arrow().num_rows == 0
    with pytest.raises(InvalidArgumentError, match="not in snapshot"):
        table.new_scan(files=[files[0] + ".missing"]).to_arrow()


def test_tags_name_snapshots_for_experiment_tracking(table):
    snapshot = table.append(pa.table({"id": [1], "v": ["a"]}))
    table.tag("run-42-epoch-3")
    table.append(pa.table({"id": [2], "v": ["b"]}))
    assert table.refs()["run-42-epoch-3"] == {"snapshot_id": snapshot, "type": "tag"}
    assert table.to_arrow(ref="run-42-epoch-3").num_rows == 1


def test_notebooks_show_tables_snapshots_and_scans_as_html(table):
    table.append(pa.table({"id": [1, 2], "v": ["<b>a</b>", "b"]}))
    page = table._repr_html_()
    assert "datashard.Table" in page and table.location in page and "rows" in page
    assert "<td>id</td>" in page and "append" in page  # schema and history
    assert "datashard.Snapshot" in table.current_snapshot()._repr_html_()
    preview = table.new_scan(columns=["v"])._repr_html_()
    assert "&lt;b&gt;a&lt;/b&gt;" in preview and "<b>a</b>" not in preview  # values are escaped


def test_a_pyiceberg_catalog_finds_the_table_by_name(table, tmp_path):
    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("ml", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/wh")
    catalog.create_namespace("ml")
    table.append(pa.table({"id": [1, 2], "v": ["a", "b"]}))
    registered = table.register(catalog, "ml.metrics")
    assert registered.scan().to_arrow().num_rows == 2  # PyIceberg reads it through the catalog
    table.append(pa.table({"id": [3], "v": ["c"]}))
    # datashard opens it by name at its newest version; re-registering moves the catalog on.
    assert datashard.load_table("ml.metrics", catalog=catalog).row_count() == 3
    assert catalog.load_table("ml.metrics").scan().to_arrow().num_rows == 2
    table.register(catalog, "ml.metrics", replace=True)
    assert catalog.load_table("ml.metrics").scan().to_arrow().num_rows == 3
    with pytest.raises(datashard.TableNotFoundError):
        datashard.load_table("ml.nothing", catalog=catalog)


def test_files_must_be_a_list_of_paths(table):
    table.append(pa.table({"id": [1], "v": ["a"]}))
    with pytest.raises(InvalidArgumentError, match="list of data file paths"):
        table.new_scan(files=table.data_files()[0]["file_path"])
