"""Memory-tracker deliveries, signed like Jira's: ``X-Hub-Signature: sha256=<hex HMAC of the body>``."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping

from pydantic import SecretStr

from ticket_bridge.adapters.deliveries import body_as, check_signature, headers_of
from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.model import Frozen

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
    lowered = headers_of(tracker, headers, body)
    check_signature(tracker, "X-Hub-Signature", lowered.get(SIGNATURE), sign(secret, body))
    delivery = body_as(tracker, Delivery, body)
    return [Hint(tracker=tracker, ticket_id=delivery.ticket, delivery_id=delivery.delivery)]
