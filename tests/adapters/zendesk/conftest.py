"""A fake Zendesk on loopback, an adapter pointed at it through zenpy, a spec check on its session."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import TickingClock
from tests.specs import SpecCheck
from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.adapters.serving import Served
from ticket_bridge.adapters.zendesk.adapter import ZendeskAdapter
from ticket_bridge.adapters.zendesk.config import ZendeskConfig
from ticket_bridge.adapters.zendesk.fake import FakeZendesk
from ticket_bridge.bridge.mapping import load_mapping


class ZendeskHarness:
    """The adapter, the fake it talks to, and a person acting in Zendesk (time passes as they act).

    The account is set up as the README says: a webhook to the bridge's URL (the fake's own
    server stands in for it, answering 404), subscribed to ticket events.
    """

    def __init__(self, served: Served, fake: FakeZendesk, clock: TickingClock, **config: Any):
        self.fake = fake
        self.clock = clock
        self.served = served
        self.check = SpecCheck("zendesk")
        self.session = requests.Session()
        self.check.attach(self.session)
        self.sleeps: list[float] = []
        auth: dict[str, Any] = {
            "oauth_client_id": fake.client_id,
            "oauth_client_secret": fake.client_secret,
        }
        self.webhook_url = f"{served.url}/webhooks/zendesk"
        if config.get("webhook_url", self.webhook_url) == self.webhook_url:
            fake.subscribe(self.webhook_url)
        settings: dict[str, Any] = {
            "subdomain": fake.subdomain,
            "base_url": served.url,
            "webhook_secret": fake.webhook_secret,
            "webhook_url": self.webhook_url,
            "time_zone": "Europe/Berlin",
            **auth,
            **config,
        }
        if "api_token" in config:
            settings.pop("oauth_client_id")
            settings.pop("oauth_client_secret")
        self.config = ZendeskConfig(**settings)
        self.adapter = ZendeskAdapter(
            "zendesk",
            self.config,
            load_mapping(self.config.mapping),
            session=self.session,
            clock=clock,
            budget=self.budget(200),
            export_budget=self.budget(10),
        )

    def throttle(self) -> None:
        self.fake.exhaust_rate_limit()

    @property
    def assignee(self) -> str:
        if not any(u.get("email") == "sam@support.example.com" for u in self.fake.users.values()):
            self.fake.add_user("sam@support.example.com", "Sam Agent")
        return "sam@support.example.com"

    def finish(self) -> None:
        """Every request sent was checked; a test that only verified webhooks sent none."""
        if self.check.checked:
            self.check.assert_clean()
        assert not self.check.failures

    def budget(self, limit: int) -> RequestBudget:
        return RequestBudget(limit, 60.0, clock=self._seconds, sleep=self._sleep)

    def _seconds(self) -> float:
        return self.clock.now.timestamp()

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def open_ticket(self, title: str) -> str:
        ticket_id = self.fake.open_ticket(title, "Since Monday")
        self.clock.advance(61)
        return str(ticket_id)

    def edit_title(self, ticket_id: str, title: str) -> None:
        self.fake.edit(int(ticket_id), subject=title)
        self.clock.advance(61)

    def delivery(self, ticket_id: str) -> tuple[dict[str, str], bytes]:
        return self.fake.delivery(int(ticket_id))


@pytest.fixture
def fake(clock: TickingClock) -> FakeZendesk:
    return FakeZendesk(clock=clock)


@pytest.fixture
def served(fake: FakeZendesk) -> Iterator[Served]:
    with Served(fake.app) as running:
        yield running
    fake.stop()


@pytest.fixture
def zendesk(served: Served, fake: FakeZendesk, clock: TickingClock) -> Iterator[ZendeskHarness]:
    harness = ZendeskHarness(served, fake, clock)
    yield harness
    harness.finish()
