"""Transactions: begin/commit/rollback and the context manager, with the original's semantics."""

from __future__ import annotations

import pytest

from datashard import SchemaError, Table, Transaction

from conftest import files_under


@pytest.mark.smoke
def test_commit_publishes_all_appends_in_one_snapshot(table: Table, rows, schema) -> None:
    tx = table.new_transaction()
    assert isinstance(tx, Transaction) and not tx.is_active()
    assert tx.begin() is tx and tx.is_active()
    tx.append_data(rows(0, 5), schema)
    tx.append_records(rows(5, 5))
    assert table.row_count() == 0  # not visible before commit
    assert tx.commit() is True
    assert not tx.is_active()
    assert table.row_count() == 10
    assert len(table.snapshots()) == 1
    assert tx.snapshot_id == table.current_snapshot().snapshot_id


def test_append_before_begin_raises(table: Table, rows) -> None:
    tx = table.new_transaction()
    with pytest.raises(RuntimeError):
        tx.append_data(rows(0, 1))
    with pytest.raises(RuntimeError):
        tx.commit()
    assert tx.rollback() is False
    tx.begin()
    with pytest.raises(RuntimeError):
        tx.begin()
    tx.rollback()


@pytest.mark.smoke
def test_rollback_leaves_no_trace(table: Table, rows) -> None:
    table.append_records(rows(0, 3))
    before = files_under(table.location)
    snap = table.current_snapshot()
    tx = table.new_transaction().begin()
    tx.append_data(rows(3, 4))
    tx.append_data(rows(7, 4))
    assert tx.rollback() is True
    assert not tx.is_active()
    assert table.row_count() == 3
    assert table.current_snapshot() == snap
    assert files_under(table.location) == before


def test_with_block_commits_on_normal_exit(table: Table, rows) -> None:
    with table.new_transaction() as tx:
        tx.append_data(rows(0, 2))
        tx.append_data(rows(2, 2))
    assert not tx.is_active()
    assert table.row_count() == 4
    assert len(table.snapshots()) == 1


def test_with_block_explicit_commit_inside(table: Table, rows, schema) -> None:
    with table.new_transaction() as tx:  # the README's form
        tx.append_data(rows(0, 2), schema)
        tx.commit()
    assert table.row_count() == 2
    assert len(table.snapshots()) == 1


@pytest.mark.smoke
def test_exception_in_with_block_rolls_back_and_propagates(table: Table, rows) -> None:
    before = files_under(table.location)
    with pytest.raises(KeyError):
        with table.new_transaction() as tx:
            tx.append_data(rows(0, 5))
            raise KeyError("boom")
    assert not tx.is_active()
    assert table.row_count() == 0
    assert table.current_snapshot() is None
    assert files_under(table.location) == before


def test_bad_records_in_transaction(table: Table, rows) -> None:
    with pytest.raises(SchemaError, match='row 1, field "id"'):
        with table.new_transaction() as tx:
            tx.append_data(rows(0, 2))
            tx.append_data([{"id": 1, "group": 0}, {"id": "x", "group": 0}])
    assert table.row_count() == 0


def test_empty_transaction_commits_nothing(table: Table) -> None:
    with table.new_transaction() as tx:
        pass
    assert tx.snapshot_id is None
    assert table.current_snapshot() is None


def test_transaction_arrow_and_pandas(table: Table) -> None:
    import pyarrow as pa

    pd = pytest.importorskip("pandas")
    with table.new_transaction() as tx:
        tx.append_arrow(pa.table({"id": [1], "group": [0]}))
        tx.append_pandas(pd.DataFrame({"id": [2], "group": [1]}))
    assert sorted(r["id"] for r in table.scan()) == [1, 2]


def test_transaction_object_is_reusable(table: Table, rows) -> None:
    tx = table.new_transaction()
    for start in (0, 10):
        tx.begin()
        tx.append_data(rows(start, 10))
        tx.commit()
    assert table.row_count() == 20
    assert len(table.snapshots()) == 2
