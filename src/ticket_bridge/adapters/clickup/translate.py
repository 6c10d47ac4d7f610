"""ClickUp due dates: a ms epoch plus ``due_date_time``, which says whether the time counts.

ClickUp stores a date-only due date at 04:00 in the time zone of the user who set it, so the
date can only be read back in that user's zone. Task responses may leave ``due_date_time`` out;
the value is then date-only when it sits exactly at 04:00 in that zone. A day the zone skipped
altogether (Pacific/Apia 2011-12-30) has no 04:00 and comes back as the next day.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ticket_bridge.bridge.model import Due, Json

DATE_ANCHOR = dt.time(4, 0)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DIGITS = re.compile(r"-?[0-9]+")


def _ms(at: dt.datetime) -> int:
    return (at - _EPOCH) // dt.timedelta(milliseconds=1)


def _instant(ms: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=ms)


def date_instant(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """04:00 on ``day`` in ``zone``; in a daylight-saving gap, with the offset before the gap."""
    return dt.datetime.combine(day, DATE_ANCHOR, tzinfo=zone).astimezone(dt.UTC)


def _epoch_ms(value: Json, native: Json) -> int:
    if isinstance(value, bool):
        raise ValueError(f"ClickUp due_date in {native!r} is not a ms epoch")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise ValueError(f"ClickUp due_date in {native!r} is not a ms epoch")


def read_due_date(native: Json, setter_zone: ZoneInfo) -> Due | None:
    """Read ``{"due_date": ms, "due_date_time": bool}``; dates are read in ``setter_zone``."""
    if native is None:
        return None
    if not isinstance(native, dict):
        raise ValueError(f"ClickUp due date {native!r} is not an object with due_date")
    raw = native.get("due_date")
    if raw is None or raw == "":
        return None
    at = _instant(_epoch_ms(raw, native))
    has_time = native.get("due_date_time")
    if has_time is not None and not isinstance(has_time, bool):
        raise ValueError(f"ClickUp due_date_time in {native!r} is not true or false")
    local = at.astimezone(setter_zone)
    if has_time is None:
        has_time = not (
            local.time() == DATE_ANCHOR or date_instant(local.date(), setter_zone) == at
        )
    if has_time:
        return Due.instant(at)
    return Due.on(local.date())


def write_due_date(due: Due | None, zone: ZoneInfo) -> dict[str, Json] | None:
    """Write a calendar date at 04:00 in ``zone``, where ClickUp itself would put it."""
    if due is None:
        return None
    if due.date is not None:
        return {"due_date": _ms(date_instant(due.date, zone)), "due_date_time": False}
    assert due.at is not None
    return {"due_date": _ms(due.at), "due_date_time": True}


@dataclass(frozen=True, slots=True)
class ClickUpDue:
    """The ``DueCodec`` of ClickUp; ``zone`` is the zone the bridge sets date-only due dates in."""

    zone: ZoneInfo

    def to_canonical(self, native: Json, setter_zone: ZoneInfo | None = None) -> Due | None:
        return read_due_date(native, setter_zone if setter_zone is not None else self.zone)

    def to_native(self, due: Due | None) -> Json:
        return write_due_date(due, self.zone)
