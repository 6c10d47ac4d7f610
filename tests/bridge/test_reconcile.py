"""The reconciler on three memory trackers: merges, conflicts, writes, comments, creation, faults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from tests.conftest import TickingClock
from tests.world import AGENT, CUSTOMER, ROUTES, World
from ticket_bridge.adapters.memory.fake import SimulatedCrash
from ticket_bridge.bridge.adapter import NativeTicket
from ticket_bridge.bridge.agreement import disagreements
from ticket_bridge.bridge.events import (
    CommentEdited,
    CommentMirrored,
    CommentWithheld,
    ConflictSettled,
    CounterpartCreated,
    CounterpartWithheld,
    DeadLettered,
    FieldPropagated,
    LinkFailed,
    LinkParked,
)
from ticket_bridge.bridge.model import Field, Json, Person, Priority, Status
from ticket_bridge.bridge.policy import FieldPolicy, RetryPolicy, SyncPolicy
from ticket_bridge.bridge.store import Store

ENGINEER = Person(name="Kim Engineer", email="kim@eng.example.com")


@pytest.fixture
def world(store: Store, clock: TickingClock) -> World:
    return World(store, clock)


def outage(world: World) -> str:
    ticket = world.zendesk.open_ticket(
        "Checkout fails", kind="incident", status="new", priority="urgent", requester=CUSTOMER.email
    )
    world.settle()
    return ticket


def writes(events: Sequence[object]) -> list[object]:
    return [
        e for e in events if isinstance(e, FieldPropagated | CommentMirrored | CounterpartCreated)
    ]


def test_a_routed_ticket_gets_one_counterpart_in_each_target(world: World) -> None:
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    clickup = world.counterpart("clickup", f"zendesk:{ticket}")
    assert jira.fields[Field.STATUS] == "To Do"
    assert jira.fields[Field.PRIORITY] == "Highest"
    assert jira.kind == "Bug"
    assert clickup.fields[Field.STATUS] == "Open"
    assert clickup.fields[Field.PRIORITY] == "urgent"
    assert disagreements(world.store, world.adapters, world.policy) == []
    assert writes(world.settle()) == []


def test_an_echo_of_our_own_write_is_not_a_change(world: World) -> None:
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.edit(jira.id, priority="High")
    first = world.settle()
    assert sorted((e.target, e.new) for e in first if isinstance(e, FieldPropagated)) == [
        ("clickup", "high"),
        ("zendesk", "high"),
    ]
    # The writes above show up in every tracker's feed again: none of them is a change.
    world.zendesk.edit(ticket)  # touched, nothing changed
    assert writes(world.settle()) == []
    assert world.store.link_by_key(f"zendesk:{ticket}").canonical.priority is Priority.P2  # type: ignore[union-attr]


def test_lossy_mappings_do_not_flap(world: World) -> None:
    """Jira Lowest reads as P4 and leaves Low alone elsewhere; Zendesk open keeps in_progress."""
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.edit(jira.id, status="In Progress", priority="Lowest")
    world.settle()
    assert world.zendesk.tickets[ticket].fields[Field.STATUS] == "open"
    assert world.zendesk.tickets[ticket].fields[Field.PRIORITY] == "low"
    assert world.jira.tickets[jira.id].fields[Field.PRIORITY] == "Lowest"
    # Zendesk "open" represents in_progress, so touching it changes nothing in Jira.
    world.zendesk.edit(ticket, status="open")
    assert writes(world.settle()) == []
    link = world.store.link_by_key(f"zendesk:{ticket}")
    assert link is not None and link.canonical.status is Status.IN_PROGRESS


def test_concurrent_edits_are_settled_by_the_latest_update_and_recorded(world: World) -> None:
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.zendesk.edit(ticket, priority="low")
    world.jira.edit(jira.id, priority="High")  # later
    events = world.settle()
    conflicts = [e for e in events if isinstance(e, ConflictSettled)]
    assert len(conflicts) == 1
    assert conflicts[0].winner == "jira" and conflicts[0].policy == "latest"
    assert conflicts[0].candidates == {"jira": "P2", "zendesk": "P4"}
    assert world.zendesk.tickets[ticket].fields[Field.PRIORITY] == "high"
    [row] = world.store.conflicts()
    assert row.field == "priority" and row.winner == "jira"
    assert disagreements(world.store, world.adapters, world.policy) == []


def test_an_owner_wins_its_field_whenever_it_changed(store: Store, clock: TickingClock) -> None:
    policy = SyncPolicy(routes=ROUTES, fields={Field.PRIORITY: FieldPolicy(owner="zendesk")})
    world = World(store, clock, policy=policy)
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.zendesk.edit(ticket, priority="low")
    world.jira.edit(jira.id, priority="High")  # later, but zendesk owns priority
    events = world.settle()
    [conflict] = [e for e in events if isinstance(e, ConflictSettled)]
    assert conflict.winner == "zendesk" and conflict.policy == "owner:zendesk"
    assert world.jira.tickets[jira.id].fields[Field.PRIORITY] == "Low"


def test_every_propagated_change_is_audited_with_its_reason(world: World) -> None:
    ticket = outage(world)
    clickup = world.counterpart("clickup", f"zendesk:{ticket}")
    world.clickup.edit(clickup.id, status="Planned", due="2026-12-24")
    world.settle()
    link = world.store.link_by_key(f"zendesk:{ticket}")
    assert link is not None
    rows = world.store.audit(link.id, "status")
    decided = [r for r in rows if r.source == "clickup"]
    assert decided and decided[0].old == "new" and decided[0].new == "planned"
    assert decided[0].reason == "changed in clickup"
    written = {r.target: r.new for r in rows if r.target is not None}
    assert written == {"zendesk": "open"}, "Jira's To Do already represents planned"
    assert world.zendesk.tickets[ticket].fields[Field.DUE] == "2026-12-24"


def test_a_crash_between_a_write_and_its_base_repeats_nothing(world: World) -> None:
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.edit(jira.id, priority="High")
    world.trackers["zendesk"].inject("update", "crash_after_write")
    with pytest.raises(SimulatedCrash):
        world.settle()
    world.restart()
    updates_before = world.zendesk.calls["update"]
    world.settle()
    assert world.zendesk.calls["update"] == updates_before, "the landed write was not repeated"
    assert world.clickup.tickets[next(iter(world.clickup.tickets))].fields[Field.PRIORITY] == "high"
    assert disagreements(world.store, world.adapters, world.policy) == []


def test_a_crash_after_create_does_not_duplicate_the_counterpart(world: World) -> None:
    world.trackers["jira"].inject("create", "crash_after_write")
    ticket = world.zendesk.open_ticket("Refund not received", kind="incident", status="new")
    with pytest.raises(SimulatedCrash):
        world.settle()
    world.restart()
    world.settle()
    assert len(world.jira.tickets) == 1
    world.counterpart("jira", f"zendesk:{ticket}")
    world.counterpart("clickup", f"zendesk:{ticket}")
    assert disagreements(world.store, world.adapters, world.policy) == []


def test_comments_are_mirrored_exactly_once_even_across_a_crash(world: World) -> None:
    ticket = outage(world)
    world.zendesk.comment(ticket, CUSTOMER, "Still broken", public=True)
    world.trackers["jira"].inject("add_comment", "crash_after_write")
    with pytest.raises(SimulatedCrash):
        world.settle()
    world.restart()
    world.settle()
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    clickup = world.counterpart("clickup", f"zendesk:{ticket}")
    assert [c.body.count("Still broken") for c in jira.comments] == [1]
    assert [c.body.count("Still broken") for c in clickup.comments] == [1]
    assert len(world.zendesk.tickets[ticket].comments) == 1, "never mirrored back to its origin"


def test_internal_comments_never_become_public_in_a_customer_facing_tracker(world: World) -> None:
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.comment(jira.id, ENGINEER, "Root cause: expired certificate", public=False)
    world.jira.comment(jira.id, ENGINEER, "Fix is deploying", public=True)
    world.settle()
    in_zendesk = {c.body.splitlines()[2]: c.public for c in world.zendesk.tickets[ticket].comments}
    assert in_zendesk == {"Root cause: expired certificate": False, "Fix is deploying": False}
    clickup = world.counterpart("clickup", f"zendesk:{ticket}")
    marked = [c.body for c in clickup.comments if "Root cause" in c.body]
    assert marked and marked[0].startswith("[internal] ")


def test_public_from_lets_a_trusted_tracker_reply_publicly(
    store: Store, clock: TickingClock
) -> None:
    from ticket_bridge.bridge.policy import CommentRules

    policy = SyncPolicy(routes=ROUTES, comments=CommentRules(public_from=frozenset({"jira"})))
    world = World(store, clock, policy=policy)
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.comment(jira.id, ENGINEER, "Fix is live", public=True)
    world.jira.comment(jira.id, ENGINEER, "Internal detail", public=False)
    world.settle()
    visibility = {c.body.splitlines()[2]: c.public for c in world.zendesk.tickets[ticket].comments}
    assert visibility == {"Fix is live": True, "Internal detail": False}


def test_internal_comments_are_withheld_from_a_customer_facing_tracker_without_notes(
    store: Store, clock: TickingClock
) -> None:
    from tests.world import CONFIGS

    configs = dict(CONFIGS)
    configs["clickup"] = configs["clickup"].model_copy(update={"customer_facing": True})
    world = World(store, clock, configs=configs)
    ticket = outage(world)
    world.zendesk.comment(ticket, AGENT, "Enterprise customer, be careful", public=False)
    events = world.settle()
    withheld = [e for e in events if isinstance(e, CommentWithheld)]
    assert [(e.target, e.comment) for e in withheld] == [
        ("clickup", f"zendesk:{world.zendesk.tickets[ticket].comments[0].id}")
    ]
    clickup = world.counterpart("clickup", f"zendesk:{ticket}")
    assert clickup.comments == []
    assert writes(world.settle()) == []


def test_escalations_are_never_created_in_a_customer_facing_tracker(world: World) -> None:
    escalation = world.jira.open_ticket(
        "Customer threatens to churn", kind="Escalation", status="To Do"
    )
    events = world.settle()
    assert [e.target for e in events if isinstance(e, CounterpartWithheld)] == ["zendesk"]
    assert world.zendesk.tickets == {}
    world.counterpart("clickup", f"jira:{escalation}")


def test_a_question_takes_the_short_path(world: World) -> None:
    question = world.zendesk.open_ticket("How do I export invoices?", kind="question", status="new")
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{question}")
    world.jira.edit(jira.id, status="In Progress")
    world.settle()
    link = world.store.link_by_key(f"zendesk:{question}")
    assert link is not None and link.canonical.status is Status.ACKNOWLEDGED
    assert world.jira.tickets[jira.id].fields[Field.STATUS] == "To Do"


def test_an_unknown_native_status_parks_that_link_and_the_rest_keep_syncing(world: World) -> None:
    broken = outage(world)
    healthy = world.zendesk.open_ticket("Slow search", kind="incident", status="new")
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{broken}")
    world.jira.edit(jira.id, status="Waiting for QA")
    world.zendesk.edit(healthy, priority="high")
    events = world.settle()
    [parked] = [e for e in events if isinstance(e, LinkParked)]
    assert parked.link == f"zendesk:{broken}"
    assert "'Waiting for QA'" in parked.reason and "jira" in parked.reason
    assert "mappings/jira.toml" in parked.reason or "jira" in parked.reason
    assert world.counterpart("jira", f"zendesk:{healthy}").fields[Field.PRIORITY] == "High"
    link = world.store.link_by_key(f"zendesk:{broken}")
    assert link is not None and link.state == "parked"


def test_transient_errors_and_429s_are_retried_honouring_retry_after(world: World) -> None:
    ticket = outage(world)
    world.trackers["jira"].inject("read", "transient")
    world.trackers["jira"].inject("read", "rate_limited", retry_after=30)
    world.zendesk.edit(ticket, priority="low")
    world.settle()
    assert any(s >= 30 for s in world.sleeps), world.sleeps
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Low"


def test_a_link_that_keeps_failing_is_dead_lettered_and_blocks_no_other(world: World) -> None:
    ticket = outage(world)
    other = world.zendesk.open_ticket("Other issue", kind="incident", status="new")
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    for _ in range(50):
        world.trackers["jira"].inject("update", "transient", ticket_id=jira.id)
    world.zendesk.edit(ticket, priority="low")
    world.zendesk.edit(other, priority="high")
    events = world.settle()
    assert any(isinstance(e, LinkFailed) for e in events)
    [dead] = [e for e in events if isinstance(e, DeadLettered)]
    assert dead.link == f"zendesk:{ticket}" and dead.attempts == world.policy.retry.link_attempts
    assert world.counterpart("jira", f"zendesk:{other}").fields[Field.PRIORITY] == "High"
    assert world.jira.tickets[jira.id].fields[Field.PRIORITY] == "Highest"
    [letter] = world.store.dead_letters()
    assert "503" in letter.error
    # An admin retries it once the tracker is healthy again: it converges.
    world.trackers["jira"].faults.clear()
    link = world.store.link_by_key(f"zendesk:{ticket}")
    assert link is not None
    world.store.activate(link.id, "retried by an admin")
    list(world.engine.sync_link(link.id))
    assert world.jira.tickets[jira.id].fields[Field.PRIORITY] == "Low"
    assert world.store.dead_letters() == []


def test_a_permanent_error_dead_letters_at_once(store: Store, clock: TickingClock) -> None:
    world = World(
        store, clock, policy=SyncPolicy(routes=ROUTES, retry=RetryPolicy(link_attempts=9))
    )
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    del world.jira.tickets[jira.id]
    world.zendesk.edit(ticket, priority="low")
    events = world.settle()
    [parked] = [e for e in events if isinstance(e, LinkParked)]
    assert f"jira:{jira.id} no longer exists" in parked.reason


def test_an_edit_of_the_original_reaches_every_mirror_once(world: World) -> None:
    ticket = outage(world)
    comment = world.zendesk.comment(ticket, CUSTOMER, "It fails for Visa", public=True)
    world.settle()
    world.zendesk.edit_comment(ticket, comment, "It fails for Visa and Mastercard")
    events = world.settle()
    assert sorted(e.target for e in events if isinstance(e, CommentEdited)) == ["clickup", "jira"]
    for tracker in ("jira", "clickup"):
        [mirror] = world.counterpart(tracker, f"zendesk:{ticket}").comments
        assert "It fails for Visa and Mastercard" in mirror.body
        assert "ticket-bridge:mirror zendesk:" in mirror.body
    assert writes(world.settle()) == []


def test_an_edit_interrupted_by_a_crash_is_finished_not_doubled(world: World) -> None:
    ticket = outage(world)
    comment = world.zendesk.comment(ticket, CUSTOMER, "first words", public=True)
    world.settle()
    world.zendesk.edit_comment(ticket, comment, "second thoughts")
    world.trackers["jira"].inject("update_comment", "crash_after_write")
    with pytest.raises(SimulatedCrash):
        world.settle()
    world.restart()
    world.settle()
    for tracker in ("jira", "clickup"):
        [mirror] = world.counterpart(tracker, f"zendesk:{ticket}").comments
        assert "second thoughts" in mirror.body
    assert disagreements(world.store, world.adapters, world.policy) == []


def test_an_edit_between_read_and_write_is_merged_again_not_overwritten(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    adapter = world.adapters["jira"]
    real_update = adapter.update
    raced: list[str] = []

    def racing_update(ticket_id, patch, *, seen=None):
        if not raced:
            raced.append(ticket_id)
            world.jira.edit(jira.id, status="In Progress")  # an engineer, a moment earlier
        return real_update(ticket_id, patch, seen=seen)

    monkeypatch.setattr(adapter, "update", racing_update)
    world.zendesk.edit(ticket, priority="low")
    world.settle()
    assert raced == [jira.id]
    assert world.jira.tickets[jira.id].fields[Field.STATUS] == "In Progress", "not overwritten"
    assert world.jira.tickets[jira.id].fields[Field.PRIORITY] == "Low"
    assert world.zendesk.tickets[ticket].fields[Field.STATUS] == "open"
    assert disagreements(world.store, world.adapters, world.policy) == []


def test_a_comment_that_lands_in_a_follow_up_moves_the_link(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Zendesk does for a closed ticket: the post lands in a new ticket, the link follows."""
    from ticket_bridge.bridge.adapter import Mirror, NativeComment

    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    adapter = world.adapters["zendesk"]
    real_add = adapter.add_comment

    def into_follow_up(ticket_id: str, mirror: Mirror) -> NativeComment:
        follow_up = world.zendesk.open_ticket("Checkout fails", kind="incident", status="open")
        posted = real_add(follow_up, mirror)
        return posted.model_copy(update={"ticket_id": follow_up})

    monkeypatch.setattr(adapter, "add_comment", into_follow_up)
    world.jira.comment(jira.id, AGENT, "first", public=True)
    world.jira.comment(jira.id, AGENT, "second", public=True)
    world.settle(max_passes=3)
    link = world.store.link_by_key(f"zendesk:{ticket}")
    assert link is not None and link.refs["zendesk"].native_id != ticket
    moved = [a for a in world.store.audit(link.id, "link") if a.target == "zendesk"]
    assert moved and "closed for good" in moved[0].reason


def test_a_new_ticket_with_an_unknown_status_is_linked_parked_and_revived_later(
    world: World,
) -> None:
    odd = world.zendesk.open_ticket("Odd one", kind="incident", status="escalated-to-vendor")
    fine = world.zendesk.open_ticket("Fine one", kind="incident", status="new", priority="high")
    events = world.settle()
    [parked] = [e for e in events if isinstance(e, LinkParked)]
    assert parked.link == f"zendesk:{odd}" and "'escalated-to-vendor'" in parked.reason
    world.counterpart("jira", f"zendesk:{fine}")
    assert not any(t.key == f"zendesk:{odd}" for t in world.jira.tickets.values())
    # The admin fixes it (here: the agent picks a status the mapping knows) and revives the link.
    world.zendesk.edit(odd, status="pending", priority="urgent")
    link = world.store.link_by_key(f"zendesk:{odd}")
    assert link is not None
    list(world.engine.revive(link.id, "mapping fixed"))
    jira = world.counterpart("jira", f"zendesk:{odd}")
    assert jira.fields[Field.PRIORITY] == "Highest", "the ticket's own values, not placeholders"
    assert world.zendesk.tickets[odd].fields[Field.STATUS] == "pending", "not overwritten"
    assert disagreements(world.store, world.adapters, world.policy) == []


def test_when_the_owner_did_not_change_the_field_the_conflict_says_latest_decided(
    store: Store, clock: TickingClock
) -> None:
    policy = SyncPolicy(routes=ROUTES, fields={Field.PRIORITY: FieldPolicy(owner="zendesk")})
    world = World(store, clock, policy=policy)
    ticket = outage(world)
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    clickup = world.counterpart("clickup", f"zendesk:{ticket}")
    world.jira.edit(jira.id, priority="High")
    world.clickup.edit(clickup.id, priority="low")  # later; zendesk, the owner, left it alone
    [conflict] = [e for e in world.settle() if isinstance(e, ConflictSettled)]
    assert conflict.winner == "clickup" and conflict.policy == "latest"


def test_an_edit_landing_between_our_write_and_its_read_back_is_not_absorbed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read after a write may hold a person's edit of another field made in between: that
    edit is theirs, not ours, so it must not become the base (it would never propagate)."""
    ticket = world.zendesk.open_ticket("Export fails", kind="incident", status="new")
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    adapter = world.engine.adapters["jira"]
    write = adapter.update

    def racing(ticket_id: str, patch: Mapping[Field, Json], **kwargs: Any) -> NativeTicket:
        write(ticket_id, patch, **kwargs)
        world.jira.edit(ticket_id, due="2026-12-24")  # a person, a millisecond later
        return adapter.read(ticket_id)

    monkeypatch.setattr(adapter, "update", racing)
    world.zendesk.edit(ticket, priority="urgent")
    list(world.engine.sync_ticket("zendesk", ticket))
    monkeypatch.undo()
    world.settle()
    assert world.trackers["jira"].tickets[jira.id].fields[Field.PRIORITY] == "Highest"
    zendesk_due = world.zendesk.tickets[ticket].fields.get(Field.DUE)
    clickup_due = world.counterpart("clickup", f"zendesk:{ticket}").fields.get(Field.DUE)
    assert (zendesk_due, clickup_due) != (None, None), "the person's due date reached the others"
    assert disagreements(world.store, world.adapters, world.policy) == []
