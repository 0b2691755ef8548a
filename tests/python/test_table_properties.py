"""Table.set_properties (0.11.2's call): one commit, checked values, visible to PyIceberg."""

from __future__ import annotations

from pathlib import Path

import pytest

import datashard
from datashard import InvalidArgumentError, Table, load_table

from conftest import make_rows


def test_set_and_remove_in_one_commit(filled: Table) -> None:
    version = filled.version
    now = filled.set_properties({"owner": "ml-team", "write.parquet.row-group-limit": 5000, "flag": True})
    assert now["owner"] == "ml-team" and now["write.parquet.row-group-limit"] == "5000" and now["flag"] == "true"
    assert filled.version == version + 1
    assert load_table(filled.location).properties["owner"] == "ml-team"  # another handle sees it
    now = filled.set_properties(remove=["owner", "flag"])
    assert "owner" not in now and "flag" not in now and filled.version == version + 2
    assert filled.row_count() == 30  # the data is untouched


def test_durability_property_takes_effect(filled: Table) -> None:
    filled.set_properties({"datashard.commit.durability": "process"})
    filled.append_records(make_rows(30, 2))
    assert load_table(filled.location).properties["datashard.commit.durability"] == "process"
    assert filled.row_count() == 32


def test_durability_per_call(filled: Table) -> None:
    # the override is honoured by every write entry point; the C++ fault-injection test
    # shows it changes what is flushed (CommitFaultTest.PerCommitDurabilityOverridesTheTableProperty)
    filled.append(make_rows(30, 2), durability="process")
    filled.append_records(make_rows(32, 2), durability="fsync")
    with filled.new_transaction(durability="process") as tx:
        tx.append(make_rows(34, 2))
    assert filled.row_count() == 36
    assert "datashard.commit.durability" not in filled.properties  # the table's own mode is unchanged
    for bad in ("sometimes", "", 1):
        with pytest.raises(InvalidArgumentError, match="durability"):
            filled.append(make_rows(40, 1), durability=bad)
        with pytest.raises(InvalidArgumentError, match="durability"):
            filled.new_transaction(durability=bad)
    assert filled.row_count() == 36


@pytest.mark.parametrize(
    "updates",
    [
        {"datashard.commit.durability": "sometimes"},
        {"write.parquet.compression-codec": "brotli-ish"},
        {"write.parquet.row-group-limit": "0"},
        {"datashard.metadata.max-snapshots": "many"},
        {"write.metadata.previous-versions-max": -3},
        {"datashard.commit.group": "sometimes"},
        {"datashard.commit.group-rows": "yes"},
        {"datashard.commit.max-file-age-ms": "30m"},
        {"datashard.commit-key.lookback-ms": -1},
        {"write.target-file-size-bytes": 0},
        {"format-version": "1"},
        {"datashard.schema-on-write.partition-spec": "{}"},
        {"datashard.schema-on-write.sort-order": "[]"},
        {"datashard.group.some-writer": "1:2:3"},
        {"datashard.history.start-version": "1"},
        {"": "x"},
    ],
)
def test_bad_values_commit_nothing(filled: Table, updates: dict) -> None:
    version, before = filled.version, filled.properties
    with pytest.raises(InvalidArgumentError):
        filled.set_properties(updates)
    filled.refresh()
    assert filled.version == version and filled.properties == before


@pytest.mark.parametrize("key", ["datashard.group.some-writer", "datashard.history.start-version"])
def test_keys_datashard_keeps_cannot_be_removed(filled: Table, key: str) -> None:
    version = filled.version
    with pytest.raises(InvalidArgumentError, match="kept by datashard"):
        filled.set_properties(remove=[key])
    filled.refresh()
    assert filled.version == version


def test_set_and_remove_the_same_key_is_refused(filled: Table) -> None:
    with pytest.raises(InvalidArgumentError, match="both set and removed"):
        filled.set_properties({"a": "1"}, remove=["a"])


def test_pyiceberg_reads_the_properties(filled: Table) -> None:
    from pyiceberg.table import StaticTable

    filled.set_properties({"owner": "ml-team"})
    assert StaticTable.from_metadata(filled.metadata_location).properties["owner"] == "ml-team"


def test_a_bad_value_names_the_key_and_the_values_it_takes(filled: Table) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        filled.set_properties({"write.parquet.row-group-limit": "lots"})
    assert str(refused.value) == 'table property write.parquet.row-group-limit must be a positive integer, not "lots"'


def test_the_registry_lists_every_key_the_engine_reads_and_the_docs_page_does_too() -> None:
    registry = datashard.table_properties()
    assert registry["datashard.commit.durability"] == (
        "fsync", '"fsync" or "process"', registry["datashard.commit.durability"][2])
    assert registry["datashard.group.*"][0] is None
    page = (Path(__file__).resolve().parents[2] / "docs" / "table-properties.md").read_text()
    for key, (default, values, doc) in registry.items():
        assert doc and values
        shown = f"`{default}`" if default is not None else "none"
        assert f"| `{key}` | {shown}" in page, f"docs/table-properties.md does not list {key} with its default"
