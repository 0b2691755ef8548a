"""Mixed writers: processes appending, deleting by filter and overwriting at the same time,
checked against invariants after the run.

1. Owned key ranges: each writer changes only rows in its own key range (every filter it uses
   is confined to that range), with random appends, deletes by filter, overwrites,
   multi-change transactions, rolled-back transactions and serializable read-modify-writes,
   and keeps a model of what its range must hold. Afterwards every writer's range in the table
   must equal its model exactly (keys and values), and nothing may be outside the ranges.
2. Shared accounts: writers move money between accounts (two account rows overwritten and one
   audit row appended per transfer, in one serializable transaction) while they conflict with
   each other. Afterwards: the total is unchanged, no balance is negative, every account is
   one row, and every balance equals its opening balance plus what the audit rows say moved.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time

import pyarrow as pa
import pyarrow.compute as pc

from datashard import ConcurrentModificationException, Schema, create_table, load_table

WRITERS = 4
OPS = 25
RANGE = 100_000


# -- 1. owned key ranges --------------------------------------------------------------------------------


def _range_writer(path: str, writer: int, ops: int, seed: int, ready, go, results) -> None:
    rng = random.Random(seed)
    lo, hi = writer * RANGE, (writer + 1) * RANGE - 1
    own = ("key", "between", (lo, hi))  # every filter is AND-ed with this
    model: dict[int, int] = {}
    next_key = lo
    log: list[str] = []

    def new_rows(n: int) -> list[dict]:
        nonlocal next_key
        rows = [{"key": next_key + i, "writer": writer, "val": rng.randrange(100)} for i in range(n)]
        next_key += n
        return rows

    def where_val_below(x: int) -> tuple[list, list[int]]:
        return [own, ("val", "<", x)], [k for k, v in model.items() if v < x]

    def where_keys(keys: list[int]) -> tuple[list, list[int]]:
        return [own, ("key", "in", keys)], [k for k in keys if k in model]

    table = load_table(path)
    ready.put(writer)
    go.wait()
    for _ in range(ops):
        op = rng.choice(["append", "append", "delete", "overwrite", "tx", "rollback", "rmw"])
        log.append(op)
        if op == "append" or not model:
            rows = new_rows(rng.randint(1, 5))
            table.append(rows)
            model.update({r["key"]: r["val"] for r in rows})
        elif op == "delete":
            where, hit = where_val_below(rng.randrange(40)) if rng.random() < 0.5 else where_keys(
                rng.sample(sorted(model), min(len(model), rng.randint(1, 3)))
            )
            assert table.delete(where) == len(hit), (op, where)
            for k in hit:
                del model[k]
        elif op == "overwrite":
            keys = rng.sample(sorted(model), min(len(model), rng.randint(1, 3)))
            where, hit = where_keys(keys)
            rows = [{"key": k, "writer": writer, "val": rng.randrange(100)} for k in keys] + new_rows(1)
            assert table.overwrite(rows, where=where) == len(hit)
            for k in hit:
                del model[k]
            model.update({r["key"]: r["val"] for r in rows})
        elif op == "tx":  # append + delete + append, one snapshot
            with table.new_transaction() as tx:
                first = new_rows(2)
                tx.append(first)
                model.update({r["key"]: r["val"] for r in first})
                # operations apply in order: the delete also sees the two rows just appended
                where, hit = where_val_below(rng.randrange(30))
                assert tx.delete(where) == len(hit)
                second = new_rows(1)
                tx.append(second)
            for k in hit:
                del model[k]
            model.update({r["key"]: r["val"] for r in second})
        elif op == "rollback":
            tx = table.new_transaction().begin()
            tx.append(new_rows(3))
            tx.delete([own])
            tx.rollback()
        else:  # serializable read-modify-write of this writer's rows: add 1000 to the smallest
            def bump(tx) -> int:
                mine = tx.to_arrow(filter=[own])
                k = min(mine["key"].to_pylist())
                v = mine.filter(pc.equal(mine["key"], k))["val"][0].as_py()
                tx.overwrite([{"key": k, "writer": writer, "val": v + 1000}], where=[own, ("key", "==", k)])
                return k

            k = table.transact(bump, retries=1000)
            model[k] += 1000
    results.put((writer, model, log))


def test_writers_in_owned_key_ranges_end_exactly_as_their_models(tmp_path) -> None:
    path = str(tmp_path / "ranges")
    schema = Schema(
        schema_id=0,
        fields=[
            {"id": 1, "name": "key", "type": "long", "required": True},
            {"id": 2, "name": "writer", "type": "int", "required": True},
            {"id": 3, "name": "val", "type": "long", "required": True},
        ],
    )
    create_table(path, schema)
    seed = random.randrange(2**32)
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_range_writer, args=(path, w, OPS, seed + w, ready, go, results)) for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    go.set()
    reports = {}
    for _ in procs:
        w, model, log = results.get(timeout=600)
        reports[w] = (model, log)
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * WRITERS, f"seed {seed}"

    table = load_table(path)
    data = table.to_arrow()
    for w, (model, log) in reports.items():
        mine = data.filter(pc.equal(data["writer"], w))
        got = dict(zip(mine["key"].to_pylist(), mine["val"].to_pylist()))
        assert mine.num_rows == len(got), f"writer {w}: duplicate keys (seed {seed})"
        assert got == model, f"writer {w} after {log} (seed {seed})"
        assert all(w * RANGE <= k < (w + 1) * RANGE for k in got)
    assert data.num_rows == sum(len(m) for m, _ in reports.values()) == table.row_count()


# -- 2. shared accounts ----------------------------------------------------------------------------------

ACCOUNTS = 8
OPENING = 100
TRANSFERS = 12


def _transfer_writer(path: str, writer: int, transfers: int, seed: int, ready, go, results) -> None:
    rng = random.Random(seed)
    table = load_table(path)
    calls = 0

    def transfer(tx) -> int:
        nonlocal calls
        calls += 1
        src, dst = rng.sample(range(ACCOUNTS), 2)
        where = [("kind", "==", "account"), ("id", "in", [src, dst])]
        rows = {r["id"]: r["balance"] for r in tx.scan(columns=["id", "balance"], filter=where)}
        amount = min(rows[src], rng.randint(1, 30))
        audit_id = writer * 1_000_000 + calls
        tx.overwrite(
            [
                {"kind": "account", "id": src, "balance": rows[src] - amount},
                {"kind": "account", "id": dst, "balance": rows[dst] + amount},
            ],
            where=where,
        )
        tx.append([{"kind": "transfer", "id": audit_id, "src": src, "dst": dst, "amount": amount}])
        return audit_id

    ready.put(writer)
    go.wait()
    committed, gave_up = [], 0
    for _ in range(transfers):
        try:
            committed.append(table.transact(transfer, retries=200))
        except ConcurrentModificationException:
            gave_up += 1
    results.put((writer, committed, calls, gave_up))


def test_concurrent_transfers_keep_the_books_balanced(tmp_path) -> None:
    path = str(tmp_path / "bank")
    schema = Schema(
        schema_id=0,
        fields=[
            {"id": 1, "name": "kind", "type": "string", "required": True},
            {"id": 2, "name": "id", "type": "long", "required": True},
            {"id": 3, "name": "balance", "type": "long"},
            {"id": 4, "name": "src", "type": "long"},
            {"id": 5, "name": "dst", "type": "long"},
            {"id": 6, "name": "amount", "type": "long"},
        ],
    )
    table = create_table(path, schema)
    for a in range(ACCOUNTS):  # one file per account, so transfers conflict only when they share one
        table.append([{"kind": "account", "id": a, "balance": OPENING}])

    seed = random.randrange(2**32)
    ctx = mp.get_context("spawn")
    ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_transfer_writer, args=(path, w, TRANSFERS, seed + w, ready, go, results))
        for w in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get(timeout=300)
    t0 = time.time()
    go.set()
    reports = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * WRITERS, f"seed {seed}"
    elapsed = time.time() - t0

    data = load_table(path).to_arrow()
    accounts = data.filter(pc.equal(data["kind"], "account"))
    audits = data.filter(pc.equal(data["kind"], "transfer"))
    balances = dict(zip(accounts["id"].to_pylist(), accounts["balance"].to_pylist()))
    assert accounts.num_rows == ACCOUNTS and sorted(balances) == list(range(ACCOUNTS)), f"seed {seed}"
    assert sum(balances.values()) == ACCOUNTS * OPENING
    assert min(balances.values()) >= 0
    committed = sorted(a for r in reports for a in r[1])
    assert sorted(audits["id"].to_pylist()) == committed, "audit rows == acknowledged transfers"
    expected = {a: OPENING for a in range(ACCOUNTS)}
    for row in audits.to_pylist():
        expected[row["src"]] -= row["amount"]
        expected[row["dst"]] += row["amount"]
    assert balances == expected, f"seed {seed}"
    calls = sum(r[2] for r in reports)
    gave_up = sum(r[3] for r in reports)
    print(
        f"\ntransfers: {len(committed)} committed, {calls - len(committed)} runs lost to conflicts, "
        f"{gave_up} gave up, {elapsed:.1f} s"
    )
    assert len(committed) + gave_up == WRITERS * TRANSFERS
    assert len(committed) > 0


def test_range_writer_alone_matches_its_model(tmp_path) -> None:
    # A tiny sequential version of the ranges run, so a failure in the model itself shows here
    # with a readable traceback rather than inside a child process.
    path = str(tmp_path / "seq")
    create_table(
        path,
        pa.schema(
            [pa.field("key", pa.int64(), False), pa.field("writer", pa.int32(), False), pa.field("val", pa.int64(), False)]
        ),
    )

    class _Inline:
        def __init__(self) -> None:
            self.items: list = []

        def put(self, item) -> None:
            self.items.append(item)

        def wait(self) -> None:
            pass

    out = _Inline()
    _range_writer(path, 0, 30, 1234, _Inline(), _Inline(), out)
    (_, model, _), = out.items
    data = load_table(path).to_arrow()
    assert dict(zip(data["key"].to_pylist(), data["val"].to_pylist())) == model
