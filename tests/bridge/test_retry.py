"""Retries in one place: idempotent calls only, jittered, never sooner than retry-after."""

from __future__ import annotations

import itertools
import random

import pytest

from ticket_bridge.bridge.errors import Conflict, Permanent, RateLimited, Transient
from ticket_bridge.bridge.policy import RetryPolicy
from ticket_bridge.bridge.retry import CallRetry, backoff


def flaky(errors: list[Exception]):
    calls = []

    def call() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return call, calls


def test_transient_errors_are_retried_until_success() -> None:
    sleeps: list[float] = []
    retry = CallRetry(RetryPolicy(call_attempts=4), sleep=sleeps.append)
    call, calls = flaky([Transient("jira", "503"), Transient("jira", "timeout")])
    assert retry(call) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2


def test_a_429_is_never_retried_sooner_than_retry_after() -> None:
    sleeps: list[float] = []
    retry = CallRetry(RetryPolicy(call_attempts=3, backoff_base=0.1), sleep=sleeps.append)
    call, _ = flaky([RateLimited("zendesk", 42.0)])
    assert retry(call) == "ok"
    assert sleeps == [pytest.approx(42.0)]


def test_retries_stop_after_the_configured_attempts_and_reraise() -> None:
    retry = CallRetry(RetryPolicy(call_attempts=2), sleep=lambda _: None)
    call, calls = flaky([Transient("jira", "503")] * 5)
    with pytest.raises(Transient):
        retry(call)
    assert len(calls) == 2


@pytest.mark.parametrize("error", [Permanent("jira", "400"), Conflict("zendesk", "409")])
def test_permanent_errors_and_conflicts_are_not_retried_here(error: Exception) -> None:
    retry = CallRetry(RetryPolicy(call_attempts=5), sleep=lambda _: None)
    call, calls = flaky([error])
    with pytest.raises(type(error)):
        retry(call)
    assert len(calls) == 1


def test_backoff_is_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=10.0)
    rng = random.Random(3)
    for attempt in range(1, 12):
        ceiling = min(10.0, 2 ** (attempt - 1))
        samples = [
            backoff(attempt, policy.backoff_base, policy.backoff_cap, rng) for _ in range(200)
        ]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8, "full jitter spreads up to the ceiling"


def test_a_failing_link_backs_off_for_about_half_an_hour_before_its_dead_letter() -> None:
    """A tracker down for a minute, or for a deploy, leaves its links waiting, not dead."""
    policy = RetryPolicy()
    retry = CallRetry(policy, rng=random.Random(5))
    error = Transient("jira", "503 Service Unavailable")
    delays = [retry.link_delay(n, error) for n in range(1, policy.link_attempts)]
    assert delays[0] >= 2.5, "never at once"
    assert all(later >= earlier / 2 for earlier, later in itertools.pairwise(delays))
    assert 15 * 60 < sum(delays) < 60 * 60
    throttled = [retry.link_delay(n, RateLimited("jira", 90.0, "429")) for n in (1, 9, 30)]
    assert all(90.0 <= d <= 90.0 + policy.link_backoff_base for d in throttled), (
        "a throttled link waits the retry-after and a jitter, however often it was throttled"
    )


def test_a_retry_after_longer_than_a_call_may_wait_is_left_to_the_link() -> None:
    """Zendesk's per-ticket limit asks for ten minutes: a thread must not sleep through it."""
    sleeps: list[float] = []
    retry = CallRetry(RetryPolicy(call_attempts=3, longest_call_wait=60), sleep=sleeps.append)
    call, calls = flaky([RateLimited("zendesk", 594.0)])
    with pytest.raises(RateLimited):
        retry(call)
    assert len(calls) == 1 and sleeps == []
    call, calls = flaky([RateLimited("zendesk", 30.0)])
    assert retry(call) == "ok" and sleeps == [pytest.approx(30.0)]
