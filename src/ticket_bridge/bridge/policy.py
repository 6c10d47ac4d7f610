"""How the bridge is told to sync: routes, per-field conflict policy, comment visibility, retries.

Plain data, built by ``cli.py`` from the config; the engine reads it and never the config file.
"""

from __future__ import annotations

from pydantic import Field as PydanticField

from ticket_bridge.bridge.model import Field, Frozen, Kind, Status


class Route(Frozen):
    """Tickets of ``source`` that match get a counterpart created in each of ``targets``."""

    source: str
    targets: tuple[str, ...]
    kinds: frozenset[Kind] | None = None
    statuses: frozenset[Status] | None = None

    def matches(self, tracker: str, kind: Kind, status: Status) -> bool:
        return (
            tracker == self.source
            and (self.kinds is None or kind in self.kinds)
            and (self.statuses is None or status in self.statuses)
        )


class FieldPolicy(Frozen):
    """How a conflict on one field is settled: ``owner`` wins when it changed, else the latest update."""

    owner: str | None = None

    @property
    def name(self) -> str:
        return f"owner:{self.owner}" if self.owner else "latest"


class CommentRules(Frozen):
    """``public_from``: trackers whose public comments stay public in customer-facing trackers."""

    public_from: frozenset[str] = frozenset()
    internal_prefix: str = "[internal] "


class RetryPolicy(Frozen):
    """Call-level retries (idempotent calls only) and link-level attempts before a dead letter.

    A link's attempts are spaced far wider than a call's, so a tracker down for a while (an
    outage, a deploy) leaves its links backing off, not dead: with the defaults a link is
    dead-lettered only after about half an hour of failing, and sooner on a permanent error.
    """

    call_attempts: int = PydanticField(default=4, ge=1)
    link_attempts: int = PydanticField(default=10, ge=1)
    backoff_base: float = PydanticField(default=0.5, ge=0)
    backoff_cap: float = PydanticField(default=60.0, ge=0)
    longest_call_wait: float = PydanticField(default=60.0, ge=0)
    """A retry-after longer than this is not slept out inside a call: the link waits instead."""
    link_backoff_base: float = PydanticField(default=5.0, ge=0)
    link_backoff_cap: float = PydanticField(default=600.0, ge=0)


class SyncPolicy(Frozen):
    synced: tuple[Field, ...] = tuple(Field)
    fields: dict[Field, FieldPolicy] = PydanticField(default_factory=dict)
    routes: tuple[Route, ...] = ()
    comments: CommentRules = CommentRules()
    retry: RetryPolicy = RetryPolicy()

    def field(self, field: Field) -> FieldPolicy:
        return self.fields.get(field, FieldPolicy())

    def route_targets(self, origin: str, kind: Kind, status: Status) -> tuple[str, ...]:
        targets: dict[str, None] = {}
        for route in self.routes:
            if route.matches(origin, kind, status):
                targets.update(dict.fromkeys(t for t in route.targets if t != origin))
        return tuple(targets)
