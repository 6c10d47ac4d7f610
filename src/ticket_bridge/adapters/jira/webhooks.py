"""Jira webhook deliveries: verified (``X-Hub-Signature``), deduplicated on their identifier, parsed.

Jira signs an admin webhook with a secret as ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw
body>`` and keeps ``X-Atlassian-Webhook-Identifier`` unchanged across its retries, which makes the
identifier the delivery id the inbox dedupes on. A delivery names who made its change (see
``Delivery.actor``); one made by the account the bridge acts as is an echo of the bridge's write.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from pydantic import SecretStr

from ticket_bridge.adapters.deliveries import body_as, check_signature, headers_of
from ticket_bridge.adapters.jira.payloads import Delivery
from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.errors import WebhookRejected

SIGNATURE = "x-hub-signature"
IDENTIFIER = "x-atlassian-webhook-identifier"
EVENTS = ("jira:issue_", "comment_")


def sign(secret: SecretStr, body: bytes) -> str:
    digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def parse(
    tracker: str,
    secret: SecretStr,
    headers: Mapping[str, str],
    body: bytes,
    *,
    identity: str | None = None,
) -> list[Hint]:
    """The issue a delivery names; other events (projects, sprints...) name none.

    ``identity`` is the accountId the bridge acts as, when known: a delivery of a change that account
    made is an echo. Unknown, no delivery is one.
    """
    lowered = headers_of(tracker, headers, body)
    check_signature(
        tracker,
        "X-Hub-Signature",
        lowered.get(SIGNATURE),
        sign(secret, body),
        missing=": set a secret on the Jira webhook",
    )
    delivery_id = lowered.get(IDENTIFIER)
    if not delivery_id:
        raise WebhookRejected(tracker, 400, "X-Atlassian-Webhook-Identifier header is missing")
    delivery = body_as(tracker, Delivery, body)
    if not delivery.event.startswith(EVENTS):
        return []
    if delivery.issue is None:
        raise WebhookRejected(tracker, 400, f"malformed delivery: {delivery.event} has no issue")
    return [
        Hint(
            tracker=tracker,
            ticket_id=delivery.issue.id,
            delivery_id=delivery_id,
            stamp=delivery.issue.updated,
            echo=identity is not None and delivery.actor == identity,
            scope=delivery.scope,
        )
    ]
