"""Jira webhook deliveries: verified (``X-Hub-Signature``), deduplicated on their identifier, parsed.

Jira signs an admin webhook with a secret as ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw
body>`` and keeps ``X-Atlassian-Webhook-Identifier`` unchanged across its retries, which makes the
identifier the delivery id the inbox dedupes on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from pydantic import SecretStr, ValidationError

from ticket_bridge.adapters.jira.payloads import Delivery
from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.errors import WebhookRejected

MAX_BODY = 1024 * 1024
SIGNATURE = "x-hub-signature"
IDENTIFIER = "x-atlassian-webhook-identifier"
EVENTS = ("jira:issue_", "comment_")


def sign(secret: SecretStr, body: bytes) -> str:
    digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def parse(tracker: str, secret: SecretStr, headers: Mapping[str, str], body: bytes) -> list[Hint]:
    """The issue a delivery names; other events (projects, sprints...) name none."""
    if len(body) > MAX_BODY:
        raise WebhookRejected(tracker, 413, f"body of {len(body)} bytes is over {MAX_BODY}")
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get(SIGNATURE)
    if not given:
        raise WebhookRejected(
            tracker, 401, "X-Hub-Signature header is missing: set a secret on the Jira webhook"
        )
    if not hmac.compare_digest(given.strip().encode(), sign(secret, body).encode()):
        raise WebhookRejected(tracker, 401, "X-Hub-Signature does not match the body")
    delivery_id = lowered.get(IDENTIFIER)
    if not delivery_id:
        raise WebhookRejected(tracker, 400, "X-Atlassian-Webhook-Identifier header is missing")
    try:
        delivery = Delivery.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise WebhookRejected(
            tracker, 400, f"malformed delivery at {where}: {first['msg']}"
        ) from exc
    if not delivery.event.startswith(EVENTS):
        return []
    if delivery.issue is None:
        raise WebhookRejected(tracker, 400, f"malformed delivery: {delivery.event} has no issue")
    return [Hint(tracker=tracker, ticket_id=delivery.issue.id, delivery_id=delivery_id)]
