"""The daemon's work loop: drain the inbox as deliveries arrive, poll each tracker on its interval.

One loop thread does the engine's work, so work on a link is serialised; a delivery wakes it at
once. ``stop`` lets the link in hand finish; what is left stays in the durable inbox, and the
cursors were only committed after clean polls, so a restart resumes where this one stopped.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from ticket_bridge.bridge.engine import Engine
from ticket_bridge.bridge.events import CursorCommitted, Event, PollFailed
from ticket_bridge.bridge.lifecycle import LifecyclePolicies


class Daemon:
    def __init__(
        self,
        engine: Engine,
        *,
        poll_interval: float,
        policies: LifecyclePolicies | None = None,
        policy_interval: float = 300.0,
        on_event: Callable[[Event], None] = lambda _: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.poll_interval = poll_interval
        self.policies = policies
        self.policy_interval = policy_interval
        self.on_event = on_event
        self.clock = clock
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.poll_errors: dict[str, str] = {}
        self.failure: str | None = None
        self.failure_pause = 5.0
        self.thread: threading.Thread | None = None

    def accepted(self) -> None:
        """A delivery was stored: work now rather than at the next poll."""
        self.wake.set()

    def problems(self) -> list[str]:
        return [
            f"{tracker}: last poll failed: {error}" for tracker, error in self.poll_errors.items()
        ]

    def _emit(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, PollFailed):
                self.poll_errors[event.tracker] = event.error
            elif isinstance(event, CursorCommitted):
                self.poll_errors.pop(event.tracker, None)
            self.on_event(event)

    def run(self) -> None:
        next_poll = dict.fromkeys(self.engine.adapters, 0.0)
        next_policies = 0.0
        stop = self.stopping.is_set
        while not stop():
            self.wake.clear()
            try:
                self._emit(self.engine.drain_inbox(stop))
                for tracker, due in next_poll.items():
                    if stop():
                        break
                    if due <= self.clock():
                        self._emit(self.engine.poll(tracker))
                        next_poll[tracker] = self.clock() + self.poll_interval
                if not stop():
                    self._emit(self.engine.retry_due())
                if self.policies is not None and not stop() and next_policies <= self.clock():
                    self._emit(self.engine.apply_policies(self.policies))
                    next_policies = self.clock() + self.policy_interval
            except Exception as exc:
                # A locked store, a bug on one ticket: report, wait, go on; the inbox keeps the
                # work and cursors were not committed, so nothing is lost.
                self.failure = f"{type(exc).__name__}: {exc}"
                self.on_event(PollFailed(tracker="worker", error=self.failure))
                self.wake.wait(timeout=self.failure_pause)
                continue
            self.failure = None
            self.wake.wait(timeout=max(0.0, min(next_poll.values(), default=0.0) - self.clock()))

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="ticket-bridge-worker", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
