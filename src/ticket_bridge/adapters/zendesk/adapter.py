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
- Backlog: keyset paging over the search index. Each page is page 1 of List Search Results for
  ``type:ticket created>=L [created<U] <native>`` sorted by ``created_at`` ascending, and the
  cursor is just ``L`` (plus a fingerprint of the query). A full page drops its last created
  second (it may continue past the page) and the next page starts at that second; so the
  cursor never expires, never needs offset paging (the 1,000-result cap never applies), and
  a ticket created meanwhile sorts after it. When a whole page shares one second (an import),
  that second is read through Export Search Results, a page per call, whose order does not
  matter then (Zendesk documents it as "ordered by created_at" and its own example cursor says
  newest first); the cursor then also holds the export's cursor and the ids handed out in that
  second, so memory stays at a page however many tickets share it, and an export cursor that
  outlived its hour starts the second again without handing a ticket out twice. The search index lags
  writes by a little: tickets created in the last minutes may show up only on a later run;
  the change feed has them anyway.
- Inspect: statuses, priorities and types the mapping names against the account, the due date
  field, and a webhook to the bridge (with a trigger that notifies it, unless it subscribes to
  ticket events itself).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.adapters.zendesk import webhooks
from ticket_bridge.adapters.zendesk.client import (
    BadQuery,
    ClosedTicket,
    CommentLimit,
    ZendeskClient,
)
from ticket_bridge.adapters.zendesk.config import ZendeskConfig
from ticket_bridge.adapters.zendesk.payloads import (
    ExportPage,
    UpdateBody,
    ZCustomStatus,
    ZTicket,
    ZUser,
    ZWebhook,
)
from ticket_bridge.adapters.zendesk.translate import (
    SYSTEM_STATUSES,
    date_field_to_due_at,
    due_at_to_date_field,
    native_status,
    status_write,
    translation,
)
from ticket_bridge.bridge import comments
from ticket_bridge.bridge.adapter import (
    BacklogPage,
    BacklogQuery,
    Changes,
    Draft,
    Finding,
    Hint,
    Mirror,
    NativeComment,
    NativeTicket,
    Severity,
)
from ticket_bridge.bridge.errors import ConfigError, Conflict, NotFound, ParkLink, Permanent
from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.model import Field, Json, Person, Visibility
from ticket_bridge.bridge.translation import TableTranslation

T = TypeVar("T")
PRIORITIES = ("urgent", "high", "normal", "low")
TICKET_TYPES = ("problem", "incident", "question", "task")

SECOND = dt.timedelta(seconds=1)
# Terms the backlog owns: its type, and its order (oldest created first).
RESERVED = re.compile(r"(?:^|\s)-?(type|order_by|sort)\s*[:<>=]", re.IGNORECASE)


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
        self._mapping = mapping
        self._translation = translation(name, mapping, config.zone)
        self._custom: dict[int, ZCustomStatus] | None = None
        self._emails: dict[int, ZUser] = {}
        self._user_ids: dict[str, int] = {}
        self._identity: str | None = None

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
        stamps: dict[str, dt.datetime] = {}

        def note(found: ExportPage) -> None:
            for ticket in found.tickets:
                seen = stamps.get(str(ticket.id))
                stamps[str(ticket.id)] = max(ticket.updated_at, seen or ticket.updated_at)

        note(page)
        while not page.end_of_stream and page.after_cursor:
            page = self.client.export(cursor=page.after_cursor)
            note(page)
        return Changes(ids=tuple(stamps), cursor=page.after_cursor or cursor or "", stamps=stamps)

    def backlog(self, query: BacklogQuery, cursor: str | None) -> BacklogPage:
        """Oldest created first, keyset-paged on ``created_at`` (see the module docstring)."""
        native = self._native_terms(query.native)
        first = _whole_second_up(query.created_from)
        until = _whole_second_up(query.created_until)
        fingerprint = _fingerprint(first, until, native)
        held = None if cursor is None else self._resume(cursor, fingerprint)
        total = self._searching(
            lambda: self.client.search_count(_search(first, until, native, typed=True)), native
        )
        if held is not None and held.inside:
            return self._one_second(held, native, fingerprint, total)
        start = first if held is None else held.after
        size = self.config.backlog_page_size
        found = self._searching(
            lambda: self.client.search(_search(start, until, native, typed=True), per_page=size),
            native,
        )
        tickets = list(found.results)
        if len(tickets) < size and found.next_page is None:
            tickets.sort(key=lambda t: (self._created(t), t.id))
            return BacklogPage(tickets=self._natives(tickets), cursor=None, total=total)
        last = self._created(tickets[-1])
        if self._created(tickets[0]) == last:
            return self._one_second(Held(after=last, inside=True), native, fingerprint, total)
        # Zendesk leaves the order within a second open: ids rise with creation.
        tickets = sorted(
            (t for t in tickets if self._created(t) < last),
            key=lambda t: (self._created(t), t.id),
        )
        return BacklogPage(
            tickets=self._natives(tickets),
            cursor=_cursor(Held(after=last), fingerprint),
            total=total,
        )

    def _one_second(self, held: Held, native: str, fingerprint: str, total: int) -> BacklogPage:
        """The next export page of the tickets created in ``held.after`` (no 1,000 cap), less
        those already handed out, by id.

        An export cursor lasts an hour; should one expire mid-second (a very slow rate budget),
        the second is exported again from its start, skipping the ids the cursor holds.
        """
        second = held.after
        query = _search(second, second + SECOND, native, typed=False)
        size = self.config.backlog_page_size
        export, restarted = held.export, False
        while True:
            try:
                page = self.client.search_export(query, size=size, after=export)
            except BadQuery:
                if export is None or restarted:
                    raise
                export, restarted = None, True
                continue
            fresh = sorted(
                {t.id: t for t in page.results if t.id not in held.handed}.values(),
                key=lambda t: t.id,
            )
            if not page.meta.has_more or not page.meta.after_cursor:
                after = _cursor(Held(after=second + SECOND), fingerprint)
                return BacklogPage(tickets=self._natives(fresh), cursor=after, total=total)
            export = page.meta.after_cursor
            if fresh:
                held = Held(
                    after=second,
                    inside=True,
                    export=export,
                    handed=held.handed | {t.id for t in fresh},
                )
                return BacklogPage(
                    tickets=self._natives(fresh), cursor=_cursor(held, fingerprint), total=total
                )

    def _searching(self, call: Callable[[], T], native: str) -> T:
        """A query Zendesk refuses is bad configuration, said in one line."""
        try:
            return call()
        except BadQuery as exc:
            given = f" with the filter {native!r}" if native else ""
            raise ConfigError(
                [
                    f"{self.name}: Zendesk refused the backlog search{given} "
                    f"({exc.status}): {_one_line(exc.reason)}"
                ]
            ) from exc

    def _native_terms(self, native: str | None) -> str:
        text = " ".join((native or "").split())
        reserved = RESERVED.search(text)
        if reserved:
            raise ConfigError(
                [
                    f"{self.name}: the backlog filter {text!r} names {reserved.group(1)}: the "
                    "backlog sets the type (tickets) and the order (oldest created first) itself"
                ]
            )
        return text

    def _resume(self, cursor: str, fingerprint: str) -> Held:
        held: Held | None = None
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor.encode()))
            after = dt.datetime.fromisoformat(raw["after"])
            if raw["query"] == fingerprint and after.tzinfo is not None:
                held = Held(
                    after=after,
                    inside="handed" in raw,
                    export=raw.get("export"),
                    handed=frozenset(int(i) for i in raw.get("handed", ())),
                )
        except (ValueError, KeyError, TypeError, binascii.Error):
            held = None
        if held is None:
            raise ConfigError(
                [
                    f"{self.name}: the backlog cursor {cursor[:40]!r} is not one this query "
                    "returned: resume with the same query, or start without a cursor"
                ]
            )
        return held

    def _created(self, ticket: ZTicket) -> dt.datetime:
        if ticket.created_at is None:
            raise Permanent(self.name, f"search result {ticket.id} has no created_at")
        return ticket.created_at.astimezone(dt.UTC).replace(microsecond=0)

    def _natives(self, tickets: Sequence[ZTicket]) -> tuple[NativeTicket, ...]:
        return tuple(self._native(t) for t in tickets)

    # -- inspect ---------------------------------------------------------------------------

    def inspect(self) -> Sequence[Finding]:
        return [*self._status_findings(), *self._field_findings(), *self._webhook_findings()]

    def _status_findings(self) -> list[Finding]:
        """The mapping must cover every status a ticket can hold here, and name no other."""
        source = self._mapping.source
        live = self.live_statuses()
        named = self._mapping.status.natives()
        findings = [
            Finding(
                severity=Severity.ERROR,
                subject=f"status {status!r}",
                message=f"the mapping {source} names the status {status!r}, which this Zendesk "
                "account does not have (or not as an active custom status): writing it fails",
            )
            for status in sorted(named - set(live))
        ]
        findings += [
            Finding(
                severity=Severity.ERROR,
                subject=f"status {status!r}",
                message=f"this Zendesk account has the status {status!r}, which the mapping "
                f"{source} does not name: tickets in it cannot be read and park",
            )
            for status in live
            if status not in named
        ]
        findings += [
            Finding(
                severity=Severity.ERROR,
                subject=f"priority {priority!r}",
                message=f"the mapping {source} names the priority {priority!r}; Zendesk has "
                f"only {', '.join(PRIORITIES)}",
            )
            for priority in sorted(self._mapping.priority.natives() - set(PRIORITIES))
        ]
        kinds = {*self._mapping.kinds, *self._mapping.kind_write.values()}
        findings += [
            Finding(
                severity=Severity.ERROR,
                subject=f"type {kind!r}",
                message=f"the mapping {source} names the ticket type {kind!r}; Zendesk has "
                f"only {', '.join(TICKET_TYPES)}",
            )
            for kind in sorted(kinds - set(TICKET_TYPES))
        ]
        return findings

    def _field_findings(self) -> list[Finding]:
        field_id = self.config.due_field_id
        if field_id is None:
            return []
        subject = f"due_field_id {field_id}"
        try:
            field = self.client.ticket_field(field_id)
        except NotFound:
            return [
                Finding(
                    severity=Severity.ERROR,
                    subject=subject,
                    message=f"this Zendesk account has no ticket field {field_id}: due dates of "
                    "tickets that are not tasks cannot sync",
                )
            ]
        if field.type != "date":
            problem = f"is a {field.type} field, not a date field"
        elif not field.active:
            problem = "is inactive"
        else:
            return []
        return [
            Finding(
                severity=Severity.ERROR,
                subject=subject,
                message=f"the ticket field {field_id} ({field.title!r}) {problem}: due dates of "
                "tickets that are not tasks cannot sync",
            )
        ]

    def _webhook_findings(self) -> list[Finding]:
        """An active webhook to the bridge, and, unless it subscribes to ticket events, an
        active trigger notifying it: without them changes arrive only by polling."""
        url = self.config.webhook_url
        hooks = [w for w in self.client.webhooks() if w.status == "active"]
        if url is not None:
            hooks = [w for w in hooks if _same_url(w.endpoint, url)]
        if not hooks:
            where = f"pointing at {url}" if url else "at all"
            return [
                Finding(
                    severity=Severity.WARNING,
                    subject="webhook",
                    message=f"this Zendesk account has no active webhook {where}: changes "
                    "arrive only when the change feed is polled",
                )
            ]
        if any(_on_ticket_events(w) for w in hooks):
            return []
        called = set().union(*(t.notifies() for t in self.client.triggers()))
        if any(w.id in called for w in hooks):
            return []
        names = ", ".join(f"{w.name or w.id} ({w.id})" for w in hooks)
        return [
            Finding(
                severity=Severity.WARNING,
                subject="trigger",
                message=f"no active trigger notifies the webhook {names}: add a trigger "
                '"Ticket is Created or Updated" with the action "Notify active webhook" and '
                "the bridge's body; until then changes arrive only by polling",
            )
        ]

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
        self, ticket_id: str, patch: Mapping[Field, Json], *, seen: NativeTicket | None = None
    ) -> NativeTicket:
        """A safe update guards ``seen``; a due date needs the ticket's type, which ``seen`` has
        (a type changed since fails the guard).

        Zendesk's guard is the stamp, which a comment moves too: a 409 from a ticket that still
        holds what ``seen`` held (its fields and type) is written again once, guarded by the
        stamp that read found. Anything else that moved is the caller's ``Conflict``.
        """
        ref = f"{self.name}:{ticket_id}"
        kind: str | None = None
        if Field.DUE in patch:
            if seen is not None:
                kind = seen.kind if isinstance(seen.kind, str) else None
            else:
                kind = self.client.ticket(ticket_id).type
        body: dict[str, Any] = self._writes(patch, kind=kind, ref=ref)
        try:
            if seen is None:
                result = self.client.update(ticket_id, body)
            else:
                result = self._guarded(ticket_id, body, seen, typed=Field.DUE in patch)
        except ClosedTicket:
            result = self._follow_up(ticket_id, self._writes(patch, kind=kind, ref=ref), None)
        return self._native(result.ticket)

    def _guarded(
        self, ticket_id: str, body: dict[str, Any], seen: NativeTicket, *, typed: bool
    ) -> UpdateBody:
        """``body`` as a safe update guarded by ``seen``; ``typed``: its due date was written for
        the type ``seen`` has."""
        try:
            return self.client.update(ticket_id, body | _safe(seen.updated_at))
        except Conflict:
            current = self.read(ticket_id)
            moved = [str(f) for f in current.moved_since(seen)]
            if typed and current.kind != seen.kind:
                moved.append("type")
            if moved:
                raise Conflict(
                    self.name,
                    f"{', '.join(moved)} changed since {seen.updated_at.isoformat()}",
                    ref=f"{self.name}:{ticket_id}",
                ) from None
        return self.client.update(ticket_id, body | _safe(current.updated_at))

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

    def identify(self) -> str | None:
        """The bridge's own user id: a delivery whose actor it is reports only our own write."""
        if self._identity is None:
            self._identity = str(self.client.me().id)
        return self._identity

    def recognise(self, account: str) -> None:
        self._identity = account

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[Hint]:
        return webhooks.parse(
            self.name,
            self.config.webhook_secret,
            headers,
            body,
            clock=self.clock,
            identity=self._identity,
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


def _whole_second_up(at: dt.datetime | None) -> dt.datetime | None:
    """Zendesk keeps whole seconds: a bound inside a second excludes the tickets stamped with it."""
    if at is None:
        return None
    at = at.astimezone(dt.UTC)
    whole = at.replace(microsecond=0)
    return whole if whole == at else whole + SECOND


def _search(
    start: dt.datetime | None, until: dt.datetime | None, native: str, *, typed: bool
) -> str:
    terms = ["type:ticket"] if typed else []
    if start is not None:
        terms.append(f"created>={zendesk_stamp(start)}")
    if until is not None:
        terms.append(f"created<{zendesk_stamp(until)}")
    if native:
        terms.append(native)
    return " ".join(terms)


def _fingerprint(start: dt.datetime | None, until: dt.datetime | None, native: str) -> str:
    text = _search(start, until, native, typed=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Held:
    """Where a backlog walk stands: tickets created from ``after`` on; ``inside`` that second,
    through its export (``export`` its cursor, ``handed`` the ids given out of it so far)."""

    after: dt.datetime
    inside: bool = False
    export: str | None = None
    handed: frozenset[int] = frozenset()


def _cursor(held: Held, fingerprint: str) -> str:
    raw: dict[str, Any] = {
        "after": zendesk_stamp(held.after).replace("Z", "+00:00"),
        "query": fingerprint,
    }
    if held.inside:
        raw |= {"export": held.export, "handed": sorted(held.handed)}
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _same_url(left: str, right: str) -> bool:
    return left.rstrip("/") == right.rstrip("/")


def _on_ticket_events(webhook: ZWebhook) -> bool:
    return any(s.startswith(webhooks.TICKET_EVENT_PREFIX) for s in webhook.subscriptions)


def _safe(stamp: dt.datetime) -> dict[str, Any]:
    """The keys of a safe update: refused (409) when the ticket's stamp is not ``stamp``."""
    return {"safe_update": True, "updated_stamp": zendesk_stamp(stamp)}
