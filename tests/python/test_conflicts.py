"""Conflict rules, shown with two writers (two Table objects on one table) whose steps are
interleaved deterministically, and Table.transact's retry loop.

The rules (Iceberg's): appends never conflict; a commit that removes a data file fails if
another writer removed or rewrote it first; under serializable isolation a commit also fails
if rows matching what it read were added concurrently. The loser's commit leaves no trace.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from datashard import ConcurrentModificationException, InvalidArgumentError, Table, load_table

from conftest import files_under, make_rows


def ids(table: Table) -> list[int]:
    return sorted(r["id"] for r in table.scan(columns=["id"]))


@pytest.fixture
def one_file(table: Table) -> Table:
    """ids 0..9 in one data file."""
    table.append_records(make_rows(0, 10))
    return table


def two_writers(table: Table, isolation: str = "snapshot", second_isolation: str | None = None):
    first = table.new_transaction(isolation).begin()
    second = load_table(table.location).new_transaction(second_isolation or isolation).begin()
    return first, second


def assert_loses(tx, table: Table) -> None:
    """The commit fails with a conflict, ends the transaction and leaves no file behind."""
    before = files_under(table.location)
    with pytest.raises(ConcurrentModificationException):
        tx.commit()
    assert not tx.is_active()
    assert _without_lock(files_under(table.location)) <= before


def _without_lock(paths: set[str]) -> set[str]:
    # the engine's host-local commit queue file may appear after a lost race; it holds no data
    return {p for p in paths if not p.endswith(".commit-queue.lock")}


# -- snapshot isolation -----------------------------------------------------------------------------


def test_removing_the_same_file_twice_second_fails(one_file: Table) -> None:
    a, b = two_writers(one_file)
    assert a.delete({"id": 3}) == 1
    assert b.delete({"id": 4}) == 1  # another row, same file
    a.commit()
    assert_loses(b, one_file)
    assert ids(one_file) == [i for i in range(10) if i != 3]


@pytest.mark.parametrize("second", ["delete_files", "overwrite", "delete_all"])
def test_every_kind_of_removal_conflicts(one_file: Table, second: str) -> None:
    a, b = two_writers(one_file)
    path = one_file.data_files()[0]["file_path"]
    a.overwrite(make_rows(100, 1), where={"id": 0})
    if second == "delete_files":
        b.delete_files([path])
    elif second == "overwrite":
        b.overwrite(make_rows(200, 1), where={"id": 9})
    else:
        b.delete(None)
    a.commit()
    assert_loses(b, one_file)
    assert ids(one_file) == list(range(1, 10)) + [100]


def test_removals_of_different_files_both_commit(table: Table) -> None:
    table.append_records(make_rows(0, 10))
    table.append_records(make_rows(10, 10))
    a, b = two_writers(table)
    a.delete({"id": 3})
    b.delete({"id": 13})
    a.commit()
    b.commit()
    assert ids(table) == [i for i in range(20) if i not in (3, 13)]


def test_append_and_delete_both_commit(one_file: Table) -> None:
    a, b = two_writers(one_file)
    a.delete({"id": ("<", 5)})
    b.append_records(make_rows(1, 1))  # matches a's filter, but a planned against its base
    b.append_records(make_rows(50, 1))
    b.commit()
    a.commit()  # snapshot isolation: appends never conflict
    assert ids(one_file) == [1, 5, 6, 7, 8, 9, 50]


def test_appends_never_conflict(one_file: Table) -> None:
    a, b = two_writers(one_file, "serializable")
    a.append_records(make_rows(10, 2))
    b.append_records(make_rows(10, 2))  # the same rows: still two appends
    a.commit()
    b.commit()
    assert one_file.row_count() == 14


# -- serializable isolation ---------------------------------------------------------------------------


def test_serializable_read_then_concurrent_matching_append_fails(one_file: Table) -> None:
    a, b = two_writers(one_file, "serializable", "snapshot")
    seen = a.scan(filter={"group": 1})
    a.append_records([{"id": 100, "group": 1, "name": f"saw {len(seen)}"}])
    b.append_records([{"id": 20, "group": 1}])  # a row a's read would have returned
    b.commit()
    assert_loses(a, one_file)
    assert 100 not in ids(one_file)


def test_serializable_read_then_concurrent_unrelated_append_commits(one_file: Table) -> None:
    a, b = two_writers(one_file, "serializable", "snapshot")
    a.scan(filter={"id": ("<", 10)})
    a.append_records([{"id": 100, "group": 1}])
    b.append_records([{"id": 500, "group": 1}])  # outside what a read (by its column bounds)
    b.commit()
    a.commit()
    assert 100 in ids(one_file) and 500 in ids(one_file)


def test_same_interleaving_under_snapshot_isolation_commits(one_file: Table) -> None:
    a, b = two_writers(one_file, "snapshot")
    a.scan(filter={"group": 1})
    a.append_records([{"id": 100, "group": 1}])
    b.append_records([{"id": 20, "group": 1}])
    b.commit()
    a.commit()
    assert {20, 100} <= set(ids(one_file))


def test_serializable_delete_fails_on_concurrent_matching_append(one_file: Table) -> None:
    a, b = two_writers(one_file, "serializable", "snapshot")
    a.delete({"id": ("<", 5)})  # a delete's filter counts as read
    b.append_records(make_rows(2, 1))
    b.commit()
    assert_loses(a, one_file)
    assert ids(one_file) == sorted(list(range(10)) + [2])


def test_serializable_whole_table_read_conflicts_with_any_append(one_file: Table) -> None:
    a, b = two_writers(one_file, "serializable", "snapshot")
    a.to_arrow()
    a.append_records(make_rows(100, 1))
    b.append_records(make_rows(900, 1))
    b.commit()
    assert_loses(a, one_file)


def test_read_only_serializable_transaction_commits(one_file: Table) -> None:
    a, b = two_writers(one_file, "serializable", "snapshot")
    a.to_arrow()
    b.append_records(make_rows(100, 1))
    b.commit()
    a.commit()  # nothing to publish: a read-only transaction is always serializable
    assert a.snapshot_id is None


def test_serializable_prevents_write_skew(table: Table) -> None:
    # Two doctors on call, one row (and file) each. Each transaction checks that both are on
    # call, then takes ONE of them off call. Serially, the second would see only one on call.
    table.append_records([{"id": 1, "name": "alice", "group": 1}])
    table.append_records([{"id": 2, "name": "bob", "group": 1}])
    a, b = two_writers(table, "serializable")
    assert len(a.scan(filter={"group": 1})) == 2
    assert len(b.scan(filter={"group": 1})) == 2
    a.overwrite([{"id": 1, "name": "alice", "group": 0}], where={"id": 1})
    b.overwrite([{"id": 2, "name": "bob", "group": 0}], where={"id": 2})
    a.commit()
    with pytest.raises(ConcurrentModificationException):
        b.commit()
    assert len(table.scan(filter={"group": 1})) == 1  # someone is still on call


# -- sequences of changes inside one transaction ------------------------------------------------------


def test_two_deletes_in_one_transaction(one_file: Table) -> None:
    with one_file.new_transaction() as tx:
        assert tx.delete({"group": 0}) == 4  # ids 0, 3, 6, 9
        assert tx.delete({"group": 1}) == 3  # ids 1, 4, 7: same file as the first delete
    assert ids(one_file) == [2, 5, 8]


def test_delete_files_after_a_delete_of_the_same_file(one_file: Table) -> None:
    path = one_file.data_files()[0]["file_path"]
    with one_file.new_transaction() as tx:
        tx.delete({"id": 0})
        tx.delete_files([path])  # the whole file: its rewritten copy must go too
    assert ids(one_file) == []


# -- Table.transact -------------------------------------------------------------------------------------


def _counter_table(table: Table) -> Table:
    table.append_records([{"id": 0, "group": 0, "score": 0.0}])
    return table


def _increment(tx) -> int:
    n = int(tx.to_arrow(filter={"id": 0})["score"][0].as_py()) + 1
    tx.overwrite([{"id": 0, "group": 0, "score": float(n)}], where={"id": 0})
    return n


def test_transact_commits_and_returns_fn_result(table: Table) -> None:
    _counter_table(table)
    assert table.transact(_increment) == 1
    assert table.transact(_increment, retries=0, isolation="snapshot") == 2
    assert table.scan(filter={"id": 0})[0]["score"] == 2.0


def test_transact_reruns_fn_after_a_conflict(table: Table) -> None:
    _counter_table(table)
    other = load_table(table.location)
    calls = []

    def fn(tx):
        calls.append(tx.base_snapshot_id)
        n = _increment(tx)
        if len(calls) == 1:  # another writer increments between our read and our commit
            other.transact(_increment)
        return n

    assert table.transact(fn) == 2  # the first run computed 1 and lost; the second read 1
    assert len(calls) == 2 and calls[0] != calls[1]
    assert table.scan(filter={"id": 0})[0]["score"] == 2.0


def test_transact_gives_up_after_retries(table: Table) -> None:
    _counter_table(table)
    other = load_table(table.location)
    calls = 0

    def always_loses(tx):
        nonlocal calls
        calls += 1
        _increment(tx)
        other.transact(_increment)

    before = files_under(table.location)
    with pytest.raises(ConcurrentModificationException):
        table.transact(always_loses, retries=2)
    assert calls == 3
    assert table.scan(filter={"id": 0})[0]["score"] == 3.0  # only the other writer's increments
    # the loser's files are gone: the only new data files are the other writer's three
    added = [p for p in files_under(table.location) - before if p.endswith(".parquet")]
    assert len(added) == 3


def test_transact_error_in_fn_rolls_back_without_retry(table: Table) -> None:
    _counter_table(table)
    before = files_under(table.location)
    calls = 0

    def fails(tx):
        nonlocal calls
        calls += 1
        tx.delete(None)
        raise LookupError("no")

    with pytest.raises(LookupError):
        table.transact(fails)
    assert calls == 1 and table.row_count() == 1
    assert files_under(table.location) == before


def test_transact_fn_may_end_the_transaction_itself(table: Table) -> None:
    _counter_table(table)

    def rolls_back(tx):
        tx.delete(None)
        tx.rollback()
        return "kept"

    assert table.transact(rolls_back) == "kept" and table.row_count() == 1


def test_transact_arguments(table: Table) -> None:
    with pytest.raises(InvalidArgumentError):
        table.transact(_increment, retries=-1)
    with pytest.raises(InvalidArgumentError):
        table.transact("not callable")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        table.transact(_increment, isolation="chaos")


def test_table_delete_replans_after_a_conflict(one_file: Table) -> None:
    # Table.delete is a statement: when a concurrent commit rewrote its file first, it is
    # planned again on the new state instead of failing.
    other = load_table(one_file.location)
    original = one_file.new_transaction

    def racing_transaction(*args, **kwargs):
        tx = original(*args, **kwargs)
        begin = tx.begin

        def begin_then_race():
            begin()
            if racing_transaction.races:
                racing_transaction.races -= 1
                other.overwrite(pa.table({"id": [100], "group": [1]}), where={"id": 9})
            return tx

        tx.begin = begin_then_race
        return tx

    racing_transaction.races = 1
    one_file.new_transaction = racing_transaction
    assert one_file.delete({"id": ("<", 3)}) == 3
    assert ids(one_file) == [3, 4, 5, 6, 7, 8, 100]
