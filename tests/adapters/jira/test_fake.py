"""The fake Jira keeps Jira's semantics where the adapter depends on them (checked against the spec)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
import requests
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.adapters.jira.conftest import MakeAdapter
from tests.conftest import TickingClock
from tests.specs import SpecCheck
from ticket_bridge.adapters.jira import webhooks
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.model import Field, Visibility

API = "/rest/api/3"


@pytest.fixture
def http(fake: FakeJira, served: Served, spec_check: SpecCheck) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.auth = (fake.email, fake.api_token)
    spec_check.attach(session)
    return session, served.url + API


def test_updated_stamps_are_written_as_jira_writes_them(
    fake: FakeJira, http: tuple[requests.Session, str]
) -> None:
    session, api = http
    issue = fake.open_issue("stamps")
    fields = session.get(f"{api}/issue/{issue}", params={"fields": "updated,created"}).json()[
        "fields"
    ]
    assert fields["updated"] == fields["created"] == "2026-11-02T01:00:00.001-0800"


def test_the_old_search_is_gone(fake: FakeJira, served: Served) -> None:
    answer = requests.get(
        f"{served.url}{API}/search",
        params={"jql": "project = SUP"},
        auth=(fake.email, fake.api_token),
        timeout=5,
    )
    assert (
        answer.status_code == 410 and "/rest/api/3/search/jql" in answer.json()["errorMessages"][0]
    )


def test_unsupported_or_unbounded_jql_is_a_400_with_jiras_error_shape(
    http: tuple[requests.Session, str],
) -> None:
    session, api = http
    unbounded = session.get(f"{api}/search/jql", params={"jql": "order by created"})
    assert unbounded.status_code == 400 and "Unbounded JQL" in unbounded.json()["errorMessages"][0]
    odd = session.get(f"{api}/search/jql", params={"jql": "project = SUP AND text ~ x"})
    assert odd.status_code == 400 and odd.json()["errors"] == {}


def test_search_pages_with_next_page_token_and_lags_behind_writes(
    fake: FakeJira, http: tuple[requests.Session, str], ticking: TickingClock
) -> None:
    session, api = http
    ids = [fake.open_issue(f"i{n}") for n in range(3)]
    jql = 'project in (SUP) AND updated >= "2026/11/01 00:00" ORDER BY updated ASC, key ASC'
    assert session.get(f"{api}/search/jql", params={"jql": jql}).json() == {
        "issues": [],
        "isLast": True,
    }
    reconciled = session.get(
        f"{api}/search/jql", params={"jql": jql, "reconcileIssues": [ids[0]]}
    ).json()
    assert [i["id"] for i in reconciled["issues"]] == [ids[0]]
    ticking.advance(6)
    params: dict[str, str | int] = {"jql": jql, "maxResults": 2, "fields": "updated"}
    first = session.get(f"{api}/search/jql", params=params).json()
    assert [i["id"] for i in first["issues"]] == ids[:2] and first["isLast"] is False
    second = session.get(
        f"{api}/search/jql",
        params={"jql": jql, "maxResults": 2, "nextPageToken": first["nextPageToken"]},
    ).json()
    assert [i["id"] for i in second["issues"]] == ids[2:] and second["isLast"] is True
    assert "nextPageToken" not in second
    bad = session.get(f"{api}/search/jql", params={"jql": jql, "nextPageToken": "forged"})
    assert bad.status_code == 400


def test_put_ignores_a_transition_and_refuses_status(
    fake: FakeJira, http: tuple[requests.Session, str]
) -> None:
    session, api = http
    issue = fake.open_issue("workflow")
    ignored = session.put(
        f"{api}/issue/{issue}", json={"transition": {"id": "11"}, "fields": {"summary": "renamed"}}
    )
    assert ignored.status_code == 204 and fake.issues[issue].status == "To Do"
    refused = session.put(f"{api}/issue/{issue}", json={"fields": {"status": {"name": "Done"}}})
    assert refused.status_code == 400 and "status" in refused.json()["errors"]


def test_a_transition_screen_requires_its_resolution(
    fake: FakeJira, http: tuple[requests.Session, str]
) -> None:
    session, api = http
    issue = fake.open_issue("resolve me", status="In Progress")
    offered = session.get(
        f"{api}/issue/{issue}/transitions", params={"expand": "transitions.fields"}
    ).json()
    resolve = next(t for t in offered["transitions"] if t["to"]["name"] == "Done")
    assert resolve["fields"]["resolution"]["required"] is True
    missing = session.post(
        f"{api}/issue/{issue}/transitions", json={"transition": {"id": resolve["id"]}}
    )
    assert missing.status_code == 400 and missing.json()["errors"] == {
        "resolution": "Resolution is required."
    }
    wrong = session.post(f"{api}/issue/{issue}/transitions", json={"transition": {"id": "41"}})
    assert wrong.status_code == 400
    done = session.post(
        f"{api}/issue/{issue}/transitions",
        json={"transition": {"id": resolve["id"]}, "fields": {"resolution": {"name": "Done"}}},
    )
    assert done.status_code == 204 and fake.issues[issue].fields["resolution"] == "Done"
    assert fake.issues[issue].changelog[-1]["items"][0]["toString"] == "Done"


def test_properties_and_comment_pages(fake: FakeJira, http: tuple[requests.Session, str]) -> None:
    session, api = http
    issue = fake.open_issue("props")
    assert session.get(f"{api}/issue/{issue}/properties/k").status_code == 404
    assert session.put(f"{api}/issue/{issue}/properties/k", json={"key": "v"}).status_code == 201
    assert session.put(f"{api}/issue/{issue}/properties/k", json={"key": "w"}).status_code == 200
    assert session.get(f"{api}/issue/{issue}/properties/k").json() == {
        "key": "k",
        "value": {"key": "w"},
    }
    for n in range(3):
        fake.comment(issue, f"c{n}")
    page = session.get(
        f"{api}/issue/{issue}/comment", params={"startAt": 1, "maxResults": 1}
    ).json()
    assert (page["startAt"], page["maxResults"], page["total"], len(page["comments"])) == (
        1,
        1,
        3,
        1,
    )
    refused = session.post(
        f"{api}/issue/{issue}/comment",
        json={
            "body": {"type": "doc", "version": 1, "content": []},
            "visibility": {"type": "role", "value": "Nobody"},
        },
    )
    assert refused.status_code == 400


def test_rate_limit_answers_429_with_jiras_headers(fake: FakeJira, served: Served) -> None:
    fake.rate_limit = (2, 60.0)
    auth = (fake.email, fake.api_token)
    codes = [requests.get(f"{served.url}{API}/myself", auth=auth, timeout=5) for _ in range(3)]
    assert [c.status_code for c in codes] == [200, 200, 429]
    limited = codes[-1].headers
    assert int(limited["Retry-After"]) >= 59 and limited["X-RateLimit-Remaining"] == "0"
    assert dt.datetime.fromisoformat(
        limited["X-RateLimit-Reset"].replace("Z", "+00:00")
    ) > dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def test_webhooks_are_posted_signed_to_subscribers(fake: FakeJira) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        arrived.set()
        return Response(status_code=202)

    with Served(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as receiver:
        fake.subscribe(receiver.url + "/hook")
        issue = fake.open_issue("hooked")
        assert arrived.wait(10)
        fake.stop()
    headers, body = received[0]
    [hint] = webhooks.parse("jira", SecretStr(fake.webhook_secret), headers, body)
    assert hint.ticket_id == issue and hint.delivery_id == headers["x-atlassian-webhook-identifier"]
    sent = json.loads(body)
    assert sent["webhookEvent"] == "jira:issue_created"
    assert sent["user"]["accountId"] == fake.person.account_id


def test_describe_tells_an_admin_what_to_configure(fake: FakeJira) -> None:
    described: dict[str, Any] = dict(fake.describe("http://127.0.0.1:1"))
    assert (
        described["base_url"] == "http://127.0.0.1:1"
        and described["webhook_secret"] == fake.webhook_secret
    )
    assert described["email"] and described["api_token"] and described["projects"] == "SUP"


def test_the_sandbox_seed_reads_through_the_adapter(
    fake: FakeJira, make_adapter: MakeAdapter
) -> None:
    fake.seed_demo()
    adapter = make_adapter(user_map={"kim@eng.example.com": "557058:kim"})
    changed = adapter.changes(None)
    assert len(changed.ids) == 0  # not indexed yet: the fake's index lags 5 s behind writes
    [outage, question] = sorted(fake.issues)
    read = adapter.read(outage)
    assert (
        read.fields[Field.ASSIGNEE] == "kim@eng.example.com"
        and read.fields[Field.STATUS] == "In Progress"
    )
    assert [c.visibility for c in adapter.comments(outage)] == [
        Visibility.PUBLIC,
        Visibility.INTERNAL,
    ]
    assert adapter.read(question).fields[Field.DUE] == "2026-12-01"


def test_a_delivery_names_whoever_made_the_latest_change(
    fake: FakeJira, http: tuple[requests.Session, str]
) -> None:
    """People's helpers act as ``person`` unless told who; the API as the account it signs in as."""
    session, api = http
    fake.add_account("557058:kim", "Kim Engineer", "kim@eng.example.com")

    def actor(issue: str) -> str:
        return str(json.loads(fake.delivery(issue)[1])["user"]["accountId"])

    issue = fake.open_issue("who")
    assert actor(issue) == fake.person.account_id != fake.me.account_id
    assert session.put(f"{api}/issue/{issue}", json={"fields": {"summary": "api"}}).ok
    assert actor(issue) == fake.me.account_id
    fake.move(issue, "In Progress", by="557058:kim")
    assert actor(issue) == "557058:kim"
    fake.edit(issue, summary="person")
    assert actor(issue) == fake.person.account_id
    assert fake.issues[issue].changelog[-1]["author"] == fake.person.account_id
    assert actor(fake.open_issue("reported", reporter="557058:kim")) == "557058:kim"


def test_a_comment_keeps_its_author_and_names_its_last_editor(
    fake: FakeJira, http: tuple[requests.Session, str]
) -> None:
    session, api = http
    issue = fake.open_issue("comments")
    posted = session.post(
        f"{api}/issue/{issue}/comment",
        json={"body": {"type": "doc", "version": 1, "content": []}},
    ).json()
    assert (
        posted["author"]["accountId"] == posted["updateAuthor"]["accountId"] == fake.me.account_id
    )
    fake.edit_comment(issue, posted["id"], "a person's words")
    [listed] = session.get(f"{api}/issue/{issue}/comment").json()["comments"]
    assert listed["author"]["accountId"] == fake.me.account_id
    assert listed["updateAuthor"]["accountId"] == fake.person.account_id
    assert json.loads(fake.delivery(issue)[1])["user"]["accountId"] == fake.person.account_id
