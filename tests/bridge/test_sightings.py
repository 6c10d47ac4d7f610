"""Sightings: a poll may skip a ticket only when nothing can hide behind its stamp."""

from __future__ import annotations

import datetime as dt

from tests.conftest import TickingClock
from ticket_bridge.bridge.adapter import NativeTicket
from ticket_bridge.bridge.sightings import Sightings

STAMP = dt.datetime(2026, 11, 2, 9, 0, 0, tzinfo=dt.UTC)


def ticket(ticket_id: str, updated: dt.datetime) -> NativeTicket:
    return NativeTicket(id=ticket_id, fields={}, updated_at=updated, kind=None)


def test_a_ticket_seen_well_after_its_stamp_is_unchanged_at_that_stamp_only() -> None:
    clock = TickingClock(STAMP + dt.timedelta(seconds=5))
    sightings = Sightings(clock)
    sightings.saw("zendesk", ticket("1", STAMP))
    assert sightings.unchanged("zendesk", "1", STAMP)
    assert not sightings.unchanged("zendesk", "1", STAMP + dt.timedelta(seconds=1))
    assert not sightings.unchanged("jira", "1", STAMP), "another tracker's ticket 1"
    assert not sightings.unchanged("zendesk", "2", STAMP), "never seen"


def test_a_ticket_seen_within_its_whole_second_stamp_may_hide_a_second_change() -> None:
    sightings = Sightings(TickingClock(STAMP + dt.timedelta(milliseconds=400)))
    sightings.saw("zendesk", ticket("1", STAMP))
    assert not sightings.unchanged("zendesk", "1", STAMP)


def test_only_the_latest_sightings_are_kept() -> None:
    sightings = Sightings(TickingClock(STAMP + dt.timedelta(seconds=5)), kept=2)
    for n in range(3):
        sightings.saw("zendesk", ticket(str(n), STAMP))
    assert not sightings.unchanged("zendesk", "0", STAMP), "the oldest was forgotten"
    assert sightings.unchanged("zendesk", "2", STAMP)


def test_a_stamp_with_milliseconds_names_one_version_at_once() -> None:
    precise = STAMP + dt.timedelta(milliseconds=432)
    sightings = Sightings(TickingClock(precise + dt.timedelta(milliseconds=3)))
    sightings.saw("jira", ticket("10001", precise))
    assert sightings.unchanged("jira", "10001", precise)
    assert not sightings.unchanged("jira", "10001", precise + dt.timedelta(milliseconds=1))
