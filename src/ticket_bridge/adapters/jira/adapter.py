"""The Adapter Protocol over Jira Cloud REST v3.

Status changes go through workflow transitions planned as a shortest path (see ``plan``); the
correlation key is an issue property written in the create request itself, so an issue never
exists without it; the change feed is a bounded JQL on ``updated`` at minute precision in the API
user's time zone, with an overlapping window. The backlog pages by position (created, then id),
not by Jira's page token alone, so a resumed backfill neither skips nor repeats an issue.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import requests

from ticket_bridge.adapters.jira import adf, webhooks
from ticket_bridge.adapters.jira.client import JiraClient, Refusal
from ticket_bridge.adapters.jira.config import JiraConfig
from ticket_bridge.adapters.jira.payloads import (
    ChangeItem,
    History,
    HistoryPage,
    TransitionOffer,
    offers,
    parse_time,
)
from ticket_bridge.adapters.jira.translate import translation
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
from ticket_bridge.bridge.errors import (
    ConfigError,
    Conflict,
    NotFound,
    ParkLink,
    RateLimited,
)
from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.model import Field, Json, Person, Visibility
from ticket_bridge.bridge.translation import TableTranslation

FIELDS = (
    "summary,description,status,priority,duedate,assignee,reporter,labels,issuetype,project,updated"
)
BACKLOG_FIELDS = (*FIELDS.split(","), "created")
SERVICE_DESK_INTERNAL = "sd.public.comment"
RECONCILE_LIMIT = 50
OFFERS = "transitions.fields"
"""The expansion that gives an issue's transition offers (with their screens) in its read."""
OFFERS_KEPT = 3600.0
PROJECTS_KEPT = 10_000
WEBHOOKS = "/rest/webhooks/1.0/"
WEBHOOK_EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created", "comment_updated")
Graph = dict[str, set[str]]
HISTORY_FIELDS: dict[str, Field] = {
    "summary": Field.TITLE,
    "description": Field.DESCRIPTION,
    "status": Field.STATUS,
    "priority": Field.PRIORITY,
    "duedate": Field.DUE,
    "assignee": Field.ASSIGNEE,
}
"""Changelog field ids of the synced fields."""
UNDO: dict[str, Callable[[ChangeItem], Any]] = {
    "summary": lambda i: i.old_text or "",
    "priority": lambda i: {"id": i.old} if i.old else None,
    "duedate": lambda i: i.old,
    "assignee": lambda i: {"accountId": i.old} if i.old else None,
}
"""An edit's value that puts back what a change item replaced, by its field id."""
UNDOABLE = frozenset(HISTORY_FIELDS[name] for name in UNDO)
"""Fields whose change items say exactly what they replaced (a description's is rendered text,
and a status moves by transitions): an edit of these alone is checked after it is made."""
HISTORY_PAGE = 100


def jql_minute(at: dt.datetime, zone: ZoneInfo, *, up: bool = False) -> str:
    """A JQL date literal at or before ``at`` (at or after it with ``up``), never inside the range.

    JQL reads ``"yyyy-MM-dd HH:mm"`` at minute precision in the API user's zone. A wall time the
    zone passes twice (the autumn DST hour) may be read as either instant, so such a literal is
    moved an hour outward. Minutes are cut in UTC: every zone in use has whole-minute offsets.
    """
    utc = at.astimezone(dt.UTC)
    edge = utc.replace(second=0, microsecond=0)
    if up and edge != utc:
        edge += dt.timedelta(minutes=1)
    local = edge.astimezone(zone)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        local = (edge + dt.timedelta(hours=1 if up else -1)).astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M}"


class Position:
    """Where a backlog stopped: the last ``created`` stamp returned and the ids returned at it.

    Issues sort by ``created`` then id, and new issues are created later than any listed one, so
    "after this position" is stable while issues are created (or deleted) between pages.
    """

    def __init__(self, created: dt.datetime, seen: Collection[str]) -> None:
        self.created = created
        self.seen = frozenset(seen)

    @classmethod
    def load(cls, cursor: str, tracker: str) -> Position:
        try:
            raw = json.loads(cursor)
            return cls(dt.datetime.fromisoformat(raw["created"]), [str(i) for i in raw["seen"]])
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                [f"{tracker}: backlog cursor {cursor[:80]!r} is not one this adapter wrote"]
            ) from exc

    def dump(self) -> str:
        return json.dumps({"created": self.created.isoformat(), "seen": sorted(self.seen)})

    def passed(self, created: dt.datetime, issue_id: str) -> bool:
        """Whether an issue created then was already returned before this position."""
        return created < self.created or (created == self.created and issue_id in self.seen)


def jql_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plan(
    graph: Mapping[str, Collection[str]], start: str, targets: Collection[str]
) -> list[str] | None:
    """The shortest status path from ``start`` to any of ``targets`` (BFS), or None."""
    if start in targets:
        return [start]
    previous: dict[str, str] = {start: start}
    todo = deque([start])
    while todo:
        here = todo.popleft()
        for there in sorted(graph.get(here, ())):
            if there in previous:
                continue
            previous[there] = here
            if there in targets:
                path = [there]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            todo.append(there)
    return None


class JiraAdapter:
    def __init__(
        self,
        name: str,
        config: JiraConfig,
        mapping: TrackerMapping,
        *,
        session: requests.Session | None = None,
        budget: RequestBudget | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self._name = name
        self.config = config
        self.client = JiraClient(name, config, session=session, budget=budget, clock=clock)
        self._translation = translation(name, mapping, config.zone)
        self._accounts = {account: email for email, account in config.user_map.items()}
        self._created: dict[str, str] = {}
        self._projects: OrderedDict[str, str] = OrderedDict()
        self._projects_lock = threading.Lock()
        self._known: dict[tuple[str, str], Graph] = {}
        self._explored: dict[tuple[str, str], set[str]] = {}
        self._offered: dict[tuple[tuple[str, str], str], tuple[float, list[TransitionOffer]]] = {}
        self._counts: dict[str, int | None] = {}
        self._recognised: str | None = None  # the account, as the sync side found it

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
        return frozenset(Field)

    def _ref(self, issue_id: str) -> str:
        return f"{self.name}:{issue_id}"

    # -- reading ---------------------------------------------------------------------------

    def _email(self, user: Any) -> str | None:
        """A user as the bridge knows people: the mapped email, else Jira's email, else the accountId.

        An unmapped account reads as its accountId, which ``_account`` writes back unchanged.
        """
        if not isinstance(user, dict) or not user.get("accountId"):
            return None
        account = str(user["accountId"])
        return self._accounts.get(account) or user.get("emailAddress") or account

    def _native(self, raw: dict[str, Any]) -> NativeTicket:
        f = raw["fields"]
        self._note_project(raw["id"], f["project"]["key"])
        prop = (raw.get("properties") or {}).get(self.config.property_key)
        return NativeTicket(
            id=raw["id"],
            fields={
                Field.TITLE: f.get("summary") or "",
                Field.DESCRIPTION: adf.to_markdown(f.get("description")),
                Field.STATUS: f["status"]["name"],
                Field.PRIORITY: (f.get("priority") or {}).get("name"),
                Field.DUE: f.get("duedate"),
                Field.ASSIGNEE: self._email(f.get("assignee")),
            },
            kind=(f.get("issuetype") or {}).get("name"),
            requester=self._email(f.get("reporter")),
            updated_at=parse_time(f["updated"]),
            correlation_key=prop.get("key") if isinstance(prop, dict) else None,
        )

    def read(self, ticket_id: str) -> NativeTicket:
        return self._native(self.client.issue(ticket_id, FIELDS, self.config.property_key))

    def _projects_clause(self) -> str:
        return "project in (" + ", ".join(self.config.projects) + ")"

    def _search(self, jql: str, fields: str, reconcile: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every page of a JQL search; raises before returning anything when a page fails."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "jql": jql,
                "maxResults": self.config.page_size,
                "fields": fields,
            }
            if token:
                params["nextPageToken"] = token
            if reconcile:
                params["reconcileIssues"] = list(reconcile)
            page = self.client.request("GET", "search/jql", params=params)
            found.extend(page.get("issues") or [])
            token = page.get("nextPageToken")
            if page.get("isLast", True) or not token:
                return found

    def changes(self, cursor: str | None) -> Changes:
        since = dt.datetime.fromisoformat(cursor) if cursor else self.config.poll_start
        start = since - dt.timedelta(minutes=self.config.poll_overlap_minutes)
        local = start.astimezone(ZoneInfo(self.client.time_zone))
        jql = (
            f'{self._projects_clause()} AND updated >= "{local:%Y/%m/%d %H:%M}" '
            "ORDER BY updated ASC, key ASC"
        )
        stamps: dict[str, dt.datetime] = {}
        latest = since
        for issue in self._search(jql, "updated"):
            updated = parse_time(issue["fields"]["updated"])
            stamps[issue["id"]] = max(updated, stamps.get(issue["id"], updated))
            latest = max(latest, updated)
        return Changes(
            ids=tuple(stamps), cursor=latest.astimezone(dt.UTC).isoformat(), stamps=stamps
        )

    def _backlog_jql(self, query: BacklogQuery, since: dt.datetime | None, zone: ZoneInfo) -> str:
        """The backlog's JQL without ORDER BY; bounds widened to whole minutes, never narrowed."""
        clauses = [self._projects_clause()]
        if since is not None:
            clauses.append(f'created >= "{jql_minute(since, zone)}"')
        if query.created_until is not None:
            clauses.append(f'created < "{jql_minute(query.created_until, zone, up=True)}"')
        if query.native and query.native.strip():
            clauses.append(f"({query.native.strip()})")
        return " AND ".join(clauses)

    def _refused(self, query: BacklogQuery, refusal: Refusal) -> ConfigError:
        native = " ".join((query.native or "").split())
        what = f"the backlog filter {native!r}" if native else "the backlog query"
        return ConfigError(
            [
                f"{self.name}: Jira refused {what} ({refusal.status}): {' '.join(refusal.text.split())}"
            ]
        )

    def backlog(self, query: BacklogQuery, cursor: str | None) -> BacklogPage:
        """One page of issues created in the range and matching ``query.native`` (JQL), oldest first.

        Each call searches from the cursor's minute (JQL's precision) and drops what the cursor
        already passed, so the cursor never expires as Jira's page token does (7 days) and
        survives issues created or deleted meanwhile. ``total`` is Jira's approximate count of
        the whole range, asked once per query. Jira's search lags behind writes: an issue created
        a moment ago may be missing, so a backfill should end its range in the past.
        """
        position = Position.load(cursor, self.name) if cursor else None
        zone = ZoneInfo(self.client.time_zone)
        since = query.created_from
        if position is not None and (since is None or position.created > since):
            since = position.created
        jql = self._backlog_jql(query, since, zone) + " ORDER BY created ASC, id ASC"
        token: str | None = None
        while True:
            body: dict[str, Any] = {
                "jql": jql,
                "maxResults": self.config.page_size,
                "fields": list(BACKLOG_FIELDS),
                "properties": [self.config.property_key],
            }
            if token:
                body["nextPageToken"] = token
            page = self.client.request("POST", "search/jql", body=body, allow=(400,))
            if isinstance(page, Refusal):
                raise self._refused(query, page)
            found: list[tuple[dt.datetime, dict[str, Any]]] = []
            for raw in page.get("issues") or []:
                created = parse_time(raw["fields"]["created"])
                if query.created_from is not None and created < query.created_from:
                    continue
                if query.created_until is not None and created >= query.created_until:
                    continue
                if position is not None and position.passed(created, str(raw["id"])):
                    continue
                found.append((created, raw))
            token = page.get("nextPageToken")
            done = bool(page.get("isLast", True)) or not token
            if found or done:
                break
        tickets = tuple(self._native(raw) for _, raw in found)
        after: str | None = None
        if not done:
            last = found[-1][0]
            seen = {str(raw["id"]) for created, raw in found if created == last}
            if position is not None and position.created == last:
                seen |= position.seen
            after = Position(last, seen).dump()
        return BacklogPage(tickets=tickets, cursor=after, total=self._count(query, zone))

    def _count(self, query: BacklogQuery, zone: ZoneInfo) -> int | None:
        jql = self._backlog_jql(query, query.created_from, zone)
        if jql not in self._counts:
            answer = self.client.request(
                "POST", "search/approximate-count", body={"jql": jql}, allow=(400,)
            )
            if isinstance(answer, Refusal):
                raise self._refused(query, answer)
            count = answer.get("count")
            self._counts[jql] = int(count) if isinstance(count, int) else None
        return self._counts[jql]

    def find(self, correlation_key: str) -> NativeTicket | None:
        """The issue whose ``ticket-bridge`` property holds the key.

        Jira's search index lags behind writes. Issues this process created are read directly by
        id (issue reads are consistent) and also passed as ``reconcileIssues`` to the search;
        an issue created by a process that died before learning its id is found by the search
        once the index caught up, which the bridge's retry backoff outlasts.
        """
        known = self._created.get(correlation_key)
        if known is not None:
            try:
                ticket = self.read(known)
            except NotFound:
                del self._created[correlation_key]
            else:
                if ticket.correlation_key == correlation_key:
                    return ticket
        jql = (
            f"{self._projects_clause()} AND issue.property[{self.config.property_key}].key = "
            f"{jql_string(correlation_key)}"
        )
        reconcile = list(self._created.values())[-RECONCILE_LIMIT:]
        for issue in self._search(jql, "id", reconcile):
            ticket = self.read(issue["id"])
            if ticket.correlation_key == correlation_key:
                return ticket
        return None

    # -- writing ---------------------------------------------------------------------------

    def _field_values(self, values: Mapping[Field, Json], ref: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, value in values.items():
            match field:
                case Field.TITLE:
                    out["summary"] = value
                case Field.DESCRIPTION:
                    out["description"] = (
                        adf.from_markdown(value) if isinstance(value, str) and value else None
                    )
                case Field.PRIORITY:
                    if value is None:
                        out["priority"] = None
                    elif str(value) in self.config.priority_ids:
                        out["priority"] = {"id": self.config.priority_ids[str(value)]}
                    else:
                        out["priority"] = {"name": value}
                case Field.DUE:
                    out["duedate"] = value
                case Field.ASSIGNEE:
                    out["assignee"] = (
                        None if not value else {"accountId": self._account(str(value), ref)}
                    )
        return out

    def _account(self, email: str, ref: str) -> str:
        if email in self.config.user_map:
            return self.config.user_map[email]
        if "@" not in email:
            return email
        raise ParkLink(
            f"{ref}: assignee {email} has no Jira account in user_map of [trackers.{self.name}]: "
            "add email = accountId there"
        )

    def create(self, draft: Draft) -> NativeTicket:
        existing = self.find(draft.correlation_key)
        if existing is not None:
            return existing
        if draft.attempted_at is not None:
            settled = draft.attempted_at + dt.timedelta(seconds=self.config.index_lag)
            wait = (settled - self.client.clock()).total_seconds()
            if wait > 0:
                raise RateLimited(
                    self.name,
                    wait,
                    f"an earlier create of {draft.correlation_key} may not be searchable yet: "
                    f"looking again in {wait:.0f}s rather than creating a second issue",
                )
        values: dict[Field, Json] = {
            f: v for f, v in draft.fields.items() if f is not Field.STATUS and v is not None
        }
        fields = {
            "project": {"key": self.config.home_project},
            "issuetype": {
                "name": draft.kind
                if isinstance(draft.kind, str) and draft.kind
                else self.config.default_issue_type
            },
            **self._field_values(values, f"{self.name}:new"),
        }
        if not fields.get("summary"):
            fields["summary"] = draft.correlation_key
        if self.config.create_labels:
            fields["labels"] = list(self.config.create_labels)
        body = {
            "fields": fields,
            "properties": [
                {"key": self.config.property_key, "value": {"key": draft.correlation_key}}
            ],
        }
        created = self.client.request("POST", "issue", body=body)
        issue_id = str(created["id"])
        self._created[draft.correlation_key] = issue_id
        status = draft.fields.get(Field.STATUS)
        if isinstance(status, str) and status:
            self._move(issue_id, status)
        return self.read(issue_id)

    def update(
        self, ticket_id: str, patch: Mapping[Field, Json], *, seen: NativeTicket | None = None
    ) -> NativeTicket:
        """Jira has no conditional write. An edit of fields a changelog entry can undo is made
        first and checked after (``_checked_edit``); anything else is checked by a read just
        before writing (``seen``'s fields, not its stamp: a comment moves the stamp), and a
        status change starts from what that read found.

        A move answers 204, so what it leaves is the guard read with the status reached: the
        delivery of the move names the bridge's account, an echo that needs no read.
        """
        ref = self._ref(ticket_id)
        fields = self._field_values({f: v for f, v in patch.items() if f is not Field.STATUS}, ref)
        status = patch.get(Field.STATUS)
        target = status if isinstance(status, str) and status else None
        if seen is not None and target is None and fields and set(patch) <= UNDOABLE:
            return self._checked_edit(ticket_id, fields, seen, ref)
        raw: dict[str, Any] | None = None
        if seen is not None:
            raw = self.client.issue(
                ticket_id, FIELDS, self.config.property_key, expand=OFFERS if target else ""
            )
            moved = self._native(raw).moved_since(seen)
            if moved:
                raise Conflict(
                    self.name,
                    f"{', '.join(moved)} changed since {seen.updated_at.isoformat()}",
                    ref=ref,
                )
        after: NativeTicket | None = None
        if fields:
            answer = self.client.request(
                "PUT",
                f"issue/{ticket_id}",
                params=None if target else {"returnIssue": "true"},
                body={"fields": fields},
                ref=ref,
            )
            after = None if target else self._returned(answer, seen)
        if target:
            reached = self._move(ticket_id, target, raw)
            if raw is not None and not fields:
                native = self._native(raw)
                return native.model_copy(
                    update={"fields": {**native.fields, Field.STATUS: reached}}
                )
        return after if after is not None else self.read(ticket_id)

    def _checked_edit(
        self, ticket_id: str, fields: dict[str, Any], seen: NativeTicket, ref: str
    ) -> NativeTicket:
        """Edit, then read the changelog for anyone else's change since ``seen``: found, the
        edit is undone from its own entry's ``from`` values (on the fields nobody changed
        after it) and ``Conflict`` raised, so on balance nothing was written, as a guard read
        would have had it. The issue comes back with the edit, so this costs one request
        where a guard read costs two; the window for a lost update is the same few
        milliseconds between two requests.
        """
        me = self.identify()
        answer = self.client.request(
            "PUT",
            f"issue/{ticket_id}",
            params={"returnIssue": "true", "expand": "changelog"},
            body={"fields": fields},
            ref=ref,
        )
        since = self._since(ticket_id, answer, seen.updated_at, ref)
        ours = [h for h in since if me is not None and h.by(me)]
        foreign = [
            h for h in since if h not in ours and any(i.name in HISTORY_FIELDS for i in h.items)
        ]
        if not foreign:
            after = self._returned(answer, seen)
            return after if after is not None else self.read(ticket_id)
        undo: dict[str, Any] = {}
        if ours:
            later = {i.name for h in since if h.order > ours[-1].order for i in h.items}
            for item in ours[-1].items:
                if item.name in fields and item.name not in later:
                    undo[str(item.name)] = UNDO[str(item.name)](item)
        if undo:
            self.client.request("PUT", f"issue/{ticket_id}", body={"fields": undo}, ref=ref)
        changed = sorted(
            {
                HISTORY_FIELDS[str(i.name)]
                for h in foreign
                for i in h.items
                if i.name in HISTORY_FIELDS
            }
        )
        raise Conflict(
            self.name,
            f"{', '.join(changed)} changed since {seen.updated_at.isoformat()}"
            + (
                f"; the edit of {', '.join(sorted(HISTORY_FIELDS[n] for n in undo))} was undone"
                if undo
                else ""
            ),
            ref=ref,
        )

    def _since(self, ticket_id: str, answer: Any, since: dt.datetime, ref: str) -> list[History]:
        """The changelog entries after ``since``, oldest first: from the page the edit answered
        with when it holds them all, else read back from the end of the changelog API."""
        embedded = answer.get("changelog") if isinstance(answer, dict) else None
        page = (
            HistoryPage.model_validate(embedded)
            if embedded is not None
            else self._changelog(ticket_id, 0, ref)
        )
        found = list(page.entries)
        if page.start_at != 0 or len(found) < page.total:
            found, end = [], page.total
            while end > 0:
                start = max(0, end - HISTORY_PAGE)
                got = self._changelog(ticket_id, start, ref)
                found = [*got.entries, *found]
                if got.entries and got.entries[0].at <= since:
                    break
                end = start
        return sorted((h for h in found if h.at > since), key=lambda h: h.order)

    def _changelog(self, ticket_id: str, start: int, ref: str) -> HistoryPage:
        return HistoryPage.model_validate(
            self.client.request(
                "GET",
                f"issue/{ticket_id}/changelog",
                params={"startAt": start, "maxResults": HISTORY_PAGE},
                ref=ref,
            )
        )

    def _returned(self, answer: Any, seen: NativeTicket | None) -> NativeTicket | None:
        """The issue an edit answered with, when it has every field a read asks for (its
        properties are not returned: the correlation key is the one ``seen`` had)."""
        fields = answer.get("fields") if isinstance(answer, dict) else None
        if not isinstance(fields, dict) or any(f not in fields for f in FIELDS.split(",")):
            return None
        native = self._native(answer)
        if seen is not None and native.correlation_key is None:
            native = native.model_copy(update={"correlation_key": seen.correlation_key})
        return native

    # -- workflow --------------------------------------------------------------------------

    def _targets(self, native: str) -> set[str]:
        """Statuses that represent what ``native`` means by default (the exact one is preferred)."""
        table = self.translation.mapping.status
        meaning = table.default(native) if native in table.represents else None
        return {n for n, represented in table.represents.items() if meaning in represented}

    def _graph(self, where: tuple[str, str]) -> Graph:
        if where not in self._known:
            self._known[where] = {s: set(t) for s, t in self.config.workflow.items()}
            self._explored[where] = set()
        return self._known[where]

    def _move(self, issue_id: str, target: str, raw: dict[str, Any] | None = None) -> str:
        """Walk the shortest known path of transitions to ``target`` (or an equivalent status);
        returns the status reached.

        The transitions API only shows what leaves the current status, so the graph is what the
        config lists plus every offer seen (an offer list replaces the config's guess for its
        status). With no known path, and ``explore_workflow`` on, the walk steps into the nearest
        status whose transitions are unknown and plans again; each step is re-planned from the
        offers actually available, so a stale graph costs a re-plan, never a wrong transition.
        ``raw`` is the issue as just read, when the caller has it; read with ``OFFERS``, it
        holds the first step's offers.
        """
        ref = self._ref(issue_id)
        if raw is None:
            raw = self.client.issue(issue_id, "status,project,issuetype", "", expand=OFFERS)
        status = str(raw["fields"]["status"]["name"])
        where = (raw["fields"]["project"]["key"], raw["fields"]["issuetype"]["name"])
        fresh = offers(raw["transitions"]) if isinstance(raw.get("transitions"), list) else None
        graph, explored = self._graph(where), self._explored[where]
        equivalent = self._targets(target) | {target}
        origin, walked = status, [status]
        for _ in range(4 * (len(graph) + len(equivalent)) + 8):
            if status == target:
                return status
            offered, kept = self._offers(issue_id, where, status, fresh)
            fresh = None
            graph[status] = {o.to.name for o in offered}
            explored.add(status)
            path = plan(graph, status, {target})
            if path is None and status in equivalent:
                return status
            path = path or plan(graph, status, equivalent)
            if path is None and self.config.explore_workflow:
                unknown = {s for targets in graph.values() for s in targets} - explored
                path = plan(graph, status, unknown)
            if path is None:
                raise ParkLink(self._unreachable(ref, where, origin, target, status, walked, graph))
            step = next(o for o in offered if o.to.name == path[1])
            screen = self._screen(ref, where, step, status)
            if self.client.transition(issue_id, step.id, screen, allow=(400,) if kept else ()):
                self._offered.pop((where, status), None)
                continue  # a kept offer this issue does not have: ask Jira for its offers
            status = path[1]
            walked.append(status)
        raise ParkLink(self._unreachable(ref, where, origin, target, status, walked, graph))

    def _offers(
        self,
        issue_id: str,
        where: tuple[str, str],
        status: str,
        fresh: list[TransitionOffer] | None = None,
    ) -> tuple[list[TransitionOffer], bool]:
        """The transitions out of ``status`` in this workflow, and whether they were kept.

        ``fresh`` are this issue's own, read with it; else offers are kept for ``OFFERS_KEPT``
        seconds, sparing a GET before each POST. A kept offer cannot send the issue anywhere
        unplanned (a transition has one destination); one this issue lacks is refused,
        dropped, and the issue's own offers asked for. Every read with ``OFFERS`` renews them.
        """
        now = time.monotonic()
        if fresh is not None:
            self._offered[(where, status)] = (now, fresh)
            return fresh, False
        kept = self._offered.get((where, status))
        if kept is not None and now - kept[0] < OFFERS_KEPT:
            return kept[1], True
        offered = offers(self.client.transitions(issue_id))
        self._offered[(where, status)] = (now, offered)
        return offered, False

    def _screen(
        self, ref: str, where: tuple[str, str], offer: TransitionOffer, status: str
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key in offer.required():
            if key not in self.config.transition_defaults:
                raise ParkLink(
                    f"{ref}: the workflow of project {where[0]} ({where[1]}) requires {key} on "
                    f"transition '{offer.name}' ({status!r} -> {offer.to.name!r}) and "
                    f"transition_defaults of [trackers.{self.name}] has no {key}: add one"
                )
            values[key] = self.config.transition_defaults[key]
        return values

    @staticmethod
    def _unreachable(
        ref: str,
        where: tuple[str, str],
        origin: str,
        target: str,
        status: str,
        walked: list[str],
        graph: Graph,
    ) -> str:
        edges = "; ".join(
            f"{s} -> {', '.join(sorted(t)) or 'nothing'}" for s, t in sorted(graph.items())
        )
        moved = (
            f", the issue is now in {status!r} (walked {' -> '.join(walked)})"
            if len(walked) > 1
            else ""
        )
        return (
            f"{ref}: the workflow of project {where[0]} ({where[1]} issues) has no transition path "
            f"from {origin!r} to {target!r}{moved}; transitions seen: {edges}. Add a transition "
            f"to {target!r} in that workflow, or map the canonical status to a reachable one"
        )

    # -- comments --------------------------------------------------------------------------

    def _comment(self, raw: dict[str, Any]) -> NativeComment:
        document = raw.get("body") or adf.doc()
        blocks = list(document.get("content") or [])
        key = None
        if blocks and blocks[-1].get("type") == "paragraph":
            text = "".join(str(n.get("text", "")) for n in blocks[-1].get("content") or [])
            key = comments.mirror_of(text)
            if key is not None:
                blocks = blocks[:-1]
        body = adf.to_markdown({**document, "content": blocks})
        internal = raw.get("visibility") is not None or raw.get("jsdPublic") is False
        author = raw.get("author") or {}
        email = self._email(author)
        return NativeComment(
            id=str(raw["id"]),
            author=Person(
                name=str(author.get("displayName") or "Jira"),
                email=email if email and "@" in email else None,
            ),
            body=body,
            visibility=Visibility.INTERNAL if internal else Visibility.PUBLIC,
            created_at=parse_time(raw["created"]),
            mirror_of=key,
        )

    def comments(self, ticket_id: str) -> Sequence[NativeComment]:
        found: list[NativeComment] = []
        start = 0
        while True:
            page = self.client.request(
                "GET",
                f"issue/{ticket_id}/comment",
                params={
                    "startAt": start,
                    "maxResults": self.config.page_size,
                    "orderBy": "created",
                },
                ref=self._ref(ticket_id),
            )
            batch = page.get("comments") or []
            found.extend(self._comment(c) for c in batch)
            start += len(batch)
            if not batch or start >= int(page.get("total", 0)):
                return found

    def _project(self, ticket_id: str) -> str:
        known = self._projects.get(ticket_id)
        if known is not None:
            return known
        key = str(self.client.issue(ticket_id, "project", "")["fields"]["project"]["key"])
        self._note_project(ticket_id, key)
        return key

    def _note_project(self, issue_id: str, key: str) -> None:
        """Issue -> project key, for the latest ``PROJECTS_KEPT`` issues (one GET for others)."""
        with self._projects_lock:
            self._projects[issue_id] = key
            self._projects.move_to_end(issue_id)
            while len(self._projects) > PROJECTS_KEPT:
                self._projects.popitem(last=False)

    def _payload(self, ticket_id: str, mirror: Mirror) -> dict[str, Any]:
        text = comments.strip_marker(comments.render(mirror.comment))
        document = adf.from_markdown(text)
        marker = f"[//]: # ({comments.MARKER} {mirror.comment.id})"
        document["content"].append(
            {"type": "paragraph", "content": [{"type": "text", "text": marker}]}
        )
        body: dict[str, Any] = {"body": document}
        if mirror.visibility is Visibility.INTERNAL:
            if self._project(ticket_id) in self.config.service_desk_projects:
                body["properties"] = [{"key": SERVICE_DESK_INTERNAL, "value": {"internal": True}}]
            else:
                body["visibility"] = {
                    "type": self.config.internal.type.value,
                    "value": self.config.internal.value,
                }
        return body

    def add_comment(self, ticket_id: str, mirror: Mirror) -> NativeComment:
        raw = self.client.request(
            "POST",
            f"issue/{ticket_id}/comment",
            body=self._payload(ticket_id, mirror),
            ref=self._ref(ticket_id),
        )
        return self._comment(raw)

    def update_comment(self, ticket_id: str, comment_id: str, mirror: Mirror) -> NativeComment:
        body = self._payload(ticket_id, mirror)
        body.pop("properties", None)
        raw = self.client.request(
            "PUT", f"issue/{ticket_id}/comment/{comment_id}", body=body, ref=self._ref(ticket_id)
        )
        return self._comment(raw)

    def identify(self) -> str | None:
        """The API user's accountId (``GET myself``, asked once, shared with the time zone)."""
        self.client.myself()
        return self.client.account_id

    def recognise(self, account: str) -> None:
        self._recognised = account

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[Hint]:
        identity = self.client.account_id or self._recognised
        return webhooks.parse(
            self.name, self.config.webhook_secret, headers, body, identity=identity
        )

    # -- the live site ---------------------------------------------------------------------

    def inspect(self) -> Sequence[Finding]:
        """The site against what the mapping writes: statuses, transitions, priorities, webhooks.

        Only what the bridge writes must exist (``status_write``/``priority_write`` and
        ``priority_ids``); a mapped status it only reads may be absent from a workflow.
        """
        findings: list[Finding] = []
        for project in self.config.projects:
            findings += self._inspect_project(project)
        findings += self._inspect_priorities()
        findings += self._inspect_webhooks()
        return findings

    def _written(self, table: Mapping[Any, str]) -> dict[str, list[str]]:
        """Native value -> the canonical values the mapping writes as it."""
        out: dict[str, list[str]] = {}
        for canonical, native in table.items():
            out.setdefault(native, []).append(str(canonical.value))
        return out

    def _inspect_project(self, project: str) -> list[Finding]:
        source = self.translation.mapping.source
        try:
            types = self.client.request("GET", f"project/{project}/statuses")
        except NotFound:
            return [
                Finding(
                    severity=Severity.ERROR,
                    subject=f"project {project}",
                    message=f"project {project} does not exist or the API user cannot browse it: "
                    f"fix projects of [trackers.{self.name}] or the user's project permissions",
                )
            ]
        findings: list[Finding] = []
        for status, canonical in sorted(
            self._written(self.translation.mapping.status.write).items()
        ):
            lacking = [t["name"] for t in types if status not in {s["name"] for s in t["statuses"]}]
            if lacking:
                findings.append(
                    Finding(
                        severity=Severity.ERROR,
                        subject=f"status {status!r}",
                        message=f"project {project}: the workflow of issue type "
                        f"{', '.join(lacking)} has no status {status!r}, which {source} writes "
                        f"for {', '.join(canonical)}: add it there, or map those to a status it has",
                    )
                )
        return findings + self._inspect_transitions(project, types)

    def _inspect_transitions(self, project: str, types: list[dict[str, Any]]) -> list[Finding]:
        """Every written status reachable from every mapped one, per workflow, by its transitions.

        The workflow read needs *Administer Jira* or a project's *View workflow* permission;
        without it (a 403, or no workflow in the answer: the spec documents no 403) the paths are
        only found out issue by issue (``_move``), which is said as a warning, not assumed fine.
        """
        project_id = str(self.client.request("GET", f"project/{project}")["id"])
        read = self.client.request(
            "POST",
            "workflows",
            body={
                "projectAndIssueTypes": [
                    {"projectId": project_id, "issueTypeId": str(t["id"])} for t in types
                ]
            },
            allow=(403,),
        )
        if isinstance(read, Refusal) or not read.get("workflows"):
            answer = f"{read.status}" if isinstance(read, Refusal) else "no workflow visible to it"
            return [
                Finding(
                    severity=Severity.WARNING,
                    subject="transitions",
                    message=f"project {project}: the API user may not read workflows ({answer}; "
                    "needs Administer Jira or the project's View workflow permission), so paths "
                    "between mapped statuses were not checked; a missing one parks the issue "
                    "that needs it",
                )
            ]
        names = {str(s["statusReference"]): str(s["name"]) for s in read.get("statuses") or []}
        mapped = self.translation.mapping.status.natives()
        needed = set(self.translation.mapping.status.write.values())
        findings: list[Finding] = []
        for workflow in read.get("workflows") or []:
            present = {names.get(str(s["statusReference"]), "") for s in workflow["statuses"]}
            graph: Graph = {s: set() for s in present}
            for transition in workflow.get("transitions") or []:
                to = names.get(str(transition.get("toStatusReference")))
                if to is None or transition.get("type") == "INITIAL":
                    continue
                links = transition.get("links") or []
                if transition.get("type") == "GLOBAL" or not links:
                    sources = present - {to}
                else:
                    sources = {
                        names.get(str(link.get("fromStatusReference")), "") for link in links
                    }
                for source in sources:
                    graph.setdefault(source, set()).add(to)
            for target in sorted(needed & present):
                goal = self._targets(target) | {target}
                stuck = sorted(
                    s for s in mapped & present if s != target and plan(graph, s, goal) is None
                )
                if stuck:
                    findings.append(
                        Finding(
                            severity=Severity.ERROR,
                            subject=f"transitions to {target!r}",
                            message=f"project {project}: workflow {workflow['name']!r} has no "
                            f"transition path to {target!r} from {', '.join(map(repr, stuck))}: "
                            "an issue there cannot be moved and parks; add a transition",
                        )
                    )
        return findings

    def _schemes(self) -> list[dict[str, Any]]:
        schemes: list[dict[str, Any]] = []
        start = 0
        while True:
            page = self.client.request(
                "GET",
                "priorityscheme",
                params={"startAt": str(start), "maxResults": "50", "expand": "priorities,projects"},
            )
            values = page.get("values") or []
            schemes += values
            start += len(values)
            if page.get("isLast", True) or not values:
                return schemes

    def _inspect_priorities(self) -> list[Finding]:
        """Each project's priority scheme (the default one unless the project is in another)
        holds every priority the bridge writes, with the id ``priority_ids`` says.

        Schemes list 50 priorities and 50 projects inline: enough for any real scheme's
        priorities; a project beyond the first 50 of a non-default scheme reads as default.
        """
        wanted = self._written(self.translation.mapping.priority.write)
        for name in self.config.priority_ids:
            wanted.setdefault(name, [])
        schemes = self._schemes()
        default = next((s for s in schemes if s.get("default") or s.get("isDefault")), None)
        findings: list[Finding] = []
        for project in self.config.projects:
            scheme = next(
                (
                    s
                    for s in schemes
                    if project
                    in {p.get("key") for p in (s.get("projects") or {}).get("values") or []}
                ),
                default,
            )
            if scheme is None:
                continue
            held = {
                str(p["name"]): str(p["id"])
                for p in (scheme.get("priorities") or {}).get("values") or []
            }
            for name, canonical in sorted(wanted.items()):
                why = (
                    f"which the mapping writes for {', '.join(canonical)}"
                    if canonical
                    else f"which priority_ids of [trackers.{self.name}] names"
                )
                if name not in held:
                    findings.append(
                        Finding(
                            severity=Severity.ERROR,
                            subject=f"priority {name!r}",
                            message=f"project {project}: priority scheme {scheme['name']!r} has "
                            f"no priority {name!r}, {why}: add it to the scheme, or map to one it has",
                        )
                    )
                elif self.config.priority_ids.get(name, held[name]) != held[name]:
                    findings.append(
                        Finding(
                            severity=Severity.ERROR,
                            subject=f"priority {name!r}",
                            message=f"priority_ids of [trackers.{self.name}] gives {name!r} id "
                            f"{self.config.priority_ids[name]}, Jira's is {held[name]}: fix the id",
                        )
                    )
        return findings

    def _inspect_webhooks(self) -> list[Finding]:
        """An enabled admin webhook posting issue and comment events (to ``webhook_url`` if set).

        Admin webhooks (``/rest/webhooks/1.0``) are what carries the ``X-Hub-Signature`` the
        bridge verifies; listing them needs *Administer Jira*.
        """
        listed = self.client.request("GET", "webhook", root=WEBHOOKS, allow=(403,))
        if isinstance(listed, Refusal):
            return [
                Finding(
                    severity=Severity.WARNING,
                    subject="webhooks",
                    message=f"the API user may not list webhooks ({listed.status}, needs Administer "
                    "Jira), so whether Jira posts changes to the bridge was not checked",
                )
            ]
        url = (self.config.webhook_url or "").rstrip("/")
        hooks = [
            h
            for h in listed or []
            if h.get("enabled", True) and (not url or str(h.get("url", "")).rstrip("/") == url)
        ]
        where = f"to {url}" if url else "(webhook_url is not set, so any URL counts)"
        issue_hooks = [h for h in hooks if set(h.get("events") or []) & set(WEBHOOK_EVENTS[:2])]
        if not issue_hooks:
            return [
                Finding(
                    severity=Severity.WARNING,
                    subject="webhooks",
                    message=f"no enabled Jira webhook posts issue events {where}: changes arrive "
                    "only by polling; register one as documented",
                )
            ]
        events: set[str] = set().union(*(set(h.get("events") or []) for h in issue_hooks))
        missing = [e for e in WEBHOOK_EVENTS if e not in events]
        if missing:
            return [
                Finding(
                    severity=Severity.WARNING,
                    subject="webhooks",
                    message=f"the Jira webhook {where} does not send {', '.join(missing)}: those "
                    "changes arrive only by polling",
                )
            ]
        return []
