"""The fake Jira's JQL: a small parser and evaluator over search-index snapshots.

It covers what a bridge admin plausibly writes as a backfill filter and what the adapter sends:
``field op value`` with ``= != > >= < <= IN, NOT IN, IS [NOT] EMPTY, ~``, ``AND``/``OR``/``NOT``,
parentheses and ``ORDER BY``. Date literals are read in the API user's time zone at minute
precision, as Jira reads them. Anything else is refused with a 400 naming the problem, as Jira
refuses a query it cannot parse: the fake never guesses what an unsupported query meant.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

Snapshot = Mapping[str, Any]
Predicate = Callable[[Snapshot], bool]

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|>=|<=|!~|=|>|<|~)
      | (?P<paren>[(),])
      | (?P<word>[\w.\-\[\]:*/+]+)
    )""",
    re.VERBOSE,
)
DATE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
FIELDS = {
    "project": "project",
    "status": "status",
    "priority": "priority",
    "issuetype": "issuetype",
    "type": "issuetype",
    "labels": "labels",
    "assignee": "assignee",
    "reporter": "reporter",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
    "key": "key",
    "issuekey": "key",
    "issue": "key",
    "id": "key",
    "summary": "summary",
}
DATES = frozenset({"created", "updated"})
TEXT = frozenset({"summary"})
SORTABLE = frozenset({"created", "updated", "key", "priority", "status"})
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)


class JqlError(Exception):
    """A query Jira would answer 400 to; ``messages`` are Jira's ``errorMessages``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.messages = [message]


@dataclass(frozen=True)
class Sort:
    field: str
    descending: bool


@dataclass(frozen=True)
class Query:
    matches: Predicate
    order: tuple[Sort, ...]


@dataclass(frozen=True)
class Site:
    """What values exist on the site, so a query naming a missing one is refused as Jira does."""

    zone: ZoneInfo
    projects: Collection[str]
    statuses: Collection[str]
    priorities: Collection[str]
    issue_types: Collection[str]


def _tokens(jql: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    at = 0
    text = jql.rstrip()
    while at < len(text):
        found = TOKEN.match(text, at)
        if found is None or found.end() == at:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[at:].strip()[:1]}' is a reserved "
                f"JQL character. You must enclose it in a string or use the escape '\\u' "
                f"(at character {at + 1})."
            )
        kind = found.lastgroup or "word"
        out.append((kind, found.group(kind)))
        at = found.end()
    return out


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


class _Parser:
    def __init__(self, jql: str, site: Site) -> None:
        self.jql = jql
        self.site = site
        self.tokens = _tokens(jql)
        self.at = 0

    # -- token helpers -------------------------------------------------------------------

    def _peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.at + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def _keyword(self, *words: str, offset: int = 0) -> bool:
        token = self._peek(offset)
        return token is not None and token[0] == "word" and token[1].lower() in words

    def _next(self, expecting: str) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise JqlError(f"Error in the JQL Query: Expecting {expecting} but reached the end.")
        self.at += 1
        return token

    def _unexpected(self, expecting: str, got: str) -> JqlError:
        return JqlError(
            f"Error in the JQL Query: Expecting {expecting} but got '{got}'. "
            f"The query you entered was: {self.jql}"
        )

    # -- grammar -------------------------------------------------------------------------

    def parse(self) -> Query:
        matches: Predicate | None = None
        if self._peek() is not None and not self._keyword("order"):
            matches = self._or()
        order: tuple[Sort, ...] = ()
        if self._keyword("order"):
            order = self._order()
        token = self._peek()
        if token is not None:
            raise self._unexpected("either 'OR', 'AND' or 'ORDER BY'", token[1])
        if matches is None:
            raise JqlError(UNBOUNDED)
        return Query(matches, order)

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("or"):
            self.at += 1
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda snap: any(p(snap) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._keyword("and"):
            self.at += 1
            parts.append(self._not())
        if len(parts) == 1:
            return parts[0]
        return lambda snap: all(p(snap) for p in parts)

    def _not(self) -> Predicate:
        if self._keyword("not"):
            self.at += 1
            inner = self._not()
            return lambda snap: not inner(snap)
        token = self._peek()
        if token == ("paren", "("):
            self.at += 1
            inner = self._or()
            closing = self._next("')'")
            if closing != ("paren", ")"):
                raise self._unexpected("')'", closing[1])
            return inner
        return self._clause()

    def _clause(self) -> Predicate:
        kind, raw = self._next("a field name")
        if kind == "string":
            raw = _unquote(raw)
        elif kind != "word":
            raise self._unexpected("a field name", raw)
        prop = re.fullmatch(r"issue\.property\[([\w.\-]+)\]\.([\w.]+)", raw)
        if prop is not None:
            key, path = prop.group(1), prop.group(2).split(".")
            return self._compare(
                "property", lambda snap: _walk(snap["properties"].get(key), path), raw
            )
        field = FIELDS.get(raw.lower())
        if field is None:
            raise JqlError(
                f"Field '{raw}' does not exist or you do not have permission to view it."
            )
        return self._compare(field, lambda snap: snap[field], raw)

    def _operator(self) -> str:
        kind, raw = self._next("an operator")
        if kind == "op":
            return raw
        word = raw.lower()
        if word == "in":
            return "in"
        if word == "is":
            if self._keyword("not"):
                self.at += 1
                return "is not"
            return "is"
        if word == "not" and self._keyword("in"):
            self.at += 1
            return "not in"
        raise self._unexpected("operator", raw)

    def _value(self) -> str | None:
        kind, raw = self._next("a value")
        if kind == "string":
            return _unquote(raw)
        if kind != "word":
            raise self._unexpected("a value", raw)
        if raw.lower() in ("empty", "null"):
            return None
        if raw.lower() in ("and", "or", "order", "not", "in", "is"):
            raise self._unexpected("a value", raw)
        return raw

    def _values(self) -> list[str | None]:
        opening = self._next("'('")
        if opening != ("paren", "("):
            raise self._unexpected("'('", opening[1])
        values = [self._value()]
        while self._peek() == ("paren", ","):
            self.at += 1
            values.append(self._value())
        closing = self._next("')'")
        if closing != ("paren", ")"):
            raise self._unexpected("')'", closing[1])
        return values

    def _compare(self, field: str, get: Callable[[Snapshot], Any], name: str) -> Predicate:
        op = self._operator()
        if op in ("is", "is not"):
            if not self._keyword("empty", "null"):
                token = self._peek()
                raise self._unexpected("EMPTY or NULL", token[1] if token else "the end")
            self.at += 1
            empty = op == "is"
            return lambda snap: _empty(get(snap)) is empty
        values = self._values() if op in ("in", "not in") else [self._value()]
        if field in DATES:
            return self._dates(op, [self._date(name, v) for v in values], get, name)
        if field in TEXT or op in ("~", "!~"):
            if field not in TEXT:
                raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
            words = [str(v or "").lower() for v in values]
            negated = op == "!~"

            def contains(snap: Snapshot) -> bool:
                text = str(get(snap) or "").lower()
                return all(w in text for w in words) is not negated

            return contains
        wanted = {self._known(field, name, v) for v in values}
        if op in (">", ">=", "<", "<="):
            raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
        positive = op in ("=", "in")

        def test(snap: Snapshot) -> bool:
            held = get(snap)
            have = set(held) if isinstance(held, list) else {held}
            have = {_fold(h) for h in have}
            hit = bool(have & wanted) or (None in wanted and _empty(held))
            return hit if positive else not hit

        return test

    def _known(self, field: str, name: str, value: str | None) -> str | None:
        """A value as compared (case-folded), refused when the site has no such thing."""
        if value is None:
            return None
        known: Collection[str] | None = {
            "project": self.site.projects,
            "status": self.site.statuses,
            "priority": self.site.priorities,
            "issuetype": self.site.issue_types,
        }.get(field)
        if known is not None and _fold(value) not in {_fold(k) for k in known}:
            raise JqlError(f"The value '{value}' does not exist for the field '{name}'.")
        return value.casefold()

    def _date(self, name: str, value: str | None) -> dt.datetime:
        found = DATE.fullmatch(value or "")
        if found is None:
            raise JqlError(
                f"Date value '{value}' for field '{name}' is invalid. Valid formats include: "
                "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd'."
            )
        year, month, day, hour, minute = (int(g) if g else 0 for g in found.groups())
        try:
            return dt.datetime(year, month, day, hour, minute, tzinfo=self.site.zone)
        except ValueError:
            raise JqlError(f"Date value '{value}' for field '{name}' is invalid.") from None

    @staticmethod
    def _dates(
        op: str, bounds: list[dt.datetime], get: Callable[[Snapshot], Any], name: str
    ) -> Predicate:
        if op in ("in", "not in") or len(bounds) != 1:
            raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
        [bound] = bounds
        compare: dict[str, Callable[[dt.datetime], bool]] = {
            "=": lambda at: at.replace(second=0, microsecond=0) == bound,
            "!=": lambda at: at.replace(second=0, microsecond=0) != bound,
            ">": lambda at: at > bound,
            ">=": lambda at: at >= bound,
            "<": lambda at: at < bound,
            "<=": lambda at: at <= bound,
        }
        if op not in compare:
            raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
        check = compare[op]
        return lambda snap: check(get(snap))

    def _order(self) -> tuple[Sort, ...]:
        self.at += 1
        if not self._keyword("by"):
            token = self._peek()
            raise self._unexpected("'BY'", token[1] if token else "the end")
        self.at += 1
        order: list[Sort] = []
        while True:
            kind, raw = self._next("a field name")
            field = FIELDS.get(raw.lower()) if kind == "word" else None
            if field is None:
                raise JqlError(
                    f"Field '{raw}' does not exist or you do not have permission to view it."
                )
            if field not in SORTABLE:
                raise JqlError(f"Field '{raw}' does not support sorting.")
            descending = False
            if self._keyword("asc", "desc"):
                descending = self._next("a direction")[1].lower() == "desc"
            order.append(Sort(field, descending))
            if self._peek() != ("paren", ","):
                break
            self.at += 1
        if len(order) > 7:
            raise JqlError("The ORDER BY clause can contain a maximum of 7 fields.")
        return tuple(order)


def _walk(value: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (list, str)) and not value)


def parse(jql: str, site: Site) -> Query:
    """The query, or ``JqlError`` with Jira's message for what is wrong with it."""
    return _Parser(jql, site).parse()
