"""The engine around the reconciler: feeds, cursors, the inbox, passes to quiescence."""

from __future__ import annotations

import pytest

from tests.conftest import TickingClock
from tests.world import World
from ticket_bridge.adapters.memory import webhooks
from ticket_bridge.bridge.events import CursorCommitted, PassFinished, PollFailed
from ticket_bridge.bridge.model import Field
from ticket_bridge.bridge.store import Store


@pytest.fixture
def world(store: Store, clock: TickingClock) -> World:
    return World(store, clock)


def test_a_cursor_is_committed_only_after_a_clean_pass(world: World) -> None:
    world.settle()
    before = world.store.cursor("zendesk")
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.trackers["zendesk"].inject("read", "transient", ticket_id=ticket)
    world.trackers["zendesk"].inject("read", "transient", ticket_id=ticket)
    world.trackers["zendesk"].inject("read", "transient", ticket_id=ticket)
    world.trackers["zendesk"].inject("read", "transient", ticket_id=ticket)
    events = list(world.engine.poll("zendesk"))
    assert any(isinstance(e, PollFailed) for e in events)
    assert world.store.cursor("zendesk") == before, "the unread ticket will be polled again"
    events = list(world.engine.poll("zendesk"))
    assert any(isinstance(e, CursorCommitted) for e in events)
    world.counterpart("jira", f"zendesk:{ticket}")


def test_a_ticket_deleted_before_it_was_read_does_not_block_the_feed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = world.zendesk.open_ticket("Spam", kind="incident", status="new")
    del world.zendesk.tickets[ticket]
    monkeypatch.setattr(world.zendesk, "api_changes", lambda after: ([ticket], after + 1))
    events = list(world.engine.poll("zendesk"))
    assert not any(isinstance(e, PollFailed) for e in events)
    assert any(isinstance(e, CursorCommitted) for e in events)


def test_webhook_hints_in_the_inbox_are_reconciled_and_settled(world: World) -> None:
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.zendesk.edit(ticket, priority="urgent")
    secret = world.engine.adapters["zendesk"].config.webhook_secret  # type: ignore[attr-defined]
    headers, body = webhooks.deliver(secret, "delivery-9", ticket)
    for hint in world.engine.adapters["zendesk"].parse_webhook(headers, body):
        assert world.store.enqueue(hint.tracker, hint.delivery_id, hint.ticket_id)
        assert not world.store.enqueue(hint.tracker, hint.delivery_id, hint.ticket_id)
    list(world.engine.drain_inbox())
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Highest"
    assert world.store.inbox_depth() == 0


def test_unrouted_tickets_are_left_alone(world: World) -> None:
    world.zendesk.open_ticket("Internal task", kind="task", status="new")
    events = world.settle()
    assert world.jira.tickets == {} and world.clickup.tickets == {}
    assert world.store.links() == []
    assert isinstance(events[-1], PassFinished) and events[-1].writes == 0


def test_a_quiet_pass_reads_only_the_feeds(world: World) -> None:
    for n in range(5):
        world.zendesk.open_ticket(f"Ticket {n}", kind="incident", status="new")
    world.settle()
    calls = {name: dict(t.calls) for name, t in world.trackers.items()}
    list(world.engine.run_pass())
    for name, tracker in world.trackers.items():
        extra = {op: n - calls[name].get(op, 0) for op, n in tracker.calls.items()}
        assert {op: n for op, n in extra.items() if n} == {"changes": 1}, name
