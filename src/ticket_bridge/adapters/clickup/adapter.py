"""The Adapter Protocol over ClickUp API v2.

Native values are what the API gives: the status name, the priority name, the due date as
``{"due_date": ms, "due_date_time": bool}`` (plus ``setter_zone`` when it was set in another
zone than the Workspace's), the first assignee's email. The correlation key lives in a short-text
custom field when one is configured, else in a tag.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from ticket_bridge.adapters.clickup import webhooks
from ticket_bridge.adapters.clickup.client import COMMENTS_PAGE, ClickUpClient
from ticket_bridge.adapters.clickup.config import ClickUpConfig
from ticket_bridge.adapters.clickup.payloads import Comment, Task, User
from ticket_bridge.adapters.clickup.translate import (
    PRIORITY_NUMBERS,
    SETTER_ZONE,
    ClickUpDue,
    ClickUpTranslation,
    date_instant,
)
from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.bridge import comments
from ticket_bridge.bridge.adapter import Changes, Draft, Hint, Mirror, NativeComment, NativeTicket
from ticket_bridge.bridge.errors import Conflict, NotFound, ParkLink, Permanent
from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.model import Field, Json, Person, Visibility

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _at(ms: str | int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=int(ms))


class ClickUpAdapter:
    def __init__(
        self,
        name: str,
        config: ClickUpConfig,
        mapping: TrackerMapping,
        *,
        session: requests.Session | None = None,
        budget: RequestBudget | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._name = name
        self.config = config
        self.client = ClickUpClient(name, config, session=session, budget=budget, wall=wall)
        self._translation = ClickUpTranslation(
            name, mapping, ClickUpDue(config.zoneinfo), config.status_fallback
        )
        self._lock = threading.Lock()
        self._list_read = False
        self._members: tuple[User, ...] | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def customer_facing(self) -> bool:
        return self.config.customer_facing

    @property
    def internal_comments(self) -> bool:
        """ClickUp has no internal comments: internal ones carry a visible prefix instead."""
        return False

    @property
    def translation(self) -> ClickUpTranslation:
        self._statuses()
        return self._translation

    @property
    def fields(self) -> frozenset[Field]:
        return frozenset(Field)

    # -- what the adapter learns once ------------------------------------------------------

    def _statuses(self) -> None:
        """Read the List's statuses once: they decide which names a write may use."""
        with self._lock:
            if self._list_read:
                return
        info = self.client.list_info(self.config.list_id)
        self._translation.learn_list(info.statuses)
        with self._lock:
            self._list_read = True

    def members(self, *, fresh: bool = False) -> tuple[User, ...]:
        with self._lock:
            cached = self._members
        if cached is not None and not fresh:
            return cached
        teams = self.client.teams().teams
        team = next((t for t in teams if t.id == self.config.team_id), None)
        if team is None:
            raise Permanent(
                self.name,
                f"the token has no access to Workspace {self.config.team_id}: check team_id",
            )
        found = tuple(m.user for m in team.members)
        with self._lock:
            self._members = found
        return found

    def _member_id(self, email: str) -> int:
        for fresh in (False, True):
            for user in self.members(fresh=fresh):
                if user.email and user.email.casefold() == email.casefold():
                    return user.id
        raise ParkLink(
            f"{self.name}: no member of Workspace {self.config.team_id} has the email {email!r}: "
            "invite them or map the assignee"
        )

    # -- reading ---------------------------------------------------------------------------

    def _zone_of(self, user: User | None) -> ZoneInfo | None:
        if user is None or not user.timezone:
            return None
        try:
            return ZoneInfo(user.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return None

    def _due(self, task: Task) -> Json:
        """The due date, with the zone it was set in when that is not the Workspace's.

        Date-only values sit at 04:00 in the setter's zone, and the API does not say who set
        them. The zone is the first in which the instant is 04:00: the Workspace's, then the
        task creator's, then each member's. Bridge-written dates always match the first.
        """
        if task.due_date is None or task.due_date == "":
            return None
        ms = int(task.due_date)
        if task.due_date_time:
            return {"due_date": ms, "due_date_time": True}
        at = _at(ms)
        workspace = self.config.zoneinfo

        def four_am(zone: ZoneInfo) -> bool:
            return date_instant(at.astimezone(zone).date(), zone) == at

        if four_am(workspace):
            return {"due_date": ms, "due_date_time": False}
        members = self.members()
        creator = next((m for m in members if task.creator and m.id == task.creator.id), None)
        for user in (creator, *members):
            zone = self._zone_of(user)
            if zone is not None and four_am(zone):
                return {"due_date": ms, "due_date_time": False, SETTER_ZONE: zone.key}
        return {"due_date": ms, "due_date_time": task.due_date_time is None}

    def _key(self, task: Task) -> str | None:
        if self.config.correlation_field_id is not None:
            for custom in task.custom_fields:
                if custom.id == self.config.correlation_field_id and isinstance(custom.value, str):
                    return custom.value or None
            return None
        prefix = self.config.correlation_tag_prefix
        return next((t.name[len(prefix) :] for t in task.tags if t.name.startswith(prefix)), None)

    def _native(self, task: Task) -> NativeTicket:
        self._translation.learn(task.status)
        description = task.markdown_description
        if description is None:
            description = task.description or ""
        return NativeTicket(
            id=task.id,
            fields={
                Field.TITLE: task.name,
                Field.DESCRIPTION: description,
                Field.STATUS: task.status.status,
                Field.PRIORITY: task.priority.priority if task.priority else None,
                Field.DUE: self._due(task),
                Field.ASSIGNEE: next((a.email for a in task.assignees if a.email), None),
            },
            kind=None,
            updated_at=_at(task.date_updated),
            correlation_key=self._key(task),
        )

    def read(self, ticket_id: str) -> NativeTicket:
        self._statuses()
        return self._native(self.client.task(ticket_id))

    def changes(self, cursor: str | None) -> Changes:
        """Tasks of the List updated after ``cursor`` minus the overlap, every page, deduped."""
        since = int(cursor) if cursor else self.config.backfill_since_ms
        after = max(0, since - int(self.config.overlap_seconds * 1000))
        newest = since
        ids: dict[str, None] = {}
        page = 0
        while True:
            found = self.client.team_tasks(
                self.config.team_id,
                {
                    "date_updated_gt": str(after),
                    "include_closed": "true",
                    "subtasks": "true",
                    "order_by": "updated",
                    "list_ids[]": [self.config.list_id],
                    "page": str(page),
                },
            )
            for task in found.tasks:
                ids.setdefault(task.id)
                newest = max(newest, int(task.date_updated))
            if found.last_page or not found.tasks:
                break
            page += 1
        return Changes(ids=tuple(ids), cursor=str(newest))

    def find(self, correlation_key: str) -> NativeTicket | None:
        params: dict[str, str | list[str]] = {
            "include_closed": "true",
            "subtasks": "true",
            "include_markdown_description": "true",
        }
        if self.config.correlation_field_id is not None:
            params["custom_fields"] = [
                json.dumps(
                    [
                        {
                            "field_id": self.config.correlation_field_id,
                            "operator": "=",
                            "value": correlation_key,
                        }
                    ]
                )
            ]
        else:
            params["tags[]"] = [self.config.correlation_tag_prefix + correlation_key]
        self._statuses()
        page = 0
        while True:
            found = self.client.team_tasks(self.config.team_id, {**params, "page": str(page)})
            for task in found.tasks:
                if self._key(task) == correlation_key:
                    return self._native(task)
            if found.last_page or not found.tasks:
                return None
            page += 1

    # -- writing ---------------------------------------------------------------------------

    def _body(self, patch: Mapping[Field, Json], before: Task | None) -> dict[str, Json]:
        body: dict[str, Json] = {}
        for field, value in patch.items():
            match field:
                case Field.TITLE:
                    body["name"] = str(value or "")
                case Field.DESCRIPTION:
                    body["markdown_content"] = str(value) if value else " "
                case Field.STATUS:
                    body["status"] = value
                case Field.PRIORITY:
                    if value is not None and value not in PRIORITY_NUMBERS:
                        raise Permanent(self.name, f"priority {value!r} is not a ClickUp priority")
                    body["priority"] = None if value is None else PRIORITY_NUMBERS[str(value)]
                case Field.DUE:
                    if value is None:
                        body["due_date"] = None
                    elif isinstance(value, dict):
                        body["due_date"] = int(str(value["due_date"]))
                        body["due_date_time"] = bool(value.get("due_date_time"))
                case Field.ASSIGNEE:
                    add: list[Json] = [] if not value else [self._member_id(str(value))]
                    if before is None:
                        body["assignees"] = add
                    else:
                        rem: list[Json] = [a.id for a in before.assignees if a.id not in add]
                        body["assignees"] = {"add": add, "rem": rem}
        return body

    def create(self, draft: Draft) -> NativeTicket:
        existing = self.find(draft.correlation_key)
        if existing is not None:
            return existing
        fields = dict(draft.fields)
        fields.setdefault(Field.TITLE, "(untitled)")
        body = self._body(fields, None)
        body = {k: v for k, v in body.items() if v is not None}
        if body.get("markdown_content") == " ":
            del body["markdown_content"]
        body["notify_all"] = self.config.notify_all
        if self.config.correlation_field_id is not None:
            body["custom_fields"] = [
                {"id": self.config.correlation_field_id, "value": draft.correlation_key}
            ]
        else:
            body["tags"] = [self.config.correlation_tag_prefix + draft.correlation_key]
        created = self.client.create_task(self.config.list_id, body)
        return self.read(created.id)

    def update(
        self, ticket_id: str, patch: Mapping[Field, Json], *, since: dt.datetime | None = None
    ) -> NativeTicket:
        """ClickUp has no conditional write: ``since`` is checked against a read just before."""
        self._statuses()
        before = self.client.task(ticket_id)
        if since is not None and _at(before.date_updated) != since:
            raise Conflict(
                self.name,
                f"changed at {_at(before.date_updated).isoformat()} after {since.isoformat()}",
                ref=f"{self.name}:{ticket_id}",
            )
        body = self._body(patch, before)
        if body:
            self.client.update_task(ticket_id, body)
        return self.read(ticket_id)

    # -- comments --------------------------------------------------------------------------

    def _comment(self, comment: Comment) -> NativeComment:
        body, visibility = comments.read_internal(comment.comment_text, self.config.internal_prefix)
        return NativeComment(
            id=comment.id,
            author=Person(
                name=comment.user.username or str(comment.user.id), email=comment.user.email
            ),
            body=comments.strip_marker(body),
            visibility=visibility,
            created_at=_at(comment.date),
            mirror_of=comments.mirror_of(body),
        )

    def _all_comments(self, ticket_id: str) -> list[Comment]:
        """Newest first, 25 a page; the next page starts after the oldest comment seen."""
        seen: dict[str, Comment] = {}
        start: str | None = None
        start_id: str | None = None
        while True:
            page = self.client.comments(ticket_id, start=start, start_id=start_id).comments
            fresh = [c for c in page if c.id not in seen]
            seen.update((c.id, c) for c in fresh)
            if len(page) < COMMENTS_PAGE or not fresh:
                break
            start, start_id = page[-1].date, page[-1].id
        return sorted(
            seen.values(), key=lambda c: (int(c.date), int(c.id) if c.id.isdigit() else 0)
        )

    def comments(self, ticket_id: str) -> Sequence[NativeComment]:
        return [self._comment(c) for c in self._all_comments(ticket_id)]

    def _render(self, mirror: Mirror) -> str:
        body = comments.render(mirror.comment)
        if mirror.visibility is Visibility.INTERNAL:
            body = comments.mark_internal(body, self.config.internal_prefix)
        return body

    def add_comment(self, ticket_id: str, mirror: Mirror) -> NativeComment:
        text = self._render(mirror)
        created = self.client.create_comment(ticket_id, text, notify_all=self.config.notify_all)
        body, visibility = comments.read_internal(text, self.config.internal_prefix)
        return NativeComment(
            id=created.id,
            author=Person(name=self.name),
            body=comments.strip_marker(body),
            visibility=visibility,
            created_at=_at(created.date),
            mirror_of=comments.mirror_of(body),
        )

    def update_comment(self, ticket_id: str, comment_id: str, mirror: Mirror) -> NativeComment:
        self.client.update_comment(ticket_id, comment_id, self._render(mirror))
        for comment in self._all_comments(ticket_id):
            if comment.id == comment_id:
                return self._comment(comment)
        raise NotFound(
            self.name, "comment gone after its update", ref=f"{self.name}:{ticket_id}/{comment_id}"
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[Hint]:
        return webhooks.parse(self.name, self.config.webhook_secret, headers, body)
