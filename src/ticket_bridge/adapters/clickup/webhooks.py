"""ClickUp deliveries: ``X-Signature`` = hex HMAC-SHA256(webhook secret, raw body).

Payloads are thin (``event``, ``webhook_id``, ``task_id``, ``history_items``): they only say which
task to read. ClickUp drops an event after 5 failed tries and never replays it, so this answers
at once and the poller catches what was lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from pydantic import SecretStr, ValidationError

from ticket_bridge.adapters.clickup.payloads import WebhookDelivery
from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.errors import WebhookRejected

MAX_BODY = 1024 * 1024
SIGNATURE = "x-signature"


def sign(secret: SecretStr, body: bytes) -> str:
    return hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()


def deliver(
    secret: SecretStr,
    webhook_id: str,
    event: str,
    task_id: str,
    history_items: list[dict[str, object]],
) -> tuple[dict[str, str], bytes]:
    """Headers and body of one delivery, as ClickUp sends it."""
    body = json.dumps(
        {
            "event": event,
            "webhook_id": webhook_id,
            "task_id": task_id,
            "history_items": history_items,
        }
    ).encode()
    return {"X-Signature": sign(secret, body), "Content-Type": "application/json"}, body


def delivery_id(delivery: WebhookDelivery) -> str:
    """Stable across ClickUp's retries of one event: the webhook and its history item ids."""
    items = ",".join(sorted(item.id for item in delivery.history_items))
    return f"{delivery.webhook_id}:{delivery.event}:{delivery.task_id}:{items}"


def parse(
    tracker: str, secret: SecretStr | None, headers: Mapping[str, str], body: bytes
) -> list[Hint]:
    if len(body) > MAX_BODY:
        raise WebhookRejected(tracker, 413, f"body of {len(body)} bytes is over {MAX_BODY}")
    if secret is None:
        raise WebhookRejected(
            tracker, 401, "no webhook_secret is configured, so no delivery can be verified"
        )
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get(SIGNATURE)
    if not given:
        raise WebhookRejected(tracker, 401, "X-Signature header is missing")
    if not hmac.compare_digest(given.strip().lower().encode(), sign(secret, body).encode()):
        raise WebhookRejected(tracker, 401, "X-Signature does not match the body")
    try:
        delivery = WebhookDelivery.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise WebhookRejected(
            tracker, 400, f"malformed delivery at {where}: {first['msg']}"
        ) from exc
    if not delivery.task_id:
        return []
    return [Hint(tracker=tracker, ticket_id=delivery.task_id, delivery_id=delivery_id(delivery))]
