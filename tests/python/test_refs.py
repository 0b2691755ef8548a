"""Tags and branches (Iceberg refs), history(), and reading by ref."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datashard import InvalidArgumentError, Table, col, load_table

from conftest import make_rows


def ids(data: pa.Table) -> list[int]:
    return sorted(data["id"].to_pylist())


def test_history_lists_operations_and_row_changes(filled: Table) -> None:
    filled.delete(col("id") < 5)
    filled.overwrite(make_rows(100, 2), where=col("id") == 29)
    filled.compact()
    h = filled.history()
    assert [e["operation"] for e in h][:3] == ["replace", "replace", "overwrite"]
    assert h[0]["current"] and not any(e["current"] for e in h[1:])
    by_op = [(e["operation"], e["rows_added"], e["rows_removed"], e["total_rows"]) for e in reversed(h)]
    assert by_op[:3] == [("append", 10, 0, 10), ("append", 10, 0, 20), ("append", 10, 0, 30)]
    delete = by_op[3]
    assert delete[0] in ("delete", "overwrite") and delete[2] >= 5 and delete[3] == 25
    assert by_op[4][3] == 26  # one row replaced by two
    assert all(e["total_rows"] == 26 for e in h[:2])  # compaction changes no rows
    assert h[0]["timestamp"].tzinfo is not None and h[0]["parent_id"] == h[1]["snapshot_id"]
    assert [e["snapshot_id"] for e in filled.history(limit=2)] == [e["snapshot_id"] for e in h[:2]]
    assert filled.history(limit=0) == []


def test_tags_pin_snapshots_through_expiry(filled: Table) -> None:
    first, second = [e["snapshot_id"] for e in reversed(filled.history())][:2]
    filled.create_tag("v1", first)
    filled.create_tag("latest")  # the current snapshot
    assert filled.refs()["v1"] == {"snapshot_id": first, "type": "tag"}
    assert filled.refs()["latest"]["snapshot_id"] == filled.current_snapshot().snapshot_id

    result = filled.expire_snapshots(retain_last=1)
    assert second in result["expired_snapshot_ids"] and first not in result["expired_snapshot_ids"]
    assert filled.snapshot_by_id(second) is None
    assert ids(filled.to_arrow(ref="v1")) == list(range(10))  # its files were kept
    assert filled.verify(first)["ok"]
    assert ids(filled.to_arrow(snapshot_id=first)) == list(range(10))

    filled.drop_tag("v1")
    assert "v1" not in filled.refs()
    assert first in filled.expire_snapshots(retain_last=1)["expired_snapshot_ids"]
    with pytest.raises(InvalidArgumentError, match="v1"):
        filled.to_arrow(ref="v1")
    assert ids(filled.to_arrow()) == list(range(30))


def test_branch_writes_leave_main_alone(filled: Table) -> None:
    main_before = filled.current_snapshot().snapshot_id
    filled.create_branch("dev")
    with filled.new_transaction(branch="dev") as tx:
        assert tx.branch == "dev" and tx.base_snapshot_id == main_before
        tx.append_records(make_rows(100, 3))
        tx.delete(col("id") < 10)
    assert filled.current_snapshot().snapshot_id == main_before
    assert ids(filled.to_arrow()) == list(range(30))
    assert ids(filled.to_arrow(ref="dev")) == list(range(10, 30)) + [100, 101, 102]
    assert filled.row_count(ref="dev") == 23

    # a second transaction on the branch starts from the branch's head; main moves on alone
    filled.transact(lambda tx: tx.append_records(make_rows(200, 1)), branch="dev")
    filled.append_records(make_rows(300, 1))
    dev_history = filled.history(ref="dev")
    assert dev_history[0]["snapshot_id"] == filled.refs()["dev"]["snapshot_id"]
    assert dev_history[2]["snapshot_id"] == main_before  # branch commits sit on main's old head
    assert 200 in ids(filled.to_arrow(ref="dev")) and 300 not in ids(filled.to_arrow(ref="dev"))
    assert 300 in ids(filled.to_arrow()) and 200 not in ids(filled.to_arrow())

    # another process sees the branch
    assert load_table(filled.location).row_count(ref="dev") == 24
    filled.drop_branch("dev")
    assert "dev" not in filled.refs()


def test_ref_errors(filled: Table) -> None:
    filled.create_tag("t")
    filled.create_branch("b")
    with pytest.raises(InvalidArgumentError, match="exists"):
        filled.create_tag("t")
    with pytest.raises(InvalidArgumentError, match="exists"):
        filled.create_branch("t")
    with pytest.raises(InvalidArgumentError, match="is a branch"):
        filled.drop_tag("b")
    with pytest.raises(InvalidArgumentError, match="is a tag"):
        filled.drop_branch("t")
    with pytest.raises(InvalidArgumentError):
        filled.drop_tag("nope")
    with pytest.raises(InvalidArgumentError, match="main"):
        filled.drop_branch("main")
    with pytest.raises(InvalidArgumentError):
        filled.create_tag("x", snapshot_id=12345)
    with pytest.raises(InvalidArgumentError):
        filled.create_tag("")
    with pytest.raises(InvalidArgumentError, match="refs"):
        filled.to_arrow(ref="nope")
    with pytest.raises(InvalidArgumentError, match="at most one"):
        filled.to_arrow(ref="t", snapshot_id=1)
