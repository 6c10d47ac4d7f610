"""The Adapter Protocol over Zendesk Support.

Choices a Zendesk admin should know about:

- Correlation: ``external_id`` holds the link key; Zendesk does not keep it unique, so create()
  looks first and find() returns the newest ticket carrying it (a follow-up over its source).
- ``closed`` is immutable: any update or comment for a closed ticket goes into a follow-up ticket
  (``via_followup_source_id``), created once (a retry finds ``followup_ids`` on the source) and
  returned in place of the closed one, so the reconciler moves the link to it.
- Tags: an update never sends ``tags`` (that would replace the whole set); the correlation tag is
  written on create, and a follow-up gets its source's tags plus ours, because tags passed on a
  follow-up replace the inherited ones.
- Coalescing: the Protocol hands over all field changes in one update() call and each comment
  in its own add_comment() call; update() sends one PUT for all its fields, a comment is one PUT.
  Zendesk allows about 30 updates of one ticket in 10 minutes; above that the 429 becomes
  ``RateLimited`` and the bridge waits. Comments and fields are not merged into one PUT, because
  the Protocol gives them to the adapter separately.
- ``since`` is sent as ``safe_update`` + ``updated_stamp``: a 409 is ``Conflict`` (read and merge
  again).
- Due dates: ``due_at`` on tasks; on other tickets the date custom field ``due_field_id`` when
  configured (a calendar date only). Without it, such tickets carry no due date in ``fields``, and
  writing one parks the link with that reason (``config.check`` says it up front).
- Comments: Zendesk cannot edit one; update_comment() adds the edited mirror as a new comment
  with the same marker. The 5,000-comments-per-ticket limit parks the link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests

from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.adapters.zendesk import webhooks
from ticket_bridge.adapters.zendesk.client import ClosedTicket, CommentLimit, ZendeskClient
from ticket_bridge.adapters.zendesk.config import ZendeskConfig
from ticket_bridge.adapters.zendesk.payloads import UpdateBody, ZCustomStatus, ZTicket, ZUser
from ticket_bridge.adapters.zendesk.translate import (
    SYSTEM_STATUSES,
    date_field_to_due_at,
    due_at_to_date_field,
    native_status,
    status_write,
    translation,
)
from ticket_bridge.bridge import comments
from ticket_bridge.bridge.adapter import Changes, Draft, Hint, Mirror, NativeComment, NativeTicket
from ticket_bridge.bridge.errors import ParkLink
from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.model import Field, Json, Person, Visibility
from ticket_bridge.bridge.translation import TableTranslation


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def zendesk_stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZendeskAdapter:
    def __init__(
        self,
        name: str,
        config: ZendeskConfig,
        mapping: TrackerMapping,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
        budget: RequestBudget | None = None,
        export_budget: RequestBudget | None = None,
    ) -> None:
        self._name = name
        self.config = config
        self.clock = clock
        self.client = ZendeskClient(
            name, config, session=session, budget=budget, export_budget=export_budget
        )
        self._translation = translation(name, mapping, config.zone)
        self._custom: dict[int, ZCustomStatus] | None = None
        self._emails: dict[int, ZUser] = {}
        self._user_ids: dict[str, int] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def customer_facing(self) -> bool:
        return self.config.customer_facing

    @property
    def internal_comments(self) -> bool:
        return True

    @property
    def translation(self) -> TableTranslation:
        return self._translation

    @property
    def fields(self) -> frozenset[Field]:
        """The description is the ticket's first comment: set at create, never rewritten."""
        return frozenset(Field) - {Field.DESCRIPTION}

    @property
    def session(self) -> requests.Session:
        return self.client.session

    def live_statuses(self) -> list[str]:
        """Every native status this account can hold, for validating the mapping against it."""
        custom = self._custom_statuses(refresh=True)
        return [
            *SYSTEM_STATUSES,
            *(s.agent_label for s in custom.values() if s.active and not s.default),
        ]

    # -- reading ---------------------------------------------------------------------------

    def read(self, ticket_id: str) -> NativeTicket:
        return self._native(self.client.ticket(ticket_id))

    def changes(self, cursor: str | None) -> Changes:
        """Pages of the cursor export until ``end_of_stream``; the cursor is its ``after_cursor``."""
        if cursor is None:
            start = self.clock() - dt.timedelta(seconds=self.config.first_poll_lookback)
            page = self.client.export(start_time=int(start.timestamp()))
        else:
            page = self.client.export(cursor=cursor)
        ids = [str(t.id) for t in page.tickets]
        while not page.end_of_stream and page.after_cursor:
            page = self.client.export(cursor=page.after_cursor)
            ids.extend(str(t.id) for t in page.tickets)
        return Changes(ids=tuple(dict.fromkeys(ids)), cursor=page.after_cursor or cursor or "")

    def find(self, correlation_key: str) -> NativeTicket | None:
        found = self.client.tickets_by_external_id(correlation_key)
        if not found:
            return None
        return self._native(max(found, key=lambda t: t.id))

    # -- writing ---------------------------------------------------------------------------

    def create(self, draft: Draft) -> NativeTicket:
        existing = self.find(draft.correlation_key)
        if existing is not None:
            return existing
        kind = draft.kind if isinstance(draft.kind, str) else None
        ref = f"{self.name}:new ({draft.correlation_key})"
        body: dict[str, Any] = {
            "external_id": draft.correlation_key,
            "tags": [self.config.correlation_tag],
            "comment": {
                "body": str(
                    draft.fields.get(Field.DESCRIPTION) or draft.fields.get(Field.TITLE) or ""
                ),
                "public": self.config.description_public,
            },
        }
        if kind is not None:
            body["type"] = kind
        if draft.requester:
            body["requester"] = {"email": draft.requester, "name": draft.requester.split("@")[0]}
        values = dict(draft.fields)
        if kind != "task" and self.config.due_field_id is None:
            values.pop(Field.DUE, None)  # this ticket cannot hold one: check says so
        body |= self._writes(values, kind=kind, ref=ref)
        return self._native(self.client.create(body).ticket)

    def update(
        self, ticket_id: str, patch: Mapping[Field, Json], *, since: dt.datetime | None = None
    ) -> NativeTicket:
        ref = f"{self.name}:{ticket_id}"
        kind: str | None = None
        if Field.DUE in patch:
            kind = self.client.ticket(ticket_id).type
        body: dict[str, Any] = self._writes(patch, kind=kind, ref=ref)
        if since is not None:
            body |= {"safe_update": True, "updated_stamp": zendesk_stamp(since)}
        try:
            result = self.client.update(ticket_id, body)
        except ClosedTicket:
            result = self._follow_up(ticket_id, self._writes(patch, kind=kind, ref=ref), None)
        return self._native(result.ticket)

    def _writes(
        self, values: Mapping[Field, Json], *, kind: str | None, ref: str
    ) -> dict[str, Any]:
        """The ticket keys that carry ``values``; the description is read-only after create."""
        body: dict[str, Any] = {}
        for field, value in values.items():
            match field:
                case Field.TITLE:
                    body["subject"] = value
                case Field.STATUS:
                    try:
                        body |= status_write(str(value), self._custom_statuses())
                    except ValueError:
                        body |= status_write(str(value), self._custom_statuses(refresh=True))
                case Field.PRIORITY:
                    body["priority"] = value
                case Field.ASSIGNEE:
                    body["assignee_id"] = None if not value else self._user_id(str(value), ref)
                case Field.DUE:
                    body |= self._due_write(value, kind, ref)
                case Field.DESCRIPTION:
                    pass
        return body

    def _due_write(self, value: Json, kind: str | None, ref: str) -> dict[str, Any]:
        if kind == "task":
            return {"due_at": value}
        if self.config.due_field_id is not None:
            date = due_at_to_date_field(value, self.config.zone)
            return {"custom_fields": [{"id": self.config.due_field_id, "value": date}]}
        if value is None:
            return {}
        raise ParkLink(
            f"{ref} is a {kind or 'ticket without a type'}: Zendesk holds due_at on tasks only "
            "and no due_field_id (a date custom field) is configured, so its due date cannot sync"
        )

    def _follow_up(
        self, closed_id: str, values: dict[str, Any], comment: dict[str, Any] | None
    ) -> UpdateBody:
        """Carry a change for a closed ticket in its follow-up, made once."""
        source = self.client.ticket(closed_id)
        if source.followup_ids:
            latest = str(max(source.followup_ids))
            update = dict(values)
            if comment is not None:
                update["comment"] = comment
            try:
                return self.client.update(latest, update)
            except ClosedTicket:
                return self._follow_up(latest, values, comment)
        tags = sorted({*source.tags, self.config.correlation_tag})
        body: dict[str, Any] = {
            "via_followup_source_id": source.id,
            "subject": source.subject,
            "type": source.type,
            "priority": source.priority,
            "requester_id": source.requester_id,
            "assignee_id": source.assignee_id,
            "external_id": source.external_id,
            "tags": tags,
            "status": "open",
            "comment": comment
            or {
                "body": f"Follow-up of closed ticket #{source.id}: it changed in a linked tracker.",
                "public": False,
            },
        }
        body |= values
        return self.client.create({k: v for k, v in body.items() if v is not None})

    # -- comments --------------------------------------------------------------------------

    def comments(self, ticket_id: str) -> Sequence[NativeComment]:
        page = self.client.comments(ticket_id)
        users = {u.id: u for u in page.users}
        listed = []
        for c in page.comments:
            author = users.get(c.author_id)
            listed.append(
                NativeComment(
                    id=str(c.id),
                    author=Person(
                        name=author.name if author else f"user {c.author_id}",
                        email=author.email if author else None,
                    ),
                    body=comments.strip_marker(c.body),
                    visibility=Visibility.PUBLIC if c.public else Visibility.INTERNAL,
                    created_at=c.created_at or self.clock(),
                    mirror_of=comments.mirror_of(c.body),
                )
            )
        return listed

    def add_comment(self, ticket_id: str, mirror: Mirror) -> NativeComment:
        """One PUT with the comment and an explicit ``public``; a closed ticket's goes to its follow-up."""
        body = comments.render(mirror.comment)
        comment = {"body": body, "public": mirror.visibility is Visibility.PUBLIC}
        try:
            result = self.client.update(ticket_id, {"comment": comment})
        except ClosedTicket:
            result = self._follow_up(ticket_id, {}, comment)
        except CommentLimit as exc:
            raise ParkLink(
                f"{self.name}:{ticket_id} holds the 5,000 comments Zendesk allows: no more "
                "comments can be mirrored to it (close it and link a follow-up)"
            ) from exc
        return self._posted(ticket_id, result, body, mirror)

    def update_comment(
        self, ticket_id: str, comment_id: str, mirror: Mirror
    ) -> NativeComment | None:
        """Zendesk comments cannot be edited; a second comment would double it: the edit stays out."""
        del ticket_id, comment_id, mirror
        return None

    def _posted(
        self, ticket_id: str, result: UpdateBody, body: str, mirror: Mirror
    ) -> NativeComment:
        events = result.audit.events if result.audit is not None else ()
        added = [e for e in events if e.get("type") == "Comment"]
        moved = str(result.ticket.id)
        return NativeComment(
            id=str(added[-1]["id"]) if added else "",
            author=Person(name="ticket-bridge"),
            body=comments.strip_marker(body),
            visibility=mirror.visibility,
            created_at=result.ticket.updated_at,
            mirror_of=mirror.comment.id,
            ticket_id=moved if moved != ticket_id else None,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[Hint]:
        return webhooks.parse(
            self.name, self.config.webhook_secret, headers, body, clock=self.clock
        )

    # -- native values ---------------------------------------------------------------------

    def _native(self, ticket: ZTicket) -> NativeTicket:
        fields: dict[Field, Json] = {
            Field.TITLE: ticket.subject or "",
            Field.DESCRIPTION: ticket.description or "",
            Field.STATUS: native_status(
                ticket.status, ticket.custom_status_id, self._statuses_for(ticket)
            ),
            Field.PRIORITY: ticket.priority,
            Field.ASSIGNEE: None if ticket.assignee_id is None else self._email(ticket.assignee_id),
        }
        if ticket.type == "task":
            fields[Field.DUE] = ticket.due_at
        elif self.config.due_field_id is not None:
            fields[Field.DUE] = date_field_to_due_at(
                ticket.custom(self.config.due_field_id), self.config.zone
            )
        requester = None if ticket.requester_id is None else self._email(ticket.requester_id)
        return NativeTicket(
            id=str(ticket.id),
            fields=fields,
            kind=ticket.type,
            requester=requester,
            updated_at=ticket.updated_at,
            correlation_key=ticket.external_id,
        )

    def _statuses_for(self, ticket: ZTicket) -> dict[int, ZCustomStatus]:
        """The account's custom statuses, read again when the ticket has one added since."""
        custom = self._custom_statuses()
        if custom and ticket.custom_status_id is not None and ticket.custom_status_id not in custom:
            custom = self._custom_statuses(refresh=True)
        return custom

    def _custom_statuses(self, *, refresh: bool = False) -> dict[int, ZCustomStatus]:
        if self._custom is None or refresh:
            self._custom = {s.id: s for s in self.client.custom_statuses()}
        return self._custom

    def _email(self, user_id: int) -> str | None:
        if user_id not in self._emails:
            self._emails[user_id] = self.client.user(user_id)
        return self._emails[user_id].email

    def _user_id(self, email: str, ref: str) -> int:
        key = email.lower()
        if key not in self._user_ids:
            found = self.client.users_by_email(email)
            if not found:
                raise ParkLink(
                    f"{ref}: no Zendesk user has the email {email}: add the agent in Zendesk "
                    "or map the assignee to a Zendesk user's email"
                )
            self._user_ids[key] = found[0].id
        return self._user_ids[key]
