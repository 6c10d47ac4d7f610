"""The memory tracker itself: tickets, comments, a change feed, and injectable faults.

People (tests, the demo) edit it through ``open_ticket``/``edit``/``comment``; the adapter uses
the ``api_*`` methods, which is where faults strike, as they would on a real server.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ticket_bridge.bridge.errors import Conflict, NotFound, RateLimited, Transient
from ticket_bridge.bridge.model import Field, Json, Person

Fault = Literal["transient", "rate_limited", "crash_after_write"]


class SimulatedCrash(BaseException):
    """The bridge process dies right after the tracker applied a write: nothing after it runs."""


@dataclass
class StoredComment:
    id: str
    author: Person
    body: str
    public: bool
    created_at: dt.datetime


@dataclass
class StoredTicket:
    id: str
    fields: dict[Field, Json]
    kind: str | None
    requester: str | None
    key: str | None
    updated_at: dt.datetime
    seq: int
    created_at: dt.datetime
    comments: list[StoredComment] = field(default_factory=list)


class MemoryTracker:
    def __init__(
        self,
        name: str,
        clock: Callable[[], dt.datetime] | None = None,
        *,
        internal_comments: bool = True,
    ) -> None:
        self.name = name
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.internal_comments = internal_comments
        self.tickets: dict[str, StoredTicket] = {}
        self.faults: deque[tuple[str, Fault, float, str | None]] = deque()
        self.calls: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._comment_ids = itertools.count(1)

    # -- what people do --------------------------------------------------------------------

    def open_ticket(
        self,
        title: str,
        *,
        kind: str | None = None,
        requester: str | None = None,
        key: str | None = None,
        **values: Json,
    ) -> str:
        ticket_id = str(next(self._ids))
        fields: dict[Field, Json] = {f: None for f in Field}
        fields[Field.TITLE] = title
        fields[Field.DESCRIPTION] = ""
        fields.update({Field(k): v for k, v in values.items()})
        self.tickets[ticket_id] = StoredTicket(
            id=ticket_id,
            fields=fields,
            kind=kind,
            requester=requester,
            key=key,
            updated_at=self.clock(),
            seq=next(self._seq),
            created_at=self.clock(),
        )
        return ticket_id

    def edit(self, ticket_id: str, **values: Json) -> None:
        ticket = self._ticket(ticket_id)
        ticket.fields.update({Field(k): v for k, v in values.items()})
        self._touch(ticket)

    def comment(self, ticket_id: str, author: Person, body: str, *, public: bool = True) -> str:
        ticket = self._ticket(ticket_id)
        comment = StoredComment(
            id=f"c{next(self._comment_ids)}",
            author=author,
            body=body,
            public=public,
            created_at=self.clock(),
        )
        ticket.comments.append(comment)
        self._touch(ticket)
        return comment.id

    def edit_comment(self, ticket_id: str, comment_id: str, body: str) -> None:
        ticket = self._ticket(ticket_id)
        comment = next(c for c in ticket.comments if c.id == comment_id)
        comment.body = body
        self._touch(ticket)

    def inject(
        self,
        operation: str,
        fault: Fault,
        retry_after: float = 0.0,
        *,
        ticket_id: str | None = None,
    ) -> None:
        """The next ``operation`` call ("read", "update", "create", "add_comment", ...) fails this way.

        With ``ticket_id``, only a call about that ticket.
        """
        self.faults.append((operation, fault, retry_after, ticket_id))

    # -- the API the adapter uses ----------------------------------------------------------

    def _ticket(self, ticket_id: str) -> StoredTicket:
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise NotFound(self.name, "no such ticket", ref=f"{self.name}:{ticket_id}") from None

    def _touch(self, ticket: StoredTicket) -> None:
        ticket.updated_at = self.clock()
        ticket.seq = next(self._seq)

    def _enter(self, operation: str, ticket_id: str | None = None) -> Fault | None:
        """Count the call, and raise or arm the first fault queued for this operation."""
        self.calls[operation] = self.calls.get(operation, 0) + 1
        for index, (op, fault, retry_after, only) in enumerate(self.faults):
            if op != operation or (only is not None and only != ticket_id):
                continue
            del self.faults[index]
            if fault == "transient":
                raise Transient(self.name, f"{operation}: 503 Service Unavailable")
            if fault == "rate_limited":
                raise RateLimited(self.name, retry_after, f"{operation}: 429 Too Many Requests")
            return fault
        return None

    @staticmethod
    def _after_write(fault: Fault | None) -> None:
        if fault == "crash_after_write":
            raise SimulatedCrash

    def api_read(self, ticket_id: str) -> StoredTicket:
        self._enter("read", ticket_id)
        return self._ticket(ticket_id)

    def api_find(self, key: str) -> StoredTicket | None:
        self._enter("find")
        return next((t for t in self.tickets.values() if t.key == key), None)

    def api_create(
        self, fields: dict[Field, Json], kind: str | None, requester: str | None, key: str
    ) -> StoredTicket:
        fault = self._enter("create")
        existing = next((t for t in self.tickets.values() if t.key == key), None)
        if existing is not None:
            return existing
        ticket_id = self.open_ticket(
            str(fields.get(Field.TITLE) or ""), kind=kind, requester=requester, key=key
        )
        ticket = self.tickets[ticket_id]
        ticket.fields.update(fields)
        self._after_write(fault)
        return ticket

    def api_update(
        self,
        ticket_id: str,
        patch: dict[Field, Json],
        *,
        expect: dict[Field, Json] | None = None,
    ) -> StoredTicket:
        """Apply a patch; with ``expect``, a conditional write: refused when a field no longer
        holds the value expected (a comment, which moves the stamp, is no reason)."""
        fault = self._enter("update", ticket_id)
        ticket = self._ticket(ticket_id)
        if expect is not None and any(
            ticket.fields.get(field) != value for field, value in expect.items()
        ):
            raise Conflict(self.name, "changed since it was read", ref=f"{self.name}:{ticket_id}")
        ticket.fields.update(patch)
        self._touch(ticket)
        self._after_write(fault)
        return ticket

    def api_comments(self, ticket_id: str) -> list[StoredComment]:
        self._enter("comments", ticket_id)
        return list(self._ticket(ticket_id).comments)

    def api_add_comment(
        self, ticket_id: str, author: Person, body: str, public: bool
    ) -> StoredComment:
        fault = self._enter("add_comment", ticket_id)
        comment_id = self.comment(ticket_id, author, body, public=public)
        self._after_write(fault)
        return next(c for c in self.tickets[ticket_id].comments if c.id == comment_id)

    def api_update_comment(self, ticket_id: str, comment_id: str, body: str) -> StoredComment:
        fault = self._enter("update_comment", ticket_id)
        ticket = self._ticket(ticket_id)
        comment = next((c for c in ticket.comments if c.id == comment_id), None)
        if comment is None:
            raise NotFound(
                self.name, "no such comment", ref=f"{self.name}:{ticket_id}/{comment_id}"
            )
        comment.body = body
        self._touch(ticket)
        self._after_write(fault)
        return comment

    def api_backlog(
        self,
        after: int,
        *,
        created_from: dt.datetime | None,
        created_until: dt.datetime | None,
        where: dict[Field, str],
        page_size: int,
    ) -> tuple[list[StoredTicket], int | None, int]:
        """Tickets by creation (ids count up) after ticket ``after``: a page, the next cursor, the total."""
        self._enter("backlog")
        matching = [
            t
            for t in sorted(self.tickets.values(), key=lambda t: int(t.id))
            if (created_from is None or t.created_at >= created_from)
            and (created_until is None or t.created_at < created_until)
            and all(str(t.fields.get(f)) == v for f, v in where.items())
        ]
        rest = [t for t in matching if int(t.id) > after]
        page = rest[:page_size]
        more = len(rest) > page_size
        return page, int(page[-1].id) if more else None, len(matching)

    def api_changes(self, after: int) -> tuple[list[str], int]:
        self._enter("changes")
        changed = sorted((t for t in self.tickets.values() if t.seq > after), key=lambda t: t.seq)
        cursor = max((t.seq for t in changed), default=after)
        return [t.id for t in changed], cursor
