"""Many processes appending to one table at once: every commit survives, each exactly once."""

from __future__ import annotations

import multiprocessing as mp

import pyarrow.compute as pc
import pytest

from datashard import Schema, create_table, load_table

PROCESSES = 8
COMMITS = 200


def _writer(path: str, worker: int, commits: int) -> None:
    table = load_table(path)  # each process opens the table itself
    for seq in range(commits):
        table.append_records([{"worker": worker, "seq": seq, "value": 1}])


@pytest.mark.parametrize("group", ["true", "false"], ids=["group-commit", "one-commit-each"])
def test_processes_appending_single_rows(tmp_path, group) -> None:
    path = str(tmp_path / "counter")
    schema = Schema(
        schema_id=0,
        fields=[
            {"id": 1, "name": "worker", "type": "int", "required": True},
            {"id": 2, "name": "seq", "type": "long", "required": True},
            {"id": 3, "name": "value", "type": "long", "required": True},
        ],
    )
    create_table(path, schema, properties={"datashard.commit.group": group})
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, COMMITS)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
    assert [p.exitcode for p in procs] == [0] * PROCESSES

    table = load_table(path)
    data = table.to_arrow(parallel=True)
    assert data.num_rows == PROCESSES * COMMITS
    assert pc.sum(data["value"]).as_py() == PROCESSES * COMMITS
    pairs = set(zip(data["worker"].to_pylist(), data["seq"].to_pylist()))
    assert pairs == {(w, s) for w in range(PROCESSES) for s in range(COMMITS)}
    assert table.row_count() == PROCESSES * COMMITS
    versions = table.current_snapshot().sequence_number
    history = table.history()
    assert len(history) == versions
    # Every append is in exactly one commit's count.
    assert sum(h["rows_added"] for h in history) == PROCESSES * COMMITS
    if group == "false":
        assert versions == PROCESSES * COMMITS
    else:
        # Group commit: writers that lost a race were applied by whoever committed next.
        assert versions < PROCESSES * COMMITS
        grouped = [h for h in history if h["rows_added"] > 1]
        assert all(int(h["summary"]["datashard.group-size"]) == h["rows_added"] for h in grouped)
    files = table.data_files()
    assert sum(f["record_count"] for f in files) == PROCESSES * COMMITS
    # One file per append, whoever wrote it (rows in group-commit intents get files of their own).
    assert len(files) == PROCESSES * COMMITS
