"""Deliveries: verified by X-Signature over the raw body; thin; one stable id per event."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ticket_bridge.adapters.clickup import webhooks
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.adapter import Scope
from ticket_bridge.bridge.errors import WebhookRejected

SECRET = SecretStr("whsec-clickup")


def signed(body: dict[str, object]) -> tuple[dict[str, str], bytes]:
    raw = json.dumps(body).encode()
    return {"X-Signature": webhooks.sign(SECRET, raw)}, raw


def test_a_good_delivery_names_the_task_with_a_stable_id() -> None:
    headers, body = webhooks.deliver(
        SECRET, "wh-1", "taskStatusUpdated", "86abc", [{"id": "h2"}, {"id": "h1"}]
    )
    [hint] = webhooks.parse("clickup", SECRET, headers, body)
    assert hint.ticket_id == "86abc"
    [again] = webhooks.parse("clickup", SECRET, headers, body)
    assert again.delivery_id == hint.delivery_id == "wh-1:taskStatusUpdated:86abc:h1,h2"


@pytest.mark.parametrize(
    ("event", "scope"),
    [
        ("taskCommentPosted", Scope.COMMENTS),
        ("taskCommentUpdated", Scope.COMMENTS),
        ("taskStatusUpdated", Scope.FIELDS),
        ("taskPriorityUpdated", Scope.FIELDS),
        ("taskDueDateUpdated", Scope.FIELDS),
        ("taskUpdated", Scope.FIELDS),
        ("taskCreated", Scope.ALL),
        ("taskMoved", Scope.ALL),
    ],
)
def test_a_delivery_says_what_of_its_task_changed(event: str, scope: Scope) -> None:
    """Thin as deliveries are, the event names what changed: a worker reads only that."""
    [hint] = webhooks.parse("clickup", SECRET, *webhooks.deliver(SECRET, "w", event, "86a", []))
    assert hint.scope is scope


def test_a_bad_signature_is_refused() -> None:
    headers, body = signed({"event": "taskUpdated", "webhook_id": "w", "task_id": "1"})
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("clickup", SecretStr("another"), headers, body)
    assert caught.value.status == 401 and "does not match" in caught.value.reason


def test_a_missing_signature_is_refused() -> None:
    _, body = signed({"event": "taskUpdated", "webhook_id": "w", "task_id": "1"})
    with pytest.raises(WebhookRejected, match="missing") as caught:
        webhooks.parse("clickup", SECRET, {}, body)
    assert caught.value.status == 401


def test_without_a_configured_secret_nothing_is_accepted() -> None:
    headers, body = signed({"event": "taskUpdated", "webhook_id": "w", "task_id": "1"})
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("clickup", None, headers, body)
    assert caught.value.status == 401


def test_a_malformed_delivery_says_where() -> None:
    headers, body = signed({"webhook_id": "w", "task_id": "1"})
    with pytest.raises(WebhookRejected) as caught:
        webhooks.parse("clickup", SECRET, headers, body)
    assert caught.value.status == 400 and "event" in caught.value.reason


def test_a_list_event_names_no_task() -> None:
    headers, body = signed({"event": "listUpdated", "webhook_id": "w", "history_items": []})
    assert webhooks.parse("clickup", SECRET, headers, body) == []


@pytest.fixture
def receiver() -> Iterator[tuple[Served, list[tuple[dict[str, str], bytes]], threading.Event]]:
    got: list[tuple[dict[str, str], bytes]] = []
    arrived = threading.Event()

    async def receive(request: Request) -> Response:
        got.append((dict(request.headers), await request.body()))
        arrived.set()
        return Response(status_code=204)

    with Served(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as served:
        yield served, got, arrived


def test_the_fake_sends_signed_thin_deliveries(
    receiver: tuple[Served, list[tuple[dict[str, str], bytes]], threading.Event],
) -> None:
    served, got, arrived = receiver
    fake = FakeClickUp()
    try:
        fake.subscribe(f"{served.url}/hook", SECRET)
        task = fake.open_task("hooked")
        assert arrived.wait(10)
    finally:
        fake.stop()
    headers, body = got[0]
    [hint] = webhooks.parse("clickup", SECRET, headers, body)
    assert hint.ticket_id == task
    assert set(json.loads(body)) == {"event", "webhook_id", "task_id", "history_items"}


def by(*users: object) -> list[dict[str, object]]:
    return [{"id": f"h{i}", "field": "status", "user": user} for i, user in enumerate(users)]


def test_a_delivery_of_only_the_bridges_changes_is_an_echo() -> None:
    """ClickUp names users by number; the identity is a string, so either spelling matches."""
    headers, body = webhooks.deliver(
        SECRET, "w", "taskUpdated", "86abc", by({"id": 183}, {"id": "183", "username": "bot"})
    )
    [hint] = webhooks.parse("clickup", SECRET, headers, body, identity="183")
    assert hint.echo


@pytest.mark.parametrize(
    "items",
    [
        by({"id": 183}, {"id": 7}),
        by({"id": 7}),
        by({"id": 183}, None),
        by({"id": 183}, {}),
        [{"id": "h1"}],
        [],
    ],
    ids=["one-by-a-person", "a-person", "null-user", "user-without-id", "no-user", "no-items"],
)
def test_a_delivery_naming_anyone_else_or_nobody_is_read(items: list[dict[str, object]]) -> None:
    headers, body = webhooks.deliver(SECRET, "w", "taskUpdated", "86abc", items)
    [hint] = webhooks.parse("clickup", SECRET, headers, body, identity="183")
    assert not hint.echo


def test_without_an_identity_no_delivery_is_an_echo() -> None:
    headers, body = webhooks.deliver(SECRET, "w", "taskUpdated", "86abc", by({"id": 183}))
    [hint] = webhooks.parse("clickup", SECRET, headers, body)
    assert not hint.echo
