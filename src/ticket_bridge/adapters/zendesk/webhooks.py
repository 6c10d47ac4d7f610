"""Zendesk webhook deliveries: verified, then read as hints naming a ticket.

Zendesk signs a delivery as base64(HMAC-SHA256(signing secret, timestamp + raw body)), with the
timestamp in ``X-Zendesk-Webhook-Signature-Timestamp``. A timestamp more than five minutes from
our clock is refused (a replayed capture), and ``X-Zendesk-Webhook-Invocation-Id`` is the delivery
id the inbox dedupes on (Zendesk retries, so one invocation can arrive twice).

Two bodies are accepted: an event-subscription webhook (``zen:event-type:ticket.*``, any ticket
event; other event types are answered and ignored) and a trigger-connected webhook whose JSON
body is ``TRIGGER_BODY``, which the README tells admins to paste into the trigger's action.
An event says what changed (a comment, or a field), so a worker reads only that; a trigger's
body cannot tell.

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
from dataclasses import dataclass

from pydantic import SecretStr

from ticket_bridge.adapters.deliveries import check_signature, headers_of
from ticket_bridge.bridge.adapter import Hint, Scope
from ticket_bridge.bridge.errors import WebhookRejected

TICKET_EVENT_PREFIX = "zen:event-type:ticket."

COMMENT_EVENTS = frozenset(
    f"{TICKET_EVENT_PREFIX}{event}"
    for event in (
        "comment_added",
        "comment_made_private",
        "comment_redacted",
        "attachment_linked_to_comment",
        "attachment_redacted_from_comment",
    )
)
WHOLE_EVENTS = frozenset(
    f"{TICKET_EVENT_PREFIX}{event}"
    for event in (
        "created",
        "merged",
        "undeleted",
        "soft_deleted",
        "permanently_deleted",
        "marked_as_spam",
    )
)
"""Ticket events after which a worker reads everything; any other ticket event changed a
field (developer.zendesk.com, webhooks/event-types/ticket-events)."""
MAX_SKEW = dt.timedelta(minutes=5)
SIGNATURE = "x-zendesk-webhook-signature"
TIMESTAMP = "x-zendesk-webhook-signature-timestamp"
INVOCATION = "x-zendesk-webhook-invocation-id"

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
    # The events one action raised (a status and its custom status) ask for one read: they
    # share an id, per what they say changed, and the inbox keeps the first. Zendesk's retries
    # of one invocation share it too.
    delivery_id = (
        f"{subject.ticket_id}:{subject.action}:{subject.scope}" if subject.action else invocation
    )
    return [
        Hint(
            tracker=tracker,
            ticket_id=subject.ticket_id,
            delivery_id=delivery_id,
            stamp=subject.stamp,
            echo=identity is not None and subject.actor == identity,
            scope=subject.scope,
        )
    ]


@dataclass(frozen=True)
class Subject:
    """What a body says: the ticket, who changed it, what of it changed, the action that raised
    the event (``event.meta.sequence.id``: "events with the same sequence id were triggered by
    the same action") and the ticket's ``updated_at`` after it, where an event says."""

    ticket_id: str
    actor: str | None
    scope: Scope
    action: str | None = None
    stamp: dt.datetime | None = None


def _scope(event: str) -> Scope:
    if event in COMMENT_EVENTS:
        return Scope.COMMENTS
    return Scope.ALL if event in WHOLE_EVENTS else Scope.FIELDS


def _subject(tracker: str, body: bytes) -> Subject | None:
    """What a body says (a trigger's body cannot tell what changed); None for an event about
    something else."""
    try:
        parsed = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WebhookRejected(tracker, 400, f"body is not JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise WebhookRejected(tracker, 400, "body is not a JSON object")
    if "ticket_bridge" in parsed:
        return Subject(
            _id(tracker, parsed.get("ticket_id"), "ticket_id"),
            _actor(parsed.get("actor_id")),
            Scope.ALL,
        )
    event = parsed.get("type")
    if not isinstance(event, str):
        raise WebhookRejected(
            tracker,
            400,
            "body is neither a zen:event-type event (no 'type') nor the ticket-bridge trigger body",
        )
    if not event.startswith(TICKET_EVENT_PREFIX):
        return None
    detail = parsed.get("detail")
    if not isinstance(detail, dict):
        raise WebhookRejected(tracker, 400, f"{event} has no 'detail' object")
    return Subject(
        _id(tracker, detail.get("id"), "detail.id"),
        _actor(detail.get("actor_id")),
        _scope(event),
        _action(parsed.get("event")),
        _stamp(detail.get("updated_at")),
    )


def _stamp(value: object) -> dt.datetime | None:
    """``detail.updated_at`` as an aware time; anything else is no stamp (the delivery is read)."""
    if not isinstance(value, str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else None


def _action(event: object) -> str | None:
    """``event.meta.sequence.id``, when the body has one that can be part of an id."""
    meta = event.get("meta") if isinstance(event, dict) else None
    sequence = meta.get("sequence") if isinstance(meta, dict) else None
    action = sequence.get("id") if isinstance(sequence, dict) else None
    if isinstance(action, str | int) and not isinstance(action, bool):
        text = str(action)
        if 0 < len(text) <= 100 and text.isascii() and text.isprintable():
            return text
    return None


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
