"""Zendesk webhook deliveries: verified, then read as hints naming a ticket.

Zendesk signs a delivery as base64(HMAC-SHA256(signing secret, timestamp + raw body)), with the
timestamp in ``X-Zendesk-Webhook-Signature-Timestamp``. A timestamp more than five minutes from
our clock is refused (a replayed capture), and ``X-Zendesk-Webhook-Invocation-Id`` is the delivery
id the inbox dedupes on (Zendesk retries, so one invocation can arrive twice).

Two bodies are accepted: an event-subscription webhook (``zen:event-type:ticket.*``, any ticket
event; other event types are answered and ignored) and a trigger-connected webhook whose JSON
body is ``TRIGGER_BODY``, which the README tells admins to paste into the trigger's action.

A delivery whose actor (``detail.actor_id``, or the trigger body's ``actor_id``) is the bridge's
own user reports only the bridge's own write: it is marked an echo, and needs no read. Without
an actor, or before the bridge knows its own user, a delivery is read as any other.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping

from pydantic import SecretStr

from ticket_bridge.adapters.deliveries import check_signature, headers_of
from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.errors import WebhookRejected

MAX_SKEW = dt.timedelta(minutes=5)
SIGNATURE = "x-zendesk-webhook-signature"
TIMESTAMP = "x-zendesk-webhook-signature-timestamp"
INVOCATION = "x-zendesk-webhook-invocation-id"
TICKET_EVENT = "zen:event-type:ticket."

TRIGGER_BODY = """{
  "ticket_bridge": "ticket-changed",
  "ticket_id": "{{ticket.id}}",
  "actor_id": "{{current_user.id}}"
}"""
"""The JSON body of the trigger action "Notify active webhook" that an admin configures.

Trigger conditions: "Ticket is Created" or "Ticket is Updated" (any channel). The bridge reads
the ticket itself, so placeholders for other fields would only go stale; ``current_user`` is
who made the update, which tells the bridge's own writes (echoes) from people's.
"""


def sign(secret: SecretStr, timestamp: str, body: bytes) -> str:
    mac = hmac.new(
        secret.get_secret_value().encode(), timestamp.encode() + body, hashlib.sha256
    ).digest()
    return base64.b64encode(mac).decode()


def parse(
    tracker: str,
    secret: SecretStr,
    headers: Mapping[str, str],
    body: bytes,
    *,
    clock: Callable[[], dt.datetime],
    identity: str | None = None,
) -> list[Hint]:
    """The hints a verified delivery gives; ``identity`` is the bridge's own user id, once known."""
    lowered = headers_of(tracker, headers, body)
    timestamp = lowered.get(TIMESTAMP)
    if not timestamp:
        raise WebhookRejected(
            tracker, 401, "X-Zendesk-Webhook-Signature-Timestamp header is missing"
        )
    check_signature(
        tracker,
        "X-Zendesk-Webhook-Signature",
        lowered.get(SIGNATURE),
        sign(secret, timestamp, body),
    )
    try:
        sent = dt.datetime.fromisoformat(timestamp)
    except ValueError:
        raise WebhookRejected(
            tracker, 400, f"signature timestamp {timestamp!r} is not an ISO-8601 time"
        ) from None
    if sent.tzinfo is None:
        raise WebhookRejected(tracker, 400, f"signature timestamp {timestamp!r} has no time zone")
    skew = abs(clock() - sent)
    if skew > MAX_SKEW:
        raise WebhookRejected(
            tracker,
            401,
            f"signature timestamp {timestamp} is {int(skew.total_seconds())}s from now "
            f"(more than {int(MAX_SKEW.total_seconds())}s): refused as a replay",
        )
    invocation = lowered.get(INVOCATION)
    if not invocation:
        raise WebhookRejected(tracker, 400, "X-Zendesk-Webhook-Invocation-Id is missing")
    subject = _subject(tracker, body)
    if subject is None:
        return []
    ticket_id, actor = subject
    echo = identity is not None and actor == identity
    return [Hint(tracker=tracker, ticket_id=ticket_id, delivery_id=invocation, echo=echo)]


def _subject(tracker: str, body: bytes) -> tuple[str, str | None] | None:
    """The ticket a body names and who changed it; None for an event about something else."""
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WebhookRejected(tracker, 400, f"body is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise WebhookRejected(tracker, 400, "body is not a JSON object")
    if "ticket_bridge" in parsed:
        return _id(tracker, parsed.get("ticket_id"), "ticket_id"), _actor(parsed.get("actor_id"))
    event = parsed.get("type")
    if not isinstance(event, str):
        raise WebhookRejected(
            tracker,
            400,
            "body is neither a zen:event-type event (no 'type') nor the ticket-bridge trigger body",
        )
    if not event.startswith(TICKET_EVENT):
        return None
    detail = parsed.get("detail")
    if not isinstance(detail, dict):
        raise WebhookRejected(tracker, 400, f"{event} has no 'detail' object")
    return _id(tracker, detail.get("id"), "detail.id"), _actor(detail.get("actor_id"))


def _id(tracker: str, value: object, where: str) -> str:
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit()):  # "³".isdigit() is true
        raise WebhookRejected(tracker, 400, f"{where} {value!r} is not a ticket id")
    return text


def _actor(value: object) -> str | None:
    """A user id as text; anything else (missing, an unrendered placeholder's blank) is no actor,
    and never a reason to refuse: the delivery is then read like any other."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip() or None
