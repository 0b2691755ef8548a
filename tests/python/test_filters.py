"""The original dict filter syntax and its SQL-null semantics."""

from __future__ import annotations

import pytest

from datashard import FilterExpression, FilterOp, InvalidArgumentError, SchemaError, Table, parse_filter_dict

from conftest import make_rows

ROWS = make_rows(0, 30)


def ids(rows) -> list[int]:
    return sorted(r["id"] for r in rows)


def expect(pred) -> list[int]:
    return sorted(r["id"] for r in ROWS if pred(r))


CASES = [
    ({"id": 7}, lambda r: r["id"] == 7),
    ({"name": "name-3"}, lambda r: r["name"] == "name-3"),
    ({"id": ("==", 7)}, lambda r: r["id"] == 7),
    ({"id": ("=", 7)}, lambda r: r["id"] == 7),
    ({"id": ("eq", 7)}, lambda r: r["id"] == 7),
    ({"id": ("!=", 7)}, lambda r: r["id"] != 7),
    ({"id": ("<>", 7)}, lambda r: r["id"] != 7),
    ({"id": ("NE", 7)}, lambda r: r["id"] != 7),
    ({"id": ("<", 5)}, lambda r: r["id"] < 5),
    ({"id": ("lt", 5)}, lambda r: r["id"] < 5),
    ({"id": ("<=", 5)}, lambda r: r["id"] <= 5),
    ({"id": (">", 25)}, lambda r: r["id"] > 25),
    ({"id": (">=", 25)}, lambda r: r["id"] >= 25),
    ({"id": ("ge", 25)}, lambda r: r["id"] >= 25),
    ({"id": (">", 25.5)}, lambda r: r["id"] > 25.5),  # float bound on an integer column
    ({"id": ("<=", 3.5)}, lambda r: r["id"] <= 3.5),
    ({"id": ("==", 3.5)}, lambda r: False),
    ({"id": ("in", [1, 2, 40])}, lambda r: r["id"] in (1, 2, 40)),
    ({"id": ("in", [])}, lambda r: False),
    ({"id": ("not_in", [1, 2])}, lambda r: r["id"] not in (1, 2)),
    ({"id": ("not in", [1, 2])}, lambda r: r["id"] not in (1, 2)),
    ({"id": ("notin", [])}, lambda r: True),
    ({"id": ("between", (5, 8))}, lambda r: 5 <= r["id"] <= 8),
    ({"name": ("is_null", None)}, lambda r: r["name"] is None),
    ({"name": ("isnull", None)}, lambda r: r["name"] is None),
    ({"name": ("is_not_null", None)}, lambda r: r["name"] is not None),
    ({"name": ("notnull", None)}, lambda r: r["name"] is not None),
    # SQL nulls: comparisons and in/not_in never match a null
    ({"score": (">", 3)}, lambda r: r["score"] is not None and r["score"] > 3),
    ({"score": ("!=", 3)}, lambda r: r["score"] is not None and r["score"] != 3),
    ({"name": ("not_in", ["name-1"])}, lambda r: r["name"] is not None and r["name"] != "name-1"),
    ({"name": ("in", ["name-1", None])}, lambda r: r["name"] == "name-1"),
    # several entries are AND-ed
    ({"group": 1, "id": (">", 10)}, lambda r: r["group"] == 1 and r["id"] > 10),
    ({"group": ("in", [0, 2]), "score": ("is_not_null", None), "id": ("between", (3, 20))},
     lambda r: r["group"] in (0, 2) and r["score"] is not None and 3 <= r["id"] <= 20),
]


@pytest.fixture
def data(table: Table) -> Table:
    table.append_records(ROWS[:15])
    table.append_records(ROWS[15:])
    return table


@pytest.mark.parametrize("flt,pred", CASES, ids=[repr(c[0]) for c in CASES])
def test_dict_filters(data: Table, flt, pred) -> None:
    assert ids(data.scan(filter=flt)) == expect(pred)


def test_filter_with_columns_and_other_reads(data: Table) -> None:
    rows = data.scan(filter={"group": 2}, columns=["id"])
    assert rows and all(set(r) == {"id"} for r in rows)
    assert ids(rows) == expect(lambda r: r["group"] == 2)
    assert data.to_arrow(filter={"group": 2}).num_rows == len(rows)
    assert sorted(data.to_pandas(filter={"group": 2})["id"].tolist()) == ids(rows)


def test_tuple_and_expression_forms(data: Table) -> None:
    assert ids(data.scan(filter=("id", "<", 3))) == [0, 1, 2]
    assert ids(data.scan(filter=[("id", ">=", 3), ("id", "<", 5)])) == [3, 4]
    assert ids(data.scan(filter=FilterExpression("id", FilterOp.LT, 2))) == [0, 1]
    assert ids(data.scan(filter=[FilterExpression("id", "in", [5, 6])])) == [5, 6]


def test_parse_filter_dict() -> None:
    exprs = parse_filter_dict({"a": 1, "b": ("between", (1, 2)), "c": ("IS_NULL", None)})
    assert exprs == [
        FilterExpression("a", FilterOp.EQ, 1),
        FilterExpression("b", FilterOp.GE, 1),
        FilterExpression("b", FilterOp.LE, 2),
        FilterExpression("c", FilterOp.IS_NULL, None),
    ]
    assert FilterOp.NOT_IN.value == "not_in"


@pytest.mark.parametrize(
    "flt",
    [
        {"id": None},  # ambiguous: use is_null
        {"id": ("like", 1)},  # unknown operator
        {"id": ("==", None)},
        {"id": ("in", 5)},  # needs a list
        {"id": ("between", (1,))},
        {"id": [1, 2]},
        {"name": ("<", 5)},  # cannot compare a string column with an int
        "id = 5",
    ],
)
def test_bad_filters(data: Table, flt) -> None:
    with pytest.raises(InvalidArgumentError):
        data.scan(filter=flt)
    with pytest.raises(ValueError):  # what the original raised
        data.scan(filter=flt)


def test_filter_unknown_column(data: Table) -> None:
    with pytest.raises(SchemaError, match="nope"):
        data.scan(filter={"nope": 1})
    with pytest.raises(SchemaError):
        data.scan(columns=["nope"])
