"""Issue 5's proof: after many single-row commits, time travel to random earlier versions, by
snapshot id and by timestamp, returns exactly what the table held then (checked against a model).

CI runs 2,000 commits; ``DATASHARD_LONG=1`` runs the full 10,000 (about 2.5 minutes on the
2-core development machine: ~32 s of commits, the rest reading old versions, whose single-row
files are read one by one).
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
import random
import time

import pyarrow as pa
import pytest

from datashard import create_table

LONG = os.environ.get("DATASHARD_LONG", "") not in ("", "0")
COMMITS = 10_000 if LONG else 2_000
SAMPLES = 50


def test_time_travel_after_many_single_row_commits(tmp_path) -> None:
    t = create_table(
        str(tmp_path / "t"),
        pa.schema([pa.field("seq", pa.int64(), nullable=False)]),
        properties={"datashard.commit.durability": "process"},
    )
    started = time.perf_counter()
    sids = [t.append({"seq": [k]}) for k in range(COMMITS)]
    commit_s = time.perf_counter() - started
    assert len(set(sids)) == COMMITS and None not in sids

    # The model: after commit k the table holds seq 0..k. history() lists all of them, far beyond
    # the metadata file's 32-snapshot window.
    hist = t.history()
    assert [h["snapshot_id"] for h in reversed(hist)] == sids
    assert all(h["rows_added"] == 1 and h["operation"] == "append" for h in hist)
    assert [h["total_rows"] for h in reversed(hist)] == list(range(1, COMMITS + 1))
    stamps = [h["timestamp_ms"] for h in reversed(hist)]
    assert stamps == sorted(stamps), "commit timestamps must not go backwards"

    rng = random.Random(COMMITS)
    picks = rng.sample(range(COMMITS - 1), SAMPLES)
    started = time.perf_counter()
    for k in picks:  # by id
        assert t.row_count(snapshot_id=sids[k]) == k + 1
        got = t.to_arrow(snapshot_id=sids[k])["seq"].to_pylist()
        assert sorted(got) == list(range(k + 1)), f"snapshot of commit {k}"
    by_id_s = time.perf_counter() - started

    started = time.perf_counter()
    for n, k in enumerate(picks):  # by timestamp: the last commit at or before it (commits may share a ms)
        when = stamps[k]
        j = bisect.bisect_right(stamps, when) - 1
        assert t.snapshot_as_of(when).snapshot_id == sids[j]
        assert t.time_travel(timestamp=when).snapshot_id == sids[j]
        assert t.row_count(as_of=when) == j + 1
        if LONG or n < 15:  # the data of sids[j] was compared above; re-read some through as_of=
            got = t.to_arrow(as_of=when)["seq"].to_pylist()
            assert sorted(got) == list(range(j + 1)), f"as of the time of commit {k}"
    by_time_s = time.perf_counter() - started

    assert t.snapshot_as_of(stamps[0] - 1) is None
    assert t.to_arrow(as_of=stamps[0] - 1).num_rows == 0
    print(
        f"\n{COMMITS} single-row commits: {commit_s:.1f} s ({COMMITS / commit_s:.0f}/s); "
        f"{SAMPLES} time travels by id {by_id_s:.1f} s, by timestamp {by_time_s:.1f} s"
    )


@pytest.mark.smoke
def test_as_of_accepts_datetimes_strings_and_ages(tmp_path) -> None:
    t = create_table(str(tmp_path / "t"), pa.schema([pa.field("x", pa.int64())]))
    first = t.append({"x": [1]})
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    t.append({"x": [2]})
    naive_local = dt.datetime.fromtimestamp(middle)
    aware = dt.datetime.fromtimestamp(middle, tz=dt.timezone.utc)
    for when in (int(middle * 1000), naive_local, aware, aware.isoformat(), naive_local.isoformat()):
        assert t.snapshot_as_of(when).snapshot_id == first, when
        assert t.to_arrow(as_of=when)["x"].to_pylist() == [1]
        assert t.read_as_of(timestamp=when)["x"].to_pylist() == [1]
    assert t.row_count(as_of=dt.timedelta(0)) == 2  # "as of now"
    assert t.row_count(as_of=dt.timedelta(days=1)) == 0  # a day ago: nothing yet
    assert t.snapshot_as_of(dt.date(2000, 1, 1)) is None
