"""Seed 004's lifecycle timers, applied by the engine: each fires once per stay in a status."""

from __future__ import annotations

import pytest

from tests.conftest import TickingClock
from tests.world import CUSTOMER, World
from ticket_bridge.bridge.comments import mirror_of
from ticket_bridge.bridge.events import PolicyApplied
from ticket_bridge.bridge.lifecycle import LifecyclePolicies
from ticket_bridge.bridge.model import Field
from ticket_bridge.bridge.store import Store

SEED_004 = LifecyclePolicies()
HOUR = 3600


@pytest.fixture
def world(store: Store, clock: TickingClock) -> World:
    return World(store, clock)


def waiting_on_the_requester(world: World) -> str:
    ticket = world.zendesk.open_ticket("Export fails", kind="incident", status="new")
    world.settle()
    world.zendesk.edit(ticket, status="pending")
    world.settle()
    return ticket


def fired(world: World) -> list[PolicyApplied]:
    return [e for e in world.engine.apply_policies(SEED_004) if isinstance(e, PolicyApplied)]


def reminders(world: World, ticket: str) -> list[str]:
    return [
        c.body
        for c in world.zendesk.tickets[ticket].comments
        if c.public and (mirror_of(c.body) or "").startswith("policy:")
    ]


def test_reminders_at_24_hours_and_5_days_then_closed_after_7_days(world: World) -> None:
    ticket = waiting_on_the_requester(world)
    assert fired(world) == []
    world.clock.advance(24 * HOUR)
    assert [e.policy for e in fired(world)] == ["reminder-first"]
    assert fired(world) == [], "once per stay"
    assert len(reminders(world, ticket)) == 1
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    assert not any("waiting for your answer" in c.body for c in jira.comments), (
        "only the requester's tracker"
    )
    world.clock.advance(4 * 24 * HOUR)
    assert [e.policy for e in fired(world)] == ["reminder-second"]
    world.clock.advance(2 * 24 * HOUR)
    events = fired(world)
    assert [(e.policy, e.status) for e in events] == [("auto-close-no-response", "closed")]
    assert world.zendesk.tickets[ticket].fields[Field.STATUS] == "closed"
    assert world.jira.tickets[jira.id].fields[Field.STATUS] == "Done"
    assert len(reminders(world, ticket)) == 2
    assert world.settle()[-1].writes == 0  # type: ignore[union-attr]


def test_an_answer_stops_the_timers_and_a_new_wait_starts_them_again(world: World) -> None:
    ticket = waiting_on_the_requester(world)
    world.clock.advance(24 * HOUR)
    assert [e.policy for e in fired(world)] == ["reminder-first"]
    world.zendesk.comment(ticket, CUSTOMER, "Here is the file.", public=True)
    world.zendesk.edit(ticket, status="open")
    world.settle()
    world.clock.advance(10 * 24 * HOUR)
    assert fired(world) == [], "no timers run in acknowledged"
    world.zendesk.edit(ticket, status="pending")
    world.settle()
    world.clock.advance(24 * HOUR + 60)
    assert [e.policy for e in fired(world)] == ["reminder-first"], "a new stay, a new reminder"


def test_resolved_closes_after_24_hours(world: World) -> None:
    ticket = world.zendesk.open_ticket("Invoice question", kind="question", status="new")
    world.settle()
    world.zendesk.edit(ticket, status="solved")
    world.settle()
    world.clock.advance(23 * HOUR)
    assert fired(world) == []
    world.clock.advance(2 * HOUR)
    assert [(e.policy, e.status) for e in fired(world)] == [("close-resolved", "closed")]
    assert world.zendesk.tickets[ticket].fields[Field.STATUS] == "closed"


def test_disabled_policies_do_nothing(world: World) -> None:
    waiting_on_the_requester(world)
    world.clock.advance(30 * 24 * HOUR)
    events = list(world.engine.apply_policies(LifecyclePolicies.disabled()))
    assert events == []
