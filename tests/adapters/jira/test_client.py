"""The client: the real jira library against the fake, and one classification of every failure."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

from tests.adapters.jira.conftest import JiraSpecCheck, Seconds, config_for
from tests.specs import SpecCheck
from ticket_bridge.adapters.jira.client import JiraClient, classify, retry_after
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.errors import Conflict, NotFound, Permanent, RateLimited, Transient

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def answer(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers or {})
    return response


def client_for(
    fake: FakeJira, served: Served, spec_check: SpecCheck, **overrides: Any
) -> JiraClient:
    carrier = requests.Session()
    spec_check.attach(carrier)
    seconds = Seconds()
    return JiraClient(
        "jira",
        config_for(fake, served, **overrides),
        session=carrier,
        budget=RequestBudget(2, 1.0, clock=seconds, sleep=seconds.sleep),
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, Permanent),
        (403, Permanent),
        (404, NotFound),
        (409, Conflict),
        (400, Permanent),
        (500, Transient),
        (502, Transient),
    ],
)
def test_each_status_has_one_meaning(status: int, kind: type[Exception]) -> None:
    body = b'{"errorMessages": ["Issue does not exist"], "errors": {"summary": "required"}}'
    error = classify("jira", "GET /rest/api/3/issue/1", status, answer(status, body), now=NOW)
    assert type(error) is kind
    assert "GET /rest/api/3/issue/1" in str(error)
    if status in (401, 403):
        assert "check the credentials" in str(error) and "Issue does not exist" not in str(error)
    else:
        assert "Issue does not exist; summary: required" in str(error)


def test_429_and_503_wait_for_the_later_of_retry_after_and_reset() -> None:
    limited = classify("jira", "GET x", 429, answer(429, headers={"Retry-After": "30"}), now=NOW)
    assert isinstance(limited, RateLimited) and limited.retry_after == 30
    reset = answer(429, headers={"Retry-After": "5", "X-RateLimit-Reset": "2026-11-02T09:01Z"})
    assert retry_after(reset.headers, NOW) == 60
    unavailable = classify(
        "jira", "GET x", 503, answer(503, headers={"Retry-After": "12"}), now=NOW
    )
    assert isinstance(unavailable, RateLimited) and unavailable.retry_after == 12
    assert type(classify("jira", "GET x", 503, answer(503), now=NOW)) is Transient


def test_the_library_speaks_v3_to_the_fake_cloud_site(
    fake: FakeJira, served: Served, spec_check: SpecCheck
) -> None:
    client = client_for(fake, served, spec_check)
    assert client.jira._options["rest_api_version"] == "3" and client.session.max_retries == 0  # type: ignore[attr-defined]
    assert spec_check.checked == [], (
        "constructing a client sends nothing: a daemon starts while Jira is down"
    )
    assert client.time_zone == "America/Los_Angeles"
    assert client.jira.deploymentType == "Cloud" and client.jira._is_cloud
    issue = fake.open_issue("via the library")
    assert client.issue(issue, "summary", "")["fields"]["summary"] == "via the library"
    assert [t["to"]["name"] for t in client.transitions(issue)] == ["In Progress"]
    assert spec_check.checked[:2] == ["GET /rest/api/3/serverInfo", "GET /rest/api/3/myself"]


def test_bad_credentials_are_permanent_and_never_echoed(fake: FakeJira, served: Served) -> None:
    client = client_for(fake, served, JiraSpecCheck("jira"), api_token="wrong-token-value")
    with pytest.raises(Permanent) as caught:
        client.issue("1", "summary", "")
    assert "check the credentials" in str(caught.value) and "wrong-token-value" not in str(
        caught.value
    )


def test_a_site_that_is_not_cloud_is_refused(fake: FakeJira, served: Served) -> None:
    fake.deployment = "Server"
    client = client_for(fake, served, JiraSpecCheck("jira"))
    with pytest.raises(Permanent, match="is a Jira Server site, not Jira Cloud"):
        client.issue("1", "summary", "")


def test_a_failing_server_info_is_transient(
    fake: FakeJira, served: Served, spec_check: SpecCheck
) -> None:
    fake.fail_next("GET /rest/api/3/serverInfo", 500)
    unchecked = JiraSpecCheck("jira")  # the vendor spec has no 500 answers
    client = client_for(fake, served, unchecked)
    with pytest.raises(Transient, match="GET serverInfo: 500"):
        client.time_zone  # noqa: B018 - the first use verifies the site
    assert client.time_zone == "America/Los_Angeles", "verified on the next use"
    assert client.jira.deploymentType == "Cloud"
    assert client_for(fake, served, spec_check).time_zone == "America/Los_Angeles"


def test_a_dead_site_is_transient(fake: FakeJira) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    from pydantic import SecretStr

    from ticket_bridge.adapters.jira.config import JiraConfig

    config = JiraConfig(
        base_url=f"http://127.0.0.1:{port}",
        email="a@b.c",
        api_token=SecretStr("t"),
        webhook_secret=SecretStr("s"),
        timeout=2,
    )
    client = JiraClient("jira", config)
    with pytest.raises(Transient, match="ConnectionError"):
        client.time_zone  # noqa: B018 - the first use reaches for the site


def test_every_request_is_paced_by_the_budget(
    fake: FakeJira, served: Served, spec_check: SpecCheck
) -> None:
    client = client_for(fake, served, spec_check)
    issue = fake.open_issue("paced")
    for _ in range(4):
        client.issue(issue, "summary", "")
    # 2 a second: a burst of 1, then 1 a second, so no second ever sees more than 2.
    # serverInfo and four reads are five requests, four of them waited a second each.
    assert client.budget.waited == pytest.approx(4.0)


def test_a_429_drains_the_budget_until_the_window_resets(
    fake: FakeJira, served: Served, spec_check: SpecCheck
) -> None:
    client = client_for(fake, served, spec_check)
    issue = fake.open_issue("busy")
    fake.fail_next(f"GET /rest/api/3/issue/{issue}", 429, {"Retry-After": "3"})
    with pytest.raises(RateLimited):
        client.issue(issue, "summary", "")
    before = client.budget.waited
    client.issue(issue, "summary", "")
    assert client.budget.waited - before >= 3
    assert all("-> 429" in f for f in spec_check.failures)
    spec_check.failures.clear()
