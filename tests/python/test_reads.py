"""Read paths: scan, to_arrow, to_pandas, the iterators, Arrow PyCapsule export, file paths."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datashard import InvalidArgumentError, Table

from conftest import by_id, make_rows


def test_scan_columns_and_parallel(filled: Table) -> None:
    expected = make_rows(0, 30)
    for parallel in (False, True, 1, 3):
        assert by_id(filled.scan(parallel=parallel)) == expected
    assert by_id(filled.scan(columns=["id", "group"])) == [{"id": r["id"], "group": r["group"]} for r in expected]
    assert filled.to_arrow(columns=["group", "id"]).column_names == ["group", "id"]
    with pytest.raises(InvalidArgumentError):
        filled.scan(parallel=0)
    assert filled.scan(verify_checksums=True) and filled.scan(verify_checksums=False)


def test_to_arrow_and_to_pandas(filled: Table) -> None:
    t = filled.to_arrow()
    assert isinstance(t, pa.Table) and t.num_rows == 30
    assert t.schema.field("id").type == pa.int64()
    assert t.schema.field("group").type == pa.int32()
    pd = pytest.importorskip("pandas")
    df = filled.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 30
    assert sorted(df["id"].tolist()) == list(range(30))


def test_empty_table_reads(table: Table) -> None:
    assert table.scan() == []
    t = table.to_arrow()
    assert t.num_rows == 0 and t.column_names == ["id", "name", "score", "group"]
    pytest.importorskip("pandas")
    assert table.to_pandas().empty
    assert list(table.scan_batches()) == []
    assert table.parquet_paths() == []


def test_streaming_iterators(filled: Table) -> None:
    batches = list(filled.scan_batches(batch_size=4))
    assert all(1 <= len(b) <= 4 for b in batches)
    assert by_id([r for b in batches for r in b]) == make_rows(0, 30)
    assert by_id(list(filled.iter_records())) == make_rows(0, 30)
    assert sorted(r["id"] for r in filled.iter_records(filter={"group": 0}, columns=["id"])) == list(range(0, 30, 3))
    pytest.importorskip("pandas")
    frames = list(filled.iter_pandas(chunksize=7))
    assert all(1 <= len(f) <= 7 for f in frames) and sum(len(f) for f in frames) == 30
    reader = filled.to_batches(batch_size=5)
    assert isinstance(reader, pa.RecordBatchReader)
    assert reader.read_all().num_rows == 30


def test_head_and_limit(filled: Table) -> None:
    assert filled.head(5).num_rows == 5
    assert filled.to_arrow(limit=0).num_rows == 0
    assert filled.to_arrow(limit=100).num_rows == 30


def test_arrow_c_stream_export(filled: Table) -> None:
    assert pa.table(filled).num_rows == 30
    assert pa.table(filled).num_rows == 30  # every export is a fresh scan
    reader = pa.RecordBatchReader.from_stream(filled)
    assert reader.read_all().num_rows == 30


def test_parquet_paths_and_data_files(filled: Table) -> None:
    paths = filled.parquet_paths()
    assert len(paths) == 3
    total = 0
    for p in paths:
        assert os.path.isabs(p) and os.path.exists(p)
        assert os.path.realpath(p).startswith(os.path.realpath(filled.location))
        total += pq.ParquetFile(p).metadata.num_rows
    assert total == 30
    files = filled.data_files()
    assert sum(f["record_count"] for f in files) == 30
    assert all(f["file_size_in_bytes"] > 0 for f in files)
    first = filled.snapshots()[0]["snapshot_id"]
    assert len(filled.parquet_paths(snapshot_id=first)) == 1


def test_parquet_files_carry_iceberg_field_ids(filled: Table) -> None:
    schema = pq.read_schema(filled.parquet_paths()[0])
    ids = {f.name: int(f.metadata[b"PARQUET:field_id"]) for f in schema}
    assert ids == {"id": 1, "name": 2, "score": 3, "group": 4}
