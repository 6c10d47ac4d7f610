"""The fake answers as Zendesk does, and sends webhooks the adapter accepts."""

from __future__ import annotations

import json
import queue

import pytest
import requests
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.adapters.zendesk.conftest import ZendeskHarness
from ticket_bridge.adapters.serving import Served
from ticket_bridge.adapters.zendesk import webhooks
from ticket_bridge.adapters.zendesk.fake import CLOSED_BODY
from ticket_bridge.bridge.adapter import Draft, Scope
from ticket_bridge.bridge.model import Field


def test_a_closed_ticket_refuses_updates_with_zendesks_422(zendesk: ZendeskHarness) -> None:
    ticket_id = zendesk.open_ticket("Done")
    zendesk.fake.close(int(ticket_id))
    zendesk.adapter.read(ticket_id)
    response = zendesk.session.put(
        f"{zendesk.served.url}/api/v2/tickets/{ticket_id}",
        json={"ticket": {"priority": "high"}},
        headers={"Authorization": str(zendesk.session.headers["Authorization"])},
        timeout=5,
    )
    assert response.status_code == 422
    assert response.json() == CLOSED_BODY


def test_external_ids_are_not_unique_as_in_zendesk(zendesk: ZendeskHarness) -> None:
    first = zendesk.fake.open_ticket("A", external_id="k")
    second = zendesk.fake.open_ticket("B", external_id="k")
    found = zendesk.adapter.find("k")
    assert found is not None and found.id == str(max(first, second))


def test_subscribed_deliveries_are_signed_and_accepted(zendesk: ZendeskHarness) -> None:
    received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    async def receive(request: Request) -> Response:
        received.put((dict(request.headers), await request.body()))
        return Response(status_code=200)

    with Served(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as receiver:
        zendesk.fake.subscribe(f"{receiver.url}/hook")
        ticket_id = zendesk.fake.open_ticket("Hooked")
        headers, body = received.get(timeout=10)
        zendesk.fake.stop()
    hints = webhooks.parse(
        "zendesk",
        SecretStr(zendesk.fake.webhook_secret),
        headers,
        body,
        clock=zendesk.clock,
    )
    assert [h.ticket_id for h in hints] == [str(ticket_id)]


def test_an_update_raises_an_event_per_change_and_the_inbox_keeps_one_per_kind(
    zendesk: ZendeskHarness,
) -> None:
    """An agent's reply that also solves the ticket raises ``comment_added``,
    ``status_changed`` and ``custom_status_changed``, one action: the bridge reads the comments
    once and the fields once."""
    received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    async def receive(request: Request) -> Response:
        received.put((dict(request.headers), await request.body()))
        return Response(status_code=200)

    ticket_id = zendesk.fake.open_ticket("Hooked")
    with Served(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as receiver:
        zendesk.fake.subscribe(f"{receiver.url}/hook")
        zendesk.fake.edit(
            ticket_id, status="solved", comment={"body": "Fixed in 4.2", "public": True}
        )
        deliveries = [received.get(timeout=10) for _ in range(3)]
        zendesk.fake.stop()
    bodies = [json.loads(body) for _, body in deliveries]
    assert sorted(b["type"].rsplit(".", 1)[1] for b in bodies) == [
        "comment_added",
        "custom_status_changed",
        "status_changed",
    ]
    assert len({b["event"]["meta"]["sequence"]["id"] for b in bodies}) == 1, "one action"
    secret = SecretStr(zendesk.fake.webhook_secret)
    hints = [
        hint
        for headers, body in deliveries
        for hint in webhooks.parse("zendesk", secret, headers, body, clock=zendesk.clock)
    ]
    assert sorted(h.scope for h in hints) == [Scope.COMMENTS, Scope.FIELDS, Scope.FIELDS]
    assert len({h.delivery_id for h in hints}) == 2, "the two field events are one delivery"


def test_trigger_deliveries_carry_the_triggers_body_and_stop_with_it(
    zendesk: ZendeskHarness,
) -> None:
    received: queue.Queue[bytes] = queue.Queue()

    async def receive(request: Request) -> Response:
        received.put(await request.body())
        return Response(status_code=200)

    with Served(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as receiver:
        webhook_id = zendesk.fake.subscribe(f"{receiver.url}/hook", style="trigger")
        [trigger_id] = [
            t["id"]
            for t in zendesk.fake.triggers.values()
            if t["actions"][0]["value"][0] == webhook_id
        ]
        first = zendesk.fake.open_ticket("Hooked")
        body = received.get(timeout=10)
        zendesk.fake.set_trigger_active(trigger_id, False)
        zendesk.fake.open_ticket("Not delivered")
        zendesk.fake.set_trigger_active(trigger_id, True)
        third = zendesk.fake.open_ticket("Delivered again")
        later = received.get(timeout=10)
        zendesk.fake.stop()
    assert json.loads(body) == {
        "ticket_bridge": "ticket-changed",
        "ticket_id": str(first),
        "actor_id": str(zendesk.fake.tickets[first]["requester_id"]),
    }
    assert json.loads(later)["ticket_id"] == str(third)


def get(zendesk: ZendeskHarness, path: str, **params: str) -> requests.Response:
    """A request as the adapter sends it: its session, so the spec check sees it too."""
    zendesk.adapter.live_statuses()  # authorizes the session
    return zendesk.session.get(f"https://acme.zendesk.com{path}", params=params, timeout=5)


def test_search_reads_zendesks_operators(zendesk: ZendeskHarness) -> None:
    fake = zendesk.fake
    solved = fake.open_ticket("Printer on fire", status="solved", priority="high")
    zendesk.clock.advance(61)
    pending = fake.open_ticket("Paper jam", status="pending", tags=["vip"], priority="low")
    stamp = fake.tickets[pending]["created_at"]

    def found(query: str) -> list[int]:
        response = get(zendesk, "/api/v2/search", query=query, sort_by="created_at")
        assert response.status_code == 200, response.text
        return sorted(r["id"] for r in response.json()["results"])

    assert found("type:ticket status<solved") == [pending]
    assert found("type:ticket status>=solved") == [solved]
    assert found("type:ticket -tags:vip") == [solved]
    assert found("type:ticket priority>normal") == [solved]
    assert found(f"type:ticket created>={stamp}") == [pending]
    assert found(f"type:ticket created>{stamp}") == []
    assert found(f"type:ticket created<={stamp}") == [solved, pending]
    assert found(f"type:ticket created:{stamp[:10]}") == [solved, pending]
    assert found('type:ticket "on fire"') == [solved]
    count = get(zendesk, "/api/v2/search/count", query="type:ticket status<closed")
    assert count.json() == {"count": 2}


def test_search_stops_at_1000_results_as_zendesk_does(zendesk: ZendeskHarness) -> None:
    refused = get(zendesk, "/api/v2/search", query="type:ticket", page="11", per_page="100")
    assert refused.status_code == 422
    assert "1000" in refused.json()["description"]


def test_the_export_wants_its_type_in_the_filter_and_its_cursor_fresh(
    zendesk: ZendeskHarness,
) -> None:
    for n in range(3):
        zendesk.fake.open_ticket(f"Export {n}")
        zendesk.clock.advance(2)
    typed = get(zendesk, "/api/v2/search/export", query="type:ticket", **{"filter[type]": "ticket"})
    assert typed.status_code == 400
    assert "filter[type]" in typed.json()["description"]
    params = {"query": "status<solved", "filter[type]": "ticket", "page[size]": "2"}
    first = get(zendesk, "/api/v2/search/export", **params).json()
    assert [r["subject"] for r in first["results"]] == ["Export 2", "Export 1"], "newest first"
    assert first["meta"]["has_more"] is True
    cursor = first["meta"]["after_cursor"]
    second = get(zendesk, "/api/v2/search/export", **params, **{"page[after]": cursor}).json()
    assert [r["subject"] for r in second["results"]] == ["Export 0"]
    assert second["meta"]["has_more"] is False
    zendesk.clock.advance(3601)
    expired = get(zendesk, "/api/v2/search/export", **params, **{"page[after]": cursor})
    assert expired.status_code == 400
    assert "expired" in expired.json()["description"]


def test_a_query_the_fake_cannot_read_is_a_400(zendesk: ZendeskHarness) -> None:
    for query in ("type:ticket created>soon", "type:ticket colour:blue", 'type:ticket "open'):
        refused = get(zendesk, "/api/v2/search", query=query)
        assert refused.status_code == 400, query
        assert refused.json()["description"].startswith("Invalid search: ")


def actor_of(zendesk: ZendeskHarness, ticket_id: int, style: str = "event") -> str | None:
    _, body = zendesk.fake.delivery(ticket_id, style=style)
    parsed = json.loads(body)
    found = parsed["actor_id"] if style == "trigger" else parsed["detail"]["actor_id"]
    assert found is None or isinstance(found, str)
    return found


@pytest.mark.parametrize("style", ["event", "trigger"])
def test_a_delivery_names_who_made_the_tickets_latest_change(
    zendesk: ZendeskHarness, style: str
) -> None:
    """People act as themselves, never as the API user; the bridge's writes are the API user's."""
    fake = zendesk.fake
    ticket_id = fake.open_ticket("Printer on fire", requester="dana@example.com")
    dana = str(fake.tickets[ticket_id]["requester_id"])
    assert actor_of(zendesk, ticket_id, style) == dana
    fake.edit(ticket_id, priority="high")
    assert actor_of(zendesk, ticket_id, style) == str(fake.agent_id) != str(fake.admin_id)
    fake.comment(ticket_id, "Any news?", public=True, author="dana@example.com")
    assert actor_of(zendesk, ticket_id, style) == dana
    fake.comment(ticket_id, "Looking into it", public=False)
    assert actor_of(zendesk, ticket_id, style) == str(fake.agent_id)
    zendesk.adapter.update(str(ticket_id), {Field.PRIORITY: "low"})
    assert actor_of(zendesk, ticket_id, style) == str(fake.admin_id)
    fake.edit(ticket_id, priority="low")
    assert actor_of(zendesk, ticket_id, style) == str(fake.admin_id), "a no-op is no change"
    fake.edit(ticket_id, status="solved", author="sam@support.example.com")
    assert actor_of(zendesk, ticket_id, style) == str(fake._user_named("sam@support.example.com"))
    fake.close(ticket_id)
    assert actor_of(zendesk, ticket_id, style) == "-1"


def test_a_ticket_the_bridge_creates_is_the_api_users_change(zendesk: ZendeskHarness) -> None:
    created = zendesk.adapter.create(
        Draft(fields={Field.TITLE: "From Jira"}, requester="dana@example.com", correlation_key="k")
    )
    assert actor_of(zendesk, int(created.id)) == str(zendesk.fake.admin_id)


def test_deliveries_the_fake_sends_name_the_actor_and_the_bridges_own_are_echoes(
    zendesk: ZendeskHarness,
) -> None:
    received: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    async def receive(request: Request) -> Response:
        received.put((dict(request.headers), await request.body()))
        return Response(status_code=200)

    ticket_id = zendesk.open_ticket("Hooked")
    assert zendesk.adapter.identify() == str(zendesk.fake.admin_id)
    with Served(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as receiver:
        zendesk.fake.subscribe(f"{receiver.url}/hook")
        zendesk.adapter.update(ticket_id, {Field.PRIORITY: "high"})
        ours = received.get(timeout=10)
        zendesk.fake.edit(int(ticket_id), priority="low")
        theirs = received.get(timeout=10)
        zendesk.fake.stop()
    [echo] = zendesk.adapter.parse_webhook(*ours)
    [change] = zendesk.adapter.parse_webhook(*theirs)
    assert echo.ticket_id == change.ticket_id == ticket_id
    assert echo.echo and not change.echo


def test_users_me_is_the_api_user_as_the_spec_describes(zendesk: ZendeskHarness) -> None:
    response = get(zendesk, "/api/v2/users/me")
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == zendesk.fake.admin_id
    assert response.json()["user"]["email"] == zendesk.fake.admin_email
