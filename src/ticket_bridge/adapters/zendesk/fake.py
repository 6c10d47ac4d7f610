"""A fake Zendesk Support account: the endpoints the adapter uses, with Zendesk's own semantics.

What it keeps faithful, because the adapter depends on each: ``closed`` is immutable (422
"Status closed prevents ticket update") and follow-ups are created with ``via_followup_source_id``
(tags inherited, ``followup_ids`` on the source); comments only arrive through a ticket update and
``public`` is sticky (a comment without it takes the ticket's first comment's value); at most
``max_comments`` comments per ticket (422); ``external_id`` is not unique (Zendesk does not enforce
it); ``safe_update`` with a stale ``updated_stamp`` is a 409; the cursor export excludes tickets
changed in the last minute and allows 10 requests a minute; at most 30 updates of one ticket in
10 minutes; 429s carry ``Retry-After``; OAuth access tokens expire and rotate on refresh; API
tokens are accepted until Zendesk retires them (2027-04-30). Webhook deliveries are signed as
Zendesk signs them, and sent only while the webhook is active (and, for a trigger-connected one,
an active trigger notifies it, with the trigger's body), each naming who made the ticket's latest
change (``detail.actor_id``, ``{{current_user.id}}``): the API user for API writes, the person
for what people do through ``open_ticket``/``edit``/``comment``. Search speaks the query subset in
``fake_search``: List Search Results in offset pages of at most 100 up to 1,000 results, the
count, and Export Search Results (type only in ``filter[type]``, newest first, cursors that
expire after an hour, 100 requests a minute). "Now" is injectable, so tests never wait a minute.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import queue
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ticket_bridge.adapters.zendesk import fake_search
from ticket_bridge.adapters.zendesk.client import TICKET_UPDATES
from ticket_bridge.adapters.zendesk.webhooks import TICKET_EVENT_PREFIX, TRIGGER_BODY

Clock = Callable[[], dt.datetime]
JsonDict = dict[str, Any]

SYSTEM_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
CATEGORIES = ("new", "open", "pending", "hold", "solved")
DEFAULT_LABELS = {
    "new": "New",
    "open": "Open",
    "pending": "Pending",
    "hold": "On-hold",
    "solved": "Solved",
}
CLOSED_BODY: JsonDict = {
    "error": "RecordInvalid",
    "description": "Record validation errors",
    "details": {"status": [{"description": "Status closed prevents ticket update"}]},
}
CONFLICT_BODY: JsonDict = {
    "error": "UpdateConflict",
    "description": "Safe Update prevented the update due to outdated ticket data. "
    "Please fetch the latest ticket data and try again.",
}
NOT_FOUND_BODY: JsonDict = {"error": "RecordNotFound", "description": "Not found"}
EVENT_TYPES = {
    "status": "status_changed",
    "custom_status_id": "custom_status_changed",
    "priority": "priority_changed",
    "subject": "subject_changed",
    "assignee_id": "agent_assignment_changed",
    "group_id": "group_assignment_changed",
    "type": "type_changed",
    "due_at": "task_due_at_changed",
    "custom_fields": "custom_field_changed",
    "tags": "tags_changed",
    "external_id": "external_id_changed",
}
"""The ticket event an update raises for each key it changed (developer.zendesk.com,
webhooks/event-types/ticket-events); a comment raises ``comment_added``."""
EVENT_SUBSCRIPTIONS = tuple(
    f"{TICKET_EVENT_PREFIX}{event}" for event in ("created", "comment_added", *EVENT_TYPES.values())
)
SEARCH_LIMIT = 1000
EXPORT_CURSOR_TTL = dt.timedelta(hours=1)
UNAUTHENTICATED_BODY: JsonDict = {"error": "Couldn't authenticate you"}
SYSTEM_USER = -1  # Zendesk's own changes (automations) are made by user -1


def stamp(at: dt.datetime) -> str:
    """Zendesk's timestamp format: UTC, to the second, with a ``Z``."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_delivery(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, timestamp + body)), as Zendesk signs a webhook."""
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _invalid(field_name: str, description: str) -> JsonDict:
    return {
        "error": "RecordInvalid",
        "description": "Record validation errors",
        "details": {field_name: [{"description": description}]},
    }


class Refused(Exception):
    """An API answer other than success: the status, the body and any headers."""

    def __init__(
        self, status: int, body: JsonDict, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


@dataclass
class Window:
    """A sliding-window limit: at most ``limit`` events per ``period`` seconds."""

    limit: int
    period: float
    hits: deque[dt.datetime] = field(default_factory=deque)

    def take(self, now: dt.datetime, what: str) -> None:
        horizon = now - dt.timedelta(seconds=self.period)
        while self.hits and self.hits[0] <= horizon:
            self.hits.popleft()
        if len(self.hits) >= self.limit:
            wait = (self.hits[0] - horizon).total_seconds()
            retry_after = max(1, int(wait + 0.999))
            raise Refused(
                429,
                {"error": "TooManyRequests", "description": f"{what}: rate limit exceeded"},
                {"Retry-After": str(retry_after)},
            )
        self.hits.append(now)

    def remaining(self) -> int:
        return max(0, self.limit - len(self.hits))


@dataclass
class Subscription:
    url: str
    secret: str
    webhook_id: str
    style: str


class FakeZendesk:
    """One Zendesk account on loopback. People act through ``open_ticket``/``edit``/``comment``."""

    def __init__(
        self,
        *,
        subdomain: str = "acme",
        clock: Clock | None = None,
        admin_email: str = "bridge@acme.example",
        agent_email: str = "alex@acme.example",
        api_token: str = "fake-api-token",  # noqa: S107 - the sandbox's published credentials
        client_id: str = "ticket-bridge",
        client_secret: str = "fake-client-secret",  # noqa: S107
        webhook_secret: str = "fake-webhook-secret",  # noqa: S107
        access_ttl: int = 1800,
        requests_per_minute: int | None = None,
        incremental_per_minute: int = 10,
        updates_per_ticket: int = 30,
        max_comments: int = 5000,
        custom_statuses: bool = False,
        export_per_minute: int = 100,
    ) -> None:
        self.subdomain = subdomain
        self.clock: Clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.admin_email = admin_email
        self.agent_email = agent_email
        self.api_token = api_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_secret = webhook_secret
        self.access_ttl = access_ttl
        self.max_comments = max_comments
        self.custom_statuses_enabled = custom_statuses
        self.account_window = (
            Window(requests_per_minute, 60.0) if requests_per_minute is not None else None
        )
        self.incremental_window = Window(incremental_per_minute, 60.0)
        self.export_window = Window(export_per_minute, 60.0)
        self.updates_per_ticket = updates_per_ticket
        self.ticket_windows: dict[int, Window] = {}
        self.tickets: dict[int, JsonDict] = {}
        self.comments: dict[int, list[JsonDict]] = {}
        self.changed: dict[int, tuple[int, dt.datetime]] = {}
        self.actors: dict[int, int] = {}  # ticket -> the user who made its latest change
        self.sticky_public: dict[int, bool] = {}
        self.users: dict[int, JsonDict] = {}
        self.statuses: list[JsonDict] = []
        self.groups: dict[int, JsonDict] = {}
        self.ticket_fields: dict[int, JsonDict] = {}
        self.webhooks: dict[str, JsonDict] = {}
        self.triggers: dict[int, JsonDict] = {}
        self.access_tokens: dict[str, dt.datetime] = {}
        self.refresh_tokens: dict[str, dt.datetime] = {}
        self.requests: list[str] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._comment_ids = itertools.count(1001)
        self._user_ids = itertools.count(501)
        self._status_ids = itertools.count(9001)
        self._group_ids = itertools.count(7001)
        self._field_ids = itertools.count(360001)
        self._trigger_ids = itertools.count(8001)
        self._seq = itertools.count(1)
        self._subscriptions: list[Subscription] = []
        self._outbox: queue.Queue[tuple[Subscription, bytes] | None] = queue.Queue()
        self._sender: threading.Thread | None = None
        self.admin_id = self.add_user(admin_email, "Ticket Bridge", role="admin")
        self.agent_id = self.add_user(agent_email, "Alex Agent")
        for category in CATEGORIES:
            self._add_status(category, DEFAULT_LABELS[category], default=True)

    # -- what an admin needs ---------------------------------------------------------------

    @property
    def app(self) -> ASGIApp:
        routes = [
            Route("/oauth/tokens", self._grant, methods=["POST"]),
            Route("/api/v2/tickets", self._list_tickets, methods=["GET"]),
            Route("/api/v2/tickets", self._create_ticket, methods=["POST"]),
            Route("/api/v2/tickets/{ticket_id:int}", self._show_ticket, methods=["GET"]),
            Route("/api/v2/tickets/{ticket_id:int}", self._update_ticket, methods=["PUT"]),
            Route("/api/v2/tickets/{ticket_id:int}/comments", self._list_comments, methods=["GET"]),
            Route("/api/v2/incremental/tickets/cursor", self._export, methods=["GET"]),
            Route("/api/v2/users/me", self._show_me, methods=["GET"]),
            Route("/api/v2/users/search", self._search_users, methods=["GET"]),
            Route("/api/v2/users/{user_id:int}", self._show_user, methods=["GET"]),
            Route("/api/v2/custom_statuses", self._list_statuses, methods=["GET"]),
            Route("/api/v2/search", self._search, methods=["GET"]),
            Route("/api/v2/search/count", self._search_count, methods=["GET"]),
            Route("/api/v2/search/export", self._search_export, methods=["GET"]),
            Route("/api/v2/ticket_fields/{field_id:int}", self._show_field, methods=["GET"]),
            Route("/api/v2/webhooks", self._list_webhooks, methods=["GET"]),
            Route("/api/v2/triggers", self._list_triggers, methods=["GET"]),
        ]
        return Starlette(routes=routes)

    def describe(self, base_url: str) -> Mapping[str, str]:
        return {
            "base_url": base_url,
            "subdomain": self.subdomain,
            "email": self.admin_email,
            "api_token": self.api_token,
            "oauth_client_id": self.client_id,
            "oauth_client_secret": self.client_secret,
            "webhook_secret": self.webhook_secret,
            "note": "Zendesk API tokens stop working on 2027-04-30: prefer the OAuth client",
        }

    # -- what people do in Zendesk ----------------------------------------------------------

    def exhaust_rate_limit(self, requests_per_minute: int = 700) -> None:
        """Another client spent this minute's requests: the next API call answers 429."""
        with self._lock:
            if self.account_window is None:
                self.account_window = Window(requests_per_minute, 60.0)
            now = self.clock()
            self.account_window.hits.extend([now] * self.account_window.remaining())

    def seed_demo(self) -> None:
        """What ``ticket-bridge sandbox`` starts with: an agent, a customer and two tickets."""
        self.add_user("sam@support.example.com", "Sam Agent")
        self.add_user("dana@example.com", "Dana Customer", role="end-user")
        outage = self.open_ticket(
            "Checkout returns HTTP 500 for EU cards",
            "Since 09:00 every EU card payment fails at the last step.",
            requester="dana@example.com",
        )
        self.comment(outage, "We are losing orders, please hurry.", public=True)
        self.open_ticket("How do I export last month's invoices?", requester="dana@example.com")

    def add_user(self, email: str, name: str, *, role: str = "agent") -> int:
        with self._lock:
            user_id = next(self._user_ids)
            self.users[user_id] = {
                "id": user_id,
                "url": f"https://{self.subdomain}.zendesk.com/api/v2/users/{user_id}.json",
                "name": name,
                "email": email,
                "role": role,
                "active": True,
                "created_at": stamp(self.clock()),
                "updated_at": stamp(self.clock()),
            }
            return user_id

    def add_custom_status(self, category: str, agent_label: str) -> int:
        """An admin adds a custom ticket status; the account now uses custom statuses."""
        with self._lock:
            self.custom_statuses_enabled = True
            return self._add_status(category, agent_label, default=False)

    def add_group(self, name: str) -> int:
        with self._lock:
            group_id = next(self._group_ids)
            self.groups[group_id] = {"id": group_id, "name": name}
            return group_id

    def add_ticket_field(self, title: str, field_type: str = "date", *, active: bool = True) -> int:
        """An admin adds a custom ticket field (a date field holds due dates of non-tasks)."""
        with self._lock:
            field_id = next(self._field_ids)
            now = stamp(self.clock())
            self.ticket_fields[field_id] = {
                "id": field_id,
                "url": f"https://{self.subdomain}.zendesk.com/api/v2/ticket_fields/{field_id}.json",
                "type": field_type,
                "title": title,
                "raw_title": title,
                "description": "",
                "raw_description": "",
                "position": len(self.ticket_fields) + 1,
                "active": active,
                "required": False,
                "collapsed_for_agents": False,
                "visible_in_portal": False,
                "editable_in_portal": False,
                "required_in_portal": False,
                "removable": True,
                "agent_description": "",
                "created_at": now,
                "updated_at": now,
            }
            return field_id

    def add_webhook(self, endpoint: str, *, style: str = "event", active: bool = True) -> str:
        """An admin creates a webhook: subscribed to ticket events, or fired by triggers."""
        with self._lock:
            webhook_id = f"01H{uuid.uuid4().hex[:23].upper()}"
            now = stamp(self.clock())
            subscriptions = (
                list(EVENT_SUBSCRIPTIONS) if style == "event" else ["conditional_ticket_events"]
            )
            self.webhooks[webhook_id] = {
                "id": webhook_id,
                "name": f"ticket-bridge ({style})",
                "status": "active" if active else "inactive",
                "subscriptions": subscriptions,
                "endpoint": endpoint,
                "http_method": "POST",
                "request_format": "json",
                "created_at": now,
                "created_by": str(self.admin_id),
                "updated_at": now,
                "updated_by": str(self.admin_id),
            }
            return webhook_id

    def add_trigger(self, webhook_id: str, body: str = TRIGGER_BODY, *, active: bool = True) -> int:
        """An admin adds the trigger "Ticket is Created or Updated: notify active webhook"."""
        with self._lock:
            trigger_id = next(self._trigger_ids)
            now = stamp(self.clock())
            self.triggers[trigger_id] = {
                "id": trigger_id,
                "url": f"https://{self.subdomain}.zendesk.com/api/v2/triggers/{trigger_id}.json",
                "title": "Notify ticket-bridge",
                "raw_title": "Notify ticket-bridge",
                "description": "Every created or updated ticket: tell the bridge which one",
                "active": active,
                "default": False,
                "position": len(self.triggers) + 1,
                "category_id": "10001",
                "conditions": {
                    "all": [],
                    "any": [
                        {"field": "update_type", "operator": "is", "value": "Create"},
                        {"field": "update_type", "operator": "is", "value": "Change"},
                    ],
                },
                "actions": [{"field": "notification_webhook", "value": [webhook_id, body]}],
                "created_at": now,
                "updated_at": now,
            }
            return trigger_id

    def set_webhook_active(self, webhook_id: str, active: bool) -> None:
        with self._lock:
            self.webhooks[webhook_id]["status"] = "active" if active else "inactive"

    def set_trigger_active(self, trigger_id: int, active: bool) -> None:
        with self._lock:
            self.triggers[trigger_id]["active"] = active

    def open_ticket(
        self,
        subject: str,
        description: str = "",
        *,
        requester: str = "dana@example.com",
        public: bool = True,
        **values: Any,
    ) -> int:
        """A requester (or agent) opens a ticket in the Zendesk UI."""
        with self._lock:
            body = {
                "subject": subject,
                "comment": {"body": description or subject, "public": public},
                "requester": {"email": requester, "name": requester.split("@", maxsplit=1)[0]},
                **values,
            }
            ticket = self._create(body, author_id=None, channel="web")
            return int(ticket["id"])

    def edit(self, ticket_id: int, *, author: str | None = None, **values: Any) -> None:
        """An agent (``author``, by default the account's agent, never the API user) changes
        fields in the UI (no ``safe_update``, no rate limit)."""
        with self._lock:
            self._apply(self._ticket(ticket_id), values, author_id=self._person(author))

    def comment(self, ticket_id: int, body: str, *, public: bool, author: str | None = None) -> int:
        """A person comments in the UI: ``author``, by default the account's agent."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            values = {"comment": {"body": body, "public": public}}
            self._apply(ticket, values, author_id=self._person(author))
            return int(self.comments[ticket_id][-1]["id"])

    def close(self, ticket_id: int) -> None:
        """What Zendesk's automation does to a solved ticket after a few days."""
        with self._lock:
            self._apply(self._ticket(ticket_id), {"status": "closed"}, author_id=SYSTEM_USER)

    def _person(self, email: str | None) -> int:
        return self._user_by_email(email) if email else self.agent_id

    # -- webhooks --------------------------------------------------------------------------

    def subscribe(self, url: str, secret: str | None = None, *, style: str = "event") -> str:
        """Set up webhooks as the README says and deliver them: an event-subscribed webhook, or
        (``style="trigger"``) a trigger-connected one with its trigger. Deliveries stop when an
        admin deactivates the webhook (or the trigger), as in Zendesk."""
        with self._lock:
            webhook_id = self.add_webhook(url, style=style)
            if style == "trigger":
                self.add_trigger(webhook_id)
            subscription = Subscription(url, secret or self.webhook_secret, webhook_id, style)
            self._subscriptions.append(subscription)
            if self._sender is None:
                self._sender = threading.Thread(
                    target=self._send_all, daemon=True, name="fake-zendesk-webhooks"
                )
                self._sender.start()
            return subscription.webhook_id

    def stop(self) -> None:
        """Stop sending deliveries (those queued are dropped after the current one)."""
        with self._lock:
            sender, self._sender = self._sender, None
            self._subscriptions.clear()
        if sender is not None:
            self._outbox.put(None)
            sender.join(timeout=10)

    def delivery(
        self, ticket_id: int, *, secret: str | None = None, style: str = "event"
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of one delivery about ``ticket_id``'s latest change, signed as
        Zendesk signs it and naming who made that change."""
        with self._lock:
            ticket = self._ticket(ticket_id)
            body = self._event_body(ticket, "zen:event-type:ticket.status_changed", style)
            subscription = Subscription("", secret or self.webhook_secret, "01HFAKEWEBHOOK", style)
            return self._signed(subscription, body), body

    def _signed(self, subscription: Subscription, body: bytes) -> dict[str, str]:
        timestamp = stamp(self.clock())
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Zendesk Webhook",
            "X-Zendesk-Account-Id": "1",
            "X-Zendesk-Webhook-Id": subscription.webhook_id,
            "X-Zendesk-Webhook-Invocation-Id": str(next(self._seq) * 7919),
            "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
            "X-Zendesk-Webhook-Signature": sign_delivery(subscription.secret, timestamp, body),
        }

    def _event_body(
        self,
        ticket: JsonDict,
        event_type: str,
        style: str,
        template: str | None = None,
        *,
        sequence: tuple[str, int] | None = None,
    ) -> bytes:
        """One delivery's body; ``sequence`` is the action that raised the event, and the
        event's place among that action's events."""
        actor = str(self.actors.get(int(ticket["id"]), ""))
        if style == "trigger":
            rendered = (template or TRIGGER_BODY).replace("{{ticket.id}}", str(ticket["id"]))
            return rendered.replace("{{current_user.id}}", actor).encode()
        detail = {
            key: ticket.get(key)
            for key in (
                "assignee_id",
                "brand_id",
                "created_at",
                "description",
                "external_id",
                "group_id",
                "is_public",
                "organization_id",
                "priority",
                "requester_id",
                "status",
                "subject",
                "submitter_id",
                "tags",
                "type",
                "updated_at",
            )
        }
        detail = {
            k: str(v) if k.endswith("_id") and v is not None else v for k, v in detail.items()
        }
        detail["id"] = str(ticket["id"])
        detail["actor_id"] = actor or None
        detail["form_id"] = None
        detail["custom_status"] = str(ticket.get("custom_status_id") or "")
        detail["via"] = {"channel": ticket["via"]["channel"]}
        action, position = sequence or (str(next(self._seq)), 1)
        return json.dumps(
            {
                "type": event_type,
                "account_id": 1,
                "id": str(uuid.uuid4()),
                "time": stamp(self.clock()),
                "zendesk_event_version": "2022-11-06",
                "subject": f"zen:ticket:{ticket['id']}",
                "detail": detail,
                "event": {
                    "meta": {"sequence": {"id": action, "position": position}},
                },
            }
        ).encode()

    def _notify(self, ticket: JsonDict, *event_types: str) -> None:
        """One update's deliveries: an event subscription gets one per event the update
        raised (a comment and a status change are two), a trigger fires once per update."""
        for subscription in self._subscriptions:
            webhook = self.webhooks.get(subscription.webhook_id)
            if webhook is None or webhook["status"] != "active":
                continue
            if subscription.style != "trigger":
                action = str(next(self._seq))
                for position, event_type in enumerate(event_types, start=1):
                    body = self._event_body(
                        ticket, event_type, subscription.style, sequence=(action, position)
                    )
                    self._outbox.put((subscription, body))
                continue
            for template in self._trigger_bodies(subscription.webhook_id):
                body = self._event_body(ticket, event_types[0], "trigger", template)
                self._outbox.put((subscription, body))

    def _trigger_bodies(self, webhook_id: str) -> list[str]:
        """The bodies of active triggers' "notify active webhook" actions naming this webhook."""
        return [
            str(action["value"][1])
            for trigger in self.triggers.values()
            if trigger["active"]
            for action in trigger["actions"]
            if action["field"] == "notification_webhook" and action["value"][0] == webhook_id
        ]

    def _send_all(self) -> None:
        """One kept-alive connection per receiver; a delivery whose connection failed is tried
        once more on a new one, then dropped."""
        session = requests.Session()
        while True:
            item = self._outbox.get()
            if item is None:
                session.close()
                return
            subscription, body = item
            for _ in range(2):
                try:
                    session.post(
                        subscription.url,
                        data=body,
                        headers=self._signed(subscription, body),
                        timeout=10,
                    )
                    break
                except requests.RequestException:
                    continue

    # -- the account's state ---------------------------------------------------------------

    def _add_status(self, category: str, label: str, *, default: bool) -> int:
        status_id = next(self._status_ids)
        now = stamp(self.clock())
        self.statuses.append(
            {
                "id": status_id,
                "status_category": category,
                "agent_label": label,
                "end_user_label": label,
                "description": "",
                "end_user_description": "",
                "raw_agent_label": label,
                "raw_end_user_label": label,
                "raw_description": "",
                "raw_end_user_description": "",
                "active": True,
                "default": default,
                "created_at": now,
                "updated_at": now,
            }
        )
        return status_id

    def _default_status(self, category: str) -> int:
        return next(
            int(s["id"]) for s in self.statuses if s["status_category"] == category and s["default"]
        )

    def _ticket(self, ticket_id: int) -> JsonDict:
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise Refused(404, NOT_FOUND_BODY) from None

    def _user_by_email(self, email: str) -> int:
        for user in self.users.values():
            if str(user["email"]).lower() == email.lower():
                return int(user["id"])
        return self.add_user(email, email.split("@", maxsplit=1)[0], role="end-user")

    def _touch(self, ticket: JsonDict, *, event: bool) -> None:
        now = self.clock()
        if event:
            ticket["updated_at"] = stamp(now)
        ticket["generated_timestamp"] = int(now.timestamp())
        self.changed[int(ticket["id"])] = (next(self._seq), now)

    def _create(self, body: JsonDict, *, author_id: int | None, channel: str) -> JsonDict:
        comment = body.get("comment")
        if not isinstance(comment, dict) or not (comment.get("body") or comment.get("html_body")):
            raise Refused(422, _invalid("description", "Description: cannot be blank"))
        source_id = body.get("via_followup_source_id")
        source: JsonDict | None = None
        if source_id is not None:
            source = self.tickets.get(int(source_id))
            if source is None or source["status"] != "closed":
                raise Refused(
                    422,
                    _invalid(
                        "via_followup_source_id",
                        "via_followup_source_id is only valid for a closed ticket",
                    ),
                )
        requester_id = body.get("requester_id")
        requester = body.get("requester")
        if requester_id is None and isinstance(requester, dict) and requester.get("email"):
            requester_id = self._user_by_email(str(requester["email"]))
        if requester_id is None:
            requester_id = source["requester_id"] if source else (author_id or self.admin_id)
        now = stamp(self.clock())
        ticket_id = next(self._ids)
        tags = body.get("tags")
        if tags is None:
            tags = list(source["tags"]) if source else []
        via: JsonDict = {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}}
        if source is not None:
            via["source"] = {"from": {"ticket_id": source["id"]}, "to": {}, "rel": "follow_up"}
        ticket: JsonDict = {
            "id": ticket_id,
            "url": f"https://{self.subdomain}.zendesk.com/api/v2/tickets/{ticket_id}.json",
            "external_id": None,
            "subject": None,
            "raw_subject": None,
            "description": str(comment.get("body") or comment.get("html_body")),
            "type": None,
            "priority": None,
            "status": "new",
            "custom_status_id": self._default_status("new"),
            "assignee_id": None,
            "requester_id": int(requester_id),
            "submitter_id": int(author_id or requester_id),
            "organization_id": None,
            "group_id": None,
            "collaborator_ids": [],
            "follower_ids": [],
            "email_cc_ids": [],
            "tags": [],
            "custom_fields": [],
            "due_at": None,
            "followup_ids": [],
            "has_incidents": False,
            "is_public": bool(comment.get("public", True)),
            "via": via,
            "created_at": now,
            "updated_at": now,
            "generated_timestamp": int(self.clock().timestamp()),
            "allow_channelback": False,
            "allow_attachments": True,
        }
        self.tickets[ticket_id] = ticket
        self.comments[ticket_id] = []
        self.sticky_public[ticket_id] = bool(comment.get("public", True))
        fields = {k: v for k, v in body.items() if k not in ("requester", "requester_id")}
        fields["tags"] = tags
        fields.setdefault("status", "open" if fields.get("assignee_id") else "new")
        author = int(comment.get("author_id") or requester_id)
        self._apply(ticket, fields, author_id=author, notify=False)
        self.actors[ticket_id] = int(author_id or requester_id)
        if source is not None:
            source["followup_ids"] = [*source["followup_ids"], ticket_id]
            self._touch(source, event=False)
        self._notify(ticket, "zen:event-type:ticket.created")
        return ticket

    def _apply(
        self, ticket: JsonDict, values: JsonDict, *, author_id: int, notify: bool = True
    ) -> JsonDict | None:
        """Apply one update; return the comment it added. Raises ``Refused`` as Zendesk would."""
        ticket_id = int(ticket["id"])
        if ticket["status"] == "closed":
            raise Refused(422, CLOSED_BODY)
        before = json.dumps(ticket, sort_keys=True)
        was = {key: ticket.get(key) for key in EVENT_TYPES}
        for key in ("subject", "external_id", "priority", "assignee_id", "group_id"):
            if key in values:
                ticket[key] = values[key]
                if key == "subject":
                    ticket["raw_subject"] = values[key]
        if "assignee_email" in values:
            ticket["assignee_id"] = self._user_by_email(str(values["assignee_email"]))
        if "type" in values:
            ticket["type"] = values["type"]
        if "due_at" in values:
            ticket["due_at"] = values["due_at"]
        if ticket["type"] != "task":
            ticket["due_at"] = None
        if "custom_fields" in values:
            held = {int(f["id"]): f for f in ticket["custom_fields"]}
            for given in values["custom_fields"]:
                held[int(given["id"])] = {"id": int(given["id"]), "value": given.get("value")}
            ticket["custom_fields"] = sorted(held.values(), key=lambda f: int(f["id"]))
        if "tags" in values:
            ticket["tags"] = sorted(set(values["tags"]))
        if values.get("additional_tags"):
            ticket["tags"] = sorted(set(ticket["tags"]) | set(values["additional_tags"]))
        if values.get("remove_tags"):
            ticket["tags"] = sorted(set(ticket["tags"]) - set(values["remove_tags"]))
        self._set_status(ticket, values)
        added = None
        comment = values.get("comment")
        if isinstance(comment, dict):
            if len(self.comments[ticket_id]) >= self.max_comments:
                raise Refused(
                    422,
                    _invalid(
                        "base",
                        f"Ticket has reached the maximum number of comments ({self.max_comments})",
                    ),
                )
            public = comment.get("public")
            if public is None:
                public = self.sticky_public[ticket_id]
            added = {
                "id": next(self._comment_ids),
                "type": "Comment",
                "author_id": int(comment.get("author_id") or author_id),
                "body": str(comment.get("body") or comment.get("html_body") or ""),
                "html_body": f"<p>{comment.get('body') or ''}</p>",
                "plain_body": str(comment.get("body") or ""),
                "public": bool(public),
                "attachments": [],
                "audit_id": next(self._comment_ids),
                "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
                "metadata": {"system": {}, "custom": {}},
                "created_at": stamp(self.clock()),
            }
            self.comments[ticket_id].append(added)
            if public:
                ticket["is_public"] = True
        changed = json.dumps(ticket, sort_keys=True) != before or added is not None
        self._touch(ticket, event=changed)
        if changed:
            self.actors[ticket_id] = author_id
        if changed and notify:
            events = [
                f"{TICKET_EVENT_PREFIX}{event}"
                for key, event in EVENT_TYPES.items()
                if ticket.get(key) != was[key]
            ]
            if added is not None:
                events.append(f"{TICKET_EVENT_PREFIX}comment_added")
            # a change the list does not name (a CC, a follower) still raises an event
            self._notify(ticket, *(events or [f"{TICKET_EVENT_PREFIX}status_changed"]))
        return added

    def _set_status(self, ticket: JsonDict, values: JsonDict) -> None:
        if "custom_status_id" in values and values["custom_status_id"] is not None:
            wanted = next(
                (s for s in self.statuses if s["id"] == int(values["custom_status_id"])), None
            )
            if wanted is None or not wanted["active"]:
                raise Refused(422, _invalid("custom_status_id", "Custom status is invalid"))
            ticket["custom_status_id"] = wanted["id"]
            ticket["status"] = wanted["status_category"]
            return
        status = values.get("status")
        if status is None:
            return
        if status not in SYSTEM_STATUSES:
            raise Refused(422, _invalid("status", f"Status: {status} is not valid"))
        if status != ticket["status"]:
            ticket["status"] = status
            category = "solved" if status == "closed" else status
            ticket["custom_status_id"] = self._default_status(category)

    def _view(self, ticket: JsonDict) -> JsonDict:
        shown = dict(ticket)
        if not self.custom_statuses_enabled:
            shown.pop("custom_status_id", None)
        if shown["status"] != "closed":
            shown.pop("followup_ids", None)
        return shown

    # -- HTTP ------------------------------------------------------------------------------

    async def _guard(self, request: Request) -> None:
        self.requests.append(f"{request.method} {request.url.path}")
        now = self.clock()
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(credentials).decode().partition(":")
            except ValueError:
                user, secret = "", ""
            ok = hmac.compare_digest(user, f"{self.admin_email}/token") and hmac.compare_digest(
                secret, self.api_token
            )
        elif scheme.lower() == "bearer":
            expires = self.access_tokens.get(credentials)
            ok = expires is not None and now < expires
        else:
            ok = False
        if not ok:
            raise Refused(401, UNAUTHENTICATED_BODY)
        if self.account_window is not None:
            self.account_window.take(now, "account")

    def _headers(self) -> dict[str, str]:
        if self.account_window is None:
            return {}
        return {
            "X-Rate-Limit": str(self.account_window.limit),
            "X-Rate-Limit-Remaining": str(self.account_window.remaining()),
        }

    def _answer(self, body: JsonDict, status: int = 200) -> Response:
        return JSONResponse(body, status_code=status, headers=self._headers())

    async def _serve(
        self, request: Request, work: Callable[[], tuple[JsonDict, int]], *, auth: bool = True
    ) -> Response:
        try:
            if auth:
                await self._guard(request)
            with self._lock:
                body, status = work()
        except Refused as refused:
            return JSONResponse(
                refused.body,
                status_code=refused.status,
                headers={**self._headers(), **refused.headers},
            )
        return self._answer(body, status)

    async def _json(self, request: Request) -> JsonDict:
        try:
            parsed = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            raise Refused(
                400, {"error": "InvalidJSON", "description": "body is not JSON"}
            ) from None
        if not isinstance(parsed, dict):
            raise Refused(400, {"error": "InvalidJSON", "description": "body is not an object"})
        return parsed

    async def _grant(self, request: Request) -> Response:
        self.requests.append(f"{request.method} {request.url.path}")
        try:
            given = await self._json(request)
        except Refused as refused:
            return JSONResponse(refused.body, status_code=refused.status)

        def work() -> tuple[JsonDict, int]:
            now = self.clock()
            if not (
                hmac.compare_digest(str(given.get("client_id", "")), self.client_id)
                and hmac.compare_digest(str(given.get("client_secret", "")), self.client_secret)
            ):
                raise Refused(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "Client authentication failed",
                    },
                )
            grant = given.get("grant_type")
            if grant == "refresh_token":
                refresh = str(given.get("refresh_token", ""))
                expires = self.refresh_tokens.pop(refresh, None)
                if expires is None or now >= expires:
                    raise Refused(
                        400,
                        {"error": "invalid_grant", "error_description": "refresh token invalid"},
                    )
            elif grant != "client_credentials":
                raise Refused(400, {"error": "unsupported_grant_type"})
            access = secrets.token_hex(16)
            refresh = secrets.token_hex(16)
            self.access_tokens[access] = now + dt.timedelta(seconds=self.access_ttl)
            self.refresh_tokens[refresh] = now + dt.timedelta(days=30)
            return {
                "access_token": access,
                "token_type": "bearer",
                "scope": str(given.get("scope", "read write")),
                "expires_in": self.access_ttl,
                "refresh_token": refresh,
                "refresh_token_expires_in": 30 * 86400,
            }, 200

        return await self._serve(request, work, auth=False)

    async def _show_ticket(self, request: Request) -> Response:
        ticket_id = int(request.path_params["ticket_id"])
        return await self._serve(
            request, lambda: ({"ticket": self._view(self._ticket(ticket_id))}, 200)
        )

    async def _list_tickets(self, request: Request) -> Response:
        external_id = request.query_params.get("external_id")

        def work() -> tuple[JsonDict, int]:
            found = [
                self._view(t)
                for t in self.tickets.values()
                if external_id is None or t["external_id"] == external_id
            ]
            return {
                "tickets": found,
                "next_page": None,
                "previous_page": None,
                "count": len(found),
            }, 200

        return await self._serve(request, work)

    async def _create_ticket(self, request: Request) -> Response:
        async def parsed() -> JsonDict:
            given = await self._json(request)
            ticket = given.get("ticket")
            if not isinstance(ticket, dict):
                raise Refused(400, {"error": "InvalidJSON", "description": "no ticket object"})
            return ticket

        try:
            body = await parsed()
        except Refused as refused:
            return JSONResponse(refused.body, status_code=refused.status)

        def work() -> tuple[JsonDict, int]:
            ticket = self._create(body, author_id=self.admin_id, channel="api")
            first = self.comments[int(ticket["id"])][0]
            return {"ticket": self._view(ticket), "audit": self._audit(ticket, first)}, 201

        return await self._serve(request, work)

    def _audit(self, ticket: JsonDict, comment: JsonDict | None) -> JsonDict:
        events = []
        if comment is not None:
            events.append(
                {k: comment[k] for k in ("id", "type", "author_id", "body", "html_body", "public")}
            )
        return {
            "id": next(self._comment_ids),
            "ticket_id": ticket["id"],
            "author_id": self.admin_id,
            "created_at": stamp(self.clock()),
            "events": events,
            "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
        }

    async def _update_ticket(self, request: Request) -> Response:
        ticket_id = int(request.path_params["ticket_id"])
        try:
            given = await self._json(request)
        except Refused as refused:
            return JSONResponse(refused.body, status_code=refused.status)
        values = given.get("ticket")

        def work() -> tuple[JsonDict, int]:
            if not isinstance(values, dict):
                raise Refused(400, {"error": "InvalidJSON", "description": "no ticket object"})
            ticket = self._ticket(ticket_id)
            window = self.ticket_windows.setdefault(
                ticket_id, Window(self.updates_per_ticket, 600.0)
            )
            try:
                window.take(self.clock(), f"ticket {ticket_id} updates")
            except Refused as refused:
                refused.headers[TICKET_UPDATES] = (
                    f"total={window.limit}; remaining=0; resets={refused.headers['Retry-After']}"
                )
                raise
            if values.get("safe_update") and values.get("updated_stamp") != ticket["updated_at"]:
                raise Refused(409, CONFLICT_BODY)
            comment = self._apply(ticket, values, author_id=self.admin_id)
            return {"ticket": self._view(ticket), "audit": self._audit(ticket, comment)}, 200

        return await self._serve(request, work)

    async def _list_comments(self, request: Request) -> Response:
        ticket_id = int(request.path_params["ticket_id"])
        query = request.query_params

        def work() -> tuple[JsonDict, int]:
            self._ticket(ticket_id)
            held = self.comments[ticket_id]
            if query.get("sort") == "-created_at":
                held = list(reversed(held))
            users = self._sideload(held) if "users" in query.get("include", "") else None
            if "page[size]" not in query:
                body: JsonDict = {
                    "comments": held,
                    "next_page": None,
                    "previous_page": None,
                    "count": len(held),
                }
            else:
                size = max(1, min(100, int(query["page[size]"])))
                after = query.get("page[after]")
                start = 0
                if after:
                    start = next(
                        (i + 1 for i, c in enumerate(held) if _cursor(c["id"]) == after), len(held)
                    )
                page = held[start : start + size]
                more = start + size < len(held)
                base = f"{request.base_url}api/v2/tickets/{ticket_id}/comments"
                last = _cursor(page[-1]["id"]) if page else None
                first = _cursor(page[0]["id"]) if page else None
                body = {
                    "comments": page,
                    "meta": {"has_more": more, "after_cursor": last, "before_cursor": first},
                    "links": {
                        "next": f"{base}?page[size]={size}&page[after]={last}" if more else None,
                        "prev": None,
                    },
                }
            if users is not None:
                body["users"] = users
            return body, 200

        return await self._serve(request, work)

    def _sideload(self, held: list[JsonDict]) -> list[JsonDict]:
        ids = sorted({int(c["author_id"]) for c in held})
        return [self.users[i] for i in ids if i in self.users]

    async def _export(self, request: Request) -> Response:
        query = request.query_params

        def work() -> tuple[JsonDict, int]:
            now = self.clock()
            self.incremental_window.take(now, "incremental export")
            horizon = now - dt.timedelta(minutes=1)
            if "cursor" in query:
                after = _decode(query["cursor"])
            elif "start_time" in query:
                start = int(query["start_time"])
                if start > int(horizon.timestamp()):
                    raise Refused(
                        422,
                        {
                            "error": "InvalidValue",
                            "description": "start_time must be at least one minute in the past",
                        },
                    )
                after = (
                    min(
                        (s for s, at in self.changed.values() if at.timestamp() >= start),
                        default=next(self._seq),
                    )
                    - 1
                )
            else:
                raise Refused(
                    400, {"error": "InvalidValue", "description": "start_time is required"}
                )
            size = max(1, min(1000, int(query.get("per_page", "1000"))))
            ready = sorted(
                (seq, ticket_id)
                for ticket_id, (seq, at) in self.changed.items()
                if seq > after and at <= horizon
            )
            page = ready[:size]
            last = page[-1][0] if page else after
            cursor = _encode(last)
            base = f"{request.base_url}api/v2/incremental/tickets/cursor"
            return {
                "tickets": [self._view(self.tickets[ticket_id]) for _, ticket_id in page],
                "after_cursor": cursor,
                "after_url": f"{base}?cursor={cursor}",
                "before_cursor": _encode(after),
                "before_url": f"{base}?cursor={_encode(after)}",
                "end_of_stream": len(ready) <= size,
            }, 200

        return await self._serve(request, work)

    async def _show_me(self, request: Request) -> Response:
        """The API user: every credential the fake accepts (token or OAuth grant) is the admin's."""
        return await self._serve(request, lambda: ({"user": self.users[self.admin_id]}, 200))

    async def _search_users(self, request: Request) -> Response:
        wanted = request.query_params.get("query", "").removeprefix("email:").lower()

        def work() -> tuple[JsonDict, int]:
            found = [u for u in self.users.values() if str(u["email"]).lower() == wanted]
            return {
                "users": found,
                "next_page": None,
                "previous_page": None,
                "count": len(found),
            }, 200

        return await self._serve(request, work)

    async def _show_user(self, request: Request) -> Response:
        user_id = int(request.path_params["user_id"])

        def work() -> tuple[JsonDict, int]:
            if user_id not in self.users:
                raise Refused(404, NOT_FOUND_BODY)
            return {"user": self.users[user_id]}, 200

        return await self._serve(request, work)

    async def _list_statuses(self, request: Request) -> Response:
        def work() -> tuple[JsonDict, int]:
            shown = self.statuses if self.custom_statuses_enabled else []
            return {"custom_statuses": shown}, 200

        return await self._serve(request, work)

    # -- search ----------------------------------------------------------------------------

    def _matching(self, query: str, *, export: bool) -> list[JsonDict]:
        """Tickets the query matches, or a 400 naming what the query language cannot read."""
        try:
            terms = fake_search.parse(query)
            if export and any(t.keyword == "type" for t in terms):
                raise fake_search.BadQuery(
                    "the export takes the type in filter[type]: a type in the query is an error"
                )
            test = fake_search.matcher(
                terms, fake_search.Account(group_id=self._group_named, user_id=self._user_named)
            )
        except fake_search.BadQuery as bad:
            raise Refused(
                400, {"error": "invalid", "description": f"Invalid search: {bad}"}
            ) from None
        return [t for t in self.tickets.values() if test(t)]

    def _group_named(self, name: str) -> int | None:
        return next((g["id"] for g in self.groups.values() if g["name"] == name), None)

    def _user_named(self, email: str) -> int | None:
        return next(
            (u["id"] for u in self.users.values() if str(u["email"]).lower() == email.lower()),
            None,
        )

    async def _search(self, request: Request) -> Response:
        """Offset pages of at most 100, up to 1,000 results; ties in the sort order unspecified."""
        query = request.query_params

        def work() -> tuple[JsonDict, int]:
            found = self._matching(_required(query.get("query"), "query"), export=False)
            per_page = max(1, min(100, _integer(query.get("per_page", "100"), "per_page")))
            page = max(1, _integer(query.get("page", "1"), "page"))
            if (page - 1) * per_page >= SEARCH_LIMIT:
                raise Refused(
                    422,
                    {
                        "error": "invalid",
                        "description": f"Invalid search: results are limited to {SEARCH_LIMIT}; "
                        "use the export endpoint",
                    },
                )
            sort_by = query.get("sort_by")
            descending = query.get("sort_order", "desc") != "asc"
            if sort_by in {"created_at", "updated_at"}:
                # Zendesk leaves the order of equal stamps unspecified: here, newest id first.
                stamp_key = str(sort_by)
                if descending:
                    found.sort(key=lambda t: (t[stamp_key], int(t["id"])), reverse=True)
                else:
                    found.sort(key=lambda t: (t[stamp_key], -int(t["id"])))
            else:
                found.sort(key=lambda t: int(t["id"]), reverse=True)
            start = (page - 1) * per_page
            shown = found[start : start + per_page]
            more = start + per_page < min(len(found), SEARCH_LIMIT)

            def link(number: int) -> str:
                params = {k: v for k, v in query.items() if k != "page"} | {"page": str(number)}
                return f"{request.base_url}api/v2/search.json?{urlencode(params)}"

            return {
                "results": [{**self._view(t), "result_type": "ticket"} for t in shown],
                "facets": None,
                "next_page": link(page + 1) if more else None,
                "previous_page": link(page - 1) if page > 1 else None,
                "count": len(found),
            }, 200

        return await self._serve(request, work)

    async def _search_count(self, request: Request) -> Response:
        query = request.query_params

        def work() -> tuple[JsonDict, int]:
            found = self._matching(_required(query.get("query"), "query"), export=False)
            return {"count": len(found)}, 200

        return await self._serve(request, work)

    async def _search_export(self, request: Request) -> Response:
        """Cursor pages ordered by ``created_at`` only, newest first as the vendor's example
        cursor says (``"desc":true``, ties by id ascending); a cursor lasts an hour and covers
        the tickets that existed when its export began."""
        query = request.query_params

        def work() -> tuple[JsonDict, int]:
            now = self.clock()
            self.export_window.take(now, "search export")
            text = _required(query.get("query"), "query")
            kind = _required(query.get("filter[type]"), "filter[type]")
            if kind != "ticket":
                raise Refused(
                    400,
                    {
                        "error": "invalid",
                        "description": f"this account exports tickets only, not {kind}",
                    },
                )
            found = self._matching(text, export=True)
            size = max(1, min(1000, _integer(query.get("page[size]", "100"), "page[size]")))
            digest = hashlib.sha256(f"{kind}|{text}".encode()).hexdigest()[:16]
            after = query.get("page[after]")
            if after:
                position = _export_position(after, digest, now)
                session, last = position["session"], tuple(position["last"])
            else:
                session, last = stamp(now), None
            ordered = sorted((t for t in found if t["created_at"] <= session), key=_export_key)
            start = 0
            if last is not None:
                start = next(
                    (i for i, t in enumerate(ordered) if _export_key(t) > last), len(ordered)
                )
            page = ordered[start : start + size]
            more = start + size < len(ordered)
            cursor = None
            if page:
                cursor = _export_cursor(
                    {
                        "digest": digest,
                        "session": session,
                        "issued": stamp(now),
                        "last": list(_export_key(page[-1])),
                    }
                )
            params = {"query": text, "filter[type]": kind, "page[size]": str(size)}
            return {
                "results": [{**self._view(t), "result_type": "ticket"} for t in page],
                "facets": None,
                "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
                "links": {
                    "next": f"{request.base_url}api/v2/search/export.json?"
                    f"{urlencode(params | {'page[after]': cursor or ''})}"
                    if more
                    else None,
                    "prev": None,
                },
            }, 200

        return await self._serve(request, work)

    # -- what inspect reads ----------------------------------------------------------------

    async def _show_field(self, request: Request) -> Response:
        field_id = int(request.path_params["field_id"])

        def work() -> tuple[JsonDict, int]:
            if field_id not in self.ticket_fields:
                raise Refused(404, NOT_FOUND_BODY)
            return {"ticket_field": self.ticket_fields[field_id]}, 200

        return await self._serve(request, work)

    async def _list_webhooks(self, request: Request) -> Response:
        """Cursor pages of webhooks (admins only in Zendesk; the fake's one user is an admin)."""
        query = request.query_params

        def work() -> tuple[JsonDict, int]:
            status = query.get("filter[status]")
            held = [w for w in self.webhooks.values() if status is None or w["status"] == status]
            size = max(1, min(100, _integer(query.get("page[size]", "100"), "page[size]")))
            after = query.get("page[after]")
            ids = [w["id"] for w in held]
            start = ids.index(after) + 1 if after in ids else 0
            page = held[start : start + size]
            more = start + size < len(held)
            last = page[-1]["id"] if page else None
            base = f"{request.base_url}api/v2/webhooks"
            return {
                "webhooks": page,
                "meta": {
                    "has_more": more,
                    "after_cursor": last,
                    "before_cursor": page[0]["id"] if page else None,
                },
                "links": {
                    "next": f"{base}?page[size]={size}&page[after]={last}" if more else None,
                    "prev": None,
                },
            }, 200

        return await self._serve(request, work)

    async def _list_triggers(self, request: Request) -> Response:
        query = request.query_params

        def work() -> tuple[JsonDict, int]:
            active = query.get("active")
            held = [
                t
                for t in self.triggers.values()
                if active is None or t["active"] == (active.lower() == "true")
            ]
            return {
                "triggers": held,
                "count": len(held),
                "next_page": None,
                "previous_page": None,
            }, 200

        return await self._serve(request, work)


def _required(value: str | None, name: str) -> str:
    if not value:
        raise Refused(400, {"error": "invalid", "description": f"{name} is required"})
    return value


def _integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Refused(
            400, {"error": "invalid", "description": f"{name} must be an integer"}
        ) from None


def _export_key(ticket: JsonDict) -> tuple[float, int]:
    """Newest created first, then the lower id."""
    return (-fake_search.instant(ticket["created_at"]).timestamp(), int(ticket["id"]))


def _export_cursor(position: JsonDict) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def _export_position(cursor: str, digest: str, now: dt.datetime) -> JsonDict:
    """The export position a cursor names; 400 when it is foreign, for another query, or stale."""
    invalid = {"error": "InvalidPaginationParameter", "description": "page[after] is invalid"}
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        issued = fake_search.instant(str(position["issued"]))
    except (ValueError, KeyError, TypeError):
        raise Refused(400, invalid) from None
    if not isinstance(position, dict) or position.get("digest") != digest:
        raise Refused(400, invalid)
    if now - issued > EXPORT_CURSOR_TTL:
        raise Refused(
            400,
            {"error": "InvalidPaginationParameter", "description": "page[after] has expired"},
        )
    return position


def _cursor(comment_id: int) -> str:
    return base64.urlsafe_b64encode(f"c{comment_id}".encode()).decode().rstrip("=")


def _encode(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("seq:"))
    except ValueError:
        raise Refused(400, {"error": "InvalidCursor", "description": "cursor is invalid"}) from None
