"""A webhook flood: every delivery of a busy hour, shuffled, a tenth of them twice, some at once.

``ticket-bridge run`` works on the three fakes over loopback. Their webhooks go through a relay
that forwards them to the daemon, or holds them: while people edit status, priority and comments
of many linked tickets in all three trackers, the relay keeps every signed delivery; then they
reach the daemon out of order, 10% of them twice (half of those racing their original from
another thread). Every change must be applied exactly once: one merge and one write per field
and target (the store's audit and the daemon's own events agree), each comment exactly once in
each tracker; and the trackers agree at the end with the inbox drained.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.daemon.test_end_to_end import Site, stop
from ticket_bridge.adapters.scenario import CUSTOMER
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.model import Visibility
from ticket_bridge.cli import adapters_for
from ticket_bridge.settings import load

LONG = os.environ.get("TICKET_BRIDGE_RELIABILITY_LONG") == "1"
LINKS = 150 if LONG else 30
TRACKERS = ("zendesk", "jira", "clickup")
UNPACED = "requests_per_minute = 100000"
HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "accept"}


@dataclass(frozen=True)
class Delivery:
    tracker: str
    headers: dict[str, str]
    body: bytes


class Relay:
    """Where the fakes send their webhooks: forwarded to the daemon, or held while ``holding``."""

    def __init__(self, daemon_url: str) -> None:
        self.daemon_url = daemon_url
        self.holding = False
        self.held: list[Delivery] = []
        self.lock = threading.Lock()
        self.last = time.monotonic()
        app = Starlette(routes=[Route("/{tracker}", self.receive, methods=["POST"])])
        self.served = Served(app)
        self.url = self.served.url

    async def receive(self, request: Request) -> Response:
        tracker = request.path_params["tracker"]
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k not in HOP_HEADERS}
        with self.lock:
            self.last = time.monotonic()
            if self.holding:
                self.held.append(Delivery(tracker, headers, body))
                return Response(status_code=202)
        answer = await run_in_threadpool(self.send, Delivery(tracker, headers, body))
        return Response(answer.content, answer.status_code)

    def send(self, delivery: Delivery) -> requests.Response:
        return requests.post(
            f"{self.daemon_url}/webhooks/{delivery.tracker}",
            data=delivery.body,
            headers=delivery.headers,
            timeout=10,
        )

    def quiet(self, seconds: float = 0.5, patience: float = 30.0) -> None:
        """Until no delivery arrived for ``seconds``: the fakes' senders have emptied their queues."""
        deadline = time.monotonic() + patience
        while time.monotonic() - self.last < seconds:
            assert time.monotonic() < deadline, "the fakes kept sending"
            time.sleep(0.1)

    def take(self) -> list[Delivery]:
        with self.lock:
            held, self.held, self.holding = self.held, [], False
        return held

    def close(self) -> None:
        self.served.stop()


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def start(tmp_path: Path, stack: ExitStack, extra_config: str = "") -> tuple[Site, Relay]:
    """The fakes, ``ticket-bridge run`` on them (events logged as JSON) and the relay between."""
    site = Site(tmp_path, stack, poll_interval=3600)  # webhooks only: polling would hide a loss
    text = site.config.read_text(encoding="utf-8")
    # the fakes answer at once: no need to pace
    text = re.sub(r"requests_per_minute = \d+", UNPACED, text)
    site.config.write_text(text + extra_config, encoding="utf-8")
    loaded = load(site.config, read_env=False)
    site.checker, site.policy = adapters_for(loaded), loaded.policy()
    site.env["TICKET_BRIDGE_LOG_FORMAT"] = "json"
    process = site.start_daemon()
    stack.callback(stop, process)
    relay = Relay(f"http://127.0.0.1:{site.port}")
    stack.callback(relay.close)
    for name, fake in site.fakes.items():
        fake.subscribe(f"{relay.url}/{name}")
    return site, relay


def events(site: Site, kind: str) -> list[dict[str, object]]:
    """The daemon's own events of one kind, from its JSON log."""
    found = []
    for line in site.output.read_text(encoding="utf-8").splitlines():
        if line.startswith("{") and f'"event":"{kind}"' in line.replace(" ", ""):
            found.append(json.loads(line))
    return found


def replay(
    relay: Relay, deliveries: list[Delivery], rng: random.Random
) -> tuple[Counter[int], Counter[int]]:
    """Shuffled, 10% twice (half of those right next to their original, so that they race),
    from four threads; returns how many were answered as accepted, and as already seen (a
    version the daemon has read meanwhile, by polling), by delivery."""
    order = list(range(len(deliveries)))
    rng.shuffle(order)
    twice = rng.sample(range(len(deliveries)), max(1, len(deliveries) // 10))
    for n, index in enumerate(twice):
        at = order.index(index) + 1 if n % 2 else rng.randrange(len(order) + 1)
        order.insert(at, index)
    accepted: Counter[int] = Counter()
    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def send(index: int) -> None:
        answer = relay.send(deliveries[index])
        assert answer.status_code == 202, answer.text
        with lock:
            accepted[index] += answer.json()["accepted"]
            seen[index] += answer.json()["seen"]

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, order))
    return accepted, seen


def test_a_shuffled_flood_with_duplicates_applies_every_change_exactly_once(
    tmp_path: Path, stack: ExitStack
) -> None:
    site, relay = start(tmp_path, stack)
    lead = site.lead
    tickets = [
        site.zendesk.open_ticket(
            f"Flood {n}",
            f"Flood ticket {n}",
            requester=CUSTOMER,
            priority="normal",
            type="incident",
        )
        for n in range(LINKS)
    ]
    site.settle("the tickets are linked in all three trackers")
    issues = {t: site.counterpart("jira", str(t)) for t in tickets}
    tasks = {t: site.counterpart("clickup", str(t)) for t in tickets}
    audited = {r.id for r in site.store.audit()}

    relay.holding = True
    expected: dict[tuple[str, str], str] = {}  # (zendesk id, field) -> the tracker that changed it
    tokens: dict[str, Visibility] = {}  # a comment's unique text -> its visibility at the origin
    for n, ticket in enumerate(tickets):
        issue, task = issues[ticket], tasks[ticket]
        status_from, priority_from = TRACKERS[n % 3], TRACKERS[(n + 1) % 3]
        expected[(str(ticket), "status")] = status_from
        expected[(str(ticket), "priority")] = priority_from
        # two edits each: only where a field ends up counts
        if status_from == "zendesk":
            site.zendesk.edit(ticket, status="open")
            site.zendesk.edit(ticket, status="solved")
        elif status_from == "jira":
            site.jira.move(issue, "Done")
            site.jira.move(issue, "In Progress")
        else:
            site.clickup.edit_task(task, by=lead, status="pending")
            site.clickup.edit_task(task, by=lead, status="in progress")
        if priority_from == "zendesk":
            site.zendesk.edit(ticket, priority="low")
            site.zendesk.edit(ticket, priority="high")
        elif priority_from == "jira":
            site.jira.edit(issue, priority="Lowest")
            site.jira.edit(issue, priority="Highest")
        else:
            site.clickup.edit_task(task, by=lead, priority=4)
            site.clickup.edit_task(task, by=lead, priority=1)
        for tracker in TRACKERS:
            # letters and digits only: Markdown from Jira's ADF escapes brackets and the like
            public, internal = f"flood{n}x{tracker}xpublic", f"flood{n}x{tracker}xinternal"
            tokens[public], tokens[internal] = Visibility.PUBLIC, Visibility.INTERNAL
            if tracker == "zendesk":
                site.zendesk.comment(ticket, public, public=True, author=CUSTOMER)
                site.zendesk.comment(ticket, internal, public=False)
            elif tracker == "jira":
                site.jira.comment(issue, public, author="557058:kim")
                restricted = {"type": "role", "value": "Administrators"}
                site.jira.comment(issue, internal, author="557058:kim", visibility=restricted)
            else:
                site.clickup.comment(task, public, by=lead)
                site.clickup.comment(task, f"[internal] {internal}", by=lead)
    relay.quiet()
    time.sleep(0.3)
    relay.quiet()
    deliveries = relay.take()  # from here on, the daemon's own echoes reach it at once
    assert {r.id for r in site.store.audit()} == audited, "nothing reached the daemon yet"
    assert len(deliveries) >= LINKS * 10, len(deliveries)

    accepted, seen = replay(relay, deliveries, random.Random(20261102))
    # What the bridge dedupes on: a tracker's retries of one delivery, and Zendesk's events of
    # one action that say the same of their ticket (a status and its custom status), are one.
    same: dict[tuple[str, str], list[int]] = {}
    for n, delivery in enumerate(deliveries):
        for hint in site.checker[delivery.tracker].parse_webhook(delivery.headers, delivery.body):
            same.setdefault((hint.tracker, hint.delivery_id), []).append(n)
    assert all(
        sum(accepted[n] for n in group) == 1
        or (sum(accepted[n] for n in group) == 0 and any(seen[n] for n in group))
        for group in same.values()
    ), "each delivery accepted once, however often sent, unless its version was already seen"
    site.settle("the flood is worked off")
    assert site.store.inbox_depth() == 0

    new = [r for r in site.store.audit() if r.id not in audited]
    links: dict[int, str] = {}
    for ticket in tickets:
        link = site.store.link_for("zendesk", str(ticket))
        assert link is not None
        links[link.id] = str(ticket)
    merges = Counter((links[r.link_id], r.field, r.source) for r in new if r.target is None)
    writes = Counter((links[r.link_id], r.field, r.target) for r in new if r.target is not None)
    for (ticket_id, field), source in expected.items():
        assert merges[(ticket_id, field, source)] == 1, (ticket_id, field, merges)
        for target in TRACKERS:
            want = 0 if target == source else 1
            assert writes[(ticket_id, field, target)] == want, (ticket_id, field, target, writes)
    others = {k for k in merges if (k[0], k[1]) not in expected and k[1] != "comment"}
    assert not others, f"merges nobody asked for: {sorted(others)}"
    # the daemon's own events say the same as its audit
    propagated = Counter(
        (str(e["field"]), str(e["target"])) for e in events(site, "field_propagated")
    )
    assert propagated == Counter((f, t) for (_, f, t) in writes.elements() if f != "comment")

    comment_writes = sum(n for (_, f, _), n in writes.items() if f == "comment")
    assert comment_writes == LINKS * 6 * 2, "each comment mirrored once into each other tracker"
    for n, ticket in enumerate(tickets):
        mine = {token for token in tokens if token.startswith(f"flood{n}x")}
        refs = {"zendesk": str(ticket), "jira": issues[ticket], "clickup": tasks[ticket]}
        for tracker, native_id in refs.items():
            comments = site.checker[tracker].comments(native_id)
            found = Counter(token for c in comments for token in mine if token in c.body)
            assert set(found) == mine and set(found.values()) == {1}, (tracker, ticket, found)
            if tracker != "zendesk":
                continue
            for comment in comments:
                token = next((t for t in mine if t in comment.body), None)
                if token is not None and tokens[token] is Visibility.INTERNAL:
                    assert comment.visibility is Visibility.INTERNAL, (ticket, comment.body)
