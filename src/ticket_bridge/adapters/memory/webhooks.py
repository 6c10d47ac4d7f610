"""Memory-tracker deliveries, signed like Jira's: ``X-Hub-Signature: sha256=<hex HMAC of the body>``."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from pydantic import SecretStr, ValidationError

from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.errors import WebhookRejected
from ticket_bridge.bridge.model import Frozen

MAX_BODY = 256 * 1024
SIGNATURE = "x-hub-signature"


class Delivery(Frozen):
    delivery: str
    ticket: str


def sign(secret: SecretStr, body: bytes) -> str:
    digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def deliver(secret: SecretStr, delivery_id: str, ticket_id: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of one delivery, as the memory tracker sends it."""
    body = json.dumps({"delivery": delivery_id, "ticket": ticket_id}).encode()
    return {"X-Hub-Signature": sign(secret, body), "Content-Type": "application/json"}, body


def parse(tracker: str, secret: SecretStr, headers: Mapping[str, str], body: bytes) -> list[Hint]:
    if len(body) > MAX_BODY:
        raise WebhookRejected(tracker, 413, f"body of {len(body)} bytes is over {MAX_BODY}")
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get(SIGNATURE)
    if not given:
        raise WebhookRejected(tracker, 401, "X-Hub-Signature header is missing")
    if not hmac.compare_digest(given.encode(), sign(secret, body).encode()):
        raise WebhookRejected(tracker, 401, "X-Hub-Signature does not match the body")
    try:
        delivery = Delivery.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise WebhookRejected(
            tracker, 400, f"malformed delivery at {where}: {first['msg']}"
        ) from exc
    return [Hint(tracker=tracker, ticket_id=delivery.ticket, delivery_id=delivery.delivery)]
