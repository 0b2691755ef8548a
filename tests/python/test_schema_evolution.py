"""Schema evolution round trips: add, rename, drop, widen and make-optional columns, with
PyIceberg reading the table after every step and agreeing with us."""

from __future__ import annotations

import pyarrow as pa
import pytest

from datashard import InvalidArgumentError, Schema, SchemaError, Table, create_table, load_table

pyiceberg_table = pytest.importorskip("pyiceberg.table")

BASE = Schema(
    0,
    [
        {"id": 1, "name": "id", "type": "int", "required": True},
        {"id": 2, "name": "name", "type": "string"},
        {"id": 3, "name": "score", "type": "float"},
        {"id": 4, "name": "legacy", "type": "string"},
        {"id": 5, "name": "grp", "type": "int", "required": True},
    ],
)


def _rows(t: pa.Table) -> list[dict]:
    return sorted(t.to_pylist(), key=lambda r: r["id"])


def _check(t: Table, want_columns: list[str], want_rows: list[dict]) -> None:
    """Our read and PyIceberg's read of the same metadata file agree with the model."""
    ours = t.to_arrow()
    assert ours.column_names == want_columns
    assert _rows(ours) == want_rows
    theirs = pyiceberg_table.StaticTable.from_metadata(t.metadata_location)
    assert [f.name for f in theirs.schema().fields] == want_columns
    assert _rows(theirs.scan().to_arrow()) == want_rows


def test_evolution_round_trip_with_pyiceberg(tmp_path) -> None:
    t = create_table(str(tmp_path / "t"), BASE)
    t.append_records([{"id": i, "name": f"n{i}", "score": i + 0.5, "legacy": "old", "grp": i % 2} for i in range(3)])
    model = [{"id": i, "name": f"n{i}", "score": i + 0.5, "legacy": "old", "grp": i % 2} for i in range(3)]
    _check(t, ["id", "name", "score", "legacy", "grp"], model)
    first = t.current_snapshot().snapshot_id

    # add: older rows read the new column as null
    schema = t.add_column("country", "string", doc="ISO code")
    assert schema.field("country")["id"] == 6 and not schema.field("country")["required"]
    t.append_records([{"id": 3, "name": "n3", "score": 3.5, "legacy": "old", "grp": 1, "country": "NZ"}])
    model = [dict(r, country=None) for r in model] + [
        {"id": 3, "name": "n3", "score": 3.5, "legacy": "old", "grp": 1, "country": "NZ"}
    ]
    _check(t, ["id", "name", "score", "legacy", "grp", "country"], model)

    # rename: data stays with the field id
    t.rename_column("name", "full_name")
    model = [{("full_name" if k == "name" else k): v for k, v in r.items()} for r in model]
    _check(t, ["id", "full_name", "score", "legacy", "grp", "country"], model)

    # widen int -> long, float -> double; make a required column optional; in one commit
    with t.update_schema() as u:
        u.widen_column("id", "long").widen_column("score", pa.float64()).make_optional("grp")
    assert t.arrow_schema().field("id").type == pa.int64() and t.arrow_schema().field("score").type == pa.float64()
    assert not t.schema().field("grp")["required"]
    t.append_records([{"id": 2**40, "full_name": "big", "score": 1e300, "legacy": None, "grp": None, "country": "FR"}])
    model.append({"id": 2**40, "full_name": "big", "score": 1e300, "legacy": None, "grp": None, "country": "FR"})
    _check(t, ["id", "full_name", "score", "legacy", "grp", "country"], model)

    # drop: the column disappears; a new column of the same name is a new field
    t.drop_column("legacy")
    model = [{k: v for k, v in r.items() if k != "legacy"} for r in model]
    _check(t, ["id", "full_name", "score", "grp", "country"], model)
    t.add_column("legacy", pa.int64())
    assert t.schema().field("legacy")["id"] == 7
    model = [dict(r, legacy=None) for r in model]  # the old strings do not come back
    _check(t, ["id", "full_name", "score", "grp", "country", "legacy"], model)

    # filters use the new names and types; old snapshots stay readable; another process agrees
    assert [r["id"] for r in t.scan(filter={"full_name": "big"})] == [2**40]
    assert t.to_arrow(snapshot_id=first).num_rows == 3
    assert _rows(load_table(t.location).to_arrow()) == model


def test_schema_update_builder_is_atomic(filled: Table) -> None:
    before = filled.schema()
    with pytest.raises(SchemaError, match="already exists"):
        with filled.update_schema() as u:
            u.add_column("extra", "long")
            u.add_column("name", "string")  # exists: the whole update fails
    assert filled.schema() == before

    with pytest.raises(RuntimeError, match="boom"):
        with filled.update_schema() as u:
            u.add_column("extra", "long")
            raise RuntimeError("boom")
    assert filled.schema() == before  # an exception abandons the update

    u = filled.update_schema().add_column("extra", "long")
    assert u.updates == [("add", "extra", "", "long", "")]
    u.commit()
    with pytest.raises(RuntimeError):
        u.add_column("again", "long")
    assert "extra" in filled.schema().names


@pytest.mark.parametrize(
    "change, error",
    [
        (lambda u: u.widen_column("score", "float"), SchemaError),  # double -> float narrows
        (lambda u: u.widen_column("name", "long"), SchemaError),
        (lambda u: u.drop_column("nope"), SchemaError),
        (lambda u: u.rename_column("id", "name"), SchemaError),  # the name is taken
        (lambda u: u.add_column("x", "varchar"), SchemaError),  # not an Iceberg type
        (lambda u: u.add_column("", "long"), InvalidArgumentError),
    ],
)
def test_invalid_schema_changes(filled: Table, change, error) -> None:
    before = filled.schema()
    with pytest.raises(error):
        with filled.update_schema() as u:
            change(u)
    assert filled.schema() == before


def test_time_travel_reads_a_snapshot_with_its_own_schema(filled: Table) -> None:
    """As Iceberg engines do: an old snapshot reads with the schema it was written with
    (old names, no later columns); the current snapshot with the current schema. PyIceberg
    agrees on both."""
    from pyiceberg.table import StaticTable

    old = filled.current_snapshot().snapshot_id
    filled.rename_column("name", "full_name")
    filled.add_column("country", "string")
    filled.append_records([{"id": 100, "full_name": "new", "group": 1, "country": "FR"}])
    then = filled.to_arrow(snapshot_id=old)
    assert then.schema.names == ["id", "name", "score", "group"]
    now = filled.to_arrow()
    assert now.schema.names == ["id", "full_name", "score", "group", "country"]
    assert then.num_rows == 30 and now.num_rows == 31
    assert sorted(then["name"].to_pylist(), key=str) == sorted((v for v in now["full_name"].to_pylist() if v != "new"), key=str)
    st = StaticTable.from_metadata(filled.metadata_location)
    assert st.scan(snapshot_id=old).to_arrow().schema.names == then.schema.names
    assert st.scan().to_arrow().schema.names == now.schema.names
    # a tag on the old snapshot reads the same way
    filled.create_tag("before-rename", old)
    assert filled.to_arrow(ref="before-rename").schema.names == then.schema.names
