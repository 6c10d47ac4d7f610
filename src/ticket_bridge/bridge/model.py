"""The canonical ticket: what one ticket means, whatever tracker holds it."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    JsonValue,
    model_validator,
)

Json = JsonValue
"""A native value as a tracker's API gives it: what bases hold and what is compared."""


def _zone_name(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone name, e.g. Europe/Berlin") from exc
    return name


ZoneName = Annotated[str, AfterValidator(_zone_name)]
"""A time zone setting, checked against the IANA database when the config is read."""


class Frozen(BaseModel):
    """Base of every canonical value: immutable, and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Status(StrEnum):
    """Canonical lifecycle statuses (DESIGN.md, distilled from the seed processes)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    NEEDS_INFO = "needs_info"
    ON_HOLD = "on_hold"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class Priority(StrEnum):
    """P1 (site down, revenue impact) .. P4 (cosmetic), per seed 003; NONE when unset."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    NONE = "none"


class Kind(StrEnum):
    SUPPORT = "support"
    QUESTION = "question"
    ESCALATION = "escalation"
    TASK = "task"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class Field(StrEnum):
    """The ticket fields the reconciler merges field by field."""

    TITLE = "title"
    DESCRIPTION = "description"
    STATUS = "status"
    PRIORITY = "priority"
    DUE = "due"
    ASSIGNEE = "assignee"


class Due(Frozen):
    """A due date: either a calendar date or an exact instant, never a naive datetime.

    A calendar date has no time zone: it must come back as the same date from every tracker.
    An instant is kept in UTC.
    """

    date: dt.date | None = None
    at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.date is None) == (self.at is None):
            raise ValueError("a due date is either a calendar date or an instant, exactly one")
        if self.at is not None and self.at.utcoffset() != dt.timedelta(0):
            object.__setattr__(self, "at", self.at.astimezone(dt.UTC))
        return self

    @classmethod
    def on(cls, day: dt.date) -> Due:
        if isinstance(day, dt.datetime):
            raise TypeError("a calendar due date takes a date, not a datetime")
        return cls(date=day)

    @classmethod
    def instant(cls, at: dt.datetime) -> Due:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"due instant {at.isoformat()} is naive: give it a time zone")
        return cls(at=at)

    def __str__(self) -> str:
        if self.date is not None:
            return self.date.isoformat()
        assert self.at is not None
        return self.at.strftime("%Y-%m-%dT%H:%M:%SZ")


class Person(Frozen):
    name: str
    email: str | None = None


class Ref(Frozen):
    """A pointer to one native object (a ticket or a comment) in one tracker instance."""

    tracker: str
    id: str

    def __str__(self) -> str:
        return f"{self.tracker}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Ref:
        tracker, sep, native_id = text.partition(":")
        if not sep or not tracker or not native_id:
            raise ValueError(f"{text!r} is not a ref: write it as TRACKER:ID, e.g. zendesk:123")
        return cls(tracker=tracker, id=native_id)


class Comment(Frozen):
    """One comment of a linked ticket; ``id`` is stable across trackers, ``origin`` says where it was written."""

    id: str
    author: Person
    body: str
    visibility: Visibility
    created_at: AwareDatetime
    origin: Ref


class Ticket(Frozen):
    kind: Kind = Kind.SUPPORT
    title: str
    description: str = ""
    status: Status = Status.NEW
    priority: Priority = Priority.NONE
    due: Due | None = None
    assignee: str | None = None
    requester: str | None = None
    tags: frozenset[str] = frozenset()
    comments: tuple[Comment, ...] = ()
    refs: tuple[Ref, ...] = ()
