"""`ticket-bridge run` as a real process against the three fakes over loopback HTTP.

People edit tickets in each fake; the changes must reach the others through signed webhooks,
and, with webhooks switched off, through polling alone. A SIGKILL in the middle of a backfill
must leave nothing duplicated or lost once the same command is run again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from ticket_bridge.adapters import scenario
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.serving import FakeTracker, Served
from ticket_bridge.adapters.zendesk.fake import FakeZendesk
from ticket_bridge.bridge.adapter import Adapter, BacklogQuery, NativeTicket
from ticket_bridge.bridge.agreement import link_disagreements
from ticket_bridge.bridge.model import Field, Visibility
from ticket_bridge.bridge.store import Store
from ticket_bridge.cli import adapters_for, sandbox_config
from ticket_bridge.settings import load

PATIENCE = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Site:
    """The three fakes, a config for them, and `ticket-bridge` processes run on it."""

    def __init__(self, tmp: Path, stack: ExitStack, *, poll_interval: float) -> None:
        self.jira, self.zendesk, self.clickup = FakeJira(), FakeZendesk(), FakeClickUp()
        self.fakes: dict[str, FakeTracker] = {
            "zendesk": self.zendesk,
            "jira": self.jira,
            "clickup": self.clickup,
        }
        self.lead = scenario.people(self.jira, self.zendesk, self.clickup)
        served = {name: stack.enter_context(Served(fake.app)) for name, fake in self.fakes.items()}
        for fake in self.fakes.values():
            stack.callback(fake.stop)
        self.port = free_port()
        self.config = tmp / "ticket-bridge.toml"
        text = sandbox_config(
            (self.jira, self.zendesk, self.clickup), served, self.port, tmp / "state.db"
        )
        self.config.write_text(
            text.replace("poll_interval = 30", f"poll_interval = {poll_interval}"),
            encoding="utf-8",
        )
        loaded = load(self.config, read_env=False)
        self.policy = loaded.policy()
        self.checker: dict[str, Adapter] = adapters_for(loaded)
        self.store = Store.open(f"sqlite:///{tmp}/state.db")
        stack.callback(self.store.close)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_BRIDGE_")}
        self.output = tmp / "daemon.log"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ticket_bridge", *args, "--config", str(self.config)]

    def start_daemon(self) -> subprocess.Popen[str]:
        log = self.output.open("a", encoding="utf-8")
        process = subprocess.Popen(
            self.command("run"), stdout=log, stderr=subprocess.STDOUT, env=self.env, text=True
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).ok:
                    return process
            except requests.ConnectionError:
                pass
            assert process.poll() is None, self.output.read_text(encoding="utf-8")
            assert time.monotonic() < deadline, "the daemon did not come up"
            time.sleep(0.1)

    def subscribe(self) -> None:
        for name, fake in self.fakes.items():
            fake.subscribe(f"http://127.0.0.1:{self.port}/webhooks/{name}")

    def counterpart(self, tracker: str, zendesk_id: str) -> str:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            link = self.store.link_for("zendesk", zendesk_id)
            if link is not None and tracker in link.refs:
                return link.refs[tracker].native_id
            time.sleep(0.2)
        raise AssertionError(f"zendesk:{zendesk_id} got no {tracker} counterpart")

    def settle(self, label: str) -> None:
        """Until every link agrees with its trackers three looks in a row, and the inbox is empty."""
        started = time.monotonic()
        deadline = started + PATIENCE
        quiet = 0
        problems: list[str] = ["nothing linked yet"]
        while quiet < 3:
            assert time.monotonic() < deadline, f"{label}: not converged: {problems[:5]}"
            time.sleep(0.3)
            links = self.store.links(state="active")
            problems = [
                p
                for link in links
                for p in link_disagreements(link, self.store, self.checker, self.policy)
            ]
            if not links:
                problems = ["nothing linked yet"]
            quiet = 0 if problems or self.store.inbox_depth() else quiet + 1
        print(f"{time.monotonic() - started:.1f}s: {label}")  # in the report of a failure


def whole_backlog(adapter: Adapter) -> list[NativeTicket]:
    """Every ticket the tracker holds, page by page."""
    tickets: list[NativeTicket] = []
    cursor: str | None = None
    while True:
        page = adapter.backlog(BacklogQuery(), cursor)
        tickets.extend(page.tickets)
        if page.cursor is None:
            return tickets
        cursor = page.cursor


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.parametrize("delivery", ["webhooks", "polling"])
def test_edits_in_each_fake_reach_the_others(
    tmp_path: Path, stack: ExitStack, delivery: str
) -> None:
    site = Site(tmp_path, stack, poll_interval=3600 if delivery == "webhooks" else 1)
    process = site.start_daemon()
    stack.callback(stop, process)
    if delivery == "webhooks":
        site.subscribe()
    scenario.play(site.jira, site.zendesk, site.clickup, site.settle, site.counterpart, site.lead)

    [outage] = [
        link for link in site.store.links() if link.canonical.title.startswith("Checkout returns")
    ]
    assert set(outage.refs) == {"zendesk", "jira", "clickup"}
    zendesk = site.checker["zendesk"]
    ticket_id = outage.refs["zendesk"].native_id
    assert (
        zendesk.translation.to_canonical(
            Field.STATUS, zendesk.read(ticket_id).fields[Field.STATUS], None
        )
        == outage.canonical.status
    )
    by_body = {
        c.body.split("\n\n")[1] if "\n\n" in c.body else c.body: c
        for c in zendesk.comments(ticket_id)
    }
    root_cause = next(c for body, c in by_body.items() if "Root cause" in body)
    assert root_cause.visibility is Visibility.INTERNAL, "a restricted Jira comment stays internal"
    for tracker, ref in outage.refs.items():
        bodies = [c.body for c in site.checker[tracker].comments(ref.native_id)]
        rotation = [b for b in bodies if "certificate rotation" in b]
        assert len(rotation) == 1, (tracker, "the ClickUp comment exactly once")
    stop(process)
    log = site.output.read_text(encoding="utf-8")
    assert process.returncode == 0, log
    for secret in ("api_token", "webhook_secret", "oauth_client_secret", "token"):
        for line in site.config.read_text(encoding="utf-8").splitlines():
            if line.startswith(f"{secret} = "):
                assert line.split(" = ", 1)[1].strip('"') not in log, f"{secret} leaked"


def test_a_backfill_killed_mid_way_finishes_on_the_next_run_doubling_nothing(
    tmp_path: Path, stack: ExitStack
) -> None:
    site = Site(tmp_path, stack, poll_interval=3600)
    text = site.config.read_text(encoding="utf-8")
    site.config.write_text(
        text.replace('mapping = "zendesk"\n', 'mapping = "zendesk"\nbacklog_page_size = 4\n', 1),
        encoding="utf-8",
    )
    tickets = []
    for n in range(24):
        ticket = site.zendesk.open_ticket(
            f"Old problem {n}", f"Reported long ago ({n})", requester=scenario.CUSTOMER
        )
        site.zendesk.comment(ticket, f"Any news on {n}?", public=True, author=scenario.CUSTOMER)
        site.zendesk.comment(ticket, f"Internal: customer {n} is VIP", public=False)
        tickets.append(str(ticket))
    command = site.command("backfill", "--from", "zendesk", "--json")
    first = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=site.env, text=True
    )
    assert first.stdout is not None
    steps = 0
    for line in first.stdout:
        if '"backfill_step"' in line:
            steps += 1
        if steps == 14:  # part-way through the third page
            first.send_signal(signal.SIGKILL)
            break
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL

    second = subprocess.run(
        command, check=False, capture_output=True, env=site.env, text=True, timeout=300
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert '"resumed":true' in second.stdout.splitlines()[0]

    for target in ("jira", "clickup"):
        adapter = site.checker[target]
        keys: dict[str, list[str]] = {}
        for native in whole_backlog(adapter):
            if native.correlation_key:
                keys.setdefault(native.correlation_key, []).append(native.id)
        assert sorted(keys) == sorted(f"zendesk:{t}" for t in tickets), target
        for key, ids in keys.items():
            assert len(ids) == 1, f"{key} has {len(ids)} counterparts in {target}"
            comments = adapter.comments(ids[0])
            mirrored = [c.mirror_of for c in comments if c.mirror_of]
            originals = site.checker["zendesk"].comments(key.removeprefix("zendesk:"))
            assert len(mirrored) == len(set(mirrored)) == len(originals), (target, key, mirrored)
            vip = [c for c in comments if "VIP" in c.body]
            assert [c.visibility for c in vip] == [Visibility.INTERNAL], (target, key)


def test_check_asks_each_live_tracker_for_what_the_mapping_needs(
    tmp_path: Path, stack: ExitStack
) -> None:
    site = Site(tmp_path, stack, poll_interval=3600)
    check = site.command("check")
    before = subprocess.run(check, check=False, capture_output=True, env=site.env, text=True)
    assert before.returncode == 0, before.stdout + before.stderr
    assert "warning  trackers.jira:" in before.stdout, "no webhook registered yet"

    site.subscribe()
    del site.jira.priorities["Highest"]
    after = subprocess.run(check, check=False, capture_output=True, env=site.env, text=True)
    assert after.returncode == 1
    assert "Highest" in after.stderr and "trackers.jira" in after.stderr
    assert "warning  trackers.jira:" not in after.stdout
    for name in ("zendesk", "clickup"):
        assert f"live     {name}: has what the mapping needs" in after.stdout
    text = site.config.read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith(("api_token = ", "webhook_secret = ", "token = ")):
            assert line.split(" = ", 1)[1].strip('"') not in after.stdout + after.stderr
