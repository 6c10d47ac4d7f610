"""The engine around the reconciler: feeds, cursors, the inbox, passes to quiescence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tests.conftest import TickingClock
from tests.world import AGENT, CUSTOMER, World
from ticket_bridge.adapters.memory import webhooks
from ticket_bridge.adapters.memory.fake import SimulatedCrash
from ticket_bridge.bridge import engine as engine_module
from ticket_bridge.bridge.adapter import Changes, Scope
from ticket_bridge.bridge.agreement import link_disagreements
from ticket_bridge.bridge.errors import Transient
from ticket_bridge.bridge.events import (
    WRITES,
    CursorCommitted,
    LinkFailed,
    PassFinished,
    PollFailed,
    SweepFinished,
    SweepPaused,
)
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


def test_a_claimed_ticket_is_not_handed_out_twice_and_its_later_deliveries_wait_for_it(
    world: World,
) -> None:
    first, second = (world.zendesk.open_ticket(f"T{n}", kind="incident") for n in range(2))
    world.settle()
    world.store.enqueue("zendesk", "d-1", first)
    [claim] = world.engine.claim()
    world.store.enqueue("zendesk", "d-2", first)
    world.store.enqueue("zendesk", "d-3", second)
    assert [c.ticket_id for c in world.engine.claim()] == [second], "d-2 waits for d-1's claim"
    assert world.engine.claim() == []
    list(world.engine.settle(claim))
    [again] = world.engine.claim()
    assert [i.delivery_id for i in again.items] == ["d-2"]


def test_a_claim_holds_a_ticket_that_could_not_be_read(world: World) -> None:
    tickets = [world.zendesk.open_ticket(f"T{n}", kind="incident") for n in range(2)]
    for n, ticket in enumerate(tickets):
        world.store.enqueue("zendesk", f"z-{n}", ticket)
    [taken] = world.engine.claim(1)
    for _ in range(4):
        world.zendesk.inject("read", "transient", ticket_id=taken.ticket_id)
    events = list(world.engine.settle(taken, hold=60))
    assert any(isinstance(e, PollFailed) for e in events)
    assert [c.ticket_id for c in world.engine.claim()] == [tickets[1]], "the unread one is held"
    assert world.store.inbox_depth() == 2, "the unread ticket's delivery stays in the inbox"


def calls(world: World) -> dict[str, int]:
    return {name: sum(t.calls.values()) for name, t in world.trackers.items()}


def test_the_echo_of_our_own_write_costs_two_reads_and_writes_nothing(world: World) -> None:
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.zendesk.comment(ticket, CUSTOMER, "It is still broken", public=True)
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.zendesk.edit(ticket, priority="urgent")
    world.store.enqueue("zendesk", "d-change", ticket)
    list(world.engine.drain_inbox())
    assert jira.fields[Field.PRIORITY] == "Highest"

    before = calls(world)
    world.store.enqueue("jira", "d-echo", jira.id)  # Jira's webhook about our write
    events = list(world.engine.drain_inbox())
    spent = {name: n - before[name] for name, n in calls(world).items()}
    assert spent == {"zendesk": 0, "jira": 2, "clickup": 0}, "the ticket and its comments"
    assert [e.event for e in events] == ["hint_settled"]


def test_a_real_change_behind_a_hint_is_reconciled_in_full(world: World) -> None:
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.comment(jira.id, AGENT, "Found it", public=False)
    world.store.enqueue("jira", "d-comment", jira.id)
    list(world.engine.drain_inbox())
    zendesk = world.zendesk.tickets[ticket]
    assert [(c.public, "Found it" in c.body) for c in zendesk.comments] == [(False, True)]


def test_a_link_left_half_written_by_a_crash_is_finished_by_the_next_hint(
    world: World,
) -> None:
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.zendesk.edit(ticket, priority="urgent")
    world.clickup.inject("update", "crash_after_write")  # refs go in order: Jira is never written
    world.store.enqueue("zendesk", "d-1", ticket)
    with pytest.raises(SimulatedCrash):
        list(world.engine.drain_inbox())
    world.restart()
    link = world.store.link_for("zendesk", ticket)
    assert link is not None
    assert link_disagreements(link, world.store, world.adapters, world.policy)
    # The hint the crash interrupted is still in the inbox. A merge is kept only after its
    # writes, so the store still holds the link as it was, and ClickUp's write went unrecorded:
    # the hint's write to ClickUp meets a ticket that moved on since its base, and the merge
    # again from fresh reads finds both changes at one value and makes the write cut off.
    assert world.store.inbox_depth() == 1
    list(world.engine.drain_inbox())
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Highest"
    link = world.store.link_for("zendesk", ticket)
    assert link is not None
    assert link_disagreements(link, world.store, world.adapters, world.policy) == []
    assert world.store.conflicts() == [], "one value on both sides is no conflict"


def test_links_waiting_out_an_outage_are_retried_as_soon_as_the_tracker_answers(
    world: World,
) -> None:
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.zendesk.edit(ticket, priority="urgent")
    for _ in range(4):
        world.jira.inject("update", "transient")
    events = list(world.engine.sync_ticket("zendesk", ticket))
    [failed] = [e for e in events if e.event == "link_failed"]
    assert failed.retry_at > world.clock.now
    for _ in range(4):  # every attempt of the call
        world.jira.inject("changes", "transient")
    assert [e.event for e in world.engine.poll("jira")] == ["poll_failed"]
    recovered = list(world.engine.poll("jira"))
    assert [e.event for e in recovered][:1] == ["tracker_recovered"]
    list(world.engine.retry_due())
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    assert jira.fields[Field.PRIORITY] == "Highest"


def test_a_poll_skips_a_ticket_whose_feed_stamp_it_has_seen_and_reads_a_changed_one(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Feeds that look back name the same tickets every poll; their stamps save the reads."""
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    adapter = world.engine.adapters["zendesk"]

    def lookback(cursor: str | None) -> Changes:
        stamp = world.zendesk.tickets[ticket].updated_at
        return Changes(ids=(ticket,), cursor="same", stamps={ticket: stamp})

    monkeypatch.setattr(adapter, "changes", lookback)

    def reads() -> int:
        return world.zendesk.calls["read"]

    before = reads()
    list(world.engine.poll("zendesk"))
    list(world.engine.poll("zendesk"))
    assert reads() == before, "seen at that very stamp (milliseconds: one version): no read"
    world.zendesk.edit(ticket, priority="urgent")
    list(world.engine.poll("zendesk"))
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Highest"


def test_a_sweep_over_settled_links_reads_their_tickets_and_writes_nothing(world: World) -> None:
    tickets = [world.zendesk.open_ticket(f"T{n}", kind="incident", status="new") for n in range(3)]
    world.zendesk.comment(tickets[0], CUSTOMER, "Still broken", public=True)
    world.settle()
    before = {name: dict(t.calls) for name, t in world.trackers.items()}
    events = list(world.engine.sweep())
    assert not [e for e in events if isinstance(e, WRITES)]
    for name, tracker in world.trackers.items():
        extra = {op: n - before[name].get(op, 0) for op, n in tracker.calls.items()}
        assert {op: n for op, n in extra.items() if n} == {"read": 3, "comments": 3}, name


def test_a_sweeps_reads_are_no_sightings_and_a_workers_are(world: World) -> None:
    """Sightings keep the latest 20,000: a sweep's read of every quiet ticket would push out
    the ones deliveries and feeds will name, and cross to the receivers one message each."""
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    sightings: list[tuple[str, str]] = []
    world.engine.sightings.listeners.append(lambda t, i, *_: sightings.append((t, i)))
    list(world.engine.sweep())
    assert sightings == []
    world.zendesk.edit(ticket, priority="high")
    list(world.engine.sweep())  # the reads that found the change reconcile it, and its writes
    assert ("zendesk", ticket) not in sightings
    assert {t for t, _ in sightings} == {"jira", "clickup"}, "written back: seen"


def test_a_delivery_about_a_new_comment_reads_only_its_ticket_and_posts_the_mirrors(
    world: World,
) -> None:
    """A settled link is reconciled from the ticket the delivery names: the other tickets are
    taken to hold their bases, so mirroring a comment reads nothing of them."""
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.zendesk.comment(ticket, CUSTOMER, "Still broken", public=True)
    before = {name: dict(t.calls) for name, t in world.trackers.items()}
    world.store.enqueue("zendesk", "d-1", ticket)
    list(world.engine.drain_inbox())
    extra = {
        name: {
            op: n - before[name].get(op, 0)
            for op, n in t.calls.items()
            if n > before[name].get(op, 0)
        }
        for name, t in world.trackers.items()
    }
    assert extra == {
        "zendesk": {"read": 1, "comments": 1},
        "jira": {"add_comment": 1},
        "clickup": {"add_comment": 1},
    }


def test_a_sweep_brings_a_change_no_hint_announced(world: World) -> None:
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.zendesk.edit(ticket, priority="urgent")
    list(world.engine.sweep())
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Highest"


def test_a_sweep_reading_a_stale_page_reloads_the_link_and_reverts_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page read before another thread's writes: the tickets differ from its bases, so the
    link is loaded afresh, and the sweep finds everything in agreement."""
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    stale = world.store.link_page(0, 10)
    world.zendesk.edit(ticket, priority="urgent")
    world.settle()
    pages = iter([stale, []])
    monkeypatch.setattr(world.store, "link_page", lambda after, limit: next(pages))
    events = list(world.engine.sweep())
    assert not [e for e in events if isinstance(e, WRITES)], events
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Highest"
    assert world.zendesk.tickets[ticket].fields[Field.PRIORITY] == "urgent"


def _reads(world: World) -> dict[str, int]:
    return {name: tracker.calls.get("read", 0) for name, tracker in world.trackers.items()}


def test_a_sweep_cut_short_keeps_its_place_and_a_resumed_one_goes_on_from_there(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of two links: the place is kept per link gone over, not only per page."""
    monkeypatch.setattr(engine_module, "SWEEP_PAGE", 2)
    tickets = [world.zendesk.open_ticket(f"T{n}", kind="incident", status="new") for n in range(5)]
    world.settle()
    links = [world.store.link_for("zendesk", t) for t in tickets]
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    events = list(world.engine.sweep(stop))
    assert links[2] is not None
    assert events[-1] == SweepPaused(after_link=links[2].id, reason="stopping")
    assert world.store.cursor(engine_module.SWEEP_CURSOR)[0] == str(links[2].id)  # type: ignore[index]
    before = _reads(world)
    events = list(world.engine.sweep(resume=True))
    assert events[-1] == SweepFinished(links=2, reconciled=0)
    assert {n: r - before[n] for n, r in _reads(world).items()} == {
        "zendesk": 2,
        "jira": 2,
        "clickup": 2,
    }, "only the two links the first sweep had not gone over were read"
    assert world.store.cursor(engine_module.SWEEP_CURSOR)[0] == engine_module.SWEEP_DONE  # type: ignore[index]


def test_a_sweep_reconciles_from_what_it_read_without_reading_it_again(world: World) -> None:
    tickets = [world.zendesk.open_ticket(f"T{n}", kind="incident", status="new") for n in range(3)]
    world.settle()
    world.zendesk.edit(tickets[1], priority="urgent")  # a change no hint announced
    before = _reads(world)
    events = list(world.engine.sweep())
    assert events[-1] == SweepFinished(links=3, reconciled=1)
    assert world.counterpart("jira", f"zendesk:{tickets[1]}").fields[Field.PRIORITY] == "Highest"
    # One read of each ticket: the sweep stopped looking at Zendesk's, the first that differed,
    # and the reconcile read the other two (the memory trackers need no read before a write).
    assert {n: r - before[n] for n, r in _reads(world).items()} == {
        "zendesk": 3,
        "jira": 3,
        "clickup": 3,
    }


def test_a_sweep_pauses_while_a_tracker_is_down_instead_of_failing_every_link(
    world: World,
) -> None:
    tickets = [world.zendesk.open_ticket(f"T{n}", kind="incident", status="new") for n in range(4)]
    world.settle()
    jira = world.trackers["jira"]
    for _ in range(40):
        jira.inject("read", "transient")
    events = list(world.engine.sweep())
    failed = [e for e in events if isinstance(e, LinkFailed)]
    assert len(failed) == 1, "the outage is found on the first link; the rest wait for it"
    first = world.store.link_for("zendesk", tickets[0])
    assert first is not None and failed[0].link == first.key
    assert events[-1] == SweepPaused(after_link=first.id, reason="jira down")
    assert len(world.store.backing_off()) == 1
    jira.faults.clear()
    world.clock.advance(3600)
    list(world.engine.retry_due())  # the housekeeper's retry finds jira back
    assert not world.engine.down
    events = list(world.engine.sweep(resume=True))
    assert events[-1] == SweepFinished(links=len(tickets) - 1, reconciled=0)


def test_a_sweep_pauses_while_a_tracker_is_throttled_and_backs_no_link_off(
    world: World,
) -> None:
    """A rate limit longer than a call waits would fail every link after it, each with one
    more request, and bring them all back at once: the sweep waits for the tracker instead."""
    tickets = [world.zendesk.open_ticket(f"T{n}", kind="incident", status="new") for n in range(4)]
    world.settle()
    world.jira.inject("read", "rate_limited", 120.0)  # longer than a call sleeps (60 s)
    reads = world.jira.calls.get("read", 0)
    events = list(world.engine.sweep())
    assert not [e for e in events if isinstance(e, LinkFailed)]
    assert world.store.backing_off() == []
    assert world.jira.calls["read"] == reads + 1, "one throttled read, none after it"
    paused = events[-1]
    assert isinstance(paused, SweepPaused) and paused.after_link == 0
    assert paused.reason.startswith("jira rate-limited until ")
    events = list(world.engine.sweep(resume=True))
    assert isinstance(events[-1], SweepPaused), "still within its retry-after: no request"
    assert world.jira.calls["read"] == reads + 1
    world.clock.advance(121)
    events = list(world.engine.sweep(resume=True))
    assert events[-1] == SweepFinished(links=len(tickets), reconciled=0)


def test_a_sweep_is_due_an_interval_after_the_last_and_at_once_when_one_was_cut_short(
    world: World,
) -> None:
    world.zendesk.open_ticket("T", kind="incident", status="new")
    world.settle()
    day = dt.timedelta(days=1)
    first = world.clock()
    assert world.engine.sweep_due(day) >= first + day, "a new daemon does not sweep at start"
    world.clock.advance(60)
    assert list(world.engine.sweep(lambda: True))[-1].event == "sweep_paused"
    assert world.engine.sweep_due(day) <= world.clock(), "what was cut short goes on at once"
    list(world.engine.sweep(resume=True))
    ended = world.clock()
    assert ended - day <= world.engine.sweep_due(day) - day <= world.clock()


def test_deliveries_piling_up_for_a_held_ticket_never_crowd_out_another(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ticket that must wait (its tracker down, or busy) keeps collecting deliveries; the
    claim's window must still reach the deliveries behind them."""
    monkeypatch.setattr(engine_module, "PENDING_WINDOW", 3)
    waiting, other = (world.zendesk.open_ticket(f"T{n}", kind="incident") for n in range(2))
    world.store.enqueue("zendesk", "w-0", waiting)
    [claim] = world.engine.claim(1)
    for _ in range(4):
        world.zendesk.inject("read", "transient", ticket_id=waiting)
    list(world.engine.settle(claim, hold=60))
    for n in range(1, 6):
        world.store.enqueue("zendesk", f"w-{n}", waiting)
    world.store.enqueue("zendesk", "o-1", other)
    assert [c.ticket_id for c in world.engine.claim()] == [other]


def test_a_ticket_over_its_own_update_limit_waits_alone_and_nothing_sleeps(
    world: World,
) -> None:
    """Zendesk's 30 updates of one ticket in 10 minutes: that ticket's link waits the ten
    minutes out (no thread sleeps through them), and the other tickets go on syncing."""
    busy, quiet = (
        world.zendesk.open_ticket(f"T{n}", kind="incident", status="new") for n in range(2)
    )
    world.settle()
    jira_busy = world.counterpart("jira", f"zendesk:{busy}").id
    world.jira.edit(jira_busy, priority="Highest")
    world.zendesk.inject("update", "rate_limited", 594.0, ticket_id=busy)
    events = list(world.engine.drain_inbox()) + list(world.engine.poll("jira"))
    failed = [e for e in events if isinstance(e, LinkFailed)]
    assert [e.link for e in failed] == [f"zendesk:{busy}"]
    assert failed[0].retry_at >= world.clock.now + dt.timedelta(seconds=590)
    assert all(s < 60 for s in world.sleeps), "no thread slept through the ticket's ten minutes"
    world.zendesk.edit(quiet, priority="urgent")
    world.settle(max_passes=3)
    assert world.counterpart("jira", f"zendesk:{quiet}").fields[Field.PRIORITY] == "Highest"


def _calls_during(world: World, run: Callable[[], object]) -> dict[str, dict[str, int]]:
    """The calls each memory tracker answered while ``run`` ran, by operation."""
    before = {name: dict(t.calls) for name, t in world.trackers.items()}
    run()
    return {
        name: {
            op: n - before[name].get(op, 0)
            for op, n in t.calls.items()
            if n > before[name].get(op, 0)
        }
        for name, t in world.trackers.items()
    }


def test_a_delivery_about_a_field_reads_that_ticket_and_no_comments(world: World) -> None:
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.zendesk.edit(ticket, priority="urgent")
    world.store.enqueue("zendesk", "d-1", ticket, Scope.FIELDS)
    calls = _calls_during(world, lambda: list(world.engine.drain_inbox()))
    assert calls == {"zendesk": {"read": 1}, "jira": {"update": 1}, "clickup": {"update": 1}}
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Highest"


def test_deliveries_of_a_field_and_a_comment_coalesced_read_both(world: World) -> None:
    """A comment written with a status change raises two events; one claim covers both."""
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.zendesk.edit(ticket, priority="urgent")
    world.zendesk.comment(ticket, AGENT, "On it", public=True)
    world.store.enqueue("zendesk", "d-1", ticket, Scope.FIELDS)
    world.store.enqueue("zendesk", "d-2", ticket, Scope.COMMENTS)
    calls = _calls_during(world, lambda: list(world.engine.drain_inbox()))
    assert calls["zendesk"] == {"read": 1, "comments": 1}
    assert calls["jira"] == calls["clickup"] == {"update": 1, "add_comment": 1}


def test_a_field_delivery_for_a_link_a_crash_left_mid_mirror_reads_everything(
    world: World,
) -> None:
    """A crash after a mirror landed, before it was recorded: the store no longer finds the
    link settled (a comment not in every ticket), so whatever the next delivery says, the link
    is read in full, and the mirror is adopted by its marker, not posted again."""
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    world.zendesk.comment(ticket, CUSTOMER, "Still broken", public=True)
    world.jira.inject("add_comment", "crash_after_write")
    world.store.enqueue("zendesk", "d-1", ticket, Scope.COMMENTS)
    with pytest.raises(SimulatedCrash):
        list(world.engine.drain_inbox())
    world.restart()
    world.store.done([item.id for item in world.store.pending()])  # as if lost: no replay
    world.zendesk.edit(ticket, priority="urgent")
    world.store.enqueue("zendesk", "d-2", ticket, Scope.FIELDS)
    calls = _calls_during(world, lambda: list(world.engine.drain_inbox()))
    assert calls["jira"].get("comments") == 1, "the link is read in full"
    assert "add_comment" not in calls["jira"]
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    assert [c.body.count("Still broken") for c in jira.comments] == [1]
    assert jira.fields[Field.PRIORITY] == "Highest"
    clickup = world.counterpart("clickup", f"zendesk:{ticket}")
    assert [c.body.count("Still broken") for c in clickup.comments] == [1]


def test_a_throttled_link_waits_only_the_retry_after_and_is_never_dead_lettered(
    world: World,
) -> None:
    """A long 429 storm: each try comes back when the tracker said it may, not after an
    exponential backoff grown through the storm, and no number of 429s spends the link's
    attempts (throttling is the tracker's state, not the link's fault)."""
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    attempts = world.policy.retry.link_attempts
    for round_ in range(attempts + 2):
        world.zendesk.edit(ticket, priority="urgent" if round_ % 2 else "high")
        world.jira.inject("update", "rate_limited", 120.0)
        events = list(world.engine.sync_ticket("zendesk", ticket))
        assert not [e for e in events if e.event == "dead_lettered"]
        [failed] = [e for e in events if isinstance(e, LinkFailed)]
        wait = (failed.retry_at - world.clock.now).total_seconds()
        assert 119 < wait <= 120 + world.policy.retry.link_backoff_base
        world.clock.advance(wait)
    list(world.engine.retry_due())
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    assert jira.fields[Field.PRIORITY] == "Highest"
    assert world.store.backing_off() == [], "the first clean try clears the throttle"


def test_the_bridges_own_account_is_asked_at_each_poll_until_the_tracker_answers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known, the account turns echoes into deliveries that need no read; a tracker down at
    start is asked again at its next poll, and its poll goes on as it would have."""
    asked: list[str] = []
    answers: list[str | Exception] = [Transient("jira", "503 Service Unavailable"), "me-1"]

    def identify() -> str | None:
        answer = answers[len(asked)]
        asked.append("jira")
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(world.engine.adapters["jira"], "identify", identify)
    for _ in range(3):
        events = list(world.engine.poll("jira"))
        assert not any(isinstance(e, PollFailed) for e in events)
    assert asked == ["jira", "jira"], "asked again after the failure, never after the answer"
