"""Creating, opening and reopening tables; the Schema class; package surface."""

from __future__ import annotations

import os
import re
import pickle

import pyarrow as pa
import pytest

import datashard
from datashard import (
    DatashardError,
    PartitionField,
    PartitionSpec,
    Schema,
    SchemaError,
    Table,
    TableExistsError,
    TableNotFoundError,
    create_table,
    load_table,
)


def test_package_exports_original_names() -> None:
    for name in [
        "create_table", "load_table", "Schema", "Table", "Transaction", "PartitionSpec", "PartitionField",
        "SortOrder", "Snapshot", "DataFile", "FileFormat", "FilterOp", "FilterExpression", "parse_filter_dict",
        "ConcurrentModificationException", "AmbiguousCommitError", "TableExistsError", "CorruptDataError",
        "GarbageCollectionAborted", "__version__",
    ]:
        assert hasattr(datashard, name), name
    assert isinstance(datashard.__version__, str)
    from datashard.iceberg import create_table as ct  # module paths of the original
    from datashard.data_structures import Schema as S

    assert ct is create_table and S is Schema


@pytest.mark.smoke
def test_error_hierarchy() -> None:
    e = datashard.errors
    for cls in (e.TableExistsError, e.TableNotFoundError, e.SchemaError, e.ConcurrentModificationException,
                e.AmbiguousCommitError, e.CorruptDataError, e.InvalidArgumentError, e.DatashardIOError,
                e.GarbageCollectionAborted):
        assert issubclass(cls, DatashardError)
    assert issubclass(e.SchemaError, ValueError)
    assert issubclass(e.InvalidArgumentError, ValueError)
    assert issubclass(e.TableNotFoundError, ValueError)  # the original raised ValueError
    assert issubclass(e.TableNotFoundError, FileNotFoundError)
    assert issubclass(e.DatashardIOError, OSError)
    assert issubclass(e.GarbageCollectionAborted, RuntimeError)


@pytest.mark.smoke
def test_create_then_load(table_path: str, schema: Schema) -> None:
    t = create_table(table_path, schema)
    assert isinstance(t, Table)
    assert os.path.isabs(t.location)
    assert t.current_snapshot() is None
    assert t.snapshots() == []
    assert t.row_count() == 0
    assert t.scan() == []
    assert t.schema().signature() == schema.signature()
    assert os.path.exists(t.metadata_location)

    again = load_table(table_path)
    assert again.location == t.location
    assert again.schema().signature() == schema.signature()
    assert Table(table_path).location == t.location  # the original's constructor opens it too


@pytest.mark.smoke
def test_create_on_existing_table_opens_it(table_path: str, schema: Schema, rows) -> None:
    t = create_table(table_path, schema)
    t.append_records(rows(0, 5))
    t2 = create_table(table_path, schema)  # same schema: opens, never damages
    assert t2.row_count() == 5
    assert len(t2.snapshots()) == 1
    t3 = create_table(table_path)  # no schema: opens as is
    assert t3.row_count() == 5


def test_create_with_other_schema_names_the_difference(table_path: str, schema: Schema) -> None:
    create_table(table_path, schema)
    other = Schema(schema_id=1, fields=[{"id": 1, "name": "id", "type": "string", "required": True}])
    with pytest.raises(TableExistsError) as info:
        create_table(table_path, other)
    msg = str(info.value)
    assert "id" in msg


def test_create_exist_ok_false(table_path: str, schema: Schema) -> None:
    create_table(table_path, schema)
    with pytest.raises(TableExistsError):
        create_table(table_path, schema, exist_ok=False)


def test_create_without_schema_makes_a_table_whose_first_append_sets_it(table_path: str) -> None:
    t = create_table(table_path)
    assert t.schema().fields == [] and t.current_snapshot() is None and t.scan() == []
    assert load_table(table_path).snapshots() == []  # another process sees the empty table
    t.append_records([{"id": 1}])
    assert load_table(table_path).schema().signature() == {"id": ("long", False)}


@pytest.mark.smoke
def test_load_non_table_raises(tmp_path) -> None:
    with pytest.raises(TableNotFoundError):
        load_table(str(tmp_path / "nothing-here"))
    (tmp_path / "plain").mkdir()
    with pytest.raises(TableNotFoundError):
        load_table(str(tmp_path / "plain"))
    with pytest.raises(ValueError):  # what code written for the original catches
        load_table(str(tmp_path / "plain"))
    assert not (tmp_path / "nothing-here").exists()  # load_table creates nothing


def test_create_from_pyarrow_schema(table_path: str) -> None:
    arrow = pa.schema([pa.field("k", pa.int64(), nullable=False), pa.field("v", pa.string())])
    t = create_table(table_path, arrow)
    fields = t.schema().fields
    assert [(f["name"], f["type"], f["required"]) for f in fields] == [("k", "long", True), ("v", "string", False)]
    assert t.arrow_schema().field("k").type == pa.int64()


def test_schema_validation() -> None:
    ok = Schema(schema_id=0, fields=[{"id": 1, "name": "a", "type": "LONG"}])
    assert ok.fields[0] == {"id": 1, "name": "a", "type": "long", "required": False}
    bad_fields = [
        [{"name": "a", "type": "long"}],  # no id
        [{"id": 1, "type": "long"}],  # no name
        [{"id": 1, "name": "a"}],  # no type
        [{"id": 1, "name": "a", "type": "long"}, {"id": 1, "name": "b", "type": "long"}],  # dup id
        [{"id": 1, "name": "a", "type": "long"}, {"id": 2, "name": "a", "type": "long"}],  # dup name
        [{"id": 1, "name": "a", "type": "varchar"}],  # unknown type
        [{"id": 1, "name": "a", "type": "fixed"}],  # fixed needs a length
        [{"id": 1, "name": "a", "type": "decimal(40, 2)"}],  # precision > 38
        [{"id": 1, "name": "a", "type": "long", "required": "yes"}],
    ]
    for fields in bad_fields:
        with pytest.raises(SchemaError):
            Schema(schema_id=0, fields=fields)
        with pytest.raises(ValueError):
            Schema(schema_id=0, fields=fields)


def test_schema_types_to_arrow() -> None:
    s = Schema(
        schema_id=0,
        fields=[
            {"id": 1, "name": "b", "type": "boolean"},
            {"id": 2, "name": "i", "type": "int"},
            {"id": 3, "name": "l", "type": "long"},
            {"id": 4, "name": "f", "type": "float"},
            {"id": 5, "name": "d", "type": "double"},
            {"id": 6, "name": "dt", "type": "date"},
            {"id": 7, "name": "tm", "type": "time"},
            {"id": 8, "name": "ts", "type": "timestamp"},
            {"id": 9, "name": "tz", "type": "timestamptz"},
            {"id": 10, "name": "s", "type": "string"},
            {"id": 11, "name": "u", "type": "uuid"},
            {"id": 12, "name": "bin", "type": "binary"},
            {"id": 13, "name": "fx", "type": "fixed[4]"},
            {"id": 14, "name": "dec", "type": "decimal(10,2)", "required": True},
        ],
    )
    a = s.to_arrow()
    expected = {
        "b": pa.bool_(), "i": pa.int32(), "l": pa.int64(), "f": pa.float32(), "d": pa.float64(),
        "dt": pa.date32(), "tm": pa.time64("us"), "ts": pa.timestamp("us"), "tz": pa.timestamp("us", tz="UTC"),
        "s": pa.string(), "u": pa.binary(16), "bin": pa.binary(), "fx": pa.binary(4), "dec": pa.decimal128(10, 2),
    }
    for name, t in expected.items():
        assert a.field(name).type == t, name
    assert not a.field("dec").nullable
    assert s.field("dec")["type"] == "decimal(10, 2)"
    back = Schema.from_arrow(a)
    # uuid and fixed[16] share an Arrow type, so "u" comes back as fixed[16]
    assert [f["type"] for f in back.fields if f["name"] != "u"] == [f["type"] for f in s.fields if f["name"] != "u"]
    assert back.field("u")["type"] == "fixed[16]"
    assert back.field("dec")["required"] is True
    assert pickle.loads(pickle.dumps(s)) == s
    assert Schema.from_json(s.to_json()) == s


@pytest.mark.smoke
def test_partition_spec_round_trip(table_path: str, schema: Schema, rows) -> None:
    spec = PartitionSpec(spec_id=0, fields=[PartitionField(source_id=4, field_id=1000, name="group", transform="identity")])
    t = create_table(table_path, schema, spec)
    assert t.spec().fields[0].name == "group"
    assert t.spec().fields[0].source_id == 4
    t.append_records(rows(0, 9))
    assert sorted(r["id"] for r in t.scan(filter={"group": 1})) == [1, 4, 7]


def test_properties(table_path: str, schema: Schema) -> None:
    t = create_table(table_path, schema, properties={"owner": "ml-team", "n": 3})
    assert t.properties["owner"] == "ml-team"
    assert t.properties["n"] == "3"


@pytest.mark.smoke
def test_table_pickles_and_repr(filled: Table) -> None:
    again = pickle.loads(pickle.dumps(filled))
    assert again.location == filled.location
    assert again.row_count() == 30
    assert filled.location in repr(filled)


def test_pathlike(tmp_path, schema: Schema) -> None:
    t = create_table(tmp_path / "p", schema)
    assert load_table(tmp_path / "p").location == t.location


@pytest.mark.parametrize(
    "transform,column,fragment",
    [
        ("bucket[0]", "id", "positive modulus"),
        ("truncate[0]", "name", "positive width"),
        ("bucket[8]", "flag", "not defined for type boolean"),
        ("nonsense", "id", "unsupported partition transform"),
        ("hour", "id", "needs a timestamp"),
    ],
)
def test_a_transform_that_cannot_apply_is_refused_at_create(tmp_path, transform: str, column: str,
                                                            fragment: str) -> None:
    schema = Schema(schema_id=0, fields=[
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "name", "type": "string"},
        {"id": 3, "name": "flag", "type": "boolean"},
    ])
    source = {"id": 1, "name": 2, "flag": 3}[column]
    spec = PartitionSpec(spec_id=0, fields=[PartitionField(source_id=source, field_id=1000, name="p",
                                                           transform=transform)])
    with pytest.raises(SchemaError, match=re.escape(fragment)):
        create_table(str(tmp_path / "t"), schema, partition_spec=spec)
    assert not os.path.exists(tmp_path / "t" / "metadata")


def test_partition_values_are_refused_where_a_spec_computes_them(tmp_path) -> None:
    from datashard import InvalidArgumentError

    schema = Schema(schema_id=0, fields=[{"id": 1, "name": "sym", "type": "string", "required": True}])
    spec = PartitionSpec(spec_id=0, fields=[PartitionField(source_id=1, field_id=1000, name="sym",
                                                           transform="identity")])
    partitioned = create_table(str(tmp_path / "p"), schema, partition_spec=spec)
    with pytest.raises(InvalidArgumentError, match="computed from the rows"):
        partitioned.append_records([{"sym": "a"}], partition_values={"sym": "WRONG"})
    with pytest.raises(InvalidArgumentError, match="computed from the rows"):
        with partitioned.new_transaction() as tx:
            tx.append_data([{"sym": "a"}], partition_values={"sym": "WRONG"})
    assert partitioned.snapshots() == []
    plain = create_table(str(tmp_path / "u"), schema)
    plain.append_records([{"sym": "a"}], partition_values={"sym": "ignored"})  # the original ignored them
    assert plain.scan() == [{"sym": "a"}]
