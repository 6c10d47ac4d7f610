"""The memory adapter passes the shared adapter contract, and its own specifics."""

from __future__ import annotations

import pytest

from tests.adapters.contract import AdapterContract, a_comment
from tests.conftest import TickingClock
from ticket_bridge.adapters.memory import webhooks
from ticket_bridge.adapters.memory.adapter import MemoryAdapter
from ticket_bridge.adapters.memory.config import MemoryConfig
from ticket_bridge.adapters.memory.fake import MemoryTracker
from ticket_bridge.bridge.adapter import Mirror
from ticket_bridge.bridge.errors import WebhookRejected
from ticket_bridge.bridge.mapping import load_mapping
from ticket_bridge.bridge.model import Visibility


class MemoryHarness:
    def __init__(self, config: MemoryConfig) -> None:
        self.tracker = MemoryTracker(
            "mem", TickingClock(), internal_comments=config.internal_comments
        )
        self.config = config
        self.adapter = MemoryAdapter("mem", config, load_mapping(config.mapping), self.tracker)
        self.deliveries = 0

    def open_ticket(self, title: str) -> str:
        return self.tracker.open_ticket(title, status="new")

    def edit_title(self, ticket_id: str, title: str) -> None:
        self.tracker.edit(ticket_id, title=title)

    def delivery(self, ticket_id: str) -> tuple[dict[str, str], bytes]:
        self.deliveries += 1
        return webhooks.deliver(self.config.webhook_secret, f"d{self.deliveries}", ticket_id)

    def throttle(self) -> None:
        self.tracker.inject("read", "rate_limited", retry_after=30)

    @property
    def assignee(self) -> str:
        return "sam@support.example.com"


class TestMemoryContract(AdapterContract):
    @pytest.fixture(params=["with-internal-notes", "prefix-only"])
    def harness(self, request: pytest.FixtureRequest) -> MemoryHarness:
        return MemoryHarness(
            MemoryConfig(mapping="memory", internal_comments=request.param == "with-internal-notes")
        )


def test_a_tracker_without_internal_notes_marks_them_visibly() -> None:
    harness = MemoryHarness(MemoryConfig(internal_comments=False))
    ticket = harness.open_ticket("x")
    harness.adapter.add_comment(
        ticket,
        Mirror(comment=a_comment("a:1", Visibility.INTERNAL), visibility=Visibility.INTERNAL),
    )
    [stored] = harness.tracker.tickets[ticket].comments
    assert stored.public and stored.body.startswith("[internal] ")


def test_a_malformed_delivery_says_where() -> None:
    harness = MemoryHarness(MemoryConfig())
    body = b'{"delivery": "d1"}'
    headers = {"X-Hub-Signature": webhooks.sign(harness.config.webhook_secret, body)}
    with pytest.raises(WebhookRejected) as caught:
        harness.adapter.parse_webhook(headers, body)
    assert caught.value.status == 400 and "ticket" in caught.value.reason
