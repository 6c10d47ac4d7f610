"""The canonical model refuses what it must: naive datetimes, unknown keys, half-made due dates."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ticket_bridge.bridge.model import Due, Person, Ref, Ticket


def test_a_due_date_is_a_calendar_date_or_an_instant_never_both_nor_neither() -> None:
    assert str(Due.on(dt.date(2026, 12, 1))) == "2026-12-01"
    with pytest.raises(ValidationError):
        Due()
    with pytest.raises(ValidationError):
        Due(date=dt.date(2026, 12, 1), at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def test_a_due_instant_must_be_aware_and_is_kept_in_utc() -> None:
    with pytest.raises(ValueError, match="naive"):
        Due.instant(dt.datetime(2026, 12, 1, 9, 0))
    with pytest.raises(ValidationError):
        Due(at=dt.datetime(2026, 12, 1, 9, 0))
    due = Due.instant(dt.datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Europe/Paris")))
    assert due.at == dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    assert due.at is not None and due.at.utcoffset() == dt.timedelta(0)
    assert str(due) == "2026-12-01T08:00:00Z"


def test_a_datetime_is_not_a_calendar_date() -> None:
    with pytest.raises(TypeError):
        Due.on(dt.datetime(2026, 12, 1, tzinfo=dt.UTC))


def test_canonical_values_are_frozen_and_strict() -> None:
    ticket = Ticket(title="x")
    with pytest.raises(ValidationError):
        ticket.title = "y"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Ticket(title="x", colour="blue")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Person(name="x", phone="1")  # type: ignore[call-arg]


def test_refs_are_written_tracker_colon_id() -> None:
    ref = Ref.parse("jira:ENG-7")
    assert (ref.tracker, ref.id, str(ref)) == ("jira", "ENG-7", "jira:ENG-7")
    assert Ref.parse("clickup:86a:x").id == "86a:x"
    with pytest.raises(ValueError, match="TRACKER:ID"):
        Ref.parse("ENG-7")
