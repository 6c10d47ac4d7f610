"""One sync pass and running passes to quiescence: polls, inbox, retries, parking, dead letters.

The engine decides what to reconcile and what a failure means for a link; the reconciler
decides what a link's tickets should hold. Every outcome is a typed event; nothing is printed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial

from ticket_bridge.bridge import lifecycle
from ticket_bridge.bridge.adapter import Adapter, Mirror
from ticket_bridge.bridge.errors import (
    Conflict,
    NotFound,
    ParkLink,
    Permanent,
    Refused,
    TrackerError,
)
from ticket_bridge.bridge.events import (
    WRITES,
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
)
from ticket_bridge.bridge.lifecycle import LifecyclePolicies
from ticket_bridge.bridge.model import Comment, Person, Ref, Visibility
from ticket_bridge.bridge.policy import SyncPolicy
from ticket_bridge.bridge.reconcile import Reconciler, observed
from ticket_bridge.bridge.retry import CallRetry
from ticket_bridge.bridge.store import AuditEntry, InboxItem, LinkRecord, Store

CONFLICT_REMERGES = 3
REMINDER = (
    "We are still waiting for your answer to continue with this ticket. "
    "Reply to this message and we will pick it up again."
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        self.policy = policy
        self.retry = retry or CallRetry(policy.retry)
        self.clock = clock
        self.reconciler = Reconciler(store, self.adapters, policy, self.retry, clock)

    # -- one link --------------------------------------------------------------------------

    def sync_link(self, link_id: int) -> Iterator[Event]:
        """Reconcile one link; what a failure means (retry later, park, dead letter) is decided here."""
        link = self.store.link(link_id)
        if link is not None:
            yield from self._sync(link)

    def _sync(self, link: LinkRecord) -> Iterator[Event]:
        if link.state != "active":
            return
        link_id = link.id
        try:
            current: LinkRecord | None = link
            for attempt in range(1, CONFLICT_REMERGES + 1):
                if current is None or current.state != "active":
                    return
                try:
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
            yield from self._failed(link_id, link.key, link.failures + 1, exc)
            return
        if link.failures:
            self.store.note_success(link_id)

    def _failed(self, link_id: int, key: str, attempt: int, exc: TrackerError) -> Iterator[Event]:
        error = str(exc)
        if isinstance(exc, Permanent) or attempt >= self.policy.retry.link_attempts:
            self.store.note_failure(link_id, self.clock())
            self.store.dead_letter(link_id, attempt, error)
            yield DeadLettered(link=key, attempts=attempt, error=error)
            return
        retry_at = self.clock() + dt.timedelta(seconds=self.retry.link_delay(attempt, exc))
        self.store.note_failure(link_id, retry_at)
        yield LinkFailed(link=key, attempt=attempt, error=error, retry_at=retry_at)

    def sync_ticket(self, tracker: str, ticket_id: str) -> Iterator[Event]:
        """A ticket changed: reconcile its link, or adopt it when unlinked."""
        link = self.store.link_for(tracker, ticket_id)
        if link is None:
            adapter = self.adapters[tracker]
            try:
                native = self.retry(lambda: adapter.read(ticket_id))
            except NotFound:
                return
            link_id, events = self.reconciler.adopt(tracker, native)
            yield from events
            if link_id is None:
                return
            link = self.store.link(link_id)
            if link is None:
                return
        if link.retry_at is not None and link.retry_at > self.clock():
            return
        yield from self._sync(link)

    # -- passes ----------------------------------------------------------------------------

    def poll(self, tracker: str) -> Iterator[Event]:
        """One pass over a tracker's change feed; the cursor is committed only after a clean pass."""
        adapter = self.adapters[tracker]
        stored = self.store.cursor(tracker)
        try:
            changes = self.retry(lambda: adapter.changes(stored[0] if stored else None))
        except TrackerError as exc:
            yield PollFailed(tracker=tracker, error=str(exc))
            return
        clean = True
        for ticket_id in dict.fromkeys(changes.ids):
            try:
                yield from self.sync_ticket(tracker, ticket_id)
            except TrackerError as exc:
                clean = False
                yield PollFailed(tracker=tracker, error=str(exc))
        if clean and (stored is None or stored[0] != changes.cursor):
            self.store.set_cursor(tracker, changes.cursor)
            yield CursorCommitted(tracker=tracker, cursor=changes.cursor)

    def drain_inbox(self, stop: Callable[[], bool] = lambda: False) -> Iterator[Event]:
        """Webhook hints stored by the receivers: read the tickets they name and reconcile.

        Deliveries about the same ticket are coalesced into one reconcile. A hint whose
        reconcile could not start (the tracker is down) stays in the inbox for the next drain;
        ``stop`` is checked between tickets, so a shutdown leaves the rest for the next start.
        """
        groups: dict[tuple[str, str], list[InboxItem]] = {}
        for item in self.store.pending():
            groups.setdefault((item.tracker, item.ticket_id), []).append(item)
        settled: list[int] = []
        try:
            for (tracker, ticket_id), items in groups.items():
                if stop():
                    break
                ids = [item.id for item in items]
                if tracker not in self.adapters:
                    settled.extend(ids)
                    continue
                try:
                    yield from self.sync_ticket(tracker, ticket_id)
                except TrackerError as exc:
                    yield PollFailed(tracker=tracker, error=str(exc))
                    continue
                settled.extend(ids)
                first = min(item.received_at for item in items)
                yield HintSettled(
                    tracker=tracker,
                    ticket_id=ticket_id,
                    deliveries=len(items),
                    latency=max(0.0, (self.clock() - first).total_seconds()),
                )
        finally:
            self.store.done(settled)

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
        for link in self.store.links(state="active"):
            status = link.canonical.status
            if not policies.timers(status):
                continue
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
                break

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

    def sweep(self) -> Iterator[Event]:
        """Reconcile every active link, changed or not: the safety net behind feeds and webhooks."""
        for link_id in self.store.link_ids():
            yield from self.sync_link(link_id)
