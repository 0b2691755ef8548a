"""The original package's (0.11.2) Table and Transaction spellings and return types, beside
the modern ones: properties() as a method, set_properties({k: None}) -> truthy,
expire_snapshots(...) -> int, compact_manifests() -> bool, and the keywords 0.11.2 took."""

from __future__ import annotations

import json
import pickle
import time

import pyarrow as pa
import pytest

from datashard import InvalidArgumentError, Schema, SchemaError, Table, create_table

from conftest import make_rows


def _snapshot_count(t: Table) -> int:
    return len(t.snapshots())


# -- properties --------------------------------------------------------------------------------


def test_properties_is_a_dict_and_a_method(filled: Table) -> None:
    filled.set_properties({"owner": "ml-team"})
    assert filled.properties["owner"] == "ml-team"  # modern: an attribute
    called = filled.properties()  # 0.11.2: a method returning a dict
    assert type(called) is dict and called["owner"] == "ml-team"
    assert called == filled.properties and isinstance(filled.properties, dict)
    called["owner"] = "changed"  # a copy: the table is not changed
    assert filled.properties()["owner"] == "ml-team"


def test_set_properties_none_removes_and_returns_true(filled: Table) -> None:
    version = filled.version
    result = filled.set_properties({"x": "1", "y": "2"})
    assert result and result == True  # noqa: E712 - 0.11.2 returned True
    assert result["x"] == "1" and filled.properties()["y"] == "2"  # modern: the properties in force
    assert filled.set_properties({"x": None})  # 0.11.2: None removes
    assert "x" not in filled.properties() and filled.properties()["y"] == "2"
    assert filled.version == version + 2
    # None beside values and remove= in one commit
    filled.set_properties({"y": None, "z": "3"}, remove=["nope"])
    assert "y" not in filled.properties and filled.properties["z"] == "3"
    assert filled.version == version + 3


def test_set_properties_is_true_even_when_no_property_is_left(tmp_path) -> None:
    t = create_table(str(tmp_path / "t"), Schema(schema_id=1, fields=[{"id": 1, "name": "a", "type": "long"}]))
    for key in list(t.properties):
        t.set_properties({key: None})
    result = t.set_properties({"only": None})
    assert result == {} and result and result == True  # noqa: E712
    assert not (result != True)  # noqa: E712


# -- expire_snapshots --------------------------------------------------------------------------


def test_expire_snapshots_returns_the_count_and_the_report(filled: Table) -> None:
    filled.append_records(make_rows(30, 5))
    filled.append_records(make_rows(35, 5))
    old = [s["snapshot_id"] for s in filled.snapshots()]
    assert len(old) == 5
    removed = filled.expire_snapshots(retain_last=2)
    # 0.11.2: how many snapshots expired
    assert removed == 3 and removed != 2 and 2 < removed <= 3 and removed and int(removed) == 3
    assert removed + 1 == 4 and 1 + removed == 4 and sum([removed, removed]) == 6 and 5 - removed == 2
    assert f"{removed}" == "3" and str(removed) == "3" and "%d" % removed == "3" and f"{removed:03d}" == "003"
    # modern: the report, a dict
    assert isinstance(removed, dict) and removed["expired_snapshot_ids"] == old[:3]
    assert "deleted_data_files" in removed and removed == dict(removed) and removed != {}
    assert json.loads(json.dumps(removed))["expired_snapshot_ids"] == old[:3]
    removed["note"] = "mutable, as a dict"
    assert pickle.loads(pickle.dumps(removed)) == removed and pickle.loads(pickle.dumps(removed)) == 3
    assert "ExpireSnapshotsResult(3, {" in repr(removed)
    assert _snapshot_count(filled) == 2
    none = filled.expire_snapshots(retain_last=2)
    assert none == 0 and not none and none["expired_snapshot_ids"] == []  # nothing left to expire
    assert filled.row_count() == 40


def test_expire_snapshots_original_keywords(filled: Table) -> None:
    assert filled.expire_snapshots(older_than_ms=int(time.time() * 1000) - 3_600_000) == 0
    assert filled.expire_snapshots(older_than_ms=int(time.time() * 1000) + 1000, retain_last=None) == 2
    assert _snapshot_count(filled) == 1
    with pytest.raises(InvalidArgumentError):
        filled.expire_snapshots(older_than=0, older_than_ms=0)
    with pytest.raises(ValueError):  # InvalidArgumentError is a ValueError, as 0.11.2 raised
        filled.expire_snapshots(retain_last=0)


def test_expire_snapshots_can_compact_manifests(filled: Table) -> None:
    filled.append_records(make_rows(30, 5))
    result = filled.expire_snapshots(retain_last=2, compact_manifests=True)
    assert result == 2 and result["manifests_snapshot_id"] == filled.current_snapshot().snapshot_id
    assert filled.compact_manifests() == False  # noqa: E712 - already merged
    assert filled.row_count() == 35 and filled.verify()["ok"]
    # the modern call has no compaction and no extra key
    assert "manifests_snapshot_id" not in filled.expire_snapshots(retain_last=1)


# -- compact_manifests -------------------------------------------------------------------------


def test_compact_manifests_is_a_bool_and_a_report(filled: Table) -> None:
    merged = filled.compact_manifests()
    assert merged and merged == True and not (merged == False)  # noqa: E712 - 0.11.2's bool
    assert merged != False  # noqa: E712
    assert merged["snapshot_id"] == filled.current_snapshot().snapshot_id  # modern: the report
    assert merged["rewritten_manifests"] == 3 and merged["added_manifests"] == 1
    again = filled.compact_manifests()
    assert not again and again == False and again != True  # noqa: E712
    assert again == {"snapshot_id": None, "rewritten_manifests": 0, "added_manifests": 0}
    assert json.loads(json.dumps(again)) == {"snapshot_id": None, "rewritten_manifests": 0, "added_manifests": 0}
    assert filled.row_count() == 30


# -- other keywords 0.11.2 took ---------------------------------------------------------------


def test_append_arrow_takes_a_schema(tmp_path) -> None:
    schema = Schema(schema_id=1, fields=[{"id": 7, "name": "a", "type": "long", "required": False}])
    t = create_table(str(tmp_path / "t"))  # no schema: the one given to the first append wins
    assert t.append_arrow(pa.table({"a": pa.array([1, 2], pa.int64())}), schema=schema) is True
    assert t.schema().fields[0]["id"] == 7 and t.row_count() == 2
    assert t.append_arrow(pa.table({"a": pa.array([3], pa.int64())}), schema) is True
    other = Schema(schema_id=1, fields=[{"id": 1, "name": "b", "type": "string", "required": False}])
    with pytest.raises(SchemaError):
        t.append_arrow(pa.table({"a": pa.array([4], pa.int64())}), schema=other)
    assert t.append_arrow(pa.table({"a": pa.array([4], pa.int64())})) is True  # modern form
    assert t.row_count() == 4


def test_transaction_original_calls(filled: Table) -> None:
    schema = filled.schema()
    with filled.new_transaction() as tx:
        tx.append_arrow(pa.table({"id": [30], "name": ["x"], "score": [1.0], "group": pa.array([0], pa.int32())}),
                        schema=schema, partition_values={"ignored": 1})
        tx.set_properties({"owner": "ml-team"})
        tx.expire_snapshots(retain_last=1)
        tx.compact_manifests()
    assert filled.row_count() == 31 and filled.properties()["owner"] == "ml-team"
    assert _snapshot_count(filled) == 2  # expiry kept the append's snapshot; the merge added one
    assert filled.compact_manifests() == False  # noqa: E712 - merged already
    with filled.new_transaction() as tx:
        tx.set_properties({"owner": None})
    assert "owner" not in filled.properties
    with pytest.raises(ValueError):
        filled.new_transaction().begin().expire_snapshots()  # 0.11.2: one criterion is needed
    with pytest.raises(ValueError):
        filled.new_transaction().begin().expire_snapshots(retain_last=0)
    with pytest.raises(RuntimeError):
        filled.new_transaction().compact_manifests()  # not begun


def test_rewrite_data_files_and_verify_take_the_original_keywords(filled: Table) -> None:
    report = filled.rewrite_data_files(target_file_size_bytes=64 << 20, min_input_files=2)
    assert report["rewritten_files"] == 3 and report["added_files"] == 1
    with pytest.raises(NotImplementedError):
        filled.rewrite_data_files(dry_run=True)
    with pytest.raises(NotImplementedError):
        filled.rewrite_data_files(partition={"group": 1})
    checked = filled.verify(deep=True)
    assert checked["ok"] and checked["errors"] == [] and checked["deep"] is True
    assert checked["checked_files"] == checked["data_files"] == 1
    assert filled.verify(limit=1)["ok"] and filled.verify(snapshot_id=filled.snapshots()[0]["snapshot_id"])["ok"]
    assert filled.verify()["problems"] == []  # the modern report


def test_original_methods_datashard_cannot_serve_say_so(filled: Table) -> None:
    with pytest.raises(NotImplementedError, match="version hint"):
        filled.repair_version_hint("v3.metadata.json")
    with pytest.raises(NotImplementedError, match="relocate"):
        filled.relocate()
    assert filled._get_current_schema(None) == filled.schema()


def test_scan_takes_the_original_positional_order(filled: Table) -> None:
    first = filled.snapshots()[0]["snapshot_id"]
    # 0.11.2: scan(columns, filter, parallel, verify_checksums, snapshot_id)
    rows = filled.scan(["id"], None, False, None, first)
    assert sorted(r["id"] for r in rows) == list(range(10))
    assert len(filled.scan(snapshot_id=first)) == 10 and len(filled.scan()) == 30
