"""The original package's read API over uuid, DuckDB and data-file listings (0.11.2).

The original returned uuid values as text from every read it had (``scan``, ``to_arrow``,
``to_pandas``, the iterators, ``sql``, ``to_duckdb``); the Arrow-native reads
(``new_scan()``, ``to_batches()``, ``pa.table(t)``) keep Iceberg's 16 bytes.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from datashard import PartitionField, PartitionSpec, Schema, create_table
from datashard.errors import InvalidArgumentError, SchemaError

SCHEMA = Schema(
    schema_id=1,
    fields=[
        {"id": 1, "name": "tid", "type": "uuid", "required": True},
        {"id": 2, "name": "hour", "type": "int", "required": True},
        {"id": 3, "name": "px", "type": "decimal(10, 2)"},
    ],
)
IDS = [str(uuid.UUID(int=i + 1)) for i in range(4)]


@pytest.fixture
def table(tmp_path):
    spec = PartitionSpec(spec_id=0, fields=[PartitionField(source_id=2, field_id=1000, name="hour", transform="identity")])
    t = create_table(str(tmp_path / "t"), SCHEMA, partition_spec=spec)
    t.append_records([{"tid": u, "hour": 9 + i % 2, "px": Decimal(i) / 4} for i, u in enumerate(IDS)], SCHEMA)
    return t


def test_uuid_reads_as_text_in_the_original_api_and_as_bytes_in_the_arrow_api(table) -> None:
    assert sorted(table.to_arrow().column("tid").to_pylist()) == IDS
    assert table.to_arrow().schema.field("tid").type == pa.string()
    assert sorted(table.to_pandas()["tid"]) == IDS
    assert sorted(x for df in table.iter_pandas() for x in df["tid"]) == IDS
    assert sorted(r["tid"] for b in table.scan_batches() for r in b) == IDS
    assert sorted(table.sql("select tid from t")["tid"].to_pylist()) == IDS
    assert table.new_scan().schema.field("tid").type == pa.binary(16)
    assert sorted(pa.table(table).column("tid").to_pylist()) == sorted(uuid.UUID(u).bytes for u in IDS)


def test_uuid_text_survives_nulls_and_slices() -> None:
    from datashard.compat import uuid_as_text

    raw = pa.array([uuid.UUID(IDS[0]).bytes, None, uuid.UUID(IDS[2]).bytes], pa.binary(16))
    batch = pa.record_batch({"tid": raw.slice(1)})
    assert uuid_as_text(batch, ["tid"]).column(0).to_pylist() == [None, IDS[2]]


def test_sql_and_to_duckdb_take_the_original_arguments(table) -> None:
    duckdb = pytest.importorskip("duckdb")
    out = table.sql("select count(*) as n from trades", alias="trades", filter={"hour": 9})
    assert out.to_pylist() == [{"n": 2}]
    con = duckdb.connect()
    assert table.to_duckdb(con, view_name="v") is con  # the original's order: connection first
    assert table.to_duckdb("w", con, columns=["hour"]) is con  # ours: view name first
    assert con.execute("select count(*) from v").fetchone() == (4,)
    assert con.execute("select * from w limit 1").fetchall()[0].__len__() == 1
    assert con.execute("select tid from v order by tid limit 1").fetchone() == (IDS[0],)


def test_get_all_data_files_reports_partitions_and_bounds_as_the_original(table) -> None:
    files = table._get_all_data_files()
    assert sorted(f.partition_values["hour"] for f in files) == [9, 10]
    for f in files:
        assert f.file_path.startswith("/data/hour=") and f.record_count == 2
        assert isinstance(f.lower_bounds[1], str) and f.lower_bounds[1] in IDS
        assert f.lower_bounds[2] == f.upper_bounds[2] == f.partition_values["hour"]
        assert isinstance(f.upper_bounds[3], Decimal)
    first = table.snapshots()[0]["snapshot_id"]
    assert len(table._get_all_data_files(snapshot_id=first)) == 2


def test_append_arrow_takes_uuid_text_and_says_what_is_wrong(table) -> None:
    table.append_arrow(pa.table({"tid": [IDS[0].upper()], "hour": pa.array([1], pa.int32())}))
    assert table.scan(filter={"hour": 1})[0]["tid"] == IDS[0]
    with pytest.raises(SchemaError, match='"tid": "nope" is not a uuid'):
        table.append_arrow(pa.table({"tid": ["nope"], "hour": pa.array([1], pa.int32())}))
    with pytest.raises(SchemaError, match="not in the table schema"):
        table.append_arrow(pa.table({"tid": [IDS[0]], "hour": [1], "extra": [1]}))


def test_duckdb_s3_secret_sql_is_for_s3_tables_only(table) -> None:
    with pytest.raises(InvalidArgumentError, match="S3"):
        table.duckdb_s3_secret_sql()
