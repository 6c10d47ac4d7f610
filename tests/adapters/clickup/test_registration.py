"""Registering the bridge's webhook: ClickUp makes the secret, deliveries are signed with it."""

from __future__ import annotations

import json
import logging

import pytest

from tests.adapters.clickup.conftest import Bridge, MakeAdapter
from tests.adapters.clickup.test_inspect import wait_for
from tests.specs import SpecCheck
from ticket_bridge.adapters.clickup.adapter import TASK_EVENTS
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.bridge.errors import Permanent, WebhookRejected


def test_a_registered_webhook_delivers_what_its_secret_verifies(
    fake: FakeClickUp,
    bridge: Bridge,
    make_adapter: MakeAdapter,
    spec_check: SpecCheck,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = make_adapter(webhook_secret=None)
    secret = admin.register_webhook(bridge.url)
    assert secret and secret != fake.webhook_secret.get_secret_value(), "ClickUp made a new one"
    assert secret not in caplog.text
    [hook] = fake.webhook_ids()
    registered = fake.webhook(hook)
    assert registered["endpoint"] == bridge.url
    assert registered["list_id"] == fake.list_id
    assert set(registered["events"]) == set(TASK_EVENTS)

    configured = make_adapter(webhook_secret=secret, webhook_url=bridge.url)
    task = fake.open_task("hooked")
    wait_for(lambda: bool(bridge.got), "a delivery")
    headers, body = bridge.got[0]
    [hint] = configured.parse_webhook(headers, body)
    assert hint.ticket_id == task and json.loads(body)["webhook_id"] == hook
    with pytest.raises(WebhookRejected):
        make_adapter().parse_webhook(headers, body)  # the sandbox's published secret
    assert configured.inspect() == []
    assert any(c.startswith("POST /api/v2/team/") for c in spec_check.checked)


def test_registering_again_keeps_the_one_webhook(
    fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    first = adapter.register_webhook(bridge.url)
    assert adapter.register_webhook(bridge.url + "/") == first
    assert len(fake.webhook_ids()) == 1


def test_clickup_refuses_a_second_webhook_to_the_same_place(
    fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter
) -> None:
    client = make_adapter().client
    body = {"endpoint": bridge.url, "events": ["*"], "list_id": int(fake.list_id)}
    client.create_webhook(fake.team_id, body)
    with pytest.raises(Permanent, match="400 Webhook configuration already exists"):
        client.create_webhook(fake.team_id, body)
    client.create_webhook(fake.team_id, {"endpoint": bridge.url, "events": ["*"]})
    assert len(fake.webhook_ids()) == 2, "another location is another webhook"


def test_a_list_webhook_hears_only_that_list(
    fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter
) -> None:
    make_adapter().register_webhook(bridge.url)
    other = fake.add_list("Ops", [("todo", "open")])
    fake.open_task("elsewhere", list_id=other)
    mine = fake.open_task("here")
    wait_for(lambda: bool(bridge.got), "a delivery")
    assert [json.loads(body)["task_id"] for _, body in bridge.got] == [mine]


def test_a_refused_registration_says_why_without_the_token(
    fake: FakeClickUp, make_adapter: MakeAdapter
) -> None:
    with pytest.raises(Permanent) as caught:
        make_adapter().register_webhook("not a url")
    assert "400 Endpoint must be a valid URL" in str(caught.value)
    assert fake.token not in str(caught.value)


def test_webhook_reads_never_show_the_secret(fake: FakeClickUp, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    secret = adapter.register_webhook("https://bridge.example.com/webhooks/clickup")
    listed = adapter.client.webhooks(fake.team_id)
    assert secret not in repr(listed) and secret not in str(listed.webhooks[0])
    assert listed.webhooks[0].secret.get_secret_value() == secret
