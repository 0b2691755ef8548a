#!/usr/bin/env python3
"""Reads datashard-written manifests with independent Avro readers.

Our Avro codec is home-grown, so its own round-trip tests cannot catch a
misreading of the spec that the writer and reader share. This script checks
the files with fastavro (and, when installed, PyIceberg's manifest readers):

    mkdir -p /tmp/avro-check
    DATASHARD_FASTAVRO_CHECK_DIR=/tmp/avro-check \
        build/dev/format_test --gtest_filter='ManifestInterop.*'
    python tests/tools/check_avro_with_fastavro.py /tmp/avro-check

The expected values mirror the fixture in src/datashard/format/manifest_test.cc.
"""

import datetime
import json
import os
import struct
import sys

import fastavro

SNAPSHOT_ID = 3051729675574597004
PARENT_ID = 3051729675574597003


def le4(v):
    return struct.pack("<i", v)


def le8(v):
    return struct.pack("<q", v)


def day(n):
    return datetime.date(1970, 1, 1) + datetime.timedelta(days=n)


def read(path):
    with open(path, "rb") as f:
        reader = fastavro.reader(f)
        meta = {k: v.decode() if isinstance(v, bytes) else v for k, v in reader.metadata.items()}
        return meta, json.loads(meta["avro.schema"]), list(reader)


def check_ids(schema, where="root"):
    """Every field has a field-id, every array an element-id (or is a map), optional unions are null-first."""
    checked = 0
    if isinstance(schema, list):
        assert schema[0] == "null", f"{where}: union not null-first: {schema}"
        for branch in schema:
            checked += check_ids(branch, where)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "record":
            for field in schema["fields"]:
                assert isinstance(field.get("field-id"), int), f"{where}.{field['name']}: no field-id"
                if isinstance(field["type"], list):
                    assert "default" in field and field["default"] is None, f"{where}.{field['name']}: no null default"
                checked += 1 + check_ids(field["type"], f"{where}.{field['name']}")
        elif kind == "array":
            if schema.get("logicalType") == "map":
                fields = schema["items"]["fields"]
                assert [f["name"] for f in fields] == ["key", "value"], f"{where}: bad map record"
                assert schema["items"]["name"] == f"k{fields[0]['field-id']}_v{fields[1]['field-id']}"
            else:
                assert isinstance(schema.get("element-id"), int), f"{where}: array without element-id"
            checked += check_ids(schema["items"], f"{where}[]")
    return checked


def field_ids(record_schema):
    return {f["name"]: f["field-id"] for f in record_schema["fields"]}


def check_manifest_header(meta, content):
    for key in ("schema", "schema-id", "partition-spec", "partition-spec-id", "format-version", "content"):
        assert key in meta, f"manifest header lacks {key}"
    assert meta["format-version"] == "2"
    assert meta["content"] == content
    assert meta["schema-id"] == "0" and meta["partition-spec-id"] == "0"
    table_schema = json.loads(meta["schema"])
    assert table_schema["type"] == "struct" and table_schema["schema-id"] == 0
    spec = json.loads(meta["partition-spec"])
    assert [(f["name"], f["transform"], f["source-id"], f["field-id"]) for f in spec] == [
        ("name", "identity", 2, 1000), ("ts_day", "day", 3, 1001), ("id_bucket", "bucket[16]", 1, 1002)]


def check_data_manifest(directory):
    meta, schema, records = read(os.path.join(directory, "manifest-data.avro"))
    assert meta["avro.codec"] == "deflate"
    check_manifest_header(meta, "data")
    assert schema["name"] == "manifest_entry"
    n = check_ids(schema)
    assert field_ids(schema) == {"status": 0, "snapshot_id": 1, "sequence_number": 3,
                                 "file_sequence_number": 4, "data_file": 2}
    data_file = schema["fields"][4]["type"]
    assert data_file["name"] == "r2"
    assert field_ids(data_file) == {
        "content": 134, "file_path": 100, "file_format": 101, "partition": 102, "record_count": 103,
        "file_size_in_bytes": 104, "column_sizes": 108, "value_counts": 109, "null_value_counts": 110,
        "nan_value_counts": 137, "lower_bounds": 125, "upper_bounds": 128, "key_metadata": 131,
        "split_offsets": 132, "equality_ids": 135, "sort_order_id": 140, "referenced_data_file": 143}
    partition = data_file["fields"][3]["type"]
    assert partition["name"] == "r102"
    assert field_ids(partition) == {"name": 1000, "ts_day": 1001, "id_bucket": 1002}
    assert partition["fields"][1]["type"][1] == {"type": "int", "logicalType": "date"}

    assert len(records) == 3
    a, b, c = records
    assert (a["status"], a["snapshot_id"], a["sequence_number"], a["file_sequence_number"]) == (1, SNAPSHOT_ID, None, None)
    fa = a["data_file"]
    assert fa["content"] == 0 and fa["file_path"] == "s3://bucket/t/data/a.parquet" and fa["file_format"] == "PARQUET"
    assert fa["partition"] == {"name": "alice", "ts_day": day(19000), "id_bucket": 7}
    assert (fa["record_count"], fa["file_size_in_bytes"]) == (100, 4096)
    assert fa["column_sizes"] == [{"key": 1, "value": 800}, {"key": 2, "value": 1200}]
    assert fa["value_counts"] == [{"key": 1, "value": 100}, {"key": 2, "value": 100}]
    assert fa["null_value_counts"] == [{"key": 1, "value": 0}, {"key": 2, "value": 5}]
    assert fa["nan_value_counts"] is None
    assert fa["lower_bounds"] == [{"key": 1, "value": le8(1)}, {"key": 2, "value": b"alice"}]
    assert fa["upper_bounds"] == [{"key": 1, "value": le8(100)}, {"key": 2, "value": b"alicf"}]
    assert fa["split_offsets"] == [4] and fa["equality_ids"] is None and fa["sort_order_id"] == 0
    assert fa["key_metadata"] is None and fa["referenced_data_file"] is None
    assert (b["status"], b["snapshot_id"], b["sequence_number"], b["file_sequence_number"]) == (0, 42, 5, 5)
    assert b["data_file"]["partition"] == {"name": None, "ts_day": day(19001), "id_bucket": 3}
    assert b["data_file"]["nan_value_counts"] == [{"key": 9, "value": 2}]
    assert b["data_file"]["sort_order_id"] is None
    assert (c["status"], c["sequence_number"]) == (2, 6)
    assert c["data_file"]["partition"] == {"name": "bob", "ts_day": None, "id_bucket": 15}
    print(f"fastavro: manifest-data.avro OK ({len(records)} entries, {n} fields with ids, header {sorted(meta)})")


def check_delete_manifest(directory):
    meta, schema, records = read(os.path.join(directory, "manifest-deletes.avro"))
    check_manifest_header(meta, "deletes")
    check_ids(schema)
    assert [r["data_file"]["content"] for r in records] == [1, 2]
    assert [r["data_file"]["equality_ids"] for r in records] == [None, [1, 2]]
    assert all(r["status"] == 1 and r["sequence_number"] is None for r in records)
    print(f"fastavro: manifest-deletes.avro OK ({len(records)} entries)")


def check_empty_manifest(directory):
    path = os.path.join(directory, "manifest-empty.avro")
    meta, schema, records = read(path)
    check_manifest_header(meta, "data")
    assert meta["avro.codec"] == "null" and records == []
    print(f"fastavro: manifest-empty.avro OK (0 entries, {os.path.getsize(path)} bytes, header only)")


def check_manifest_list(directory):
    meta, schema, records = read(os.path.join(directory, "manifest-list.avro"))
    assert meta["snapshot-id"] == str(SNAPSHOT_ID)
    assert meta["parent-snapshot-id"] == str(PARENT_ID)
    assert meta["sequence-number"] == "7" and meta["format-version"] == "2"
    assert schema["name"] == "manifest_file"
    check_ids(schema)
    assert field_ids(schema) == {
        "manifest_path": 500, "manifest_length": 501, "partition_spec_id": 502, "content": 517,
        "sequence_number": 515, "min_sequence_number": 516, "added_snapshot_id": 503, "added_files_count": 504,
        "existing_files_count": 505, "deleted_files_count": 506, "added_rows_count": 512,
        "existing_rows_count": 513, "deleted_rows_count": 514, "partitions": 507, "key_metadata": 519}
    summary = schema["fields"][13]["type"][1]
    assert summary["element-id"] == 508 and summary["items"]["name"] == "r508"
    assert field_ids(summary["items"]) == {"contains_null": 509, "contains_nan": 518, "lower_bound": 510,
                                           "upper_bound": 511}
    assert len(records) == 2
    data, deletes = records
    assert data["manifest_path"].endswith("manifest-data.avro")
    assert data["manifest_length"] == os.path.getsize(os.path.join(directory, "manifest-data.avro"))
    assert deletes["manifest_length"] == os.path.getsize(os.path.join(directory, "manifest-deletes.avro"))
    assert (data["content"], data["sequence_number"], data["min_sequence_number"]) == (0, 7, 5)
    assert (deletes["content"], deletes["min_sequence_number"]) == (1, 7)
    assert data["added_snapshot_id"] == SNAPSHOT_ID
    assert [data[k] for k in ("added_files_count", "existing_files_count", "deleted_files_count",
                              "added_rows_count", "existing_rows_count", "deleted_rows_count")] == [1, 1, 1, 100, 10, 1]
    assert data["partitions"] == [
        {"contains_null": False, "contains_nan": False, "lower_bound": b"alice", "upper_bound": b"bob"},
        {"contains_null": True, "contains_nan": None, "lower_bound": le4(19000), "upper_bound": le4(19001)},
        {"contains_null": False, "contains_nan": False, "lower_bound": le4(3), "upper_bound": le4(15)}]
    print(f"fastavro: manifest-list.avro OK ({len(records)} manifests, header {sorted(meta)})")


def check_with_pyiceberg(directory):
    try:
        from pyiceberg.io.pyarrow import PyArrowFileIO
        from pyiceberg.manifest import DataFileContent, ManifestContent, ManifestEntryStatus, read_manifest_list
    except ImportError as e:
        print(f"pyiceberg: skipped ({e})")
        return
    io = PyArrowFileIO()
    manifests = list(read_manifest_list(io.new_input(os.path.join(directory, "manifest-list.avro"))))
    assert [m.content for m in manifests] == [ManifestContent.DATA, ManifestContent.DELETES]
    assert manifests[0].partitions[1].contains_null and manifests[0].partitions[0].lower_bound == b"alice"
    entries = manifests[0].fetch_manifest_entry(io, discard_deleted=False)
    assert [e.status for e in entries] == [ManifestEntryStatus.ADDED, ManifestEntryStatus.EXISTING,
                                           ManifestEntryStatus.DELETED]
    # PyIceberg applies inheritance: the ADDED entry takes the list's sequence number.
    assert [(e.sequence_number, e.file_sequence_number) for e in entries] == [(7, 7), (5, 5), (6, 6)]
    first = entries[0].data_file
    assert tuple(first.partition) == ("alice", 19000, 7)
    assert dict(first.column_sizes) == {1: 800, 2: 1200}
    assert first.lower_bounds == {1: le8(1), 2: b"alice"} and first.split_offsets == [4]
    assert tuple(entries[1].data_file.partition) == (None, 19001, 3)
    deletes = manifests[1].fetch_manifest_entry(io)
    assert [d.data_file.content for d in deletes] == [DataFileContent.POSITION_DELETES, DataFileContent.EQUALITY_DELETES]
    assert deletes[1].data_file.equality_ids == [1, 2]
    print(f"pyiceberg: read_manifest_list + fetch_manifest_entry OK ({len(manifests)} manifests, "
          f"{len(entries) + len(deletes)} entries, inherited sequence numbers applied)")


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DATASHARD_FASTAVRO_CHECK_DIR")
    if not directory:
        sys.exit(__doc__)
    check_data_manifest(directory)
    check_delete_manifest(directory)
    check_empty_manifest(directory)
    check_manifest_list(directory)
    check_with_pyiceberg(directory)
    print("all checks passed")


if __name__ == "__main__":
    main()
