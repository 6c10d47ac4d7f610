"""The Adapter Protocol over a memory tracker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ticket_bridge.adapters.memory import webhooks
from ticket_bridge.adapters.memory.config import MemoryConfig
from ticket_bridge.adapters.memory.fake import MemoryTracker, StoredComment, StoredTicket
from ticket_bridge.adapters.memory.translate import translation
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
from ticket_bridge.bridge.errors import ConfigError
from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.model import Field, Json, Person, Visibility
from ticket_bridge.bridge.translation import TableTranslation

BRIDGE = Person(name="ticket-bridge")


class MemoryAdapter:
    def __init__(
        self, name: str, config: MemoryConfig, mapping: TrackerMapping, tracker: MemoryTracker
    ) -> None:
        self._name = name
        self.config = config
        self.tracker = tracker
        self._translation = translation(name, mapping)

    @property
    def name(self) -> str:
        return self._name

    @property
    def customer_facing(self) -> bool:
        return self.config.customer_facing

    @property
    def internal_comments(self) -> bool:
        return self.config.internal_comments

    @property
    def translation(self) -> TableTranslation:
        return self._translation

    @property
    def fields(self) -> frozenset[Field]:
        return frozenset(Field)

    @staticmethod
    def _native(ticket: StoredTicket) -> NativeTicket:
        return NativeTicket(
            id=ticket.id,
            fields=dict(ticket.fields),
            kind=ticket.kind,
            requester=ticket.requester,
            updated_at=ticket.updated_at,
            correlation_key=ticket.key,
        )

    def read(self, ticket_id: str) -> NativeTicket:
        return self._native(self.tracker.api_read(ticket_id))

    def changes(self, cursor: str | None) -> Changes:
        ids, after = self.tracker.api_changes(int(cursor) if cursor else 0)
        return Changes(ids=tuple(ids), cursor=str(after))

    def backlog(self, query: BacklogQuery, cursor: str | None) -> BacklogPage:
        """``query.native`` is ``field=value`` terms separated by spaces (``status=open``)."""
        where: dict[Field, str] = {}
        for term in (query.native or "").split():
            name, sep, value = term.partition("=")
            if not sep or name not in Field.__members__.values():
                raise ConfigError(
                    [
                        f"{self.name}: backlog filter term {term!r} is not field=value "
                        f"(fields: {', '.join(Field)})"
                    ]
                )
            where[Field(name)] = value
        page, after, total = self.tracker.api_backlog(
            int(cursor) if cursor else 0,
            created_from=query.created_from,
            created_until=query.created_until,
            where=where,
            page_size=self.config.page_size,
        )
        return BacklogPage(
            tickets=tuple(self._native(t) for t in page),
            cursor=None if after is None else str(after),
            total=total,
        )

    def inspect(self) -> Sequence[Finding]:
        """A memory tracker holds any value, so only the config can fall short: its webhooks."""
        if not self.config.webhook_secret.get_secret_value():
            return [
                Finding(
                    severity=Severity.WARNING,
                    subject="webhooks",
                    message="no webhook secret: every delivery is refused, changes arrive by polling",
                )
            ]
        return []

    def find(self, correlation_key: str) -> NativeTicket | None:
        found = self.tracker.api_find(correlation_key)
        return None if found is None else self._native(found)

    def create(self, draft: Draft) -> NativeTicket:
        kind = draft.kind if isinstance(draft.kind, str) else None
        created = self.tracker.api_create(
            dict(draft.fields), kind, draft.requester, draft.correlation_key
        )
        return self._native(created)

    def update(
        self, ticket_id: str, patch: Mapping[Field, Json], *, seen: NativeTicket | None = None
    ) -> NativeTicket:
        expect = None if seen is None else dict(seen.fields)
        return self._native(self.tracker.api_update(ticket_id, dict(patch), expect=expect))

    def _comment(self, stored: StoredComment) -> NativeComment:
        body, visibility = stored.body, Visibility.PUBLIC if stored.public else Visibility.INTERNAL
        if not self.internal_comments:
            body, visibility = comments.read_internal(body, self.config.internal_prefix)
        return NativeComment(
            id=stored.id,
            author=stored.author,
            body=comments.strip_marker(body),
            visibility=visibility,
            created_at=stored.created_at,
            mirror_of=comments.mirror_of(body),
        )

    def comments(self, ticket_id: str) -> Sequence[NativeComment]:
        return [self._comment(c) for c in self.tracker.api_comments(ticket_id)]

    def _render(self, mirror: Mirror) -> tuple[str, bool]:
        body = comments.render(mirror.comment)
        public = mirror.visibility is Visibility.PUBLIC
        if not self.internal_comments:
            if not public:
                body = comments.mark_internal(body, self.config.internal_prefix)
            public = True
        return body, public

    def add_comment(self, ticket_id: str, mirror: Mirror) -> NativeComment:
        body, public = self._render(mirror)
        return self._comment(self.tracker.api_add_comment(ticket_id, BRIDGE, body, public))

    def update_comment(self, ticket_id: str, comment_id: str, mirror: Mirror) -> NativeComment:
        body, _ = self._render(mirror)
        return self._comment(self.tracker.api_update_comment(ticket_id, comment_id, body))

    def identify(self) -> str | None:
        """Memory deliveries name no actor: their echoes are known by reading them."""
        return None

    def recognise(self, account: str) -> None:
        """Memory deliveries name no actor: there is no account to take."""

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Sequence[Hint]:
        return webhooks.parse(self.name, self.config.webhook_secret, headers, body)
