"""Domain (QBO sandbox): the QBO query language subset — parse, plan what SQL can answer, evaluate the rest.

Grammar: `SELECT * | COUNT(*) FROM <Entity> [WHERE <prop> <op> <value> [AND ...]] [ORDERBY <prop> [ASC|DESC]]
[STARTPOSITION n] [MAXRESULTS m]`, operators `= < > <= >= IN LIKE`, values quoted with `'` (a quote inside
is written `\\'`), numbers, `true`/`false`. `ORDER BY` in two words is read like `ORDERBY`, as Intuit's own
samples write it. Keywords, entity and property names match without regard to case. A column list after
SELECT is accepted and ignored (QBO always returns whole entities).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domains.qbo.sandbox import faults
from domains.qbo.sandbox.codec import parse_timestamp, to_decimal, utc_key
from domains.qbo.sandbox.storage import ColumnFilter, StoredEntity

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<op><=|>=|<>|!=|=|<|>)
  | (?P<punct>[(),*])
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_COMPARISONS = ("=", "<", ">", "<=", ">=")


@dataclass(frozen=True)
class Literal:
    text: str
    quoted: bool


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    op: str
    values: tuple[Literal, ...]

    @property
    def key(self) -> tuple[str, ...]:
        return tuple(part.lower() for part in self.path)


@dataclass(frozen=True)
class Query:
    entity: str
    count: bool
    conditions: tuple[Condition, ...]
    order_by: tuple[str, ...] | None
    descending: bool
    start_position: int
    max_results: int


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise faults.query_parse_error(
                f'Encountered " "{text[position]}" " at line 1, column {position + 1}.'
            )
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), position + 1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def fail(self, expected: str) -> faults.QboFault:
        token = self.peek()
        if token is None:
            return faults.query_parse_error(f"Encountered end of query. Was expecting {expected}.")
        return faults.query_parse_error(
            f'Encountered " "{token.text}" " at line 1, column {token.column}. Was expecting {expected}.'
        )

    def take(self, kind: str, expected: str) -> _Token:
        token = self.peek()
        if token is None or token.kind != kind:
            raise self.fail(expected)
        self.index += 1
        return token

    def is_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.upper() in words

    def keyword(self, word: str) -> None:
        if not self.is_keyword(word):
            raise self.fail(word)
        self.index += 1

    def punct(self, char: str) -> None:
        token = self.peek()
        if token is None or token.kind != "punct" or token.text != char:
            raise self.fail(f'"{char}"')
        self.index += 1

    def is_punct(self, char: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "punct" and token.text == char

    def integer(self, clause: str) -> int:
        token = self.take("number", f"an integer after {clause}")
        if not token.text.lstrip("-").isdigit():
            raise faults.query_parse_error(f"{clause} needs an integer, got {token.text}")
        return int(token.text)

    def literal(self) -> Literal:
        token = self.peek()
        if token is None:
            raise self.fail("a value")
        if token.kind == "string":
            self.index += 1
            return Literal(_ESCAPE.sub(r"\1", token.text[1:-1]), True)
        if token.kind == "number":
            self.index += 1
            return Literal(token.text, False)
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            self.index += 1
            return Literal(token.text.lower(), False)
        raise self.fail("a quoted value")

    def condition(self) -> Condition:
        name = self.take("word", "a property name")
        path = tuple(name.text.split("."))
        if not all(path):
            raise faults.query_parse_error(f"Invalid property name {name.text}")
        token = self.peek()
        if token is not None and token.kind == "op":
            if token.text in ("<>", "!="):
                raise faults.query_parse_error(f"Operator {token.text} is not supported.")
            self.index += 1
            return Condition(path, token.text, (self.literal(),))
        if self.is_keyword("IN"):
            self.index += 1
            self.punct("(")
            values = [self.literal()]
            while self.is_punct(","):
                self.index += 1
                values.append(self.literal())
            self.punct(")")
            return Condition(path, "IN", tuple(values))
        if self.is_keyword("LIKE"):
            self.index += 1
            value = self.literal()
            if not value.quoted:
                raise faults.query_parse_error("LIKE needs a quoted pattern.")
            return Condition(path, "LIKE", (value,))
        raise self.fail("one of =, <, >, <=, >=, IN, LIKE")

    def parse(self) -> Query:
        self.keyword("SELECT")
        count = False
        if self.is_punct("*"):
            self.index += 1
        elif self.is_keyword("COUNT"):
            self.index += 1
            self.punct("(")
            self.punct("*")
            self.punct(")")
            count = True
        else:
            self.take("word", '"*"')
            while self.is_punct(","):
                self.index += 1
                self.take("word", "a property name")
        self.keyword("FROM")
        entity = self.take("word", "an entity name").text
        if "." in entity:
            raise faults.query_parse_error(f"Invalid entity name {entity}")

        conditions: list[Condition] = []
        if self.is_keyword("WHERE"):
            self.index += 1
            conditions.append(self.condition())
            while self.is_keyword("AND"):
                self.index += 1
                conditions.append(self.condition())

        order_by: tuple[str, ...] | None = None
        descending = False
        start: int | None = None
        maximum: int | None = None
        while self.peek() is not None:
            if self.is_keyword("ORDERBY", "ORDER") and order_by is None:
                if self.is_keyword("ORDER"):
                    self.index += 1
                    self.keyword("BY")
                else:
                    self.index += 1
                order_by = tuple(self.take("word", "a property name").text.split("."))
                if self.is_keyword("ASC", "DESC"):
                    token = self.take("word", "ASC or DESC")
                    descending = token.text.upper() == "DESC"
            elif self.is_keyword("STARTPOSITION") and start is None:
                self.index += 1
                start = self.integer("STARTPOSITION")
            elif self.is_keyword("MAXRESULTS") and maximum is None:
                self.index += 1
                maximum = self.integer("MAXRESULTS")
                if maximum < 1:
                    raise faults.query_parse_error("MAXRESULTS must be at least 1.")
            else:
                raise self.fail("ORDERBY, STARTPOSITION, MAXRESULTS or end of query")
        return Query(
            entity=entity,
            count=count,
            conditions=tuple(conditions),
            order_by=order_by,
            descending=descending,
            start_position=max(start or 1, 1),
            # QBO serves at most 1000 rows per page whatever is asked for.
            max_results=min(maximum or DEFAULT_MAX_RESULTS, MAX_RESULTS_CAP),
        )


def parse(text: str) -> Query:
    """Parse a query, or raise the 4000 "Error parsing query" fault."""
    if not text or not text.strip():
        raise faults.query_parse_error("Encountered end of query. Was expecting SELECT.")
    return _Parser(text).parse()


# Planning: conditions on Id, Active and the MetaData timestamps are answered by the columns kept beside the
# JSON (and then paging happens in SQL); anything else is evaluated on the decoded documents.

_TIME_COLUMNS: dict[tuple[str, ...], str] = {
    ("metadata", "lastupdatedtime"): "updated_utc",
    ("metadata", "createtime"): "created_utc",
}


@dataclass(frozen=True)
class Plan:
    filters: tuple[ColumnFilter, ...]
    residual: tuple[Condition, ...]
    order_column: str | None


def _bool_literal(literal: Literal) -> bool | None:
    lowered = literal.text.strip().lower()
    return {"true": True, "false": False}.get(lowered)


def _column_filter(condition: Condition, tz: dt.tzinfo) -> ColumnFilter | None:
    key = condition.key
    if key == ("id",) and condition.op in (*_COMPARISONS, "IN"):
        if all(v.text.isascii() and v.text.isdigit() for v in condition.values):
            return ColumnFilter("id", condition.op, tuple(int(v.text) for v in condition.values))
        return None
    if key == ("active",) and condition.op in ("=", "IN"):
        flags = [_bool_literal(v) for v in condition.values]
        if all(flag is not None for flag in flags):
            return ColumnFilter("active", "IN", tuple(flags))
        return None
    if key in _TIME_COLUMNS and condition.op in _COMPARISONS:
        moment = parse_timestamp(condition.values[0].text, tz)
        if moment is not None:
            return ColumnFilter(_TIME_COLUMNS[key], condition.op, (utc_key(moment),))
    return None


def plan(query: Query, *, name_list: bool, tz: dt.tzinfo) -> Plan:
    filters: list[ColumnFilter] = []
    residual: list[Condition] = []
    for condition in query.conditions:
        column_filter = _column_filter(condition, tz)
        if column_filter is None:
            residual.append(condition)
        else:
            filters.append(column_filter)
    # Name lists hide inactive records unless the query says something about Active.
    if name_list and not any(c.key == ("active",) for c in query.conditions):
        filters.append(ColumnFilter("active", "IN", (True,)))
    order_column: str | None
    if query.order_by is None:
        order_column = "id"
    else:
        key = tuple(part.lower() for part in query.order_by)
        order_column = "id" if key == ("id",) else _TIME_COLUMNS.get(key)
    return Plan(tuple(filters), tuple(residual), order_column)


_MISSING = object()


def resolve(doc: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at a dotted property path, matching each name without regard to case."""
    current: Any = doc
    for part in path:
        if not isinstance(current, dict):
            return _MISSING
        if part in current:
            current = current[part]
            continue
        lowered = part.lower()
        for key, value in current.items():
            if key.lower() == lowered:
                current = value
                break
        else:
            return _MISSING
    return current


def _cmp(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


def _looks_like_timestamp(text: str) -> bool:
    return len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T"


def _compare(value: Any, literal: Literal, tz: dt.tzinfo) -> int | None:
    if isinstance(value, bool):
        flag = _bool_literal(literal)
        return None if flag is None else _cmp(value, flag)
    if isinstance(value, int | Decimal):
        number = to_decimal(literal.text)
        return None if number is None else _cmp(Decimal(value), number)
    if isinstance(value, str):
        text = literal.text
        if value.isascii() and value.isdigit() and text.isascii() and text.isdigit():
            return _cmp(int(value), int(text))
        if _looks_like_timestamp(value):
            left = parse_timestamp(value, tz)
            right = parse_timestamp(text, tz)
            if left is not None and right is not None:
                return _cmp(left, right)
        return _cmp(value.casefold(), text.casefold())
    return None


def _like(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(piece) for piece in pattern.split("%"))
    return re.compile(".*".join(parts), re.IGNORECASE | re.DOTALL)


def matches(doc: dict[str, Any], condition: Condition, tz: dt.tzinfo) -> bool:
    value = resolve(doc, condition.path)
    if value is _MISSING or value is None:
        # QBO writes null as ' ' (a space in quotes).
        return condition.op in ("=", "IN") and any(v.quoted and not v.text.strip() for v in condition.values)
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, dict | list):
        return False
    if condition.op == "LIKE":
        return isinstance(value, str) and _like(condition.values[0].text).fullmatch(value) is not None
    if condition.op == "IN":
        return any(_compare(value, literal, tz) == 0 for literal in condition.values)
    result = _compare(value, condition.values[0], tz)
    if result is None:
        return False
    return {
        "=": result == 0,
        "<": result < 0,
        ">": result > 0,
        "<=": result <= 0,
        ">=": result >= 0,
    }[condition.op]


def _sort_key(value: Any, tz: dt.tzinfo) -> tuple[int, Any]:
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | Decimal):
        return (1, Decimal(value))
    if isinstance(value, str):
        if value.isascii() and value.isdigit():
            return (1, Decimal(int(value)))
        if _looks_like_timestamp(value):
            moment = parse_timestamp(value, tz)
            if moment is not None:
                return (2, moment)
        return (3, value.casefold())
    return (4, "")


def evaluate(rows: list[StoredEntity], query: Query, query_plan: Plan, tz: dt.tzinfo) -> list[StoredEntity]:
    """Apply the conditions and ordering the database could not.

    Rows arrive ordered by the plan's order column when it has one, else by Id.
    """
    kept = [row for row in rows if all(matches(row.doc, c, tz) for c in query_plan.residual)]
    if query.order_by is None or query_plan.order_column is not None:
        return kept
    present: list[tuple[tuple[int, Any], StoredEntity]] = []
    absent: list[StoredEntity] = []
    for row in kept:
        value = resolve(row.doc, query.order_by)
        if value is _MISSING or value is None:
            absent.append(row)
        else:
            present.append((_sort_key(value, tz), row))
    present.sort(key=lambda pair: pair[0], reverse=query.descending)
    return [row for _, row in present] + absent
