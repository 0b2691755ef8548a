"""The datashard command, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from datashard import Table


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "datashard.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.smoke
def test_info(filled: Table) -> None:
    r = run("info", filled.location)
    assert r.returncode == 0, r.stderr
    assert filled.location in r.stdout and "30" in r.stdout
    r = run("info", filled.location, "--json")
    info = json.loads(r.stdout)
    assert info["rows"] == 30 and info["data_files"] == 3
    assert info["current_snapshot_id"] == filled.current_snapshot().snapshot_id


def test_info_shows_the_sort_order(filled: Table) -> None:
    assert "sort order:        unsorted" in run("info", filled.location).stdout
    filled.replace_sort_order("id desc", "bucket[4](name)")
    r = run("info", filled.location)
    assert "sort order:        id desc nulls-last, bucket[4](name) asc nulls-first" in r.stdout, r.stdout
    info = json.loads(run("info", filled.location, "--json").stdout)
    assert info["sort_order"]["order-id"] == 1 and len(info["sort_order"]["fields"]) == 2


def test_info_counts_group_commit_marks_instead_of_listing_them(filled: Table) -> None:
    # The next version as another Iceberg writer would publish it, carrying two marks
    # (datashard's own API refuses to set them).
    metadata = json.loads(open(filled.metadata_location, encoding="utf-8").read())
    metadata["properties"]["datashard.group.writer-a"] = "3:123:1700000000000"
    metadata["properties"]["datashard.group.writer-b"] = "7:456:1700000000000"
    metadata["properties"]["user.note"] = "kept"
    following = filled.metadata_location.replace(f"v{filled.version}.metadata.json",
                                                 f"v{filled.version + 1}.metadata.json")
    with open(following, "x", encoding="utf-8") as f:
        json.dump(metadata, f)
    r = run("info", filled.location)
    assert r.returncode == 0, r.stderr
    assert "user.note = kept" in r.stdout
    assert "writer-a" not in r.stdout and "(2 group-commit marks" in r.stdout
    info = json.loads(run("info", filled.location, "--json").stdout)
    assert info["properties"]["datashard.group.writer-b"] == "7:456:1700000000000"


def test_schema(filled: Table) -> None:
    r = run("schema", filled.location)
    assert r.returncode == 0 and "score" in r.stdout and "double" in r.stdout
    r = run("schema", filled.location, "--json")
    assert [f["name"] for f in json.loads(r.stdout)["fields"]] == ["id", "name", "score", "group"]


def test_history(filled: Table) -> None:
    r = run("history", filled.location)
    assert r.returncode == 0
    for s in filled.snapshots():
        assert str(s["snapshot_id"]) in r.stdout
    r = run("history", filled.location, "--json", "-n", "2")
    assert [s["snapshot_id"] for s in json.loads(r.stdout)] == [s["snapshot_id"] for s in filled.snapshots()[-2:]]


def test_head(filled: Table) -> None:
    r = run("head", filled.location, "-n", "4")
    assert r.returncode == 0
    assert len(r.stdout.strip().splitlines()) == 2 + 4  # header, rule, rows
    r = run("head", filled.location, "-n", "3", "--json")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 3 and set(rows[0]) == {"id", "name", "score", "group"}


def test_errors_and_usage(tmp_path) -> None:
    r = run("info", str(tmp_path / "missing"))
    assert r.returncode == 1
    assert r.stderr.startswith("error: ")
    assert run("frobnicate").returncode == 2
    assert run().returncode == 2
    assert run("demo", "--processes", "0").returncode == 2


@pytest.mark.smoke
def test_demo_small() -> None:
    r = run("demo", "--processes", "2", "--commits", "20")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RESULT: PASS" in r.stdout
    assert "FAIL" not in r.stdout
    assert "commits/s" in r.stdout


def test_demo_counter_mode_small() -> None:
    r = run("demo", "--mode", "counter", "--processes", "3", "--commits", "5")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RESULT: PASS" in r.stdout and "FAIL" not in r.stdout
    assert "final counter in the table: 15 (expected 15)" in r.stdout
    assert "increments/s" in r.stdout and "retries" in r.stdout


def test_demo_baseline_survives_a_corrupted_json_file() -> None:
    # unlocked writers can leave a longer write's tail behind a shorter one: the baseline
    # must report that as corruption, not crash the demo
    from datashard.demo import _read_json_counter

    assert _read_json_counter('{"counter": 14}') == (14, False)
    assert _read_json_counter('{"counter": 9}4}') == (9, True)
    assert _read_json_counter("") == (0, True)
    assert _read_json_counter('{"count') == (0, True)


def test_demo_rejects_unknown_mode() -> None:
    assert run("demo", "--mode", "chaos").returncode == 2


# -- querying and maintenance commands ------------------------------------------------------------


def test_scan_where_columns_limit_and_json(filled: Table) -> None:
    r = run("scan", filled.location, "--where", "id >= 20", "-w", "group == 1", "--columns", "id,name", "--json")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(row["id"] for row in rows) == [22, 25, 28] and set(rows[0]) == {"id", "name"}
    assert r.stderr == ""  # no progress drawn when stderr is not a terminal

    r = run("scan", filled.location, "--where", "name in ('name-1', 'name-2')", "--count", "--stats")
    assert r.returncode == 0 and r.stdout.strip() == "2"
    assert "files 1/3 read" in r.stderr and "2 rows matched" in r.stderr  # pruned by string bounds
    r = run("scan", filled.location, "--limit", "4", "--json", "--count")
    assert json.loads(r.stdout) == {"rows": 4}
    r = run("scan", filled.location, "-w", "id < 2", "-c", "id", "-c", "group")
    assert r.returncode == 0 and r.stdout.splitlines()[0].split() == ["id", "group"]


def test_scan_time_travel_options(filled: Table) -> None:
    first = filled.history()[-1]
    filled.create_tag("first", first["snapshot_id"])
    for opts in (["--snapshot-id", str(first["snapshot_id"])], ["--ref", "first"],
                 ["--as-of", str(first["timestamp_ms"])], ["--as-of", "2001-01-01T00:00:00"]):
        r = run("scan", filled.location, "--count", *opts)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == ("0" if "2001" in opts[1] else "10"), opts
    r = run("head", filled.location, "--ref", "first", "-n", "50", "--json")
    assert len(r.stdout.splitlines()) == 10
    assert run("scan", filled.location, "--ref", "first", "--as-of", "1h").returncode == 2  # one or the other


def test_usage_errors_exit_2_and_table_errors_exit_1(filled: Table) -> None:
    for args in (["--where", "id >"], ["--where", "id > 1 or"], ["--as-of", "yesterday"],
                 ["--limit", "-1"], ["--columns", ","]):
        r = run("scan", filled.location, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert "usage:" in r.stderr
    r = run("scan", filled.location, "--where", "nope > 1")
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "nope" in r.stderr
    assert run("compact", filled.location, "--target-file-size", "lots").returncode == 2
    assert run("expire", filled.location).returncode == 2  # says nothing about what to expire


def test_verify_exit_codes(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from datashard import create_table

    t = create_table(str(tmp_path / "t"), pa.schema([pa.field("id", pa.int64())]))
    for k in range(2):
        t.append({"id": list(range(k * 1000, (k + 1) * 1000))})
    r = run("verify", t.location)
    assert r.returncode == 0 and "OK" in r.stdout
    victim = t.parquet_paths()[0]
    meta = pq.ParquetFile(victim).metadata.row_group(0).column(0)
    chunk_end = (meta.dictionary_page_offset or meta.data_page_offset) + meta.total_compressed_size
    with open(victim, "r+b") as f:
        f.seek((meta.data_page_offset + chunk_end) // 2)  # inside the data page
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0xFF]))
    r = run("verify", t.location)
    assert r.returncode == 3 and f"DAMAGED {victim}" in r.stdout
    r = run("verify", t.location, "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 3 and not report["ok"] and report["problems"][0]["path"] == victim


def test_compact_expire_gc(filled: Table) -> None:
    import os
    import time

    r = run("compact", filled.location, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rewritten_files"] == 3
    assert len(filled.data_files()) == 1

    r = run("expire", filled.location, "--retain-last", "1", "--dry-run", "--json")
    dry = json.loads(r.stdout)
    assert r.returncode == 0 and dry["dry_run"] and len(dry["expired_snapshot_ids"]) == 4
    assert len(filled.history()) == 5
    r = run("expire", filled.location, "--older-than", "1h")
    assert r.returncode == 0 and "expired 0 snapshot(s)" in r.stdout
    r = run("expire", filled.location, "--retain-last", "1", "-q")
    assert r.returncode == 0 and "expired 4 snapshot(s)" in r.stdout
    assert len(filled.history()) == 1 and filled.row_count() == 30

    stray = os.path.join(filled.location, "data", "stray.parquet")
    with open(stray, "wb") as f:
        f.write(b"x")
    r = run("gc", filled.location, "--json")  # default grace: 3 days
    assert r.returncode == 0 and json.loads(r.stdout)["orphans"] == []
    past = time.time() - 4 * 86400
    os.utime(stray, (past, past))
    r = run("gc", filled.location, "--dry-run")
    assert r.returncode == 0 and f"would delete {stray}" in r.stdout and os.path.exists(stray)
    r = run("gc", filled.location)
    assert r.returncode == 0 and not os.path.exists(stray)
    assert run("verify", filled.location).returncode == 0


def test_tags(filled: Table) -> None:
    first = filled.history()[-1]["snapshot_id"]
    r = run("tag", "create", filled.location, "v1", "--snapshot-id", str(first), "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"name": "v1", "type": "tag", "snapshot_id": first}
    assert run("tag", "create", filled.location, "latest").returncode == 0
    r = run("tag", "list", filled.location, "--json")
    assert set(json.loads(r.stdout)) == {"v1", "latest"}
    r = run("tag", "list", filled.location, "--all")
    assert "main" in r.stdout and "branch" in r.stdout
    assert run("tag", "create", filled.location, "v1").returncode == 1  # exists
    assert run("tag", "drop", filled.location, "v1").returncode == 0
    assert run("tag", "drop", filled.location, "v1").returncode == 1
    assert set(filled.refs()) == {"main", "latest"}
    assert run("tag", filled.location).returncode == 2


def test_history_and_info_show_refs_and_row_changes(filled: Table) -> None:
    filled.create_tag("v1")
    filled.delete({"id": ("<", 5)})
    r = run("history", filled.location, "--json")
    entries = json.loads(r.stdout)
    assert [e["total_rows"] for e in entries] == [10, 20, 30, 25]
    # copy-on-write: the delete removed a 10-row file and added back its 5 surviving rows
    assert (entries[-1]["rows_removed"], entries[-1]["rows_added"]) == (10, 5)
    assert entries[2]["refs"] == ["v1"] and entries[-1]["current"]
    r = run("history", filled.location)
    assert "v1" in r.stdout and "+rows" in r.stdout
    info = json.loads(run("info", filled.location, "--json").stdout)
    assert info["refs"]["v1"]["type"] == "tag" and info["snapshots"] == 4


def test_progress_indicator_draws_only_on_a_terminal() -> None:
    import io
    import time

    from datashard.progress import Progress, progress_enabled

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not progress_enabled(stream=io.StringIO())
    assert progress_enabled(stream=Tty()) and not progress_enabled(quiet=True, stream=Tty())
    out = Tty()
    with Progress("working", enabled=True, unit="rows", stream=out) as p:
        p.update(5)
        time.sleep(0.9)
    assert "working" in out.getvalue()
    quick = Tty()
    with Progress("quick", enabled=True, stream=quick):
        pass
    assert quick.getvalue() == ""  # nothing for work under half a second
