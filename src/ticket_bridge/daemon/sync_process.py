"""The sync side of ``ticket-bridge run`` (workers, pollers, housekeeper, sweeper) in a process of
its own, apart from the receivers.

A Python process runs one thread at a time. With the workers beside them, the receivers' event
loop waited its turn behind four threads reading and writing: under 1,000 deliveries a second the
99th percentile answer took 50-90 ms, 22 ms with one worker. Apart, the receivers have a process
to themselves and the operating system shares the cores.

The two talk over one pipe:

- receivers to sync side: a ring for each stored batch (work now), and stop;
- sync side to receivers: every event (metrics, logs and readiness live with the receivers),
  every sighting (so a delivery naming a version already read is answered "seen"), and every
  rate-limited retry.

The sync side dies with the receivers, SIGKILL included (the kernel's parent-death signal on
Linux, the pipe closing elsewhere): claims are held in memory, so a killed daemon must never leave
workers behind to race the restarted one. When the sync side ends unasked, the receivers stop as
well, and ``run`` exits with an error for its supervisor to start it again.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from enum import StrEnum
from multiprocessing.connection import Connection
from typing import Any

from ticket_bridge.bridge.adapter import Adapter
from ticket_bridge.bridge.errors import RateLimited
from ticket_bridge.bridge.events import AccountKnown, Event
from ticket_bridge.bridge.sightings import Sightings
from ticket_bridge.daemon.runner import Daemon, PollHealth

START_TIMEOUT = 120.0
"""Seconds the sync side may take to import, open the store and start its threads."""

STOP_GRACE = 10.0
"""Seconds past the stop timeout before a sync side that has not ended is killed."""

_PR_SET_PDEATHSIG = 1

Build = Callable[[], Daemon]
"""Builds the sync side's daemon in its own process (pickled by reference: a module's function)."""


class Note(StrEnum):
    """What one message on the pipe says; its arguments follow it in the tuple."""

    READY = "ready"
    FAILED = "failed"
    EVENT = "event"
    SAW = "saw"
    THROTTLED = "throttled"
    STOPPED = "stopped"
    RING = "ring"
    STOP = "stop"


class SyncSideFailed(Exception):
    """The sync side could not start, or ended unasked: ``run`` stops and says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Sender:
    """Sends from many threads over one pipe; a pipe the other side closed is not our error:
    the other side's own watch reports the end."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def __call__(self, note: Note, *args: Any) -> None:
        try:
            with self._lock:
                self._conn.send((note, *args))
        except (OSError, ValueError):
            pass


def _die_with(parent: int) -> bool:
    """Have the kernel kill this process when ``parent`` dies; False if it already has."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    return os.getppid() == parent


def serve(build: Build, conn: Connection, parent: int) -> None:
    """The sync side's process: the daemon's threads, until told to stop or the pipe closes."""
    if not _die_with(parent):
        return
    # Ctrl-C reaches every process of the terminal's group: the receivers decide when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopping = threading.Event()
    # A service manager's stop may reach every process of the service: finish the links in hand.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    send = _Sender(conn)
    try:
        daemon = build()
    except Exception as exc:
        send(Note.FAILED, " ".join(str(exc).split()) or type(exc).__name__)
        return
    daemon.on_event = lambda event: send(Note.EVENT, event)
    daemon.engine.sightings.listeners.append(lambda *sighting: send(Note.SAW, *sighting))

    def throttled(error: BaseException) -> None:
        if isinstance(error, RateLimited):
            send(Note.THROTTLED, error.tracker)

    daemon.engine.retry.listeners.append(throttled)
    gc.freeze()  # what the build made lives as long as the process: the collector skips it
    daemon.start()
    send(Note.READY)
    timeout = 30.0
    while not stopping.is_set():
        try:
            if not conn.poll(0.5):
                continue
            note, *args = conn.recv()
        except (EOFError, OSError):
            break
        if note == Note.RING:
            daemon.accepted()
        elif note == Note.STOP:
            timeout = float(args[0])
            break
    daemon.stop(timeout)
    daemon.engine.store.close()
    send(Note.STOPPED)


class SyncSide:
    """The receivers' handle on the sync process: starts it, rings it, hears it, stops it.

    What the sync side reports lands here as it would in one process: events go to
    ``on_event``, sightings into ``sightings``, the tracker accounts it learns into the receivers'
    ``adapters``, poll failures into ``health``.
    """

    def __init__(
        self,
        build: Build,
        *,
        adapters: Mapping[str, Adapter],
        on_event: Callable[[Event], None] = lambda _: None,
        on_throttled: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.build = build
        self.adapters = adapters
        self.on_event = on_event
        self.on_throttled = on_throttled
        self.on_lost: Callable[[], None] = lambda: None
        self.sightings = Sightings(lambda: dt.datetime.now(dt.UTC))
        self.health = PollHealth()
        self.lost: str | None = None
        """Why the sync side ended unasked, once it has."""
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._reader: threading.Thread | None = None
        self._send: _Sender | None = None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the sync process and wait until its threads run; ``SyncSideFailed`` if not."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve, args=(self.build, theirs, os.getpid()), name="ticket-bridge-sync"
        )
        try:
            process.start()
        except OSError as exc:
            raise SyncSideFailed(f"could not start: {exc}") from exc
        finally:
            theirs.close()
        self._process, self._send = process, _Sender(ours)
        self._reader = threading.Thread(
            target=self._hear, args=(ours,), name="ticket-bridge-sync-events", daemon=True
        )
        self._reader.start()
        if not self._ready.wait(timeout):
            self.stop(0.0)
            raise SyncSideFailed(f"did not start within {timeout:.0f} s")
        if self.lost is not None:
            raise SyncSideFailed(self.lost)

    def accepted(self) -> None:
        """A delivery was stored: an idle worker looks now."""
        if self._send is not None:
            self._send(Note.RING)

    def problems(self) -> list[str]:
        lost = [f"sync process: {self.lost}"] if self.lost is not None else []
        return lost + self.health.problems()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the sync side finish the links in hand within ``timeout``; the inbox keeps the rest."""
        self._stopping.set()
        process = self._process
        if process is None:
            return
        if self._send is not None:
            self._send(Note.STOP, timeout)
        process.join(timeout + STOP_GRACE)
        if process.is_alive():
            process.kill()
            process.join()
        if self._reader is not None:
            self._reader.join(STOP_GRACE)

    def _hear(self, conn: Connection) -> None:
        while True:
            try:
                note, *args = conn.recv()
            except (EOFError, OSError):
                break
            if note == Note.EVENT:
                self._arrived(args[0])
            elif note == Note.SAW:
                self.sightings.record(*args)
            elif note == Note.THROTTLED:
                self.on_throttled(args[0])
            elif note == Note.READY:
                self._ready.set()
            elif note == Note.FAILED:
                self.lost = f"could not start: {args[0]}"
                break
            elif note == Note.STOPPED:
                break
        conn.close()
        if self._stopping.is_set():
            return
        if self.lost is None:
            self.lost = f"ended unasked ({self._exit()})"
        self._ready.set()
        self.on_lost()

    def _exit(self) -> str:
        process = self._process
        if process is None:
            return "never started"
        process.join(STOP_GRACE)
        code = process.exitcode
        if code is None:
            return "still running, its pipe closed"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def _arrived(self, event: Event) -> None:
        self.health.observe(event)
        if isinstance(event, AccountKnown) and event.tracker in self.adapters:
            self.adapters[event.tracker].recognise(event.account)
        self.on_event(event)
