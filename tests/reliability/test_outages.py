"""A tracker down for a while, over real HTTP: its fake answers 503, then refuses connections,
while people go on editing the same tickets in the other two; once it is back, everything
converges and nothing is lost, doubled or made public.

A blip (4 s), a longer outage (``TICKET_BRIDGE_RELIABILITY_SECONDS``, default 30: long enough
for a link edited at its start to fail several times and back off), and a new ticket opened
during an outage. The minute-long variant runs only with ``TICKET_BRIDGE_RELIABILITY_LONG=1``.
Each run prints its seed; ``TICKET_BRIDGE_RELIABILITY_SEED`` replays it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.daemon.test_end_to_end import stop
from tests.reliability.site import LONG, FaultySite, People, assert_sound, env_number, seeded

SHORT_OUTAGE = env_number("TICKET_BRIDGE_RELIABILITY_SECONDS", 30.0)
LONG_OUTAGE = 60.0
TICKETS = 4
POLL = 7.0
"""Seconds between polls: Zendesk's incremental export allows 10 a minute, and a poller sleeping
out its 429 in a call retry holds up the daemon's SIGTERM for up to 30 s."""


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def outage(
    tmp_path: Path, stack: ExitStack, down: str, seconds: float, *, open_during: bool = False
) -> None:
    """``down`` answers 503 for the first half of ``seconds`` and refuses connections for the
    second, while people edit the linked tickets in the other two (and, with ``open_during``,
    open a new ticket in Zendesk that ``down`` must get a counterpart of)."""
    rng = seeded(f"{down} down for {seconds:.0f}s")
    site = FaultySite(tmp_path, stack, poll_interval=POLL)
    process = site.start_daemon()
    stack.callback(stop, process)
    site.subscribe()
    zendesk_ids = [
        site.zendesk.open_ticket(f"Checkout fails {n}", f"Since today ({n})", type="incident")
        for n in range(TICKETS)
    ]
    site.settle("tickets linked in all three trackers")
    links = [site.store.link_for("zendesk", str(z)) for z in zendesk_ids]
    refs = [{t: r.native_id for t, r in link.refs.items()} for link in links if link is not None]
    assert len(refs) == TICKETS and all(len(r) == 3 for r in refs), refs

    people = People(site, rng, "during the outage")
    gate = site.gates[down]
    healthy = [t for t in ("zendesk", "jira", "clickup") if t != down]
    started = time.monotonic()
    gate.mode = "503"
    opened_during = False
    while (elapsed := time.monotonic() - started) < seconds:
        if elapsed >= seconds / 2 and site.served[down] is not None:
            site.take_down(down)  # from now on its port refuses connections
        if open_during and not opened_during and elapsed >= seconds / 4:
            # a new ticket whose counterpart in the tracker that is down can only come later
            site.zendesk.open_ticket("Refunds stuck", "Since the outage", type="incident")
            opened_during = True
        link = rng.choice(refs)
        tracker = rng.choice(healthy)
        people.act(tracker, link[tracker])
        time.sleep(rng.uniform(0.1, 0.6))
    assert any(a.status == 503 for a in gate.answers), "the daemon never met the 503s"
    print(f"{len(people.done)} edits while {down} was down")
    gate.mode = "up"
    site.bring_back(down)
    dead = [f"{link.key}: {link.reason}" for link in site.store.links(state="dead")]
    assert not dead, f"dead-lettered by the outage: {dead}"
    site.settle(f"{down} is back")  # looks at active links only: assert_sound counts them all

    assert_sound(site, links=TICKETS + opened_during)
    stopping = time.monotonic()
    stop(process)
    assert process.returncode == 0, site.output.read_text(encoding="utf-8")
    print(f"stopped in {time.monotonic() - stopping:.1f}s")
    site.assert_no_secret_printed()


BLIP = 4.0
"""Short enough that no link can spend its attempts (five, with at least ~5 s of backoff)."""


def test_jira_down_briefly_then_everything_converges(tmp_path: Path, stack: ExitStack) -> None:
    outage(tmp_path, stack, "jira", BLIP)


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="set TICKET_BRIDGE_RELIABILITY_LONG=1 for the long variant")
def test_clickup_down_briefly_then_everything_converges(tmp_path: Path, stack: ExitStack) -> None:
    outage(tmp_path, stack, "clickup", BLIP)


def test_jira_down_for_a_while_then_everything_converges(tmp_path: Path, stack: ExitStack) -> None:
    outage(tmp_path, stack, "jira", SHORT_OUTAGE)


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="set TICKET_BRIDGE_RELIABILITY_LONG=1 for the long variant")
def test_jira_down_for_a_minute_then_everything_converges(tmp_path: Path, stack: ExitStack) -> None:
    outage(tmp_path, stack, "jira", LONG_OUTAGE)


def test_a_ticket_opened_while_jira_is_down_gets_its_issue_once_jira_is_back(
    tmp_path: Path, stack: ExitStack
) -> None:
    outage(tmp_path, stack, "jira", BLIP, open_during=True)
