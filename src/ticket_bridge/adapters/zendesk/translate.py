"""Zendesk due dates: ``due_at`` is always a UTC instant, even for a calendar date.

A calendar date is written as noon in the business time zone: noon is as far from both midnights
as a day allows, so the date survives any offset, and reading recognises it by that noon. A day
the zone skipped altogether (Pacific/Apia 2011-12-30) has no noon and comes back as the next day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.model import Due, Json
from ticket_bridge.bridge.translation import TableTranslation

DATE_ANCHOR = dt.time(12, 0)


class Custom(Protocol):
    """What status translation needs of a custom ticket status."""

    @property
    def agent_label(self) -> str: ...

    @property
    def default(self) -> bool: ...

    @property
    def active(self) -> bool: ...


def date_instant(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant that stands for ``day``: its local noon in ``zone``.

    When noon falls in a daylight-saving gap, the wall time is read with the offset in force
    before the gap (``fold=0``); reading applies the same rule, so the date still comes back.
    """
    return dt.datetime.combine(day, DATE_ANCHOR, tzinfo=zone).astimezone(dt.UTC)


def read_due_at(native: Json, zone: ZoneInfo) -> Due | None:
    if native is None or native == "":
        return None
    if not isinstance(native, str):
        raise ValueError(f"Zendesk due_at {native!r} is not an ISO-8601 text")
    try:
        at = dt.datetime.fromisoformat(native)
    except ValueError as exc:
        raise ValueError(f"Zendesk due_at {native!r} is not an ISO-8601 instant") from exc
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"Zendesk due_at {native!r} has no time zone")
    at = at.astimezone(dt.UTC)
    local = at.astimezone(zone)
    if local.time() == DATE_ANCHOR or date_instant(local.date(), zone) == at:
        return Due.on(local.date())
    return Due.instant(at)


def write_due_at(due: Due | None, zone: ZoneInfo) -> str | None:
    if due is None:
        return None
    at = date_instant(due.date, zone) if due.date is not None else due.at
    assert at is not None
    return at.astimezone(dt.UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True, slots=True)
class ZendeskDue:
    """The ``DueCodec`` of Zendesk; ``zone`` is the business time zone dates are anchored in."""

    zone: ZoneInfo

    def to_canonical(self, native: Json) -> Due | None:
        return read_due_at(native, self.zone)

    def to_native(self, due: Due | None) -> Json:
        return write_due_at(due, self.zone)


SYSTEM_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")


def translation(name: str, mapping: TrackerMapping, zone: ZoneInfo) -> TableTranslation:
    return TableTranslation(name, mapping, ZendeskDue(zone))


def native_status(status: str, custom_status_id: int | None, custom: Mapping[int, Custom]) -> str:
    """The native status the mapping sees.

    A custom status that is not the default of its category reads as its ``agent_label`` (so a
    mapping can tell "In progress" from plain "open"); a default one as its system status, so the
    shipped tables work unchanged on accounts with custom statuses. ``closed`` is always
    ``closed``: Zendesk files closed tickets under the solved category's custom status.
    """
    if status == "closed" or custom_status_id is None:
        return status
    found = custom.get(custom_status_id)
    if found is None or found.default:
        return status
    return found.agent_label


def status_write(native: str, custom: Mapping[int, Custom]) -> dict[str, Json]:
    """What an update sends to reach ``native``: a system status, or a custom status id."""
    if native in SYSTEM_STATUSES:
        return {"status": native}
    for status_id, found in custom.items():
        if found.agent_label == native and found.active:
            return {"custom_status_id": status_id}
    raise ValueError(f"{native!r} is neither a Zendesk status nor an active custom status")


def date_field_to_due_at(native: Json, zone: ZoneInfo) -> str | None:
    """A date custom field (``YYYY-MM-DD``) read as the instant that stands for that date.

    Every due date then has one native form, ``due_at``'s, whatever field holds it.
    """
    if native is None or native == "":
        return None
    if not isinstance(native, str):
        raise ValueError(f"Zendesk date field value {native!r} is not text")
    return write_due_at(Due.on(dt.date.fromisoformat(native[:10])), zone)


def due_at_to_date_field(native: Json, zone: ZoneInfo) -> str | None:
    """The date a date custom field can hold; an instant keeps only its local date."""
    due = read_due_at(native, zone)
    if due is None:
        return None
    if due.date is not None:
        return due.date.isoformat()
    assert due.at is not None
    return due.at.astimezone(zone).date().isoformat()
