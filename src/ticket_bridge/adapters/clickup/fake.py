"""A fake ClickUp (API v2 under ``/api``): one Workspace, its spaces, Lists with custom statuses,
tasks, comments, tags, custom fields, members, rate limits and signed thin webhooks.

It keeps ClickUp's semantics for every endpoint the adapter uses: timestamps are ms-epoch
strings, statuses are per List and set by name (case-insensitive), priority is written as 1-4 and
read as a name, date-only due dates sit at 04:00 in the setter's zone, comments come newest first
25 a page (older pages by ``start``/``start_id``), team task queries leave out closed tasks unless
``include_closed=true``, filter by List and by created/updated stamps (strictly), order by
created, updated or id newest first unless ``reverse=true``, and page by 100 (``page_size``) with
``last_page``, and 429s carry ``X-RateLimit-Reset`` (unix seconds) and no ``Retry-After``.
Webhooks are registered per Workspace with events and one location, each with its own secret;
a second one to the same endpoint and location is refused; an event is posted up to 5 times,
then dropped and counted in ``health.fail_count`` (``failing``; 100 or an HTTP 410 suspend it).
Errors are ``{"err", "ECODE"}``. Not verified against a live tenant: whether posting a comment
moves the task's ``date_updated`` (this fake says it does unless ``comments_move_date_updated``
is off), the ECODE values, the order of tasks
sharing a stamp, and whether a success resets ``fail_count`` (this fake says it does).

People (tests, ``ticket-bridge sandbox``) act through ``open_task``/``edit_task``/``comment``/
``set_due_date``, as ``person`` unless ``by`` names another member; the adapter goes through HTTP,
as the member its token belongs to (``bot``, or whom ``personal_token`` was issued for). Every
change is attributed to whoever made it, in the ``user`` of its webhook history item, as ClickUp
does.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import queue
import re
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import requests
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ticket_bridge.adapters.clickup import webhooks
from ticket_bridge.adapters.clickup.translate import date_instant

PRIORITIES = {
    1: ("urgent", "#f50000"),
    2: ("high", "#ffcc00"),
    3: ("normal", "#6fddff"),
    4: ("low", "#d8d8d8"),
}
SEED000_STATUSES = (
    ("open", "open"),
    ("pending", "custom"),
    ("needs clarification", "custom"),
    ("planned", "custom"),
    ("in progress", "custom"),
    ("resolved", "done"),
)
"""Seed 000's support List, as ClickUp's API spells status names: lower case."""
COMMENTS_PAGE = 25
MARKS = re.compile(r"[*_`#>~]+")
TASKS_PAGE = 100
WINDOW = 60.0
WEBHOOK_EVENTS = frozenset(
    {
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
        "taskTimeEstimateUpdated",
        "taskTimeTrackedUpdated",
        "listCreated",
        "listUpdated",
        "listDeleted",
        "folderCreated",
        "folderUpdated",
        "folderDeleted",
        "spaceCreated",
        "spaceUpdated",
        "spaceDeleted",
        "goalCreated",
        "goalUpdated",
        "goalDeleted",
        "keyResultCreated",
        "keyResultUpdated",
        "keyResultDeleted",
    }
)
TRIES = 5
SUSPEND_AT = 100


class ApiProblem(Exception):
    def __init__(self, status: int, err: str, ecode: str) -> None:
        self.status = status
        self.err = err
        self.ecode = ecode
        super().__init__(err)


@dataclass
class FakeMember:
    id: int
    username: str
    email: str
    timezone: str

    def user(self) -> dict[str, Any]:
        initials = "".join(part[0] for part in self.username.split()[:2]).upper()
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "color": "#7b68ee",
            "initials": initials,
            "profilePicture": f"https://attachments.example/{self.id}.png",
            "timezone": self.timezone,
        }


@dataclass
class FakeStatus:
    id: str
    status: str
    type: str
    orderindex: int
    color: str = "#d3d3d3"

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "color": self.color,
            "orderindex": self.orderindex,
            "type": self.type,
        }


@dataclass
class FakeField:
    id: str
    name: str
    type: str = "short_text"

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "type_config": {},
            "date_created": "1700000000000",
            "hide_from_guests": False,
        }


@dataclass
class FakeList:
    id: str
    name: str
    space_id: str
    folder_id: str
    statuses: list[FakeStatus]
    fields: dict[str, FakeField] = field(default_factory=dict)

    def status(self, name: str) -> FakeStatus | None:
        return next((s for s in self.statuses if s.status.casefold() == name.casefold()), None)


@dataclass
class FakeComment:
    id: int
    text: str
    user: int
    date: int


@dataclass
class FakeChange:
    """A task's latest change, as its webhook event reports it."""

    event: str
    field: str
    by: int


@dataclass
class FakeTask:
    id: str
    name: str
    list_id: str
    status: FakeStatus
    creator: int
    date_created: int
    date_updated: int
    last_change: FakeChange
    description: str = ""
    priority: int | None = None
    due_date: int | None = None
    due_date_time: bool = False
    assignees: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    comments: list[FakeComment] = field(default_factory=list)
    date_closed: int | None = None


@dataclass
class FakeWebhook:
    """One registered webhook: where it posts, what it watches, its secret and its health."""

    id: str
    endpoint: str
    events: list[str]
    secret: SecretStr
    userid: int
    task_id: str | None = None
    list_id: str | None = None
    folder_id: str | None = None
    space_id: str | None = None
    status: str = "active"
    fail_count: int = 0

    def location(self) -> tuple[str | None, str | None, str | None, str | None]:
        return (self.task_id, self.list_id, self.folder_id, self.space_id)

    def wants(self, event: str) -> bool:
        return "*" in self.events or event in self.events

    def json(self, team_id: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "userid": self.userid,
            "team_id": int(team_id),
            "endpoint": self.endpoint,
            "client_id": "TB0FAKE0CLIENT0ID0000000000000000",
            "events": list(self.events),
            "task_id": self.task_id,
            "list_id": self.list_id,
            "folder_id": self.folder_id,
            "space_id": self.space_id,
            "health": {"status": self.status, "fail_count": self.fail_count},
            "secret": self.secret.get_secret_value(),
        }


def _plain(markdown: str) -> str:
    """The description as ClickUp shows it without ``include_markdown_description``: the text
    with its markdown marks dropped."""
    return MARKS.sub("", markdown)


class FakeClickUp:
    """A stateful ClickUp Workspace; thread-safe; ``clock`` gives unix seconds."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        rate_limit: int | None = None,
        token: str | None = None,
        oauth_token: str | None = None,
        webhook_secret: str | None = None,
        page_size: int = TASKS_PAGE,
    ) -> None:
        """Credentials are random unless given: ``describe`` tells them. ``page_size``: tasks per
        page of a team task query (ClickUp's is 100), smaller to test paging cheaply."""
        self.clock = clock
        self.page_size = page_size
        self.rate_limit = rate_limit
        self.token = token or f"pk_{secrets.randbelow(10**8)}_{secrets.token_hex(16).upper()}"
        self.oauth_token = oauth_token
        self.webhook_secret = SecretStr(webhook_secret or secrets.token_urlsafe(24))
        self.team_id = "9015001"
        self.team_name = "Acme Support"
        self.requests = 0
        self.rejected = 0
        self.put_answers_markdown = True
        """Whether a task's PUT answers with ``markdown_description``, as the vendor's
        UpdateTaskresponse example does (the GET needs ``include_markdown_description``)."""
        self.comments_move_date_updated = True
        """Whether a new comment moves its task's ``date_updated``: undocumented, so switchable."""
        self._lock = threading.RLock()
        self._members: dict[int, FakeMember] = {}
        self._spaces: dict[str, str] = {}
        self._lists: dict[str, FakeList] = {}
        self._tasks: dict[str, FakeTask] = {}
        self._ids = itertools.count(1)
        self._comment_ids = itertools.count(90_000_001)
        self._history_ids = itertools.count(7_000_000_001)
        self._last_ms = 0
        self._window_start: float | None = None
        self._window_used = 0
        self._webhooks: dict[str, FakeWebhook] = {}
        self._outbox: queue.Queue[tuple[FakeWebhook, dict[str, str], bytes] | None] = queue.Queue()
        self._sender: threading.Thread | None = None
        self.bot = self.add_member("ticket-bridge", "bridge@example.com", "UTC")
        self.person = self.add_member("Robin Support", "robin@acme.example.com", "UTC")
        self._tokens: dict[str, int] = {}
        self.space_id = self.add_space("Support")
        self.list_id = self.add_list("Customer support", SEED000_STATUSES)
        self.correlation_field_id = self.add_custom_field(self.list_id, "ticket-bridge key")
        self._app = self._build_app()

    # -- what an admin sets up -------------------------------------------------------------

    def add_member(self, username: str, email: str, timezone: str) -> int:
        ZoneInfo(timezone)
        with self._lock:
            member_id = 100_000 + len(self._members) + 1
            self._members[member_id] = FakeMember(member_id, username, email, timezone)
            return member_id

    def personal_token(self, member_id: int) -> str:
        """A personal token of another member: the API acts as them with it."""
        with self._lock:
            if member_id not in self._members:
                raise KeyError(member_id)
            token = f"pk_{member_id}_{secrets.token_hex(16).upper()}"
            self._tokens[token] = member_id
            return token

    def add_space(self, name: str) -> str:
        with self._lock:
            space_id = str(90_100 + len(self._spaces) + 1)
            self._spaces[space_id] = name
            return space_id

    def add_list(
        self, name: str, statuses: Iterable[tuple[str, str]], *, space_id: str | None = None
    ) -> str:
        with self._lock:
            list_id = str(901_000 + len(self._lists) + 1)
            self._lists[list_id] = FakeList(
                id=list_id,
                name=name,
                space_id=space_id or self.space_id,
                folder_id=str(90_200 + len(self._lists) + 1),
                statuses=[
                    FakeStatus(id=f"sc{list_id}_{i}", status=n, type=t, orderindex=i)
                    for i, (n, t) in enumerate(statuses)
                ],
            )
            return list_id

    def add_custom_field(self, list_id: str, name: str, type: str = "short_text") -> str:
        with self._lock:
            lst = self._list(list_id)
            field_id = str(uuid.UUID(int=len(lst.fields) + 0xC1C0 + int(list_id)))
            lst.fields[field_id] = FakeField(field_id, name, type)
            return field_id

    def set_statuses(self, list_id: str, statuses: Iterable[tuple[str, str]]) -> None:
        """An admin edits a List's statuses; tasks keep theirs until moved (as in ClickUp)."""
        with self._lock:
            self._list(list_id).statuses = [
                FakeStatus(id=f"sc{list_id}_{i}", status=n, type=t, orderindex=i)
                for i, (n, t) in enumerate(statuses)
            ]

    def subscribe(self, url: str, secret: SecretStr | None = None) -> str:
        """An admin registers a Workspace webhook to ``url`` for every event, signed with
        ``secret`` (default: the ``webhook_secret`` that ``describe`` tells); returns its id."""
        with self._lock:
            return self._register(
                {"endpoint": url, "events": ["*"]}, secret or self.webhook_secret, self.bot
            ).id

    def webhook_ids(self) -> list[str]:
        with self._lock:
            return list(self._webhooks)

    def webhook(self, webhook_id: str) -> dict[str, Any]:
        """A webhook as ``GET /team/{id}/webhook`` shows it, health included."""
        with self._lock:
            return self._webhooks[webhook_id].json(self.team_id)

    def unhook(self, webhook_id: str) -> None:
        """An admin deletes a webhook."""
        with self._lock:
            del self._webhooks[webhook_id]

    def stop(self) -> None:
        with self._lock:
            sender, self._sender = self._sender, None
        if sender is not None:
            self._outbox.put(None)
            sender.join(timeout=10)

    # -- what people do in ClickUp ---------------------------------------------------------

    def exhaust_rate_limit(self, per_minute: int = 100) -> None:
        """Another client spent this window's requests: the next API call answers 429."""
        with self._lock:
            self.rate_limit = self.rate_limit or per_minute
            self._window_start, self._window_used = self.clock(), self.rate_limit

    def seed_demo(self) -> None:
        """What ``ticket-bridge sandbox`` starts with: a member and one task in the support List."""
        lee = self.add_member("Lee Delivery", "lee@delivery.example.com", "Europe/Berlin")
        task = self.open_task("Rotate the certificates in every region", by=lee, priority=2)
        self.comment(task, "Scheduled for Thursday.", by=lee)

    def open_task(
        self,
        name: str,
        *,
        list_id: str | None = None,
        status: str | None = None,
        priority: int | None = None,
        by: int | None = None,
        description: str = "",
        tags: Iterable[str] = (),
    ) -> str:
        with self._lock:
            task = self._create(
                list_id or self.list_id,
                {
                    "name": name,
                    "status": status,
                    "priority": priority,
                    "markdown_content": description,
                    "tags": list(tags),
                },
                by or self.person,
            )
            return task.id

    def import_tasks(self, names: Iterable[str], *, list_id: str | None = None) -> list[str]:
        """A bulk import: the tasks are created in one go and share one ``date_created``."""
        with self._lock:
            ids = [self.open_task(name, list_id=list_id) for name in names]
            stamp = min(self._tasks[i].date_created for i in ids)
            for task_id in ids:
                self._tasks[task_id].date_created = stamp
            return ids

    def edit_task(self, task_id: str, by: int | None = None, **changes: Any) -> None:
        """Change fields as the UI would: name, status, priority (1-4/None), description."""
        with self._lock:
            body = {
                ("markdown_content" if k == "description" else k): v for k, v in changes.items()
            }
            self._update(self._task(task_id), body, by or self.person)

    def set_due_date(self, task_id: str, day: dt.date, by: int) -> None:
        """A member picks a date without a time: ClickUp stores 04:00 in that member's zone."""
        with self._lock:
            zone = ZoneInfo(self._members[by].timezone)
            ms = int(date_instant(day, zone).timestamp() * 1000)
            self._update(self._task(task_id), {"due_date": ms, "due_date_time": False}, by)

    def comment(self, task_id: str, text: str, by: int | None = None) -> str:
        with self._lock:
            return str(self._comment(self._task(task_id), text, by or self.person)["id"])

    def task_json(self, task_id: str) -> dict[str, Any]:
        with self._lock:
            return self._task_json(self._task(task_id), markdown=True)

    def stored_comments(self, task_id: str) -> list[str]:
        with self._lock:
            return [c.text for c in self._task(task_id).comments]

    def delivery(self, task_id: str, event: str | None = None) -> tuple[dict[str, str], bytes]:
        """A delivery about the task's latest change, naming whoever made it, signed with the
        default secret as ClickUp would send it; ``event`` overrides the change's own."""
        with self._lock:
            task = self._task(task_id)
            change = task.last_change
            hook = next(
                (h for h in self._webhooks.values() if h.secret == self.webhook_secret), None
            )
            return webhooks.deliver(
                self.webhook_secret,
                "fake-webhook" if hook is None else hook.id,
                event or change.event,
                task.id,
                [self._history(task, change.field, change.by)],
            )

    def describe(self, base_url: str) -> Mapping[str, str]:
        return {
            "base_url": f"{base_url.rstrip('/')}/api",
            "token": self.token,
            "team_id": self.team_id,
            "list_id": self.list_id,
            "correlation_field_id": self.correlation_field_id,
            "webhook_secret": self.webhook_secret.get_secret_value(),
        }

    # -- state -----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        self._last_ms = max(int(self.clock() * 1000), self._last_ms + 1)
        return self._last_ms

    def _task(self, task_id: str) -> FakeTask:
        task = self._tasks.get(task_id)
        if task is None:
            raise ApiProblem(404, "Task not found, deleted", "ITEM_013")
        return task

    def _list(self, list_id: str) -> FakeList:
        found = self._lists.get(list_id)
        if found is None:
            raise ApiProblem(404, "List not found", "SUBCAT_016")
        return found

    def _member_ids(self, given: Any) -> list[int]:
        if not isinstance(given, list) or not all(isinstance(i, int) for i in given):
            raise ApiProblem(400, "Assignees must be an array of user ids", "INPUT_005")
        unknown = [i for i in given if i not in self._members]
        if unknown:
            raise ApiProblem(400, f"Assignee {unknown[0]} is not a member", "ITEM_007")
        return list(given)

    def _apply(self, task: FakeTask, lst: FakeList, body: Mapping[str, Any]) -> list[str]:
        changed: list[str] = []
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise ApiProblem(400, "Task name invalid", "INPUT_003")
            task.name = body["name"]
            changed.append("name")
        for key in ("markdown_content", "description"):
            if key in body:
                text = body[key]
                if not isinstance(text, str):
                    raise ApiProblem(400, f"{key} must be a string", "INPUT_005")
                task.description = "" if text == " " else text
                changed.append("content")
        if body.get("status") is not None:
            status = lst.status(str(body["status"]))
            if status is None:
                raise ApiProblem(400, "Status does not exist", "CRTSK_001")
            task.status = status
            task.date_closed = self._last_ms if status.type in ("done", "closed") else None
            changed.append("status")
        if "priority" in body:
            priority = body["priority"]
            if priority is not None and priority not in PRIORITIES:
                raise ApiProblem(400, "Priority invalid", "INPUT_005")
            task.priority = priority
            changed.append("priority")
        if "due_date" in body:
            due = body["due_date"]
            if due is not None and (isinstance(due, bool) or not isinstance(due, int)):
                raise ApiProblem(400, "Due date invalid", "INPUT_005")
            task.due_date = due
            task.due_date_time = bool(body.get("due_date_time", False)) and due is not None
            changed.append("due_date")
        assignees = body.get("assignees")
        if isinstance(assignees, dict):
            add = self._member_ids(assignees.get("add", []))
            rem = set(self._member_ids(assignees.get("rem", [])))
            task.assignees = [i for i in task.assignees if i not in rem]
            task.assignees += [i for i in add if i not in task.assignees]
            changed.append("assignee_add")
        elif assignees is not None:
            task.assignees = self._member_ids(assignees)
            changed.append("assignee_add")
        return changed

    def _create(self, list_id: str, body: Mapping[str, Any], by: int) -> FakeTask:
        lst = self._list(list_id)
        if not isinstance(body.get("name"), str) or not body["name"].strip():
            raise ApiProblem(400, "Task name invalid", "INPUT_003")
        now = self._now_ms()
        task = FakeTask(
            id=f"86b{next(self._ids):x}z",
            name=body["name"],
            list_id=list_id,
            status=lst.statuses[0],
            creator=by,
            date_created=now,
            date_updated=now,
            last_change=FakeChange("taskCreated", "task_creation", by),
        )
        self._apply(task, lst, {k: v for k, v in body.items() if k != "name"})
        for tag in body.get("tags") or []:
            if tag not in task.tags:
                task.tags.append(str(tag))
        for given in body.get("custom_fields") or []:
            field_id = given.get("id") if isinstance(given, dict) else None
            if field_id not in lst.fields:
                raise ApiProblem(400, "Custom field not found on this List", "FIELD_033")
            task.fields[str(field_id)] = str(given.get("value"))
        self._tasks[task.id] = task
        self._event(task, "taskCreated", "task_creation", by)
        return task

    def _update(self, task: FakeTask, body: Mapping[str, Any], by: int) -> None:
        changed = self._apply(task, self._list(task.list_id), body)
        if changed:
            self._touch(task)
            for name in changed:
                event = {
                    "status": "taskStatusUpdated",
                    "priority": "taskPriorityUpdated",
                    "due_date": "taskDueDateUpdated",
                    "assignee_add": "taskAssigneeUpdated",
                }.get(name, "taskUpdated")
                self._event(task, event, name, by)

    def _touch(self, task: FakeTask) -> None:
        task.date_updated = self._now_ms()

    def _comment(self, task: FakeTask, text: str, by: int) -> dict[str, Any]:
        comment = FakeComment(next(self._comment_ids), text, by, self._now_ms())
        task.comments.append(comment)
        if self.comments_move_date_updated:
            task.date_updated = comment.date
        self._event(task, "taskCommentPosted", "comment", by)
        return {
            "id": str(comment.id),
            "hist_id": str(next(self._history_ids)),
            "date": comment.date,
        }

    # -- webhooks ----------------------------------------------------------------------------

    def _history(self, task: FakeTask, what: str, by: int) -> dict[str, object]:
        return {
            "id": str(next(self._history_ids)),
            "type": 1,
            "date": str(task.date_updated),
            "field": what,
            "parent_id": task.list_id,
            "data": {"status_type": task.status.type},
            "source": None,
            "user": self._members[by].user(),
            "before": None,
            "after": None,
        }

    def _register(self, body: Mapping[str, Any], secret: SecretStr | None, by: int) -> FakeWebhook:
        endpoint, events = body.get("endpoint"), body.get("events")
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise ApiProblem(400, "Endpoint must be a valid URL", "WEBHOOK_001")
        if (
            not isinstance(events, list)
            or not events
            or not all(e == "*" or e in WEBHOOK_EVENTS for e in events)
        ):
            raise ApiProblem(400, "Events must be a list of webhook events or *", "WEBHOOK_002")
        where: dict[str, str | None] = {}
        for key in ("space_id", "folder_id", "list_id", "task_id"):
            given = body.get(key)
            if given is not None and (isinstance(given, bool) or not isinstance(given, int | str)):
                raise ApiProblem(400, f"{key} invalid", "INPUT_005")
            where[key] = None if given is None else str(given)
        if where["list_id"] is not None:
            self._list(where["list_id"])
        if where["task_id"] is not None:
            self._task(where["task_id"])
        hook = FakeWebhook(
            id=str(uuid.uuid4()),
            endpoint=endpoint,
            events=list(events),
            secret=secret or SecretStr(secrets.token_hex(32).upper()),
            userid=by,
            task_id=where["task_id"],
            list_id=where["list_id"],
            folder_id=where["folder_id"],
            space_id=where["space_id"],
        )
        if any(
            h.endpoint == hook.endpoint and h.location() == hook.location()
            for h in self._webhooks.values()
        ):
            raise ApiProblem(400, "Webhook configuration already exists", "WEBHOOK_003")
        self._webhooks[hook.id] = hook
        if self._sender is None:
            self._sender = threading.Thread(target=self._send, daemon=True, name="clickup-hooks")
            self._sender.start()
        return hook

    def _watches(self, hook: FakeWebhook, task: FakeTask) -> bool:
        """The most specific location set on the webhook decides."""
        lst = self._lists[task.list_id]
        if hook.task_id is not None:
            return hook.task_id == task.id
        if hook.list_id is not None:
            return hook.list_id == lst.id
        if hook.folder_id is not None:
            return hook.folder_id == lst.folder_id
        if hook.space_id is not None:
            return hook.space_id == lst.space_id
        return True

    def _event(self, task: FakeTask, event: str, what: str, by: int) -> None:
        task.last_change = FakeChange(event, what, by)
        hooks = [
            h
            for h in self._webhooks.values()
            if h.status != "suspended" and h.wants(event) and self._watches(h, task)
        ]
        if not hooks:
            return
        item = [self._history(task, what, by)]
        for hook in hooks:
            headers, body = webhooks.deliver(hook.secret, hook.id, event, task.id, item)
            self._outbox.put((hook, headers, body))

    def _send(self) -> None:
        """Up to 5 tries per event, then the event is dropped for good and counted against
        the webhook's health, as ClickUp does; a 410 suspends it at once."""
        session = requests.Session()  # one kept-alive connection per receiver
        while (job := self._outbox.get()) is not None:
            hook, headers, body = job
            delivered = gone = False
            for _ in range(TRIES):
                try:
                    answer = session.post(hook.endpoint, data=body, headers=headers, timeout=7)
                except requests.RequestException:
                    continue
                delivered = answer.status_code < 300
                gone = answer.status_code == 410
                if delivered or gone:
                    break
            with self._lock:
                if gone:
                    hook.status = "suspended"
                elif delivered:
                    hook.status, hook.fail_count = "active", 0
                else:
                    hook.fail_count += 1
                    hook.status = "suspended" if hook.fail_count >= SUSPEND_AT else "failing"
        session.close()

    # -- JSON as ClickUp gives it -------------------------------------------------------------

    def _user(self, member_id: int) -> dict[str, Any]:
        return self._members[member_id].user()

    def _task_json(self, task: FakeTask, *, markdown: bool) -> dict[str, Any]:
        lst = self._lists[task.list_id]
        priority = None
        if task.priority is not None:
            name, color = PRIORITIES[task.priority]
            priority = {
                "id": str(task.priority),
                "priority": name,
                "color": color,
                "orderindex": str(task.priority),
            }
        done = task.status.type in ("done", "closed")
        body: dict[str, Any] = {
            "id": task.id,
            "custom_id": None,
            "custom_item_id": None,
            "name": task.name,
            "text_content": _plain(task.description),
            "description": _plain(task.description),
            "status": task.status.json(),
            "orderindex": "1.00000000000000000000000000000000",
            "date_created": str(task.date_created),
            "date_updated": str(task.date_updated),
            "date_closed": str(task.date_closed) if done and task.date_closed else None,
            "date_done": str(task.date_closed) if done and task.date_closed else None,
            "archived": False,
            "creator": self._user(task.creator),
            "assignees": [self._user(i) for i in task.assignees],
            "group_assignees": [],
            "watchers": [],
            "checklists": [],
            "tags": [
                {"name": t, "tag_fg": "#800000", "tag_bg": "#2ecd6f", "creator": self.bot}
                for t in task.tags
            ],
            "parent": None,
            "top_level_parent": None,
            "priority": priority,
            "due_date": None if task.due_date is None else str(task.due_date),
            "start_date": None,
            "points": None,
            "time_estimate": None,
            "time_spent": 0,
            "custom_fields": [
                {
                    **f.json(),
                    **({"value": task.fields[f.id]} if f.id in task.fields else {}),
                    "required": False,
                }
                for f in lst.fields.values()
            ],
            "dependencies": [],
            "linked_tasks": [],
            "locations": [],
            "team_id": self.team_id,
            "url": f"https://app.clickup.com/t/{task.id}",
            "permission_level": "create",
            "list": {"id": lst.id, "name": lst.name, "access": True},
            "project": {"id": lst.folder_id, "name": "hidden", "hidden": True, "access": True},
            "folder": {"id": lst.folder_id, "name": "hidden", "hidden": True, "access": True},
            "space": {"id": lst.space_id},
        }
        if markdown:
            body["markdown_description"] = task.description
        return body

    def _comment_json(self, comment: FakeComment) -> dict[str, Any]:
        user = self._user(comment.user)
        del user["timezone"]
        return {
            "id": str(comment.id),
            "comment": [{"text": comment.text}],
            "comment_text": comment.text,
            "user": user,
            "resolved": False,
            "assignee": None,
            "assigned_by": None,
            "reactions": [],
            "date": str(comment.date),
            "reply_count": "0",
        }

    # -- HTTP ---------------------------------------------------------------------------------

    @property
    def app(self) -> ASGIApp:
        return self._app

    def _admit(self, request: Request) -> tuple[dict[str, str], ApiProblem | None]:
        """Auth, then the per-token window: fixed, ``WINDOW`` seconds from its first request."""
        if self._member_of(request.headers.get("authorization", "")) is None:
            return {}, ApiProblem(401, "Token invalid", "OAUTH_025")
        limit = self.rate_limit or 10_000
        now = self.clock()
        if self._window_start is None or now >= self._window_start + WINDOW:
            self._window_start, self._window_used = now, 0
        reset = str(math.ceil(self._window_start + WINDOW))
        if self._window_used >= limit:
            self.rejected += 1
            headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"}
            return {**headers, "X-RateLimit-Reset": reset}, ApiProblem(
                429, "Rate limit reached", "APP_002"
            )
        self._window_used += 1
        self.requests += 1
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - self._window_used),
            "X-RateLimit-Reset": reset,
        }, None

    def _route(
        self, handler: Callable[[Request, Any], Any]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            with self._lock:
                headers, problem = self._admit(request)
                if problem is None:
                    try:
                        body = json.loads(raw) if raw.strip() else None
                    except ValueError:
                        problem = ApiProblem(400, "Body is not valid JSON", "INPUT_001")
                if problem is None:
                    try:
                        return JSONResponse(handler(request, body), headers=headers)
                    except ApiProblem as exc:
                        problem = exc
            return JSONResponse(
                {"err": problem.err, "ECODE": problem.ecode},
                status_code=problem.status,
                headers=headers,
            )

        return endpoint

    def _build_app(self) -> Starlette:
        r = self._route
        return Starlette(
            routes=[
                Route("/api/v2/user", r(self._get_user), methods=["GET"]),
                Route("/api/v2/team", r(self._get_teams), methods=["GET"]),
                Route("/api/v2/list/{list_id}", r(self._get_list), methods=["GET"]),
                Route("/api/v2/list/{list_id}/field", r(self._get_fields), methods=["GET"]),
                Route("/api/v2/team/{team_id}/webhook", r(self._get_hooks), methods=["GET"]),
                Route("/api/v2/team/{team_id}/webhook", r(self._post_hook), methods=["POST"]),
                Route("/api/v2/list/{list_id}/task", r(self._post_task), methods=["POST"]),
                Route("/api/v2/task/{task_id}", r(self._get_task), methods=["GET"]),
                Route("/api/v2/task/{task_id}", r(self._put_task), methods=["PUT"]),
                Route("/api/v2/team/{team_id}/task", r(self._team_tasks), methods=["GET"]),
                Route(
                    "/api/v2/task/{task_id}/tag/{tag_name}",
                    r(self._tag),
                    methods=["POST", "DELETE"],
                ),
                Route("/api/v2/task/{task_id}/comment", r(self._get_comments), methods=["GET"]),
                Route("/api/v2/task/{task_id}/comment", r(self._post_comment), methods=["POST"]),
                Route("/api/v2/comment/{comment_id}", r(self._put_comment), methods=["PUT"]),
            ]
        )

    @staticmethod
    def _object(body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiProblem(400, "Body must be a JSON object", "INPUT_001")
        return body

    def _member_of(self, auth: str) -> int | None:
        """The member an ``Authorization`` header acts as: ``token`` and ``oauth_token`` are the
        bot's, other members' are those ``personal_token`` issued."""
        if auth == self.token or (self.oauth_token and auth == f"Bearer {self.oauth_token}"):
            return self.bot
        return self._tokens.get(auth)

    def _caller(self, request: Request) -> int:
        member = self._member_of(request.headers.get("authorization", ""))
        if member is None:
            raise ApiProblem(401, "Token invalid", "OAUTH_025")
        return member

    def _get_user(self, request: Request, body: Any) -> Any:
        user = self._user(self._caller(request))
        return {"user": {**user, "week_start_day": 1, "global_font_support": False}}

    def _get_teams(self, request: Request, body: Any) -> Any:
        members = [{"user": m.user()} for m in self._members.values()]
        team = {"id": self.team_id, "name": self.team_name, "color": "#536cfe", "avatar": ""}
        return {"teams": [{**team, "members": members}]}

    def _get_list(self, request: Request, body: Any) -> Any:
        lst = self._list(request.path_params["list_id"])
        return {
            "id": lst.id,
            "name": lst.name,
            "orderindex": 0,
            "content": "",
            "folder": {"id": lst.folder_id, "name": "hidden", "hidden": True, "access": True},
            "space": {"id": lst.space_id, "name": self._spaces[lst.space_id], "access": True},
            "archived": False,
            "override_statuses": True,
            "statuses": [s.json() for s in lst.statuses],
            "permission_level": "create",
        }

    def _get_fields(self, request: Request, body: Any) -> Any:
        lst = self._list(request.path_params["list_id"])
        return {"fields": [f.json() for f in lst.fields.values()]}

    def _team(self, request: Request) -> None:
        if request.path_params["team_id"] != self.team_id:
            raise ApiProblem(401, "Team not authorized", "OAUTH_027")

    def _get_hooks(self, request: Request, body: Any) -> Any:
        self._team(request)
        caller = self._caller(request)
        return {
            "webhooks": [
                h.json(self.team_id) for h in self._webhooks.values() if h.userid == caller
            ]
        }

    def _post_hook(self, request: Request, body: Any) -> Any:
        self._team(request)
        hook = self._register(self._object(body), None, self._caller(request))
        return {"id": hook.id, "webhook": hook.json(self.team_id)}

    def _get_task(self, request: Request, body: Any) -> Any:
        task = self._task(request.path_params["task_id"])
        markdown = request.query_params.get("include_markdown_description") == "true"
        return self._task_json(task, markdown=markdown)

    def _put_task(self, request: Request, body: Any) -> Any:
        task = self._task(request.path_params["task_id"])
        self._update(task, self._object(body), self._caller(request))
        return self._task_json(task, markdown=self.put_answers_markdown)

    def _post_task(self, request: Request, body: Any) -> Any:
        task = self._create(
            request.path_params["list_id"], self._object(body), self._caller(request)
        )
        return self._task_json(task, markdown=False)

    @staticmethod
    def _int(q: Mapping[str, str], name: str) -> int | None:
        given = q.get(name)
        if given is None:
            return None
        try:
            return int(given)
        except ValueError:
            raise ApiProblem(400, f"{name} must be an integer", "INPUT_005") from None

    def _team_tasks(self, request: Request, body: Any) -> Any:
        self._team(request)
        q = request.query_params
        tasks = list(self._tasks.values())
        if q.get("include_closed") != "true":
            tasks = [t for t in tasks if t.status.type != "closed"]
        if lists := q.getlist("list_ids[]"):
            tasks = [t for t in tasks if t.list_id in lists]
        if tags := q.getlist("tags[]"):
            tasks = [t for t in tasks if set(tags) & set(t.tags)]
        for name, stamp in (("date_updated", "date_updated"), ("date_created", "date_created")):
            if (gt := self._int(q, f"{name}_gt")) is not None:
                tasks = [t for t in tasks if getattr(t, stamp) > gt]
            if (lt := self._int(q, f"{name}_lt")) is not None:
                tasks = [t for t in tasks if getattr(t, stamp) < lt]
        for wanted in q.getlist("custom_fields"):
            try:
                filters = json.loads(wanted)
                assert isinstance(filters, list)
            except (ValueError, AssertionError):
                raise ApiProblem(400, "custom_fields must be a JSON array", "INPUT_005") from None
            for f in filters:
                if f.get("operator", "=") != "=":
                    raise ApiProblem(400, "Only = is supported by this fake", "INPUT_005")
                tasks = [t for t in tasks if t.fields.get(f.get("field_id")) == f.get("value")]
        order = q.get("order_by", "created")
        key = {"updated": "date_updated", "created": "date_created", "id": "id"}.get(order)
        if key is None:
            raise ApiProblem(400, "order_by invalid", "INPUT_005")
        tasks.sort(key=lambda t: getattr(t, key), reverse=q.get("reverse") != "true")
        page = self._int(q, "page") or 0
        if page < 0:
            raise ApiProblem(400, "page must not be negative", "INPUT_005")
        size = self.page_size
        chunk = tasks[page * size : (page + 1) * size]
        markdown = q.get("include_markdown_description") == "true"
        return {
            "tasks": [self._task_json(t, markdown=markdown) for t in chunk],
            "last_page": (page + 1) * size >= len(tasks),
        }

    def _tag(self, request: Request, body: Any) -> Any:
        task = self._task(request.path_params["task_id"])
        tag = request.path_params["tag_name"]
        if request.method == "POST" and tag not in task.tags:
            task.tags.append(tag)
        elif request.method == "DELETE" and tag in task.tags:
            task.tags.remove(tag)
        else:
            return {}
        self._touch(task)
        self._event(task, "taskTagUpdated", "tag", self._caller(request))
        return {}

    def _get_comments(self, request: Request, body: Any) -> Any:
        task = self._task(request.path_params["task_id"])
        newest = sorted(task.comments, key=lambda c: (c.date, c.id), reverse=True)
        start, start_id = request.query_params.get("start"), request.query_params.get("start_id")
        if start is not None and start_id is not None:
            edge = (int(start), int(start_id))
            newest = [c for c in newest if (c.date, c.id) < edge]
        return {"comments": [self._comment_json(c) for c in newest[:COMMENTS_PAGE]]}

    def _post_comment(self, request: Request, body: Any) -> Any:
        task = self._task(request.path_params["task_id"])
        given = self._object(body)
        if not isinstance(given.get("comment_text"), str):
            raise ApiProblem(400, "Comment text required", "INPUT_002")
        return self._comment(task, given["comment_text"], self._caller(request))

    def _put_comment(self, request: Request, body: Any) -> Any:
        comment_id = request.path_params["comment_id"]
        given = self._object(body)
        for task in self._tasks.values():
            for comment in task.comments:
                if str(comment.id) == comment_id:
                    if isinstance(given.get("comment_text"), str):
                        comment.text = given["comment_text"]
                        self._touch(task)
                        self._event(task, "taskCommentUpdated", "comment", self._caller(request))
                    return {}
        raise ApiProblem(404, "Comment not found", "ITEM_060")
