"""The request budget spends requests evenly and backs off when the tracker says the window is spent."""

from __future__ import annotations

import pytest

from ticket_bridge.adapters.pacing import RequestBudget


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_small_burst_then_an_even_pace_that_never_overfills_a_window() -> None:
    t = FakeTime()
    budget = RequestBudget(100, 60.0, clock=t.clock, sleep=t.sleep)
    sent: list[float] = []
    for _ in range(5):
        budget.acquire()
        sent.append(t.now)
    assert t.now == 0.0, "a burst of 5% goes at once"
    for _ in range(400):
        budget.acquire()
        sent.append(t.now)
    windows = [sum(1 for s in sent if start <= s < start + 60.0) for start in sent]
    assert max(windows) <= 100, "no 60 s window ever holds more than the limit"
    rate = (len(sent) - 5) / (t.now / 60.0)
    assert rate == pytest.approx(95.0, rel=0.01), "the steady pace is 95% of the limit"


def test_a_spent_window_blocks_until_it_resets() -> None:
    t = FakeTime()
    budget = RequestBudget(100, 60.0, clock=t.clock, sleep=t.sleep)
    budget.drain_until(12.0)
    budget.acquire()
    assert t.now == pytest.approx(12.0 + 60.0 / 95.0)


def test_a_nonsense_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="limit >= 1"):
        RequestBudget(0)


def test_a_storm_of_429s_waits_for_the_latest_reset_not_their_sum() -> None:
    t = FakeTime()
    budget = RequestBudget(100, 60.0, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        budget.drain_until(12.0)
    budget.acquire()
    assert t.now == pytest.approx(12.0 + 60.0 / 95.0)
