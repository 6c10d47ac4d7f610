"""Every IANA time zone, and the days each one really had, for the due-date round trips."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

ZONES = [ZoneInfo(key) for key in sorted(zoneinfo.available_timezones())]
DATES = st.dates(min_value=dt.date(1900, 1, 2), max_value=dt.date(2199, 12, 30))


def exists_in(day: dt.date, zone: ZoneInfo) -> bool:
    """Whether clocks in ``zone`` ever showed ``day``: a few zones skipped one (Apia 2011-12-30)."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
    return noon.astimezone(dt.UTC).astimezone(zone).date() == day
