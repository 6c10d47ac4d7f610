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


def test_a_burst_up_to_the_limit_then_one_request_per_share_of_the_period() -> None:
    t = FakeTime()
    budget = RequestBudget(100, 60.0, clock=t.clock, sleep=t.sleep)
    for _ in range(100):
        budget.acquire()
    assert t.now == 0.0
    for _ in range(50):
        budget.acquire()
    assert t.now == pytest.approx(30.0)


def test_a_spent_window_blocks_until_it_resets() -> None:
    t = FakeTime()
    budget = RequestBudget(100, 60.0, clock=t.clock, sleep=t.sleep)
    budget.drain_until(12.0)
    budget.acquire()
    assert t.now == pytest.approx(12.6)


def test_a_nonsense_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="limit >= 1"):
        RequestBudget(0)
