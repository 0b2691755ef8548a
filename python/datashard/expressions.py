"""Filter expressions: ``col("x") > 3``, combined with ``&``, and the ``--where`` text form.

::

    from datashard import col

    t.to_arrow(filter=(col("score") >= 0.5) & col("group").isin([1, 2]) & col("name").not_null())
    t.to_arrow(filter=col("ts").between("2024-01-01", "2024-01-31"))
    t.to_arrow(filter=parse_where("score >= 0.5 and group in (1, 2)"))   # the CLI's --where

A filter is a conjunction (AND) of predicates ``column op value``, which is exactly what
the engine prunes manifests, files and row groups with. ``|`` (OR) is refused with
``NotImplementedError`` rather than evaluated in Python after the fact, because that
would read every row the pruning could have skipped; ``~`` only inverts a null test
(``~col("x").is_null()``), since inverting a comparison is not exact for NaN.

Expressions become the same :class:`~datashard.filters.FilterExpression` list the dict
form produces, so every method that takes ``filter=`` (or ``where=``) takes them, and
they mix with ``(column, op, value)`` tuples in a list.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Iterable, Sequence

from .errors import InvalidArgumentError
from .filters import FilterExpression, FilterOp

__all__ = ["col", "Column", "Expr", "parse_where"]

_AND_ONLY = (
    "datashard filters are a conjunction (AND, `&`) of predicates, which the engine pushes down "
    "into manifest, file and row-group pruning; OR / NOT of a conjunction are not supported. "
    "For alternatives on one column use col(name).isin([...]); otherwise run one scan per "
    "alternative and concatenate the results."
)


class Expr:
    """A filter: the AND of one or more predicates. Build it with :func:`col`."""

    __slots__ = ("_terms",)

    def __init__(self, terms: Iterable[FilterExpression]) -> None:
        self._terms: tuple[FilterExpression, ...] = tuple(terms)
        if not self._terms:
            raise InvalidArgumentError("an expression needs at least one predicate")

    @property
    def terms(self) -> tuple[FilterExpression, ...]:
        """The AND-ed predicates."""
        return self._terms

    def filter_terms(self) -> tuple[FilterExpression, ...]:
        """The AND-ed predicates (:class:`~datashard.filters.SupportsFilterTerms`, which is how
        ``filters.parse_filter`` takes an expression)."""
        return self._terms

    def __and__(self, other: Any) -> "Expr":
        if isinstance(other, Expr):
            return Expr(self._terms + other._terms)
        if isinstance(other, Column):
            raise TypeError(f'{other!r} is a column, not a condition: compare it, e.g. ({other!r} > 0)')
        raise TypeError(
            f"cannot AND a filter expression with {type(other).__name__}; both sides must be conditions "
            '(wrap each in parentheses: (col("a") > 1) & (col("b") == 2))'
        )

    def __rand__(self, other: Any) -> "Expr":
        return self.__and__(other)

    def __or__(self, other: Any) -> "Expr":
        raise NotImplementedError(f"OR (|) in a filter: {_AND_ONLY}")

    __ror__ = __or__

    def __invert__(self) -> "Expr":
        if len(self._terms) == 1 and self._terms[0].op in (FilterOp.IS_NULL, FilterOp.IS_NOT_NULL):
            t = self._terms[0]
            flipped = FilterOp.IS_NOT_NULL if t.op == FilterOp.IS_NULL else FilterOp.IS_NULL
            return Expr([FilterExpression(t.column, flipped)])
        raise NotImplementedError(
            "NOT (~) is supported only on a null test (~col(c).is_null()). Write the opposite "
            "comparison instead (col(c) <= 3 rather than ~(col(c) > 3): the two differ for NaN), "
            f"col(c).not_in([...]) for ~isin. {_AND_ONLY}"
        )

    def __bool__(self) -> bool:
        raise TypeError(
            "a filter expression has no truth value: combine conditions with & (not `and`), "
            "and use col(c).between(lo, hi) instead of lo <= col(c) <= hi"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and self._terms == other._terms

    def __hash__(self) -> int:
        return hash(self._terms)

    def __repr__(self) -> str:
        return " & ".join(f"({_term_repr(t)})" for t in self._terms)


def _term_repr(t: FilterExpression) -> str:
    if t.op == FilterOp.IS_NULL:
        return f'col("{t.column}").is_null()'
    if t.op == FilterOp.IS_NOT_NULL:
        return f'col("{t.column}").not_null()'
    if t.op == FilterOp.IN:
        return f'col("{t.column}").isin({list(t.value)!r})'
    if t.op == FilterOp.NOT_IN:
        return f'col("{t.column}").not_in({list(t.value)!r})'
    return f'col("{t.column}") {t.op.value} {t.value!r}'


def _values(name: str, values: Any, method: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidArgumentError(f'col("{name}").{method}() takes a list of values, got {values!r}')
    return list(values)


class Column:
    """A column reference for building filters: ``col("x") > 3``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"col() takes a column name, got {name!r}")
        self.name = name

    def _cmp(self, op: FilterOp, value: Any) -> Expr:
        if isinstance(value, (Column, Expr)):
            raise InvalidArgumentError(
                f'col("{self.name}") {op.value} {value!r}: a filter compares a column with a value, '
                "not with another column or expression"
            )
        if value is None:
            hint = "is_null()" if op == FilterOp.EQ else "not_null()"
            raise InvalidArgumentError(
                f'col("{self.name}") {op.value} None never matches (SQL null semantics); '
                f'use col("{self.name}").{hint}'
            )
        return Expr([FilterExpression(self.name, op, value)])

    def __eq__(self, value: Any) -> Expr:  # type: ignore[override]
        return self._cmp(FilterOp.EQ, value)

    def __ne__(self, value: Any) -> Expr:  # type: ignore[override]
        return self._cmp(FilterOp.NE, value)

    def __lt__(self, value: Any) -> Expr:
        return self._cmp(FilterOp.LT, value)

    def __le__(self, value: Any) -> Expr:
        return self._cmp(FilterOp.LE, value)

    def __gt__(self, value: Any) -> Expr:
        return self._cmp(FilterOp.GT, value)

    def __ge__(self, value: Any) -> Expr:
        return self._cmp(FilterOp.GE, value)

    __hash__ = None  # type: ignore[assignment]

    def isin(self, values: Iterable[Any]) -> Expr:
        """``column IN values`` (nulls in ``values`` never match; an empty list matches nothing)."""
        return Expr([FilterExpression(self.name, FilterOp.IN, _values(self.name, values, "isin"))])

    is_in = isin

    def not_in(self, values: Iterable[Any]) -> Expr:
        """``column NOT IN values`` (never matches a null cell)."""
        return Expr([FilterExpression(self.name, FilterOp.NOT_IN, _values(self.name, values, "not_in"))])

    def is_null(self) -> Expr:
        return Expr([FilterExpression(self.name, FilterOp.IS_NULL)])

    def not_null(self) -> Expr:
        return Expr([FilterExpression(self.name, FilterOp.IS_NOT_NULL)])

    is_not_null = not_null

    def between(self, low: Any, high: Any) -> Expr:
        """``low <= column <= high`` (both ends included)."""
        both: Expr = (self >= low) & (self <= high)
        return both

    def _not_a_condition(self, *_: Any) -> Any:
        raise TypeError(
            f'col("{self.name}") is a column, not a condition: compare it first and parenthesise '
            f'each comparison, e.g. (col("{self.name}") > 3) & (col("other") == 1)'
        )

    __and__ = __rand__ = __or__ = __ror__ = __invert__ = __bool__ = _not_a_condition

    def __repr__(self) -> str:
        return f'col("{self.name}")'


def col(name: str) -> Column:
    """A column reference for filters: ``col("x") > 3``, ``col("x").isin([1, 2])``,
    ``col("x").is_null()``, ``col("x").between(1, 9)``; combine with ``&``."""
    return Column(name)


# -- the text form (--where) ---------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)(?![\w.])
      | (?P<str>'(?:[^']|'')*')
      | (?P<dq>"(?:[^"]|"")*")
      | (?P<bq>`[^`]*`)
      | (?P<op>==|!=|<>|<=|>=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][\w.]*)
    )""",
    re.VERBOSE,
)

_OPS = {"=": FilterOp.EQ, "==": FilterOp.EQ, "!=": FilterOp.NE, "<>": FilterOp.NE, "<": FilterOp.LT,
        "<=": FilterOp.LE, ">": FilterOp.GT, ">=": FilterOp.GE}


def _tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise InvalidArgumentError(f"cannot parse filter {text!r} at position {pos}: {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def error(self, what: str) -> InvalidArgumentError:
        at = " ".join(v for _, v in self.tokens[self.i : self.i + 3]) or "the end"
        return InvalidArgumentError(f"cannot parse filter {self.text!r}: {what} at {at!r}")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == "word" and tok[1].lower() in words:
            self.i += 1
            return True
        return False

    def expect_keyword(self, word: str) -> None:
        if not self.keyword(word):
            raise self.error(f"expected {word.upper()}")

    def expect_punct(self, p: str) -> None:
        tok = self.peek()
        if tok != ("punct", p):
            raise self.error(f"expected {p!r}")
        self.i += 1

    def conjunction(self) -> list[FilterExpression]:
        terms = self.predicate()
        while True:
            if self.keyword("and"):
                terms += self.predicate()
            elif self.keyword("or"):
                raise NotImplementedError(f"OR in filter {self.text!r}: {_AND_ONLY}")
            else:
                return terms

    def predicate(self) -> list[FilterExpression]:
        tok = self.peek()
        if tok == ("punct", "("):
            self.i += 1
            terms = self.conjunction()
            self.expect_punct(")")
            return terms
        if tok is not None and tok[0] == "word" and tok[1].lower() == "not":
            raise NotImplementedError(
                f"NOT in filter {self.text!r}: write the opposite comparison, NOT IN, or IS NOT NULL. {_AND_ONLY}"
            )
        name = self.identifier()
        if self.keyword("is"):
            negated = self.keyword("not")
            self.expect_keyword("null")
            return [FilterExpression(name, FilterOp.IS_NOT_NULL if negated else FilterOp.IS_NULL)]
        negated = self.keyword("not")
        if self.keyword("in"):
            op = FilterOp.NOT_IN if negated else FilterOp.IN
            self.expect_punct("(")
            values: list[Any] = []
            if self.peek() != ("punct", ")"):
                values.append(self.literal(allow_null=True))
                while self.peek() == ("punct", ","):
                    self.i += 1
                    values.append(self.literal(allow_null=True))
            self.expect_punct(")")
            return [FilterExpression(name, op, values)]
        if self.keyword("between"):
            if negated:
                raise NotImplementedError(f"NOT BETWEEN in filter {self.text!r}: {_AND_ONLY}")
            low = self.literal()
            self.expect_keyword("and")
            high = self.literal()
            return [FilterExpression(name, FilterOp.GE, low), FilterExpression(name, FilterOp.LE, high)]
        if negated:
            raise self.error("expected IN or BETWEEN after NOT")
        tok = self.peek()
        if tok is None or tok[0] != "op":
            raise self.error("expected a comparison (== != < <= > >=), IN, BETWEEN or IS [NOT] NULL")
        self.i += 1
        value = self.literal()
        return [FilterExpression(name, _OPS[tok[1]], value)]

    def identifier(self) -> str:
        tok = self.peek()
        if tok is None:
            raise self.error("expected a column name")
        kind, text = tok
        self.i += 1
        if kind == "word" and text.lower() not in ("and", "or", "not", "in", "is", "null", "between"):
            return text
        if kind == "dq":
            return text[1:-1].replace('""', '"')
        if kind == "bq":
            return text[1:-1]
        self.i -= 1
        raise self.error("expected a column name")

    def literal(self, allow_null: bool = False) -> Any:
        tok = self.peek()
        if tok is None:
            raise self.error("expected a value")
        kind, text = tok
        self.i += 1
        if kind == "num":
            if not any(c in text for c in ".eE"):
                return int(text)
            # A float, unless it would not give back the digits written (more than a double
            # holds): then the exact Decimal, which decimal columns compare exactly.
            number = float(text)
            return number if Decimal(repr(number)) == Decimal(text) else Decimal(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "dq":  # a value position: "x" is a string here, since columns never compare with columns
            return text[1:-1].replace('""', '"')
        if kind == "word":
            low = text.lower()
            if low in ("true", "false"):
                return low == "true"
            if low == "null":
                if allow_null:
                    return None
                self.i -= 1
                raise self.error("a comparison with NULL never matches; use IS NULL / IS NOT NULL")
        self.i -= 1
        raise self.error("expected a value (a number, 'text', true or false)")


def parse_where(text: str | Sequence[str]) -> Expr:
    """Parse the CLI's ``--where`` syntax into an :class:`Expr`.

    One or more predicates joined by ``and`` (case-insensitive), each one of::

        col == 3        col = 3        col != 'x'     col <> 'x'
        col < 1.5       col <= 1.5     col > 0        col >= 0
        col in (1, 2, 3)               col not in ('a', 'b')
        col between 1 and 9            col is null    col is not null

    Values: numbers, ``'single-quoted'`` or ``"double-quoted"`` text (dates and times as
    text: ``ts >= '2024-01-31 10:00:00'``), ``true``/``false``. A column name that is not a
    plain word goes in backticks or double quotes (`` `my col` > 1``). A list of strings
    is AND-ed (the CLI's repeated ``--where``). ``or`` and ``not`` raise
    ``NotImplementedError``; anything else malformed raises :class:`InvalidArgumentError`.
    """
    if not isinstance(text, str):
        terms: list[FilterExpression] = []
        for part in text:
            terms.extend(parse_where(part).terms)
        return Expr(terms)
    parser = _Parser(text)
    if not parser.tokens:
        raise InvalidArgumentError("empty filter")
    terms = parser.conjunction()
    if parser.peek() is not None:
        raise parser.error("unexpected text")
    return Expr(terms)
