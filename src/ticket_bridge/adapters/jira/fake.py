"""A fake Jira Cloud: a stateful REST v3 server for the endpoints the adapter uses.

Real semantics where the adapter depends on them: workflows whose statuses change only through
transitions (``PUT /issue`` ignores ``transition`` and refuses ``status``), transition screens that
require a resolution, ``updated`` stamps written as Jira writes them (``2019-02-15T19:12:08.432-0800``),
``/search/jql`` with ``nextPageToken`` and a capped page size, JQL read by ``jql`` (dates in the
API user's zone, 400 for what it cannot read), ``approximate-count``, a search index that lags
behind writes (``reconcileIssues`` reads through it), the old ``/search`` answering 410, the
metadata a live check reads (project statuses, workflows with transitions, the priority scheme,
admin webhooks listing what ``subscribe`` registered), issue properties, comments with visibility and
the service-desk internal flag, rate limiting with ``Retry-After`` and ``X-RateLimit-Reset``, and
webhooks signed with ``X-Hub-Signature``. People act on it through ``open_issue``/``edit``/``move``/
``comment``; the adapter only through HTTP. Each change is made by someone, and its webhook names
them as Jira does: a request's by the account it authenticates as (``me``), a person's by
``person`` unless the helper is told who (``by``, ``author``, ``reporter``).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import itertools
import json
import queue
import re
import threading
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from ticket_bridge.adapters.jira import adf, jql

API = "/rest/api/3"
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
RESOLUTIONS = {"Done": "10000", "Won't Do": "10001", "Duplicate": "10002"}
CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
ISSUE_TYPES = {"Task": "10001", "Bug": "10002", "Story": "10003", "Escalation": "10004"}
ROLES = ("Administrators", "Developers", "Service Desk Team")
GROUPS = ("jira-administrators", "jira-software-users", "support-agents")
ISSUE_EVENTS = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
)


def jira_time(at: dt.datetime, zone: ZoneInfo, *, rfc3339: bool = False) -> str:
    """Jira's timestamp form: milliseconds and a numeric offset (``-0800``).

    Issue fields carry it as is; where the spec types a stamp as ``date-time`` (comments,
    serverInfo) the offset gets its colon (``-08:00``), which the spec's validator requires.
    """
    local = at.astimezone(zone)
    offset = local.strftime("%z")
    if rfc3339:
        offset = offset[:3] + ":" + offset[3:]
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + offset


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _error(
    status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"errorMessages": messages or [], "errors": errors or {}}, status_code=status
    )


class JiraFault(Exception):
    """An API error the fake answers with Jira's error body."""

    def __init__(
        self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, messages, errors)
        self.status = status
        self.messages = messages or []
        self.errors = errors or {}


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to: str
    sources: tuple[str, ...] = ()
    """Statuses it leaves from; empty for a global transition (available from every status)."""
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workflow:
    name: str
    statuses: dict[str, str]
    """status name -> category key (new, indeterminate, done)."""
    transitions: tuple[Transition, ...]
    initial: str

    def status_id(self, name: str) -> str:
        return str(10000 + sorted(self.statuses).index(name))

    def available(self, status: str) -> list[Transition]:
        return [t for t in self.transitions if not t.sources or status in t.sources]


def default_workflow(project: str) -> Workflow:
    """Jira Software's simplified flow with a resolution screen: Done is two steps from To Do."""
    return Workflow(
        name=f"{project}: Software Simplified Workflow",
        statuses={"To Do": "new", "In Progress": "indeterminate", "Done": "done"},
        transitions=(
            Transition("11", "Start progress", "In Progress", ("To Do",)),
            Transition("21", "Resolve", "Done", ("In Progress",), ("resolution",)),
            Transition("31", "Stop progress", "To Do", ("In Progress",)),
            Transition("41", "Reopen", "To Do", ("Done",)),
        ),
        initial="To Do",
    )


@dataclass
class Account:
    account_id: str
    name: str
    email: str
    time_zone: str = "America/Los_Angeles"


@dataclass
class Project:
    key: str
    id: str
    workflow: Workflow
    service_desk: bool = False


@dataclass
class StoredComment:
    id: str
    author: str
    body: dict[str, Any]
    created: dt.datetime
    updated: dt.datetime
    visibility: dict[str, str] | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    update_author: str = ""
    """Who last wrote the body (Jira's ``updateAuthor``): the author until someone edits it."""

    def __post_init__(self) -> None:
        self.update_author = self.update_author or self.author


@dataclass
class StoredIssue:
    id: str
    key: str
    project: str
    issuetype: str
    fields: dict[str, Any]
    status: str
    created: dt.datetime
    updated: dt.datetime
    reporter: str
    actor: str
    """Who made the latest change (the one ``updated`` stamps): what a delivery names as ``user``."""
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[StoredComment] = field(default_factory=list)
    changelog: list[dict[str, Any]] = field(default_factory=list)
    index: list[tuple[dt.datetime, dict[str, Any]]] = field(default_factory=list)
    """Search-index versions: (visible from, searchable snapshot)."""


@dataclass
class Subscription:
    """An admin webhook: where Jira posts which events (``GET /rest/webhooks/1.0/webhook`` lists it)."""

    id: int
    url: str
    secret: str
    events: tuple[str, ...] = ISSUE_EVENTS
    name: str = "ticket-bridge"
    enabled: bool = True


class FakeJira:
    """A Jira Cloud site in memory; ``app`` serves its REST API."""

    def __init__(
        self,
        *,
        email: str = "bridge@example.com",
        api_token: str = "fake-jira-token",  # noqa: S107 - the sandbox's published demo credential
        webhook_secret: str = "fake-jira-webhook-secret",  # noqa: S107 - likewise
        time_zone: str = "America/Los_Angeles",
        clock: Callable[[], dt.datetime] | None = None,
        index_lag: float = 0.0,
        rate_limit: tuple[int, float] | None = None,
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.webhook_secret = webhook_secret
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.index_lag = index_lag
        self.deployment = "Cloud"
        self.rate_limit = rate_limit
        self.zone = ZoneInfo(time_zone)
        self.lock = threading.RLock()
        self.me = Account("557058:bridge", "ticket-bridge", email, time_zone)
        self.person = Account("557058:alex", "Alex Engineer", "alex@eng.example.com", time_zone)
        """Who acts through the people's helpers when they are not told who."""
        self.accounts: dict[str, Account] = {a.account_id: a for a in (self.me, self.person)}
        self.projects: dict[str, Project] = {}
        self.issues: dict[str, StoredIssue] = {}
        self.requests: list[str] = []
        self.searches: list[str] = []
        self.faults: list[tuple[str, int, dict[str, str], bool]] = []
        self._ids = itertools.count(10001)
        self._comment_ids = itertools.count(20001)
        self._history_ids = itertools.count(30001)
        self._keys: dict[str, itertools.count[int]] = {}
        self._window: list[dt.datetime] = []
        self.subscriptions: list[Subscription] = []
        self.priorities: dict[str, str] = dict(PRIORITIES)
        """The site's priorities (name -> id), all in the one default priority scheme."""
        self.search_page_limit = 100
        """The most issues one search page holds whatever ``maxResults`` asks (Jira caps it)."""
        self.admin = True
        """Whether the API user administers Jira: workflows and admin webhooks answer 403 if not."""
        self.changelog_page = 100
        """The most changelog entries an issue read embeds (``expand=changelog``)."""
        self.returned_fields: Literal["all", "edited"] = "all"
        """What an edit with ``returnIssue`` answers with: the spec says both "the issue with
        fields edited in this request" and "the same format as in the Get issue API"."""
        self._webhook_ids = itertools.count(1)
        self._outbox: queue.Queue[tuple[Subscription, dict[str, str], bytes] | None] = queue.Queue()
        self._sender: threading.Thread | None = None
        self.add_project("SUP")

    # -- set-up and what people do ---------------------------------------------------------

    def add_project(
        self, key: str, workflow: Workflow | None = None, *, service_desk: bool = False
    ) -> None:
        with self.lock:
            self.projects[key] = Project(
                key,
                str(10000 + len(self.projects)),
                workflow or default_workflow(key),
                service_desk,
            )
            self._keys[key] = itertools.count(1)

    def exhaust_rate_limit(self, limit: int = 100, period: float = 60.0) -> None:
        """Another client spent this window's requests: the next API call answers 429."""
        with self.lock:
            self.rate_limit = self.rate_limit or (limit, period)
            self._window = [self.clock()] * self.rate_limit[0]

    def seed_demo(self) -> None:
        """What ``ticket-bridge sandbox`` starts with: two people and a few issues in SUP."""
        self.add_account("557058:kim", "Kim Engineer", "kim@eng.example.com")
        self.add_account("557058:sam", "Sam Agent", "sam@support.example.com")
        outage = self.open_issue(
            "Checkout returns HTTP 500 for EU cards",
            issuetype="Bug",
            description="Since 09:00 every **EU card** payment fails at the last step.",
            priority="Highest",
            assignee="557058:kim",
            status="In Progress",
        )
        self.comment(
            outage, "Root cause: expired TLS certificate on the EU gateway.", author="557058:kim"
        )
        self.comment(
            outage,
            "Customer is on the enterprise plan.",
            author="557058:sam",
            visibility={"type": "role", "value": "Administrators"},
        )
        self.open_issue(
            "How do I export last month's invoices?", priority="Low", duedate="2026-12-01"
        )

    def add_account(self, account_id: str, name: str, email: str) -> None:
        with self.lock:
            self.accounts[account_id] = Account(account_id, name, email)

    def open_issue(
        self,
        summary: str,
        *,
        project: str = "SUP",
        issuetype: str = "Task",
        description: str = "",
        priority: str | None = "Medium",
        duedate: str | None = None,
        labels: tuple[str, ...] = (),
        assignee: str | None = None,
        status: str | None = None,
        reporter: str | None = None,
        by: str | None = None,
    ) -> str:
        """A person creates an issue (``description`` in Markdown); returns its id.

        Whoever opens it (``by``) is the reporter when one is given, else ``person``; an issue
        without a ``reporter`` is reported as the API account, which keeps the requester the
        adapter reads as it always was.
        """
        actor = by or reporter or self.person.account_id
        with self.lock:
            issue = self._create(
                project,
                {
                    "summary": summary,
                    "issuetype": issuetype,
                    "description": adf.from_markdown(description) if description else None,
                    "priority": priority,
                    "duedate": duedate,
                    "labels": list(labels),
                    "assignee": assignee,
                },
                reporter or self.me.account_id,
                {},
                actor,
            )
            if status is not None and status != issue.status:
                self.move(issue.id, status, by=actor)
            return issue.id

    def edit(self, issue_id: str, *, by: str | None = None, **values: Any) -> None:
        """A person edits fields (summary, priority, duedate, labels, assignee; description as Markdown)."""
        with self.lock:
            issue = self._issue(issue_id)
            if "description" in values and isinstance(values["description"], str):
                values["description"] = (
                    adf.from_markdown(values["description"]) if values["description"] else None
                )
            self._change(issue, values, by or self.person.account_id)

    def move(self, issue_id: str, status: str, *, by: str | None = None) -> None:
        """An admin drags the issue to a status, bypassing the workflow."""
        with self.lock:
            issue = self._issue(issue_id)
            self._set_status(issue, status, by or self.person.account_id)

    def comment(
        self,
        issue_id: str,
        body: str,
        *,
        author: str | None = None,
        visibility: dict[str, str] | None = None,
        internal: bool = False,
    ) -> str:
        with self.lock:
            issue = self._issue(issue_id)
            props = {"sd.public.comment": {"internal": True}} if internal else {}
            return self._add_comment(
                issue, author or self.person.account_id, adf.from_markdown(body), visibility, props
            ).id

    def edit_comment(
        self, issue_id: str, comment_id: str, body: str, *, by: str | None = None
    ) -> None:
        """A person rewrites a comment: its author by default, ``person`` if the API account wrote it."""
        with self.lock:
            issue = self._issue(issue_id)
            comment = self._comment(issue, comment_id)
            if by is None:
                by = comment.author if comment.author != self.me.account_id else None
            self._rewrite(issue, comment, adf.from_markdown(body), by or self.person.account_id)

    def fail_next(
        self,
        operation: str,
        status: int,
        headers: Mapping[str, str] | None = None,
        *,
        after_write: bool = False,
    ) -> None:
        """The next request matching ``operation`` (``"POST /rest/api/3/issue"``) fails with ``status``.

        With ``after_write`` the request is applied first and only the answer is lost, as when a
        proxy times out while Jira commits.
        """
        with self.lock:
            self.faults.append((operation, status, dict(headers or {}), after_write))

    # -- webhooks --------------------------------------------------------------------------

    def subscribe(
        self, url: str, secret: str | None = None, *, events: tuple[str, ...] = ISSUE_EVENTS
    ) -> None:
        """Register an admin webhook: ``events`` are posted to ``url`` by a background thread."""
        with self.lock:
            self.subscriptions.append(
                Subscription(next(self._webhook_ids), url, secret or self.webhook_secret, events)
            )
            if self._sender is None:
                self._sender = threading.Thread(
                    target=self._send_loop, daemon=True, name="fake-jira-webhooks"
                )
                self._sender.start()

    def stop(self) -> None:
        if self._sender is not None:
            self._outbox.put(None)
            self._sender.join(timeout=5)
            self._sender = None

    def _send_loop(self) -> None:
        session = requests.Session()  # one kept-alive connection per receiver, as a sender keeps
        while True:
            item = self._outbox.get()
            if item is None:
                session.close()
                return
            subscription, headers, body = item
            for attempt in range(3):
                sent = dict(headers)
                if attempt:
                    sent["X-Atlassian-Webhook-Retry"] = str(attempt)
                try:
                    answer = session.post(subscription.url, data=body, headers=sent, timeout=10)
                except requests.RequestException:
                    continue
                if answer.status_code not in (408, 409, 425, 429) and answer.status_code < 500:
                    break

    def signed(
        self, payload: dict[str, Any], secret: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of one delivery, as Jira sends it."""
        body = json.dumps(payload).encode()
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
            "X-Atlassian-Webhook-Flow": "Primary",
            "X-Hub-Signature": sign(secret or self.webhook_secret, body),
        }, body

    def delivery(self, issue_id: str, secret: str | None = None) -> tuple[dict[str, str], bytes]:
        """A ``jira:issue_updated`` delivery about the issue as it stands, naming who changed it last."""
        with self.lock:
            return self.signed(self._event("jira:issue_updated", self._issue(issue_id)), secret)

    def _event(
        self,
        name: str,
        issue: StoredIssue,
        *,
        comment: StoredComment | None = None,
        items: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "timestamp": int(self.clock().timestamp() * 1000),
            "webhookEvent": name,
            "issue": {
                "id": issue.id,
                "key": issue.key,
                "self": f"https://fake.atlassian.net/rest/api/2/issue/{issue.id}",
                "fields": {
                    "summary": issue.fields["summary"],
                    "status": self._status_json(issue),
                    "updated": jira_time(issue.updated, self.zone),
                },
            },
        }
        if name.startswith("jira:"):
            payload["issue_event_type_name"] = "issue_generic"
            payload["user"] = self._user(issue.actor)
            latest = issue.changelog[-1]["id"] if issue.changelog else "0"
            payload["changelog"] = {"id": latest, "items": items or []}
        if comment is not None:
            payload["comment"] = {
                "id": comment.id,
                "self": f"https://fake.atlassian.net/rest/api/2/issue/{issue.id}/comment/{comment.id}",
                "author": self._user(comment.author),
                "updateAuthor": self._user(comment.update_author),
                "body": adf.to_markdown(comment.body),
                "created": jira_time(comment.created, self.zone),
                "updated": jira_time(comment.updated, self.zone),
                "jsdPublic": self._jsd_public(comment),
            }
        return payload

    def _emit(
        self,
        name: str,
        issue: StoredIssue,
        *,
        comment: StoredComment | None = None,
        items: list[dict[str, Any]] | None = None,
    ) -> None:
        if not self.subscriptions:
            return
        payload = self._event(name, issue, comment=comment, items=items)
        for subscription in self.subscriptions:
            if not subscription.enabled or name not in subscription.events:
                continue
            headers, body = self.signed(payload, subscription.secret)
            self._outbox.put((subscription, headers, body))

    # -- state changes (lock held) ---------------------------------------------------------

    def _issue(self, id_or_key: str) -> StoredIssue:
        found = self.issues.get(id_or_key) or next(
            (i for i in self.issues.values() if i.key == id_or_key), None
        )
        if found is None:
            raise JiraFault(404, ["Issue does not exist or you do not have permission to see it."])
        return found

    def _comment(self, issue: StoredIssue, comment_id: str) -> StoredComment:
        found = next((c for c in issue.comments if c.id == comment_id), None)
        if found is None:
            raise JiraFault(404, [f"Can not find a comment for the id: {comment_id}."])
        return found

    def _index(self, issue: StoredIssue) -> None:
        issue.index.append(
            (self.clock() + dt.timedelta(seconds=self.index_lag), self._snapshot(issue))
        )

    @staticmethod
    def _snapshot(issue: StoredIssue) -> dict[str, Any]:
        """What the search index holds of an issue: the values JQL compares and sorts by."""
        number = int(issue.key.rsplit("-", 1)[1])
        return {
            "project": issue.project,
            "key": [issue.key, issue.id],
            "sort_key": (issue.project, number),
            "status": issue.status,
            "priority": issue.fields.get("priority"),
            "issuetype": issue.issuetype,
            "labels": list(issue.fields.get("labels") or []),
            "assignee": issue.fields.get("assignee"),
            "reporter": issue.reporter,
            "summary": issue.fields.get("summary"),
            "created": issue.created,
            "updated": issue.updated,
            "properties": copy.deepcopy(issue.properties),
        }

    def _touch(self, issue: StoredIssue, actor: str, at: dt.datetime | None = None) -> None:
        issue.updated = at or self.clock()
        issue.actor = actor
        self._index(issue)

    def _create(
        self,
        project_key: str,
        values: dict[str, Any],
        reporter: str,
        properties: dict[str, Any],
        actor: str,
    ) -> StoredIssue:
        project = self.projects[project_key]
        now = self.clock()
        issue_id = str(next(self._ids))
        issue = StoredIssue(
            id=issue_id,
            key=f"{project_key}-{next(self._keys[project_key])}",
            project=project_key,
            issuetype=str(values.get("issuetype") or "Task"),
            fields={
                "summary": values.get("summary") or "",
                "description": values.get("description"),
                "priority": values.get("priority"),
                "duedate": values.get("duedate"),
                "labels": list(values.get("labels") or []),
                "assignee": values.get("assignee"),
                "resolution": None,
            },
            status=project.workflow.initial,
            created=now,
            updated=now,
            reporter=reporter,
            actor=actor,
            properties=dict(properties),
        )
        self.issues[issue_id] = issue
        self._index(issue)
        self._emit("jira:issue_created", issue)
        return issue

    def _item(self, name: str, old: Any, new: Any) -> dict[str, Any]:
        """One change item as Jira writes it: ``from``/``to`` hold ids where the field has them
        (a priority's id, an account id, a date), the strings what a person reads."""
        ids: dict[str, Any] = {
            "priority": lambda v: None if v is None else self._priority_id(v),
            "assignee": lambda v: v,
            "duedate": lambda v: v,
        }
        words: dict[str, Any] = {
            "assignee": lambda v: None if v is None else self._user(v)["displayName"],
            "duedate": lambda v: None if v is None else f"{v} 00:00:00.0",
        }
        key = ids.get(name, lambda v: None)
        say = words.get(name, _text)
        return {
            "field": name,
            "fieldtype": "jira",
            "fieldId": name,
            "from": key(old),
            "fromString": say(old),
            "to": key(new),
            "toString": say(new),
        }

    def _history(self, issue: StoredIssue, author: str, items: list[dict[str, Any]]) -> None:
        """Log a change and stamp the issue with the same instant, as one Jira edit does."""
        at = self.clock()
        issue.changelog.append(
            {"id": str(next(self._history_ids)), "author": author, "created": at, "items": items}
        )
        self._touch(issue, author, at)

    def _change(self, issue: StoredIssue, values: Mapping[str, Any], author: str) -> None:
        items: list[dict[str, Any]] = []
        for name, value in values.items():
            old = issue.fields.get(name)
            if old != value:
                issue.fields[name] = value
                items.append(self._item(name, old, value))
        if items:
            self._history(issue, author, items)
            self._emit("jira:issue_updated", issue, items=items)

    def _set_status(
        self, issue: StoredIssue, status: str, author: str, resolution: str | None = None
    ) -> None:
        workflow = self.projects[issue.project].workflow
        if status not in workflow.statuses:
            raise ValueError(f"{status!r} is not a status of {workflow.name}")
        items: list[dict[str, Any]] = [
            {
                "field": "status",
                "fieldtype": "jira",
                "from": workflow.status_id(issue.status),
                "fromString": issue.status,
                "to": workflow.status_id(status),
                "toString": status,
            }
        ]
        issue.status = status
        if workflow.statuses[status] == "done":
            issue.fields["resolution"] = resolution or issue.fields.get("resolution") or "Done"
        elif issue.fields.get("resolution") is not None:
            items.append(
                {
                    "field": "resolution",
                    "fieldtype": "jira",
                    "from": None,
                    "fromString": issue.fields["resolution"],
                    "to": None,
                    "toString": None,
                }
            )
            issue.fields["resolution"] = None
        self._history(issue, author, items)
        self._emit("jira:issue_updated", issue, items=items)

    def _add_comment(
        self,
        issue: StoredIssue,
        author: str,
        body: dict[str, Any],
        visibility: dict[str, str] | None,
        properties: dict[str, Any],
    ) -> StoredComment:
        now = self.clock()
        comment = StoredComment(
            str(next(self._comment_ids)), author, body, now, now, visibility, properties
        )
        issue.comments.append(comment)
        self._touch(issue, author)
        self._emit("comment_created", issue, comment=comment)
        return comment

    def _rewrite(
        self, issue: StoredIssue, comment: StoredComment, body: dict[str, Any], editor: str
    ) -> None:
        comment.body = body
        comment.updated = self.clock()
        comment.update_author = editor
        self._touch(issue, editor)
        self._emit("comment_updated", issue, comment=comment)

    # -- JSON representations --------------------------------------------------------------

    def _user(self, account_id: str) -> dict[str, Any]:
        account = self.accounts.get(account_id) or Account(account_id, account_id, "")
        user: dict[str, Any] = {
            "self": f"https://fake.atlassian.net/rest/api/3/user?accountId={account.account_id}",
            "accountId": account.account_id,
            "accountType": "atlassian",
            "displayName": account.name,
            "active": True,
            "timeZone": account.time_zone,
        }
        if account.email:
            user["emailAddress"] = account.email
        return user

    def _status_json(self, issue: StoredIssue) -> dict[str, Any]:
        return self._status_details(self.projects[issue.project].workflow, issue.status)

    @staticmethod
    def _status_details(workflow: Workflow, name: str) -> dict[str, Any]:
        category = workflow.statuses[name]
        number, label, colour = CATEGORIES[category]
        return {
            "self": f"https://fake.atlassian.net/rest/api/3/status/{workflow.status_id(name)}",
            "id": workflow.status_id(name),
            "name": name,
            "description": "",
            "iconUrl": "https://fake.atlassian.net/images/icons/statuses/generic.png",
            "statusCategory": {
                "self": f"https://fake.atlassian.net/rest/api/3/statuscategory/{number}",
                "id": number,
                "key": category,
                "colorName": colour,
                "name": label,
            },
        }

    def _priority_id(self, name: str) -> str:
        """An issue keeps a priority deleted from the site; its id is then one no longer listed."""
        return self.priorities.get(name) or PRIORITIES.get(name) or "10999"

    def _fields_json(self, issue: StoredIssue, wanted: set[str] | None) -> dict[str, Any]:
        f = issue.fields
        project = self.projects[issue.project]
        full: dict[str, Any] = {
            "summary": f["summary"],
            "description": f["description"],
            "status": self._status_json(issue),
            "priority": None
            if f["priority"] is None
            else {
                "self": f"https://fake.atlassian.net/rest/api/3/priority/{self._priority_id(f['priority'])}",
                "id": self._priority_id(f["priority"]),
                "name": f["priority"],
            },
            "duedate": f["duedate"],
            "labels": list(f["labels"]),
            "assignee": None if f["assignee"] is None else self._user(f["assignee"]),
            "reporter": self._user(issue.reporter),
            "issuetype": {
                "id": ISSUE_TYPES.get(issue.issuetype, "10001"),
                "name": issue.issuetype,
                "subtask": False,
            },
            "project": {"id": project.id, "key": project.key, "name": project.key},
            "resolution": None
            if f["resolution"] is None
            else {"id": RESOLUTIONS.get(f["resolution"], "10000"), "name": f["resolution"]},
            "created": jira_time(issue.created, self.zone),
            "updated": jira_time(issue.updated, self.zone),
        }
        if wanted is None or "*all" in wanted or "*navigable" in wanted:
            return full
        return {k: v for k, v in full.items() if k in wanted}

    def _history_json(self, history: dict[str, Any]) -> dict[str, Any]:
        """A changelog entry; Jira's null ``from``/``to`` are left out (the spec has them as
        strings, and a reader must take a missing one as null either way)."""
        return {
            "id": history["id"],
            "author": self._user(history["author"]),
            "created": jira_time(history["created"], self.zone, rfc3339=True),
            "items": [{k: v for k, v in i.items() if v is not None} for i in history["items"]],
        }

    def _issue_json(
        self,
        issue: StoredIssue,
        fields: set[str] | None,
        properties: set[str],
        *,
        changelog: bool = False,
        transitions: str | None = None,
    ) -> dict[str, Any]:
        """``changelog`` embeds the first ``changelog_page`` entries, oldest first, as the
        changelog API pages them (Jira does not say which entries an embedded page holds).
        ``transitions`` (``transitions`` or ``transitions.fields``) embeds the issue's offers as
        ``GET .../transitions`` lists them."""
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id,
            "key": issue.key,
            "self": f"https://fake.atlassian.net/rest/api/3/issue/{issue.id}",
        }
        if fields != {"id"}:
            out["fields"] = self._fields_json(issue, fields)
        if properties:
            out["properties"] = {
                k: v for k, v in issue.properties.items() if k in properties or "*all" in properties
            }
        if changelog:
            page = issue.changelog[: self.changelog_page]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": self.changelog_page,
                "total": len(issue.changelog),
                "histories": [self._history_json(h) for h in page],
            }
        if transitions is not None:
            out["transitions"] = self._offers_json(issue, transitions == "transitions.fields")
        return out

    def _jsd_public(self, comment: StoredComment) -> bool:
        return not (comment.properties.get("sd.public.comment") or {}).get("internal", False)

    def _comment_json(self, comment: StoredComment) -> dict[str, Any]:
        out: dict[str, Any] = {
            "self": f"https://fake.atlassian.net/rest/api/3/comment/{comment.id}",
            "id": comment.id,
            "author": self._user(comment.author),
            "updateAuthor": self._user(comment.update_author),
            "body": comment.body,
            "created": jira_time(comment.created, self.zone, rfc3339=True),
            "updated": jira_time(comment.updated, self.zone, rfc3339=True),
            "jsdPublic": self._jsd_public(comment),
        }
        if comment.visibility is not None:
            out["visibility"] = dict(comment.visibility)
        return out

    # -- the HTTP API ----------------------------------------------------------------------

    @property
    def app(self) -> ASGIApp:
        routes = [
            Route(API + "/serverInfo", self._server_info, methods=["GET"]),
            Route(API + "/myself", self._myself, methods=["GET"]),
            Route(API + "/issue", self._post_issue, methods=["POST"]),
            Route(API + "/issue/{key}", self._get_issue, methods=["GET"]),
            Route(API + "/issue/{key}", self._put_issue, methods=["PUT"]),
            Route(API + "/issue/{key}/changelog", self._get_changelog, methods=["GET"]),
            Route(API + "/issue/{key}/transitions", self._get_transitions, methods=["GET"]),
            Route(API + "/issue/{key}/transitions", self._post_transition, methods=["POST"]),
            Route(API + "/issue/{key}/comment", self._get_comments, methods=["GET"]),
            Route(API + "/issue/{key}/comment", self._post_comment, methods=["POST"]),
            Route(API + "/issue/{key}/comment/{comment}", self._put_comment, methods=["PUT"]),
            Route(API + "/issue/{key}/properties/{prop}", self._get_property, methods=["GET"]),
            Route(API + "/issue/{key}/properties/{prop}", self._put_property, methods=["PUT"]),
            Route(API + "/search/jql", self._search, methods=["GET", "POST"]),
            Route(API + "/search/approximate-count", self._count, methods=["POST"]),
            Route(API + "/project/{key}", self._get_project, methods=["GET"]),
            Route(API + "/project/{key}/statuses", self._project_statuses, methods=["GET"]),
            Route(API + "/workflows", self._workflows, methods=["POST"]),
            Route(API + "/priorityscheme", self._priority_schemes, methods=["GET"]),
            Route("/rest/webhooks/1.0/webhook", self._admin_webhooks, methods=["GET"]),
            Route(API + "/search", self._removed_search, methods=["GET", "POST"]),
            Route("/rest/api/2/search", self._removed_search, methods=["GET", "POST"]),
        ]
        return _Guarded(Starlette(routes=routes, exception_handlers={JiraFault: _fault}), self)

    def describe(self, base_url: str) -> Mapping[str, str]:
        return {
            "tracker": "jira",
            "base_url": base_url,
            "email": self.email,
            "api_token": self.api_token,
            "webhook_secret": self.webhook_secret,
            "projects": ",".join(self.projects),
            "time_zone": str(self.zone),
        }

    def gate(
        self, method: str, path: str, authorization: str | None
    ) -> tuple[Response | None, bool]:
        """Authentication, injected faults and the rate limit; (answer, lose the answer after writing)."""
        expected = "Basic " + base64.b64encode(f"{self.email}:{self.api_token}".encode()).decode()
        if not authorization or not hmac.compare_digest(authorization, expected):
            return Response(
                "Client must be authenticated to access this resource.",
                status_code=401,
                media_type="text/html",
            ), False
        with self.lock:
            self.requests.append(f"{method} {path}")
            for index, (operation, status, headers, after_write) in enumerate(self.faults):
                if operation == f"{method} {path}" or (
                    operation.endswith("*") and f"{method} {path}".startswith(operation[:-1])
                ):
                    del self.faults[index]
                    answer = _error(status, [f"Injected {status}"])
                    answer.headers.update(headers)
                    if after_write:
                        return answer, True
                    return answer, False
            if self.rate_limit is not None:
                limit, period = self.rate_limit
                now = self.clock()
                self._window = [t for t in self._window if (now - t).total_seconds() < period]
                if len(self._window) >= limit:
                    reset = self._window[0] + dt.timedelta(seconds=period)
                    wait = max(1, int((reset - now).total_seconds() + 0.999))
                    answer = _error(429, ["Rate limit exceeded."])
                    answer.headers.update(
                        {
                            "Retry-After": str(wait),
                            "X-RateLimit-Limit": str(limit),
                            "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": (reset + dt.timedelta(seconds=59))
                            .astimezone(dt.UTC)
                            .strftime("%Y-%m-%dT%H:%MZ"),
                            "RateLimit-Reason": "jira-burst-based",
                        }
                    )
                    return answer, False
                self._window.append(now)
        return None, False

    async def _json(self, request: Request) -> Any:
        raw = await request.body()
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise JiraFault(
                400, ["Unexpected character in the request body: it is not JSON."]
            ) from None

    async def _server_info(self, request: Request) -> Response:
        return JSONResponse(
            {
                "baseUrl": str(request.base_url).rstrip("/"),
                "displayUrl": str(request.base_url).rstrip("/"),
                "version": "1001.0.0-SNAPSHOT",
                "versionNumbers": [1001, 0, 0],
                "deploymentType": self.deployment,
                "buildNumber": 100282,
                "buildDate": "2026-11-01T00:00:00.000+00:00",
                "serverTime": jira_time(self.clock(), self.zone, rfc3339=True),
                "scmInfo": "fake",
                "serverTitle": "Fake Jira",
            }
        )

    async def _myself(self, request: Request) -> Response:
        return JSONResponse(self._user(self.me.account_id))

    async def _post_issue(self, request: Request) -> Response:
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            raise JiraFault(400, ["Issue fields are required."])
        if "transition" in body:
            raise JiraFault(
                400, ["Transitions are not supported when creating an issue in this fake."]
            )
        fields = body["fields"]
        errors: dict[str, str] = {}
        project_key = (fields.get("project") or {}).get("key")
        if project_key not in self.projects:
            errors["project"] = "valid project is required"
        issuetype = (fields.get("issuetype") or {}).get("name")
        if issuetype not in ISSUE_TYPES:
            errors["issuetype"] = "valid issue type is required"
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        values = self._field_values(fields, errors, creating=True)
        if errors:
            raise JiraFault(400, [], errors)
        properties = {p["key"]: p["value"] for p in body.get("properties") or []}
        with self.lock:
            issue = self._create(
                str(project_key),
                {**values, "summary": fields["summary"], "issuetype": issuetype},
                self.me.account_id,
                properties,
                self.me.account_id,
            )
            return JSONResponse(
                {
                    "id": issue.id,
                    "key": issue.key,
                    "self": f"https://fake.atlassian.net/rest/api/3/issue/{issue.id}",
                },
                status_code=201,
            )

    def _field_values(
        self, fields: dict[str, Any], errors: dict[str, str], *, creating: bool
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in fields.items():
            if name in ("project", "issuetype") and creating:
                continue
            if name == "summary":
                if not isinstance(value, str) or not value:
                    errors["summary"] = "You must specify a summary of the issue."
                values["summary"] = value
            elif name == "description":
                if value is not None and (
                    not isinstance(value, dict) or value.get("type") != "doc"
                ):
                    errors["description"] = (
                        "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
                    )
                values["description"] = value
            elif name == "priority":
                names = {v: k for k, v in self.priorities.items()}
                chosen = (
                    None
                    if value is None
                    else (value.get("name") if "name" in value else names.get(str(value.get("id"))))
                )
                if value is not None and chosen not in self.priorities:
                    errors["priority"] = "Specify the Priority (id or name) in the string format"
                values["priority"] = chosen
            elif name == "duedate":
                if value is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
                    errors["duedate"] = "Error parsing date string: " + str(value)
                values["duedate"] = value
            elif name == "labels":
                if not isinstance(value, list) or any(
                    not isinstance(v, str) or " " in v for v in value
                ):
                    errors["labels"] = "The label must not contain spaces."
                values["labels"] = value
            elif name == "assignee":
                account = None if value is None else value.get("accountId")
                if account is not None and account not in self.accounts:
                    errors["assignee"] = f"User with accountId '{account}' does not exist"
                values["assignee"] = account
            else:
                errors[name] = (
                    f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                )
        return values

    def _wanted(self, request: Request) -> tuple[set[str] | None, set[str]]:
        fields = {f for raw in request.query_params.getlist("fields") for f in raw.split(",") if f}
        properties = {
            p for raw in request.query_params.getlist("properties") for p in raw.split(",") if p
        }
        return fields or None, properties

    @staticmethod
    def _expanded(request: Request) -> set[str]:
        return {e for raw in request.query_params.getlist("expand") for e in raw.split(",") if e}

    @staticmethod
    def _paging(request: Request, size: int, *, cap: int | None = None) -> tuple[int, int]:
        """``startAt`` and ``maxResults``, the latter at most ``cap``, as Jira caps its pages."""
        try:
            start = int(request.query_params.get("startAt", "0"))
            asked = int(request.query_params.get("maxResults", str(size)))
        except ValueError:
            raise JiraFault(400, ["startAt and maxResults must be numbers."]) from None
        return start, asked if cap is None else min(cap, asked)

    async def _get_issue(self, request: Request) -> Response:
        fields, properties = self._wanted(request)
        expanded = self._expanded(request)
        transitions = next(
            (e for e in ("transitions.fields", "transitions") if e in expanded), None
        )
        with self.lock:
            issue = self._issue(request.path_params["key"])
            return JSONResponse(
                self._issue_json(
                    issue,
                    fields,
                    properties,
                    changelog="changelog" in expanded,
                    transitions=transitions,
                )
            )

    async def _get_changelog(self, request: Request) -> Response:
        start, size = self._paging(request, 100, cap=100)
        with self.lock:
            issue = self._issue(request.path_params["key"])
            page = issue.changelog[start : start + size]
            total = len(issue.changelog)
            return JSONResponse(
                {
                    "self": f"https://fake.atlassian.net/rest/api/3/issue/{issue.id}/changelog",
                    "startAt": start,
                    "maxResults": size,
                    "total": total,
                    "isLast": start + len(page) >= total,
                    "values": [self._history_json(h) for h in page],
                }
            )

    async def _put_issue(self, request: Request) -> Response:
        body = await self._json(request)
        if not isinstance(body, dict):
            raise JiraFault(400, ["The request body must be an object."])
        errors: dict[str, str] = {}
        values = self._field_values(body.get("fields") or {}, errors, creating=False)
        with self.lock:
            issue = self._issue(request.path_params["key"])
            if errors:
                raise JiraFault(400, [], errors)
            # As Jira: "issue transition is not supported and is ignored here".
            self._change(issue, values, self.me.account_id)
            if request.query_params.get("returnIssue") == "true":
                edited = set(body.get("fields") or {}) if self.returned_fields == "edited" else None
                changelog = "changelog" in self._expanded(request)
                return JSONResponse(self._issue_json(issue, edited, set(), changelog=changelog))
        return Response(status_code=204)

    def _transition_json(
        self, workflow: Workflow, transition: Transition, expand: bool
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": transition.id,
            "name": transition.name,
            "to": self._status_details(workflow, transition.to),
            "hasScreen": bool(transition.requires),
            "isGlobal": not transition.sources,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }
        if expand:
            out["fields"] = {
                name: {
                    "required": True,
                    "schema": {"type": name, "system": name},
                    "name": name.capitalize(),
                    "key": name,
                    "operations": ["set"],
                    "allowedValues": [{"id": i, "name": n} for n, i in RESOLUTIONS.items()],
                }
                for name in transition.requires
            }
        return out

    def _offers_json(self, issue: StoredIssue, expand: bool) -> list[dict[str, Any]]:
        workflow = self.projects[issue.project].workflow
        return [
            self._transition_json(workflow, t, expand) for t in workflow.available(issue.status)
        ]

    async def _get_transitions(self, request: Request) -> Response:
        expand = "transitions.fields" in self._expanded(request)
        with self.lock:
            offered = self._offers_json(self._issue(request.path_params["key"]), expand)
        return JSONResponse({"expand": "transitions", "transitions": offered})

    async def _post_transition(self, request: Request) -> Response:
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("transition"), dict):
            raise JiraFault(400, ["Transition id is required."])
        transition_id = str(body["transition"].get("id"))
        fields = body.get("fields") or {}
        with self.lock:
            issue = self._issue(request.path_params["key"])
            workflow = self.projects[issue.project].workflow
            chosen = next(
                (t for t in workflow.available(issue.status) if t.id == transition_id), None
            )
            if chosen is None:
                raise JiraFault(
                    400, [f"Transition id '{transition_id}' is not valid for this issue."]
                )
            errors = {
                name: f"{name.capitalize()} is required."
                for name in chosen.requires
                if not fields.get(name)
            }
            errors |= {
                name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                for name in fields
                if name not in chosen.requires
            }
            resolution = (
                (fields.get("resolution") or {}).get("name")
                if "resolution" in chosen.requires
                else None
            )
            if resolution is not None and resolution not in RESOLUTIONS:
                errors["resolution"] = f"Resolution '{resolution}' does not exist."
            if errors:
                raise JiraFault(400, [], errors)
            self._set_status(issue, chosen.to, self.me.account_id, resolution)
        return Response(status_code=204)

    async def _get_comments(self, request: Request) -> Response:
        start, size = self._paging(request, 100, cap=5000)
        order = request.query_params.get("orderBy", "created")
        with self.lock:
            issue = self._issue(request.path_params["key"])
            listed = sorted(
                issue.comments, key=lambda c: (c.created, int(c.id)), reverse=order.startswith("-")
            )
            page = [self._comment_json(c) for c in listed[start : start + size]]
            return JSONResponse(
                {"startAt": start, "maxResults": size, "total": len(listed), "comments": page}
            )

    def _visibility(self, raw: Any) -> dict[str, str] | None:
        if raw is None:
            return None
        kind, value = raw.get("type"), raw.get("value") or raw.get("identifier")
        if (kind == "role" and value in ROLES) or (kind == "group" and value in GROUPS):
            return {"type": kind, "value": value, "identifier": value}
        raise JiraFault(
            400, [], {"commentLevel": f"You are currently not a member of the {kind} {value!r}."}
        )

    async def _comment_body(self, request: Request) -> dict[str, Any]:
        """A comment request's JSON, refused as Jira does when its body is not ADF."""
        body = await self._json(request)
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("body"), dict)
            or body["body"].get("type") != "doc"
        ):
            raise JiraFault(400, [], {"comment": "Comment body must be an Atlassian Document."})
        return body

    async def _post_comment(self, request: Request) -> Response:
        body = await self._comment_body(request)
        with self.lock:
            issue = self._issue(request.path_params["key"])
            visibility = self._visibility(body.get("visibility"))
            properties = {p["key"]: p["value"] for p in body.get("properties") or []}
            if not self.projects[issue.project].service_desk:
                properties.pop("sd.public.comment", None)
            comment = self._add_comment(
                issue, self.me.account_id, body["body"], visibility, properties
            )
            return JSONResponse(self._comment_json(comment), status_code=201)

    async def _put_comment(self, request: Request) -> Response:
        body = await self._comment_body(request)
        with self.lock:
            issue = self._issue(request.path_params["key"])
            comment = self._comment(issue, request.path_params["comment"])
            if "visibility" in body:
                comment.visibility = self._visibility(body["visibility"])
            self._rewrite(issue, comment, body["body"], self.me.account_id)
            return JSONResponse(self._comment_json(comment))

    async def _get_property(self, request: Request) -> Response:
        with self.lock:
            issue = self._issue(request.path_params["key"])
            key = request.path_params["prop"]
            if key not in issue.properties:
                raise JiraFault(404, [f"The property with key '{key}' does not exist."])
            return JSONResponse({"key": key, "value": issue.properties[key]})

    async def _put_property(self, request: Request) -> Response:
        body = await self._json(request)
        with self.lock:
            issue = self._issue(request.path_params["key"])
            key = request.path_params["prop"]
            existed = key in issue.properties
            issue.properties[key] = body
            self._index(issue)
            return JSONResponse({}, status_code=200 if existed else 201)

    async def _removed_search(self, request: Request) -> Response:
        return _error(410, [REMOVED_SEARCH])

    def _site(self) -> jql.Site:
        return jql.Site(
            zone=ZoneInfo(self.me.time_zone),
            projects=set(self.projects),
            statuses={s for p in self.projects.values() for s in p.workflow.statuses},
            priorities=set(self.priorities),
            issue_types=set(ISSUE_TYPES),
        )

    def _query(self, text: str) -> jql.Query:
        """The parsed query, or Jira's 400 for what the fake (like Jira) cannot read."""
        try:
            return jql.parse(text, self._site())
        except jql.JqlError as exc:
            raise JiraFault(400, exc.messages) from None

    def _hits(
        self,
        query: jql.Query,
        reconcile: Collection[str] = (),
    ) -> list[tuple[dict[str, Any], StoredIssue]]:
        """Matching issues as the search index sees them now (``reconcile`` ids read through it)."""
        now = self.clock()
        hits: list[tuple[dict[str, Any], StoredIssue]] = []
        for issue in self.issues.values():
            if issue.id in reconcile:
                snap: dict[str, Any] | None = self._snapshot(issue)
            else:
                snap = next((s for at, s in reversed(issue.index) if at <= now), None)
            if snap is not None and query.matches(snap):
                hits.append((snap, issue))
        order = query.order or (jql.Sort("updated", False), jql.Sort("key", False))
        for sort in reversed(order):
            field = "sort_key" if sort.field == "key" else sort.field
            hits.sort(key=lambda h: _sortable(h[0][field]), reverse=sort.descending)
        return hits

    async def _search(self, request: Request) -> Response:
        if request.method == "POST":
            body = await self._json(request) or {}
            args = {k: body.get(k) for k in ("jql", "nextPageToken", "maxResults")}
            fields = set(body.get("fields") or []) or {"id"}
            properties = set(body.get("properties") or [])
            reconcile = {str(i) for i in body.get("reconcileIssues") or []}
        else:
            q = request.query_params
            args = {
                "jql": q.get("jql"),
                "nextPageToken": q.get("nextPageToken"),
                "maxResults": q.get("maxResults"),
            }
            wanted, properties = self._wanted(request)
            fields = wanted or {"id"}
            reconcile = {i for raw in q.getlist("reconcileIssues") for i in raw.split(",") if i}
        text = str(args["jql"] or "")
        with self.lock:
            self.searches.append(text)
        size = max(1, min(self.search_page_limit, int(args["maxResults"] or 50)))
        start = 0
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        if args["nextPageToken"]:
            try:
                token = json.loads(base64.urlsafe_b64decode(str(args["nextPageToken"])))
                start = int(token["at"])
                assert token["jql"] == digest
            except Exception:
                raise JiraFault(
                    400, ["The provided next page token is invalid or expired."]
                ) from None
        with self.lock:
            hits = self._hits(self._query(text), reconcile)
            page = hits[start : start + size]
            out: dict[str, Any] = {
                "issues": [self._issue_json(i, fields, properties) for _, i in page],
                "isLast": start + size >= len(hits),
            }
            if not out["isLast"]:
                token = {"at": start + size, "jql": digest}
                out["nextPageToken"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            return JSONResponse(out)

    async def _count(self, request: Request) -> Response:
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("jql"), str):
            raise JiraFault(400, ["The JQL query is required."])
        with self.lock:
            return JSONResponse({"count": len(self._hits(self._query(body["jql"])))})

    # -- site metadata ---------------------------------------------------------------------

    def _project(self, key: str) -> Project:
        found = self.projects.get(key) or next(
            (p for p in self.projects.values() if p.id == key), None
        )
        if found is None:
            raise JiraFault(404, [f"No project could be found with key '{key}'."])
        return found

    def _project_json(self, project: Project) -> dict[str, Any]:
        return {
            "self": f"https://fake.atlassian.net/rest/api/3/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.key,
            "projectTypeKey": "service_desk" if project.service_desk else "software",
            "simplified": False,
            "style": "classic",
            "isPrivate": False,
        }

    async def _get_project(self, request: Request) -> Response:
        with self.lock:
            return JSONResponse(self._project_json(self._project(request.path_params["key"])))

    async def _project_statuses(self, request: Request) -> Response:
        """Every issue type shares the project's one workflow here (Jira allows one per type)."""
        with self.lock:
            project = self._project(request.path_params["key"])
            workflow = project.workflow
            statuses = [self._status_details(workflow, name) for name in workflow.statuses]
            return JSONResponse(
                [
                    {
                        "self": f"https://fake.atlassian.net/rest/api/3/issueType/{type_id}",
                        "id": type_id,
                        "name": name,
                        "subtask": False,
                        "statuses": statuses,
                    }
                    for name, type_id in ISSUE_TYPES.items()
                ]
            )

    async def _workflows(self, request: Request) -> Response:
        """Bulk get workflows by project and issue type, with statuses and transitions.

        It needs *Administer Jira* (or project workflow permissions); the spec gives no 403 for
        it, so a user without them is answered as one who can see no workflow: an empty list.
        """
        body = await self._json(request)
        if not isinstance(body, dict):
            raise JiraFault(400, ["The request body must be an object."])
        if not self.admin:
            return JSONResponse({"statuses": [], "workflows": []})
        with self.lock:
            chosen: dict[str, Workflow] = {}
            for pair in body.get("projectAndIssueTypes") or []:
                project = self._project(str(pair.get("projectId")))
                chosen[project.workflow.name] = project.workflow
            for name in body.get("workflowNames") or []:
                for project in self.projects.values():
                    if project.workflow.name == name:
                        chosen[name] = project.workflow
            statuses: dict[str, dict[str, Any]] = {}
            workflows = []
            for workflow in chosen.values():
                for name, category in workflow.statuses.items():
                    statuses[workflow.status_id(name)] = {
                        "id": workflow.status_id(name),
                        "name": name,
                        "statusCategory": {
                            "new": "TODO",
                            "indeterminate": "IN_PROGRESS",
                            "done": "DONE",
                        }[category],
                        "statusReference": workflow.status_id(name),
                        "scope": {"type": "GLOBAL"},
                        "description": "",
                    }
                workflows.append(self._workflow_json(workflow))
            return JSONResponse({"statuses": list(statuses.values()), "workflows": workflows})

    @staticmethod
    def _workflow_json(workflow: Workflow) -> dict[str, Any]:
        transitions: list[dict[str, Any]] = [
            {
                "id": "1",
                "name": "Create",
                "type": "INITIAL",
                "toStatusReference": workflow.status_id(workflow.initial),
                "links": [],
                "description": "",
                "properties": {},
            }
        ]
        for t in workflow.transitions:
            transitions.append(
                {
                    "id": t.id,
                    "name": t.name,
                    "type": "DIRECTED" if t.sources else "GLOBAL",
                    "toStatusReference": workflow.status_id(t.to),
                    "links": [
                        {"fromStatusReference": workflow.status_id(s), "fromPort": 0, "toPort": 0}
                        for s in t.sources
                    ],
                    "description": "",
                    "properties": {},
                }
            )
        return {
            "id": hashlib.sha256(workflow.name.encode()).hexdigest()[:32],
            "name": workflow.name,
            "description": "",
            "isEditable": True,
            "scope": {"type": "GLOBAL"},
            "statuses": [
                {"statusReference": workflow.status_id(name), "deprecated": False, "properties": {}}
                for name in workflow.statuses
            ],
            "transitions": transitions,
        }

    async def _priority_schemes(self, request: Request) -> Response:
        """One scheme, the default: every project uses it, holding every priority of the site."""
        expand = self._expanded(request)
        start, size = self._paging(request, 50)
        with self.lock:
            scheme: dict[str, Any] = {
                "id": "1",
                "name": "Default Priority Scheme",
                "description": "This is the default scheme used by all new and unassigned projects",
                "default": True,
                "defaultPriorityId": self.priorities.get("Medium")
                or next(iter(self.priorities.values()), ""),
                "self": "https://fake.atlassian.net/rest/api/3/priorityscheme/1",
            }
            if "priorities" in expand:
                values = [
                    {
                        "id": priority_id,
                        "name": name,
                        "description": "",
                        "iconUrl": f"/images/icons/priorities/{name.lower()}.svg",
                        "isDefault": name == "Medium",
                        "statusColor": "#707070",
                        "sequence": str(n),
                    }
                    for n, (name, priority_id) in enumerate(self.priorities.items(), 1)
                ]
                scheme["priorities"] = _page(values, 0, 50)
            if "projects" in expand:
                scheme["projects"] = _page(
                    [
                        {
                            k: v
                            for k, v in self._project_json(p).items()
                            if k not in ("style", "isPrivate")
                        }
                        for p in self.projects.values()
                    ],
                    0,
                    50,
                )
            return JSONResponse(_page([scheme], start, size))

    async def _admin_webhooks(self, request: Request) -> Response:
        if not self.admin:
            return Response(
                "Only Jira administrators can list webhooks.",
                status_code=403,
                media_type="text/plain",
            )
        with self.lock:
            return JSONResponse(
                [
                    {
                        "name": s.name,
                        "url": s.url,
                        "events": list(s.events),
                        "filters": {"issue-related-events-section": ""},
                        "excludeBody": False,
                        "enabled": s.enabled,
                        "self": f"https://fake.atlassian.net/rest/webhooks/1.0/webhook/{s.id}",
                        "lastUpdatedUser": self.me.account_id,
                        "lastUpdatedDisplayName": self.me.name,
                        "lastUpdated": 1_700_000_000_000,
                    }
                    for s in self.subscriptions
                ]
            )


def _page(values: list[Any], start: int, size: int) -> dict[str, Any]:
    """Jira's offset page (``PageBean``)."""
    return {
        "startAt": start,
        "maxResults": size,
        "total": len(values),
        "isLast": start + size >= len(values),
        "values": values[start : start + size],
    }


def _sortable(value: Any) -> Any:
    """Sort keys that never compare None with a value (Jira sorts empty values last)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return (value is None, value if value is not None else 0)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return (
            adf.to_markdown(value)
            if value.get("type") == "doc"
            else str(value.get("name") or value)
        )
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


async def _fault(request: Request, exc: Exception) -> Response:
    fault = exc if isinstance(exc, JiraFault) else JiraFault(500, ["Internal server error"])
    return _error(fault.status, fault.messages, fault.errors)


class _Guarded:
    """The ASGI wrapper doing what Jira does before routing: auth, faults, rate limit, error bodies."""

    def __init__(self, app: ASGIApp, fake: FakeJira) -> None:
        self.inner = app
        self.fake = fake

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        answer, after_write = self.fake.gate(
            scope["method"], scope["path"], headers.get("authorization")
        )
        if answer is not None and not after_write:
            await answer(scope, receive, send)
            return

        async def swallow(message: Any) -> None:
            """The write happens; its answer is lost on the way back."""

        await self.inner(scope, receive, swallow if after_write else send)
        if after_write and answer is not None:
            await answer(scope, receive, send)
