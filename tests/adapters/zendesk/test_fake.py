"""The fake answers as Zendesk does, and sends webhooks the adapter accepts."""

from __future__ import annotations

import queue

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
