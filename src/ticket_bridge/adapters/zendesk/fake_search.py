"""The part of Zendesk's search query language the fake answers, with Zendesk's meanings.

Terms are ANDed. Supported: ``type:ticket``; ``status`` and ``priority`` with ``:`` and the
ordering operators ``< <= > >=`` (Zendesk orders statuses new < open < pending < hold < solved
< closed, priorities low < normal < high < urgent); ``ticket_type:``; ``tags:``/``tag:``;
``group:`` (a group's name, quoted when it has spaces, its id, or ``none``); ``assignee:`` and
``requester:`` (an email or ``none``); ``external_id:``; ``created`` and ``updated`` with any
operator and an ISO-8601 date (a whole UTC day) or date-time with a zone; ``-`` before a term
negates it; anything else without a keyword is free text matched in subject and description.
What the fake cannot read is a ``BadQuery`` (a 400), rather than a silent guess.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]

STATUS_ORDER = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITY_ORDER = ("low", "normal", "high", "urgent")
TICKET_TYPES = ("problem", "incident", "question", "task")
ORDERING = ("<", "<=", ">", ">=")
TOKEN = re.compile(r'(-)?(?:([A-Za-z_]+)(>=|<=|:|<|>))?("[^"]*"|[^\s"]+)')
DAY = dt.timedelta(days=1)


class BadQuery(ValueError):
    """A query the fake cannot read: Zendesk answers such a search with an error, not results."""


@dataclass(frozen=True)
class Term:
    negated: bool
    keyword: str | None
    operator: str
    value: str


@dataclass(frozen=True)
class Account:
    """What matching needs to know about the account beyond the ticket itself."""

    group_id: Callable[[str], int | None]
    user_id: Callable[[str], int | None]


def parse(query: str) -> list[Term]:
    terms: list[Term] = []
    pos = 0
    while pos < len(query):
        if query[pos].isspace():
            pos += 1
            continue
        found = TOKEN.match(query, pos)
        if found is None:
            raise BadQuery(f"unbalanced quote at character {pos + 1}")
        negated, keyword, operator, value = found.groups()
        terms.append(
            Term(
                negated=bool(negated),
                keyword=keyword.lower() if keyword else None,
                operator=operator or ":",
                value=value[1:-1] if value.startswith('"') else value,
            )
        )
        pos = found.end()
    return terms


def matcher(terms: list[Term], account: Account) -> Callable[[JsonDict], bool]:
    """One predicate for all terms; raises ``BadQuery`` up front, before any ticket is seen."""
    tests = [_test(term, account) for term in terms]
    return lambda ticket: all(test(ticket) for test in tests)


def _test(term: Term, account: Account) -> Callable[[JsonDict], bool]:
    test = _positive(term, account)
    if term.negated:
        return lambda ticket: not test(ticket)
    return test


def _positive(term: Term, account: Account) -> Callable[[JsonDict], bool]:
    keyword, op, value = term.keyword, term.operator, term.value
    if keyword is None:
        needle = value.lower()
        return lambda t: needle in f"{t.get('subject') or ''} {t.get('description') or ''}".lower()
    if keyword in ("created", "updated"):
        return _dated(f"{keyword}_at", op, value)
    if keyword == "status":
        return _ordered("status", STATUS_ORDER, op, value.lower())
    if keyword == "priority":
        return _ordered("priority", PRIORITY_ORDER, op, value.lower())
    if op != ":":
        raise BadQuery(f"{keyword}{op}{value}: {keyword} takes ':' only")
    if keyword == "type":
        if value.lower() != "ticket":
            raise BadQuery(f"type:{value}: this account's search holds tickets only")
        return lambda t: True
    if keyword == "ticket_type":
        if value.lower() not in TICKET_TYPES:
            raise BadQuery(f"ticket_type:{value}: not one of {', '.join(TICKET_TYPES)}")
        return lambda t: t.get("type") == value.lower()
    if keyword in ("tags", "tag"):
        return lambda t: value.lower() in [str(tag).lower() for tag in t.get("tags") or ()]
    if keyword == "external_id":
        return lambda t: t.get("external_id") == value
    if keyword == "group":
        return _reference("group_id", value, account.group_id)
    if keyword in ("assignee", "requester"):
        return _reference(f"{keyword}_id", value, account.user_id)
    raise BadQuery(f"{keyword}{op}{value}: unsupported keyword {keyword!r}")


def _reference(
    key: str, value: str, lookup: Callable[[str], int | None]
) -> Callable[[JsonDict], bool]:
    if value.lower() == "none":
        return lambda t: t.get(key) is None
    wanted = int(value) if value.isdigit() else lookup(value)
    return lambda t: wanted is not None and t.get(key) == wanted


def _ordered(key: str, order: tuple[str, ...], op: str, value: str) -> Callable[[JsonDict], bool]:
    if value not in order:
        raise BadQuery(f"{key}{op}{value}: not one of {', '.join(order)}")
    rank = order.index(value)

    def test(ticket: JsonDict) -> bool:
        held = ticket.get(key)
        if held not in order:
            return False
        return _compare(order.index(held), op, rank)

    return test


def _dated(key: str, op: str, value: str) -> Callable[[JsonDict], bool]:
    start, end = _span(key.removesuffix("_at"), op, value)

    def test(ticket: JsonDict) -> bool:
        at = instant(str(ticket[key]))
        match op:
            case "<":
                return at < start
            case ">=":
                return at >= start
            case ">":
                return at >= end
            case "<=":
                return at < end
        return start <= at < end

    return test


def _span(keyword: str, op: str, value: str) -> tuple[dt.datetime, dt.datetime]:
    """What a date or date-time stands for, half open: a whole UTC day, or its second.

    Zendesk keeps seconds, so ``created>10:00:00Z`` starts at 10:00:01 and ``created<=`` a day
    includes all of it.
    """
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            return start, start + DAY
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadQuery(f"{keyword}{op}{value}: not an ISO-8601 date or date-time") from None
    if at.tzinfo is None:
        raise BadQuery(f"{keyword}{op}{value}: a date-time needs a zone (Z or +01:00)")
    at = at.astimezone(dt.UTC)
    return at, at + dt.timedelta(seconds=1)


def _compare(left: Any, op: str, right: Any) -> bool:
    match op:
        case ":":
            return bool(left == right)
        case "<":
            return bool(left < right)
        case "<=":
            return bool(left <= right)
        case ">":
            return bool(left > right)
        case ">=":
            return bool(left >= right)
    raise BadQuery(f"unknown operator {op}")


def instant(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp).astimezone(dt.UTC)
