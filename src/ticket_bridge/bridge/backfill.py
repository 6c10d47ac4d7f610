"""A backfill: bring tickets that already exist in one tracker into sync with others.

It walks the source's backlog a page at a time. A ticket already linked is reconciled; an
unlinked one is linked to the counterparts that carry its correlation key (made by an earlier,
interrupted run) or, with ``match``, to counterparts an admin confirms by title and requester;
otherwise its counterparts are created, comment history and all. Every step is idempotent, and
the checkpoint (the backlog cursor and the counts) is stored after each whole page, so a crash
or Ctrl-C repeats at most one page and doubles nothing.

A dry run reads and plans, field by field, and writes nothing: no tracker, no store.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

from ticket_bridge.bridge import lifecycle
from ticket_bridge.bridge.adapter import Adapter, BacklogQuery, NativeTicket
from ticket_bridge.bridge.comments import mirror_visibility
from ticket_bridge.bridge.engine import Engine
from ticket_bridge.bridge.errors import ParkLink, Refused
from ticket_bridge.bridge.events import (
    WRITES,
    BackfillAction,
    BackfillFinished,
    BackfillProgress,
    BackfillStarted,
    BackfillStep,
    CommentMirrored,
    CounterpartCreated,
    CounterpartWithheld,
    DeadLettered,
    Event,
    FieldPropagated,
    LinkFailed,
    LinkParked,
)
from ticket_bridge.bridge.model import Comment, Field, Frozen, Json, Ref, Ticket
from ticket_bridge.bridge.policy import Route
from ticket_bridge.bridge.store import LinkRecord

Changes = dict[str, tuple[Json, Json]]


class BackfillSpec(Frozen):
    """What an admin asked for: from where, to where, which tickets, whether to propose matches."""

    source: str
    targets: tuple[str, ...]
    query: BacklogQuery = BacklogQuery()
    match: bool = False

    def signature(self) -> str:
        """The same request resumes the same checkpoint."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class Proposal(Frozen):
    """An unlinked ticket in a target that looks like the source's counterpart."""

    source: Ref
    candidate: Ref
    title: str
    requester: str | None


Confirm = Callable[[Proposal], bool]


def _decline(_: Proposal) -> bool:
    return False


def _json(value: Any) -> Json:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _likeness(title: object, requester: str | None) -> tuple[str, str]:
    words = re.sub(r"\s+", " ", str(title or "")).strip().casefold()
    return words, (requester or "").casefold()


class Backfill:
    def __init__(self, engine: Engine, spec: BackfillSpec, *, confirm: Confirm = _decline) -> None:
        adapters = engine.adapters
        if spec.source not in adapters:
            raise Refused(f"backfill: no tracker named {spec.source!r} is configured")
        unknown = [t for t in spec.targets if t not in adapters]
        if unknown:
            raise Refused(
                f"backfill: no tracker named {', '.join(map(repr, unknown))} is configured"
            )
        if not spec.targets or spec.source in spec.targets:
            raise Refused("backfill: name one or more targets, each other than the source")
        self.spec = spec
        self.store = engine.store
        self.adapters = adapters
        self.source = adapters[spec.source]
        # This backfill's own route: its source's tickets get counterparts in its targets,
        # whatever the daemon's routes filter by kind or status.
        policy = engine.policy.model_copy(
            update={"routes": (Route(source=spec.source, targets=spec.targets),)}
        )
        self.engine = Engine(self.store, adapters, policy, retry=engine.retry, clock=engine.clock)
        self.retry = engine.retry
        self.confirm = confirm
        self._likely: dict[str, dict[tuple[str, str], list[str]]] = {}

    # -- the walk ----------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False) -> Iterator[Event]:
        """Walk the backlog; with ``dry_run``, plan instead of doing, and keep no checkpoint."""
        started = time.monotonic()
        counts: Counter[str] = Counter()
        cursor: str | None = None
        backfill_id: int | None = None
        resumed = False
        if not dry_run:
            record, resumed = self.store.open_backfill(
                self.spec.signature(), self.spec.model_dump(mode="json")
            )
            backfill_id, cursor = record.id, record.cursor
            counts.update(record.counts)
        yield BackfillStarted(
            backfill=backfill_id,
            source=self.spec.source,
            targets=self.spec.targets,
            resumed=resumed,
            done=counts["tickets"],
        )
        while True:
            page = self.retry(partial(self.source.backlog, self.spec.query, cursor))
            for native in page.tickets:
                steps = self._plan(native) if dry_run else self._do(native)
                for event in steps:
                    if isinstance(event, BackfillStep):
                        counts[event.action.value] += 1
                    yield event
                counts["tickets"] += 1
                yield BackfillProgress(done=counts["tickets"], total=page.total)
            cursor = page.cursor
            if backfill_id is not None:
                self.store.save_backfill(backfill_id, cursor, counts, finished=cursor is None)
            if cursor is None:
                break
        yield BackfillFinished(
            backfill=backfill_id,
            done=counts["tickets"],
            counts=dict(counts),
            elapsed=time.monotonic() - started,
        )

    # -- doing -----------------------------------------------------------------------------

    def _do(self, native: NativeTicket) -> Iterator[Event]:
        source = Ref(tracker=self.spec.source, id=native.id)
        link = self.store.link_for(source.tracker, native.id)
        if link is not None:
            yield from self._resync(link, source)
            return
        found, proposals = self._counterparts(native)
        waiting = []
        for proposal in proposals:
            if self.confirm(proposal):
                found[proposal.candidate.tracker] = proposal.candidate
            else:
                waiting.append(proposal)
        if waiting:
            for proposal in waiting:
                yield BackfillStep(
                    source=str(source),
                    target=proposal.candidate.tracker,
                    action=BackfillAction.PROPOSE,
                    ref=str(proposal.candidate),
                    reason="same title and requester: tie them with `ticket-bridge link "
                    f"{source} {proposal.candidate}`, or run again without --match to create",
                )
            return
        events: list[Event] = []
        if found:
            events.extend(self.engine.link_by_hand([source, *found.values()]))
        else:
            link_id, adopted = self.engine.reconciler.adopt(source.tracker, native)
            events.extend(adopted)
            if link_id is not None:
                events.extend(self.engine.sync_link(link_id))
        yield from events
        yield from self._outcome(source, events, linked=found)

    def _resync(self, link: LinkRecord, source: Ref) -> Iterator[Event]:
        if link.state != "active":
            yield BackfillStep(
                source=str(source),
                target=None,
                action=BackfillAction.SKIP,
                reason=f"link {link.key} is {link.state}: {link.reason}",
            )
            return
        events = list(self.engine.sync_link(link.id))
        yield from events
        yield from self._outcome(source, events, linked={})

    def _outcome(
        self, source: Ref, events: list[Event], *, linked: Mapping[str, Ref]
    ) -> Iterator[BackfillStep]:
        """One step per target, read off what the engine did."""
        for event in events:
            if isinstance(event, LinkParked):
                yield self._step(source, None, BackfillAction.SKIP, reason=event.reason)
                return
            if isinstance(event, LinkFailed | DeadLettered):
                yield self._step(source, None, BackfillAction.FAIL, reason=event.error)
                return
        link = self.store.link_for(source.tracker, source.id)
        refs = link.refs if link is not None else {}
        for target in self.spec.targets:
            mine = [e for e in events if getattr(e, "target", None) == target]
            ref = str(refs[target].ref) if target in refs else None
            changes: Changes = {
                e.field: (e.old, e.new) for e in mine if isinstance(e, FieldPropagated)
            }
            comments = sum(1 for e in mine if isinstance(e, CommentMirrored))
            withheld = next((e for e in mine if isinstance(e, CounterpartWithheld)), None)
            if target in linked:
                action = BackfillAction.LINK
            elif any(isinstance(e, CounterpartCreated) for e in mine):
                action = BackfillAction.CREATE
            elif withheld is not None:
                yield self._step(source, target, BackfillAction.SKIP, reason=withheld.reason)
                continue
            elif ref is None:
                continue
            elif any(isinstance(e, WRITES) for e in mine):
                action = BackfillAction.UPDATE
            else:
                action = BackfillAction.AGREE
            yield self._step(source, target, action, ref=ref, changes=changes, comments=comments)

    @staticmethod
    def _step(
        source: Ref,
        target: str | None,
        action: BackfillAction,
        *,
        ref: str | None = None,
        changes: Changes | None = None,
        comments: int = 0,
        reason: str = "",
    ) -> BackfillStep:
        return BackfillStep(
            source=str(source),
            target=target,
            action=action,
            ref=ref,
            changes=changes or {},
            comments=comments,
            reason=reason,
        )

    # -- finding counterparts that already exist -----------------------------------------

    def _counterparts(self, native: NativeTicket) -> tuple[dict[str, Ref], list[Proposal]]:
        """Counterparts carrying this ticket's correlation key; with ``match``, likely ones."""
        key = f"{self.spec.source}:{native.id}"
        found: dict[str, Ref] = {}
        proposals: list[Proposal] = []
        for target in self.spec.targets:
            adapter = self.adapters[target]
            hit = self.retry(partial(adapter.find, key))
            if hit is not None and self.store.link_for(target, hit.id) is None:
                found[target] = Ref(tracker=target, id=hit.id)
                continue
            if not self.spec.match:
                continue
            title = native.fields.get(Field.TITLE)
            for candidate in self._likely_in(target).get(_likeness(title, native.requester), []):
                if self.store.link_for(target, candidate) is None:
                    proposals.append(
                        Proposal(
                            source=Ref(tracker=self.spec.source, id=native.id),
                            candidate=Ref(tracker=target, id=candidate),
                            title=str(title or ""),
                            requester=native.requester,
                        )
                    )
                    break
        return found, proposals

    def _likely_in(self, target: str) -> dict[tuple[str, str], list[str]]:
        """The target's unkeyed tickets by title and requester, read once per backfill."""
        if target in self._likely:
            return self._likely[target]
        adapter = self.adapters[target]
        index: dict[tuple[str, str], list[str]] = {}
        query = BacklogQuery(created_from=self.spec.query.created_from)
        cursor: str | None = None
        while True:
            page = self.retry(partial(adapter.backlog, query, cursor))
            for ticket in page.tickets:
                if ticket.correlation_key is None:
                    likeness = _likeness(ticket.fields.get(Field.TITLE), ticket.requester)
                    index.setdefault(likeness, []).append(ticket.id)
            if page.cursor is None:
                break
            cursor = page.cursor
        self._likely[target] = index
        return index

    # -- planning (dry run) --------------------------------------------------------------------

    def _plan(self, native: NativeTicket) -> Iterator[BackfillStep]:
        source = Ref(tracker=self.spec.source, id=native.id)
        link = self.store.link_for(source.tracker, native.id)
        if link is not None:
            yield from self._plan_linked(link, source)
            return
        kind = self.source.translation.kind_of(native.kind)
        try:
            ticket = self.engine.reconciler.canonical_from(self.source, native, kind)
        except ParkLink as exc:
            yield self._step(source, None, BackfillAction.SKIP, reason=f"would park: {exc.reason}")
            return
        found, proposals = self._counterparts(native)
        proposed = {p.candidate.tracker: p for p in proposals}
        comments = self._mirrorable(native.id)
        for target in self.spec.targets:
            adapter = self.adapters[target]
            if target in found:
                other = self.retry(partial(adapter.read, found[target].id))
                yield self._step(
                    source,
                    target,
                    BackfillAction.LINK,
                    ref=str(found[target]),
                    changes=self._differences(ticket, adapter, other),
                    comments=comments.get(target, 0),
                )
            elif target in proposed:
                yield self._step(
                    source,
                    target,
                    BackfillAction.PROPOSE,
                    ref=str(proposed[target].candidate),
                    reason="same title and requester",
                )
            elif not lifecycle.creatable_in(kind, customer_facing=adapter.customer_facing):
                yield self._step(
                    source,
                    target,
                    BackfillAction.SKIP,
                    reason=f"{kind} tickets are never created in customer-facing {target}",
                )
            else:
                yield self._step(
                    source,
                    target,
                    BackfillAction.CREATE,
                    changes={
                        f.value: (None, _json(getattr(ticket, f.value)))
                        for f in self.engine.policy.synced
                        if getattr(ticket, f.value) is not None
                    },
                    comments=comments.get(target, 0),
                )

    def _plan_linked(self, link: LinkRecord, source: Ref) -> Iterator[BackfillStep]:
        if link.state != "active":
            yield self._step(
                source,
                None,
                BackfillAction.SKIP,
                reason=f"link {link.key} is {link.state}: {link.reason}",
            )
            return
        for target in self.spec.targets:
            ref = link.refs.get(target)
            if ref is None:
                yield self._step(
                    source, target, BackfillAction.CREATE, reason=f"in link {link.key}"
                )
                continue
            adapter = self.adapters[target]
            other = self.retry(partial(adapter.read, ref.native_id))
            changes = self._differences(link.canonical, adapter, other)
            action = BackfillAction.UPDATE if changes else BackfillAction.AGREE
            yield self._step(source, target, action, ref=str(ref.ref), changes=changes)

    def _differences(self, ticket: Ticket, adapter: Adapter, other: NativeTicket) -> Changes:
        """Fields where the target reads otherwise than the canonical value it would be given."""
        changes: Changes = {}
        for field in self.engine.policy.synced:
            if field not in adapter.fields or field not in other.fields:
                continue
            want = getattr(ticket, field.value)
            got = adapter.translation.to_canonical(field, other.fields[field], want)
            if got != want:
                changes[field.value] = (_json(got), _json(want))
        return changes

    def _mirrorable(self, ticket_id: str) -> dict[str, int]:
        """How many of the ticket's own comments each target would get, by the visibility rules."""
        originals = [
            Comment(
                id=f"{self.spec.source}:{c.id}",
                author=c.author,
                body=c.body,
                visibility=c.visibility,
                created_at=c.created_at,
                origin=Ref(tracker=self.spec.source, id=c.id),
            )
            for c in self.retry(partial(self.source.comments, ticket_id))
            if c.mirror_of is None
        ]
        counts: dict[str, int] = {}
        rules = self.engine.policy.comments
        for target in self.spec.targets:
            adapter = self.adapters[target]
            counts[target] = sum(
                1
                for c in originals
                if mirror_visibility(
                    c,
                    source=self.spec.source,
                    source_customer_facing=self.source.customer_facing,
                    target_customer_facing=adapter.customer_facing,
                    target_internal_comments=adapter.internal_comments,
                    public_from=rules.public_from,
                )
                is not None
            )
        return counts
