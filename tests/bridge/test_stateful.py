"""The whole bridge under random edits and faults: once faults stop, everything converges.

Three memory trackers shaped like Zendesk (customer-facing), Jira and a seed 000 ClickUp list.
Random edits of status, priority, due date and title, public and internal comments, new tickets
(some matching routes, some not) are interleaved with reconcile runs and injected faults:
transient errors, 429s, and the bridge crashing between a remote write and recording it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from tests.conftest import TickingClock
from tests.world import World
from ticket_bridge.adapters.memory.fake import SimulatedCrash
from ticket_bridge.bridge.agreement import disagreements
from ticket_bridge.bridge.comments import mirror_of, mirror_visibility
from ticket_bridge.bridge.events import WRITES, PassFinished
from ticket_bridge.bridge.model import Field, Person, Visibility
from ticket_bridge.bridge.store import Store
from ticket_bridge.bridge.translation import TableTranslation

TRACKERS = ("zendesk", "jira", "clickup")
KINDS: dict[str, list[str | None]] = {
    "zendesk": ["incident", "question", "task", None],
    "jira": ["Bug", "Escalation", "Task"],
    "clickup": [None],
}
PEOPLE = [Person(name="Dana Customer", email="dana@example.com"), Person(name="Kim Engineer")]
titles = st.text(alphabet="abcdefgh ", min_size=1, max_size=12)
dues = st.none() | st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31)).map(dt.date.isoformat)
FAULT_OPS = {
    "transient": [
        "read",
        "update",
        "comments",
        "changes",
        "create",
        "add_comment",
        "update_comment",
    ],
    "rate_limited": ["read", "update", "comments", "changes"],
    "crash_after_write": ["update", "create", "add_comment"],
}


class BridgeMachine(RuleBasedStateMachine):
    tickets = Bundle("tickets")

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.clock = TickingClock()
        self.store = Store.open(f"sqlite:///{Path(self.tmp.name) / 'state.db'}", clock=self.clock)
        self.world = World(self.store, self.clock)
        self.crashes = 0

    def natives(self, tracker: str, field: str) -> list[str]:
        translation = self.world.adapters[tracker].translation
        assert isinstance(translation, TableTranslation)
        table = getattr(translation.mapping, field)
        return sorted(table.natives())

    # -- people editing their trackers -----------------------------------------------------

    @rule(target=tickets, tracker=st.sampled_from(TRACKERS), title=titles, data=st.data())
    def open_ticket(self, tracker: str, title: str, data: st.DataObject) -> tuple[str, str]:
        ticket_id = self.world.trackers[tracker].open_ticket(
            title,
            kind=data.draw(st.sampled_from(KINDS[tracker]), label="kind"),
            status=data.draw(st.sampled_from(self.natives(tracker, "status")), label="status"),
            priority=data.draw(
                st.none() | st.sampled_from(self.natives(tracker, "priority")), label="priority"
            ),
            due=data.draw(dues, label="due"),
        )
        return tracker, ticket_id

    @rule(ticket=tickets, data=st.data())
    def edit_status(self, ticket: tuple[str, str], data: st.DataObject) -> None:
        tracker, ticket_id = ticket
        status = data.draw(st.sampled_from(self.natives(tracker, "status")), label="status")
        self.world.trackers[tracker].edit(ticket_id, status=status)

    @rule(ticket=tickets, data=st.data())
    def edit_priority(self, ticket: tuple[str, str], data: st.DataObject) -> None:
        tracker, ticket_id = ticket
        priority = data.draw(
            st.none() | st.sampled_from(self.natives(tracker, "priority")), label="priority"
        )
        self.world.trackers[tracker].edit(ticket_id, priority=priority)

    @rule(ticket=tickets, due=dues)
    def edit_due(self, ticket: tuple[str, str], due: str | None) -> None:
        self.world.trackers[ticket[0]].edit(ticket[1], due=due)

    @rule(ticket=tickets, title=titles)
    def edit_title(self, ticket: tuple[str, str], title: str) -> None:
        self.world.trackers[ticket[0]].edit(ticket[1], title=title)

    @rule(ticket=tickets, public=st.booleans(), author=st.sampled_from(PEOPLE), text=titles)
    def comment(self, ticket: tuple[str, str], public: bool, author: Person, text: str) -> None:
        tracker, ticket_id = ticket
        body = f"note {len(self.world.trackers[tracker].tickets[ticket_id].comments)}: {text}"
        if tracker == "clickup" and not public:
            body = "[internal] " + body
            public = True
        self.world.trackers[tracker].comment(ticket_id, author, body, public=public)

    @rule(ticket=tickets, text=titles, data=st.data())
    def edit_comment(self, ticket: tuple[str, str], text: str, data: st.DataObject) -> None:
        """A person edits a comment they wrote (never a mirror the bridge posted)."""
        tracker, ticket_id = ticket
        own = [
            c
            for c in self.world.trackers[tracker].tickets[ticket_id].comments
            if mirror_of(c.body) is None
        ]
        if own:
            comment = data.draw(st.sampled_from(own), label="comment")
            prefix = "[internal] " if comment.body.startswith("[internal] ") else ""
            self.world.trackers[tracker].edit_comment(
                ticket_id, comment.id, f"{prefix}edited: {text}"
            )

    # -- faults and the bridge -------------------------------------------------------------

    @rule(
        tracker=st.sampled_from(TRACKERS),
        fault=st.sampled_from(sorted(FAULT_OPS)),
        data=st.data(),
        retry_after=st.integers(0, 90),
    )
    def inject_fault(self, tracker: str, fault: str, data: st.DataObject, retry_after: int) -> None:
        operation = data.draw(st.sampled_from(FAULT_OPS[fault]), label="operation")
        self.world.trackers[tracker].inject(operation, fault, retry_after)  # type: ignore[arg-type]

    @rule(passes=st.integers(1, 3))
    def reconcile(self, passes: int) -> None:
        try:
            for _ in range(passes):
                for _event in self.world.engine.run_pass():
                    pass
        except SimulatedCrash:
            self.crashes += 1
            self.world.restart()

    @precondition(lambda self: self.crashes < 50)
    @rule(seconds=st.integers(1, 600))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)

    # -- what must hold at every step ------------------------------------------------------

    @invariant()
    def no_ticket_is_duplicated(self) -> None:
        for name, tracker in self.world.trackers.items():
            keys = Counter(t.key for t in tracker.tickets.values() if t.key is not None)
            duplicated = [k for k, n in keys.items() if n > 1]
            assert not duplicated, f"{name} holds several tickets for {duplicated}"
            for ticket in tracker.tickets.values():
                assert ticket.key != f"{name}:{ticket.id}", "a ticket was created from itself"

    @invariant()
    def nothing_internal_is_public_in_zendesk(self) -> None:
        for link in self.store.links():
            ref = link.refs.get("zendesk")
            if ref is None:
                continue
            by_key = {c.id: c for c in self.store.comments(link.id)}
            for stored in self.world.zendesk.tickets[ref.native_id].comments:
                key = mirror_of(stored.body)
                if key is None or not stored.public:
                    continue
                original = by_key[key]
                assert original.visibility is Visibility.PUBLIC, (
                    f"internal {original.id} went public"
                )
                assert original.origin.tracker == "zendesk" or original.origin.tracker in (
                    self.world.policy.comments.public_from
                ), f"{original.id} from {original.origin.tracker} went public in zendesk"

    # -- once faults stop -------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            self.converge_and_check()
        finally:
            self.store.close()
            self.tmp.cleanup()

    def converge_and_check(self) -> None:
        for tracker in self.world.trackers.values():
            tracker.faults.clear()
        self.world.restart()
        for link in self.store.links():
            assert link.state != "parked", f"{link.key} parked: {link.reason}"
            if link.state == "dead":
                self.store.activate(link.id, "faults are over: an admin retries dead letters")
        self.world.settle(max_passes=60)

        assert disagreements(self.store, self.world.adapters, self.world.policy) == []
        self.every_comment_is_where_it_belongs_exactly_once()
        self.no_ticket_is_duplicated()
        self.nothing_internal_is_public_in_zendesk()

        events = list(self.world.engine.run_pass())
        again = [e for e in events if isinstance(e, WRITES)]
        assert again == [], f"one more pass still wrote: {again}"
        swept = [e for e in self.world.engine.sweep() if isinstance(e, WRITES)]
        assert swept == [], f"a full sweep still wrote: {swept}"
        assert isinstance(events[-1], PassFinished)

    def every_comment_is_where_it_belongs_exactly_once(self) -> None:
        adapters = self.world.adapters
        for link in self.store.links():
            comments = self.store.comments(link.id)
            for tracker, ref in link.refs.items():
                natives = adapters[tracker].comments(ref.native_id)
                count = Counter(n.mirror_of or f"{tracker}:{n.id}" for n in natives)
                for comment in comments:
                    source = adapters[comment.origin.tracker]
                    target = adapters[tracker]
                    belongs = (
                        comment.origin.tracker == tracker
                        or mirror_visibility(
                            comment,
                            source=comment.origin.tracker,
                            source_customer_facing=source.customer_facing,
                            target_customer_facing=target.customer_facing,
                            target_internal_comments=target.internal_comments,
                            public_from=self.world.policy.comments.public_from,
                        )
                        is not None
                    )
                    assert count[comment.id] == (1 if belongs else 0), (
                        f"{comment.id} is {count[comment.id]} times in {tracker}:{ref.native_id}"
                    )
                bodies = {n.mirror_of: n.body for n in natives if n.mirror_of}
                for comment in comments:
                    if comment.id in bodies:
                        assert comment.body in bodies[comment.id], f"{comment.id} edit missing"
                extra = set(count) - {c.id for c in comments}
                assert not extra, f"{tracker}:{ref.native_id} holds comments the link lost: {extra}"
            for field in (Field.STATUS, Field.PRIORITY, Field.DUE, Field.TITLE):
                values = {
                    adapters[t].translation.to_canonical(
                        field,
                        adapters[t].read(r.native_id).fields.get(field),
                        getattr(link.canonical, field.value),
                    )
                    for t, r in link.refs.items()
                }
                assert len(values) == 1, f"{link.key} {field}: {values}"


BridgeMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestBridge = BridgeMachine.TestCase
