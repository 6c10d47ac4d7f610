"""Two trackers change the same field within a second: the configured policy decides.

``ticket-bridge run`` on the three fakes over loopback, with ``[fields.priority] owner =
"zendesk"`` and status left to the default (the latest remote update wins). The webhooks of
edits made within half a second of each other are held by a relay and reach the daemon
together, so that it sees both changes at once: a conflict, settled by the policy, recorded
with both values, and every tracker then holds the winner. Then the same race with the
webhooks live, from two threads at one instant: whatever the daemon saw first, the trackers
converge and every recorded conflict was settled by the policy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import pytest

from tests.daemon.test_end_to_end import Site
from tests.reliability.test_flood import Relay, start
from ticket_bridge.adapters.scenario import CUSTOMER
from ticket_bridge.bridge.model import Field
from ticket_bridge.bridge.store import ConflictRecord

OWNER = '\n[fields.priority]\nowner = "zendesk"\n'


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def canonical(site: Site, ticket: int, field: Field) -> dict[str, object]:
    """What each tracker holds for ``field`` of the link of Zendesk ``ticket``, read canonically
    (a native value standing for several canonical ones, like Zendesk's ``open``, is read as the
    link's value when it can stand for it), and the link's own value as ``"link"``."""
    link = site.store.link_for("zendesk", str(ticket))
    assert link is not None
    now = getattr(link.canonical, field.value)
    held: dict[str, object] = {"link": now}
    for tracker, ref in link.refs.items():
        adapter = site.checker[tracker]
        native = adapter.read(ref.native_id).fields[field]
        held[tracker] = adapter.translation.to_canonical(field, native, now)
    return held


def conflicts_of(site: Site, ticket: int, field: str) -> list[ConflictRecord]:
    link = site.store.link_for("zendesk", str(ticket))
    assert link is not None
    return [c for c in site.store.conflicts() if c.link_id == link.id and c.field == field]


def release(relay: Relay) -> None:
    """The held deliveries reach the daemon, in the order the trackers sent them."""
    relay.quiet()
    for delivery in relay.take():
        assert relay.send(delivery).status_code == 202


def test_edits_of_one_field_in_two_trackers_within_a_second_are_settled_by_the_policy(
    tmp_path: Path, stack: ExitStack
) -> None:
    site, relay = start(tmp_path, stack, OWNER)
    a, b = (
        site.zendesk.open_ticket(
            f"Race {n}", requester=CUSTOMER, priority="normal", type="incident"
        )
        for n in "AB"
    )
    site.settle("two tickets linked in all three trackers")
    issue_a, task_a = site.counterpart("jira", str(a)), site.counterpart("clickup", str(a))
    issue_b, task_b = site.counterpart("jira", str(b)), site.counterpart("clickup", str(b))

    relay.holding = True
    # A: priority is Zendesk's (owner), though Jira's edit is the later one; status is the
    # latest's: ClickUp moved last. B: Zendesk's status is older than Jira's; the priority's
    # owner did not change it, so there the latest update decides after all.
    site.zendesk.edit(a, priority="low")
    site.zendesk.edit(b, status="solved")
    time.sleep(0.15)
    site.jira.move(issue_a, "In Progress")
    site.jira.edit(issue_a, priority="Highest")
    site.jira.move(issue_b, "In Progress")
    site.jira.edit(issue_b, priority="Highest")
    time.sleep(0.15)
    site.clickup.edit_task(task_a, by=site.lead, status="planned")
    site.clickup.edit_task(task_b, by=site.lead, priority=2)
    release(relay)
    site.settle("the conflicts are settled")

    assert set(canonical(site, a, Field.PRIORITY).values()) == {"P4"}, "the owner's value"
    assert set(canonical(site, a, Field.STATUS).values()) == {"planned"}, "the latest value"
    assert set(canonical(site, b, Field.STATUS).values()) == {"in_progress"}, "the latest value"
    assert set(canonical(site, b, Field.PRIORITY).values()) == {"P2"}, "latest: owner unchanged"

    [priority_a] = conflicts_of(site, a, "priority")
    assert (priority_a.candidates, priority_a.winner) == (
        {"zendesk": "P4", "jira": "P1"},
        "zendesk",
    )
    assert priority_a.policy == "owner:zendesk"
    [status_a] = conflicts_of(site, a, "status")
    assert (status_a.candidates, status_a.winner, status_a.policy) == (
        {"jira": "in_progress", "clickup": "planned"},
        "clickup",
        "latest",
    )
    [status_b] = conflicts_of(site, b, "status")
    assert (status_b.candidates, status_b.winner, status_b.policy) == (
        {"zendesk": "resolved", "jira": "in_progress"},
        "jira",
        "latest",
    )
    [priority_b] = conflicts_of(site, b, "priority")
    assert (priority_b.candidates, priority_b.winner) == (
        {"jira": "P1", "clickup": "P2"},
        "clickup",
    )
    for conflict in (priority_a, status_a, status_b, priority_b):
        assert conflict.resolved_at is None, "settled by policy, open for an admin to overturn"
    audit = site.store.audit(field="priority")
    assert any("won a conflict by owner:zendesk" in r.reason for r in audit), "in the audit too"

    # The same race with the webhooks live: two people at one instant, three rounds.
    for n, (zendesk_value, jira_value) in enumerate(
        [("urgent", "Low"), ("high", "Lowest"), ("low", "High")]
    ):
        together(
            partial(site.zendesk.edit, a, priority=zendesk_value),
            partial(site.jira.edit, issue_a, priority=jira_value),
        )
        site.settle(f"live race {n}")
        held = canonical(site, a, Field.PRIORITY)
        assert len(set(held.values())) == 1, f"round {n}: the trackers disagree: {held}"
    for conflict in conflicts_of(site, a, "priority"):
        assert conflict.winner == "zendesk", conflict  # whenever Zendesk was among them


def together(*actions: Callable[[], None]) -> None:
    """Run the actions from as many threads, released at one instant."""
    gate = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], None]) -> None:
        gate.wait(timeout=10)
        try:
            action()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
