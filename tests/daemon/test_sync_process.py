"""`ticket-bridge run` in two processes: the receivers, and the sync side they start.

The sync side must die with the receivers, SIGKILL included (claims live in memory: a worker left
behind would race the restarted daemon's); the receivers must stop, saying why, when the sync
side ends unasked; and what the sync side learns (the tracker accounts, its sightings) must reach
the receivers, or every echo of the bridge's own writes would be stored and read again.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon.test_end_to_end import Site, stop
from ticket_bridge.bridge.errors import StoreError
from ticket_bridge.bridge.model import Field
from ticket_bridge.daemon.runner import Daemon
from ticket_bridge.daemon.sync_process import SyncSide, SyncSideFailed


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    return [int(child) for child in text.split()]


def sync_side(pid: int) -> int:
    """The run process's sync child (not multiprocessing's resource tracker)."""
    for child in children(pid):
        command = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in command:
            return child
    raise AssertionError(f"process {pid} has no sync side among {children(pid)}")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: Callable[[], object], what: str, patience: float = 30.0) -> None:
    deadline = time.monotonic() + patience
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def deliveries(port: int, tracker: str, outcome: str) -> int:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return round(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "ticket_bridge_deliveries_total"
            and sample.labels == {"tracker": tracker, "outcome": outcome}
        )
    )


pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="reads the process tree from /proc"
)


@pytest.fixture
def running(tmp_path: Path, stack: ExitStack) -> tuple[Site, subprocess.Popen[str]]:
    """The fakes, and `ticket-bridge run` on them (stopped at the end if still running)."""
    site = Site(tmp_path, stack, poll_interval=3600)
    process = site.start_daemon()
    stack.callback(lambda: stop(process))
    return site, process


def test_a_sigkilled_daemon_takes_its_sync_side_with_it(
    running: tuple[Site, subprocess.Popen[str]],
) -> None:
    _, process = running
    child = sync_side(process.pid)
    assert alive(child)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    wait_for(lambda: not alive(child), f"the sync side {child} outlived its receivers", 10.0)


def test_a_sync_side_that_ends_unasked_stops_the_daemon_with_an_error(
    running: tuple[Site, subprocess.Popen[str]],
) -> None:
    site, process = running
    subprocess.run(["kill", "-KILL", str(sync_side(process.pid))], check=True)
    process.wait(timeout=60)
    output = site.output.read_text(encoding="utf-8")
    assert process.returncode == 1, output
    assert "the sync process ended unasked (killed by SIGKILL)" in output
    assert "Traceback" not in output


def test_the_receivers_know_an_echo_by_the_account_the_sync_side_learned(
    running: tuple[Site, subprocess.Popen[str]],
) -> None:
    site, process = running
    wait_for(
        lambda: re.search(r"account_known: tracker=jira", site.output.read_text("utf-8")),
        "the sync side never reported Jira's account",
    )
    issue = site.jira.open_issue("Written by the bridge")
    site.subscribe()
    site.checker["jira"].update(issue, {Field.PRIORITY: "High"})  # as the bridge's account
    wait_for(
        lambda: deliveries(site.port, "jira", "seen") >= 1,
        f"the echo was not answered seen: {site.output.read_text('utf-8')}",
    )
    assert deliveries(site.port, "jira", "accepted") == 0
    assert [item.tracker for item in site.store.pending()] == []
    stop(process)
    assert process.returncode == 0, site.output.read_text(encoding="utf-8")


def unbuildable() -> Daemon:
    raise StoreError("the store at sqlite:///gone/state.db is locked by another process (open)")


def test_a_sync_side_that_cannot_start_says_why_in_one_line() -> None:
    side = SyncSide(unbuildable, adapters={})
    with pytest.raises(SyncSideFailed) as caught:
        side.start(timeout=60)
    assert caught.value.reason == (
        "could not start: the store at sqlite:///gone/state.db is locked by another process (open)"
    )
    side.stop(0.0)
    assert side.problems()[0].startswith("sync process: could not start: the store")
