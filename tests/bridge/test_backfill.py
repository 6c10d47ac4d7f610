"""Backfill: existing tickets linked or created once, comment history and all, resumable, dry-runnable."""

from __future__ import annotations

import pytest

from tests.conftest import TickingClock
from tests.world import AGENT, CONFIGS, CUSTOMER, World
from ticket_bridge.adapters.memory.fake import SimulatedCrash
from ticket_bridge.bridge.adapter import BacklogQuery
from ticket_bridge.bridge.backfill import Backfill, BackfillSpec, Proposal
from ticket_bridge.bridge.errors import Refused
from ticket_bridge.bridge.events import (
    BackfillAction,
    BackfillFinished,
    BackfillProgress,
    BackfillStarted,
    BackfillStep,
    Event,
)
from ticket_bridge.bridge.model import Field
from ticket_bridge.bridge.store import Store

TO_BOTH = BackfillSpec(source="zendesk", targets=("jira", "clickup"))


@pytest.fixture
def world(store: Store, clock: TickingClock) -> World:
    configs = {**CONFIGS, "zendesk": CONFIGS["zendesk"].model_copy(update={"page_size": 2})}
    return World(store, clock, configs=configs)


def history(world: World, count: int) -> list[str]:
    """Tickets opened before the bridge ran, each with a public and an internal comment."""
    ids = []
    for n in range(count):
        ticket = world.zendesk.open_ticket(
            f"Old ticket {n}", kind="incident", status="open", requester=CUSTOMER.email
        )
        world.zendesk.comment(ticket, CUSTOMER, f"Still broken ({n})")
        world.zendesk.comment(ticket, AGENT, f"Looking at logs ({n})", public=False)
        ids.append(ticket)
    return ids


def steps(events: list[Event]) -> list[BackfillStep]:
    return [e for e in events if isinstance(e, BackfillStep)]


def test_every_ticket_gets_one_counterpart_per_target_with_its_comment_history(
    world: World,
) -> None:
    ids = history(world, 5)
    events = list(Backfill(world.engine, TO_BOTH).run())
    for ticket in ids:
        key = f"zendesk:{ticket}"
        jira = world.counterpart("jira", key)
        clickup = world.counterpart("clickup", key)
        assert jira.fields[Field.TITLE] == world.zendesk.tickets[ticket].fields[Field.TITLE]
        bodies = [c.body for c in jira.comments]
        assert len(bodies) == 2
        original = world.zendesk.tickets[ticket].comments[0]
        assert any(
            CUSTOMER.name in b and original.created_at.strftime("%Y-%m-%d %H:%M") in b
            for b in bodies
        ), "the attribution names the author and the original time"
        assert [c.public for c in jira.comments] == [True, False]
        assert len(clickup.comments) == 2
    finished = events[-1]
    assert isinstance(finished, BackfillFinished)
    assert finished.done == 5
    assert finished.counts[BackfillAction.CREATE] == 10


def test_running_it_again_doubles_nothing_and_finds_all_in_agreement(world: World) -> None:
    history(world, 3)
    list(Backfill(world.engine, TO_BOTH).run())
    before = {name: len(t.tickets) for name, t in world.trackers.items()}
    again = steps(list(Backfill(world.engine, TO_BOTH).run()))
    assert {s.action for s in again} == {BackfillAction.AGREE}
    assert {name: len(t.tickets) for name, t in world.trackers.items()} == before


def test_a_crash_between_a_create_and_its_record_is_repaired_on_resume(world: World) -> None:
    ids = history(world, 5)
    with pytest.raises(SimulatedCrash):  # noqa: PT012
        for event in Backfill(world.engine, TO_BOTH).run():
            if isinstance(event, BackfillProgress) and event.done == 2:
                # The first page is done; the process dies right after Jira creates the
                # third ticket's counterpart, before the bridge records it.
                world.jira.inject("create", "crash_after_write")
    [checkpoint] = world.store.backfills()
    assert checkpoint.finished_at is None
    assert checkpoint.counts["tickets"] == 2, "the checkpoint holds the first whole page"
    assert len(world.jira.tickets) == 3

    world.restart()
    resumed = list(Backfill(world.engine, TO_BOTH).run())
    started = resumed[0]
    assert isinstance(started, BackfillStarted)
    assert started.resumed and started.done == 2
    for ticket in ids:
        key = f"zendesk:{ticket}"
        for tracker in ("jira", "clickup"):
            counterpart = world.counterpart(tracker, key)  # exactly one
            assert len(counterpart.comments) == 2, (tracker, key)
    [finished] = world.store.backfills()
    assert finished.finished_at is not None
    assert finished.counts["tickets"] == 5


def test_a_counterpart_carrying_the_key_is_linked_not_created(world: World) -> None:
    [ticket] = history(world, 1)
    made_earlier = world.jira.open_ticket(
        "Old ticket 0", kind="Bug", status="To Do", key=f"zendesk:{ticket}"
    )
    found = steps(list(Backfill(world.engine, TO_BOTH).run()))
    jira = next(s for s in found if s.target == "jira")
    assert jira.action is BackfillAction.LINK
    assert jira.ref == f"jira:{made_earlier}"
    assert len(world.jira.tickets) == 1


def test_a_likely_match_is_proposed_and_nothing_is_created_until_confirmed(
    world: World,
) -> None:
    [ticket] = history(world, 1)
    by_hand = world.jira.open_ticket(
        "old  TICKET 0", kind="Bug", status="To Do", requester=CUSTOMER.email
    )
    spec = TO_BOTH.model_copy(update={"match": True})
    proposed = steps(list(Backfill(world.engine, spec).run()))
    assert [(s.action, s.ref) for s in proposed] == [(BackfillAction.PROPOSE, f"jira:{by_hand}")]
    assert len(world.jira.tickets) == 1 and not world.clickup.tickets
    assert world.store.link_for("zendesk", ticket) is None

    asked: list[Proposal] = []

    def confirm(proposal: Proposal) -> bool:
        asked.append(proposal)
        return True

    linked = steps(list(Backfill(world.engine, spec, confirm=confirm).run()))
    assert [p.candidate.id for p in asked] == [by_hand]
    actions = {s.target: s.action for s in linked}
    assert actions == {"jira": BackfillAction.LINK, "clickup": BackfillAction.CREATE}
    assert world.jira.tickets[by_hand].fields[Field.TITLE] == "Old ticket 0", "the source wins"
    assert len(world.jira.tickets) == 1


def test_a_dry_run_plans_field_by_field_and_writes_nothing(world: World) -> None:
    ids = history(world, 3)
    before = {name: len(t.tickets) for name, t in world.trackers.items()}
    calls = dict(world.jira.calls)
    plan = steps(list(Backfill(world.engine, TO_BOTH).run(dry_run=True)))
    assert {name: len(t.tickets) for name, t in world.trackers.items()} == before
    assert world.store.links() == [] and world.store.backfills() == []
    assert world.jira.calls.get("create", 0) == calls.get("create", 0)
    creates = [s for s in plan if s.action is BackfillAction.CREATE]
    assert len(creates) == 2 * len(ids)
    first = next(s for s in creates if s.source == f"zendesk:{ids[0]}" and s.target == "jira")
    assert first.changes["title"] == (None, "Old ticket 0")
    assert first.comments == 2


def test_a_dry_run_of_linked_tickets_names_the_fields_that_would_change(world: World) -> None:
    [ticket] = history(world, 1)
    list(Backfill(world.engine, TO_BOTH).run())
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.edit(jira.id, title="Renamed in Jira behind our back")
    plan = steps(list(Backfill(world.engine, TO_BOTH).run(dry_run=True)))
    by_target = {s.target: s for s in plan}
    assert by_target["clickup"].action is BackfillAction.AGREE
    assert by_target["jira"].action is BackfillAction.UPDATE
    assert by_target["jira"].changes == {
        "title": ("Renamed in Jira behind our back", "Old ticket 0")
    }


def test_the_date_range_and_the_native_filter_choose_the_tickets(world: World) -> None:
    old = history(world, 2)
    world.clock.advance(86400 * 30)
    cut = world.clock()
    new = history(world, 2)
    world.zendesk.edit(new[1], status="pending")
    spec = BackfillSpec(
        source="zendesk",
        targets=("jira",),
        query=BacklogQuery(created_from=cut, native="status=open"),
    )
    done = {s.source for s in steps(list(Backfill(world.engine, spec).run()))}
    assert done == {f"zendesk:{new[0]}"}
    assert all(world.store.link_for("zendesk", t) is None for t in old)
    assert not world.clickup.tickets, "only the targets asked for"


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_escalation_is_never_created_in_a_customer_facing_tracker(
    world: World, dry_run: bool
) -> None:
    escalation = world.jira.open_ticket("Kernel panic", kind="Escalation", status="To Do")
    spec = BackfillSpec(source="jira", targets=("zendesk", "clickup"))
    done = {s.target: s for s in steps(list(Backfill(world.engine, spec).run(dry_run=dry_run)))}
    assert done["zendesk"].action is BackfillAction.SKIP
    assert "customer-facing zendesk" in done["zendesk"].reason
    assert done["clickup"].action is BackfillAction.CREATE
    assert not world.zendesk.tickets
    assert (escalation, bool(world.clickup.tickets)) == (escalation, not dry_run)


@pytest.mark.parametrize(
    ("source", "targets", "says"),
    [
        ("nowhere", ("jira",), "'nowhere'"),
        ("zendesk", ("jira", "asana"), "'asana'"),
        ("zendesk", ("zendesk",), "other than the source"),
        ("zendesk", (), "one or more targets"),
    ],
)
def test_a_bad_request_is_refused_before_anything_is_read(
    world: World, source: str, targets: tuple[str, ...], says: str
) -> None:
    with pytest.raises(Refused, match=says):
        Backfill(world.engine, BackfillSpec(source=source, targets=targets))
    assert not world.zendesk.calls
