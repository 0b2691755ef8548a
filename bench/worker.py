"""One measurement in one process: ``python bench/worker.py REQUEST.json``.

The runner starts this file with the system's own interpreter (its virtual environment),
so only that system's library is ever imported here. The request names the system, the
operation and its arguments; the reply is one JSON object on stdout (anything the library
prints goes to stderr). Times are taken inside the process around the operation alone:
interpreter start, imports, data generation and warm-up are outside them.

Measurements of the process itself:
* ``io``: deltas of /proc/self/io over the operation. ``read_bytes`` is what the kernel
  fetched from the block device for this process (page-cache hits are not in it; reads
  through mmap are), ``rchar`` what read()-type calls returned (cache hits included,
  mmap not); ``write_bytes`` what it dirtied for the device.
* ``maxrss_kb``: the peak resident set (getrusage ru_maxrss) at the end, and
  ``maxrss_before_kb`` the same just before the operation.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def _io() -> dict:
    out = {}
    try:
        with open("/proc/self/io") as f:
            for line in f:
                k, v = line.split(":")
                out[k.strip()] = int(v)
    except OSError:
        pass
    return out


def _io_delta(a: dict, b: dict) -> dict:
    return {k: b[k] - a[k] for k in ("rchar", "wchar", "read_bytes", "write_bytes") if k in a and k in b}


def _maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _files(paths):
    for root in paths:
        if os.path.isfile(root):
            yield root
            continue
        for d, _, names in os.walk(root):
            for n in names:
                yield os.path.join(d, n)


def _tree_bytes(path: str) -> tuple[int, int]:
    total = count = 0
    for p in _files([path]):
        try:
            total += os.lstat(p).st_size
            count += 1
        except OSError:
            pass
    return total, count


def _evict(paths) -> int:
    """Drop these files' pages from the page cache (clean pages only, hence the sync)."""
    os.sync()
    n = 0
    for p in _files(paths):
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n += 1
        finally:
            os.close(fd)
    return n


def _fsync_tree(path: str) -> None:
    """Make everything under ``path`` durable (what a caller who needs durability must do)."""
    for d, _, names in os.walk(path):
        for n in names:
            fd = os.open(os.path.join(d, n), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _rows(x) -> int:
    n = getattr(x, "num_rows", None)
    return len(x) if n is None else int(n)


def _load_input(path: str):
    import pyarrow as pa

    with pa.OSFile(path) as f:  # copied into memory, so no page faults during the write
        return pa.ipc.open_file(f).read_all()


def _warmup(ad, req) -> None:
    """Run the library's read path once on a tiny table, so lazy imports and first-call
    set-up are not timed. Never touches the measured table."""
    w = req.get("warmup_path")
    if w and os.path.exists(w):
        _rows(ad.read(w))
        _rows(ad.read(w, id_range=(10, 20)))


# -- operations ------------------------------------------------------------------------------


def op_versions(ad, req):
    return {"versions": ad.versions(), "python": sys.version.split()[0], "executable": sys.executable}


def op_create(ad, req):
    import data

    ad.create(req["path"], data.COMMIT_SCHEMA if req.get("schema", "commit") == "commit" else data.BULK_SCHEMA)
    return {}


def op_bulk_write(ad, req):
    table = _load_input(req["input"])
    path = req["path"]
    io0, rss0 = _io(), _maxrss_kb()
    t0 = time.perf_counter()
    ad.bulk_write(path, table)
    t1 = time.perf_counter()
    _fsync_tree(path)
    t2 = time.perf_counter()
    io1 = _io()
    size, nfiles = _tree_bytes(path)
    return {
        "rows": table.num_rows,
        "seconds": t1 - t0,
        "seconds_durable": t2 - t0,
        "bytes_on_disk": size,
        "files": nfiles,
        "input_bytes": table.nbytes,
        "io": _io_delta(io0, io1),
        "maxrss_before_kb": rss0,
        "maxrss_kb": _maxrss_kb(),
    }


def op_commit_loop(ad, req, out):
    import data

    worker, start, n = int(req["worker"]), int(req["start_seq"]), int(req["n"])
    budget = float(req.get("budget_s") or 0)
    marks = {int(s) for s in req.get("marks", [])}
    rows = [data.commit_row(worker, s) for s in range(start, start + n)]
    writer = ad.open_writer(req["path"])
    if req.get("barrier"):
        out.write("READY\n")
        out.flush()
        if sys.stdin.readline().strip() != "GO":
            raise RuntimeError("barrier: no GO from the runner")
    lat, acked, errors, tokens = [], [], [], {}
    t_start = time.monotonic()
    for i, row in enumerate(rows):
        seq = start + i
        t0 = time.perf_counter()
        try:
            token = writer.append(row)
        except Exception as e:  # a failed commit is data, not a crash: count it, go on
            errors.append(f"{type(e).__name__}: {str(e)[:300]}")
            continue
        finally:
            lat.append(time.perf_counter() - t0)
        acked.append(seq)
        if seq in marks:
            tokens[str(seq)] = token if token is not None else writer.version()
        if budget and time.monotonic() - t_start > budget:
            break
    t_end = time.monotonic()
    return {
        "worker": worker,
        "latencies": lat,
        "acked": acked,
        "errors": len(errors),
        "error_samples": errors[:5],
        "tokens": tokens,
        "t_start": t_start,
        "t_end": t_end,
    }


def op_read(ad, req):
    path = req["path"]
    _warmup(ad, req)
    evicted = _evict([path] + list(req.get("files") or [])) if req.get("cold") else 0
    kwargs = {}
    if req.get("files"):
        kwargs["files"] = req["files"]
    id_range = tuple(req["id_range"]) if req.get("id_range") else None
    io0, rss0 = _io(), _maxrss_kb()
    t0 = time.perf_counter()
    result = ad.read(path, id_range=id_range, columns=req.get("columns"), **kwargs)
    rows = _rows(result)
    t1 = time.perf_counter()
    io1 = _io()
    return {
        "rows": rows,
        "seconds": t1 - t0,
        "io": _io_delta(io0, io1),
        "evicted_files": evicted,
        "maxrss_before_kb": rss0,
        "maxrss_kb": _maxrss_kb(),
    }


def op_stream(ad, req):
    path = req["path"]
    _warmup(ad, req)
    kwargs = {"files": req["files"]} if req.get("files") else {}
    evicted = _evict([path]) if req.get("cold") else 0
    io0, rss0 = _io(), _maxrss_kb()
    t0 = time.perf_counter()
    rows = batches = 0
    for b in ad.stream(path, int(req.get("batch_size", 65536)), **kwargs):
        rows += _rows(b)
        batches += 1
        del b
    t1 = time.perf_counter()
    io1 = _io()
    return {
        "rows": rows,
        "batches": batches,
        "seconds": t1 - t0,
        "io": _io_delta(io0, io1),
        "evicted_files": evicted,
        "maxrss_before_kb": rss0,
        "maxrss_kb": _maxrss_kb(),
    }


def op_time_travel(ad, req):
    path, token = req["path"], req["version"]
    _warmup(ad, req)
    out = {}
    if hasattr(ad, "count_rows"):
        # Opening the version alone: find it and count its rows from metadata, no data read.
        t0 = time.perf_counter()
        out["open_rows"] = ad.count_rows(path, version=token)
        out["open_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    first = _rows(ad.read(path, version=token))
    t1 = time.perf_counter()
    again = _rows(ad.read(path, version=token))
    t2 = time.perf_counter()
    return {**out, "rows": first, "rows_again": again, "seconds": t1 - t0, "seconds_again": t2 - t1}


def op_readback(ad, req):
    """Read the commit table back and check which commits are in it."""
    t = ad.read(req["path"], columns=["worker", "seq"])
    pairs = list(zip(t.column("worker").to_pylist(), t.column("seq").to_pylist()))
    seen = set(pairs)
    acked = {(int(w), int(s)) for w, s in req.get("acked", [])}
    return {
        "rows": len(pairs),
        "distinct": len(seen),
        "duplicates": len(pairs) - len(seen),
        "acked": len(acked),
        "acked_missing": len(acked - seen),
        "unacked_present": len(seen - acked),
    }


def op_lookup_write(ad, req):
    ad.lookup_write(req["path"], _load_input(req["input"]))
    _fsync_tree(req["path"])
    return {"bytes": _tree_bytes(req["path"])[0]}


def op_lookup(ad, req):
    """One lookup (``query``: ``{"ranges": ...}`` or ``{"key": ...}``), cold (the table's
    files evicted from the page cache first) or warm; rows, time and bytes read. The first
    call of the library's lookup path runs on the same query before anything is timed or
    evicted, so imports and first-call set-up are not measured."""
    path, query = req["path"], req["query"]
    _rows(ad.lookup(path, query))
    evicted = _evict([path]) if req.get("cold") else 0
    io0 = _io()
    t0 = time.perf_counter()
    rows = _rows(ad.lookup(path, query))
    t1 = time.perf_counter()
    return {"rows": rows, "seconds": t1 - t0, "io": _io_delta(io0, _io()), "evicted_files": evicted}


def op_make_input(ad, req):
    """Write the first ``rows`` rows of the bulk table (``kind`` "lookup": the lookup table)
    to an Arrow IPC file every process can load."""
    import data
    import pyarrow as pa

    n = int(req["rows"])
    table = data.lookup_table(n) if req.get("kind") == "lookup" else data.bulk_table(n)
    tmp = req["out"] + ".tmp"
    with pa.OSFile(tmp, "wb") as f, pa.ipc.new_file(f, table.schema) as w:
        w.write_table(table)
    os.replace(tmp, req["out"])
    return {"rows": table.num_rows, "bytes": os.path.getsize(req["out"])}


def op_data_paths(ad, req):
    return {"paths": ad.data_paths(req["path"])}


OPS = {
    "make_input": op_make_input,
    "data_paths": op_data_paths,
    "versions": op_versions,
    "create": op_create,
    "bulk_write": op_bulk_write,
    "lookup_write": op_lookup_write,
    "lookup": op_lookup,
    "read": op_read,
    "stream": op_stream,
    "time_travel": op_time_travel,
    "readback": op_readback,
}


def main() -> int:
    # Keep the real stdout for our one JSON reply; whatever a library prints goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    req = json.loads(open(sys.argv[1]).read()) if not sys.argv[1].startswith("{") else json.loads(sys.argv[1])
    reply = {"system": req.get("system"), "op": req.get("op")}
    try:
        t0 = time.perf_counter()
        ad = importlib.import_module(f"adapters.{req['system']}")
        reply["import_seconds"] = time.perf_counter() - t0
        if req["op"] == "commit_loop":
            reply.update(op_commit_loop(ad, req, out))
        else:
            reply.update(OPS[req["op"]](ad, req))
        reply["ok"] = True
    except Exception as e:
        reply["ok"] = False
        reply["error"] = f"{type(e).__name__}: {str(e)[:500]}"
        reply["traceback"] = traceback.format_exc()[-4000:]
    out.write(json.dumps(reply) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    sys.exit(main())
