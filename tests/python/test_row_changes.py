"""Row-level changes: Table.delete / Table.overwrite, and a transaction's delete, overwrite,
delete_files, overwrite_by_filter, reads of its base snapshot and commit keys."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from datashard import InvalidArgumentError, SchemaError, Table, load_table

from conftest import by_id, files_under, make_rows, run_python


def ids(table: Table) -> list[int]:
    return sorted(r["id"] for r in table.scan(columns=["id"]))


# -- Table.delete / Table.overwrite -------------------------------------------------------------------


def test_delete_by_filter_returns_rows_deleted(filled: Table) -> None:
    before = filled.current_snapshot()
    assert filled.delete({"id": ("between", (5, 14))}) == 10
    assert ids(filled) == [i for i in range(30) if not 5 <= i <= 14]
    assert filled.row_count() == 20
    snap = filled.current_snapshot()
    assert snap.parent_snapshot_id == before.snapshot_id
    assert snap.operation in ("delete", "overwrite")
    # the past is untouched
    assert sorted(r["id"] for r in filled.scan(snapshot_id=before.snapshot_id)) == list(range(30))


def test_delete_rewrites_only_the_files_holding_matching_rows(filled: Table) -> None:
    files = {f["file_path"] for f in filled.data_files()}
    assert filled.delete({"id": 25}) == 1  # only in the third file
    after = {f["file_path"] for f in filled.data_files()}
    assert len(files & after) == 2 and len(after) == 3


def test_delete_nothing_matches_commits_nothing(filled: Table) -> None:
    snap = filled.current_snapshot()
    assert filled.delete({"id": ("in", [1000, 2000])}) == 0
    assert filled.current_snapshot() == snap


def test_delete_every_row(filled: Table) -> None:
    assert filled.delete(None) == 30
    assert filled.scan() == [] and filled.row_count() == 0 and filled.data_files() == []


def test_delete_null_semantics(filled: Table) -> None:
    # ids 4, 9, 14, 19, 24, 29 have a null name: a comparison never selects them
    assert filled.delete({"name": ("!=", "name-0")}) == 30 - 6 - 1
    assert ids(filled) == [0, 4, 9, 14, 19, 24, 29]
    assert filled.delete({"name": ("is_null", None)}) == 6
    assert ids(filled) == [0]


def test_delete_bad_filter_writes_nothing(filled: Table) -> None:
    before = files_under(filled.location)
    with pytest.raises(SchemaError, match="unknown column"):
        filled.delete({"nope": 1})
    with pytest.raises(InvalidArgumentError):
        filled.delete({"id": ("~", 1)})
    assert files_under(filled.location) == before


def test_overwrite_replaces_matching_rows(filled: Table) -> None:
    new = [{"id": 100 + i, "name": "new", "score": None, "group": 9} for i in range(3)]
    assert filled.overwrite(new, where={"group": 0}) == 10
    rows = filled.scan()
    assert sorted(r["id"] for r in rows if r["group"] == 9) == [100, 101, 102]
    assert not any(r["group"] == 0 for r in rows)
    assert filled.row_count() == 23
    assert len(filled.snapshots()) == 4  # one commit


def test_overwrite_without_filter_replaces_the_table(filled: Table) -> None:
    assert filled.overwrite(pa.table({"id": [7], "group": [1]})) == 30
    assert filled.scan() == [{"id": 7, "name": None, "score": None, "group": 1}]


def test_overwrite_with_a_one_shot_stream(filled: Table) -> None:
    reader = pa.RecordBatchReader.from_batches(
        pa.schema([("id", pa.int64()), ("group", pa.int32())]),
        [pa.record_batch({"id": [500, 501], "group": pa.array([1, 1], pa.int32())})],
    )
    assert filled.overwrite(reader, where={"id": ("<", 10)}) == 10
    assert ids(filled) == list(range(10, 30)) + [500, 501]


def test_overwrite_bad_data_changes_nothing(filled: Table) -> None:
    before = files_under(filled.location)
    snap = filled.current_snapshot()
    with pytest.raises(SchemaError):
        filled.overwrite([{"id": "not a number", "group": 1}], where={"group": 0})
    with pytest.raises(SchemaError):
        filled.overwrite(pa.table({"id": [1]}), where={"group": 0})  # required "group" missing
    assert filled.current_snapshot() == snap
    assert files_under(filled.location) == before


# -- transactions ---------------------------------------------------------------------------------------


def test_transaction_combines_append_delete_overwrite_in_one_snapshot(filled: Table) -> None:
    with filled.new_transaction() as tx:
        tx.append_data(make_rows(30, 5))
        assert tx.delete({"id": ("<", 3)}) == 3
        assert tx.overwrite([{"id": 999, "group": 2}], where={"id": 20}) == 1
        assert filled.row_count() == 30  # nothing visible before commit
    assert len(filled.snapshots()) == 4
    assert ids(filled) == [i for i in range(3, 35) if i != 20] + [999]


def test_transaction_rollback_of_deletes_leaves_no_trace(filled: Table) -> None:
    before = files_under(filled.location)
    snap = filled.current_snapshot()
    tx = filled.new_transaction().begin()
    tx.delete({"group": 1})
    tx.overwrite(make_rows(100, 2), where={"id": 0})
    tx.append_data(make_rows(200, 2))
    assert tx.rollback() is True
    assert filled.current_snapshot() == snap and ids(filled) == list(range(30))
    assert files_under(filled.location) == before


def test_exception_in_with_block_rolls_back_deletes(filled: Table) -> None:
    before = files_under(filled.location)
    with pytest.raises(ZeroDivisionError):
        with filled.new_transaction() as tx:
            tx.delete(None)
            1 / 0
    assert ids(filled) == list(range(30))
    assert files_under(filled.location) == before


def test_transaction_reads_its_base_snapshot(filled: Table) -> None:
    tx = filled.new_transaction().begin()
    base = filled.current_snapshot().snapshot_id
    assert tx.base_snapshot_id == base
    other = load_table(filled.location)
    other.append_records(make_rows(30, 5))  # committed after tx began
    other.delete({"id": 0})
    assert sorted(r["id"] for r in tx.scan(columns=["id"])) == list(range(30))
    assert tx.to_arrow(filter={"id": ("<", 2)}).num_rows == 2
    assert sum(b.num_rows for b in tx.to_batches(batch_size=7)) == 30
    assert tx.to_arrow(columns=["id"], limit=4).num_rows == 4
    assert tx.delete({"id": 21}) == 1  # planned against the base, in a file the other left alone
    tx.commit()
    assert ids(filled) == [i for i in range(1, 35) if i != 21]


def test_transaction_scan_returns_rows_like_table_scan(filled: Table) -> None:
    with filled.new_transaction() as tx:
        assert by_id(tx.scan()) == by_id(filled.scan())
        assert tx.scan(columns=["id"], filter={"group": 2})[0].keys() == {"id"}


def test_transaction_refuses_use_after_end(filled: Table) -> None:
    tx = filled.new_transaction()
    for call in (lambda: tx.delete(None), lambda: tx.scan(), lambda: tx.delete_files([])):
        with pytest.raises(RuntimeError):
            call()
    tx.begin()
    tx.commit()
    with pytest.raises(RuntimeError):
        tx.overwrite(make_rows(0, 1), where={"id": 1})


def test_isolation_argument(filled: Table) -> None:
    assert filled.new_transaction().isolation == "snapshot"
    assert filled.new_transaction("serializable").isolation == "serializable"
    with pytest.raises(InvalidArgumentError, match="isolation"):
        filled.new_transaction("read_committed")


# -- delete_files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["absolute", "relative", "slash-relative", "entry"])
def test_delete_files_accepts_every_spelling(filled: Table, spelling: str) -> None:
    entry = next(f for f in filled.data_files() if f["record_count"] == 10)
    path = entry["file_path"]
    rel = os.path.relpath(path, filled.location)  # data/<uuid>.parquet
    arg = {"absolute": path, "relative": rel, "slash-relative": "/" + rel, "entry": entry}[spelling]
    with filled.new_transaction() as tx:
        assert tx.delete_files([arg]) is tx
    assert filled.row_count() == 20
    assert path not in {f["file_path"] for f in filled.data_files()}
    assert os.path.exists(path)  # removed from the table, left on disk for maintenance


# _core raises these errors from inside a gil_scoped_release block (CoreTransaction::Append and
# ::DeleteFiles call Check() without the GIL): the process dies with SIGSEGV instead of raising.
# The calls run in a child process so that the crash fails these tests, not the whole run.
_CORE_GIL_BUG = (
    "_core raises with the GIL released (CoreTransaction::Append/DeleteFiles/Rollback, "
    "CoreTable::Refresh call Check() inside gil_scoped_release): segfault"
)


def test_delete_files_unknown_path_is_an_error(filled: Table) -> None:
    r = run_python(
        """
        import sys
        from datashard import InvalidArgumentError, load_table
        t = load_table(sys.argv[1])
        try:
            with t.new_transaction() as tx:
                tx.delete_files(["data/no-such-file.parquet"])
        except InvalidArgumentError as e:
            assert "not in the table" in str(e), e
            print("raised")
        """,
        filled.location,
    )
    assert r.returncode == 0 and r.stdout.strip() == "raised", (r.returncode, r.stderr[-2000:])
    assert filled.row_count() == 30


def test_corrupt_newest_metadata_is_an_error_not_a_crash(filled: Table) -> None:
    # Every read refreshes first; a refresh that fails must raise, not kill the process.
    r = run_python(
        """
        import os, sys
        from datashard import DatashardError, load_table
        t = load_table(sys.argv[1])
        with open(os.path.join(t.location, "metadata", f"v{t.version + 1}.metadata.json"), "w") as f:
            f.write("{not json")  # a newer version appears, unreadable
        try:
            t.scan()
        except DatashardError as e:
            print("raised", type(e).__name__)
        """,
        filled.location,
    )
    assert r.returncode == 0 and r.stdout.startswith("raised"), (r.returncode, r.stderr[-2000:])


def test_transaction_append_of_bad_arrow_data_is_an_error(filled: Table) -> None:
    r = run_python(
        """
        import sys
        import pyarrow as pa
        from datashard import SchemaError, load_table
        t = load_table(sys.argv[1])
        try:
            with t.new_transaction() as tx:
                tx.append(pa.table({"id": ["not a number"], "group": [1]}))
        except SchemaError:
            print("raised")
        """,
        filled.location,
    )
    assert r.returncode == 0 and r.stdout.strip() == "raised", (r.returncode, r.stderr[-2000:])
    assert filled.row_count() == 30


def test_delete_files_with_appends_in_one_commit(filled: Table) -> None:
    paths = [f["file_path"] for f in filled.data_files()]
    with filled.new_transaction() as tx:
        tx.delete_files(paths[:2])
        tx.append_data(make_rows(100, 1))
    assert filled.row_count() == 11
    assert len(filled.snapshots()) == 4


# -- overwrite_by_filter (the original's name) ----------------------------------------------------------


def test_overwrite_by_filter_with_a_dict(filled: Table) -> None:
    with filled.new_transaction() as tx:
        assert tx.overwrite_by_filter({"group": 1}, make_rows(100, 2)) is tx
    rows = filled.scan()
    assert not any(r["group"] == 1 and r["id"] < 100 for r in rows)
    assert {100, 101} <= {r["id"] for r in rows}
    with filled.new_transaction() as tx:
        tx.overwrite_by_filter({"id": ("<", 10)})  # no data: a delete
    assert min(ids(filled)) >= 10


def test_overwrite_by_filter_refuses_a_callable(filled: Table) -> None:
    with filled.new_transaction() as tx:
        with pytest.raises(TypeError, match="filter dict"):
            tx.overwrite_by_filter(lambda row: row["id"] < 3)
    assert filled.row_count() == 30


# -- commit keys ----------------------------------------------------------------------------------------


def test_commit_key_applies_a_transaction_once(filled: Table) -> None:
    with filled.new_transaction(commit_key="job-7") as tx:
        tx.delete({"id": 0})
        tx.append_data(make_rows(100, 1))
    first = tx.snapshot_id
    before = files_under(filled.location)
    again = filled.new_transaction().begin()  # a retry of the same job in another attempt
    again.delete({"id": 1})
    again.append_data(make_rows(100, 1))
    assert again.commit(commit_key="job-7") is True
    assert again.snapshot_id == first
    assert ids(filled) == list(range(1, 30)) + [100]
    assert files_under(filled.location) == before  # the retry's files were removed


def test_commit_key_must_be_a_string(filled: Table) -> None:
    tx = filled.new_transaction().begin()
    tx.delete({"id": 0})
    with pytest.raises(InvalidArgumentError):
        tx.commit(commit_key="")
    assert tx.is_active()
    tx.rollback()
