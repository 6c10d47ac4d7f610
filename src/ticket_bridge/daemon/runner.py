"""The daemon's threads: workers draining the inbox, one poller per tracker, and a housekeeper.

- ``workers`` threads take the inbox's deliveries one ticket at a time (``Engine.claim``); a
  ticket's deliveries coalesce into one reconcile, and no tracker may hold more than half the
  workers, so a tracker answering in seconds (or sleeping in 429 retries) leaves the others
  workers to sync with. A delivery wakes an idle worker at once.
- Each tracker is polled on its own thread, so a slow feed delays only its own poll.
- The housekeeper retries links backing off when they are due and applies lifecycle policies.
- The sweeper reconciles every link once per ``sweep_interval``, for what no webhook and no feed
  reported; it keeps its place in the store, so a restart or an outage only pauses it.

All of them go through the engine, which serialises work on one link across threads. ``stop``
lets links in hand finish; what is left stays in the durable inbox, and cursors were only
committed after clean polls, so a restart resumes where this one stopped. A thread that fails
reports it, pauses and goes on: one bad round never ends the daemon.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import TypeVar

from ticket_bridge.bridge.engine import HINT_HOLD, Engine
from ticket_bridge.bridge.events import (
    CursorCommitted,
    Event,
    LinkFailed,
    PollFailed,
    SweepFinished,
    TrackerRecovered,
)
from ticket_bridge.bridge.lifecycle import LifecyclePolicies

T = TypeVar("T")

IDLE_CHECK = 1.0
"""Seconds an idle worker waits for a wake-up before looking at the inbox anyway."""


class Bell:
    """Wakes one idle worker per ring, never all: every delivery ringing every worker had four
    threads query the inbox for the one ticket only one of them could take.

    A worker notes ``rung`` before it looks at the inbox and waits only if no ring came since,
    so a delivery stored while it looked is never slept through.
    """

    def __init__(self) -> None:
        self._rings = 0
        self._cond = threading.Condition()

    @property
    def rung(self) -> int:
        with self._cond:
            return self._rings

    def ring(self, workers: int = 1) -> None:
        with self._cond:
            self._rings += 1
            self._cond.notify(workers)

    def wait(self, since: int, timeout: float) -> None:
        with self._cond:
            if self._rings == since:
                self._cond.wait(timeout)


class PollHealth:
    """Each tracker's last poll failure, read from the events, until a clean poll commits.

    Kept wherever the events arrive: in the daemon's own process, or in the receivers'."""

    def __init__(self) -> None:
        self._errors: dict[str, str] = {}
        self._lock = threading.Lock()

    def observe(self, event: Event) -> None:
        if isinstance(event, PollFailed):
            with self._lock:
                self._errors[event.tracker] = event.error
        elif isinstance(event, CursorCommitted):
            with self._lock:
                self._errors.pop(event.tracker, None)

    def problems(self) -> list[str]:
        with self._lock:
            errors = sorted(self._errors.items())
        return [f"{tracker}: last poll failed: {error}" for tracker, error in errors]


class Daemon:
    def __init__(
        self,
        engine: Engine,
        *,
        poll_interval: float,
        workers: int = 4,
        policies: LifecyclePolicies | None = None,
        policy_interval: float = 300.0,
        sweep_interval: float = 0.0,
        on_event: Callable[[Event], None] = lambda _: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if workers < 1:
            raise ValueError("a daemon needs at least one worker")
        self.engine = engine
        self.poll_interval = poll_interval
        self.workers = workers
        engine.slots.per_tracker = max(1, workers // 2)  # at most half the workers wait on one
        self.policies = policies
        self.policy_interval = policy_interval
        self.sweep_interval = sweep_interval  # 0: no sweeper
        self.on_event = on_event
        self.clock = clock
        self.hint_hold = HINT_HOLD
        self.bell = Bell()  # the inbox may hold work: an idle worker looks
        self.retry_wake = threading.Event()  # a link failed: the housekeeper looks again
        self.stopping = threading.Event()
        self.health = PollHealth()
        self.failures: dict[str, str] = {}  # thread name -> its last round's failure
        self.failure_pause = 5.0
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def failure(self) -> str | None:
        """A failure some thread's last round ended with, if any."""
        with self._lock:
            return next(iter(self.failures.values()), None)

    def accepted(self) -> None:
        """A delivery was stored: work now rather than at the next poll."""
        self.bell.ring()

    def problems(self) -> list[str]:
        return self.health.problems()

    def _emit(self, events: Iterable[Event]) -> None:
        for event in events:
            self.health.observe(event)
            if isinstance(event, LinkFailed | TrackerRecovered):
                self.retry_wake.set()
            self.on_event(event)

    def _round(self, work: Callable[[], T]) -> T | None:
        """One round of a thread's work; a failure is reported and paused on, never fatal.

        A locked store, a bug on one ticket: the inbox keeps the work and cursors were not
        committed, so nothing is lost. Returns the round's outcome, None when it failed.
        """
        name = threading.current_thread().name
        try:
            outcome = work()
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self.failures[name] = failure
            self.on_event(PollFailed(tracker="worker", error=failure))
            self.stopping.wait(self.failure_pause)
            return None
        with self._lock:
            self.failures.pop(name, None)
        return outcome

    # -- the threads -----------------------------------------------------------------------

    def _work(self) -> None:
        """Take one ticket's deliveries at a time until stopped; wait for a wake-up when idle."""
        while not self.stopping.is_set():
            rung = self.bell.rung  # before claiming: a delivery stored after this wakes us again
            if self._round(self._take_one) is False:
                self.bell.wait(rung, IDLE_CHECK)

    def _take_one(self) -> bool:
        """Settle one ticket's deliveries; False when there was none to take."""
        claims = self.engine.claim(1)
        for claim in claims:
            self._emit(self.engine.settle(claim, hold=self.hint_hold))
            if self.engine.waiting():
                self.bell.ring()  # deliveries behind the ticket it held, or behind a freed slot
        return bool(claims)

    def _poll(self, tracker: str) -> None:
        stop = self.stopping.is_set
        while not stop():
            due = self.clock() + self.poll_interval
            self._round(lambda: self._emit(self.engine.poll(tracker, stop)))
            self.stopping.wait(max(0.0, due - self.clock()))

    def _housekeep(self) -> None:
        """Retry links backing off once due, and apply the lifecycle policies on their interval."""
        next_policies = 0.0
        while not self.stopping.is_set():
            self.retry_wake.clear()
            pause = self._round(self._retry_due)
            if pause is None:
                continue
            if self.policies is not None and not self.stopping.is_set():
                if next_policies <= self.clock() and self._round(self._apply_policies):
                    next_policies = self.clock() + self.policy_interval
                pause = min(pause, next_policies - self.clock())
            self.retry_wake.wait(max(0.0, pause))

    def _retry_due(self) -> float:
        """Retry the links now due; returns the seconds until the next one is."""
        stop = self.stopping.is_set
        now = self.engine.clock()
        pause = self.poll_interval
        for link_id, due in self.engine.store.backing_off():
            if stop():
                break
            if due is None or due <= now:
                self._emit(self.engine.sync_link(link_id))
            else:
                pause = min(pause, (due - now).total_seconds())
        return pause

    def _apply_policies(self) -> bool:
        if self.policies is not None:
            self._emit(self.engine.apply_policies(self.policies))
        return True

    def _sweep(self) -> None:
        """Sweep when due. A sweep cut short (a tracker down) goes on after a poll interval;
        the due time is asked again at least that often, as a ``sweep`` command moves it."""
        interval = dt.timedelta(seconds=self.sweep_interval)
        while not self.stopping.is_set():
            due = self._round(lambda: self.engine.sweep_due(interval))
            if due is None:
                continue
            wait = (due - self.engine.clock()).total_seconds()
            if wait <= 0 and not self._round(self._sweep_once):
                wait = self.poll_interval
            self.stopping.wait(min(max(0.0, wait), self.poll_interval))

    def _sweep_once(self) -> bool:
        """One sweep, resumed where the last one stopped; True when it reached the end."""
        finished = False
        for event in self.engine.sweep(self.stopping.is_set, resume=True):
            finished = isinstance(event, SweepFinished)
            self._emit((event,))
        return finished

    def _nap(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    def start(self) -> None:
        # A call sleeping out a retry-after wakes on stop: its remaining attempts come at once
        # and fail fast, so a shutdown never waits for a tracker's minute.
        self.engine.retry.sleep = self._nap
        targets: list[tuple[str, Callable[[], None]]] = [
            (f"ticket-bridge-worker-{n}", self._work) for n in range(1, self.workers + 1)
        ]
        targets += [
            (f"ticket-bridge-poll-{tracker}", partial(self._poll, tracker))
            for tracker in self.engine.adapters
        ]
        targets.append(("ticket-bridge-housekeeper", self._housekeep))
        if self.sweep_interval > 0:
            targets.append(("ticket-bridge-sweeper", self._sweep))
        self.threads = [threading.Thread(target=fn, name=name, daemon=True) for name, fn in targets]
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the links in hand finish, within ``timeout`` seconds in all; the inbox keeps the rest."""
        self.stopping.set()
        self.bell.ring(self.workers)
        self.retry_wake.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def alive(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)
