"""Worker slots per tracker, so one slow tracker cannot take every worker of a daemon.

A daemon's workers each reconcile one ticket at a time, and a reconcile calls every tracker its
link reaches. Without a bound, a tracker answering in seconds (or asking for seconds between
retries) ends up with every worker waiting on it, and links that never touch it wait too.
``Slots`` lets at most ``per_tracker`` bound threads wait on one tracker at once; a bound thread
that finds them all taken gets ``Busy`` at once, before any request, and gives its ticket back.

A thread whose call failed transiently keeps its slot until its next call, so sleeping out a
retry-after counts as waiting on that tracker. Threads that are not bound (pollers, the
housekeeper, admin commands) are never limited.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from ticket_bridge.bridge.errors import Busy, Transient

SLOT_WAIT = 0.2
"""Seconds a bound thread waits for a slot before giving its ticket back."""


class Slots:
    def __init__(self, per_tracker: int | None = None, wait: float = SLOT_WAIT) -> None:
        self.per_tracker = per_tracker
        self.wait = wait
        self._taken: Counter[str] = Counter()
        self._freed = threading.Condition()
        self._thread = threading.local()  # .bound: bool; .kept: the tracker whose slot it keeps

    @contextmanager
    def bound(self) -> Iterator[None]:
        """Calls made by this thread inside the block count against the slots."""
        self._thread.bound = True
        try:
            yield
        finally:
            self._thread.bound = False
            self._give_kept()

    def bound_here(self) -> bool:
        return bool(getattr(self._thread, "bound", False))

    def limit_here(self) -> bool:
        """Whether this thread's calls count against the slots now."""
        return self.per_tracker is not None and self.bound_here()

    def full(self, tracker: str) -> bool:
        with self._freed:
            return self.per_tracker is not None and self._taken[tracker] >= self.per_tracker

    def taken(self, tracker: str) -> int:
        with self._freed:
            return self._taken[tracker]

    @contextmanager
    def slot(self, tracker: str) -> Iterator[None]:
        limit = self.per_tracker
        if limit is None or not self.bound_here():
            yield
            return
        if getattr(self._thread, "kept", None) != tracker:
            self._give_kept()
            with self._freed:
                if not self._freed.wait_for(lambda: self._taken[tracker] < limit, self.wait):
                    raise Busy(tracker=tracker)
                self._taken[tracker] += 1
        self._thread.kept = None
        try:
            yield
        except Transient:
            self._thread.kept = tracker  # a retry (and its sleep) will follow: keep the slot
            raise
        finally:
            if self._thread.kept != tracker:
                self._give(tracker)

    def _give_kept(self) -> None:
        kept = getattr(self._thread, "kept", None)
        if kept is not None:
            self._thread.kept = None
            self._give(kept)

    def _give(self, tracker: str) -> None:
        with self._freed:
            self._taken[tracker] -= 1
            self._freed.notify_all()
