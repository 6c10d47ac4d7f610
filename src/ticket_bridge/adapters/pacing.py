"""A client-side request budget: at most ``limit`` requests in any ``period`` seconds, per client.

Trackers count requests per token in a sliding window. A bucket that starts full and refills at
the limit's rate sends up to twice the limit in the first window and earns a 429 with a minute's
Retry-After; so the bucket holds a small burst and refills at the rate that leaves room for it:
burst + rate * period == limit, and no window ever sees more than the limit. The clock and sleep
are injectable so tests do not wait.
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
        self.burst = max(1, limit // 20)
        self.rate = max(limit - self.burst, 1) / period
        self.clock = clock
        self.sleep = sleep
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self) -> None:
        """Take one request; when the bucket is in debt, wait exactly until it is not."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            if self._tokens < 0:
                wait = -self._tokens / self.rate
                self.waited += wait
                self.sleep(wait)

    def drain_until(self, reset_in: float) -> None:
        """The tracker says the window is spent: send nothing until it resets.

        Several 429s in a storm each say when the same window resets: the latest word counts,
        they do not add up.
        """
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, -max(0.0, reset_in) * self.rate)
            self._stamp = self.clock()
