"""The end-to-end ``Site`` with faults: each fake behind a switchable gate, servers that can go away.

``FaultySite`` is the ``Site`` of ``tests/daemon/test_end_to_end.py`` (the three fakes over real
HTTP, a sandbox config, ``ticket-bridge run`` as a subprocess) with two additions:

- every fake is served through a ``Gate``, an ASGI wrapper that answers 503 or 429 instead of the
  fake, or delays each answer, while a test says so, and records how long each answer took;
- ``take_down``/``bring_back`` stop a fake's server (connections refused) and serve it again on
  the same port, so the daemon's config still points at it.

The invariant checks every reliability test ends with are here too.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.daemon.test_end_to_end import Site, free_port, whole_backlog
from ticket_bridge.adapters import scenario
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.serving import FakeTracker, Served
from ticket_bridge.adapters.zendesk.fake import FakeZendesk
from ticket_bridge.bridge.adapter import Adapter
from ticket_bridge.bridge.agreement import link_disagreements
from ticket_bridge.bridge.model import Visibility
from ticket_bridge.bridge.store import Store
from ticket_bridge.cli import adapters_for, sandbox_config
from ticket_bridge.settings import load

SECRET_KEYS = ("api_token", "token", "webhook_secret", "oauth_client_secret")


def env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


LONG = os.environ.get("TICKET_BRIDGE_RELIABILITY_LONG") == "1"
"""Whether the long variants run (``TICKET_BRIDGE_RELIABILITY_LONG=1``); CI runs the short ones."""


def seeded(label: str) -> random.Random:
    """A generator whose seed is printed (shown with a failure) and can be forced with
    ``TICKET_BRIDGE_RELIABILITY_SEED`` to replay a failing run."""
    raw = os.environ.get("TICKET_BRIDGE_RELIABILITY_SEED", "").strip()
    seed = int(raw) if raw else random.SystemRandom().randrange(2**32)
    print(f"{label}: seed {seed} (TICKET_BRIDGE_RELIABILITY_SEED={seed} replays it)")
    return random.Random(seed)


@dataclass
class Answer:
    started: float
    seconds: float
    status: int


@dataclass
class Gate:
    """What a fake's clients meet first: the fake itself, or a fault a test switched on.

    ``mode`` is ``"up"`` (the fake answers), ``"503"`` (every request answered 503, Service
    Unavailable, with no Retry-After) or ``"429"`` (every request answered 429 with
    ``Retry-After: retry_after``); ``delay`` holds every answer that many seconds first (without
    blocking the fake's other requests). ``answers`` records each request's outcome.
    """

    inner: ASGIApp
    mode: str = "up"
    delay: float = 0.0
    retry_after: int = 1
    answers: list[Answer] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        started = time.monotonic()
        status = 0

        async def noting(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        if self.delay:
            await asyncio.sleep(self.delay)
        mode = self.mode
        if mode == "503":
            await JSONResponse({"error": "Service Unavailable"}, status_code=503)(
                scope, receive, noting
            )
        elif mode == "429":
            await JSONResponse(
                {"error": "TooManyRequests", "description": "rate limit exceeded"},
                status_code=429,
                headers={"Retry-After": str(self.retry_after)},
            )(scope, receive, noting)
        else:
            await self.inner(scope, receive, noting)
        self.answers.append(Answer(started, time.monotonic() - started, status))

    def since(self, moment: float) -> list[Answer]:
        return [a for a in self.answers if a.started >= moment]


class FaultySite(Site):
    """``Site`` whose fakes sit behind ``Gate``s and whose servers can be stopped and restarted.

    ``routes`` replaces the sandbox config's ``[[routes]]`` when given; ``workers`` sets
    ``[daemon] workers``.
    """

    def __init__(
        self,
        tmp: Path,
        stack: ExitStack,
        *,
        poll_interval: float,
        routes: str | None = None,
        workers: int | None = None,
    ) -> None:
        # Site.__init__ serves the bare apps; this is the same set-up with a gate in front.
        self.jira, self.zendesk, self.clickup = FakeJira(), FakeZendesk(), FakeClickUp()
        self.fakes: dict[str, FakeTracker] = {
            "zendesk": self.zendesk,
            "jira": self.jira,
            "clickup": self.clickup,
        }
        self.lead = scenario.people(self.jira, self.zendesk, self.clickup)
        self.gates = {name: Gate(fake.app) for name, fake in self.fakes.items()}
        self.served: dict[str, Served | None] = {
            name: Served(gate) for name, gate in self.gates.items()
        }
        self.ports = {name: s.port for name, s in self.served.items() if s is not None}
        stack.callback(self._stop_servers)
        for fake in self.fakes.values():
            stack.callback(fake.stop)
        self.port = free_port()
        self.config = tmp / "ticket-bridge.toml"
        live = {name: s for name, s in self.served.items() if s is not None}
        text = sandbox_config(
            (self.jira, self.zendesk, self.clickup), live, self.port, tmp / "state.db"
        )
        text = text.replace("poll_interval = 30", f"poll_interval = {poll_interval}")
        if workers is not None:
            text = text.replace("[daemon]\n", f"[daemon]\nworkers = {workers}\n", 1)
        if routes is not None:
            text = text[: text.index("[[routes]]")] + routes
        self.config.write_text(text, encoding="utf-8")
        loaded = load(self.config, read_env=False)
        self.policy = loaded.policy()
        self.checker: dict[str, Adapter] = adapters_for(loaded)
        self.store = Store.open(f"sqlite:///{tmp}/state.db")
        stack.callback(self.store.close)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_BRIDGE_")}
        self.output = tmp / "daemon.log"

    def _stop_servers(self) -> None:
        for served in self.served.values():
            if served is not None:
                served.stop()

    def take_down(self, name: str) -> None:
        """Stop the fake's server: connections to its port are refused until ``bring_back``."""
        served = self.served[name]
        assert served is not None, f"{name} is already down"
        served.stop()
        self.served[name] = None

    def bring_back(self, name: str) -> None:
        """Serve the fake (its state intact) on the port the config names."""
        assert self.served[name] is None, f"{name} is up"
        deadline = time.monotonic() + 10
        while True:
            try:
                self.served[name] = Served(self.gates[name], port=self.ports[name])
                return
            except OSError:  # the old socket may linger a moment
                assert time.monotonic() < deadline, f"cannot listen on {name}'s port again"
                time.sleep(0.2)

    def secrets(self) -> list[str]:
        found = []
        for line in self.config.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition(" = ")
            if sep and key in SECRET_KEYS:
                found.append(value.strip().strip('"'))
        assert len(found) >= 6, found  # three webhook secrets, the Zendesk OAuth secret, two tokens
        return found

    def assert_no_secret_printed(self) -> None:
        log = self.output.read_text(encoding="utf-8")
        for secret in self.secrets():
            assert secret not in log, "a secret from the config appears in the daemon's output"


# -- what must hold at the end of every run ---------------------------------------------------


def tickets_by_key(adapter: Adapter) -> dict[str, list[str]]:
    """Correlation key -> ids of the tickets carrying it, over the tracker's whole backlog."""
    keys: dict[str, list[str]] = {}
    for native in whole_backlog(adapter):
        if native.correlation_key:
            keys.setdefault(native.correlation_key, []).append(native.id)
    return keys


def assert_sound(site: Site, *, links: int) -> None:
    """No duplicate ticket, every link active, every comment mirrored exactly once everywhere, and
    no internal comment public in Zendesk; ``links`` is how many links the run must have made."""
    everything = site.store.links()
    states = Counter(link.state for link in everything)
    assert states == {"active": links}, f"links by state: {dict(states)} (want {links} active)"
    linked: dict[str, set[str]] = {name: set() for name in site.checker}
    for link in everything:
        for tracker, ref in link.refs.items():
            linked[tracker].add(ref.native_id)
    for tracker, adapter in site.checker.items():
        for key, ids in tickets_by_key(adapter).items():
            assert len(ids) == 1, f"{key} is carried by {len(ids)} tickets in {tracker}: {ids}"
        ids = [native.id for native in whole_backlog(adapter)]
        assert len(ids) == len(set(ids)), f"{tracker} lists a ticket twice"
        assert set(ids) == linked[tracker], (
            f"{tracker}: tickets not linked {sorted(set(ids) - linked[tracker])}, "
            f"links to tickets it lacks {sorted(linked[tracker] - set(ids))}"
        )
    for link in everything:
        comments = {
            tracker: site.checker[tracker].comments(ref.native_id)
            for tracker, ref in link.refs.items()
        }
        originals = {
            f"{tracker}:{c.id}": c
            for tracker, held in comments.items()
            for c in held
            if c.mirror_of is None
        }
        for tracker, held in comments.items():
            mirrored = Counter(c.mirror_of for c in held if c.mirror_of is not None)
            want = {key for key in originals if not key.startswith(f"{tracker}:")}
            doubled = sorted(k for k, n in mirrored.items() if n > 1)
            assert not doubled, f"link {link.key}: {tracker} holds {doubled} more than once"
            assert set(mirrored) == want, (
                f"link {link.key}: {tracker} lacks mirrors of {sorted(want - set(mirrored))}, "
                f"holds mirrors of no original {sorted(set(mirrored) - want)}"
            )
            if tracker != "zendesk":
                continue
            for c in held:
                source = originals.get(c.mirror_of) if c.mirror_of else c
                assert source is not None
                if source.visibility is Visibility.INTERNAL or c.mirror_of is not None:
                    # internal stays internal; Jira's and ClickUp's public ones arrive as notes
                    assert c.visibility is Visibility.INTERNAL, (
                        f"link {link.key}: zendesk comment {c.id} is public: {c.body[:80]!r}"
                    )


def settle_within(site: Site, label: str, seconds: float) -> float:
    """``Site.settle`` with a deadline of its own: seconds until every active link agrees with
    its trackers three looks in a row and the inbox is empty."""
    started = time.monotonic()
    quiet = 0
    problems: list[str] = []
    while quiet < 3:
        assert time.monotonic() - started < seconds, (
            f"{label}: not converged within {seconds:.0f}s: {problems[:5]}"
        )
        time.sleep(0.3)
        problems = [
            p
            for link in site.store.links(state="active")
            for p in link_disagreements(link, site.store, site.checker, site.policy)
        ]
        quiet = 0 if problems or site.store.inbox_depth() else quiet + 1
    took = time.monotonic() - started
    print(f"{took:.1f}s: {label}")
    return took


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``check()`` is true; fails after ``timeout``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout:.0f}s"
        time.sleep(0.1)
    return time.monotonic() - started


class People:
    """People editing linked tickets in the fakes, at random (from ``rng``): status, priority, and
    public and internal comments, each comment body unique."""

    ZENDESK_STATUSES = ("open", "pending", "hold")
    ZENDESK_PRIORITIES = ("low", "normal", "high", "urgent")
    JIRA_STATUSES = ("To Do", "In Progress")
    JIRA_PRIORITIES = ("Highest", "High", "Medium", "Low")
    CLICKUP_STATUSES = ("pending", "needs clarification", "planned", "in progress")

    def __init__(self, site: Site, rng: random.Random, label: str) -> None:
        self.site = site
        self.rng = rng
        self.label = label
        self.count = 0
        self.done: list[str] = []

    def act(self, tracker: str, ticket: str) -> str:
        """One edit of ``ticket`` in ``tracker`` as a person would make it; returns what it was."""
        self.count += 1
        what = self.rng.choice(("status", "priority", "public", "internal"))
        text = f"{self.label} {self.count}: {what} note from {tracker}"
        site, rng = self.site, self.rng
        if tracker == "zendesk":
            number = int(ticket)
            if what == "status":
                site.zendesk.edit(number, status=rng.choice(self.ZENDESK_STATUSES))
            elif what == "priority":
                site.zendesk.edit(number, priority=rng.choice(self.ZENDESK_PRIORITIES))
            else:
                site.zendesk.comment(number, text, public=what == "public")
        elif tracker == "jira":
            if what == "status":
                site.jira.move(ticket, rng.choice(self.JIRA_STATUSES))
            elif what == "priority":
                site.jira.edit(ticket, priority=rng.choice(self.JIRA_PRIORITIES))
            elif what == "public":
                site.jira.comment(ticket, text, author="557058:kim")
            else:
                role = {"type": "role", "value": "Administrators"}
                site.jira.comment(ticket, text, author="557058:kim", visibility=role)
        elif tracker == "clickup":
            if what == "status":
                site.clickup.edit_task(
                    ticket, by=site.lead, status=rng.choice(self.CLICKUP_STATUSES)
                )
            elif what == "priority":
                site.clickup.edit_task(ticket, by=site.lead, priority=rng.randint(1, 4))
            else:
                prefix = "[internal] " if what == "internal" else ""
                site.clickup.comment(ticket, prefix + text, by=site.lead)
        else:
            raise ValueError(tracker)
        done = f"{tracker}:{ticket} {what}"
        self.done.append(done)
        return done
