"""The Adapter Protocol over ClickUp API v2.

Native values are what the API gives: the status name, the priority name, the due date as
``{"due_date": ms, "due_date_time": bool}`` (plus ``setter_zone`` when it was set in another
zone than the Workspace's), the first assignee's email. The correlation key lives in a short-text
custom field when one is configured, else in a tag.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from pydantic import ValidationError

from ticket_bridge.adapters.clickup import webhooks
from ticket_bridge.adapters.clickup.client import COMMENTS_PAGE, ClickUpClient
from ticket_bridge.adapters.clickup.config import ClickUpConfig
from ticket_bridge.adapters.clickup.payloads import Comment, ListInfo, Task, User, Webhook
from ticket_bridge.adapters.clickup.translate import (
    PRIORITY_NUMBERS,
    SETTER_ZONE,
    ClickUpDue,
    ClickUpTranslation,
    date_instant,
)
from ticket_bridge.adapters.pacing import RequestBudget
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
from ticket_bridge.bridge.model import Field, Frozen, Json, Person, Status, Visibility

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LIST_ID = re.compile(r"[0-9]+")
TASK_EVENTS = (
    "taskCreated",
    "taskUpdated",
    "taskDeleted",
    "taskPriorityUpdated",
    "taskStatusUpdated",
    "taskAssigneeUpdated",
    "taskDueDateUpdated",
    "taskTagUpdated",
    "taskMoved",
    "taskCommentPosted",
    "taskCommentUpdated",
)
"""What the bridge's webhook subscribes to: every change to a task or its comments."""
TEXT_FIELDS = frozenset({"short_text", "text"})


def _at(ms: str | int) -> dt.datetime:
    return _EPOCH + dt.timedelta(milliseconds=int(ms))


def _ms_ceil(at: dt.datetime) -> int:
    """The first whole millisecond at or after ``at``: ClickUp stamps are whole milliseconds."""
    return -(-(at - _EPOCH) // dt.timedelta(milliseconds=1))


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/") == b.strip().rstrip("/")


class _BacklogCursor(Frozen):
    """Where a backlog stands: the created stamp of the last task handed out, the ids handed out
    at that stamp (the next query starts at it again, so a task sharing it is not lost), and the
    page within that query (only past 0 when a whole page shared one stamp)."""

    after: int
    seen: tuple[str, ...] = ()
    page: int = 0


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
        self._identity: str | None = None

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

    def identify(self) -> str | None:
        """The token's own user id, asked once: a token never changes whom it acts as."""
        with self._lock:
            known = self._identity
        if known is not None:
            return known
        found = str(self.client.authorized_user().user.id)
        with self._lock:
            self._identity = found
        return found

    def recognise(self, account: str) -> None:
        with self._lock:
            self._identity = account

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
        stamps: dict[str, dt.datetime] = {}
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
                updated = _at(task.date_updated)
                stamps[task.id] = max(updated, stamps.get(task.id, updated))
                newest = max(newest, int(task.date_updated))
            if found.last_page or not found.tasks:
                break
            page += 1
        return Changes(ids=tuple(stamps), cursor=str(newest), stamps=stamps)

    # -- backlog -----------------------------------------------------------------------------

    def _backlog_lists(self, native: str | None) -> tuple[str, ...]:
        if native is None:
            return (self.config.list_id,)
        parts = tuple(part.strip() for part in native.split(","))
        bad = [part for part in parts if not _LIST_ID.fullmatch(part)]
        if bad:
            raise ConfigError(
                [
                    f"{self.name}: backlog filter {native!r} is not a ClickUp List id or a "
                    f"comma-separated list of them ({bad[0]!r} is not; a List id is the number "
                    "in the List's URL)"
                ]
            )
        return parts

    def _visible(self, list_id: str) -> ListInfo:
        """A List the token cannot see would list no tasks at all: say so instead."""
        try:
            return self.client.list_info(list_id)
        except Permanent as exc:
            why = str(exc).removeprefix(f"{self.name}: ")
            raise ConfigError(
                [f"{self.name}: backlog List {list_id} cannot be read with this token: {why}"]
            ) from exc

    def _backlog_cursor(self, cursor: str) -> _BacklogCursor:
        try:
            return _BacklogCursor.model_validate_json(cursor)
        except ValidationError as exc:
            raise Permanent(
                self.name, f"backlog cursor {cursor[:60]!r} was not written by this adapter"
            ) from exc

    def backlog(self, query: BacklogQuery, cursor: str | None) -> BacklogPage:
        """Oldest created first, one API page (100 tasks) per call.

        ``Get Filtered Team Tasks`` pages by number, which shifts under new tasks when the order
        is newest first; so this asks for oldest first and starts each call again from the last
        created stamp handed out (``date_created_gt`` one ms before it), leaving out the ids it
        already handed out at that stamp. New tasks land after the cursor.
        """
        lists = self._backlog_lists(query.native)
        at = None if cursor is None else self._backlog_cursor(cursor)
        if at is None:
            for list_id in lists:
                self._visible(list_id)
        self._statuses()
        gt = None if query.created_from is None else _ms_ceil(query.created_from) - 1
        if at is not None:
            gt = at.after - 1 if gt is None else max(gt, at.after - 1)
        params: dict[str, str | list[str]] = {
            "order_by": "created",
            "reverse": "true",
            "include_closed": "true",
            "subtasks": "true",
            "include_markdown_description": "true",
            "list_ids[]": list(lists),
            "page": str(0 if at is None else at.page),
        }
        if gt is not None:
            params["date_created_gt"] = str(gt)
        if query.created_until is not None:
            params["date_created_lt"] = str(_ms_ceil(query.created_until))
        found = self.client.team_tasks(self.config.team_id, params)
        stamps: list[int] = []
        for task in found.tasks:
            if task.date_created is None:
                raise Permanent(self.name, f"task {task.id} was listed without date_created")
            stamps.append(int(task.date_created))
        if stamps != sorted(stamps):
            raise Permanent(
                self.name, "tasks listed with reverse=true are not oldest first: cannot page"
            )
        seen = set() if at is None else set(at.seen)
        fresh = [t for t in found.tasks if t.id not in seen]
        following: _BacklogCursor | None = None
        if found.tasks and not found.last_page:
            last = stamps[-1]
            at_last = tuple(t.id for t, c in zip(found.tasks, stamps, strict=True) if c == last)
            if at is not None and last == at.after:
                # A whole page shared one stamp: the next page of the same query.
                following = _BacklogCursor(
                    after=last,
                    seen=tuple(dict.fromkeys((*at.seen, *at_last))),
                    page=at.page + 1,
                )
            else:
                following = _BacklogCursor(after=last, seen=at_last)
        return BacklogPage(
            tickets=tuple(self._native(t) for t in fresh),
            cursor=None if following is None else following.model_dump_json(),
            total=None,
        )

    # -- inspect -----------------------------------------------------------------------------

    def inspect(self) -> Sequence[Finding]:
        """The List's statuses and the key field against the mapping, and the webhook.

        Only what a person must fix is reported; a tracker that cannot be reached at all
        (timeouts, 5xx, 429) raises instead, since nothing could be checked.
        """
        findings: list[Finding] = []
        info: ListInfo | None = None
        list_id = self.config.list_id
        try:
            info = self.client.list_info(list_id)
        except Permanent as exc:
            findings.append(
                Finding(
                    severity=Severity.ERROR,
                    subject=f"list {list_id}",
                    message=f"cannot be read: {str(exc).removeprefix(f'{self.name}: ')}",
                )
            )
        if info is not None:
            findings += self._status_findings(info)
        findings += self._priority_findings()
        findings += self._field_findings()
        findings += self._webhook_findings(info)
        return findings

    def _status_findings(self, info: ListInfo) -> list[Finding]:
        mapping = self._translation.mapping
        fallback = self.config.status_fallback
        names = {s.status.casefold(): s.status for s in info.statuses}
        types: dict[str, str] = {}  # each type's first status, where a write by type lands
        for listed in sorted(info.statuses, key=lambda s: s.orderindex):
            types.setdefault(listed.type, listed.status)
        writes: dict[str, list[Status]] = {}
        for status in Status:
            native = mapping.status.to_native(status, None)
            if native is not None and native.casefold() not in names:
                writes.setdefault(native, []).append(status)
        findings: list[Finding] = []
        where = f"List {info.name!r} ({info.id})"
        for native, statuses in writes.items():
            lost = [s for s in statuses if fallback.write[s].value not in types]
            subject = f"list {info.id} status {native!r}"
            if lost:
                needed = sorted({fallback.write[s].value for s in lost})
                findings.append(
                    Finding(
                        severity=Severity.ERROR,
                        subject=subject,
                        message=(
                            f"{where} has no status {native!r} and none of type "
                            f"{' or '.join(needed)} to write {', '.join(s.value for s in lost)}: "
                            f"add the status, or map them in {mapping.source}"
                        ),
                    )
                )
            else:
                stand_ins = ", ".join(
                    f"{s.value} as {types[fallback.write[s].value]!r}" for s in statuses
                )
                findings.append(
                    Finding(
                        severity=Severity.WARNING,
                        subject=subject,
                        message=(
                            f"{where} has no status {native!r}: written by status type instead "
                            f"({stand_ins}); add it, or map to the List's names in "
                            f"{mapping.source}"
                        ),
                    )
                )
        return findings

    def _priority_findings(self) -> list[Finding]:
        mapping = self._translation.mapping
        return [
            Finding(
                severity=Severity.ERROR,
                subject=f"priority {name!r}",
                message=(
                    f"{mapping.source} maps priority {name!r}, which ClickUp does not have: its "
                    f"priorities are fixed ({', '.join(PRIORITY_NUMBERS)})"
                ),
            )
            for name in mapping.priority.represents
            if name not in PRIORITY_NUMBERS
        ]

    def _field_findings(self) -> list[Finding]:
        field_id = self.config.correlation_field_id
        if field_id is None:
            return []  # the key is a tag, which ClickUp creates on first use
        subject = f"custom field {field_id}"
        try:
            fields = self.client.list_fields(self.config.list_id).fields
        except Permanent as exc:
            why = str(exc).removeprefix(f"{self.name}: ")
            return [Finding(severity=Severity.ERROR, subject=subject, message=f"unreadable: {why}")]
        found = next((f for f in fields if f.id == field_id), None)
        if found is None:
            message = (
                f"List {self.config.list_id} has no custom field {field_id} "
                "(correlation_field_id): creating a task with its key fails; add a short text "
                "field there, or unset correlation_field_id to keep the key in a tag"
            )
            return [Finding(severity=Severity.ERROR, subject=subject, message=message)]
        if found.type not in TEXT_FIELDS:
            message = (
                f"custom field {found.name!r} is of type {found.type!r}: the correlation key "
                "needs a short text field"
            )
            return [Finding(severity=Severity.ERROR, subject=subject, message=message)]
        return []

    def _covers(self, hook: Webhook, info: ListInfo | None) -> bool:
        """ClickUp applies a webhook's most specific location; the List must be inside it."""
        if hook.task_id:
            return False
        if hook.list_id is not None:
            return str(hook.list_id) == self.config.list_id
        if info is None:
            return True
        if hook.folder_id is not None:
            return info.folder is not None and str(hook.folder_id) == info.folder.id
        if hook.space_id is not None:
            return info.space is not None and str(hook.space_id) == info.space.id
        return True

    def _signed_for_us(self, hook: Webhook) -> bool:
        secret = self.config.webhook_secret
        return secret is not None and hmac.compare_digest(
            hook.secret.get_secret_value().encode(), secret.get_secret_value().encode()
        )

    def _hook_problems(self, hook: Webhook, info: ListInfo | None) -> list[str]:
        problems: list[str] = []
        if self.config.webhook_url is not None and not self._signed_for_us(hook):
            problems.append("signs with another secret than webhook_secret: deliveries are refused")
        if not self._covers(hook, info):
            problems.append(f"does not watch List {self.config.list_id}")
        if "*" not in hook.events:
            missing = [e for e in TASK_EVENTS if e not in hook.events]
            if missing:
                problems.append(f"lacks the events {', '.join(missing)}")
        if hook.health is not None and hook.health.status != "active":
            problems.append(
                f"is {hook.health.status} after {hook.health.fail_count} failed deliveries "
                "(ClickUp drops what it cannot deliver and never replays it)"
            )
        return problems

    def _webhook_findings(self, info: ListInfo | None) -> list[Finding]:
        """Without a webhook the bridge polls, so every webhook problem is a warning."""
        if self.config.webhook_secret is None:
            message = "no webhook_secret: every delivery is refused; changes arrive by polling"
            return [Finding(severity=Severity.WARNING, subject="webhook", message=message)]
        try:
            hooks = self.client.webhooks(self.config.team_id).webhooks
        except Permanent as exc:
            why = str(exc).removeprefix(f"{self.name}: ")
            message = f"webhooks cannot be listed: {why}"
            return [Finding(severity=Severity.WARNING, subject="webhook", message=message)]
        url = self.config.webhook_url
        ours = [
            h
            for h in hooks
            if (_same_url(h.endpoint, url) if url is not None else self._signed_for_us(h))
        ]
        if not ours:
            to = f"posts to {url}" if url is not None else "is signed with webhook_secret"
            message = (
                f"no webhook of Workspace {self.config.team_id} {to}: changes arrive by "
                "polling only; register one"
            )
            return [Finding(severity=Severity.WARNING, subject="webhook", message=message)]
        problems = {h.id: self._hook_problems(h, info) for h in ours}
        if any(not p for p in problems.values()):
            return []
        return [
            Finding(
                severity=Severity.WARNING,
                subject=f"webhook {hook_id}",
                message=f"the webhook to {url or 'the bridge'} {'; '.join(p)}",
            )
            for hook_id, p in problems.items()
        ]

    # -- webhook registration -----------------------------------------------------------------

    def _hook_at(self, url: str) -> Webhook | None:
        hooks = self.client.webhooks(self.config.team_id).webhooks
        return next((h for h in hooks if _same_url(h.endpoint, url)), None)

    def register_webhook(self, url: str) -> str:
        """Have ClickUp post the List's task events to ``url``; returns the secret to configure.

        A webhook already posting to ``url`` is kept (ClickUp refuses a second one): its secret
        is returned. The secret is for the admin's config only, never for a log or an error.
        """
        existing = self._hook_at(url)
        if existing is not None:
            return existing.secret.get_secret_value()
        if not _LIST_ID.fullmatch(self.config.list_id):
            raise ConfigError([f"{self.name}: list_id {self.config.list_id!r} is not a List id"])
        body = {"endpoint": url, "events": list(TASK_EVENTS), "list_id": int(self.config.list_id)}
        try:
            created = self.client.create_webhook(self.config.team_id, body)
        except Permanent as exc:
            raced = self._hook_at(url) if "already exists" in str(exc) else None
            if raced is None:
                raise
            return raced.secret.get_secret_value()
        return created.webhook.secret.get_secret_value()

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
        self, ticket_id: str, patch: Mapping[Field, Json], *, seen: NativeTicket | None = None
    ) -> NativeTicket:
        """ClickUp has no conditional write: ``seen`` is checked against a read just before
        (its fields, not ``date_updated``, which a comment may move). The PUT answers with the
        task, which is the read after it when it holds the markdown."""
        self._statuses()
        before = self.client.task(ticket_id)
        if seen is not None and (moved := self._native(before).moved_since(seen)):
            raise Conflict(
                self.name,
                f"{', '.join(moved)} changed since {seen.updated_at.isoformat()}",
                ref=f"{self.name}:{ticket_id}",
            )
        body = self._body(patch, before)
        if body:
            after = self.client.update_task(ticket_id, body)
            if after is not None:
                return self._native(after)
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
        with self._lock:
            identity = self._identity
        return webhooks.parse(
            self.name, self.config.webhook_secret, headers, body, identity=identity
        )
