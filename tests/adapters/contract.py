"""The adapter contract: one suite every tracker adapter passes, run against its fake tracker.

A tracker's test module subclasses ``AdapterContract`` and provides the ``harness`` fixture:
the adapter under test, plus the ways a person (or the tracker itself) acts on that tracker.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import pytest

from ticket_bridge.bridge.adapter import Adapter, BacklogQuery, Draft, Mirror, NativeTicket
from ticket_bridge.bridge.errors import Conflict, NotFound, RateLimited, WebhookRejected
from ticket_bridge.bridge.model import (
    Comment,
    Due,
    Field,
    Person,
    Priority,
    Ref,
    Status,
    Visibility,
)


class Harness(Protocol):
    adapter: Adapter

    def open_ticket(self, title: str) -> str:
        """A person opens a ticket in the tracker; returns its id."""

    def edit_title(self, ticket_id: str, title: str) -> None:
        """A person retitles a ticket."""

    def delivery(self, ticket_id: str) -> tuple[dict[str, str], bytes]:
        """A webhook delivery about the ticket's latest change, signed as the tracker signs it
        and naming whoever made that change as the tracker names them."""

    def throttle(self) -> None:
        """The tracker's rate limit is spent: its next answer is a 429 with its own headers."""

    @property
    def assignee(self) -> str:
        """The email of someone tickets can be assigned to in this tracker."""


def a_comment(key: str, visibility: Visibility) -> Comment:
    return Comment(
        id=key,
        author=Person(name="Dana Customer", email="dana@example.com"),
        body="The export still **fails** for March.",
        visibility=visibility,
        created_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
        origin=Ref(tracker="elsewhere", id=key.rsplit(":", maxsplit=1)[-1]),
    )


class AdapterContract:
    """What the reconciler relies on, checked against every adapter."""

    def draft(self, adapter: Adapter, key: str) -> Draft:
        t = adapter.translation
        return Draft(
            fields={
                f: v
                for f, v in {
                    Field.TITLE: "Invoice export fails",
                    Field.DESCRIPTION: "Since Monday",
                    Field.STATUS: t.to_native(Field.STATUS, Status.ACKNOWLEDGED, None),
                    Field.PRIORITY: t.to_native(Field.PRIORITY, Priority.P2, None),
                }.items()
                if f in adapter.fields
            },
            correlation_key=key,
        )

    def test_read_gives_every_field_it_holds(self, harness: Harness) -> None:
        ticket_id = harness.open_ticket("Printer on fire")
        native = harness.adapter.read(ticket_id)
        assert native.id == ticket_id
        assert native.fields[Field.TITLE] == "Printer on fire"
        assert native.updated_at.tzinfo is not None

    def test_reading_a_missing_ticket_is_not_found(self, harness: Harness) -> None:
        with pytest.raises(NotFound):
            harness.adapter.read("999999")

    def test_create_with_a_correlation_key_never_duplicates(self, harness: Harness) -> None:
        draft = self.draft(harness.adapter, "elsewhere:77")
        first = harness.adapter.create(draft)
        again = harness.adapter.create(draft)
        assert again.id == first.id
        found = harness.adapter.find("elsewhere:77")
        assert found is not None and found.id == first.id
        assert found.correlation_key == "elsewhere:77"
        t = harness.adapter.translation
        assert (
            t.to_canonical(Field.STATUS, first.fields[Field.STATUS], Status.ACKNOWLEDGED)
            is Status.ACKNOWLEDGED
        )

    def test_update_returns_the_state_after_the_write(self, harness: Harness) -> None:
        ticket_id = harness.open_ticket("Slow search")
        t = harness.adapter.translation
        patch = {
            Field.STATUS: t.to_native(Field.STATUS, Status.IN_PROGRESS, None),
            Field.PRIORITY: t.to_native(Field.PRIORITY, Priority.P1, None),
        }
        after = harness.adapter.update(ticket_id, patch)
        # Read back as the reconciler does, knowing the canonical value it wrote (the set rule).
        status = t.to_canonical(Field.STATUS, after.fields[Field.STATUS], Status.IN_PROGRESS)
        assert status is Status.IN_PROGRESS
        assert (
            t.to_canonical(Field.PRIORITY, after.fields[Field.PRIORITY], Priority.P1) is Priority.P1
        )
        assert harness.adapter.read(ticket_id).fields == after.fields

    def test_a_write_guarded_by_what_the_bridge_knew_goes_through_after_a_comment(
        self, harness: Harness
    ) -> None:
        """The bridge writes to a ticket as it last read or wrote it (its base): a comment
        since moved the stamp, not a field, so nothing anyone set is in the way."""
        ticket_id = harness.open_ticket("Slow search")
        seen = harness.adapter.read(ticket_id)
        comment = a_comment("elsewhere:c-guard", Visibility.INTERNAL)
        harness.adapter.add_comment(
            ticket_id, Mirror(comment=comment, visibility=Visibility.INTERNAL)
        )
        t = harness.adapter.translation
        wanted = t.to_native(Field.PRIORITY, Priority.P1, None)
        after = harness.adapter.update(ticket_id, {Field.PRIORITY: wanted}, seen=seen)
        assert t.to_canonical(Field.PRIORITY, after.fields[Field.PRIORITY], Priority.P1) is (
            Priority.P1
        )

    def test_a_write_guarded_by_a_ticket_edited_since_is_a_conflict_and_writes_nothing(
        self, harness: Harness
    ) -> None:
        ticket_id = harness.open_ticket("Slow search")
        seen = harness.adapter.read(ticket_id)
        harness.edit_title(ticket_id, "Search is slow for everyone")
        t = harness.adapter.translation
        before = harness.adapter.read(ticket_id).fields[Field.PRIORITY]
        wanted = t.to_native(Field.PRIORITY, Priority.P1, None)
        assert wanted != before
        with pytest.raises(Conflict):
            harness.adapter.update(ticket_id, {Field.PRIORITY: wanted}, seen=seen)
        now = harness.adapter.read(ticket_id)
        assert now.fields[Field.PRIORITY] == before
        assert now.fields[Field.TITLE] == "Search is slow for everyone"

    def test_every_synced_field_round_trips(self, harness: Harness) -> None:
        """What the bridge writes reads back as the same canonical value, field by field."""
        ticket_id = harness.open_ticket("Round trip")
        holds = harness.adapter.read(ticket_id).fields
        wanted: dict[Field, object] = {
            Field.TITLE: "Renamed by the bridge",
            Field.DESCRIPTION: "Line one\n\n**bold** and `code`",
            Field.STATUS: Status.IN_PROGRESS,
            Field.PRIORITY: Priority.P2,
            Field.DUE: Due.on(dt.date(2026, 12, 24)),
            Field.ASSIGNEE: harness.assignee,
        }
        t = harness.adapter.translation
        writable = {f: v for f, v in wanted.items() if f in harness.adapter.fields and f in holds}
        assert {Field.TITLE, Field.STATUS, Field.PRIORITY, Field.ASSIGNEE} <= set(writable)
        after = harness.adapter.update(
            ticket_id, {f: t.to_native(f, v, holds[f]) for f, v in writable.items()}
        )
        again = harness.adapter.read(ticket_id)
        for field, value in writable.items():
            assert t.to_canonical(field, after.fields[field], value) == value, field
            assert t.to_canonical(field, again.fields[field], value) == value, field

    def test_a_429_is_rate_limited_with_the_trackers_retry_after(self, harness: Harness) -> None:
        ticket_id = harness.open_ticket("Throttled")
        harness.throttle()
        with pytest.raises(RateLimited) as caught:
            harness.adapter.read(ticket_id)
        assert caught.value.retry_after > 0
        assert caught.value.tracker == harness.adapter.name

    def test_the_change_feed_names_changed_tickets_after_a_cursor(self, harness: Harness) -> None:
        first = harness.adapter.changes(None)
        ticket_id = harness.open_ticket("New one")
        later = harness.adapter.changes(first.cursor)
        assert ticket_id in later.ids
        harness.edit_title(ticket_id, "Renamed")
        again = harness.adapter.changes(later.cursor)
        assert ticket_id in again.ids

    def test_a_feeds_stamp_is_the_tickets_updated_stamp(self, harness: Harness) -> None:
        """A poll skips a ticket whose stamp it has seen: the feed's and the ticket's must agree,
        and move when the ticket changes."""
        ticket_id = harness.open_ticket("Stamped")
        changes = harness.adapter.changes(None)
        if not changes.stamps:
            pytest.skip("a feed without stamps (memory's exact sequence) never lets a poll skip")
        before = harness.adapter.read(ticket_id).updated_at
        assert changes.stamps[ticket_id] == before
        harness.edit_title(ticket_id, "Stamped again")
        after = harness.adapter.read(ticket_id)
        assert after.updated_at > before
        assert harness.adapter.changes(changes.cursor).stamps[ticket_id] == after.updated_at

    @staticmethod
    def whole_backlog(adapter: Adapter, query: BacklogQuery) -> list[NativeTicket]:
        tickets: list[NativeTicket] = []
        cursor: str | None = None
        for _ in range(10_000):
            page = adapter.backlog(query, cursor)
            tickets.extend(page.tickets)
            if page.cursor is None:
                return tickets
            cursor = page.cursor
        raise AssertionError("the backlog never ended")

    def test_the_backlog_holds_existing_tickets_oldest_first_once(self, harness: Harness) -> None:
        ids = [harness.open_ticket(f"Backlog {n}") for n in range(3)]
        tickets = self.whole_backlog(harness.adapter, BacklogQuery())
        seen = [t.id for t in tickets]
        assert [i for i in seen if i in ids] == ids
        assert len(seen) == len(set(seen))
        [first] = [t for t in tickets if t.id == ids[0]]
        assert first.fields[Field.TITLE] == "Backlog 0"

    def test_the_backlog_keeps_to_its_date_range(self, harness: Harness) -> None:
        ticket_id = harness.open_ticket("Dated")
        now = harness.adapter.read(ticket_id).updated_at  # the tracker's clock, not ours
        day = dt.timedelta(days=1)
        around = BacklogQuery(created_from=now - day, created_until=now + day)
        assert ticket_id in [t.id for t in self.whole_backlog(harness.adapter, around)]
        for outside in (
            BacklogQuery(created_from=now + day),
            BacklogQuery(created_until=now - day),
        ):
            assert ticket_id not in [t.id for t in self.whole_backlog(harness.adapter, outside)]

    def test_a_tracker_set_up_as_documented_has_no_findings(self, harness: Harness) -> None:
        assert list(harness.adapter.inspect()) == []

    @pytest.mark.parametrize("visibility", list(Visibility))
    def test_a_mirror_reads_back_with_its_marker_and_visibility(
        self, harness: Harness, visibility: Visibility
    ) -> None:
        ticket_id = harness.open_ticket("Comments")
        comment = a_comment(f"elsewhere:c-{visibility}", visibility)
        posted = harness.adapter.add_comment(
            ticket_id, Mirror(comment=comment, visibility=visibility)
        )
        [listed] = [c for c in harness.adapter.comments(ticket_id) if c.id == posted.id]
        assert listed.mirror_of == comment.id
        assert listed.visibility is visibility
        assert comment.body in listed.body and "Dana Customer" in listed.body

    def test_a_signed_delivery_names_the_ticket(self, harness: Harness) -> None:
        ticket_id = harness.open_ticket("Webhook")
        headers, body = harness.delivery(ticket_id)
        hints = harness.adapter.parse_webhook(headers, body)
        assert [h.ticket_id for h in hints] == [ticket_id]
        assert all(h.delivery_id for h in hints)

    def test_a_delivery_of_the_bridges_own_write_is_an_echo_and_a_persons_is_not(
        self, harness: Harness
    ) -> None:
        """An echo is answered without a read; a person's change taken for one would wait for
        the next poll, so only the account the bridge acts as makes echoes."""
        if harness.adapter.identify() is None:
            pytest.skip("deliveries that name no actor are never echoes")
        ticket_id = harness.open_ticket("Printer on fire")
        harness.edit_title(ticket_id, "Printer still on fire")
        hints = harness.adapter.parse_webhook(*harness.delivery(ticket_id))
        assert hints and not any(h.echo for h in hints)
        t = harness.adapter.translation
        harness.adapter.update(
            ticket_id, {Field.PRIORITY: t.to_native(Field.PRIORITY, Priority.P1, None)}
        )
        hints = harness.adapter.parse_webhook(*harness.delivery(ticket_id))
        assert hints and all(h.echo for h in hints)

    def test_a_tampered_delivery_is_refused(self, harness: Harness) -> None:
        headers, body = harness.delivery(harness.open_ticket("Webhook"))
        with pytest.raises(WebhookRejected) as caught:
            harness.adapter.parse_webhook(headers, body.replace(b"1", b"2", 1) + b" ")
        assert caught.value.status == 401

    def test_an_unsigned_delivery_is_refused(self, harness: Harness) -> None:
        headers, body = harness.delivery(harness.open_ticket("Webhook"))
        unsigned = {k: v for k, v in headers.items() if "signature" not in k.lower()}
        with pytest.raises(WebhookRejected) as caught:
            harness.adapter.parse_webhook(unsigned, body)
        assert caught.value.status in (400, 401)

    def test_an_oversized_delivery_is_refused(self, harness: Harness) -> None:
        headers, _ = harness.delivery(harness.open_ticket("Webhook"))
        with pytest.raises(WebhookRejected) as caught:
            harness.adapter.parse_webhook(headers, b"{" + b" " * (8 * 1024 * 1024) + b"}")
        assert caught.value.status == 413
