"""Jira due dates: ``duedate`` is a bare calendar date, with neither time nor time zone.

An instant therefore becomes the calendar date it falls on in the business time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.model import Due, Json
from ticket_bridge.bridge.translation import TableTranslation

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def read_duedate(native: Json) -> Due | None:
    if native is None or native == "":
        return None
    if not isinstance(native, str) or not _DATE.fullmatch(native):
        raise ValueError(f"Jira duedate {native!r} is not a date written YYYY-MM-DD")
    try:
        return Due.on(dt.date.fromisoformat(native))
    except ValueError as exc:
        raise ValueError(f"Jira duedate {native!r} is not a real date: {exc}") from exc


def write_duedate(due: Due | None, zone: ZoneInfo) -> str | None:
    if due is None:
        return None
    if due.date is not None:
        return due.date.isoformat()
    assert due.at is not None
    return due.at.astimezone(zone).date().isoformat()


@dataclass(frozen=True, slots=True)
class JiraDue:
    """The ``DueCodec`` of Jira; ``zone`` is the business time zone instants are dated in."""

    zone: ZoneInfo

    def to_canonical(self, native: Json) -> Due | None:
        return read_duedate(native)

    def to_native(self, due: Due | None) -> Json:
        return write_duedate(due, self.zone)


def translation(name: str, mapping: TrackerMapping, zone: ZoneInfo) -> TableTranslation:
    """Statuses and priorities by name through the mapping tables; due dates through ``JiraDue``."""
    return TableTranslation(name, mapping, JiraDue(zone))
