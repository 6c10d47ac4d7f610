"""The three real adapters against the three fakes over HTTP, through the engine, to agreement.

What the memory trackers show about the reconciler, shown again with everything real but the
trackers themselves: the config the sandbox writes, the adapters it builds, the fakes' APIs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.serving import Served
from ticket_bridge.adapters.zendesk.fake import FakeZendesk
from ticket_bridge.bridge.adapter import NativeComment, Scope
from ticket_bridge.bridge.agreement import disagreements
from ticket_bridge.bridge.engine import Engine
from ticket_bridge.bridge.model import Field
from ticket_bridge.bridge.retry import CallRetry
from ticket_bridge.bridge.store import Store
from ticket_bridge.cli import adapters_for, sandbox_config
from ticket_bridge.settings import load


class Clock:
    """One time for the three fakes, moved by the test (Zendesk exports only settled minutes)."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now

    def unix(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class Trio:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = Clock()
        self.jira = FakeJira(clock=self.clock)
        self.zendesk = FakeZendesk(clock=self.clock)
        self.clickup = FakeClickUp(clock=self.clock.unix)
        self.served = {
            "jira": Served(self.jira.app),
            "zendesk": Served(self.zendesk.app),
            "clickup": Served(self.clickup.app),
        }
        self.jira.seed_demo()
        self.zendesk.add_user("dana@example.com", "Dana Customer", role="end-user")
        config = tmp_path / "ticket-bridge.toml"
        config.write_text(
            sandbox_config(
                (self.jira, self.zendesk, self.clickup), self.served, 8080, tmp_path / "state.db"
            ),
            encoding="utf-8",
        )
        loaded = load(config, read_env=False)
        self.store = Store.open(f"sqlite:///{tmp_path}/state.db")
        self.adapters = adapters_for(loaded)
        self.policy = loaded.policy()
        self.engine = Engine(
            self.store,
            self.adapters,
            self.policy,
            retry=CallRetry(self.policy.retry, sleep=self.clock.advance),
        )

    def settle(self) -> None:
        self.clock.advance(120)
        list(self.engine.run_until_quiet(max_passes=10, wait=self.clock.advance))

    def stop(self) -> None:
        for running in self.served.values():
            running.stop()
        self.store.close()


@pytest.fixture
def trio(tmp_path: Path) -> Iterator[Trio]:
    running = Trio(tmp_path)
    yield running
    running.stop()


def test_a_zendesk_ticket_reaches_jira_and_clickup_and_edits_flow_back(trio: Trio) -> None:
    ticket = trio.zendesk.open_ticket(
        "Checkout returns HTTP 500 for EU cards",
        "Since 09:00 every EU card payment fails.",
        requester="dana@example.com",
        priority="urgent",
    )
    trio.settle()
    link = trio.store.link_for("zendesk", str(ticket))
    assert link is not None, trio.store.audit()
    assert set(link.refs) == {"zendesk", "jira", "clickup"}
    jira_id = link.refs["jira"].native_id
    issue = trio.adapters["jira"].read(jira_id)
    assert issue.fields[Field.PRIORITY] == "Highest"
    assert issue.correlation_key == f"zendesk:{ticket}"

    trio.jira.edit(jira_id, priority="High")
    trio.jira.comment(
        jira_id,
        "Root cause: expired certificate.",
        visibility={"type": "role", "value": "Administrators"},
    )
    trio.settle()
    zendesk_ticket = trio.adapters["zendesk"].read(str(ticket))
    assert zendesk_ticket.fields[Field.PRIORITY] == "high"
    notes = trio.adapters["zendesk"].comments(str(ticket))
    mirrored = [n for n in notes if n.mirror_of is not None]
    assert len(mirrored) == 1 and mirrored[0].visibility.value == "internal"
    clickup_id = link.refs["clickup"].native_id
    task = trio.adapters["clickup"].read(clickup_id)
    assert task.fields[Field.PRIORITY] == "high"
    assert disagreements(trio.store, trio.adapters, trio.policy) == []


def test_status_and_comments_cross_all_three(trio: Trio) -> None:
    ticket = trio.zendesk.open_ticket("Refund not received", requester="dana@example.com")
    trio.settle()
    link = trio.store.link_for("zendesk", str(ticket))
    assert link is not None
    jira_id, clickup_id = link.refs["jira"].native_id, link.refs["clickup"].native_id
    trio.jira.move(jira_id, "In Progress")
    trio.clickup.comment(clickup_id, "Finance confirmed the refund left on Monday.")
    trio.settle()
    assert trio.adapters["zendesk"].read(str(ticket)).fields[Field.STATUS] == "open"
    status = trio.adapters["clickup"].read(clickup_id).fields[Field.STATUS]
    assert isinstance(status, str) and status.lower() == "in progress"  # ClickUp lower-cases names

    def from_clickup(comments: Sequence[NativeComment]) -> list[NativeComment]:
        return [c for c in comments if (c.mirror_of or "").startswith("clickup:")]

    in_zendesk = from_clickup(trio.adapters["zendesk"].comments(str(ticket)))
    assert [c.visibility.value for c in in_zendesk] == ["internal"], "ClickUp replies stay internal"
    in_jira = from_clickup(trio.adapters["jira"].comments(jira_id))
    assert len(in_jira) == 1 and "Finance confirmed" in in_jira[0].body

    trio.zendesk.edit(ticket, status="solved")
    trio.settle()
    assert trio.adapters["jira"].read(jira_id).fields[Field.STATUS] == "Done"
    resolved = trio.adapters["clickup"].read(clickup_id).fields[Field.STATUS]
    assert isinstance(resolved, str) and resolved.lower() == "resolved"
    assert disagreements(trio.store, trio.adapters, trio.policy) == []
    writes_before = len(trio.store.audit())
    trio.settle()
    assert len(trio.store.audit()) == writes_before, "a quiet pass changes nothing"


def test_a_jira_due_date_reaches_a_zendesk_task_in_one_put_and_clickup_in_a_guarded_one(
    trio: Trio,
) -> None:
    """A delivery about a Jira field reads that issue alone: Zendesk is written against what the
    bridge last knew of the ticket (its type, a task, says a due date is ``due_at``; the stamp
    guards the write), ClickUp after the read that guards a write there."""
    ticket = trio.zendesk.open_ticket("Renew the certificate", requester="dana@example.com")
    trio.settle()
    trio.zendesk.edit(ticket, type="task")  # an agent makes it a task: now it can hold a due date
    trio.settle()
    link = trio.store.link_for("zendesk", str(ticket))
    assert link is not None
    assert link.refs["zendesk"].native_kind == "task"
    jira_id = link.refs["jira"].native_id
    trio.jira.edit(jira_id, duedate="2027-01-15")
    trio.store.enqueue("jira", "d-due", jira_id, Scope.FIELDS)
    zendesk_before, clickup_before = len(trio.zendesk.requests), trio.clickup.requests
    list(trio.engine.drain_inbox())
    assert trio.zendesk.requests[zendesk_before:] == [f"PUT /api/v2/tickets/{ticket}"]
    assert trio.clickup.requests - clickup_before == 2, "the guarding GET and the PUT"
    assert str(trio.zendesk.tickets[ticket]["due_at"]).startswith("2027-01-15")
    assert disagreements(trio.store, trio.adapters, trio.policy) == []


def test_a_clickup_comment_its_feed_never_shows_is_brought_over_by_the_sweep(trio: Trio) -> None:
    """Whether a comment moves a task's ``date_updated`` is undocumented. If it does not, and its
    webhook is lost, the feed never names the task: the sweep is what finds the comment."""
    trio.clickup.comments_move_date_updated = False
    trio.clock.advance(0.25)  # a stamp on a whole second is read again by every poll, to be safe
    ticket = trio.zendesk.open_ticket("Refund not received", requester="dana@example.com")
    trio.settle()
    link = trio.store.link_for("zendesk", str(ticket))
    assert link is not None
    clickup_id = link.refs["clickup"].native_id
    trio.settle()  # the feeds' look-back windows are past the creation
    trio.clickup.comment(clickup_id, "Finance confirmed the refund left on Monday.")
    trio.settle()

    def in_zendesk() -> list[str]:
        return [
            c.body
            for c in trio.adapters["zendesk"].comments(str(ticket))
            if (c.mirror_of or "").startswith("clickup:")
        ]

    assert in_zendesk() == [], "no delivery and no feed: the passes cannot know"
    list(trio.engine.sweep())
    [mirrored] = in_zendesk()
    assert "Finance confirmed" in mirrored
    assert disagreements(trio.store, trio.adapters, trio.policy) == []


def test_no_secret_reaches_events_errors_or_the_store(trio: Trio) -> None:
    """Everything the engine says, every error a tracker raises, every row it keeps: no secret."""
    from ticket_bridge.cli import describe

    secrets = {
        trio.jira.api_token,
        trio.jira.webhook_secret,
        trio.zendesk.api_token,
        trio.zendesk.client_secret,
        trio.zendesk.webhook_secret,
        trio.clickup.token,
        trio.clickup.webhook_secret.get_secret_value(),
    }
    ticket = trio.zendesk.open_ticket("Secrets stay secret", requester="dana@example.com")
    trio.clock.advance(120)
    said = [
        describe(e) for e in trio.engine.run_until_quiet(max_passes=10, wait=trio.clock.advance)
    ]
    for served in trio.served.values():
        served.stop()  # every tracker down: errors now come from every client
    said += [
        describe(e) for e in trio.engine.run_until_quiet(max_passes=2, wait=trio.clock.advance)
    ]
    for name, adapter in trio.adapters.items():
        try:
            adapter.read(str(ticket))
        except Exception as exc:
            said.append(f"{name}: {exc!r} {exc}")
    said += [a.model_dump_json() for a in trio.store.audit()]
    text = "\n".join(said)
    assert "ConnectionError" in text or "connection" in text.lower(), "the trackers were down"
    leaked = [s for s in secrets if s and s in text]
    assert leaked == []
