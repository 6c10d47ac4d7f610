"""ClickUp deliveries: ``X-Signature`` = hex HMAC-SHA256(webhook secret, raw body).

Payloads are thin (``event``, ``webhook_id``, ``task_id``, ``history_items``): they only say which
task to read, and each history item names the user who made the change, so a delivery of only the
bridge's own writes is known for an echo without a read. ClickUp drops an event after 5 failed
tries and never replays it, so this answers at once and the poller catches what was lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from pydantic import SecretStr

from ticket_bridge.adapters.clickup.payloads import WebhookDelivery
from ticket_bridge.adapters.deliveries import body_as, check_signature, headers_of
from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.errors import WebhookRejected

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


def _all_by(delivery: WebhookDelivery, identity: str | None) -> bool:
    """Whether every change the delivery reports was made by ``identity``: an item naming
    nobody may be anyone's, so it makes the delivery no echo."""
    if identity is None or not delivery.history_items:
        return False
    return all(
        item.user is not None and item.user.id is not None and str(item.user.id) == identity
        for item in delivery.history_items
    )


def parse(
    tracker: str,
    secret: SecretStr | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    identity: str | None = None,
) -> list[Hint]:
    """``identity`` is the bridge's own user id, once known: a delivery of only its own
    changes is an echo."""
    lowered = headers_of(tracker, headers, body)
    if secret is None:
        raise WebhookRejected(
            tracker, 401, "no webhook_secret is configured, so no delivery can be verified"
        )
    given = lowered.get(SIGNATURE)
    check_signature(tracker, "X-Signature", given.lower() if given else None, sign(secret, body))
    delivery = body_as(tracker, WebhookDelivery, body)
    if not delivery.task_id:
        return []
    return [
        Hint(
            tracker=tracker,
            ticket_id=delivery.task_id,
            delivery_id=delivery_id(delivery),
            echo=_all_by(delivery, identity),
            scope=delivery.scope,
        )
    ]
