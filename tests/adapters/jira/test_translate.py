"""Jira due dates: a date survives in every zone; an instant becomes its business-zone date."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.adapters.zones import ZONES
from ticket_bridge.adapters.jira.translate import JiraDue, read_duedate, write_duedate
from ticket_bridge.bridge.model import Due, Json
from ticket_bridge.bridge.translation import DueCodec

INSTANTS = st.datetimes(
    min_value=dt.datetime(1900, 1, 2),
    max_value=dt.datetime(2199, 12, 30),
    timezones=st.just(dt.UTC),
)


def test_jira_due_is_a_due_codec() -> None:
    codec: DueCodec = JiraDue(ZoneInfo("Europe/Berlin"))
    assert codec.to_native(None) is None
    assert codec.to_canonical(None) is None
    assert codec.to_canonical("") is None


@settings(max_examples=200, deadline=None)
@given(day=st.dates())
@example(day=dt.date(2011, 12, 30))
@example(day=dt.date(2024, 3, 31))
@example(day=dt.date(1, 1, 1))
def test_a_calendar_date_survives_jira_in_every_zone(day: dt.date) -> None:
    for zone in ZONES:
        codec = JiraDue(zone)
        native = codec.to_native(Due.on(day))
        assert native == day.isoformat()
        assert codec.to_canonical(native) == Due.on(day)


@pytest.mark.parametrize(
    ("at", "zone", "date"),
    [
        ("2024-03-01T23:30:00+00:00", "Europe/Berlin", "2024-03-02"),
        ("2024-03-01T23:30:00+00:00", "America/Los_Angeles", "2024-03-01"),
        ("2024-03-01T10:00:00+00:00", "Pacific/Kiritimati", "2024-03-02"),
        ("2024-03-01T10:00:00+00:00", "Pacific/Pago_Pago", "2024-02-29"),
        ("2024-03-31T00:30:00+00:00", "Europe/London", "2024-03-31"),
    ],
)
def test_an_instant_is_written_as_its_date_in_the_business_zone(
    at: str, zone: str, date: str
) -> None:
    codec = JiraDue(ZoneInfo(zone))
    assert codec.to_native(Due.instant(dt.datetime.fromisoformat(at))) == date
    assert codec.to_canonical(date) == Due.on(dt.date.fromisoformat(date))


@settings(max_examples=200, deadline=None)
@given(at=INSTANTS, zone=st.sampled_from(ZONES))
def test_any_instant_reads_back_as_the_date_it_falls_on(at: dt.datetime, zone: ZoneInfo) -> None:
    native = write_duedate(Due.instant(at), zone)
    assert native == at.astimezone(zone).date().isoformat()
    assert read_duedate(native) == Due.on(at.astimezone(zone).date())


@pytest.mark.parametrize(
    "native",
    [20240101, "20240101", "2024-1-1", "2024-02-30", "2024-01-01T00:00:00Z", " 2024-01-01", ["x"]],
)
def test_a_malformed_duedate_is_refused_naming_the_value(native: Json) -> None:
    with pytest.raises(ValueError, match="Jira duedate") as caught:
        JiraDue(ZoneInfo("UTC")).to_canonical(native)
    assert repr(native) in str(caught.value)
