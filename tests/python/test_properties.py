"""Property tests (Hypothesis): random operation sequences against an in-memory model.

1. One writer: random appends, deletes by filter, overwrites, whole-file removals and
   transactions (committed, rolled back, or abandoned by an exception) on a fresh table; after
   every step the table's rows equal the model's (a list of rows) and the counts the calls
   return equal the model's.
2. Two writers interleaved: two transactions on the same base (two Table objects), random
   changes and reads in each, committed in a random order. The outcome must follow the
   conflict rules (snapshot isolation: the second fails exactly when both removed a common
   data file; serializable: it also fails when the first added rows matching what the second
   read), and the table must then hold exactly the winners' changes.

Model semantics inside a transaction, as documented: operations apply in order, so a delete
also removes rows appended (or rewritten) earlier in the same transaction.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from datashard import ConcurrentModificationException, Schema, create_table, load_table

MAX_REMOVALS_PER_TX = 3

SCHEMA = Schema(
    schema_id=0,
    fields=[
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "grp", "type": "int"},
        {"id": 3, "name": "val", "type": "long"},
    ],
)
# Flushes change nothing these tests can see; "process" durability keeps examples fast.
PROPERTIES = {"datashard.commit.durability": "process"}

SETTINGS = settings(
    max_examples=int(os.environ.get("DATASHARD_HYPOTHESIS_EXAMPLES", "100")),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)

# -- filters and their meaning in the model (SQL null semantics) ---------------------------------------

grp_values = st.one_of(st.none(), st.integers(0, 3))
val_values = st.one_of(st.none(), st.integers(-5, 5))
row_values = st.tuples(grp_values, val_values)

single_filters = st.one_of(
    st.builds(lambda g: {"grp": g}, st.integers(0, 3)),
    st.builds(lambda s: {"grp": ("in", s)}, st.lists(st.integers(0, 3), max_size=3)),
    st.builds(lambda s: {"grp": ("not_in", s)}, st.lists(st.integers(0, 3), max_size=2)),
    st.builds(lambda x: {"val": ("<", x)}, st.integers(-6, 6)),
    st.builds(lambda x: {"val": (">=", x)}, st.integers(-6, 6)),
    st.just({"val": ("is_null", None)}),
    st.just({"grp": ("is_not_null", None)}),
    st.builds(lambda a, b: {"id": ("between", (min(a, b), max(a, b)))}, st.integers(0, 40), st.integers(0, 40)),
    st.builds(lambda g, x: {"grp": g, "val": (">", x)}, st.integers(0, 3), st.integers(-6, 6)),
)
filters = st.one_of(single_filters, single_filters, single_filters, single_filters, st.none())


def _test(op: str, v: Any, x: Any) -> bool:
    if op == "is_null":
        return v is None
    if op == "is_not_null":
        return v is not None
    if v is None:
        return False
    return {
        "in": lambda: v in x,
        "not_in": lambda: v not in x,
        "<": lambda: v < x,
        ">": lambda: v > x,
        ">=": lambda: v >= x,
        "between": lambda: x[0] <= v <= x[1],
    }[op]()


def matches(row: dict, where: dict | None) -> bool:
    if where is None:
        return True
    for column, spec in where.items():
        op, x = spec if isinstance(spec, tuple) else ("in", [spec])
        if not _test(op, row[column], x):
            return False
    return True


# -- operations ---------------------------------------------------------------------------------------

new_rows = st.lists(row_values, min_size=1, max_size=4)
append_op = st.tuples(st.just("append"), new_rows)
delete_op = st.tuples(st.just("delete"), filters)
overwrite_op = st.tuples(st.just("overwrite"), st.lists(row_values, max_size=3), filters)


@st.composite
def tx_ops(draw) -> tuple:
    sub = draw(st.lists(st.one_of(append_op, append_op, delete_op, overwrite_op), min_size=1, max_size=4))
    removals = 0
    kept = []
    for s in sub:  # see MAX_REMOVALS_PER_TX
        if s[0] != "append":
            removals += 1
            if removals > MAX_REMOVALS_PER_TX:
                continue
        kept.append(s)
    return ("tx", kept, draw(st.sampled_from(["commit", "commit", "rollback", "raise"])))


operations = st.lists(
    st.one_of(
        append_op,
        append_op,
        delete_op,
        overwrite_op,
        tx_ops(),
        st.tuples(st.just("delete_files"), st.integers(0, 10)),
    ),
    min_size=1,
    max_size=8,
)


class Ids:
    def __init__(self) -> None:
        self.next = 0

    def rows(self, values: list[tuple]) -> list[dict]:
        out = [{"id": self.next + i, "grp": g, "val": v} for i, (g, v) in enumerate(values)]
        self.next += len(values)
        return out


def _by_id(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: r["id"])


class Abandon(Exception):
    pass


@pytest.fixture
def scratch():
    """A directory per example (function-scoped fixtures are shared across examples)."""
    root = tempfile.mkdtemp(prefix="ds-prop-")
    counter = iter(range(10**9))
    yield lambda: os.path.join(root, f"t{next(counter)}")
    shutil.rmtree(root, ignore_errors=True)


@SETTINGS
@given(ops=operations)
def test_random_operations_match_the_model(scratch, ops) -> None:
    table = create_table(scratch(), SCHEMA, properties=PROPERTIES)
    model: list[dict] = []
    ids = Ids()
    for op in ops:
        kind = op[0]
        if kind == "append":
            rows = ids.rows(op[1])
            table.append(rows)
            model += rows
        elif kind == "delete":
            hit = [r for r in model if matches(r, op[1])]
            assert table.delete(op[1]) == len(hit), op
            model = [r for r in model if not matches(r, op[1])]
        elif kind == "overwrite":
            rows = ids.rows(op[1])
            hit = [r for r in model if matches(r, op[2])]
            assert table.overwrite(rows, where=op[2]) == len(hit), op
            model = [r for r in model if not matches(r, op[2])] + rows
        elif kind == "delete_files":
            files = table.data_files()
            if not files:
                continue
            path = files[op[1] % len(files)]["file_path"]
            gone = set(pq.read_table(path, columns=["id"])["id"].to_pylist())
            with table.new_transaction() as tx:
                tx.delete_files([path])
            model = [r for r in model if r["id"] not in gone]
        else:  # a transaction: deletes see the base, appends accumulate
            _, subs, outcome = op
            state = list(model)  # the transaction's own view
            try:
                with table.new_transaction() as tx:
                    for sub in subs:
                        if sub[0] == "append":
                            rows = ids.rows(sub[1])
                            tx.append(rows)
                            state += rows
                            continue
                        where = sub[1] if sub[0] == "delete" else sub[2]
                        hit = [r for r in state if matches(r, where)]
                        state = [r for r in state if not matches(r, where)]
                        if sub[0] == "delete":
                            assert tx.delete(where) == len(hit), sub
                        else:
                            rows = ids.rows(sub[1])
                            assert tx.overwrite(rows, where=where) == len(hit), sub
                            state += rows
                    if outcome == "rollback":
                        tx.rollback()
                    elif outcome == "raise":
                        raise Abandon()
            except Abandon:
                pass
            if outcome == "commit":
                model = state
            event(f"transaction: {outcome}")
        assert _by_id(table.scan()) == _by_id(model), op
        assert table.row_count() == len(model)
    # a fresh handle reads the same
    assert _by_id(load_table(table.location).scan()) == _by_id(model)


# -- two interleaved writers ------------------------------------------------------------------------------

side_ops = st.lists(
    st.one_of(append_op, delete_op, overwrite_op, st.tuples(st.just("scan"), filters)), min_size=1, max_size=3
)


@dataclass
class Side:
    isolation: str
    ops: list
    reads: list = field(default_factory=list)  # filters read (scans, deletes, overwrites)
    removed_files: set = field(default_factory=set)  # base files that hold a deleted row
    deleted: set = field(default_factory=set)  # base row ids deleted
    appended: list = field(default_factory=list)  # new rows
    remainders: list = field(default_factory=list)  # rows copied into rewritten files

    def writes(self) -> bool:
        return bool(self.appended or self.removed_files)

    def added_rows(self) -> list[dict]:
        return self.appended + self.remainders


def _plan(side: Side, files: list[list[dict]], ids: Ids) -> list[tuple]:
    """Apply side.ops to the model; return the calls to make on the transaction."""
    calls = []
    removals = 0
    # The transaction's view: (row, origin), origin = index of the base file or None for new rows.
    state = [(r, i) for i, rows in enumerate(files) for r in rows]
    for op in side.ops:
        if op[0] == "append":
            rows = ids.rows(op[1])
            state += [(r, None) for r in rows]
            calls.append(("append", rows))
        elif op[0] == "scan":
            side.reads.append(op[1])
            calls.append(("scan", op[1]))
        else:
            removals += 1
            if removals > MAX_REMOVALS_PER_TX:
                continue
            where = op[1] if op[0] == "delete" else op[2]
            side.reads.append(where)
            for r, origin in state:
                if origin is not None and matches(r, where):
                    side.removed_files.add(origin)
            state = [(r, o) for r, o in state if not matches(r, where)]
            if op[0] == "delete":
                calls.append(("delete", where))
            else:
                rows = ids.rows(op[1])
                state += [(r, None) for r in rows]
                calls.append(("overwrite", rows, where))
    kept_base = {r["id"] for r, o in state if o is not None}
    side.deleted = {r["id"] for rows in files for r in rows} - kept_base
    side.appended = [r for r, o in state if o is None]
    side.remainders = [r for r, o in state if o is not None and o in side.removed_files]
    return calls


def _run(tx, calls: list[tuple]) -> None:
    for call in calls:
        if call[0] == "append":
            tx.append(call[1])
        elif call[0] == "scan":
            tx.scan(filter=call[1])
        elif call[0] == "delete":
            tx.delete(call[1])
        else:
            tx.overwrite(call[1], where=call[2])


@SETTINGS
@given(
    base=st.lists(st.lists(row_values, min_size=1, max_size=4), min_size=1, max_size=3),
    first=st.tuples(st.sampled_from(["snapshot", "serializable"]), side_ops),
    second=st.tuples(st.sampled_from(["snapshot", "serializable"]), side_ops),
    a_commits_first=st.booleans(),
    a_runs_first=st.booleans(),
)
def test_two_interleaved_transactions_follow_the_conflict_rules(
    scratch, base, first, second, a_commits_first, a_runs_first
) -> None:
    ids = Ids()
    table = create_table(scratch(), SCHEMA, properties=PROPERTIES)
    files = []
    for values in base:  # one data file per append
        rows = ids.rows(values)
        table.append(rows)
        files.append(rows)
    base_rows = [r for rows in files for r in rows]

    a, b = Side(*first), Side(*second)
    a_calls, b_calls = _plan(a, files, ids), _plan(b, files, ids)
    tx_a = table.new_transaction(a.isolation).begin()
    tx_b = load_table(table.location).new_transaction(b.isolation).begin()
    for tx, calls in ((tx_a, a_calls), (tx_b, b_calls)) if a_runs_first else ((tx_b, b_calls), (tx_a, a_calls)):
        _run(tx, calls)

    (f_tx, f), (s_tx, s) = ((tx_a, a), (tx_b, b)) if a_commits_first else ((tx_b, b), (tx_a, a))
    f_tx.commit()  # nothing committed since the base: the first always wins
    try:
        s_tx.commit()
        second_won = True
    except ConcurrentModificationException:
        second_won = False

    # What the rules demand of the second commit.
    if not s.writes() or not f.writes():
        must = True
    elif s.removed_files & f.removed_files:
        must = False
    elif s.isolation == "serializable" and any(
        matches(r, w)
        for w in s.reads
        for r in f.added_rows() + [r for i in f.removed_files for r in files[i]]
    ):
        must = False  # rows it read were added, or deleted/rewritten, by the first
    elif not f.added_rows() and not f.removed_files:
        must = True  # the first changed no file, so there is nothing for a read to conflict with
    elif s.isolation == "snapshot" or not s.reads:
        must = True
    else:
        must = None  # serializable, no row truly matches: pruning by column bounds may still refuse
    context = (a, b, a_commits_first, second_won)
    event(f"second commit {'won' if second_won else 'lost'} (rules: {dict([(True, 'must win'), (False, 'must lose'), (None, 'either')])[must]})")
    if must is not None:
        assert second_won == must, context

    winners = [f] + ([s] if second_won else [])
    deleted = set().union(*(w.deleted for w in winners))
    expected = [r for r in base_rows if r["id"] not in deleted] + [r for w in winners for r in w.appended]
    assert _by_id(load_table(table.location).scan()) == _by_id(expected), context

    # The loser left no data file behind: every Parquet file on disk belongs to some snapshot.
    referenced = {f["file_path"] for snap in table.snapshots() for f in table.data_files(snap["snapshot_id"])}
    data_dir = os.path.join(table.location, "data")
    on_disk = {os.path.join(data_dir, n) for n in os.listdir(data_dir)}
    assert on_disk == referenced, context
