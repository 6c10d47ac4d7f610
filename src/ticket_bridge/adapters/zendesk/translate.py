"""Zendesk due dates: ``due_at`` is always a UTC instant, even for a calendar date.

A calendar date is written as noon in the business time zone: noon is as far from both midnights
as a day allows, so the date survives any offset, and reading recognises it by that noon. A day
the zone skipped altogether (Pacific/Apia 2011-12-30) has no noon and comes back as the next day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ticket_bridge.bridge.model import Due, Json

DATE_ANCHOR = dt.time(12, 0)


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
