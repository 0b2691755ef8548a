"""Small concurrent commits on S3 next to the same run on local disk.

    python bench/s3_commits.py [--writers 8] [--commits 200]

Starts versitygw on 127.0.0.1 (tests/python/s3_support.py builds it once), then runs the same
workload three ways in one run: local disk; S3 with every writer as its own "host" (its own
process, S3 client and lock directory, so only the store's conditional PUT coordinates them);
S3 with the writers sharing one host's lock directory (queueing and group commit, as on disk).
Each writer makes ``commits`` single-row appends; each run reads the table back and checks that
every (writer, seq) row is there exactly once before it reports commits per second.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "python"))

import pyarrow as pa  # noqa: E402

SCHEMA = pa.schema([("writer", pa.int64()), ("seq", pa.int64())])


def _writer(location: str, writer: int, commits: int, lock_dir: str, go: str) -> None:
    os.environ["DATASHARD_LOCK_DIR"] = lock_dir
    import datashard

    table = datashard.load_table(location)
    while not os.path.exists(go):
        time.sleep(0.005)
    for seq in range(commits):
        table.append(pa.table({"writer": [writer], "seq": [seq]}))


def run(location: str, writers: int, commits: int, shared_lock: bool, work: str) -> float:
    import datashard

    datashard.create_table(location, SCHEMA)
    ctx = mp.get_context("spawn")
    go = os.path.join(work, f"go-{uuid.uuid4().hex}")
    procs = [
        ctx.Process(
            target=_writer,
            args=(location, w, commits, os.path.join(work, "host" if shared_lock else f"host{w}"), go),
        )
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    time.sleep(2.0)  # every writer has opened the table
    started = time.monotonic()
    open(go, "w").close()
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    if any(p.exitcode != 0 for p in procs):
        raise SystemExit(f"a writer failed on {location}")
    rows = datashard.load_table(location).to_arrow()
    got = sorted(zip(rows["writer"].to_pylist(), rows["seq"].to_pylist()))
    if got != sorted((w, s) for w in range(writers) for s in range(commits)):
        raise SystemExit(f"{location}: rows lost or duplicated ({len(got)} rows)")
    return writers * commits / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--commits", type=int, default=200)
    args = parser.parse_args()
    from s3_support import S3Server

    with tempfile.TemporaryDirectory() as work, S3Server() as server:
        os.environ.update(
            AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key,
            AWS_REGION=server.region, AWS_ENDPOINT_URL=server.endpoint,
        )
        server.create_bucket("bench")
        results = [
            ("local disk (fsync)", run(os.path.join(work, "local"), args.writers, args.commits, True, work)),
            ("S3, one host per writer", run("s3://bench/hosts", args.writers, args.commits, False, work)),
            ("S3, writers on one host", run("s3://bench/shared", args.writers, args.commits, True, work)),
        ]
    print(f"{args.writers} writers x {args.commits} single-row commits, every row read back once")
    print("| where | commits/s |\n|---|---|")
    for name, rate in results:
        print(f"| {name} | {rate:.0f} |")


if __name__ == "__main__":
    main()
