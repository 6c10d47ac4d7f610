"""The daemon's threads on memory trackers: links serialised, trackers isolated, rows taken once.

The trackers sit behind ``Traced``, a real memory adapter that can take its time per call and
records which links two threads were inside at once; nothing here mocks the engine or the store.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TypeVar

import pytest

from tests.conftest import TickingClock
from tests.world import AGENT, CONFIGS, ROUTES, World
from ticket_bridge.adapters.memory.adapter import MemoryAdapter
from ticket_bridge.adapters.memory.config import MemoryConfig
from ticket_bridge.adapters.memory.fake import MemoryTracker
from ticket_bridge.bridge.adapter import Changes, Draft, Mirror, NativeComment, NativeTicket
from ticket_bridge.bridge.engine import SWEEP_CURSOR, SWEEP_DONE, Engine
from ticket_bridge.bridge.events import Event, HintSettled, PollFailed, SweepFinished
from ticket_bridge.bridge.mapping import load_mapping
from ticket_bridge.bridge.model import Field, Json, Kind
from ticket_bridge.bridge.policy import RetryPolicy, Route, SyncPolicy
from ticket_bridge.bridge.retry import CallRetry
from ticket_bridge.bridge.store import Store
from ticket_bridge.daemon.runner import Bell, Daemon

T = TypeVar("T")


class WallClock(TickingClock):
    """Real time (latencies are measured across threads), strictly increasing, safe to share."""

    def __init__(self) -> None:
        super().__init__(dt.datetime.now(dt.UTC))
        self.lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self.lock:
            self.now = max(dt.datetime.now(dt.UTC), self.now + dt.timedelta(microseconds=1))
            return self.now

    def advance(self, seconds: float) -> None:
        time.sleep(min(seconds, 0.05))


class Probe:
    """What the traced adapters saw: calls per link and thread, and any two threads on one link."""

    def __init__(self, trackers: Mapping[str, MemoryTracker]) -> None:
        self.trackers = trackers
        self.lock = threading.Lock()
        self.guards = {name: threading.Lock() for name in trackers}
        self.inside: dict[str, Counter[int]] = {}
        self.overlaps: list[tuple[str, str]] = []
        self.widest = 0  # most links with a call in flight at one moment
        self.in_flight: Counter[str] = Counter()  # tracker -> calls in flight

    @contextmanager
    def guard(self, tracker: str) -> Iterator[None]:
        """The memory trackers are not thread-safe: the adapters and the test take turns."""
        with self.guards[tracker]:
            yield

    def link_of(self, tracker: str, ticket_id: str) -> str:
        """A counterpart carries its link's key; an origin ticket's link is keyed by the ticket."""
        with self.guard(tracker):
            ticket = self.trackers[tracker].tickets.get(ticket_id)
        return ticket.key if ticket is not None and ticket.key else f"{tracker}:{ticket_id}"

    @contextmanager
    def entered(self, tracker: str, link: str | None, operation: str) -> Iterator[None]:
        me = threading.get_ident()
        with self.lock:
            self.in_flight[tracker] += 1
            if link is not None:
                threads = self.inside.setdefault(link, Counter())
                if any(n and thread != me for thread, n in threads.items()):
                    self.overlaps.append((link, operation))
                threads[me] += 1
                self.widest = max(self.widest, sum(1 for t in self.inside.values() if +t))
        try:
            yield
        finally:
            with self.lock:
                self.in_flight[tracker] -= 1
                if link is not None:
                    self.inside[link][me] -= 1


class Traced(MemoryAdapter):
    """A memory adapter whose every call takes ``latency`` seconds and is recorded by the probe."""

    def __init__(self, name: str, config: MemoryConfig, probe: Probe) -> None:
        super().__init__(name, config, load_mapping(config.mapping), probe.trackers[name])
        self.probe = probe
        self.latency = 0.0

    def _call(self, operation: str, link: str | None, fn: Callable[[], T]) -> T:
        with self.probe.entered(self.name, link, operation):
            time.sleep(self.latency)
            with self.probe.guard(self.name):
                return fn()

    def _on(self, ticket_id: str) -> str:
        return self.probe.link_of(self.name, ticket_id)

    def read(self, ticket_id: str) -> NativeTicket:
        return self._call("read", self._on(ticket_id), lambda: super(Traced, self).read(ticket_id))

    def changes(self, cursor: str | None) -> Changes:
        return self._call("changes", None, lambda: super(Traced, self).changes(cursor))

    def find(self, correlation_key: str) -> NativeTicket | None:
        return self._call(
            "find", correlation_key, lambda: super(Traced, self).find(correlation_key)
        )

    def create(self, draft: Draft) -> NativeTicket:
        return self._call(
            "create", draft.correlation_key, lambda: super(Traced, self).create(draft)
        )

    def update(
        self, ticket_id: str, patch: Mapping[Field, Json], *, seen: NativeTicket | None = None
    ) -> NativeTicket:
        return self._call(
            "update",
            self._on(ticket_id),
            lambda: super(Traced, self).update(ticket_id, patch, seen=seen),
        )

    def comments(self, ticket_id: str) -> Sequence[NativeComment]:
        return self._call(
            "comments", self._on(ticket_id), lambda: super(Traced, self).comments(ticket_id)
        )

    def add_comment(self, ticket_id: str, mirror: Mirror) -> NativeComment:
        return self._call(
            "add_comment",
            self._on(ticket_id),
            lambda: super(Traced, self).add_comment(ticket_id, mirror),
        )

    def update_comment(self, ticket_id: str, comment_id: str, mirror: Mirror) -> NativeComment:
        return self._call(
            "update_comment",
            self._on(ticket_id),
            lambda: super(Traced, self).update_comment(ticket_id, comment_id, mirror),
        )


class Recording(Store):
    """The real store, noting which thread marked which inbox rows done."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.settled: list[int] = []
        self.settled_lock = threading.Lock()

    def done(self, item_ids: Sequence[int]) -> None:
        super().done(item_ids)
        with self.settled_lock:
            self.settled.extend(item_ids)


class Rig:
    """A world of traced trackers, a daemon over it, and what the daemon emitted."""

    def __init__(
        self, store: Recording, clock: WallClock, *, routes: tuple[Route, ...] = ROUTES
    ) -> None:
        self.clock = clock
        self.store = store
        self.world = World(
            store,
            self.clock,
            policy=SyncPolicy(routes=routes, retry=RetryPolicy(link_attempts=4)),
        )
        self.probe = Probe(self.world.trackers)
        self.traced = {name: Traced(name, config, self.probe) for name, config in CONFIGS.items()}
        self.world.adapters.update(self.traced)
        self.world.restart()
        self.events: list[Event] = []
        self.lock = threading.Lock()
        self.deliveries = 0
        self.daemons: list[Daemon] = []
        self.daemon: Daemon | None = None

    @property
    def engine(self) -> Engine:
        return self.world.engine

    def observe(self, event: Event) -> None:
        with self.lock:
            self.events.append(event)

    def settled(self) -> list[HintSettled]:
        with self.lock:
            return [e for e in self.events if isinstance(e, HintSettled)]

    def edit(self, tracker: str, ticket_id: str, **values: Json) -> None:
        with self.probe.guard(tracker):
            self.world.trackers[tracker].edit(ticket_id, **values)

    def failures(self) -> list[PollFailed]:
        with self.lock:
            return [e for e in self.events if isinstance(e, PollFailed)]

    def deliver(self, tracker: str, ticket_id: str) -> None:
        with self.lock:
            self.deliveries += 1
            delivery = f"d-{self.deliveries}"
        assert self.store.enqueue(tracker, delivery, ticket_id)
        if self.daemon is not None:
            self.daemon.accepted()

    def linked(self, count: int) -> list[dict[str, str]]:
        """``count`` Zendesk tickets linked to a Jira and a ClickUp counterpart each."""
        origins = [
            self.world.zendesk.open_ticket(f"Ticket {n}", kind="incident", status="new")
            for n in range(count)
        ]
        self.world.settle()
        return [
            {
                "zendesk": ticket,
                "jira": self.world.counterpart("jira", f"zendesk:{ticket}").id,
                "clickup": self.world.counterpart("clickup", f"zendesk:{ticket}").id,
            }
            for ticket in origins
        ]

    def start(self, workers: int = 4, sweep_interval: float = 0.0) -> Daemon:
        self.daemon = Daemon(
            self.engine,
            poll_interval=3600,
            workers=workers,
            sweep_interval=sweep_interval,
            on_event=self.observe,
        )
        self.daemon.failure_pause = 0.05
        self.daemons.append(self.daemon)
        self.daemon.start()
        return self.daemon

    def feeds_read(self) -> None:
        """Commit every feed's cursor as it stands: the pollers see only what changes after."""
        for name, tracker in self.world.trackers.items():
            with self.probe.guard(name):
                _, cursor = tracker.api_changes(0)
            self.store.set_cursor(name, str(cursor))

    def drained(self, timeout: float = 30.0) -> None:
        eventually(lambda: self.store.inbox_depth() == 0 and self.engine.in_hand() == 0, timeout)


def eventually(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the daemon did not get there in time"
        time.sleep(0.01)


@pytest.fixture
def make_rig(store_url: str) -> Iterator[Callable[..., Rig]]:
    clock = WallClock()
    store = Recording.open(store_url, clock=clock)
    assert isinstance(store, Recording)
    made: list[Rig] = []

    def make(**kwargs: tuple[Route, ...]) -> Rig:
        made.append(Rig(store, clock, **kwargs))
        return made[-1]

    yield make
    for rig in made:
        for daemon in rig.daemons:
            daemon.stop()
    store.close()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()


def _sweeps(rig: Rig) -> list[SweepFinished]:
    with rig.lock:
        return [e for e in rig.events if isinstance(e, SweepFinished)]


def test_the_sweeper_brings_over_a_change_no_delivery_and_no_feed_reported(rig: Rig) -> None:
    links = rig.linked(3)
    rig.edit("zendesk", links[1]["zendesk"], priority="urgent")
    rig.feeds_read()  # the feeds have moved past the edit: only a sweep can find it
    rig.start(sweep_interval=0.2)
    eventually(lambda: any(sweep.reconciled for sweep in _sweeps(rig)), timeout=10)
    assert _sweeps(rig)[0] == SweepFinished(links=3, reconciled=1)
    with rig.probe.guard("jira"):
        assert (
            rig.world.counterpart("jira", f"zendesk:{links[1]['zendesk']}").fields[Field.PRIORITY]
            == "Highest"
        )
    assert rig.store.cursor(SWEEP_CURSOR)[0] == SWEEP_DONE  # type: ignore[index]


def test_a_sweep_cut_short_by_a_restart_goes_on_at_once_from_where_it_stopped(rig: Rig) -> None:
    links = rig.linked(3)
    first = rig.store.link_for("zendesk", links[0]["zendesk"])
    assert first is not None
    rig.store.set_cursor(SWEEP_CURSOR, str(first.id))  # as a daemon stopped mid-sweep left it
    rig.start(sweep_interval=86_400)
    eventually(lambda: bool(_sweeps(rig)), timeout=10)
    assert _sweeps(rig) == [SweepFinished(links=2, reconciled=0)]


def test_two_workers_never_reconcile_one_link_at_once(rig: Rig) -> None:
    links = rig.linked(6)
    for traced in rig.traced.values():
        traced.latency = 0.005
    daemon = rig.start(workers=4)
    for round_ in range(3):
        for link in links:
            rig.edit("zendesk", link["zendesk"], priority=["urgent", "high", "low"][round_])
            for tracker, ticket in link.items():  # each a separate claim, on any worker
                rig.deliver(tracker, ticket)
    rig.drained()
    daemon.stop()
    assert rig.failures() == []
    assert rig.probe.overlaps == [], "two threads were inside one link's calls at once"
    assert rig.probe.widest >= 2, "the workers did run different links in parallel"
    for link in links:
        assert rig.world.jira.tickets[link["jira"]].fields[Field.PRIORITY] == "Low"


def test_a_counterpart_hint_waits_for_its_creator_and_is_not_adopted_as_a_new_link(
    rig: Rig,
) -> None:
    """Worker A adopts zendesk:1 and creates jira:N; jira's webhook reaches worker B before A
    recorded the ref. B must wait for A, then find jira:N linked, not make a second link."""
    rig.traced["jira"].latency = 0.3  # A sits in jira's create long enough for B to arrive
    created = threading.Event()
    jira = rig.traced["jira"]
    real_create = jira.create

    def create(draft: Draft) -> NativeTicket:
        native = real_create(draft)
        created.set()
        time.sleep(0.3)  # the tracker answered; A is yet to record the ref
        return native

    jira.create = create  # type: ignore[method-assign]
    ticket = rig.world.zendesk.open_ticket("Broken", kind="incident", status="new")
    rig.start(workers=4)
    rig.deliver("zendesk", ticket)
    assert created.wait(10)
    counterpart = rig.world.counterpart("jira", f"zendesk:{ticket}")
    rig.deliver("jira", counterpart.id)
    rig.drained()
    assert rig.failures() == []
    links = rig.store.links()
    assert [link.key for link in links] == [f"zendesk:{ticket}"]
    assert links[0].refs["jira"].native_id == counterpart.id
    assert len(rig.world.jira.tickets) == 1 and len(rig.world.clickup.tickets) == 1


@pytest.mark.parametrize("trouble", ["slow", "rate_limited"])
def test_a_slow_tracker_does_not_delay_another_trackers_deliveries(
    make_rig: Callable[..., Rig], trouble: str
) -> None:
    rig = make_rig(
        routes=(Route(source="zendesk", targets=("jira",), kinds=frozenset({Kind.SUPPORT})),),
    )
    rig.world.engine = Engine(  # really sleeps through retry-after, as in production
        rig.store,
        rig.world.adapters,
        rig.world.policy,
        retry=CallRetry(rig.world.policy.retry, rng=random.Random(7)),
        clock=rig.clock,
    )
    origins = [
        rig.world.zendesk.open_ticket(f"T{n}", kind="incident", status="new") for n in range(3)
    ]
    rig.world.settle()
    jira = [rig.world.counterpart("jira", f"zendesk:{t}").id for t in origins]
    slow = [rig.world.clickup.open_ticket(f"S{n}", status="Open") for n in range(6)]
    clickup = rig.world.clickup
    if trouble == "slow":
        rig.traced["clickup"].latency = 1.0
    else:
        for ticket in slow:  # every read: two 429s asking for 0.5 s each, then an answer
            clickup.inject("read", "rate_limited", 0.5, ticket_id=ticket)
            clickup.inject("read", "rate_limited", 0.5, ticket_id=ticket)
    rig.feeds_read()  # the deliveries bring the work; clickup's poll is only slow
    daemon = rig.start(workers=4)
    try:
        for ticket in slow:
            rig.deliver("clickup", ticket)
        eventually(lambda: rig.probe.in_flight["clickup"] > 0 or clickup.calls.get("read", 0) > 0)
        started = time.monotonic()
        for ticket in origins:
            rig.edit("zendesk", ticket, priority="urgent")
            rig.deliver("zendesk", ticket)
        eventually(lambda: "zendesk" not in {i.tracker for i in rig.store.pending()}, timeout=20)
        took = time.monotonic() - started
        clickup_done = [e for e in rig.settled() if e.tracker == "clickup"]
    finally:
        daemon.stop()
    assert clickup_done == [], "zendesk's deliveries were served before any of clickup's"
    assert took < 5.0, f"zendesk's deliveries took {took:.2f}s behind a slow clickup"
    for ticket in jira:
        assert rig.world.jira.tickets[ticket].fields[Field.PRIORITY] == "Highest"


def test_no_inbox_row_is_processed_twice_and_a_storm_converges_with_each_change_applied_once(
    rig: Rig,
) -> None:
    links = rig.linked(12)
    daemon = rig.start(workers=4)
    feeding: list[tuple[str, str]] = []
    for n, link in enumerate(links):
        rig.edit("zendesk", link["zendesk"], priority="urgent")
        rig.edit("jira", link["jira"], description=f"seen by engineering {n}")
        rig.edit("clickup", link["clickup"], title=f"Ticket {n}, planned")
        with rig.probe.guard("jira"):
            rig.world.jira.comment(link["jira"], AGENT, f"Looking at it ({n})", public=False)
        feeding += [(tracker, ticket) for tracker, ticket in link.items()] * 3
    random.Random(3).shuffle(feeding)

    def feed(part: list[tuple[str, str]]) -> None:
        for tracker, ticket in part:
            rig.deliver(tracker, ticket)

    feeders = [  # two receivers storing at once
        threading.Thread(target=feed, args=(half,)) for half in (feeding[::2], feeding[1::2])
    ]
    for feeder in feeders:
        feeder.start()
    for feeder in feeders:
        feeder.join()
    rig.drained()
    daemon.stop()

    settled = Counter(rig.store.settled)
    assert [row for row, n in settled.items() if n > 1] == [], "an inbox row was settled twice"
    assert rig.failures() == []
    assert len(settled) == len(feeding) == sum(e.deliveries for e in rig.settled())
    assert rig.probe.overlaps == []
    for n, link in enumerate(links):
        for tracker, ticket in link.items():
            fields = rig.world.trackers[tracker].tickets[ticket].fields
            assert fields[Field.DESCRIPTION] == f"seen by engineering {n}"
            assert fields[Field.TITLE] == f"Ticket {n}, planned"
        record = rig.store.link_for("zendesk", link["zendesk"])
        assert record is not None
        writes = Counter(
            (a.field, a.target) for a in rig.store.audit(record.id) if a.target is not None
        )
        for field, source in (
            ("priority", "zendesk"),
            ("description", "jira"),
            ("title", "clickup"),
        ):
            for target in {"zendesk", "jira", "clickup"} - {source}:
                assert writes[(field, target)] == 1, (link, field, target, writes)
        for tracker in ("zendesk", "clickup"):
            mirrors = [
                c
                for c in rig.world.trackers[tracker].tickets[link[tracker]].comments
                if f"Looking at it ({n})" in c.body
            ]
            assert len(mirrors) == 1, (tracker, link)


def test_stop_finishes_the_links_in_hand_and_leaves_the_rest_in_the_inbox(rig: Rig) -> None:
    links = rig.linked(10)
    rig.traced["jira"].latency = 0.05
    for link in links:
        rig.edit("zendesk", link["zendesk"], priority="urgent")
        rig.deliver("zendesk", link["zendesk"])
    rig.feeds_read()  # only the deliveries carry the changes
    daemon = rig.start(workers=2)
    eventually(lambda: len(rig.settled()) >= 1)
    daemon.stop()
    assert not daemon.alive()
    assert rig.engine.in_hand() == 0
    left = {item.ticket_id for item in rig.store.pending()}
    done = {e.ticket_id for e in rig.settled()}
    assert left, "the stop came before the inbox was drained"
    assert left | done == {link["zendesk"] for link in links} and not left & done
    for link in links:  # what was taken was finished; what was left was not started
        priority = rig.world.jira.tickets[link["jira"]].fields[Field.PRIORITY]
        assert (priority == "Highest") == (link["zendesk"] in done), link

    again = rig.start(workers=2)
    rig.drained()
    again.stop()
    for link in links:
        assert rig.world.jira.tickets[link["jira"]].fields[Field.PRIORITY] == "Highest"


@pytest.mark.slow
def test_fifty_changes_a_second_across_three_trackers_all_arrive(rig: Rig) -> None:
    """Every change of a steady 50 a second, made in any of the three trackers, reaches the
    other two: each delivery is settled, and each link ends on its last title everywhere.

    How fast is the benchmarks' business (``python -m bench --only propagation``); the
    latencies seen here are only printed.
    """
    links = rig.linked(30)
    daemon = rig.start(workers=4)
    rng = random.Random(11)
    changes = 150
    last: dict[int, str] = {}
    start = time.monotonic()
    for n in range(changes):
        index = rng.randrange(len(links))
        link = links[index]
        tracker = ("zendesk", "jira", "clickup")[n % 3]
        rig.edit(tracker, link[tracker], title=f"change {n}")
        rig.deliver(tracker, link[tracker])
        last[index] = f"change {n}"
        time.sleep(max(0.0, start + (n + 1) / 50 - time.monotonic()))
    rig.drained(timeout=120)
    daemon.stop()
    settled = rig.settled()
    assert sum(e.deliveries for e in settled) == changes
    for index, title in last.items():
        for tracker, ticket_id in links[index].items():
            with rig.probe.guard(tracker):
                held = rig.world.trackers[tracker].tickets[ticket_id].fields[Field.TITLE]
            assert held == title, f"{tracker}:{ticket_id} holds {held!r}, not {title!r}"
    latencies = sorted(e.latency for e in settled)
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"\n50 changes/s: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms (not asserted)"
    )


def test_a_ring_wakes_one_idle_worker_and_a_ring_while_it_looked_is_not_slept_through() -> None:
    bell = Bell()
    rung = bell.rung
    bell.ring()  # a delivery stored while the worker looked at the inbox
    started = time.monotonic()
    bell.wait(rung, timeout=5)
    assert time.monotonic() - started < 1, "the worker looks again at once"

    woken: list[str] = []
    since = bell.rung

    def idle(name: str) -> None:
        bell.wait(since, timeout=3)
        woken.append(name)

    threads = [threading.Thread(target=idle, args=(f"w{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # all three wait
    bell.ring()
    time.sleep(0.5)
    assert len(woken) == 1, "one delivery, one worker"
    bell.ring(workers=3)  # stop wakes them all
    for thread in threads:
        thread.join(5)
    assert len(woken) == 3
