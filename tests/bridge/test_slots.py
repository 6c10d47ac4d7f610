"""Worker slots: a slow tracker or a busy link gives the work back instead of taking a worker."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.conftest import TickingClock
from tests.world import World
from ticket_bridge.bridge.calls import Calls
from ticket_bridge.bridge.errors import Busy, Transient
from ticket_bridge.bridge.model import Field
from ticket_bridge.bridge.sightings import Sightings
from ticket_bridge.bridge.slots import Slots
from ticket_bridge.bridge.store import Store


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Answers:
    """Stands in for an adapter: ``wait`` blocks until released, ``fail`` fails transiently."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.go = threading.Event()

    def wait(self) -> str:
        self.inside.set()
        self.go.wait(5)
        return "answered"

    def fail(self) -> str:
        raise Transient("jira", "503")

    def quick(self) -> str:
        return "answered"


@contextmanager
def in_thread(fn: Callable[[], object]) -> Iterator[threading.Thread]:
    thread = threading.Thread(target=fn)
    thread.start()
    try:
        yield thread
    finally:
        thread.join(5)


def bound(slots: Slots, fn: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        with slots.bound():
            return fn()

    return run


def test_a_bound_thread_finding_every_slot_taken_is_told_at_once() -> None:
    slots = Slots(per_tracker=1, wait=0.05)
    calls = Answers()
    jira, zendesk = (
        Calls(calls, "jira", slots, Sightings(now)),
        Calls(calls, "zendesk", slots, Sightings(now)),
    )
    with in_thread(bound(slots, jira.wait)):
        assert calls.inside.wait(5)
        assert slots.full("jira")
        with slots.bound(), pytest.raises(Busy) as busy:
            jira.quick()
        assert busy.value.tracker == "jira"
        with slots.bound():
            assert zendesk.quick() == "answered", "another tracker's slots are its own"
        assert jira.quick() == "answered", "a thread that is not bound is never limited"
        calls.go.set()
    assert not slots.full("jira") and slots.taken("jira") == 0
    with slots.bound():
        assert jira.quick() == "answered"


def test_a_thread_retrying_a_tracker_keeps_its_slot_until_its_next_call() -> None:
    slots = Slots(per_tracker=1, wait=0.05)
    jira = Calls(Answers(), "jira", slots, Sightings(now))
    with slots.bound():
        with pytest.raises(Transient):
            jira.fail()
        assert slots.taken("jira") == 1, "sleeping out a retry still waits on jira"
        assert jira.quick() == "answered", "its own retry takes the slot it kept"
        assert slots.taken("jira") == 0
        with pytest.raises(Transient):
            jira.fail()
    assert slots.taken("jira") == 0, "leaving the bound block gives the kept slot back"


def test_attributes_that_are_not_calls_are_the_adapters_own() -> None:
    calls = Answers()
    called = Calls(calls, "jira", Slots(per_tracker=1), Sightings(now))
    assert called.inside is calls.inside


@pytest.fixture
def world(store: Store, clock: TickingClock) -> World:
    return World(store, clock)


def test_a_ticket_whose_link_is_in_other_hands_goes_back_untouched_until_it_is_free(
    world: World,
) -> None:
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.engine.slots.per_tracker = 2
    link = world.store.link_for("zendesk", ticket)
    assert link is not None
    world.zendesk.edit(ticket, priority="urgent")
    world.store.enqueue("zendesk", "d-1", ticket)
    held, free = threading.Event(), threading.Event()

    def reconciling() -> None:
        with world.engine.links.hold(link.key):
            held.set()
            free.wait(5)

    with in_thread(reconciling):
        assert held.wait(5)
        [claim] = world.engine.claim()
        before = sum(sum(t.calls.values()) for t in world.trackers.values())
        assert list(world.engine.settle(claim)) == []
        assert sum(sum(t.calls.values()) for t in world.trackers.values()) == before
        assert world.store.inbox_depth() == 1, "the delivery waits in the inbox"
        assert world.engine.claim() == [], "not again while the link is in other hands"
        assert world.engine.waiting()
        free.set()
    [again] = world.engine.claim()
    list(world.engine.settle(again))
    assert world.store.inbox_depth() == 0
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Highest"
