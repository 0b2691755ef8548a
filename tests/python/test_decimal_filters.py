"""Decimal columns compared with int, float, Decimal and text literals (issue 20), exactly.

A float literal means its shortest decimal text (``99.99`` is ``Decimal("99.99")``); a literal
with more fractional digits than the column's scale, or beyond its precision, still gives the
exact answer, with file pruning by column bounds taking part.
"""

from __future__ import annotations

import operator
import subprocess
import sys
import tempfile
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datashard import FilterTypeError, Schema, Table, col, create_table, parse_where

AMOUNTS = ["-99999999.99", "-100.00", "-0.01", "0.00", "0.01", "99.98", "99.99", "100.00", "100.01",
           "12345.67", "99999999.99", None]
OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
       ">=": operator.ge}


def make_table(path: str, type_: str, amounts: list[str | None], files: int = 3) -> Table:
    t = create_table(path, Schema(schema_id=0, fields=[
        {"id": 1, "name": "id", "type": "long", "required": True},
        {"id": 2, "name": "amount", "type": type_, "required": False},
    ]))
    schema = t.arrow_schema()
    rows = [{"id": i, "amount": None if a is None else Decimal(a)} for i, a in enumerate(amounts)]
    for k in range(files):  # several files, so bounds pruning takes part
        part = rows[k::files]
        if part:
            t.append(pa.Table.from_pylist(part, schema=schema))
    return t


@pytest.fixture(scope="module")
def amounts_table(tmp_path_factory) -> Table:
    return make_table(str(tmp_path_factory.mktemp("dec") / "t"), "decimal(10,2)", AMOUNTS)


def ids(t: Table, f: Any) -> list[int]:
    return sorted(r["id"] for r in t.scan(columns=["id"], filter=f))


def expected(op: str, literal: Decimal, amounts: list[str | None] = AMOUNTS) -> list[int]:
    return [i for i, a in enumerate(amounts) if a is not None and OPS[op](Decimal(a), literal)]


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("literal", [99.99, 99.995, 99.985, 100, 0, -0.005, 0.001, 1e-9, 99999999.99,
                                     99999999.995, 1e8, -1e8, 1e300, -1e300])
def test_float_and_int_literals_compare_exactly(amounts_table: Table, op: str, literal: float) -> None:
    want = expected(op, Decimal(repr(literal)))
    assert ids(amounts_table, OPS[op](col("amount"), literal)) == want
    assert ids(amounts_table, {"amount": (op, literal)}) == want
    assert ids(amounts_table, ("amount", op, literal)) == want
    assert ids(amounts_table, ("amount", op, Decimal(repr(literal)))) == want
    assert ids(amounts_table, parse_where(f"amount {op} {literal!r}")) == want


def test_the_issue_examples(amounts_table: Table) -> None:
    over = [AMOUNTS.index(a) for a in ("100.00", "100.01", "12345.67", "99999999.99")]
    assert ids(amounts_table, col("amount") > 99.99) == sorted(over)
    assert ids(amounts_table, parse_where("amount > 99.99")) == sorted(over)
    assert ids(amounts_table, {"amount": (">", 99.99)}) == sorted(over)
    assert ids(amounts_table, col("amount") > 99.995) == sorted(over)  # x > 99.995 is x >= 100.00
    assert ids(amounts_table, col("amount") >= 99.995) == sorted(over)
    assert ids(amounts_table, col("amount") <= 99.995) == expected("<=", Decimal("99.99"))
    assert ids(amounts_table, {"amount": 99.99}) == [AMOUNTS.index("99.99")]
    assert ids(amounts_table, {"amount": Decimal("99.990")}) == [AMOUNTS.index("99.99")]
    assert ids(amounts_table, {"amount": "99.99"}) == [AMOUNTS.index("99.99")]
    assert ids(amounts_table, {"amount": 99.995}) == []
    assert ids(amounts_table, col("amount").between(99.985, 100.005)) == [AMOUNTS.index("99.99"), AMOUNTS.index("100.00")]


def test_in_lists_and_special_values(amounts_table: Table) -> None:
    i = AMOUNTS.index
    assert ids(amounts_table, col("amount").isin([99.99, 99.995, 100, Decimal("0.010"), "-0.01"])) == sorted(
        [i("99.99"), i("100.00"), i("0.01"), i("-0.01")])
    non_null = [k for k, a in enumerate(AMOUNTS) if a is not None]
    assert ids(amounts_table, col("amount").not_in([99.995, 1e300])) == non_null
    assert ids(amounts_table, col("amount").isin([99.995])) == []
    for nan in (float("nan"), Decimal("NaN")):
        assert ids(amounts_table, col("amount") == nan) == []
        assert ids(amounts_table, col("amount") != nan) == non_null
        assert ids(amounts_table, col("amount") < nan) == []
    assert ids(amounts_table, col("amount") < float("inf")) == non_null
    assert ids(amounts_table, col("amount") > float("-inf")) == non_null
    assert ids(amounts_table, col("amount") > float("inf")) == []
    with pytest.raises(FilterTypeError):
        amounts_table.scan(filter=col("amount") == True)  # noqa: E712
    with pytest.raises(FilterTypeError):
        amounts_table.scan(filter={"amount": "ten"})


def test_pruning_with_a_rewritten_literal_stays_exact(tmp_path) -> None:
    # one file per range: amount > 99.995 must skip the low files and keep 100.00
    t = make_table(str(tmp_path / "t"), "decimal(10,2)", ["1.00", "2.00", "99.99", "100.00", "150.00"], files=5)
    s = t.new_scan(["id"], col("amount") > 99.995)
    assert sorted(s.to_arrow()["id"].to_pylist()) == [3, 4]
    assert s.metrics["files_skipped"] == 3
    s = t.new_scan(["id"], col("amount") < 99.995)
    assert sorted(s.to_arrow()["id"].to_pylist()) == [0, 1, 2]
    assert s.metrics["files_skipped"] == 2


def test_a_wide_decimal_and_a_literal_a_float_cannot_hold(tmp_path) -> None:
    t = make_table(str(tmp_path / "t"), "decimal(38,2)",
                   ["1234567890123456789.50", "1234567890123456789.51", "0.10"], files=1)
    assert ids(t, parse_where("amount = 1234567890123456789.5")) == [0]
    assert ids(t, parse_where("amount > 1234567890123456789.505")) == [1]
    assert ids(t, col("amount") == Decimal("1234567890123456789.51")) == [1]
    assert ids(t, col("amount") == 0.1) == [2]


def test_decimal_literals_on_integer_and_float_columns(tmp_path) -> None:
    t = create_table(str(tmp_path / "t"), pa.schema([pa.field("id", pa.int64()), pa.field("x", pa.float64())]))
    t.append({"id": [1, 2, 3], "x": [0.1, 1.5, 2.0]})
    assert ids(t, col("id") == Decimal("1.5")) == []  # not truncated to 1
    assert ids(t, col("id") > Decimal("1.5")) == [2, 3]
    assert ids(t, col("id") <= Decimal("2.0")) == [1, 2]
    assert ids(t, col("id").isin([Decimal("2"), Decimal("2.5")])) == [2]
    assert ids(t, col("x") == Decimal("0.1")) == [1]
    assert ids(t, col("x") >= Decimal("1.5")) == [2, 3]


def test_cli_where_on_a_decimal_column(amounts_table: Table) -> None:
    r = subprocess.run([sys.executable, "-m", "datashard.cli", "scan", amounts_table.location,
                        "--where", "amount > 99.99", "--count"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "4"


# -- property: any literal, any operator, the exact answer -------------------------------------

PROP_AMOUNTS = [None, "-999.999", "-1.000", "-0.001", "0.000", "0.001", "0.999", "1.000", "1.001", "2.500",
                "999.999"]
_prop: dict[str, Table] = {}


def _prop_table() -> Table:
    if "t" not in _prop:
        _prop["t"] = make_table(tempfile.mkdtemp() + "/t", "decimal(6,3)", PROP_AMOUNTS)
    return _prop["t"]


literals = (
    st.decimals(min_value=-1200, max_value=1200, places=4, allow_nan=False)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.tuples(st.sampled_from([Decimal(a) for a in PROP_AMOUNTS if a]),
                st.sampled_from([Decimal("-0.0005"), Decimal(0), Decimal("0.0005")])).map(sum)
    | st.floats(-1200, 1200)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-10**6, 10**6)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op=st.sampled_from(list(OPS)), literal=literals)
def test_property_any_literal_any_operator(op: str, literal: Any) -> None:
    t = _prop_table()
    exact = Decimal(repr(literal)) if isinstance(literal, float) else Decimal(literal)
    if exact.is_nan():
        want = [i for i, a in enumerate(PROP_AMOUNTS) if a is not None] if op == "!=" else []
    else:
        want = expected(op, exact, PROP_AMOUNTS)
    assert ids(t, ("amount", op, literal)) == want
    if op in ("==", "!="):
        in_op = "in" if op == "==" else "not_in"
        assert ids(t, ("amount", in_op, [literal])) == want
