"""Retries, defined once: jittered exponential backoff that honours a tracker's retry-after.

``call`` retries one idempotent tracker call on ``Transient`` errors (``RateLimited`` included);
``link_delay`` spaces out whole-link attempts the same way. Nothing else in the code retries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from ticket_bridge.bridge.errors import RateLimited, Transient
from ticket_bridge.bridge.policy import RetryPolicy

T = TypeVar("T")


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)


def honouring_retry_after(error: BaseException | None, delay: float) -> float:
    """Never come back before the tracker said we may."""
    if isinstance(error, RateLimited):
        return max(delay, error.retry_after)
    return delay


class CallRetry:
    """Retries idempotent calls on transient errors; ``sleep`` is injectable so tests do not wait."""

    def __init__(
        self,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.sleep = sleep
        self.rng = rng
        self.listeners: list[Callable[[BaseException], None]] = []

    def _before_sleep(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if error is not None:
            for listener in self.listeners:
                listener(error)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        return honouring_retry_after(error, backoff(state.attempt_number, self.policy, self.rng))

    def __call__(self, fn: Callable[[], T]) -> T:
        retrying = Retrying(
            retry=retry_if_exception_type(Transient),
            stop=stop_after_attempt(self.policy.call_attempts),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        return retrying(fn)

    def link_delay(self, failures: int, error: BaseException) -> float:
        return honouring_retry_after(error, backoff(failures, self.policy, self.rng))
