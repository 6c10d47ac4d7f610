"""Reconcile one link: read every ref, merge field by field against each ref's base, write the result.

DESIGN.md "Reconcile, per link". The invariants it keeps:
- a change is a native value that differs from that ref's base; an echo of our own write is not one;
- after every remote write the new base is stored before the next write starts, so a crash
  repeats at most one idempotent write;
- every ref is brought to the canonical value, not only the refs that changed, so a pass
  interrupted half-way finishes on the next one;
- comments are an append-only set mirrored exactly once, found again by their marker after a crash;
- a hint about one ticket of a settled link reads only that ticket, and only what the hint says
  changed (``Focus``); every other ticket is taken to hold its base, which its write checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ticket_bridge.bridge import lifecycle
from ticket_bridge.bridge.adapter import (
    Adapter,
    Draft,
    Mirror,
    NativeComment,
    NativeTicket,
    Scope,
)
from ticket_bridge.bridge.comments import digest, mirror_visibility
from ticket_bridge.bridge.errors import Conflict, NotFound, ParkLink
from ticket_bridge.bridge.events import (
    CommentEdited,
    CommentMirrored,
    CommentWithheld,
    ConflictSettled,
    CounterpartCreated,
    CounterpartWithheld,
    Event,
    FieldPropagated,
    LinkCreated,
    LinkParked,
)
from ticket_bridge.bridge.model import Comment, Field, Json, Kind, Ref, Status, Ticket
from ticket_bridge.bridge.policy import SyncPolicy
from ticket_bridge.bridge.retry import CallRetry
from ticket_bridge.bridge.store import (
    AuditEntry,
    CommentRefRecord,
    ConflictEntry,
    LinkRecord,
    RefRecord,
    Store,
)

_UNSEEN = object()


def _json(value: Any) -> Json:
    """A canonical field value as it goes into the audit log and events."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass(frozen=True)
class CommentState:
    """A link's comments and where each stands in each tracker, as the store holds them."""

    known: dict[tuple[str, str], CommentRefRecord]
    comments: list[Comment]


@dataclass(frozen=True)
class Merge:
    """What a merge decided, kept until the writes it calls for are made (``Reconciler._commit``)."""

    canonical: Ticket
    changed: bool
    audits: list[AuditEntry]
    conflicts: list[ConflictEntry]


@dataclass(frozen=True)
class Landed:
    """A write made and not yet recorded: the base it leaves, its audit rows, its events."""

    ref: RefRecord
    audits: list[AuditEntry]
    events: list[Event]


@dataclass
class Fresh:
    """What the caller has just read of a link's tickets: a reconcile reads none of it again."""

    tickets: dict[str, NativeTicket] = dataclasses.field(default_factory=dict)
    comments: dict[str, Sequence[NativeComment]] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Focus:
    """The one ticket a hint named, and what of it the hint says changed.

    A settled link's reconcile reads only that; every other ticket of the link is taken to hold
    its base (what it held when the bridge last read or wrote it). That is no blind write: a
    change made there since has a hint of its own, and each write is guarded (``seen``), so a
    ticket that moved on is met as a ``Conflict`` and the link is merged again from fresh reads.
    """

    tracker: str
    scope: Scope = Scope.ALL
    stored: CommentState | None = None
    """The link's comments as the store held them when it was found settled."""


class Reconciler:
    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        policy: SyncPolicy,
        retry: CallRetry,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.policy = policy
        self.retry = retry
        self.clock = clock

    def _adapter(self, tracker: str) -> Adapter:
        try:
            return self.adapters[tracker]
        except KeyError:
            raise ParkLink(
                f"tracker {tracker!r} is linked here but not configured: add it back to the config "
                "or unlink it"
            ) from None

    # -- adopting tickets the bridge has not linked yet ------------------------------------

    def adopt(self, tracker: str, native: NativeTicket) -> tuple[int | None, list[Event]]:
        """An unlinked ticket seen in a feed: join the link its correlation key names, or route it.

        Returns the link to reconcile next (None when nothing routes it).
        """
        adapter = self._adapter(tracker)
        key = native.correlation_key or f"{tracker}:{native.id}"
        existing = self.store.link_by_key(key)
        if existing is not None and existing.state == "unlinked":
            return None, []
        if native.correlation_key is not None:
            link = existing
            if link is not None:
                if tracker not in link.refs:
                    self.store.add_ref(
                        link.id,
                        observed(tracker, native),
                        [_audit_link(tracker, native.id, "found by its correlation key")],
                    )
                return link.id, []
        translation = adapter.translation
        kind = translation.kind_of(native.kind)
        try:
            ticket = self.canonical_from(adapter, native, kind)
        except ParkLink as exc:
            return self._adopt_parked(tracker, native, key, kind, exc.reason)
        targets = self.policy.route_targets(tracker, kind, ticket.status)
        if not targets:
            return None, []
        link = self.store.create_link(
            key,
            ticket,
            observed(tracker, native),
            _audit_link(tracker, native.id, "new ticket matched a route"),
        )
        events: list[Event] = [LinkCreated(link=key, source=f"{tracker}:{native.id}")]
        for target in targets:
            target_adapter = self.adapters.get(target)
            if target_adapter is not None and not lifecycle.creatable_in(
                kind, customer_facing=target_adapter.customer_facing
            ):
                events.append(
                    CounterpartWithheld(
                        link=key,
                        target=target,
                        reason=f"{kind} tickets are never created in customer-facing {target}",
                    )
                )
        return link.id, events

    def _adopt_parked(
        self, tracker: str, native: NativeTicket, key: str, kind: Kind, reason: str
    ) -> tuple[int | None, list[Event]]:
        """A new ticket a route may want but the mapping cannot read (a status added later).

        It is linked and parked at once, so nothing is lost while the admin fixes the mapping;
        its base is left empty, so on revival every value it holds counts as a change.
        """
        if not any(r.matches(tracker, kind, s) for r in self.policy.routes for s in Status):
            return None, []
        title = native.fields.get(Field.TITLE)
        link = self.store.create_link(
            key,
            Ticket(kind=kind, title=title if isinstance(title, str) else ""),
            RefRecord(
                tracker=tracker, native_id=native.id, base={}, remote_updated=native.updated_at
            ),
            _audit_link(tracker, native.id, "new ticket matched a route"),
        )
        self.store.park(link.id, reason)
        return None, [
            LinkCreated(link=key, source=f"{tracker}:{native.id}"),
            LinkParked(link=key, reason=reason),
        ]

    def canonical_from(self, adapter: Adapter, native: NativeTicket, kind: Kind) -> Ticket:
        translation = adapter.translation
        values: dict[str, Any] = {"kind": kind, "requester": native.requester}
        for field in self.policy.synced:
            if field in native.fields:
                value = translation.to_canonical(field, native.fields[field], None)
                if field is Field.STATUS:
                    value = lifecycle.accept(kind, None, value)
                values[field.value] = value
        values.setdefault("title", "")
        return Ticket.model_validate(values)

    # -- echoes: a hint about a ticket that holds nothing new --------------------------------

    def settled(self, link: LinkRecord, stored: CommentState | None = None) -> CommentState | None:
        """From the store alone: every ref's base reads as the canonical value, every counterpart
        a route wants exists, and every comment stands in every ref (at its latest body).

        A link half-way through a reconcile (a crash between two writes, a mirror posted and not
        recorded) is not settled, so a hint about it always finishes the reconcile in full; a
        settled one is reconciled from the hinted ticket alone (``Focus``). Returns the link's
        comments as the store holds them (``stored``, when the caller read them already); None
        when the link is not settled.
        """
        canonical = link.canonical
        for tracker, ref in link.refs.items():
            adapter = self.adapters.get(tracker)
            if adapter is None:
                return None
            base, to_canonical = ref.base, adapter.translation.to_canonical
            for field in self.policy.synced:
                # a StrEnum member hashes and compares as its value: no ``.value`` per look
                if field not in adapter.fields or field not in base:
                    continue
                want = getattr(canonical, field)
                if to_canonical(field, base[field], want) != want:
                    return None
        for target in self.policy.route_targets(link.origin, link.kind, link.canonical.status):
            adapter = self.adapters.get(target)
            if target not in link.refs and (
                adapter is None
                or lifecycle.creatable_in(link.kind, customer_facing=adapter.customer_facing)
            ):
                return None
        if stored is None:
            comments, known = self.store.comment_record(link.id)
            stored = CommentState(known=known, comments=comments)
        state = stored
        for comment in state.comments:
            for tracker in link.refs:
                entry = state.known.get((comment.id, tracker))
                if entry is None:
                    return None
                if entry.state == "posted" and entry.digest != digest(comment.body):
                    return None
        return state

    def echo(
        self,
        link: LinkRecord,
        tracker: str,
        native: NativeTicket,
        state: CommentState,
        fresh: Fresh,
    ) -> bool:
        """Whether ``native`` holds exactly its base and only comments the link knows unedited:
        the hint was our own write coming back (or a change to something not synced).

        Costs one request (the ticket's comments, kept in ``fresh``); the caller read the ticket.
        """
        base, fields = link.refs[tracker].base, native.fields
        for field in self.policy.synced:
            if field in fields and base.get(field, _UNSEEN) != fields[field]:
                return False
        items = self.retry(partial(self._adapter(tracker).comments, native.id))
        fresh.comments[tracker] = items
        known = {
            r.native_id: (key, r)
            for (key, t), r in state.known.items()
            if t == tracker and r.native_id
        }
        bodies = {c.id: c.body for c in state.comments}
        for item in items:
            hit = known.get(item.id)
            if hit is None:
                return False  # a new comment, or a mirror posted before a crash
            key, entry = hit
            if entry.state == "origin" and bodies.get(key) != item.body:
                return False  # an edit of an original
        return True

    # -- the per-link reconcile ------------------------------------------------------------

    def reconcile(
        self, link: LinkRecord, fresh: Fresh | None = None, focus: Focus | None = None
    ) -> Iterator[Event]:
        """One pass over a link as the store holds it now (the caller just loaded it).

        ``fresh`` holds what the caller has just read, so it is not read again. With ``focus``
        (the caller found the link settled), only the focused ticket is read, and only what
        its scope names.
        """
        if fresh is None:
            fresh = Fresh()
        if focus is not None and focus.tracker in link.refs:
            yield from self._focused(link, focus, fresh)
            return
        snaps = {tracker: self._current(link, tracker, fresh) for tracker in link.refs}
        yield from self._fields(link, snaps)
        tickets = {tracker: snap.id for tracker, snap in snaps.items()}
        yield from self._sync_comments(link, tickets, tickets, fresh)

    def _focused(self, link: LinkRecord, focus: Focus, fresh: Fresh) -> Iterator[Event]:
        """Reconcile from one ticket: its fields against the others' bases, its comments into
        the others, which are not read (a mirror's crash recovery is the full reconcile's)."""
        tickets = {tracker: ref.native_id for tracker, ref in link.refs.items()}
        if focus.scope.fields:
            snaps: dict[str, NativeTicket] = {}
            for tracker, ref in link.refs.items():
                held = None if tracker == focus.tracker else assumed(ref)
                snaps[tracker] = held if held is not None else self._current(link, tracker, fresh)
            yield from self._fields(link, snaps)
            tickets = {tracker: snap.id for tracker, snap in snaps.items()}
        if focus.scope.comments:
            yield from self._sync_comments(link, tickets, (focus.tracker,), fresh, focus.stored)

    def _fields(self, link: LinkRecord, snaps: dict[str, NativeTicket]) -> Iterator[Event]:
        """Merge the fields, create the counterparts routes want, write every ticket, and only
        then keep the merge: a write that meets a ticket moved on (``Conflict``) leaves the
        merge unkept, so merging again from fresh reads still sees every side's change."""
        merge, merge_events = self._merge(link, snaps)
        yield from merge_events
        yield from self._create_counterparts(link, merge.canonical, snaps)
        written: set[str] = set()
        last = yield from self._write(link, merge.canonical, snaps, written)
        self._commit(link, merge, snaps, written, last)
        if last is not None:
            yield from last.events

    def _commit(
        self,
        link: LinkRecord,
        merge: Merge,
        snaps: Mapping[str, NativeTicket],
        written: Collection[str],
        last: Landed | None,
    ) -> None:
        """Keep the merge, in one transaction with the last write's base (no remote write
        comes between): the canonical state, and the base of every ticket read and not
        written (an earlier write's base was kept before the next write)."""
        bases = {
            tracker: observed(tracker, snap)
            for tracker, snap in snaps.items()
            if tracker not in written and tracker in link.refs
        }
        audits = merge.audits
        if last is not None:
            bases[last.ref.tracker] = last.ref
            audits = [*audits, *last.audits]
        if last is not None or merge.changed or any(bases[t] != link.refs[t] for t in bases):
            self.store.save_merge(link.id, merge.canonical, bases, audits, merge.conflicts)

    def _record(self, link: LinkRecord, landed: Landed) -> Iterator[Event]:
        self.store.record_write(link.id, landed.ref, landed.audits)
        yield from landed.events

    def _current(self, link: LinkRecord, tracker: str, fresh: Fresh) -> NativeTicket:
        """The ticket as its tracker holds it now: just read by the caller, or read here."""
        ref = link.refs[tracker]
        seen = fresh.tickets.get(tracker)
        if seen is not None and seen.id == ref.native_id:
            return seen
        try:
            return self.retry(partial(self._adapter(tracker).read, ref.native_id))
        except NotFound as exc:
            raise _gone(tracker, ref.native_id) from exc

    def _merge(
        self, link: LinkRecord, snaps: Mapping[str, NativeTicket]
    ) -> tuple[Merge, list[Event]]:
        """Per field: which refs changed since their base, and what the canonical value becomes."""
        current = link.canonical
        updates: dict[str, Any] = {}
        audits: list[AuditEntry] = []
        conflicts: list[ConflictEntry] = []
        events: list[Event] = []
        for field in self.policy.synced:
            now = getattr(current, field.value)
            proposals: dict[str, Any] = {}
            for tracker, snap in snaps.items():
                if field not in snap.fields:
                    continue
                native = snap.fields[field]
                base = link.refs[tracker].base.get(field.value, _UNSEEN)
                if base is not _UNSEEN and native == base:
                    continue
                value = self._adapter(tracker).translation.to_canonical(field, native, now)
                if field is Field.STATUS:
                    value = lifecycle.accept(link.kind, now, value)
                if value != now:
                    proposals[tracker] = value
            if not proposals:
                continue
            winner, conflict = self._settle(field, proposals, snaps)
            new = proposals[winner]
            updates[field.value] = new
            reason = f"changed in {winner}"
            if conflict is not None:
                conflicts.append(conflict)
                reason += f", won a conflict by {conflict.policy}"
                events.append(
                    ConflictSettled(
                        link=link.key,
                        field=field.value,
                        candidates=conflict.candidates,
                        winner=winner,
                        policy=conflict.policy,
                    )
                )
            if field is Field.STATUS and lifecycle.is_reopen(now, new):
                reason += " (a reopen)"
            audits.append(
                AuditEntry(
                    field=field.value,
                    source=winner,
                    target=None,
                    old=_json(now),
                    new=_json(new),
                    reason=reason,
                )
            )
        canonical = current.model_copy(update=updates) if updates else current
        return Merge(canonical, bool(updates), audits, conflicts), events

    def _settle(
        self, field: Field, proposals: Mapping[str, Any], snaps: Mapping[str, NativeTicket]
    ) -> tuple[str, ConflictEntry | None]:
        """One winner among the refs that changed; a conflict when they disagree."""
        latest = max(proposals, key=lambda t: (snaps[t].updated_at, t))
        if len({_json(v) for v in proposals.values()}) == 1:
            return latest, None
        rule = self.policy.field(field)
        owned = rule.owner in proposals
        winner = rule.owner if owned and rule.owner is not None else latest
        return winner, ConflictEntry(
            field=field.value,
            candidates={t: _json(v) for t, v in sorted(proposals.items())},
            winner=winner,
            policy=rule.name if owned else "latest",  # the owner did not change it: latest decided
        )

    def _create_counterparts(
        self, link: LinkRecord, canonical: Ticket, snaps: dict[str, NativeTicket]
    ) -> Iterator[Event]:
        targets = self.policy.route_targets(link.origin, link.kind, canonical.status)
        for target in targets:
            if target in snaps or target in link.refs:
                continue
            adapter = self._adapter(target)
            if not lifecycle.creatable_in(link.kind, customer_facing=adapter.customer_facing):
                continue
            translation = adapter.translation
            draft = Draft(
                fields={
                    f: translation.to_native(f, getattr(canonical, f.value), None)
                    for f in self.policy.synced
                },
                kind=translation.native_kind(link.kind),
                requester=canonical.requester,
                correlation_key=link.key,
                attempted_at=self.store.attempt_create(link.id, target),
            )
            created = adapter.create(draft)
            self.store.add_ref(
                link.id,
                observed(target, created),
                [
                    _audit_link(
                        target, created.id, f"counterpart created by a route from {link.origin}"
                    )
                ],
            )
            snaps[target] = created
            yield CounterpartCreated(link=link.key, target=target, ref=f"{target}:{created.id}")

    def _write(
        self,
        link: LinkRecord,
        canonical: Ticket,
        snaps: dict[str, NativeTicket],
        written: set[str],
    ) -> Generator[Event, None, Landed | None]:
        """Bring every ref to the canonical value, each write's base recorded before the next
        write starts (and its tracker put in ``written``); the last write is returned
        unrecorded, for the merge to keep with it."""
        last: Landed | None = None
        for tracker, snap in snaps.items():
            adapter = self._adapter(tracker)
            translation = adapter.translation
            patch: dict[Field, Json] = {}
            olds: dict[Field, Json] = {}
            for field in self.policy.synced:
                if field not in adapter.fields or field not in snap.fields:
                    continue  # this tracker, or this ticket of it, cannot hold the field
                have = snap.fields[field]
                want = translation.to_native(field, getattr(canonical, field.value), have)
                if want != have:
                    patch[field] = want
                    olds[field] = have
            if not patch:
                continue
            if last is not None:
                yield from self._record(link, last)
                last = None
            native_id = snap.id
            try:
                after = self.retry(partial(adapter.update, native_id, patch, seen=snap))
            except NotFound as exc:  # a ticket written unread, as its base had it
                raise _gone(tracker, native_id) from exc
            for field, sent in patch.items():
                landed = translation.to_canonical(
                    field, after.fields.get(field), getattr(canonical, field.value)
                )
                if landed != getattr(canonical, field.value):
                    raise ParkLink(
                        f"{tracker}:{native_id} did not take {field.value} "
                        f"{sent!r}: it holds {after.fields.get(field)!r}"
                    )
            audits = [
                AuditEntry(
                    field=field.value,
                    source=None,
                    target=tracker,
                    old=olds[field],
                    new=after.fields.get(field),
                    reason=f"brought to canonical {_json(getattr(canonical, field.value))}",
                )
                for field in patch
            ]
            if after.id != native_id:
                audits.append(_moved(tracker, native_id, after.id))
            # The read after the write may hold someone's edit of another field, made in between:
            # only what we wrote becomes the base, so that edit still reads as a change, and the
            # link is merged again at once. A follow-up (another id) is a new ticket: nothing raced.
            raced = (
                [
                    f
                    for f in self.policy.synced
                    if f not in patch and f in snap.fields and after.fields.get(f) != snap.fields[f]
                ]
                if after.id == native_id
                else []
            )
            ref = observed(tracker, after)
            if raced:
                ref = ref.model_copy(
                    update={"base": {**ref.base, **{f.value: snap.fields[f] for f in raced}}}
                )
            landed = Landed(
                ref,
                audits,
                [
                    FieldPropagated(
                        link=link.key,
                        field=field.value,
                        source=None,
                        target=tracker,
                        old=olds[field],
                        new=after.fields.get(field),
                        reason=f"canonical {field.value} is "
                        f"{_json(getattr(canonical, field.value))}",
                    )
                    for field in patch
                ],
            )
            written.add(tracker)
            snaps[tracker] = after
            if raced:
                yield from self._record(link, landed)
                raise Conflict(
                    tracker,
                    f"{', '.join(f.value for f in raced)} changed while {tracker}:{after.id} "
                    "was written: merging again",
                    ref=f"{tracker}:{after.id}",
                )
            last = landed
        return last

    def _sync_comments(
        self,
        link: LinkRecord,
        tickets: Mapping[str, str],
        read: Collection[str],
        fresh: Fresh,
        stored: CommentState | None = None,
    ) -> Iterator[Event]:
        """Comments are an append-only set: learn new originals and edits in the tickets of
        ``read``, then bring every mirror. ``tickets`` is each tracker's ticket id; ``stored``
        the link's comments as the caller just read them from the store, under the link's lock."""
        if stored is None:
            held, known = self.store.comment_record(link.id)
        else:
            held, known = stored.comments, dict(stored.known)
        comments = {c.id: c for c in held}
        for tracker in read:
            ticket_id = tickets[tracker]
            seen = fresh.tickets.get(tracker)
            kept = fresh.comments.get(tracker) if seen is None or seen.id == ticket_id else None
            adapter = self._adapter(tracker)
            items = kept if kept is not None else self.retry(partial(adapter.comments, ticket_id))
            self._learn(link, tracker, items, known, comments)
        where = dict(tickets)
        for comment in sorted(comments.values(), key=lambda c: (c.created_at, c.id)):
            for tracker in tickets:
                yield from self._mirror(link, comment, tracker, where, known)

    def _learn(
        self,
        link: LinkRecord,
        tracker: str,
        items: Sequence[NativeComment],
        known: dict[tuple[str, str], CommentRefRecord],
        comments: dict[str, Comment],
    ) -> None:
        """New comments written in ``tracker``, mirrors found again by marker, and edited originals."""
        mapped = {(t, r.native_id): key for (key, t), r in known.items() if r.native_id}
        for item in items:
            key = mapped.get((tracker, item.id))
            if key is not None:
                original = comments.get(key)
                if (
                    known[(key, tracker)].state == "origin"
                    and original
                    and item.body != original.body
                ):
                    comments[key] = original.model_copy(update={"body": item.body})
                    self.store.edit_comment(
                        link.id,
                        key,
                        item.body,
                        AuditEntry(
                            field="comment",
                            source=tracker,
                            target=None,
                            old=digest(original.body),
                            new=digest(item.body),
                            reason="edited in its origin",
                        ),
                    )
                continue
            if item.mirror_of is not None:
                if item.mirror_of in comments and (item.mirror_of, tracker) not in known:
                    # Posted before a crash, never recorded: adopt it instead of posting again.
                    # What body it holds is unknown (an edit may have come since): no digest, so
                    # the next step rewrites it once to the current body.
                    self.store.map_comment(link.id, item.mirror_of, tracker, item.id, "posted")
                    known[(item.mirror_of, tracker)] = CommentRefRecord(
                        native_id=item.id, state="posted"
                    )
                continue
            comment = Comment(
                id=f"{tracker}:{item.id}",
                author=item.author,
                body=item.body,
                visibility=item.visibility,
                created_at=item.created_at,
                origin=Ref(tracker=tracker, id=item.id),
            )
            if comment.id in comments:
                continue
            self.store.add_comment(link.id, comment)
            comments[comment.id] = comment
            known[(comment.id, tracker)] = CommentRefRecord(native_id=item.id, state="origin")

    def _mirror(
        self,
        link: LinkRecord,
        comment: Comment,
        tracker: str,
        tickets: dict[str, str],
        known: dict[tuple[str, str], CommentRefRecord],
    ) -> Iterator[Event]:
        """Post the comment to ``tracker`` once, or bring an earlier mirror up to an edit.

        ``tickets`` holds each tracker's ticket id, moved when a post lands in a follow-up. A
        post a crash left unrecorded leaves the link unsettled (a comment not in every ticket),
        so the next reconcile reads every ticket's comments and adopts it by its marker.
        """
        ticket_id = tickets[tracker]
        entry = known.get((comment.id, tracker))
        if entry is not None and entry.state != "posted":
            return
        body_digest = digest(comment.body)
        if entry is not None and entry.digest == body_digest:
            return
        source = self.adapters.get(comment.origin.tracker)
        target = self._adapter(tracker)
        visibility = mirror_visibility(
            comment,
            source=comment.origin.tracker,
            source_customer_facing=source.customer_facing if source else False,
            target_customer_facing=target.customer_facing,
            target_internal_comments=target.internal_comments,
            public_from=self.policy.comments.public_from,
        )
        if entry is not None:
            if visibility is None or entry.native_id is None:
                return
            edited = target.update_comment(
                ticket_id, entry.native_id, Mirror(comment=comment, visibility=visibility)
            )
            self.store.mirror_edited(
                link.id,
                comment.id,
                tracker,
                body_digest,
                AuditEntry(
                    field="comment",
                    source=comment.origin.tracker,
                    target=tracker,
                    old=entry.digest,
                    new=body_digest,
                    reason=(
                        f"edit mirrored to comment {entry.native_id}"
                        if edited is not None
                        else f"{tracker} cannot edit comments: comment {entry.native_id} keeps its text"
                    ),
                ),
            )
            known[(comment.id, tracker)] = entry.model_copy(update={"digest": body_digest})
            if edited is not None:
                yield CommentEdited(link=link.key, comment=comment.id, target=tracker)
            return
        if visibility is None:
            reason = f"internal comment withheld from customer-facing {tracker}"
            self.store.map_comment(
                link.id,
                comment.id,
                tracker,
                None,
                "withheld",
                [_audit_comment(comment, tracker, reason)],
            )
            known[(comment.id, tracker)] = CommentRefRecord(native_id=None, state="withheld")
            yield CommentWithheld(link=link.key, comment=comment.id, target=tracker, reason=reason)
            return
        posted = target.add_comment(ticket_id, Mirror(comment=comment, visibility=visibility))
        if posted.ticket_id is not None and posted.ticket_id != ticket_id:
            moved = self._adapter(tracker).read(posted.ticket_id)
            self.store.record_write(
                link.id, observed(tracker, moved), [_moved(tracker, ticket_id, moved.id)]
            )
            tickets[tracker] = moved.id
        self.store.map_comment(
            link.id,
            comment.id,
            tracker,
            posted.id,
            "posted",
            [_audit_comment(comment, tracker, f"mirrored as {visibility} comment {posted.id}")],
            digest=body_digest,
        )
        known[(comment.id, tracker)] = CommentRefRecord(
            native_id=posted.id, state="posted", digest=body_digest
        )
        yield CommentMirrored(
            link=link.key, comment=comment.id, target=tracker, visibility=visibility.value
        )


def observed(tracker: str, native: NativeTicket) -> RefRecord:
    """A ref whose base is what the tracker holds now."""
    return RefRecord(
        tracker=tracker,
        native_id=native.id,
        base={f.value: v for f, v in native.fields.items()},
        remote_updated=native.updated_at,
        native_kind=native.kind,
        kind_known=True,
    )


_FIELDS = frozenset(Field)


def assumed(ref: RefRecord) -> NativeTicket | None:
    """The ticket as its base has it: what it held when the bridge last read or wrote it.

    None when the base cannot stand in for a read (a ref linked parked, with no base yet, or
    recorded before its kind was kept).
    """
    if not ref.base or ref.remote_updated is None or not ref.kind_known:
        return None
    return NativeTicket(
        id=ref.native_id,
        fields={Field(name): value for name, value in ref.base.items() if name in _FIELDS},
        kind=ref.native_kind,
        updated_at=ref.remote_updated,
    )


def _gone(tracker: str, native_id: str) -> ParkLink:
    return ParkLink(
        f"{tracker}:{native_id} no longer exists (deleted or moved); "
        "unlink it or link the ticket that replaced it"
    )


def _audit_comment(comment: Comment, target: str, reason: str) -> AuditEntry:
    return AuditEntry(
        field="comment",
        source=comment.origin.tracker,
        target=target,
        old=None,
        new=comment.id,
        reason=reason,
    )


def _moved(tracker: str, old_id: str, new_id: str) -> AuditEntry:
    return AuditEntry(
        field="link",
        source=None,
        target=tracker,
        old=f"{tracker}:{old_id}",
        new=f"{tracker}:{new_id}",
        reason=f"{tracker}:{old_id} is closed for good; the link continues in {tracker}:{new_id}",
    )


def _audit_link(tracker: str, native_id: str, reason: str) -> AuditEntry:
    return AuditEntry(
        field="link",
        source=tracker,
        target=None,
        old=None,
        new=f"{tracker}:{native_id}",
        reason=reason,
    )
