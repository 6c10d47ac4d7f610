"""ClickUp due dates: date-only at 04:00 in the setter's zone, instants to the millisecond."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.adapters.clickup.conftest import MakeAdapter
from tests.adapters.zones import DATES, ZONES, exists_in
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.clickup.translate import ClickUpDue, read_due_date, write_due_date
from ticket_bridge.bridge.model import Due, Field, Json
from ticket_bridge.bridge.translation import DueCodec

INSTANTS = st.datetimes(
    min_value=dt.datetime(1900, 1, 2),
    max_value=dt.datetime(2199, 12, 30),
    timezones=st.just(dt.UTC),
)
BUSINESS = ZoneInfo("Europe/Berlin")


def set_in_clickup(day: dt.date, setter: ZoneInfo) -> dict[str, Json]:
    """What a task response holds after a user in ``setter`` picked ``day`` without a time."""
    four_am = dt.datetime.combine(day, dt.time(4), tzinfo=setter)
    return {"due_date": str(int(four_am.timestamp()) * 1000), "due_date_time": False}


def test_clickup_due_is_a_due_codec() -> None:
    codec: DueCodec = ClickUpDue(BUSINESS)
    assert codec.to_native(None) is None
    assert codec.to_canonical(None) is None
    assert codec.to_canonical({"due_date": None, "due_date_time": False}) is None


@settings(max_examples=120, deadline=None)
@given(day=DATES)
@example(day=dt.date(2024, 3, 10))
@example(day=dt.date(2024, 3, 31))
@example(day=dt.date(2024, 10, 27))
@example(day=dt.date(2024, 11, 3))
@example(day=dt.date(2011, 12, 31))
@example(day=dt.date(1969, 12, 31))
def test_a_calendar_date_survives_clickup_in_every_zone(day: dt.date) -> None:
    for zone in ZONES:
        if not exists_in(day, zone):
            continue
        codec = ClickUpDue(zone)
        native = codec.to_native(Due.on(day))
        assert isinstance(native, dict)
        assert native["due_date_time"] is False
        assert codec.to_canonical(native) == Due.on(day), (zone.key, native)
        assert codec.to_canonical({**native, "due_date": str(native["due_date"])}) == Due.on(day)


@settings(max_examples=120, deadline=None)
@given(day=DATES)
@example(day=dt.date(2024, 3, 31))
@example(day=dt.date(2024, 11, 3))
def test_a_date_set_in_clickup_is_read_in_the_setters_zone_for_every_setter(day: dt.date) -> None:
    codec = ClickUpDue(BUSINESS)
    for setter in ZONES:
        if not exists_in(day, setter):
            continue
        native = set_in_clickup(day, setter)
        assert codec.to_canonical(native, setter_zone=setter) == Due.on(day), setter.key
        without_flag = {"due_date": native["due_date"]}
        assert codec.to_canonical(without_flag, setter_zone=setter) == Due.on(day), setter.key


def test_a_date_is_written_at_four_in_the_morning_local_time() -> None:
    native = write_due_date(Due.on(dt.date(2024, 7, 1)), BUSINESS)
    assert native == {"due_date": 1719799200000, "due_date_time": False}
    assert read_due_date(native, BUSINESS) == Due.on(dt.date(2024, 7, 1))


def test_reading_a_date_in_the_wrong_zone_can_shift_it() -> None:
    """Why the setter's zone matters: 04:00 in Kiritimati (UTC+14) is the previous day in UTC."""
    native = set_in_clickup(dt.date(2024, 7, 1), ZoneInfo("Pacific/Kiritimati"))
    assert read_due_date(native, ZoneInfo("UTC")) == Due.on(dt.date(2024, 6, 30))
    assert read_due_date(native, ZoneInfo("Pacific/Kiritimati")) == Due.on(dt.date(2024, 7, 1))


@settings(max_examples=300, deadline=None)
@given(
    at=INSTANTS.map(lambda at: at.replace(microsecond=at.microsecond // 1000 * 1000)),
    zone=st.sampled_from(ZONES),
    setter=st.sampled_from(ZONES),
)
def test_an_instant_survives_clickup_to_the_millisecond(
    at: dt.datetime, zone: ZoneInfo, setter: ZoneInfo
) -> None:
    codec = ClickUpDue(zone)
    native = codec.to_native(Due.instant(at))
    assert native == {"due_date": round(at.timestamp() * 1000), "due_date_time": True}
    assert codec.to_canonical(native, setter_zone=setter) == Due.instant(at)
    assert isinstance(native, dict)
    as_sent: Json = {"due_date": str(native["due_date"]), "due_date_time": True}
    assert codec.to_canonical(as_sent) == Due.instant(at)


def test_the_spec_example_reads() -> None:
    native: Json = {"due_date": "1567780450202", "due_date_time": True}
    at = dt.datetime(2019, 9, 6, 14, 34, 10, 202_000, tzinfo=dt.UTC)
    assert read_due_date(native, BUSINESS) == Due.instant(at)


@pytest.mark.parametrize(
    "native",
    [
        "1567780450202",
        1567780450202,
        ["x"],
        {"due_date": "soon", "due_date_time": False},
        {"due_date": True, "due_date_time": False},
        {"due_date": 1.5, "due_date_time": False},
        {"due_date": "--15", "due_date_time": False},
        {"due_date": "¹²", "due_date_time": False},
        {"due_date": "1567780450202", "due_date_time": "yes"},
    ],
)
def test_a_malformed_due_date_is_refused_naming_the_value(native: Json) -> None:
    with pytest.raises(ValueError, match="ClickUp due") as caught:
        ClickUpDue(BUSINESS).to_canonical(native)
    assert repr(native) in str(caught.value)


SAMPLE_ZONES = [
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Europe/Berlin",
    "America/Los_Angeles",
    "Pacific/Apia",
]


@pytest.mark.parametrize("zone", SAMPLE_ZONES)
def test_a_calendar_date_survives_the_fake_over_http(
    zone: str, fake: FakeClickUp, make_adapter: MakeAdapter
) -> None:
    """Written by the bridge in the Workspace zone, and set by a member in that zone in the UI."""
    adapter = make_adapter(time_zone=zone)
    t = adapter.translation
    member = fake.add_member("Local Member", f"member@{zone.replace('/', '.').lower()}", zone)
    for day in (dt.date(2024, 3, 31), dt.date(2024, 10, 27), dt.date(2026, 1, 1)):
        task = fake.open_task("due")
        after = adapter.update(task, {Field.DUE: t.to_native(Field.DUE, Due.on(day), None)})
        assert t.to_canonical(Field.DUE, after.fields[Field.DUE], None) == Due.on(day)
        fake.set_due_date(task, day, by=member)
        read = adapter.read(task).fields[Field.DUE]
        assert t.to_canonical(Field.DUE, read, None) == Due.on(day), (zone, day, read)


def test_the_translation_reads_unmapped_statuses_by_type() -> None:
    from ticket_bridge.adapters.clickup.config import StatusFallback
    from ticket_bridge.adapters.clickup.payloads import TaskStatus
    from ticket_bridge.adapters.clickup.translate import ClickUpTranslation
    from ticket_bridge.bridge.errors import UnknownNativeValue
    from ticket_bridge.bridge.mapping import load_mapping
    from ticket_bridge.bridge.model import Status

    t = ClickUpTranslation(
        "clickup", load_mapping("seed000-clickup-support"), ClickUpDue(BUSINESS), StatusFallback()
    )
    t.learn_list(
        [
            TaskStatus(status="open", type="open", orderindex=0),
            TaskStatus(status="waiting on vendor", type="custom", orderindex=1),
            TaskStatus(status="resolved", type="done", orderindex=2),
        ]
    )
    assert t.to_canonical(Field.STATUS, "Open", None) is Status.NEW
    assert t.to_canonical(Field.STATUS, "waiting on vendor", None) is Status.IN_PROGRESS
    assert t.to_canonical(Field.STATUS, "waiting on vendor", Status.ON_HOLD) is Status.ON_HOLD
    assert t.to_native(Field.STATUS, Status.ON_HOLD, None) == "waiting on vendor"
    assert t.to_native(Field.STATUS, Status.RESOLVED, "waiting on vendor") == "resolved"
    with pytest.raises(UnknownNativeValue):
        t.to_canonical(Field.STATUS, "never seen", None)
