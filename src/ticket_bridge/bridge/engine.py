"""One sync pass and running passes to quiescence: polls, inbox, retries, parking, dead letters.

The engine decides what to reconcile and what a failure means for a link; the reconciler
decides what a link's tickets should hold. Every outcome is a typed event; nothing is printed.

It is safe to call from several threads at once (the daemon's workers and pollers): work on one
link is serialised by a lock keyed by the link's key, which an unlinked ticket shares with the
link it will join (its correlation key), so adopting a counterpart never races its creation; and
inbox rows are claimed in-process, so no two threads take the same delivery.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import cast

from ticket_bridge.bridge import lifecycle
from ticket_bridge.bridge.adapter import Adapter, Hint, Mirror, Scope, covering
from ticket_bridge.bridge.calls import Calls
from ticket_bridge.bridge.errors import (
    Busy,
    Conflict,
    NotFound,
    ParkLink,
    Permanent,
    RateLimited,
    Refused,
    TrackerError,
)
from ticket_bridge.bridge.events import (
    WRITES,
    AccountKnown,
    CursorCommitted,
    DeadLettered,
    Event,
    HintSettled,
    LinkCreated,
    LinkFailed,
    LinkParked,
    PassFinished,
    PolicyApplied,
    PollFailed,
    SweepFinished,
    SweepPaused,
    TrackerRecovered,
)
from ticket_bridge.bridge.lifecycle import LifecyclePolicies
from ticket_bridge.bridge.model import Comment, Person, Ref, Visibility
from ticket_bridge.bridge.policy import SyncPolicy
from ticket_bridge.bridge.reconcile import CommentState, Focus, Fresh, Reconciler, observed
from ticket_bridge.bridge.retry import CallRetry, honouring_retry_after
from ticket_bridge.bridge.sightings import Sightings
from ticket_bridge.bridge.slots import Slots
from ticket_bridge.bridge.store import AuditEntry, InboxItem, LinkRecord, Store

CONFLICT_REMERGES = 3
REMINDER = (
    "We are still waiting for your answer to continue with this ticket. "
    "Reply to this message and we will pick it up again."
)


SWEEP_PAGE = 500
"""Links a sweep reads from the store at once."""
SWEEP_CURSOR = ":sweep"
"""Where a sweep keeps its place among the store's cursors (no tracker's name holds a ':'): the
last link it went over while under way, ``SWEEP_DONE`` between sweeps."""
SWEEP_DONE = "done"
PENDING_WINDOW = 1000
"""How many tickets one claim takes when not told."""
HINT_HOLD = 5.0
"""Seconds a daemon leaves a hint alone after its ticket could not be read (the tracker is down)."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class KeyedLocks:
    """One re-entrant lock per key, made on first use and dropped once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.RLock, int]] = {}

    def held(self, key: str) -> bool:
        with self._guard:
            return key in self._locks

    @contextmanager
    def hold(self, key: str, wait: float | None = None) -> Iterator[None]:
        """Hold ``key``'s lock; with ``wait``, raise ``Busy`` rather than wait longer for it."""
        with self._guard:
            lock, users = self._locks.get(key) or (threading.RLock(), 0)
            self._locks[key] = (lock, users + 1)
        try:
            if not lock.acquire(timeout=-1 if wait is None else wait):
                raise Busy(link=key)
            try:
                yield
            finally:
                lock.release()
        finally:
            with self._guard:
                users = self._locks[key][1] - 1
                if users:
                    self._locks[key] = (lock, users)
                else:
                    del self._locks[key]


@dataclass(frozen=True)
class SweepMark:
    """Where the sweeps stand: ``after_link`` is the place of one under way, None between
    sweeps; ``at`` is when that place was kept, or when the last sweep ended."""

    after_link: int | None
    at: dt.datetime

    @property
    def finished(self) -> bool:
        return self.after_link is None


@dataclass(frozen=True)
class Claim:
    """The inbox rows about one ticket, in one thread's hands until settled or released."""

    tracker: str
    ticket_id: str
    items: tuple[InboxItem, ...]

    @property
    def ticket(self) -> tuple[str, str]:
        return (self.tracker, self.ticket_id)

    @property
    def scope(self) -> Scope:
        """What of the ticket its deliveries, taken together, say changed."""
        return covering(item.scope for item in self.items)


class Engine:
    def __init__(
        self,
        store: Store,
        adapters: Mapping[str, Adapter],
        policy: SyncPolicy,
        *,
        retry: CallRetry | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.adapters = dict(adapters)
        self.slots = Slots()  # unbounded until a daemon sets ``per_tracker``
        self.sightings = Sightings(clock)
        self._calls: dict[str, Adapter] = {
            name: cast(Adapter, Calls(adapter, name, self.slots, self.sightings))
            for name, adapter in self.adapters.items()
        }
        # The sweep reads every ticket: noted as sightings, its reads of tickets no feed and no
        # delivery will name would push the workers' recent ones out of those kept, and cross
        # to the receivers one message each.
        self._sweep_calls: dict[str, Adapter] = {
            name: cast(Adapter, Calls(adapter, name, self.slots, None))
            for name, adapter in self.adapters.items()
        }
        self.policy = policy
        self.retry = retry or CallRetry(policy.retry)
        self.clock = clock
        self.down: set[str] = set()  # trackers whose last call failed
        self.throttled: dict[str, dt.datetime] = {}  # tracker -> when a sweep may read it again
        self._down_lock = threading.Lock()
        self.reconciler = Reconciler(store, self._calls, policy, self.retry, clock)
        self.links = KeyedLocks()
        self._inbox = threading.Lock()
        self._in_hand: set[tuple[str, str]] = set()  # tickets in some thread's hands
        self._identified: set[str] = set()  # trackers whose own account the adapter knows
        self._held: dict[tuple[str, str], float] = {}  # ticket -> monotonic time it may go again
        self._blocked: dict[tuple[str, str], Busy] = {}  # ticket -> what it found taken
        self._waiting = False  # the last claim left deliveries behind a ticket in hand or waiting

    # -- one link --------------------------------------------------------------------------

    def sync_link(self, link_id: int) -> Iterator[Event]:
        """Reconcile one link; what a failure means (retry later, park, dead letter) is decided here."""
        link = self.store.link(link_id)
        if link is None:
            return
        with self.links.hold(link.key):
            link = self.store.link(link_id)  # as it is now that no one else works on it
            if link is not None:
                yield from self._sync(link)

    def _sync(
        self,
        link: LinkRecord,
        trigger: str | None = None,
        fresh: Fresh | None = None,
        scope: Scope = Scope.ALL,
        stored: CommentState | None = None,
    ) -> Iterator[Event]:
        """Reconcile ``link``; ``trigger`` names the tracker whose ticket changed and ``scope``
        what of it, ``fresh`` holds what was read of the link just now, under its lock, and
        ``stored`` its comments as the store held them with it.

        A settled link is reconciled from the trigger's ticket alone (``Focus``): the echo of
        the bridge's own write costs the read of what ``scope`` names, and a change costs that
        read and the writes it needs. Anything else, and a merge again after a ``Conflict``,
        reads every ticket.
        """
        if link.state != "active":
            return
        link_id = link.id
        try:
            fresh = Fresh() if fresh is None else fresh
            state = (
                self.reconciler.settled(link, stored)
                if trigger in link.refs and not link.failures
                else None
            )
            focus = None if state is None or trigger is None else Focus(trigger, scope, state)
            current: LinkRecord | None = link
            for attempt in range(1, CONFLICT_REMERGES + 1):
                if current is None or current.state != "active":
                    return
                try:
                    if attempt == 1:
                        yield from self.reconciler.reconcile(current, fresh, focus)
                    else:
                        yield from self.reconciler.reconcile(current)
                    break
                except Conflict:
                    if attempt == CONFLICT_REMERGES:
                        raise
                    current = self.store.link(link_id)  # re-read: the bases moved on
        except ParkLink as exc:
            self.store.park(link_id, exc.reason)
            yield LinkParked(link=link.key, reason=exc.reason)
            return
        except TrackerError as exc:
            if not isinstance(exc, RateLimited):  # throttling is not an outage: its wait stands
                self._went_down(exc.tracker)
            yield from self._failed(link_id, link.key, link.failures + 1, exc)
            return
        if link.failures:
            self.store.note_success(link_id)
        for tracker in link.refs:
            yield from self._came_back(tracker)

    def _echoes(
        self,
        link: LinkRecord,
        triggers: Sequence[str],
        state: CommentState,
        fresh: Fresh,
    ) -> bool:
        """Whether every trigger's ticket holds only what the link knows; ``fresh`` gets what
        was read, up to the first that differs. For the sweep: its reads are no sightings."""
        for tracker in triggers:
            ref = link.refs[tracker]
            try:
                native = self.retry(partial(self._sweep_calls[tracker].read, ref.native_id))
            except NotFound as exc:
                raise ParkLink(
                    f"{tracker}:{ref.native_id} no longer exists (deleted or moved); "
                    f"unlink it or link the ticket that replaced it"
                ) from exc
            fresh.tickets[tracker] = native
            if not self.reconciler.echo(link, tracker, native, state, fresh):
                return False
        return True

    def _went_down(self, tracker: str) -> None:
        with self._down_lock:
            self.down.add(tracker)

    def _came_back(self, tracker: str) -> Iterator[Event]:
        """A tracker that failed answers again: links waiting out its outage go now, not at
        the end of their backoff."""
        with self._down_lock:
            if tracker not in self.down:
                return
            self.down.discard(tracker)
        yield TrackerRecovered(tracker=tracker, hastened=self.store.hasten())

    def _failed(self, link_id: int, key: str, attempt: int, exc: TrackerError) -> Iterator[Event]:
        """Back the link off, or dead-letter it once its attempts are spent. Throttling is the
        tracker's state, not the link's fault: a rate-limited link goes again when the tracker
        said it may, and those tries spend none of its attempts."""
        error = str(exc)
        throttled = isinstance(exc, RateLimited)
        if isinstance(exc, Permanent) or (
            not throttled and attempt >= self.policy.retry.link_attempts
        ):
            self.store.note_failure(link_id, self.clock())
            self.store.dead_letter(link_id, attempt, error)
            yield DeadLettered(link=key, attempts=attempt, error=error)
            return
        retry_at = self.clock() + dt.timedelta(seconds=self.retry.link_delay(attempt, exc))
        failures = self.store.note_failure(link_id, retry_at, counted=not throttled)
        yield LinkFailed(link=key, attempt=failures, error=error, retry_at=retry_at)

    def sync_ticket(
        self, tracker: str, ticket_id: str, scope: Scope = Scope.ALL
    ) -> Iterator[Event]:
        """A ticket changed (``scope`` says what of it): reconcile its link, or adopt it when
        unlinked.

        Under the lock of the link's key: an unlinked ticket's key is the one of the link it would
        join (its correlation key), so a counterpart whose webhook arrives before its creator
        recorded it waits for the creator, then finds itself linked.
        """
        for _ in range(3):  # the ticket may be linked (or moved) while this waits for a lock
            key = self.store.link_key_for(tracker, ticket_id)
            if key is not None:
                with self._hold(key):
                    found = self.store.link_record(tracker, ticket_id)
                    if found is None or found[0].key != key:
                        continue
                    link, comments, known = found
                    stored = CommentState(known=known, comments=comments)
                    yield from self._sync_due(link, tracker, scope=scope, stored=stored)
                return
            adapter = self._calls[tracker]
            try:
                native = self.retry(partial(adapter.read, ticket_id))
            except NotFound:
                return
            with self._hold(native.correlation_key or f"{tracker}:{native.id}"):
                if self.store.link_for(tracker, ticket_id) is not None:
                    continue
                link_id, events = self.reconciler.adopt(tracker, native)
                yield from events
                adopted = None if link_id is None else self.store.link(link_id)
                if adopted is not None:
                    yield from self._sync_due(adopted)
            return

    def _sync_due(
        self,
        link: LinkRecord,
        trigger: str | None = None,
        fresh: Fresh | None = None,
        scope: Scope = Scope.ALL,
        stored: CommentState | None = None,
    ) -> Iterator[Event]:
        if link.retry_at is not None and link.retry_at > self.clock():
            return
        yield from self._sync(link, trigger, fresh, scope, stored)

    # -- passes ----------------------------------------------------------------------------

    def poll(self, tracker: str, stop: Callable[[], bool] = lambda: False) -> Iterator[Event]:
        """One pass over a tracker's change feed; the cursor is committed only after a clean pass.

        ``stop`` is checked between tickets; a stopped pass is not clean, so the next one repeats it.
        """
        adapter = self.adapters[tracker]
        yield from self._identify(tracker)
        stored = self.store.cursor(tracker)
        try:
            changes = self.retry(lambda: adapter.changes(stored[0] if stored else None))
        except TrackerError as exc:
            if not isinstance(exc, RateLimited):
                self._went_down(tracker)
            yield PollFailed(tracker=tracker, error=str(exc))
            return
        yield from self._came_back(tracker)
        clean = True
        for ticket_id in dict.fromkeys(changes.ids):
            if stop():
                return
            stamp = changes.stamps.get(ticket_id)
            if stamp is not None and self.sightings.unchanged(tracker, ticket_id, stamp):
                continue
            try:
                yield from self.sync_ticket(tracker, ticket_id)
            except TrackerError as exc:
                clean = False
                yield PollFailed(tracker=tracker, error=str(exc))
        if clean and (stored is None or stored[0] != changes.cursor):
            self.store.set_cursor(tracker, changes.cursor)
            yield CursorCommitted(tracker=tracker, cursor=changes.cursor)

    def _identify(self, tracker: str) -> Iterator[Event]:
        """Learn the bridge's own account on the tracker, so its echoes need no read; a tracker
        that cannot answer now is asked again at its next poll (the poll says it is down)."""
        if tracker in self._identified:
            return
        try:
            account = self.adapters[tracker].identify()
        except TrackerError:
            return
        self._identified.add(tracker)
        if account is not None:
            yield AccountKnown(tracker=tracker, account=account)

    # -- the inbox -------------------------------------------------------------------------

    def claim(self, tickets: int | None = None) -> list[Claim]:
        """Take the pending deliveries of up to ``tickets`` tickets, oldest first, one claim each.

        A ticket already in some thread's hands is not handed out again: its new deliveries wait
        until that thread releases it, then coalesce into the next claim. A ticket given
        back ``Busy`` waits until the tracker it needed has a free slot. Claims are in-process:
        one daemon per store.
        """
        with self._inbox:
            now = time.monotonic()
            self._held = {k: at for k, at in self._held.items() if at > now}
            self._blocked = {k: b for k, b in self._blocked.items() if self._still(b)}
            freed_by_release = self._in_hand | self._blocked.keys()
            groups, self._waiting = self.store.claimable(
                tickets or PENDING_WINDOW,
                skip=freed_by_release | self._held.keys(),
                watch=freed_by_release,
            )
            claims = [Claim(items[0].tracker, items[0].ticket_id, tuple(items)) for items in groups]
            self._in_hand.update(claim.ticket for claim in claims)
            return claims

    def seen(self, hint: Hint) -> bool:
        """Whether a delivery names a version of its ticket the bridge has read or written
        already (the echo of its own write): there is nothing to read."""
        return self.sightings.knows(hint)

    def _still(self, busy: Busy) -> bool:
        """Whether what a ticket found taken is taken still."""
        if busy.tracker is not None:
            return self.slots.full(busy.tracker)
        return busy.link is not None and self.links.held(busy.link)

    def _hold(self, key: str) -> AbstractContextManager[None]:
        """A link's lock; a worker (a bound thread) gives its ticket back rather than wait long."""
        return self.links.hold(key, self.slots.wait if self.slots.bound_here() else None)

    def release(self, claim: Claim, *, hold: float = 0.0, blocked_on: Busy | None = None) -> None:
        """Give a claimed ticket back; its rows not settled, and those deferred, can be claimed again.

        With ``hold``, the ticket is not handed out again for that many seconds; with
        ``blocked_on``, not before what it found taken is free.
        """
        with self._inbox:
            self._in_hand.discard(claim.ticket)
            if hold > 0:
                self._held[claim.ticket] = time.monotonic() + hold
            if blocked_on is not None:
                self._blocked[claim.ticket] = blocked_on

    def waiting(self) -> bool:
        """Whether deliveries wait for a ticket or a tracker in hand: a release may free them."""
        with self._inbox:
            return self._waiting

    def in_hand(self) -> int:
        """How many tickets' deliveries some thread holds now."""
        with self._inbox:
            return len(self._in_hand)

    def settle(self, claim: Claim, *, hold: float = 0.0) -> Iterator[Event]:
        """Reconcile a claimed ticket, mark its deliveries done, and release it.

        A ticket whose reconcile could not start (the tracker is down) keeps its deliveries in the
        inbox, released with ``hold`` (``HINT_HOLD`` and a tracker's retry-after suit a daemon).
        """
        ids = [item.id for item in claim.items]
        settled: HintSettled | None = None
        waited = hold
        blocked_on: Busy | None = None
        try:
            if claim.tracker in self.adapters:
                try:
                    with self.slots.bound():
                        yield from self.sync_ticket(claim.tracker, claim.ticket_id, claim.scope)
                except Busy as exc:
                    waited, blocked_on = 0.0, exc
                    return
                except TrackerError as exc:
                    waited = honouring_retry_after(exc, hold) if hold else 0.0
                    yield PollFailed(tracker=claim.tracker, error=str(exc))
                    return
                first = min(item.received_at for item in claim.items)
                settled = HintSettled(
                    tracker=claim.tracker,
                    ticket_id=claim.ticket_id,
                    deliveries=len(ids),
                    latency=max(0.0, (self.clock() - first).total_seconds()),
                )
            self.store.done(ids)
            waited = 0.0
        finally:
            self.release(claim, hold=waited, blocked_on=blocked_on)
        if settled is not None:
            yield settled

    def drain_inbox(self, stop: Callable[[], bool] = lambda: False) -> Iterator[Event]:
        """Webhook hints stored by the receivers: read the tickets they name and reconcile.

        Deliveries about the same ticket are coalesced into one reconcile. A hint whose
        reconcile could not start (the tracker is down) stays in the inbox for the next drain;
        ``stop`` is checked between tickets, so a shutdown leaves the rest for the next start.
        """
        claims = self.claim()
        started = 0
        try:
            for claim in claims:
                if stop():
                    break
                started += 1
                yield from self.settle(claim)
        finally:
            for claim in claims[started:]:
                self.release(claim)

    def retry_due(self) -> Iterator[Event]:
        now = self.clock()
        for link_id, due in self.store.backing_off():
            if due is None or due <= now:
                yield from self.sync_link(link_id)

    def run_pass(self) -> Iterator[Event]:
        writes = failures = 0
        for event in self._pass_events():
            if isinstance(event, WRITES):
                writes += 1
            elif isinstance(event, LinkFailed | PollFailed | DeadLettered):
                failures += 1
            yield event
        waiting = len(self.store.backing_off())
        yield PassFinished(writes=writes, failures=failures, waiting=waiting)

    def _pass_events(self) -> Iterator[Event]:
        yield from self.drain_inbox()
        for tracker in self.adapters:
            yield from self.poll(tracker)
        yield from self.retry_due()

    def run_until_quiet(
        self, max_passes: int = 20, wait: Callable[[float], None] = time.sleep
    ) -> Iterator[Event]:
        """Passes until one writes nothing and no link waits for a retry (or ``max_passes``).

        When the only work left is links backing off, ``wait`` is called until the first is due.
        """
        for _ in range(max_passes):
            last: PassFinished | None = None
            for event in self.run_pass():
                if isinstance(event, PassFinished):
                    last = event
                yield event
            if last is None or last.writes or last.failures:
                continue
            if not last.waiting:
                return
            due = [at for _, at in self.store.backing_off() if at is not None]
            if due:
                wait(max(0.0, (min(due) - self.clock()).total_seconds()))

    # -- lifecycle policies ------------------------------------------------------------------

    def apply_policies(self, policies: LifecyclePolicies) -> Iterator[Event]:
        """Fire the lifecycle timers now due (seed 004): reminders while waiting on the requester,
        closing after no response, closing what stayed resolved. Each fires once per stay."""
        now = self.clock()
        for seen in self.store.links(state="active"):
            if not policies.timers(seen.canonical.status):
                continue
            with self.links.hold(seen.key):
                link = self.store.link(seen.id)  # a worker may have moved it on meanwhile
                if link is not None and link.state == "active":
                    yield from self._apply_policies(link, policies, now)

    def _apply_policies(
        self, link: LinkRecord, policies: LifecyclePolicies, now: dt.datetime
    ) -> Iterator[Event]:
        status = link.canonical.status
        if not policies.timers(status):
            return
        entered, done = self.store.status_since(link.id, status)
        for action in lifecycle.due_actions(status, entered, now, done, policies):
            if action.kind is lifecycle.ActionKind.REMIND:
                reminded = self._remind(link, action.name, entered)
                self.store.record_policy(
                    link.id, action.name, f"reminded in {', '.join(reminded) or 'no tracker'}"
                )
                yield PolicyApplied(link=link.key, policy=action.name, reminded=tuple(reminded))
                continue
            assert action.status is not None
            self.store.set_status(link.id, action.status.value, action.name)
            yield PolicyApplied(link=link.key, policy=action.name, status=action.status.value)
            yield from self.sync_link(link.id)
            return

    def _remind(self, link: LinkRecord, policy: str, entered: dt.datetime) -> list[str]:
        """A public reminder to the requester, in every customer-facing tracker of the link."""
        reminded = []
        for tracker, ref in link.refs.items():
            adapter = self.adapters.get(tracker)
            if adapter is None or not adapter.customer_facing:
                continue
            comment = Comment(
                id=f"policy:{policy}:{entered.isoformat()}",
                author=Person(name="Support team"),
                body=REMINDER,
                visibility=Visibility.PUBLIC,
                created_at=self.clock(),
                origin=Ref(tracker=tracker, id=f"policy:{policy}"),
            )
            adapter.add_comment(
                ref.native_id, Mirror(comment=comment, visibility=Visibility.PUBLIC)
            )
            reminded.append(tracker)
        return reminded

    # -- what admins do by hand -----------------------------------------------------------

    def link_by_hand(self, refs: list[Ref]) -> Iterator[Event]:
        """Tie existing tickets together; the first one's values win, the others are brought to it."""
        if len(refs) < 2 or len({r.tracker for r in refs}) != len(refs):
            raise Refused("link takes two or more tickets, each in a different tracker")
        natives = []
        for ref in refs:
            if ref.tracker not in self.adapters:
                raise Refused(f"{ref}: no tracker named {ref.tracker!r} is configured")
            linked = self.store.link_for(ref.tracker, ref.id)
            if linked is not None:
                raise Refused(f"{ref} is already in link {linked.key}: unlink it first")
            adapter = self.adapters[ref.tracker]
            try:
                natives.append(self.retry(partial(adapter.read, ref.id)))
            except NotFound:
                raise Refused(f"{ref}: no such ticket") from None
        first, *others = refs
        adapter = self.adapters[first.tracker]
        kind = adapter.translation.kind_of(natives[0].kind)
        ticket = self.reconciler.canonical_from(adapter, natives[0], kind)
        link = self.store.create_link(
            str(first),
            ticket,
            observed(first.tracker, natives[0]),
            AuditEntry(
                field="link",
                source=first.tracker,
                target=None,
                old=None,
                new=str(first),
                reason="linked by an admin",
            ),
        )
        for ref, native in zip(others, natives[1:], strict=True):
            self.store.add_ref(
                link.id,
                observed(ref.tracker, native),
                [
                    AuditEntry(
                        field="link",
                        source=ref.tracker,
                        target=None,
                        old=None,
                        new=str(ref),
                        reason=f"linked by an admin to {first}",
                    )
                ],
            )
        yield LinkCreated(link=link.key, source=str(first))
        yield from self.sync_link(link.id)

    def linked(self, ref: Ref) -> LinkRecord:
        link = self.store.link_for(ref.tracker, ref.id)
        if link is None:
            raise Refused(f"{ref} is not linked")
        return link

    def unlink(self, ref: Ref) -> LinkRecord:
        link = self.linked(ref)
        self.store.unlink(link.id, f"unlinked by an admin at {ref}")
        return link

    def resolve(self, conflict_id: int, side: str) -> Iterator[Event]:
        try:
            conflict = self.store.resolve_conflict(conflict_id, side)
        except KeyError:
            raise Refused(f"there is no conflict {conflict_id}") from None
        except ValueError as exc:
            raise Refused(str(exc)) from None
        yield from self.sync_link(conflict.link_id)

    def revive(self, link_id: int, reason: str) -> Iterator[Event]:
        """Put a parked or dead link back to work and reconcile it now."""
        link = self.store.link(link_id)
        if link is None or link.state == "unlinked":
            raise Refused(f"there is no link {link_id} to revive")
        self.store.activate(link_id, reason)
        yield from self.sync_link(link_id)

    def sweep_mark(self) -> SweepMark | None:
        """Where the sweeps stand; None before the first was due or run."""
        kept = self.store.cursor(SWEEP_CURSOR)
        if kept is None:
            return None
        place, at = kept
        return SweepMark(None if place == SWEEP_DONE else int(place), at)

    def sweep_due(self, interval: dt.timedelta) -> dt.datetime:
        """When the next sweep is due: at once to finish one that was cut short, else
        ``interval`` after the last one ended (or after the first time this was asked)."""
        mark = self.sweep_mark()
        if mark is None:
            self.store.set_cursor(SWEEP_CURSOR, SWEEP_DONE)
            return self.clock() + interval
        return mark.at + interval if mark.finished else mark.at

    def sweep(
        self, stop: Callable[[], bool] = lambda: False, *, resume: bool = False
    ) -> Iterator[Event]:
        """Reconcile every active link, changed or not: the safety net behind feeds and webhooks,
        for what neither reports (a comment need not move a ClickUp task's ``date_updated``).

        Links are read a page at a time. The sweep keeps its place in the store after each
        page. It pauses when ``stop`` says so, a tracker is down, or a tracker's rate limit
        outlasts what a call waits (every link would only fail and back off, then all come
        back at once), and ``resume`` goes on from the kept place.
        """
        mark = self.sweep_mark() if resume else None
        after = (mark.after_link if mark is not None else None) or 0
        links = reconciled = 0
        while page := self.store.link_page(after, SWEEP_PAGE):
            for link, comments, known in page:
                held = "stopping" if stop() else self._sweep_held()
                swept: bool | None = False
                if held is None:
                    stored = CommentState(known=known, comments=comments)
                    swept = yield from self._sweep_link(link, stored)
                    if swept is None:
                        held = self._sweep_held() or "rate-limited"
                if held is not None:
                    self.store.set_cursor(SWEEP_CURSOR, str(after))
                    yield SweepPaused(after_link=after, reason=held)
                    return
                links += 1
                if swept:
                    reconciled += 1
                after = link.id
            self.store.set_cursor(SWEEP_CURSOR, str(after))
        self.store.set_cursor(SWEEP_CURSOR, SWEEP_DONE)
        yield SweepFinished(links=links, reconciled=reconciled)

    def _sweep_held(self) -> str | None:
        """Why the sweep must not go on now: the trackers down or throttled; None when none is."""
        if not (self.down or self.throttled):  # asked before each link: the common case first
            return None
        now = self.clock()
        with self._down_lock:
            self.throttled = {t: until for t, until in self.throttled.items() if until > now}
            held = [f"{t} down" for t in sorted(self.down)] + [
                f"{t} rate-limited until {until:%H:%M:%S} UTC"
                for t, until in sorted(self.throttled.items())
                if t not in self.down
            ]
        return ", ".join(held) or None

    def _sweep_link(
        self, link: LinkRecord, stored: CommentState
    ) -> Generator[Event, None, bool | None]:
        """Sweep one link as a page read it; True when it was reconciled, None when a tracker's
        rate limit stopped its reads (the sweep pauses before it, and nothing was written).

        A settled link whose tickets all hold what the page knows of it costs their reads and
        nothing else: had anyone written to it since the page was read, its tickets would show
        it. Any other link is loaded afresh under its lock and reconciled in full from what was
        just read, unless it is backing off.
        """
        with self.links.hold(link.key):
            fresh = Fresh()
            try:
                if self._quiet(link, stored, fresh):
                    return False
            except RateLimited as exc:
                # A read only, after the call slept out shorter waits: the tracker's budget
                # is spent for longer than a call may wait, and so for every link after this.
                with self._down_lock:
                    self.throttled[exc.tracker] = self.clock() + dt.timedelta(
                        seconds=exc.retry_after
                    )
                return None
            current = self.store.link(link.id)
            if current is not None and current.key == link.key:
                yield from self._sync_due(current, fresh=fresh)
                return True
        yield from self.sync_link(link.id)  # its key changed meanwhile
        return True

    def _quiet(self, link: LinkRecord, stored: CommentState, fresh: Fresh) -> bool:
        """Whether ``link`` is settled and every one of its tickets holds only what it knows;
        ``fresh`` gets what was read. A read's ``RateLimited`` is the sweep's to act on."""
        if link.state != "active" or link.failures:
            return False
        state = self.reconciler.settled(link, stored)
        try:
            return state is not None and self._echoes(link, tuple(link.refs), state, fresh)
        except RateLimited:
            raise
        except (ParkLink, TrackerError):
            return False  # the full reconcile meets it again and decides what it means
