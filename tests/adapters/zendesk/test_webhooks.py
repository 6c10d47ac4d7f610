"""Zendesk deliveries: good, bad, stale and replayed; both event and trigger bodies."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import pytest
from pydantic import SecretStr

from tests.adapters.zendesk.conftest import ZendeskHarness
from tests.conftest import TickingClock
from ticket_bridge.adapters.zendesk import webhooks
from ticket_bridge.adapters.zendesk.fake import FakeZendesk
from ticket_bridge.bridge.adapter import Scope
from ticket_bridge.bridge.errors import RateLimited, WebhookRejected
from ticket_bridge.bridge.model import Field
from ticket_bridge.bridge.store import Store

SECRET = SecretStr("fake-webhook-secret")


@pytest.fixture
def zd(clock: TickingClock) -> FakeZendesk:
    return FakeZendesk(clock=clock)


def parse(headers: dict[str, str], body: bytes, clock: TickingClock) -> list[str]:
    hints = webhooks.parse("zendesk", SECRET, headers, body, clock=clock)
    return [h.ticket_id for h in hints]


@pytest.mark.parametrize("style", ["event", "trigger"])
def test_a_good_delivery_names_its_ticket(zd: FakeZendesk, clock: TickingClock, style: str) -> None:
    ticket_id = zd.open_ticket("Hook")
    headers, body = zd.delivery(ticket_id, style=style)
    assert parse(headers, body, clock) == [str(ticket_id)]


def test_the_trigger_body_admins_paste_is_what_is_parsed(clock: TickingClock) -> None:
    body = webhooks.TRIGGER_BODY.replace("{{ticket.id}}", "35436").encode()
    stamp = "2026-11-02T09:00:00Z"
    headers = {
        "X-Zendesk-Webhook-Signature": webhooks.sign(SECRET, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": "8350205",
    }
    assert parse(headers, body, clock) == ["35436"]


def test_a_badly_signed_delivery_is_refused(zd: FakeZendesk, clock: TickingClock) -> None:
    headers, body = zd.delivery(zd.open_ticket("Hook"), secret="another-secret")
    with pytest.raises(WebhookRejected) as caught:
        parse(headers, body, clock)
    assert caught.value.status == 401 and "does not match" in caught.value.reason


def test_a_stale_delivery_is_refused(zd: FakeZendesk, clock: TickingClock) -> None:
    headers, body = zd.delivery(zd.open_ticket("Hook"))
    clock.advance(5 * 60 + 2)
    with pytest.raises(WebhookRejected) as caught:
        parse(headers, body, clock)
    assert caught.value.status == 401 and "replay" in caught.value.reason


def test_a_replayed_delivery_never_reaches_the_inbox_twice(
    zd: FakeZendesk, clock: TickingClock
) -> None:
    headers, body = zd.delivery(zd.open_ticket("Hook"))
    store = Store.open("sqlite://", clock=clock)
    try:
        accepted = []
        for _ in range(2):
            [hint] = webhooks.parse("zendesk", SECRET, headers, body, clock=clock)
            accepted.append(store.enqueue(hint.tracker, hint.delivery_id, hint.ticket_id))
        assert accepted == [True, False]
    finally:
        store.close()


def signed_event(event: Mapping[str, object], clock: TickingClock) -> tuple[dict[str, str], bytes]:
    body = json.dumps(event).encode()
    stamp = clock().isoformat()
    return {
        "X-Zendesk-Webhook-Signature": webhooks.sign(SECRET, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": "8350205",
    }, body


@pytest.mark.parametrize(
    ("event", "scope"),
    [
        ("comment_added", Scope.COMMENTS),
        ("comment_made_private", Scope.COMMENTS),
        ("priority_changed", Scope.FIELDS),
        ("status_changed", Scope.FIELDS),
        ("custom_status_changed", Scope.FIELDS),
        ("task_due_at_changed", Scope.FIELDS),
        ("tags_changed", Scope.FIELDS),
        ("created", Scope.ALL),
        ("merged", Scope.ALL),
    ],
)
def test_an_event_says_what_of_its_ticket_changed(
    clock: TickingClock, event: str, scope: Scope
) -> None:
    body = {
        "type": f"zen:event-type:ticket.{event}",
        "detail": {"id": "35436", "actor_id": "9"},
        "event": {"meta": {"sequence": {"id": "CE4A698A", "position": 1}}},
    }
    [hint] = webhooks.parse("zendesk", SECRET, *signed_event(body, clock), clock=clock)
    assert hint.scope is scope
    assert hint.delivery_id == f"35436:CE4A698A:{scope}"


def test_an_event_carries_its_tickets_stamp_so_a_version_already_read_needs_no_read(
    clock: TickingClock,
) -> None:
    body = {
        "type": "zen:event-type:ticket.priority_changed",
        "detail": {"id": "35436", "updated_at": "2026-11-02T09:30:00Z"},
    }
    [hint] = webhooks.parse("zendesk", SECRET, *signed_event(body, clock), clock=clock)
    assert hint.stamp == dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
    for odd in ("yesterday", "2026-11-02T09:30:00", 1762075800):
        body["detail"] = {"id": "35436", "updated_at": odd}
        [hint] = webhooks.parse("zendesk", SECRET, *signed_event(body, clock), clock=clock)
        assert hint.stamp is None, odd


def test_a_trigger_body_cannot_tell_and_an_event_with_no_action_keeps_its_invocation(
    clock: TickingClock,
) -> None:
    trigger = json.loads(webhooks.TRIGGER_BODY.replace("{{ticket.id}}", "35436"))
    [hint] = webhooks.parse("zendesk", SECRET, *signed_event(trigger, clock), clock=clock)
    assert (hint.scope, hint.delivery_id) == (Scope.ALL, "8350205")
    bare = {"type": "zen:event-type:ticket.priority_changed", "detail": {"id": "35436"}}
    [hint] = webhooks.parse("zendesk", SECRET, *signed_event(bare, clock), clock=clock)
    assert (hint.scope, hint.delivery_id) == (Scope.FIELDS, "8350205")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"hello": 1}', "neither"),
        (b'{"type": "zen:event-type:ticket.created"}', "detail"),
        (b'{"type": "zen:event-type:ticket.created", "detail": {"id": "x"}}', "not a ticket id"),
    ],
)
def test_a_malformed_delivery_is_a_400_saying_why(
    clock: TickingClock, body: bytes, reason: str
) -> None:
    stamp = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "X-Zendesk-Webhook-Signature": webhooks.sign(SECRET, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": "1",
    }
    with pytest.raises(WebhookRejected) as caught:
        parse(headers, body, clock)
    assert caught.value.status == 400 and reason in caught.value.reason


def test_an_event_about_something_else_is_answered_and_ignored(clock: TickingClock) -> None:
    body = json.dumps({"type": "zen:event-type:user.created", "detail": {"id": "7"}}).encode()
    stamp = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "X-Zendesk-Webhook-Signature": webhooks.sign(SECRET, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": "2",
    }
    assert parse(headers, body, clock) == []


def test_the_fake_signs_exactly_as_zendesk_documents(zd: FakeZendesk) -> None:
    headers, body = zd.delivery(zd.open_ticket("Hook"))
    stamp = headers["X-Zendesk-Webhook-Signature-Timestamp"]
    assert dt.datetime.fromisoformat(stamp).tzinfo is not None
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(
        hmac.new(b"fake-webhook-secret", stamp.encode() + body, hashlib.sha256).digest()
    ).decode()
    assert headers["X-Zendesk-Webhook-Signature"] == expected


@pytest.mark.parametrize("value", ["³", "١٢", "12a", "", True])
def test_a_ticket_id_is_ascii_digits_only(value: object) -> None:
    from ticket_bridge.adapters.zendesk import webhooks as zendesk_webhooks
    from ticket_bridge.bridge.errors import WebhookRejected as Rejected

    with pytest.raises(Rejected, match="is not a ticket id"):
        zendesk_webhooks._id("zendesk", value, "ticket_id")


def signed(body: bytes, clock: TickingClock, invocation: str = "3") -> dict[str, str]:
    stamp = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature": webhooks.sign(SECRET, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "X-Zendesk-Webhook-Invocation-Id": invocation,
    }


def echoes(body: bytes, clock: TickingClock, identity: str | None) -> list[bool]:
    hints = webhooks.parse(
        "zendesk", SECRET, signed(body, clock), body, clock=clock, identity=identity
    )
    return [h.echo for h in hints]


def event(detail: dict[str, object]) -> bytes:
    return json.dumps(
        {"type": "zen:event-type:ticket.priority_changed", "detail": {"id": "35436", **detail}}
    ).encode()


def trigger(**extra: object) -> bytes:
    return json.dumps({"ticket_bridge": "ticket-changed", "ticket_id": "35436", **extra}).encode()


@pytest.mark.parametrize(
    ("body", "identity", "echo"),
    [
        (event({"actor_id": "9001"}), "9001", True),
        (event({"actor_id": 9001}), "9001", True),
        (event({"actor_id": "9002"}), "9001", False),
        (event({"actor_id": "-1"}), "9001", False),
        (event({"actor_id": None}), "9001", False),
        (event({}), "9001", False),
        (event({"actor_id": "9001"}), None, False),
        (trigger(actor_id="9001"), "9001", True),
        (trigger(actor_id="9002"), "9001", False),
        (trigger(actor_id=""), "9001", False),
        (trigger(actor_id=["9001"]), "9001", False),
        (trigger(), "9001", False),
        (trigger(actor_id="9001"), None, False),
    ],
)
def test_only_a_delivery_whose_actor_is_the_bridge_is_an_echo(
    clock: TickingClock, body: bytes, identity: str | None, echo: bool
) -> None:
    """A missing or odd actor is never a rejection: the delivery is read as before."""
    assert echoes(body, clock, identity) == [echo]


def test_the_trigger_body_admins_paste_names_the_current_user(clock: TickingClock) -> None:
    body = (
        webhooks.TRIGGER_BODY.replace("{{ticket.id}}", "35436")
        .replace("{{current_user.id}}", "9001")
        .encode()
    )
    assert echoes(body, clock, "9001") == [True]
    assert echoes(body, clock, "9002") == [False]


@pytest.mark.parametrize("style", ["event", "trigger"])
def test_a_delivery_of_the_bridges_write_is_an_echo_and_a_persons_is_not(
    zendesk: ZendeskHarness, style: str
) -> None:
    ticket_id = zendesk.open_ticket("Printer on fire")
    adapter = zendesk.adapter
    assert adapter.identify() == str(zendesk.fake.admin_id)
    [opened] = adapter.parse_webhook(*zendesk.fake.delivery(int(ticket_id), style=style))
    adapter.update(ticket_id, {Field.PRIORITY: "urgent"})
    [ours] = adapter.parse_webhook(*zendesk.fake.delivery(int(ticket_id), style=style))
    zendesk.fake.edit(int(ticket_id), priority="low")
    [edited] = adapter.parse_webhook(*zendesk.fake.delivery(int(ticket_id), style=style))
    assert (opened.echo, ours.echo, edited.echo) == (False, True, False)


def test_before_identify_no_delivery_is_an_echo(zendesk: ZendeskHarness) -> None:
    """The bridge's own user is unknown while Zendesk is down: every delivery is read."""
    ticket_id = zendesk.open_ticket("Printer on fire")
    adapter = zendesk.adapter
    adapter.update(ticket_id, {Field.PRIORITY: "urgent"})
    delivery = zendesk.fake.delivery(int(ticket_id))
    [hint] = adapter.parse_webhook(*delivery)
    assert not hint.echo
    assert "GET /api/v2/users/me" not in zendesk.fake.requests, "parse_webhook never asks"
    zendesk.throttle()
    with pytest.raises(RateLimited):
        adapter.identify()
    [hint] = adapter.parse_webhook(*delivery)
    assert not hint.echo
    zendesk.clock.advance(61)
    adapter.identify()
    [hint] = adapter.parse_webhook(*delivery)
    assert hint.echo


def test_identify_asks_zendesk_once(zendesk: ZendeskHarness) -> None:
    first = zendesk.adapter.identify()
    zendesk.throttle()
    assert zendesk.adapter.identify() == first == str(zendesk.fake.admin_id)
    assert zendesk.fake.requests.count("GET /api/v2/users/me") == 1
