"""Filter expressions: ``col("x") > 3``, combined with ``&``, ``|`` and ``~``, and the
``--where`` text form.

::

    from datashard import col

    t.to_arrow(filter=(col("score") >= 0.5) & col("group").isin([1, 2]) & col("name").not_null())
    t.to_arrow(filter=(col("id") == 1) | (col("id") == 3))
    t.to_arrow(filter=~(col("ts").between("2024-01-01", "2024-01-31")))
    t.to_arrow(filter=parse_where("score >= 0.5 and (group in (1, 2) or not name is null)"))

Any nesting of AND (``&``), OR (``|``) and NOT (``~``) over predicates ``column op value``.
The engine prunes manifests, files and row groups with the whole tree (an OR skips what
none of its branches can match) and then applies it exactly, in three-valued logic as SQL
does: a comparison with a null cell is unknown, ``~`` of unknown is unknown, and only rows
where the filter is true are returned. So ``~(col("x") < 5)`` returns neither the nulls nor
the rows below 5, but does return NaN (Arrow's comparisons: NaN is not less than 5).

Expressions become the same terms (:class:`~datashard.filters.FilterExpression`,
:class:`~datashard.filters.Or`, ...) the dict form produces, so every method that takes
``filter=`` (or ``where=``) takes them, and they mix with ``(column, op, value)`` tuples
in a list.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Iterable, Sequence

from .errors import InvalidArgumentError
from .filters import And, FilterExpression, FilterOp, FilterTerm, Not, Or

__all__ = ["col", "Column", "Expr", "parse_where"]

# ~ of these predicates is another predicate with exactly the same rows (also for NaN and
# null cells), so the filter stays a plain predicate (shorter to print, and what a
# serializable transaction records as read stays as narrow).
_EXACT_NEGATION = {
    FilterOp.IS_NULL: FilterOp.IS_NOT_NULL, FilterOp.IS_NOT_NULL: FilterOp.IS_NULL,
    FilterOp.EQ: FilterOp.NE, FilterOp.NE: FilterOp.EQ,
    FilterOp.IN: FilterOp.NOT_IN, FilterOp.NOT_IN: FilterOp.IN,
}


def _negate(term: FilterTerm) -> FilterTerm:
    if isinstance(term, Not):
        return term.term  # NOT NOT x is x, in three-valued logic too
    if isinstance(term, FilterExpression) and term.op in _EXACT_NEGATION:
        return FilterExpression(term.column, _EXACT_NEGATION[term.op], term.value)
    return Not(term)


class Expr:
    """A filter: the AND of one or more terms (predicates, or OR / NOT of them). Build it with
    :func:`col` and ``&``, ``|``, ``~``."""

    __slots__ = ("_terms",)

    def __init__(self, terms: Iterable[FilterTerm]) -> None:
        self._terms: tuple[FilterTerm, ...] = tuple(terms)
        if not self._terms:
            raise InvalidArgumentError("an expression needs at least one predicate")

    @property
    def terms(self) -> tuple[FilterTerm, ...]:
        """The AND-ed terms."""
        return self._terms

    def filter_terms(self) -> tuple[FilterTerm, ...]:
        """The AND-ed terms (:class:`~datashard.filters.SupportsFilterTerms`, which is how
        ``filters.parse_filter`` takes an expression)."""
        return self._terms

    def _one(self) -> FilterTerm:
        return self._terms[0] if len(self._terms) == 1 else And(self._terms)

    @staticmethod
    def _check(other: Any, op: str) -> "Expr":
        if isinstance(other, Expr):
            return other
        if isinstance(other, Column):
            raise TypeError(f'{other!r} is a column, not a condition: compare it, e.g. ({other!r} > 0)')
        raise TypeError(
            f"cannot {op} a filter expression with {type(other).__name__}; both sides must be conditions "
            '(wrap each in parentheses: (col("a") > 1) ' + ("&" if op == "AND" else "|") + ' (col("b") == 2))'
        )

    def __and__(self, other: Any) -> "Expr":
        return Expr(self._terms + self._check(other, "AND")._terms)

    def __rand__(self, other: Any) -> "Expr":
        return self._check(other, "AND").__and__(self)

    def __or__(self, other: Any) -> "Expr":
        operands: list[FilterTerm] = []
        for side in (self, self._check(other, "OR")):
            one = side._one()
            operands.extend(one.terms if isinstance(one, Or) else [one])
        return Expr([Or(tuple(operands))])

    def __ror__(self, other: Any) -> "Expr":
        return self._check(other, "OR").__or__(self)

    def __invert__(self) -> "Expr":
        return Expr([_negate(self._one())])

    def __bool__(self) -> bool:
        raise TypeError(
            "a filter expression has no truth value: combine conditions with & | ~ (not `and`, `or`, "
            "`not`), and use col(c).between(lo, hi) instead of lo <= col(c) <= hi"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and self._terms == other._terms

    def __hash__(self) -> int:
        return hash(self._terms)

    def __repr__(self) -> str:
        return " & ".join(f"({_term_repr(t)})" for t in self._terms)


def _term_repr(t: FilterTerm) -> str:
    if isinstance(t, Not):
        return f"~({_term_repr(t.term)})"
    if isinstance(t, (And, Or)):
        return f" {'|' if isinstance(t, Or) else '&'} ".join(f"({_term_repr(c)})" for c in t.terms)
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

    # Precedence, loosest first: OR, AND, NOT, then a predicate or a parenthesised filter.
    def disjunction(self) -> list[FilterTerm]:
        operands = [self.conjunction()]
        while self.keyword("or"):
            operands.append(self.conjunction())
        if len(operands) == 1:
            return operands[0]
        flat: list[FilterTerm] = []
        for terms in operands:
            one = terms[0] if len(terms) == 1 else And(tuple(terms))
            flat.extend(one.terms if isinstance(one, Or) else [one])
        return [Or(tuple(flat))]

    def conjunction(self) -> list[FilterTerm]:
        terms = self.negation()
        while self.keyword("and"):
            terms += self.negation()
        return terms

    def negation(self) -> list[FilterTerm]:
        if self.keyword("not"):
            terms = self.negation()
            return [_negate(terms[0] if len(terms) == 1 else And(tuple(terms)))]
        return self.predicate()

    def predicate(self) -> list[FilterTerm]:
        tok = self.peek()
        if tok == ("punct", "("):
            self.i += 1
            terms = self.disjunction()
            self.expect_punct(")")
            return terms
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
            low = self.literal()
            self.expect_keyword("and")
            high = self.literal()
            between = [FilterExpression(name, FilterOp.GE, low), FilterExpression(name, FilterOp.LE, high)]
            return [Not(And(tuple(between)))] if negated else list(between)
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

    Predicates combined with ``and``, ``or``, ``not`` (case-insensitive; ``not`` binds
    tightest, then ``and``, then ``or``) and parentheses, each predicate one of::

        col == 3        col = 3        col != 'x'     col <> 'x'
        col < 1.5       col <= 1.5     col > 0        col >= 0
        col in (1, 2, 3)               col not in ('a', 'b')
        col between 1 and 9            col is null    col is not null

    Values: numbers, ``'single-quoted'`` or ``"double-quoted"`` text (dates and times as
    text: ``ts >= '2024-01-31 10:00:00'``), ``true``/``false``. A column name that is not a
    plain word goes in backticks or double quotes (`` `my col` > 1``). A list of strings
    is AND-ed (the CLI's repeated ``--where``). Anything malformed raises
    :class:`InvalidArgumentError`, saying where.

    ``not (x < 5)`` is three-valued, as in SQL: it matches neither the rows where ``x`` is
    null nor those where ``x < 5``.
    """
    if not isinstance(text, str):
        terms: list[FilterTerm] = []
        for part in text:
            terms.extend(parse_where(part).terms)
        return Expr(terms)
    parser = _Parser(text)
    if not parser.tokens:
        raise InvalidArgumentError("empty filter")
    terms = parser.disjunction()
    if parser.peek() is not None:
        raise parser.error("unexpected text")
    return Expr(terms)
