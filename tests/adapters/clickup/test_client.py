"""The client: auth schemes, one classification of HTTP failures, and pacing by ClickUp's headers."""

from __future__ import annotations

import pytest
import requests

from tests.adapters.clickup.conftest import config_for
from tests.specs import SpecCheck
from ticket_bridge.adapters.clickup.client import ClickUpClient
from ticket_bridge.adapters.clickup.config import AuthScheme
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.errors import NotFound, Permanent, RateLimited, Transient

START = 1_780_000_000.0


class FakeTime:
    def __init__(self) -> None:
        self.now = START

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def client_for(
    fake: FakeClickUp, served: Served, check: SpecCheck, **overrides: object
) -> ClickUpClient:
    session = requests.Session()
    check.attach(session)
    return ClickUpClient("clickup", config_for(fake, served, **overrides), session=session)


def test_a_bad_token_is_permanent_and_never_echoed(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    client = client_for(fake, served, spec_check, token="pk_wrong_SECRET123")
    with pytest.raises(Permanent, match="check the credentials") as caught:
        client.task(fake.open_task("x"))
    assert "SECRET123" not in str(caught.value)
    assert "GET /v2/task/" in str(caught.value) and "OAUTH_025" in str(caught.value)


def test_an_oauth_token_goes_as_bearer(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    fake.oauth_token = "oauth-access-token"
    client = client_for(fake, served, spec_check, token="oauth-access-token", auth=AuthScheme.OAUTH)
    assert client.teams().teams[0].id == fake.team_id


def test_missing_is_not_found_and_a_refusal_is_permanent_with_clickups_text(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    client = client_for(fake, served, spec_check)
    with pytest.raises(NotFound, match=r"clickup:nope: GET /v2/task/nope: 404 Task not found"):
        client.task("nope")
    task = fake.open_task("x")
    with pytest.raises(Permanent, match=r"400 Status does not exist \(CRTSK_001\)") as caught:
        client.update_task(task, {"status": "no such status"})
    assert not isinstance(caught.value, NotFound)


def test_a_dead_server_is_transient(fake: FakeClickUp, served: Served) -> None:
    config = config_for(fake, served, base_url="http://127.0.0.1:9/api", timeout=1.0)
    with pytest.raises(Transient, match="connection failed"):
        ClickUpClient("clickup", config).teams()


def test_a_429_from_a_window_spent_elsewhere_says_when_it_resets(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    t = FakeTime()
    fake.clock = t.clock
    fake.rate_limit = 3
    session = requests.Session()
    spec_check.attach(session)

    def client() -> ClickUpClient:
        budget = RequestBudget(1000, 60.0, clock=t.clock, sleep=t.sleep)
        config = config_for(fake, served)
        return ClickUpClient("clickup", config, session=session, budget=budget, wall=t.clock)

    other = client()
    for _ in range(3):
        other.teams()
    t.now += 20
    mine = client()
    with pytest.raises(RateLimited) as caught:
        mine.teams()
    assert caught.value.retry_after == pytest.approx(40.0)
    mine.teams()
    assert t.now == pytest.approx(START + 60.0, abs=0.1), "the spent window was waited out"


def test_a_backfill_runs_near_the_limit_without_a_storm_of_429s(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    """300 reads against 100/min: no 429, and at least 90% of the limit over the whole run.

    The run spans three windows (the last request sits at the start of the third), so the rate
    is not flattered by the first burst alone.
    """
    t = FakeTime()
    fake.clock = t.clock
    fake.rate_limit = 100
    task = fake.open_task("backfill")
    session = requests.Session()
    spec_check.attach(session)
    budget = RequestBudget(100, 60.0, clock=t.clock, sleep=t.sleep)
    client = ClickUpClient(
        "clickup", config_for(fake, served), session=session, budget=budget, wall=t.clock
    )
    n = 300
    for _ in range(n):
        client.comments(task)
    elapsed = t.now - START
    assert fake.rejected <= 1
    assert fake.requests == n
    assert elapsed > 120
    assert n / elapsed * 60 >= 90, (n, elapsed)
