"""The fake answers as Zendesk does, and sends webhooks the adapter accepts."""

from __future__ import annotations

import json
import queue

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
    assert json.loads(body) == {"ticket_bridge": "ticket-changed", "ticket_id": str(first)}
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
