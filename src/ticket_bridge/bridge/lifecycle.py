"""The lifecycle rules of DESIGN.md as data plus small pure functions.

The reconciler asks ``accept`` which status a ticket adopts when a tracker proposes one, and a
daemon asks ``due_actions`` which timer policies (seed 004, seed 002) are due; neither does I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Self

from pydantic import AwareDatetime, model_validator

from ticket_bridge.bridge.model import Frozen, Kind, Status

SHORT_PATH: Mapping[Kind, frozenset[Status]] = MappingProxyType(
    {
        Kind.QUESTION: frozenset(
            {
                Status.NEW,
                Status.ACKNOWLEDGED,
                Status.NEEDS_INFO,
                Status.RESOLVED,
                Status.CLOSED,
                Status.REOPENED,
            }
        )
    }
)
"""Kinds that take a short path (seed 003 questions), with the only statuses they use.

A kind not listed here uses every status.
"""

SHORT_PATH_FALLBACK = Status.ACKNOWLEDGED
"""What a status off the short path means for such a kind: someone has it, it is not done."""

FINISHED: frozenset[Status] = frozenset({Status.RESOLVED, Status.CLOSED})

REOPEN_ENTRY: frozenset[Status] = frozenset({Status.NEW, Status.ACKNOWLEDGED})
"""Statuses that, proposed for a finished ticket, mean it came back: the ticket becomes reopened.

Trackers without a reopened status land there by default (Jira "To Do" reads as new, Zendesk
"open" as acknowledged); a ticket that was resolved is neither new nor merely acknowledged.
"""

CUSTOMER_HIDDEN_KINDS: frozenset[Kind] = frozenset({Kind.ESCALATION})
"""Kinds that are internal only (seed 003) and so never created in a customer-facing tracker."""


def collapse(kind: Kind, status: Status) -> Status:
    allowed = SHORT_PATH.get(kind)
    if allowed is None or status in allowed:
        return status
    return SHORT_PATH_FALLBACK


def accept(kind: Kind, current: Status | None, proposed: Status) -> Status:
    """The status the canonical ticket adopts when a tracker proposes ``proposed``.

    ``closed`` is terminal: a tracker that only knows "done" (Jira, ClickUp) proposing
    ``resolved`` must not un-close the ticket. Any other status after ``closed`` is a reopen,
    and an entry status proposed for a finished ticket is named as one (``REOPEN_ENTRY``).
    """
    status = collapse(kind, proposed)
    if current is Status.CLOSED and status is Status.RESOLVED:
        return Status.CLOSED
    if current in FINISHED and status in REOPEN_ENTRY:
        return Status.REOPENED
    return status


def is_reopen(old: Status | None, new: Status) -> bool:
    return old in FINISHED and new not in FINISHED


def creatable_in(kind: Kind, *, customer_facing: bool) -> bool:
    return not (customer_facing and kind in CUSTOMER_HIDDEN_KINDS)


class ActionKind(StrEnum):
    REMIND = "remind"
    SET_STATUS = "set_status"


class PolicyAction(Frozen):
    """One timer action now due; ``name`` is stable, so a daemon can record it as done."""

    name: str
    kind: ActionKind
    due_at: AwareDatetime
    status: Status | None = None
    tag: str | None = None


class Timer(Frozen):
    """A policy's timer: ``after`` that long in one status, take the action ``name``."""

    name: str
    after: dt.timedelta
    kind: ActionKind = ActionKind.REMIND
    status: Status | None = None
    tag: str | None = None


REMINDER_FIRST = "reminder-first"
REMINDER_SECOND = "reminder-second"
AUTO_CLOSE_NO_RESPONSE = "auto-close-no-response"
CLOSE_RESOLVED = "close-resolved"


class LifecyclePolicies(Frozen):
    """Timer policies; the defaults are seed 004's. ``None`` disables a timer.

    Action names do not carry the durations, so changing a duration in the config does not make
    the daemon repeat an action it already took. Seed 002 ("48-72 hours before proactively
    closing") is ``close_resolved_after=timedelta(hours=48)``.
    """

    first_reminder_after: dt.timedelta | None = dt.timedelta(hours=24)
    second_reminder_after: dt.timedelta | None = dt.timedelta(days=5)
    auto_close_after: dt.timedelta | None = dt.timedelta(days=7)
    no_response_tag: str = "no_response"
    close_resolved_after: dt.timedelta | None = dt.timedelta(hours=24)

    @model_validator(mode="after")
    def _positive(self) -> Self:
        for name in (
            "first_reminder_after",
            "second_reminder_after",
            "auto_close_after",
            "close_resolved_after",
        ):
            value: dt.timedelta | None = getattr(self, name)
            if value is not None and value <= dt.timedelta(0):
                raise ValueError(f"{name} must be a positive duration, not {value}")
        return self

    @classmethod
    def disabled(cls) -> LifecyclePolicies:
        return cls(
            first_reminder_after=None,
            second_reminder_after=None,
            auto_close_after=None,
            close_resolved_after=None,
        )

    def timers(self, status: Status) -> list[Timer]:
        """The enabled timers that run while a ticket sits in ``status``, shortest first."""
        found: list[Timer] = []
        if status is Status.NEEDS_INFO:
            if self.first_reminder_after is not None:
                found.append(Timer(name=REMINDER_FIRST, after=self.first_reminder_after))
            if self.second_reminder_after is not None:
                found.append(Timer(name=REMINDER_SECOND, after=self.second_reminder_after))
            if self.auto_close_after is not None:
                found.append(
                    Timer(
                        name=AUTO_CLOSE_NO_RESPONSE,
                        after=self.auto_close_after,
                        kind=ActionKind.SET_STATUS,
                        status=Status.CLOSED,
                        tag=self.no_response_tag,
                    )
                )
        elif status is Status.RESOLVED and self.close_resolved_after is not None:
            found.append(
                Timer(
                    name=CLOSE_RESOLVED,
                    after=self.close_resolved_after,
                    kind=ActionKind.SET_STATUS,
                    status=Status.CLOSED,
                )
            )
        return sorted(found, key=lambda timer: timer.after)


def due_actions(
    status: Status,
    entered_at: dt.datetime,
    now: dt.datetime,
    done: frozenset[str],
    policies: LifecyclePolicies,
) -> list[PolicyAction]:
    """The actions due for a ticket that entered ``status`` at ``entered_at``, oldest first.

    Durations are real elapsed time, taken in UTC: subtracting two datetimes of one zone would
    count wall-clock time and be an hour off across a daylight-saving change.

    A reminder still pending once a status change is also due is dropped: reminding the
    requester at the moment the ticket closes would only confuse them.
    """
    for label, value in (("entered_at", entered_at), ("now", now)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{label} {value.isoformat()} is naive: give it a time zone")
    start = entered_at.astimezone(dt.UTC)
    elapsed = now.astimezone(dt.UTC) - start
    due = [
        PolicyAction(
            name=timer.name,
            kind=timer.kind,
            due_at=start + timer.after,
            status=timer.status,
            tag=timer.tag,
        )
        for timer in policies.timers(status)
        if elapsed >= timer.after and timer.name not in done
    ]
    if any(action.kind is ActionKind.SET_STATUS for action in due):
        due = [action for action in due if action.kind is not ActionKind.REMIND]
    return due
