"""The receivers over real HTTP: verified deliveries are stored and answered 202, nothing else is."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence

import pytest
import requests

from tests.conftest import TickingClock
from tests.world import World
from ticket_bridge.adapters.memory import webhooks
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.events import PollFailed
from ticket_bridge.bridge.model import Field
from ticket_bridge.bridge.store import Store
from ticket_bridge.daemon.metrics import Metrics
from ticket_bridge.daemon.receivers import receivers
from ticket_bridge.daemon.runner import Daemon


@pytest.fixture
def world(store: Store, clock: TickingClock) -> World:
    return World(store, clock)


@pytest.fixture
def metrics(world: World) -> Metrics:
    observed = Metrics()
    world.engine.retry.listeners.append(observed.retried)
    return observed


@pytest.fixture
def daemon(world: World, metrics: Metrics) -> Daemon:
    return Daemon(world.engine, poll_interval=3600, on_event=metrics.observe)


@pytest.fixture
def served(world: World, daemon: Daemon, metrics: Metrics) -> Iterator[tuple[Served, Metrics]]:
    app = receivers(
        world.store,
        world.adapters,
        metrics,
        ready=daemon.problems,
        accepted=daemon.accepted,
    )
    with Served(app) as running:
        yield running, metrics


def signed(world: World, delivery: str, ticket: str) -> tuple[dict[str, str], bytes]:
    secret = world.engine.adapters["zendesk"].config.webhook_secret  # type: ignore[attr-defined]
    return webhooks.deliver(secret, delivery, ticket)


def test_a_verified_delivery_is_stored_once_and_answered_202(
    world: World, served: tuple[Served, Metrics]
) -> None:
    running, _ = served
    headers, body = signed(world, "d-1", "7")
    first = requests.post(f"{running.url}/webhooks/zendesk", data=body, headers=headers, timeout=5)
    again = requests.post(f"{running.url}/webhooks/zendesk", data=body, headers=headers, timeout=5)
    assert (first.status_code, first.json()) == (202, {"accepted": 1, "duplicates": 0, "seen": 0})
    assert (again.status_code, again.json()) == (202, {"accepted": 0, "duplicates": 1, "seen": 0})
    assert [i.ticket_id for i in world.store.pending()] == ["7"]
    text = requests.get(f"{running.url}/metrics", timeout=5).text
    assert 'ticket_bridge_deliveries_total{outcome="accepted",tracker="zendesk"} 1.0' in text
    assert "ticket_bridge_inbox_depth 1.0" in text


@pytest.mark.parametrize(
    ("mangle", "status"),
    [
        (lambda h, b: ({}, b), 401),
        (lambda h, b: (h, b + b" "), 401),
        (lambda h, b: (h, b"x" * (2 * 1024 * 1024)), 413),
    ],
)
def test_a_bad_delivery_gets_a_clear_4xx_and_never_reaches_the_inbox(
    world: World, served: tuple[Served, Metrics], mangle, status: int
) -> None:
    running, _ = served
    headers, body = mangle(*signed(world, "d-2", "7"))
    answer = requests.post(f"{running.url}/webhooks/zendesk", data=body, headers=headers, timeout=5)
    assert answer.status_code == status
    assert answer.json()["error"]
    assert world.store.inbox_depth() == 0


def test_an_unknown_tracker_is_404(world: World, served: tuple[Served, Metrics]) -> None:
    running, _ = served
    headers, body = signed(world, "d-3", "7")
    answer = requests.post(
        f"{running.url}/webhooks/servicenow", data=body, headers=headers, timeout=5
    )
    assert answer.status_code == 404 and "servicenow" in answer.json()["error"]


def test_health_and_readiness(world: World, served: tuple[Served, Metrics], daemon: Daemon) -> None:
    running, _ = served
    assert requests.get(f"{running.url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{running.url}/readyz", timeout=5).status_code == 200
    daemon.health.observe(PollFailed(tracker="jira", error="jira: 503"))
    answer = requests.get(f"{running.url}/readyz", timeout=5)
    assert answer.status_code == 503 and "jira" in json.dumps(answer.json())


def test_a_delivery_wakes_the_worker_and_the_change_propagates(
    world: World, served: tuple[Served, Metrics], daemon: Daemon
) -> None:
    running, _ = served
    ticket = world.zendesk.open_ticket("Broken", kind="incident", status="new")
    world.settle()
    daemon.start()
    try:
        world.zendesk.edit(ticket, priority="urgent")
        headers, body = signed(world, "d-4", ticket)
        requests.post(f"{running.url}/webhooks/zendesk", data=body, headers=headers, timeout=5)
        deadline = time.monotonic() + 10
        while world.store.inbox_depth() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        daemon.stop()
    assert world.counterpart("jira", f"zendesk:{ticket}").fields[Field.PRIORITY] == "Highest"
    text = requests.get(f"{running.url}/metrics", timeout=5).text
    assert "ticket_bridge_propagation_seconds_count 1.0" in text
    assert 'ticket_bridge_writes_total{kind="field",tracker="jira"}' in text


def test_a_stopped_daemon_leaves_the_rest_of_the_inbox_for_the_next_start(
    world: World, daemon: Daemon
) -> None:
    tickets = [world.zendesk.open_ticket(f"T{n}", kind="incident", status="new") for n in range(3)]
    for n, ticket in enumerate(tickets):
        world.store.enqueue("zendesk", f"d-{n}", ticket)
    events: list[object] = []
    stop_after_first = lambda: bool(events)  # noqa: E731
    for event in world.engine.drain_inbox(stop_after_first):
        events.append(event)
    assert world.store.inbox_depth() == 2, "only the first ticket was taken before the stop"
    list(world.engine.drain_inbox())
    assert world.store.inbox_depth() == 0
    for ticket in tickets:
        world.counterpart("jira", f"zendesk:{ticket}")


def test_the_worker_outlives_a_failure_and_reports_it_until_it_passes(
    world: World, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = world.adapters["jira"]
    real = adapter.changes
    calls: list[str | None] = []

    def failing_once(cursor: str | None):
        calls.append(cursor)
        if len(calls) == 1:
            raise RuntimeError("a bug on one round")
        return real(cursor)

    monkeypatch.setattr(adapter, "changes", failing_once)
    events: list[object] = []
    daemon.on_event = events.append
    daemon.failure_pause = 0.01
    daemon.poll_interval = 0.05
    daemon.start()
    try:
        deadline = time.monotonic() + 10
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        daemon.stop()
    assert len(calls) >= 3, "the worker kept polling after the failure"
    failures = [e for e in events if isinstance(e, PollFailed) and e.tracker == "worker"]
    assert [f.error for f in failures] == ["RuntimeError: a bug on one round"]
    assert daemon.problems() == [], "reported while it lasted, cleared once a round passed"
    assert daemon.threads and not daemon.alive()


def test_a_delivery_about_a_version_already_seen_is_answered_but_not_stored(
    world: World, metrics: Metrics, daemon: Daemon
) -> None:
    """The echo of the bridge's own write: a 202, so the tracker does not send it again, and
    nothing in the inbox for a worker to read."""
    app = receivers(
        world.store,
        world.adapters,
        metrics,
        ready=daemon.problems,
        seen=lambda h: h.ticket_id == "7",
    )
    with Served(app) as running:
        for delivery, ticket in (("d-1", "7"), ("d-2", "8")):
            headers, body = signed(world, delivery, ticket)
            answer = requests.post(
                f"{running.url}/webhooks/zendesk", data=body, headers=headers, timeout=5
            )
            assert answer.status_code == 202
        text = requests.get(f"{running.url}/metrics", timeout=5).text
    assert answer.json() == {"accepted": 1, "duplicates": 0, "seen": 0}
    assert [i.ticket_id for i in world.store.pending()] == ["8"]
    assert 'ticket_bridge_deliveries_total{outcome="seen",tracker="zendesk"} 1.0' in text


def test_an_echo_of_the_bridges_own_write_is_answered_but_not_stored(
    world: World, metrics: Metrics, daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory deliveries name no actor: here they say the bridge's own account made ticket 7's
    change, as the trackers' deliveries do (each adapter's contract test checks it can)."""
    zendesk = world.adapters["zendesk"]
    parse = zendesk.parse_webhook

    def echoing(headers: Mapping[str, str], body: bytes) -> Sequence[Hint]:
        return [h.model_copy(update={"echo": h.ticket_id == "7"}) for h in parse(headers, body)]

    monkeypatch.setattr(zendesk, "parse_webhook", echoing)
    app = receivers(world.store, world.adapters, metrics, ready=daemon.problems)
    with Served(app) as running:
        answers = []
        for delivery, ticket in (("d-1", "7"), ("d-2", "8")):
            headers, body = signed(world, delivery, ticket)
            answers.append(
                requests.post(
                    f"{running.url}/webhooks/zendesk", data=body, headers=headers, timeout=5
                ).json()
            )
    assert answers == [
        {"accepted": 0, "duplicates": 0, "seen": 1},
        {"accepted": 1, "duplicates": 0, "seen": 0},
    ]
    assert [i.ticket_id for i in world.store.pending()] == ["8"]
