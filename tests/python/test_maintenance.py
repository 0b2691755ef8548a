"""Maintenance: expire_snapshots, remove_orphan_files / garbage_collect, compact, verify."""

from __future__ import annotations

import datetime as dt
import os
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datashard import (
    CorruptDataError,
    GarbageCollectionAborted,
    InvalidArgumentError,
    Table,
    col,
    create_table,
)

from conftest import files_under, make_rows


def ids(data: pa.Table) -> list[int]:
    return sorted(data["id"].to_pylist())


def _age(path: str, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def _snapshot_ids(t: Table) -> list[int]:
    return [e["snapshot_id"] for e in reversed(t.history())]


# -- expire_snapshots ----------------------------------------------------------------------------


def test_expire_keeps_the_newest_and_deletes_what_only_expired_snapshots_used(filled: Table) -> None:
    filled.delete(col("id") < 10)  # the first file is now used only by the first three snapshots
    old = _snapshot_ids(filled)
    before = files_under(filled.location)

    dry = filled.expire_snapshots(retain_last=2, dry_run=True)
    assert dry["expired_snapshot_ids"] == old[:2]
    assert files_under(filled.location) == before and _snapshot_ids(filled) == old

    result = filled.expire_snapshots(retain_last=2)
    assert result["expired_snapshot_ids"] == old[:2]
    assert result["deleted_data_files"] == 0  # every data file is still used by a kept snapshot
    assert result["deleted_manifest_lists"] == 2
    assert _snapshot_ids(filled) == old[2:]
    assert filled.snapshot_by_id(old[0]) is None
    with pytest.raises(InvalidArgumentError):
        filled.to_arrow(snapshot_id=old[0])
    assert ids(filled.to_arrow()) == list(range(10, 30))

    # No criterion: as in 0.11.2, only snapshots older than five days expire (none here).
    assert filled.expire_snapshots()["expired_snapshot_ids"] == []
    result = filled.expire_snapshots(retain_last=1)  # no age limit, keep the newest one
    assert result["expired_snapshot_ids"] == [old[2]]
    assert result["deleted_data_files"] == 1  # the file the delete rewrote away
    assert ids(filled.to_arrow()) == list(range(10, 30)) and filled.verify()["ok"]


def test_expire_by_age(filled: Table) -> None:
    old = _snapshot_ids(filled)
    stamps = [e["timestamp_ms"] for e in reversed(filled.history())]
    # nothing is older than an hour
    assert filled.expire_snapshots(older_than=dt.timedelta(hours=1))["expired_snapshot_ids"] == []
    # an absolute cut-off (epoch ms) just after the second commit, as a datetime and as ms
    cutoff = stamps[1] + 1
    if stamps[2] > cutoff:
        when = dt.datetime.fromtimestamp(cutoff / 1000)
        assert filled.expire_snapshots(older_than=when, dry_run=True)["expired_snapshot_ids"] == old[:2]
        assert filled.expire_snapshots(older_than=cutoff)["expired_snapshot_ids"] == old[:2]
    # retain_last wins over the age
    assert filled.expire_snapshots(older_than=dt.timedelta(0), retain_last=5)["expired_snapshot_ids"] == []
    with pytest.raises(InvalidArgumentError):
        filled.expire_snapshots(retain_last=0)
    with pytest.raises(InvalidArgumentError):
        filled.expire_snapshots(older_than=dt.timedelta(days=-1))


def test_transaction_expire_snapshots_takes_an_absolute_cutoff(filled: Table) -> None:
    old = _snapshot_ids(filled)
    cutoff = int(time.time() * 1000) + 1000  # an absolute time, as the original package took it
    with filled.new_transaction() as tx:
        tx.append_records(make_rows(30, 1))
        tx.expire_snapshots(cutoff)
    remaining = _snapshot_ids(filled)
    assert remaining == [filled.current_snapshot().snapshot_id] and remaining[0] not in old
    assert filled.row_count() == 31

    with filled.new_transaction() as tx:
        tx.expire_snapshots(604800000)  # "one week" as an absolute time is 1970: nothing expires
    assert _snapshot_ids(filled) == remaining
    with pytest.raises(InvalidArgumentError):
        filled.new_transaction().begin().expire_snapshots(dt.timedelta(days=7))  # type: ignore[arg-type]


# -- orphans ---------------------------------------------------------------------------------------


def test_remove_orphan_files_respects_the_grace_period(filled: Table) -> None:
    data_dir = os.path.join(filled.location, "data")
    old_orphan = os.path.join(data_dir, "crashed-writer.parquet")
    fresh_orphan = os.path.join(data_dir, "in-flight.parquet")
    old_manifest = os.path.join(filled.location, "metadata", "lost-m0.avro")
    old_temp = os.path.join(filled.location, "metadata", ".v9.metadata.json.1234.tmp")
    for p in (old_orphan, fresh_orphan, old_manifest, old_temp):
        with open(p, "wb") as f:
            f.write(b"x" * 10)
    for p in (old_orphan, old_manifest, old_temp):
        _age(p, 4 * 86400)

    dry = filled.remove_orphan_files(dry_run=True)  # default grace: 3 days
    assert sorted(dry["orphans"]) == sorted([old_orphan, old_manifest, old_temp])
    assert (dry["data_files"], dry["manifest_files"], dry["manifest_lists"], dry["other_files"]) == (1, 1, 0, 1)
    assert os.path.exists(old_orphan)

    result = filled.remove_orphan_files()
    assert sorted(result["orphans"]) == sorted(dry["orphans"])
    assert not os.path.exists(old_orphan) and os.path.exists(fresh_orphan)
    assert ids(filled.to_arrow()) == list(range(30)) and filled.verify()["ok"]

    assert filled.remove_orphan_files(older_than=dt.timedelta(0))["orphans"] == [fresh_orphan]
    assert filled.remove_orphan_files(older_than=dt.timedelta(0))["orphans"] == []
    assert ids(filled.to_arrow()) == list(range(30))


def test_garbage_collect_original_shape(filled: Table) -> None:
    stray = os.path.join(filled.location, "data", "stray.parquet")
    with open(stray, "wb") as f:
        f.write(b"x")
    assert filled.garbage_collect() == {"data_files": 0, "manifest_files": 0, "manifest_lists": 0, "other_files": 0}
    _age(stray, 7200)
    result = filled.garbage_collect()  # default grace: one hour
    assert result["data_files"] == 1 and {"data_files", "manifest_files", "manifest_lists"} <= set(result)
    assert not os.path.exists(stray)
    assert filled.garbage_collect(grace_period_ms=0)["data_files"] == 0


def test_garbage_collect_aborts_when_it_cannot_read_the_metadata(filled: Table) -> None:
    manifest_list = filled.current_snapshot().manifest_list.replace("file://", "")
    stray = os.path.join(filled.location, "data", "stray.parquet")
    with open(stray, "wb") as f:
        f.write(b"x")
    _age(stray, 7200)
    with open(manifest_list, "wb") as f:
        f.write(b"not avro")
    with pytest.raises(GarbageCollectionAborted) as e:
        filled.garbage_collect()
    assert isinstance(e.value, RuntimeError)
    assert os.path.exists(stray)  # nothing deleted


# -- compaction ----------------------------------------------------------------------------------


def test_compact_rewrites_small_files_and_keeps_every_row(filled: Table) -> None:
    for start in range(30, 100, 10):
        filled.append_records(make_rows(start, 10))
    before = filled.to_arrow().sort_by("id")
    old_snapshot = filled.current_snapshot().snapshot_id
    assert len(filled.data_files()) == 10

    result = filled.compact()
    assert result["rewritten_files"] == 10 and result["added_files"] == 1
    assert result["snapshot_id"] is not None and result["manifests_snapshot_id"] is not None
    assert len(filled.data_files()) == 1
    assert filled.to_arrow().sort_by("id").equals(before)
    assert filled.row_count() == 100
    assert len(filled.data_files(snapshot_id=old_snapshot)) == 10  # old versions keep their files
    assert filled.to_arrow(snapshot_id=old_snapshot).sort_by("id").equals(before)

    # already compact: no data rewrite
    assert filled.rewrite_data_files()["rewritten_files"] == 0
    # a small target keeps files apart
    filled.append_records(make_rows(100, 10))
    assert filled.rewrite_data_files(target_file_size=1)["rewritten_files"] == 0
    merged = filled.compact_manifests()  # two manifests (the compaction's, the new append's)
    assert merged["snapshot_id"] == filled.current_snapshot().snapshot_id
    assert merged["rewritten_manifests"] == 2 and merged["added_manifests"] == 1
    version = filled.version
    again = filled.compact_manifests()  # nothing left to merge: no commit
    assert again == {"snapshot_id": None, "rewritten_manifests": 0, "added_manifests": 0}
    assert filled.version == version
    assert filled.row_count() == 110 and filled.verify()["ok"]
    with pytest.raises(InvalidArgumentError):
        filled.compact(target_file_size=0)


@pytest.mark.parametrize("codec", ["zstd", "snappy", "gzip", "uncompressed"])
@pytest.mark.parametrize("target", [4 << 10, 16 << 10, 64 << 10, 1 << 20])
def test_compact_twice_in_a_row_commits_nothing_the_second_time(table: Table, codec: str, target: int) -> None:
    """Compaction bins by the size its output will have, so it converges in one pass: a second
    compaction right after the first rewrites nothing and commits nothing (issue 20: binning by
    the small files' on-disk sizes went 30 -> 15 -> 7 files over three passes)."""
    table.set_properties({"write.parquet.compression-codec": codec, "datashard.commit.durability": "process"})
    start = 0
    for k in range(30):
        n = 20 + (k % 5) * 25
        table.append_records(make_rows(start, n))
        start += n
    before = table.to_arrow().sort_by("id")
    first = table.compact(target_file_size=target, manifests=False)
    assert first["rewritten_files"] > 0 and first["snapshot_id"] is not None
    files_after_first = table.data_files()
    version, snapshots = table.version, len(table.snapshots())
    second = table.compact(target_file_size=target, manifests=False)
    assert {k: second[k] for k in ("rewritten_files", "added_files", "snapshot_id", "manifests_snapshot_id")} == {
        "rewritten_files": 0, "added_files": 0, "snapshot_id": None, "manifests_snapshot_id": None}
    assert table.version == version and len(table.snapshots()) == snapshots
    assert table.data_files() == files_after_first
    assert table.to_arrow().sort_by("id").equals(before)
    assert table.verify()["ok"]


# -- verify ----------------------------------------------------------------------------------------


def _corrupt_data_page(path: str) -> None:
    """Flip a byte inside the first column chunk's data page (covered by its page checksum)."""
    meta = pq.ParquetFile(path).metadata.row_group(0).column(0)
    chunk_end = (meta.dictionary_page_offset or meta.data_page_offset) + meta.total_compressed_size
    offset = (meta.data_page_offset + chunk_end) // 2
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_verify_reports_a_healthy_table(filled: Table) -> None:
    report = filled.verify()
    assert report["ok"] and report["problems"] == []
    assert report["data_files"] == 3 and report["rows"] == 30 and report["bytes"] > 0
    assert report["snapshot_id"] == filled.current_snapshot().snapshot_id


def test_verify_names_a_corrupted_file(tmp_path) -> None:
    t = create_table(str(tmp_path / "t"), pa.schema([pa.field("id", pa.int64(), nullable=False)]))
    for k in range(3):
        t.append({"id": list(range(k * 2000, (k + 1) * 2000))})
    victim = t.parquet_paths()[1]
    _corrupt_data_page(victim)

    with pytest.raises(CorruptDataError) as e:
        t.verify()
    assert victim in str(e.value) and e.value.path == victim
    assert [p["path"] for p in e.value.problems] == [victim]

    report = t.verify(raise_on_error=False)
    assert not report["ok"] and [p["path"] for p in report["problems"]] == [victim]


def test_verify_finds_a_truncated_file(filled: Table) -> None:
    victim = filled.parquet_paths()[0]
    size = os.path.getsize(victim)
    with open(victim, "r+b") as f:
        f.truncate(size - 10)
    report = filled.verify(raise_on_error=False)
    assert [p["path"] for p in report["problems"]] == [victim]
    assert "size" in report["problems"][0]["problem"] or "Parquet" in report["problems"][0]["problem"]
