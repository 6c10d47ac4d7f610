"""What every benchmark shares: the fakes on loopback with a request recorder, a daemon
subprocess on them, the machine's description, percentiles and result tables."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ticket_bridge.adapters import scenario
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.serving import FakeTracker, Served
from ticket_bridge.adapters.zendesk.fake import FakeZendesk
from ticket_bridge.bridge.store import Store
from ticket_bridge.cli import sandbox_config

ROOT = Path(__file__).resolve().parent
TRACKERS = ("zendesk", "jira", "clickup")
_ID = re.compile(
    r"(?<=/)(tickets|issue|task|comment|users|ticket_fields|list|team|project|tag)/[^/]+"
)


def template(path: str) -> str:
    """``/api/v2/tickets/12/comments`` -> ``/api/v2/tickets/{id}/comments``."""
    return _ID.sub(lambda m: f"{m.group(1)}/{{id}}", path)


@dataclass(frozen=True)
class Hit:
    """One request a fake answered: when it arrived and left (monotonic), what, and the status."""

    tracker: str
    method: str
    path: str
    start: float
    end: float
    status: int

    @property
    def kind(self) -> str:
        return f"{self.tracker} {self.method} {template(self.path)}"

    @property
    def write(self) -> bool:
        return self.method in ("POST", "PUT", "DELETE", "PATCH")


class Recorder:
    """An ASGI wrapper around a fake: every request it answers, with its timing."""

    def __init__(self, tracker: str, app: ASGIApp, hits: list[Hit]) -> None:
        self.tracker = tracker
        self.app = app
        self.hits = hits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.hits.append(
                Hit(self.tracker, scope["method"], scope["path"], start, time.monotonic(), status)
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(len(ordered), rank) - 1]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


class Site:
    """The three fakes on loopback (recorded), a config for them, and daemons run on it."""

    def __init__(
        self,
        tmp: Path,
        stack: ExitStack,
        *,
        poll_interval: float = 3600,
        workers: int = 4,
        jira: FakeJira | None = None,
        zendesk: FakeZendesk | None = None,
        clickup: FakeClickUp | None = None,
        extra_zendesk: str = "",
        budget: int | None = 1_000_000,
    ) -> None:
        """``budget``: every adapter's client-side ``requests_per_minute`` (None: the defaults)."""
        self.tmp = tmp
        self.stack = stack
        self.jira = jira or FakeJira()
        self.zendesk = zendesk or FakeZendesk()
        self.clickup = clickup or FakeClickUp()
        self.fakes: dict[str, FakeTracker] = {
            "zendesk": self.zendesk,
            "jira": self.jira,
            "clickup": self.clickup,
        }
        self.lead = scenario.people(self.jira, self.zendesk, self.clickup)
        self.hits: list[Hit] = []
        self.served = {
            name: stack.enter_context(Served(Recorder(name, fake.app, self.hits)))
            for name, fake in self.fakes.items()
        }
        for fake in self.fakes.values():
            stack.callback(fake.stop)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db = tmp / "state.db"
        self.config = tmp / "ticket-bridge.toml"
        text = sandbox_config(
            (self.jira, self.zendesk, self.clickup), self.served, self.port, self.db
        )
        text = text.replace(
            "poll_interval = 30", f"poll_interval = {poll_interval}\nworkers = {workers}"
        )
        if budget is not None:
            text = re.sub(r"requests_per_minute = \d+", f"requests_per_minute = {budget}", text)
        if extra_zendesk:
            text = text.replace(
                'mapping = "zendesk"\n', f'mapping = "zendesk"\n{extra_zendesk}\n', 1
            )
        self.config.write_text(text, encoding="utf-8")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_BRIDGE_")}
        self.log = tmp / "daemon.log"
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(f"sqlite:///{self.db}")
            self.stack.callback(self._store.close)
        return self._store

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ticket_bridge", *args, "--config", str(self.config)]

    def start_daemon(self) -> subprocess.Popen[bytes]:
        log = self.log.open("ab")
        process = subprocess.Popen(
            self.command("run"), stdout=log, stderr=subprocess.STDOUT, env=self.env
        )
        self.stack.callback(stop, process)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).ok:
                    return process
            except requests.ConnectionError:
                pass
            if process.poll() is not None:
                raise RuntimeError(self.log.read_text(encoding="utf-8"))
            if time.monotonic() > deadline:
                raise RuntimeError("the daemon did not come up")
            time.sleep(0.1)

    def subscribe(self) -> None:
        for name, fake in self.fakes.items():
            fake.subscribe(f"{self.url}/webhooks/{name}")

    def quiet(self, seconds: float = 1.0, patience: float = 600.0) -> None:
        """Until no fake has answered a request for ``seconds`` and the inbox is empty."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            time.sleep(seconds / 4)
            last = self.hits[-1].end if self.hits else 0.0
            if time.monotonic() - last >= seconds and self.store.inbox_depth() == 0:
                return
        raise RuntimeError("the site never went quiet")

    def counts(self, since: int = 0) -> Counter[str]:
        return Counter(hit.kind for hit in self.hits[since:])


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _hwm_kib(pid: int) -> int | None:
    """The high-water RSS of ``pid``'s own image (VmHWM), None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None  # a zombie: its memory is gone


def wait_with_peak(process: subprocess.Popen[bytes], every: float = 0.02) -> tuple[int, int]:
    """Wait for a child; its exit status and peak RSS in KiB.

    Read from the child's own VmHWM while it runs, not from ``ru_maxrss``: Linux carries the
    parent's high-water mark into a child spawned by vfork and exec, so ``ru_maxrss`` reported
    this benchmark's own size, which holds the seeded fakes and grows with the ticket count. The
    mark only rises, so polling misses at most the child's last ``every`` seconds.
    """
    peak = 0
    while process.poll() is None:
        hwm = _hwm_kib(process.pid)
        if hwm is not None:
            peak = max(peak, hwm)
        time.sleep(every)
    return int(process.returncode), peak


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024} MiB"
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory": memory,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


@dataclass
class Target:
    what: str
    target: str
    figure: str
    held: bool | None  # None: not measured


@dataclass
class Result:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "targets": [t.__dict__ for t in self.targets],
            "notes": self.notes,
            "seconds": round(self.seconds, 1),
        }

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines += table(self.columns, self.rows)
        if self.targets:
            lines += [
                "",
                *table(
                    ["target", "bound", "figure", "held"],
                    [[t.what, t.target, t.figure, held(t.held)] for t in self.targets],
                ),
            ]
        if self.notes:
            lines += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(lines)


def held(value: bool | None) -> str:
    return "n/a" if value is None else ("yes" if value else "**no**")


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return out


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def by_kind(hits: Iterable[Hit], keep: Callable[[Hit], bool] = lambda _: True) -> Mapping[str, int]:
    return dict(sorted(Counter(h.kind for h in hits if keep(h)).items()))
