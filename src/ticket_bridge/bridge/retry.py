"""Retries, defined once: jittered exponential backoff that honours a tracker's retry-after.

``call`` retries one idempotent tracker call on ``Transient`` errors (``RateLimited`` included,
unless it asks for longer than a call may wait);
``link_delay`` spaces out whole-link attempts the same way. Nothing else in the code retries.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ticket_bridge.bridge.errors import RateLimited, Transient
from ticket_bridge.bridge.policy import RetryPolicy

T = TypeVar("T")


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return (rng or random).uniform(0, ceiling)


def honouring_retry_after(error: BaseException | None, delay: float) -> float:
    """Never come back before the tracker said we may."""
    if isinstance(error, RateLimited):
        return max(delay, error.retry_after)
    return delay


class CallRetry:
    """Retries idempotent calls on transient errors; ``sleep`` is injectable so tests do not wait.

    One is shared by the daemon's threads: each call gets its own ``Retrying``, so a call's
    attempts and sleeps are its own, and a tracker sleeping out its retry-after holds up only
    the thread that called it.
    """

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
            for listener in tuple(self.listeners):  # a listener may be added while others call
                listener(error)

    def _worth_waiting(self, error: BaseException) -> bool:
        """Transient, and not asking for longer than a call may hold its thread (Zendesk's
        per-ticket limit asks for ten minutes): such a wait is the link's, not the call's."""
        if isinstance(error, RateLimited):
            return error.retry_after <= self.policy.longest_call_wait
        return isinstance(error, Transient)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        delay = backoff(
            state.attempt_number, self.policy.backoff_base, self.policy.backoff_cap, self.rng
        )
        return honouring_retry_after(error, delay)

    def __call__(self, fn: Callable[[], T]) -> T:
        try:
            return fn()  # the common case, without a Retrying's bookkeeping
        except Transient as exc:
            if not self._worth_waiting(exc):
                raise
            failed: Transient | None = exc

        def again() -> T:
            """The first attempt, replayed from its outcome, then the calls themselves."""
            nonlocal failed
            if failed is not None:
                error, failed = failed, None
                raise error
            return fn()

        retrying = Retrying(
            retry=retry_if_exception(self._worth_waiting),
            stop=stop_after_attempt(self.policy.call_attempts),
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        return retrying(again)

    def link_delay(self, failures: int, error: BaseException) -> float:
        """When a failed link is tried again: half to all of its exponential step, so a link
        never comes back at once, and never before the tracker said it may. A rate-limited
        link waits the tracker's retry-after and a jitter of up to one base step, never more:
        the throttle ends when the tracker says, however often it was hit."""
        if isinstance(error, RateLimited):
            jitter = (self.rng or random).uniform(0, self.policy.link_backoff_base)
            return error.retry_after + jitter
        ceiling = min(
            self.policy.link_backoff_cap, self.policy.link_backoff_base * 2 ** max(0, failures - 1)
        )
        delay = (self.rng or random).uniform(ceiling / 2, ceiling)
        return honouring_retry_after(error, delay)
