"""The client: one place for statuses, no secrets in messages, no waiting on a 429."""

from __future__ import annotations

import pytest
import requests

from tests.adapters.zendesk.conftest import ZendeskHarness
from tests.conftest import TickingClock
from tests.specs import SpecCheck
from ticket_bridge.adapters.serving import Served
from ticket_bridge.adapters.zendesk.client import ZendeskClient
from ticket_bridge.adapters.zendesk.config import ZendeskConfig
from ticket_bridge.adapters.zendesk.fake import FakeZendesk, Window
from ticket_bridge.bridge.errors import NotFound, Permanent, RateLimited


def test_wrong_credentials_say_check_them_and_never_echo_them(
    served: Served, fake: FakeZendesk
) -> None:
    session = requests.Session()
    spec = SpecCheck("zendesk")
    spec.attach(session)
    config = ZendeskConfig(
        subdomain=fake.subdomain,
        base_url=served.url,
        email=fake.admin_email,
        api_token="not-the-token-xyz",
        webhook_secret="s",
    )
    client = ZendeskClient("zendesk", config, session=session)
    with pytest.raises(Permanent, match="check the credentials") as caught:
        client.ticket("1")
    assert "not-the-token-xyz" not in str(caught.value)
    spec.assert_clean()


def test_a_missing_ticket_is_not_found(zendesk: ZendeskHarness) -> None:
    with pytest.raises(NotFound, match="GET /api/v2/tickets/404"):
        zendesk.adapter.client.ticket("404")


def test_an_account_rate_limit_is_raised_with_retry_after_and_drains_the_budget(
    served: Served, fake: FakeZendesk, clock: TickingClock
) -> None:
    fake.account_window = Window(1, 60.0)
    harness = ZendeskHarness(served, fake, clock)
    ticket_id = str(fake.open_ticket("Limited"))
    harness.adapter.client.ticket(ticket_id)
    with pytest.raises(RateLimited) as caught:
        harness.adapter.client.ticket(ticket_id)
    assert caught.value.retry_after > 0
    assert harness.sleeps == []
    harness.adapter.client.budget.acquire()
    assert harness.sleeps and harness.sleeps[0] > 0
    harness.finish()
