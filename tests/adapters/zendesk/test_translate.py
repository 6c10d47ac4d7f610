"""Zendesk due dates: a date survives noon-anchoring in every zone; instants to the second."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tests.adapters.zones import DATES, ZONES, exists_in
from ticket_bridge.adapters.zendesk.translate import ZendeskDue, read_due_at, write_due_at
from ticket_bridge.bridge.model import Due, Json
from ticket_bridge.bridge.translation import DueCodec

INSTANTS = st.datetimes(
    min_value=dt.datetime(1900, 1, 2),
    max_value=dt.datetime(2199, 12, 30),
    timezones=st.just(dt.UTC),
)


def stands_for_a_date(at: dt.datetime, zone: ZoneInfo) -> bool:
    """The one instant a day that holds a calendar date: its local noon (before any gap)."""
    local = at.astimezone(zone)
    noon = dt.datetime.combine(local.date(), dt.time(12), tzinfo=zone)
    return local.time() == dt.time(12) or noon.astimezone(dt.UTC) == at


def test_zendesk_due_is_a_due_codec() -> None:
    codec: DueCodec = ZendeskDue(ZoneInfo("Europe/Berlin"))
    assert codec.to_native(None) is None
    assert codec.to_canonical(None) is None
    assert codec.to_canonical("") is None


@settings(max_examples=200, deadline=None)
@given(day=DATES)
@example(day=dt.date(2024, 3, 10))
@example(day=dt.date(2024, 3, 31))
@example(day=dt.date(2024, 10, 27))
@example(day=dt.date(2024, 11, 3))
@example(day=dt.date(2011, 12, 29))
@example(day=dt.date(2011, 12, 31))
@example(day=dt.date(1993, 8, 21))
@example(day=dt.date(1994, 12, 31))
def test_a_calendar_date_survives_zendesk_in_every_zone(day: dt.date) -> None:
    for zone in ZONES:
        if not exists_in(day, zone):
            continue
        codec = ZendeskDue(zone)
        native = codec.to_native(Due.on(day))
        assert isinstance(native, str)
        assert native.endswith("Z")
        assert codec.to_canonical(native) == Due.on(day), (zone.key, native)


def test_a_date_is_written_as_local_noon_in_utc() -> None:
    assert (
        write_due_at(Due.on(dt.date(2024, 7, 1)), ZoneInfo("Europe/Berlin"))
        == "2024-07-01T10:00:00Z"
    )
    assert (
        write_due_at(Due.on(dt.date(2024, 1, 1)), ZoneInfo("Pacific/Kiritimati"))
        == "2023-12-31T22:00:00Z"
    )
    assert read_due_at("2023-12-31T22:00:00Z", ZoneInfo("Pacific/Kiritimati")) == Due.on(
        dt.date(2024, 1, 1)
    )


def test_a_day_the_zone_skipped_comes_back_as_the_next_day() -> None:
    apia = ZoneInfo("Pacific/Apia")
    assert not exists_in(dt.date(2011, 12, 30), apia)
    native = write_due_at(Due.on(dt.date(2011, 12, 30)), apia)
    assert read_due_at(native, apia) == Due.on(dt.date(2011, 12, 31))


@settings(max_examples=300, deadline=None)
@given(at=INSTANTS.map(lambda at: at.replace(microsecond=0)), zone=st.sampled_from(ZONES))
def test_an_instant_survives_zendesk_to_the_second(at: dt.datetime, zone: ZoneInfo) -> None:
    assume(not stands_for_a_date(at, zone))
    codec = ZendeskDue(zone)
    native = codec.to_native(Due.instant(at))
    assert native == at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert codec.to_canonical(native) == Due.instant(at)


def test_an_instant_at_local_noon_reads_as_that_date() -> None:
    """The price of noon-anchoring: Zendesk cannot tell a date from an instant at exactly noon."""
    berlin = ZoneInfo("Europe/Berlin")
    assert read_due_at("2024-07-01T10:00:00Z", berlin) == Due.on(dt.date(2024, 7, 1))
    assert read_due_at("2024-07-01T10:00:01Z", berlin) == Due.instant(
        dt.datetime(2024, 7, 1, 10, 0, 1, tzinfo=dt.UTC)
    )


def test_sub_second_instants_are_written_to_the_second() -> None:
    at = dt.datetime(2024, 7, 1, 8, 15, 30, 999_999, tzinfo=dt.UTC)
    assert write_due_at(Due.instant(at), ZoneInfo("UTC")) == "2024-07-01T08:15:30Z"


def test_an_offset_instant_is_read_in_utc() -> None:
    due = read_due_at("2024-07-01T08:15:30+02:00", ZoneInfo("Asia/Tokyo"))
    assert due == Due.instant(dt.datetime(2024, 7, 1, 6, 15, 30, tzinfo=dt.UTC))


@pytest.mark.parametrize(
    "native",
    [
        42,
        "tomorrow",
        "2024-07-01T10:00:00",
        "2024-07-01",
        "2024-13-01T00:00:00Z",
        ["x"],
        {"due_at": 1},
    ],
)
def test_a_malformed_due_at_is_refused_naming_the_value(native: Json) -> None:
    with pytest.raises(ValueError, match="Zendesk due_at") as caught:
        ZendeskDue(ZoneInfo("UTC")).to_canonical(native)
    assert repr(native) in str(caught.value)
