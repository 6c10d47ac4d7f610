"""A client-side request budget: at most ``limit`` requests per ``period`` seconds, per client.

Trackers count requests per token per window; spending them evenly keeps a backfill near the
limit without a storm of 429s. The clock and sleep are injectable so tests do not wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RequestBudget:
    """A token bucket refilled continuously; ``acquire`` waits until a request may be sent."""

    def __init__(
        self,
        limit: int,
        period: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError(
                f"a request budget needs limit >= 1 and period > 0, not {limit}/{period}s"
            )
        self.limit = limit
        self.period = period
        self.clock = clock
        self.sleep = sleep
        self._tokens = float(limit)
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(
            self.limit, self._tokens + (now - self._stamp) * self.limit / self.period
        )
        self._stamp = now

    def acquire(self) -> None:
        """Take one request; when the bucket is in debt, wait exactly until it is not."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            if self._tokens < 0:
                wait = -self._tokens * self.period / self.limit
                self.waited += wait
                self.sleep(wait)

    def drain_until(self, reset_in: float) -> None:
        """The tracker says the window is spent: send nothing until it resets."""
        with self._lock:
            self._tokens = min(self._tokens, 0.0) - max(0.0, reset_in) * self.limit / self.period
            self._stamp = self.clock()
