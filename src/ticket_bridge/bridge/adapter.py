"""The contract every tracker adapter implements, in native terms.

Adapters speak native values (a Jira status name, a Zendesk ``due_at``); the reconciler turns them
into canonical values through the adapter's ``translation``, and compares native values with each
ref's base, never canonical with canonical.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Protocol

from pydantic import AwareDatetime

from ticket_bridge.bridge.model import Comment, Field, Frozen, Json, Person, Visibility
from ticket_bridge.bridge.translation import Translation


class NativeTicket(Frozen):
    """One ticket as a tracker holds it, after a read or a write."""

    id: str
    fields: dict[Field, Json]
    kind: Json = None
    requester: str | None = None
    updated_at: AwareDatetime
    correlation_key: str | None = None

    def moved_since(self, seen: NativeTicket) -> list[Field]:
        """The fields ``seen`` holds that this ticket no longer holds as ``seen`` had them: what
        a write guarded by ``seen`` must not overwrite. A comment, or a field the bridge does
        not read, moves the stamp but none of these."""
        return [
            field
            for field, value in seen.fields.items()
            if field in self.fields and self.fields[field] != value
        ]


class Draft(Frozen):
    """What a counterpart is created with: native field values, native kind and the correlation key.

    ``attempted_at`` is set when an earlier create of it was attempted and never settled: a
    tracker whose search lags behind its writes (Jira) must not create again before it caught up.
    """

    fields: dict[Field, Json]
    kind: Json = None
    requester: str | None = None
    correlation_key: str
    attempted_at: AwareDatetime | None = None


class NativeComment(Frozen):
    """A comment as a tracker holds it; ``mirror_of`` is set when it carries our mirror marker.

    ``ticket_id`` is set when a posted comment landed in another ticket than the one asked for
    (a Zendesk follow-up of a closed ticket): the link moves there.
    """

    id: str
    author: Person
    body: str
    visibility: Visibility
    created_at: AwareDatetime
    mirror_of: str | None = None
    ticket_id: str | None = None


class Mirror(Frozen):
    """A comment to post as a mirror of ``comment``, with the visibility the rules chose."""

    comment: Comment
    visibility: Visibility


class Changes(Frozen):
    """One pass over a tracker's change feed: ticket ids changed since the cursor, and the new cursor.

    ``stamps`` holds, where the feed says, when each ticket was last updated: a feed that looks
    back over a window names the same tickets again and again, and a ticket whose stamp the
    bridge has already seen needs no read.
    """

    ids: tuple[str, ...]
    cursor: str
    stamps: Mapping[str, AwareDatetime] = {}


class BacklogQuery(Frozen):
    """Which existing tickets a backfill takes: created in ``[created_from, created_until)`` and
    matching a tracker-native filter (JQL, Zendesk search terms, a ClickUp List id)."""

    created_from: AwareDatetime | None = None
    created_until: AwareDatetime | None = None
    native: str | None = None


class BacklogPage(Frozen):
    """One page of a backlog, oldest created first.

    ``cursor`` is where the next page starts (None after the last one); it stays valid while
    tickets are created, so a backfill resumed from it neither skips nor repeats a ticket.
    ``total`` is the tracker's count of matching tickets, when it gives one.
    """

    tickets: tuple[NativeTicket, ...]
    cursor: str | None
    total: int | None = None


class Severity(StrEnum):
    ERROR = "error"  # sync of some tickets will fail or park
    WARNING = "warning"  # sync works, worse than it could (no webhook: polling only)


class Finding(Frozen):
    """What a live check of a tracker found missing for the mapping or the config."""

    severity: Severity
    subject: str
    message: str


class Scope(StrEnum):
    """What of a ticket a delivery says changed: its fields, its comments, or it cannot tell.

    A worker reads only that of the ticket: a priority change needs no comment read, a new
    comment no ticket read. A delivery that cannot tell (a trigger's body, a created ticket)
    is ``ALL``, and so is anything the poller or a sweep finds.
    """

    FIELDS = "fields"
    COMMENTS = "comments"
    ALL = "all"

    @property
    def fields(self) -> bool:
        return self is not Scope.COMMENTS

    @property
    def comments(self) -> bool:
        return self is not Scope.FIELDS


def covering(scopes: Iterable[Scope]) -> Scope:
    """The one scope that covers all of ``scopes`` (deliveries about one ticket, coalesced)."""
    found = set(scopes)
    if len(found) == 1:
        return found.pop()
    return Scope.ALL


class Hint(Frozen):
    """What a verified webhook delivery says: this ticket changed; read it.

    ``stamp`` is the ticket's updated stamp as the delivery carries it, where it does: a
    delivery about a version the bridge has already seen (the echo of its own write) needs no
    read at all. ``echo`` says every change the delivery reports was made by the account the
    bridge acts as (``Adapter.identify``): the base already holds it, so it needs no read either.
    ``scope`` says what of the ticket changed, so what to read.
    """

    tracker: str
    ticket_id: str
    delivery_id: str
    stamp: AwareDatetime | None = None
    echo: bool = False
    scope: Scope = Scope.ALL


class Adapter(Protocol):
    """One tracker instance. Errors are raised as ``bridge.errors`` types, translated at this boundary."""

    @property
    def name(self) -> str:
        """The instance name from the config (``zendesk``, ``jira-eng``)."""

    @property
    def customer_facing(self) -> bool:
        """Whether requesters read this tracker: internal content never reaches it as public."""

    @property
    def internal_comments(self) -> bool:
        """Whether this tracker can hold a comment only agents see."""

    @property
    def translation(self) -> Translation: ...

    @property
    def fields(self) -> frozenset[Field]:
        """The canonical fields the bridge can write to this tracker's tickets after creating them.

        A ticket is created with every synced field; a field outside this set (Zendesk's
        description, the first comment) is only ever read.
        """

    def read(self, ticket_id: str) -> NativeTicket: ...

    def changes(self, cursor: str | None) -> Changes:
        """Tickets changed since ``cursor`` (None: the first poll, from the configured start).

        Pages may overlap; the caller dedupes and commits the returned cursor only after a clean pass.
        """

    def backlog(self, query: BacklogQuery, cursor: str | None) -> BacklogPage:
        """Tickets that exist now and match ``query``, a page per call, for a backfill."""

    def inspect(self) -> Sequence[Finding]:
        """The live tracker against what the mapping and config need: every mapped status and
        priority exists, transitions reach them, webhooks point here. Empty when all is there."""

    def find(self, correlation_key: str) -> NativeTicket | None:
        """The ticket carrying this correlation key, so a retried create finds the first one."""

    def create(self, draft: Draft) -> NativeTicket:
        """Create a ticket, or return the one that already carries ``draft.correlation_key``."""

    def update(
        self, ticket_id: str, patch: Mapping[Field, Json], *, seen: NativeTicket | None = None
    ) -> NativeTicket:
        """Write native values and return the ticket as it stands after the write.

        ``seen`` is the ticket the patch was computed against: as just read, or as the bridge
        last read or wrote it (its base), when a hint named another ticket of the link. The
        adapter raises ``Conflict`` when a field ``seen`` holds moved on since, having written
        nothing on balance (``NativeTicket.moved_since``; by a conditional write where the
        tracker has one, by the tracker's history of the write, undoing it, or by a read just
        before writing); a stamp moved by a comment alone is no conflict. It may spare reads
        with what ``seen`` holds. The returned ticket may have another id (a Zendesk follow-up
        of a closed ticket): the link moves to it.
        """

    def comments(self, ticket_id: str) -> Sequence[NativeComment]:
        """Every comment of the ticket, oldest first, with mirror markers parsed."""

    def add_comment(self, ticket_id: str, mirror: Mirror) -> NativeComment:
        """Post a mirror with its attribution line and marker."""

    def update_comment(
        self, ticket_id: str, comment_id: str, mirror: Mirror
    ) -> NativeComment | None:
        """Rewrite a mirror we posted, after its original was edited (same marker).

        None when the tracker cannot edit comments (Zendesk): the mirror keeps its first words,
        rather than the edit arriving as a second comment.
        """

    def identify(self) -> str | None:
        """The id of the account the bridge acts as, asked of the tracker once and kept.

        Until it is known (the tracker was down), ``parse_webhook`` marks no delivery an echo
        and each is read as before. None when the tracker's deliveries name no actor.
        """

    def recognise(self, account: str) -> None:
        """Take the account ``identify`` found in another process (the daemon's sync side), so
        ``parse_webhook`` here marks echoes without asking the tracker."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[Hint]:
        """Verify a delivery and say what it names; raise ``WebhookRejected`` for a bad one.

        Never calls the tracker: it runs while the tracker waits for an answer."""
