"""OR, NOT and nesting in every filter form (``col()`` expressions, the dict form, ``where``
text, the CLI, pyarrow expressions) and their three-valued semantics; their pruning is in
test_pruning.py."""

from __future__ import annotations

import math
import subprocess
import sys

import pyarrow as pa
import pytest

from datashard import Table, col, create_table, parse_where
from datashard.errors import InvalidArgumentError, SchemaError
from datashard.filters import And, FilterExpression, FilterOp, Not, Or, parse_filter

@pytest.fixture
def small(tmp_path) -> Table:
    """x: 1.0, 5.0, null, NaN, -0.0, 0.0 (ids 0..5); g: a, null, b, a, null, b."""
    t = create_table(str(tmp_path / "t"), pa.schema([pa.field("id", pa.int64()), pa.field("x", pa.float64()),
                                                    pa.field("g", pa.string())]))
    t.append({"id": [0, 1, 2], "x": [1.0, 5.0, None], "g": ["a", None, "b"]})
    t.append({"id": [3, 4, 5], "x": [math.nan, -0.0, 0.0], "g": ["a", None, "b"]})
    return t


def ids(t: Table, flt) -> list[int]:
    return sorted(t.to_arrow(filter=flt)["id"].to_pylist())


# -- semantics ------------------------------------------------------------------------------------


def test_or_of_equalities(small: Table) -> None:
    assert ids(small, (col("id") == 1) | (col("id") == 3)) == [1, 3]
    assert ids(small, {"$or": [{"id": 1}, {"id": 3}]}) == [1, 3]
    assert ids(small, parse_where("id = 1 or id = 3")) == [1, 3]


def test_not_is_three_valued(small: Table) -> None:
    # NOT (x < 2): not the null (2), but NaN (3), which is not less than 2.
    assert ids(small, ~(col("x") < 2)) == [1, 3]
    assert ids(small, {"$not": {"x": ("<", 2)}}) == [1, 3]
    assert ids(small, parse_where("not x < 2")) == [1, 3]
    # NOT IN and NOT (IN) never match a null cell.
    assert ids(small, ~col("g").isin(["a"])) == [2, 5]
    assert ids(small, col("g").not_in(["a"])) == [2, 5]
    # De Morgan in three-valued logic: x > 0.5 AND g IS NOT NULL, negated.
    assert ids(small, ~((col("x") > 0.5) & col("g").not_null())) == [1, 3, 4, 5]
    # OR: true OR unknown is true.
    assert ids(small, (col("x") > 4) | col("g").not_null()) == [0, 1, 2, 3, 5]
    assert ids(small, ~~(col("x") < 2)) == [0, 4, 5]


def test_nan_and_negative_zero(small: Table) -> None:
    assert ids(small, (col("x") == 0.0) | (col("x") == math.nan)) == [4, 5]  # NaN equals nothing
    assert ids(small, ~(col("x") != 0.0)) == [4, 5]
    assert ids(small, col("x").isin([math.nan])) == [3]  # a set lookup finds NaN
    assert ids(small, ~(col("x") >= -1.0) | col("x").is_null()) == [2, 3]


def test_nesting_and_precedence(small: Table) -> None:
    # AND binds tighter than OR, NOT tighter than AND.
    text = "g = 'a' or g = 'b' and x > 0"
    assert ids(small, parse_where(text)) == [0, 3]
    assert parse_where(text) == (col("g") == "a") | ((col("g") == "b") & (col("x") > 0))
    assert ids(small, parse_where("(g = 'a' or g = 'b') and not x > 0")) == [3, 5]
    assert ids(small, parse_where("x not between 0 and 2")) == [1, 3]
    assert ids(small, parse_where("not (id in (1, 2) or x is null) and id < 4")) == [0, 3]
    nested = {"$and": [{"$or": [{"g": "a"}, {"g": "b"}]}, {"$not": [("x", ">", 0)]}], "id": ("<", 5)}
    assert ids(small, nested) == [3]


def test_terms_and_reprs() -> None:
    e = (col("a") == 1) | ~(col("b") < 2)
    assert e.terms == (Or((FilterExpression("a", FilterOp.EQ, 1), Not(FilterExpression("b", FilterOp.LT, 2)))),)
    assert repr(e) == '((col("a") == 1) | (~(col("b") < 2)))'
    # ~ of =, !=, IN, NOT IN and the null tests is exact as a predicate: no NOT node.
    assert ~(col("a") == 1) == (col("a") != 1)
    assert ~col("a").isin([1]) == col("a").not_in([1])
    assert ~col("a").is_null() == col("a").not_null()
    # OR flattens; the dict form and the expression agree.
    flat = (col("a") == 1) | (col("a") == 2) | (col("a") == 3)
    assert len(flat.terms[0].terms) == 3  # type: ignore[union-attr]
    assert parse_filter({"$or": [{"a": 1}, {"b": 2}], "c": 3}) == [
        Or((FilterExpression("a", FilterOp.EQ, 1), FilterExpression("b", FilterOp.EQ, 2))),
        FilterExpression("c", FilterOp.EQ, 3),
    ]
    assert parse_filter({"$and": [{"a": 1}, {"a": 2}]}) == [
        And((FilterExpression("a", FilterOp.EQ, 1), FilterExpression("a", FilterOp.EQ, 2)))
    ]


def test_bad_input_is_explained(small: Table) -> None:
    with pytest.raises(InvalidArgumentError, match=r"\$xor"):
        parse_filter({"$xor": [{"a": 1}]})
    with pytest.raises(InvalidArgumentError, match=r"non-empty list"):
        parse_filter({"$or": {"a": 1}})
    with pytest.raises(InvalidArgumentError, match=r"non-empty list"):
        parse_filter({"$or": []})
    with pytest.raises(InvalidArgumentError, match="expected a column name"):
        parse_where("a = 1 or")
    with pytest.raises(InvalidArgumentError, match=r"expected '\)'"):
        parse_where("(a = 1 or b = 2")
    with pytest.raises(TypeError, match="not a condition"):
        (col("a") == 1) | col("b")  # type: ignore[operator]
    with pytest.raises(TypeError, match="cannot OR"):
        (col("a") == 1) | 3  # type: ignore[operator]
    with pytest.raises(TypeError, match="no truth value"):
        (col("a") == 1) or (col("b") == 2)  # noqa: B018 - Python's `or` asks for a truth value
    # An unknown column or a bad value deep in a tree: the same errors as at the top.
    with pytest.raises(SchemaError, match='"nope"'):
        small.to_arrow(filter=(col("id") == 1) | ~(col("nope") == 2))
    with pytest.raises(InvalidArgumentError, match='"g"'):
        small.to_arrow(filter=(col("id") == 1) | ~(col("g") < 2))


def test_delete_and_overwrite_take_any_tree(small: Table) -> None:
    assert small.delete(~col("g").isin(["a"])) == 2  # NOT (g IN ('a')) is g NOT IN ('a')
    assert ids(small, None) == [0, 1, 3, 4]
    # x: 1.0, 5.0, NaN, -0.0 here. NOT (x < 2) is true on 5.0 and NaN; a null x would stay.
    assert small.delete(~(col("x") < 2) | (col("id") == 0)) == 3
    assert ids(small, None) == [4]
    with small.new_transaction() as tx:
        assert tx.overwrite({"id": [7], "x": [None], "g": ["c"]}, where=(col("id") == 4) | (col("id") == 99)) == 1
    assert ids(small, None) == [7]
    # A row on which the filter is unknown stays: x is null, so NOT (x < 5) is unknown.
    assert small.delete({"$not": {"x": ("<", 5)}}) == 0
    assert ids(small, None) == [7]


def test_delete_leaves_exactly_the_rows_the_filter_does_not_return(tmp_path) -> None:
    t = create_table(str(tmp_path / "t"), pa.schema([pa.field("id", pa.int64()), pa.field("x", pa.float64()),
                                                    pa.field("g", pa.string())]))
    xs = [1.0, None, math.nan, -0.0, 7.5, None, 3.0, math.nan]
    gs = ["a", "b", None, "a", None, "c", "b", "a"]
    for k in range(4):  # four files, so that pruning has something to skip
        t.append({"id": list(range(k * 8, k * 8 + 8)), "x": [x if x is None else x + 10 * k for x in xs], "g": gs})
    flt = ((col("x") > 12) & ~col("g").isin(["b"])) | ~(col("x") < 30) | (col("id") == 1)
    before = ids(t, None)
    matched = ids(t, flt)
    assert 0 < len(matched) < len(before)
    assert t.delete(flt) == len(matched)
    assert ids(t, None) == sorted(set(before) - set(matched))
    assert ids(t, flt) == []


def test_delete_and_overwrite_by_pyarrow_expression(small: Table) -> None:
    import pyarrow.compute as pc

    # x: 1.0, 5.0, null, NaN, -0.0, 0.0. pyarrow's ~isin is true on a null cell: id 2 goes too.
    flt = ~pc.field("g").isin(["a"]) & (pc.field("id") < 3)
    expected = sorted(small.to_arrow().filter(flt)["id"].to_pylist())
    assert expected == [1, 2]
    assert small.delete(flt) == 2
    assert ids(small, None) == [0, 3, 4, 5]
    with small.new_transaction() as tx:
        assert tx.overwrite({"id": [9], "x": [None], "g": [None]}, where=pc.starts_with(pc.field("g"), "b")) == 1
    assert ids(small, None) == [0, 3, 4, 9]
    with pytest.raises(SchemaError, match="nope"):
        small.delete(pc.field("nope") > 1)
    assert ids(small, None) == [0, 3, 4, 9]


def test_cli_where_accepts_or_not_and_parentheses(small: Table) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "datashard.cli", "scan", small.location, "--where",
         "(id = 1 or id = 3) and not g is null", "--count"],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"
    r = subprocess.run([sys.executable, "-m", "datashard.cli", "scan", small.location, "--where", "id = 1 or"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--where" in r.stderr
