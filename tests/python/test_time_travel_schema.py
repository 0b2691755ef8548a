"""Time travel across schema changes (issue 20): a read of an old snapshot binds ``filter=`` and
``columns=`` to the snapshot's own schema by field id. The snapshot's names work; so do the
current names of the same columns; a column added later, or a name in neither schema, is a
SchemaError listing the snapshot's columns. The rows keep the snapshot's names and types.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from datashard import Schema, SchemaError, Table, col, create_table, parse_where

OLD_ROWS = [
    {"id": 1, "cat": "a", "qty": 5, "note": "x"},
    {"id": 2, "cat": "b", "qty": 7, "note": "y"},
    {"id": 3, "cat": "a", "qty": -2, "note": None},
    {"id": 4, "cat": None, "qty": 2**31 - 1, "note": "x"},
]


def ids(rows: Any) -> list[int]:
    if isinstance(rows, pa.Table):
        rows = rows.to_pylist()
    return sorted(r["id"] for r in rows)


@pytest.fixture
def evolved(tmp_path) -> tuple[Table, int, int]:
    """A table whose first snapshot has (id long, cat string, qty int, note string); then cat is
    renamed to category, price added, note dropped and qty widened to long, and two more rows
    committed. Returns (table, old snapshot id, new snapshot id)."""
    t = create_table(str(tmp_path / "t"), Schema(schema_id=0, fields=[
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "cat", "type": "string", "required": False},
        {"id": 3, "name": "qty", "type": "int", "required": False},
        {"id": 4, "name": "note", "type": "string", "required": False},
    ]))
    old = t.append(pa.Table.from_pylist(OLD_ROWS, schema=t.arrow_schema()))
    with t.update_schema() as u:
        u.rename_column("cat", "category")
        u.add_column("price", "double")
        u.drop_column("note")
        u.widen_column("qty", "long")
    t.append_records([
        {"id": 5, "category": "a", "qty": 2**40, "price": 1.5},
        {"id": 6, "category": "c", "qty": 1, "price": None},
    ])
    new = t.current_snapshot().snapshot_id
    assert old is not None and new is not None
    return t, old, new


def test_old_names_filter_and_project_an_old_snapshot(evolved) -> None:
    t, old, _ = evolved
    then = t.to_arrow(snapshot_id=old)
    assert then.schema.names == ["id", "cat", "qty", "note"]
    assert then.schema.field("qty").type == pa.int32()
    for f in ({"cat": "a"}, ("cat", "==", "a"), [("cat", "in", ["a"])], col("cat") == "a", parse_where("cat = 'a'")):
        assert ids(t.to_arrow(snapshot_id=old, filter=f)) == [1, 3], f
    # a column dropped since: still there in the snapshot
    assert ids(t.scan(snapshot_id=old, filter={"note": "x"})) == [1, 4]
    got = t.to_arrow(snapshot_id=old, columns=["note", "id"], filter=col("note").is_null())
    assert got.to_pylist() == [{"note": None, "id": 3}]
    # int -> long: the snapshot's rows are ints; literals beyond int are still exact
    assert ids(t.scan(snapshot_id=old, filter=col("qty") >= 2**31 - 1)) == [4]
    assert ids(t.scan(snapshot_id=old, filter=col("qty") > 2**31 - 1)) == []
    assert ids(t.scan(snapshot_id=old, filter=col("qty") < 2**40)) == [1, 2, 3, 4]
    assert ids(t.scan(snapshot_id=old, filter={"qty": ("between", (-2, 5.5))})) == [1, 3]


def test_current_names_resolve_by_field_id(evolved) -> None:
    t, old, _ = evolved
    for f in ({"category": "a"}, ("category", "==", "a"), col("category").isin(["a"]), parse_where("category = 'a'"),
              [("category", "!=", "b"), ("qty", ">", 0)]):
        assert ids(t.to_arrow(snapshot_id=old, filter=f)) == [1, 3] if not isinstance(f, list) else [1], f
    # the rows keep the snapshot's names, in the order asked for
    got = t.to_arrow(snapshot_id=old, columns=["category", "id"], filter={"category": ("is_not_null", None)})
    assert got.schema.names == ["cat", "id"]
    assert sorted(got.to_pylist(), key=lambda r: r["id"]) == [
        {"cat": "a", "id": 1}, {"cat": "b", "id": 2}, {"cat": "a", "id": 3}]
    # old and new names of one column mixed in one filter
    assert ids(t.scan(snapshot_id=old, filter=(col("cat") == "a") & (col("category") != "b"))) == [1, 3]


def test_a_column_added_later_or_unknown_is_a_clear_error(evolved) -> None:
    t, old, _ = evolved
    with pytest.raises(SchemaError, match=r'"price".*snapshot.*id, cat, qty, note'):
        t.to_arrow(snapshot_id=old, filter={"price": 1.5})
    with pytest.raises(SchemaError, match=r'"price".*snapshot.*id, cat, qty, note'):
        t.to_arrow(snapshot_id=old, columns=["id", "price"])
    with pytest.raises(SchemaError, match=r'"nope".*id, cat, qty, note'):
        t.to_arrow(snapshot_id=old, filter=col("nope") > 1)
    with pytest.raises(SchemaError, match="added later"):
        t.to_arrow(snapshot_id=old, filter={"price": 1.5})
    with pytest.raises(SchemaError, match=r"current names of its columns work too: category \(then cat\)"):
        t.to_arrow(snapshot_id=old, columns=["nope"])


def test_the_current_snapshot_reads_with_current_names(evolved) -> None:
    t, old, new = evolved
    assert ids(t.scan(filter={"category": "a"})) == [1, 3, 5]
    assert ids(t.scan(snapshot_id=new, filter={"category": "a"})) == [1, 3, 5]
    assert t.to_arrow(snapshot_id=new, columns=["category"]).schema.names == ["category"]
    with pytest.raises(SchemaError, match='"cat"'):  # an old name is not the current one's
        t.scan(filter={"cat": "a"})
    assert ids(t.scan(filter=col("price") > 1)) == [5]
    assert ids(t.scan(filter=col("qty") > 2**31)) == [5]


def test_every_read_path_resolves_against_the_snapshot(evolved) -> None:
    t, old, _ = evolved
    t.create_tag("before", old)
    when = t.snapshot_by_id(old).timestamp_ms
    choices: list[dict[str, Any]] = [{"snapshot_id": old}, {"ref": "before"}]
    if t.snapshot_as_of(when).snapshot_id == old:  # unless the next commit shared its millisecond
        choices.append({"as_of": when})
    names = ["cat", "category"]
    for which in choices:
        for name in names:
            f, cols = {name: "a"}, ["id", name]
            want = [{"id": 1, "cat": "a"}, {"id": 3, "cat": "a"}]
            assert sorted(t.scan(cols, f, **which), key=lambda r: r["id"]) == want, (which, name)
            assert t.to_arrow(cols, f, **which).sort_by("id").to_pylist() == want
            assert t.to_pandas(cols, f, **which).sort_values("id").to_dict("records") == want
            assert pa.Table.from_batches(list(t.to_batches(cols, f, **which))).sort_by("id").to_pylist() == want
            batches = list(t.scan_batches(1, cols, f, **which))
            assert sorted((r for b in batches for r in b), key=lambda r: r["id"]) == want
            assert sorted(t.iter_records(cols, f, **which), key=lambda r: r["id"]) == want
            assert len(t.head(5, cols, filter=f, **which)) == 2
            s = t.new_scan(cols, f, **which)
            assert s.schema.names == ["id", "cat"]
            assert pa.table(s).sort_by("id").to_pylist() == want
            assert t.new_scan(cols, f, **which).count() == 2
    for name in names:
        want = [{"id": 1, "cat": "a"}, {"id": 3, "cat": "a"}]
        assert t.read_as_of(snapshot_id=old, columns=["id", name], filter={name: "a"}).sort_by("id").to_pylist() == want
        snap = t.time_travel(snapshot_id=old)
        assert ids(t.scan(snapshot_id=snap.snapshot_id, filter={name: "a"})) == [1, 3]


def test_arrow_expression_filters_use_the_snapshots_names(evolved) -> None:
    import pyarrow.compute as pc

    t, old, _ = evolved
    got = t.to_arrow(snapshot_id=old, columns=["id", "cat"], filter=pc.field("cat") == "b")
    assert got.to_pylist() == [{"id": 2, "cat": "b"}]
    with pytest.raises(SchemaError):
        t.to_arrow(snapshot_id=old, filter=pc.field("price") > 1)


def test_a_snapshot_between_changes_and_swapped_names(tmp_path) -> None:
    """Snapshots of three schemas; names swapped between two columns. The snapshot's own names
    win over current names (a name that meant another column then means that column)."""
    t = create_table(str(tmp_path / "t"), Schema(schema_id=0, fields=[
        {"id": 1, "name": "id", "type": "long", "required": False},
        {"id": 2, "name": "a", "type": "string", "required": False},
        {"id": 3, "name": "b", "type": "string", "required": False},
    ]))
    t.append_records([{"id": 1, "a": "a1", "b": "b1"}, {"id": 2, "a": "a2", "b": "b2"}])
    s0 = t.current_snapshot().snapshot_id
    t.rename_column("a", "tmp")
    t.append_records([{"id": 3, "tmp": "a3", "b": "b3"}])
    s1 = t.current_snapshot().snapshot_id
    with t.update_schema() as u:  # swap: field 3 is now "a", field 2 "b"
        u.rename_column("b", "a")
        u.rename_column("tmp", "b")
    t.append_records([{"id": 4, "a": "b4", "b": "a4"}])

    assert ids(t.scan(snapshot_id=s0, filter={"a": "a1"})) == [1]  # s0's "a" (field 2)
    assert ids(t.scan(snapshot_id=s0, filter={"b": "b2"})) == [2]  # s0's "b" (field 3)
    assert t.to_arrow(snapshot_id=s1).schema.names == ["id", "tmp", "b"]
    assert ids(t.scan(snapshot_id=s1, filter={"tmp": "a3"})) == [3]
    assert ids(t.scan(snapshot_id=s1, filter=col("tmp").not_null())) == [1, 2, 3]
    assert ids(t.scan(snapshot_id=s1, filter={"b": "b3"})) == [3]  # s1's own "b" (field 3)
    # current "a" is field 3, which s1 calls "b"
    assert ids(t.scan(snapshot_id=s1, filter={"a": "b1"})) == [1]
    assert t.to_arrow(snapshot_id=s1, columns=["a"]).schema.names == ["b"]
    # a name from an even older schema is neither s1's nor current
    with pytest.raises(SchemaError, match=r"id, tmp, b"):
        t.scan(snapshot_id=s1, filter={"nope": 1})
    # the current data, current names
    assert ids(t.scan(filter={"a": "b4"})) == [4]
    assert ids(t.scan(filter={"b": "a1"})) == [1]
