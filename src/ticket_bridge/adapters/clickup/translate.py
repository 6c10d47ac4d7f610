"""ClickUp due dates: a ms epoch plus ``due_date_time``, which says whether the time counts.

ClickUp stores a date-only due date at 04:00 in the time zone of the user who set it, so the
date can only be read back in that user's zone. Task responses may leave ``due_date_time`` out;
the value is then date-only when it sits exactly at 04:00 in that zone. A day the zone skipped
altogether (Pacific/Apia 2011-12-30) has no 04:00 and comes back as the next day.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from ticket_bridge.adapters.clickup.config import StatusFallback, StatusType
from ticket_bridge.adapters.clickup.payloads import TaskStatus
from ticket_bridge.bridge.errors import ParkLink, UnknownNativeValue
from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.model import Due, Field, Json, Kind, Status
from ticket_bridge.bridge.translation import TableTranslation

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


PRIORITY_NUMBERS = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
"""ClickUp priorities cannot be customised: the API reads names and writes these numbers."""

SETTER_ZONE = "setter_zone"
"""Key the adapter adds to a native due date read in another zone than the Workspace's."""


def due_setter_zone(native: Json) -> ZoneInfo | None:
    if isinstance(native, dict) and isinstance(native.get(SETTER_ZONE), str):
        return ZoneInfo(str(native[SETTER_ZONE]))
    return None


class ClickUpTranslation:
    """The table translation, plus ClickUp's per-List statuses.

    Status names are matched without regard to case (the API returns them lower-cased, the
    tables name them as the List shows them). A status the table does not name is read by its
    ClickUp type through ``StatusFallback``; a canonical status whose table name the List does
    not have is written to the List's first status (by order) of the fallback type. The List's
    statuses are learnt from ``GET /v2/list/{id}`` and from every task read.
    """

    def __init__(
        self, tracker: str, mapping: TrackerMapping, due: ClickUpDue, fallback: StatusFallback
    ) -> None:
        self.table = TableTranslation(tracker, mapping, due)
        self.tracker = tracker
        self.mapping = mapping
        self.due = due
        self.fallback = fallback
        self._table_names = {name.casefold(): name for name in mapping.status.represents}
        self._lock = threading.Lock()
        self._seen: dict[str, TaskStatus] = {}
        self._list: tuple[TaskStatus, ...] = ()

    def learn_list(self, statuses: Iterable[TaskStatus]) -> None:
        with self._lock:
            self._list = tuple(sorted(statuses, key=lambda s: s.orderindex))
            for status in self._list:
                self._seen[status.status.casefold()] = status

    def learn(self, status: TaskStatus) -> None:
        with self._lock:
            self._seen.setdefault(status.status.casefold(), status)

    def _unknown(self, native: Json) -> UnknownNativeValue:
        return UnknownNativeValue(self.tracker, "status", native, self.mapping.source)

    def _status_type(self, native: str) -> StatusType:
        with self._lock:
            known = self._seen.get(native.casefold())
        try:
            return StatusType(known.type) if known is not None else StatusType("")
        except ValueError:
            raise self._unknown(native) from None

    def to_canonical(self, field: Field, native: Json, current: Any) -> Any:
        match field:
            case Field.STATUS:
                if not isinstance(native, str):
                    raise self._unknown(native)
                name = self._table_names.get(native.casefold())
                if name is not None:
                    return self.table.to_canonical(field, name, current)
                kind = self._status_type(native)
                if current is not None and self.fallback.write.get(Status(current)) is kind:
                    return Status(current)
                return self.fallback.read[kind]
            case Field.DUE:
                return self.due.to_canonical(native, due_setter_zone(native))
            case _:
                return self.table.to_canonical(field, native, current)

    def to_native(self, field: Field, value: Any, current: Json) -> Json:
        match field:
            case Field.STATUS:
                return self._status_to_native(Status(value), current)
            case Field.DUE:
                if current is not None:
                    try:
                        if self.to_canonical(field, current, None) == value:
                            return current
                    except ValueError:
                        pass
                return self.due.to_native(value)
            case _:
                return self.table.to_native(field, value, current)

    def _status_to_native(self, value: Status, current: Json) -> str:
        if isinstance(current, str):
            try:
                if self.to_canonical(Field.STATUS, current, value) is value:
                    return current
            except ParkLink:
                pass
        name = self.mapping.status.to_native(value, None)
        assert name is not None
        with self._lock:
            spelled = self._seen.get(name.casefold())
            in_list = not self._list or any(
                s.status.casefold() == name.casefold() for s in self._list
            )
            wanted = self.fallback.write[value]
            of_type = [s for s in self._list if s.type == wanted.value]
        if in_list:
            return spelled.status if spelled is not None else name
        if not of_type:
            raise ParkLink(
                f"{self.tracker}: the List has no status {name!r} and none of type "
                f"{wanted.value!r} to write {value.value!r}: add one, or map it in "
                f"{self.mapping.source}"
            )
        return of_type[0].status

    def kind_of(self, native: Json) -> Kind:
        return self.table.kind_of(native)

    def native_kind(self, kind: Kind) -> Json:
        return self.table.native_kind(kind)
