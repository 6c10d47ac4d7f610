"""The state store on SQLite, and on PostgreSQL when TICKET_BRIDGE_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.conftest import TickingClock
from ticket_bridge.bridge.adapter import Hint, Scope
from ticket_bridge.bridge.errors import StoreError
from ticket_bridge.bridge.model import Comment, Person, Ref, Status, Ticket, Visibility
from ticket_bridge.bridge.store import AuditEntry, ConflictEntry, RefRecord, Store, redact
from ticket_bridge.bridge.store.tables import metadata

WHEN = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)


def first_ref(native_id: str = "1") -> RefRecord:
    return RefRecord(
        tracker="zendesk", native_id=native_id, base={"status": "new"}, remote_updated=WHEN
    )


def created(store: Store, key: str = "zendesk:1") -> int:
    link = store.create_link(
        key,
        Ticket(title="Checkout fails"),
        first_ref(key.split(":")[1]),
        AuditEntry(field="link", source="zendesk", target=None, old=None, new=key, reason="routed"),
    )
    return link.id


def test_migrations_create_exactly_the_declared_schema(store: Store) -> None:
    assert not store.pending_migrations()
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_a_link_keeps_its_refs_bases_and_canonical_state(store: Store) -> None:
    link_id = created(store)
    store.add_ref(
        link_id,
        RefRecord(tracker="jira", native_id="ENG-7", base={"status": "To Do"}, remote_updated=None),
    )
    store.save_merge(
        link_id,
        Ticket(title="Checkout fails", status=Status.IN_PROGRESS),
        {"jira": RefRecord(tracker="jira", native_id="ENG-7", base={"status": "In Progress"})},
        [
            AuditEntry(
                field="status",
                source="jira",
                target=None,
                old="new",
                new="in_progress",
                reason="changed in jira",
            )
        ],
        [
            ConflictEntry(
                field="status",
                candidates={"jira": "in_progress", "zendesk": "new"},
                winner="jira",
                policy="latest",
            )
        ],
    )
    link = store.link(link_id)
    assert link is not None
    assert link.canonical.status is Status.IN_PROGRESS
    assert link.refs["jira"].base == {"status": "In Progress"}
    assert link.refs["zendesk"].remote_updated == WHEN
    assert store.link_for("jira", "ENG-7") == link
    assert store.link_by_key("zendesk:1") == link
    [conflict] = store.conflicts()
    assert conflict.candidates == {"jira": "in_progress", "zendesk": "new"}
    assert [a.reason for a in store.audit(link_id)] == ["changed in jira", "routed"]


def test_a_base_reads_back_as_written_even_where_the_fast_json_parser_refuses(
    store: Store,
) -> None:
    """SQLite's JSON columns are read by pydantic-core's parser, which refuses a lone surrogate
    that ``json.dumps`` writes escaped; such a value still reads back, by the standard parser."""
    link_id = created(store)
    base = {"title": "half an emoji \ud83d", "estimate": 1e308, "labels": ["a", {"b": None}]}
    store.add_ref(link_id, RefRecord(tracker="jira", native_id="ENG-1", base=base))
    link = store.link(link_id)
    assert link is not None and link.refs["jira"].base == base
    [(paged, _, _)] = store.link_page(0, 10)
    assert paged.refs["jira"].base == base


def test_a_refs_native_kind_is_kept_and_a_kind_never_recorded_is_told_from_none(
    store: Store,
) -> None:
    """A write to a ticket the bridge did not read first takes its kind from the ref (a Zendesk
    due date goes where the ticket's type says): a ticket with no type is not one of unknown
    type."""
    link_id = created(store)  # recorded before kinds were kept: unknown
    store.add_ref(
        link_id,
        RefRecord(tracker="jira", native_id="ENG-7", base={}, native_kind="Bug", kind_known=True),
    )
    store.add_ref(
        link_id,
        RefRecord(tracker="clickup", native_id="86a", base={}, native_kind=None, kind_known=True),
    )
    link = store.link(link_id)
    assert link is not None
    assert (link.refs["zendesk"].kind_known, link.refs["zendesk"].native_kind) == (False, None)
    assert (link.refs["jira"].kind_known, link.refs["jira"].native_kind) == (True, "Bug")
    assert (link.refs["clickup"].kind_known, link.refs["clickup"].native_kind) == (True, None)
    store.record_write(
        link_id,
        RefRecord(tracker="zendesk", native_id="1", base={}, native_kind="task", kind_known=True),
    )
    assert store.link(link_id).refs["zendesk"].native_kind == "task"  # type: ignore[union-attr]


def test_creating_a_link_twice_with_one_key_returns_the_first(store: Store) -> None:
    assert created(store) == created(store)
    assert len(store.links()) == 1


def test_a_ref_belongs_to_one_link_only(store: Store) -> None:
    created(store, "zendesk:1")
    other = created(store, "zendesk:2")
    with pytest.raises(sa.exc.IntegrityError):
        store.add_ref(other, first_ref("1"))


def test_datetimes_come_back_aware_and_naive_ones_are_refused(store: Store) -> None:
    link_id = created(store)
    link = store.link(link_id)
    assert link is not None and link.refs["zendesk"].remote_updated == WHEN
    assert link.refs["zendesk"].remote_updated.tzinfo is not None
    with pytest.raises((ValueError, sa.exc.StatementError)):
        store.note_failure(link_id, dt.datetime(2026, 1, 1))


def test_the_comment_map_records_origin_posted_and_withheld(store: Store) -> None:
    link_id = created(store)
    comment = Comment(
        id="zendesk:c1",
        author=Person(name="Dana", email="dana@example.com"),
        body="Still broken",
        visibility=Visibility.INTERNAL,
        created_at=WHEN,
        origin=Ref(tracker="zendesk", id="c1"),
    )
    store.add_comment(link_id, comment)
    store.map_comment(link_id, comment.id, "jira", "10001", "posted", digest="d1")
    store.map_comment(link_id, comment.id, "clickup", None, "withheld")
    assert store.comments(link_id) == [comment]
    assert {k: (v.native_id, v.state, v.digest) for k, v in store.comment_map(link_id).items()} == {
        ("zendesk:c1", "zendesk"): ("c1", "origin", None),
        ("zendesk:c1", "jira"): ("10001", "posted", "d1"),
        ("zendesk:c1", "clickup"): (None, "withheld", None),
    }
    audit = AuditEntry(
        field="comment", source="zendesk", target=None, old=None, new=None, reason="e"
    )
    store.edit_comment(link_id, comment.id, "Fixed now", audit)
    store.mirror_edited(link_id, comment.id, "jira", "d2", audit)
    assert store.comments(link_id)[0].body == "Fixed now"
    assert store.comment_map(link_id)[("zendesk:c1", "jira")].digest == "d2"
    store.map_comment(link_id, comment.id, "jira", "10002", "posted")  # a racing process
    assert store.comment_map(link_id)[("zendesk:c1", "jira")].native_id != "10002"


def test_the_inbox_dedupes_deliveries_and_drains(store: Store) -> None:
    assert store.enqueue("jira", "delivery-1", "ENG-7")
    assert not store.enqueue("jira", "delivery-1", "ENG-7")
    assert store.enqueue("zendesk", "delivery-1", "42")
    assert store.inbox_depth() == 2
    items = store.pending()
    store.done([items[0].id])
    assert [i.ticket_id for i in store.pending()] == ["42"]


def test_a_batch_of_deliveries_is_stored_once_each_in_one_go(store: Store) -> None:
    """Many requests' deliveries in one transaction: those received before, and a delivery
    sent twice within the batch, are stored once and answered as duplicates."""
    assert store.enqueue("jira", "d-1", "ENG-1")
    fresh = store.enqueue_many(
        [
            Hint(tracker=tracker, delivery_id=delivery, ticket_id=ticket)
            for tracker, delivery, ticket in [
                ("jira", "d-1", "ENG-1"),
                ("jira", "d-2", "ENG-2"),
                ("zendesk", "d-2", "42"),
                ("jira", "d-2", "ENG-2"),
            ]
        ]
    )
    assert fresh == {("jira", "d-2"), ("zendesk", "d-2")}
    assert store.inbox_depth() == 3
    assert [(i.tracker, i.ticket_id) for i in store.pending()] == [
        ("jira", "ENG-1"),
        ("jira", "ENG-2"),
        ("zendesk", "42"),
    ]
    assert store.enqueue_many([]) == set()


def test_a_delivery_keeps_what_it_says_changed_and_an_old_row_reads_as_all(
    store: Store,
) -> None:
    store.enqueue("zendesk", "d-1", "42", Scope.COMMENTS)
    store.enqueue("jira", "d-2", "ENG-1", Scope.FIELDS)
    store.enqueue("clickup", "d-3", "86a")
    with store.engine.begin() as conn:  # a row stored before deliveries had a scope
        conn.execute(sa.text("UPDATE inbox SET scope = NULL WHERE delivery_id = 'd-3'"))
    assert [(i.delivery_id, i.scope) for i in store.pending()] == [
        ("d-1", Scope.COMMENTS),
        ("d-2", Scope.FIELDS),
        ("d-3", Scope.ALL),
    ]


def test_a_claim_reads_the_longest_waiting_tickets_each_with_all_its_deliveries(
    store: Store,
) -> None:
    """A flood's thousands of rows name few tickets: a claim groups them per ticket, oldest
    first, and leaves out tickets that must wait, saying whether those have deliveries."""
    for n, (tracker, ticket) in enumerate(
        [("jira", "A"), ("zendesk", "1"), ("jira", "A"), ("jira", "B"), ("zendesk", "1")]
    ):
        store.enqueue(tracker, f"d-{n}", ticket)
    groups, behind = store.claimable(2)
    assert [[(i.tracker, i.ticket_id, i.delivery_id) for i in g] for g in groups] == [
        [("jira", "A", "d-0"), ("jira", "A", "d-2")],
        [("zendesk", "1", "d-1"), ("zendesk", "1", "d-4")],
    ]
    assert not behind
    groups, behind = store.claimable(5, skip=[("jira", "A")], watch=[("jira", "A")])
    assert [g[0].ticket_id for g in groups] == ["1", "B"] and behind
    store.done([i.id for i in store.pending() if i.ticket_id == "A"])
    assert store.claimable(5, skip=[("jira", "A")], watch=[("jira", "A")])[1] is False


def test_cursors_are_kept_per_tracker(store: Store) -> None:
    assert store.cursor("jira") is None
    store.set_cursor("jira", "2026-11-02T09:00")
    store.set_cursor("jira", "2026-11-02T09:05")
    value, _ = store.cursor("jira")  # type: ignore[misc]
    assert value == "2026-11-02T09:05"


def test_a_page_of_links_holds_each_active_link_with_only_its_own_refs_and_comments(
    store: Store,
) -> None:
    """Pages are read by a range of link ids: a parked link inside the range, its refs and its
    comments, must not leak into the page or onto a neighbour."""
    ids = [created(store, f"zendesk:{n}") for n in range(1, 8)]
    for link_id in ids:
        store.add_ref(
            link_id,
            RefRecord(tracker="jira", native_id=f"ENG-{link_id}", base={"status": "To Do"}),
        )
        comment = Comment(
            id=f"zendesk:c{link_id}",
            author=Person(name="Dana"),
            body=f"Comment of link {link_id}",
            visibility=Visibility.PUBLIC,
            created_at=WHEN,
            origin=Ref(tracker="zendesk", id=f"c{link_id}"),
        )
        store.add_comment(link_id, comment)
        store.map_comment(link_id, comment.id, "jira", f"j{link_id}", "posted", digest="d")
    parked = {ids[1], ids[4]}
    for link_id in parked:
        store.park(link_id, "unknown status")
    pages, after = [], 0
    while page := store.link_page(after, 2):
        pages.append([link.id for link, _, _ in page])
        for link, comments, known in page:
            assert link.state == "active"
            assert {t: r.native_id for t, r in link.refs.items()} == {
                "zendesk": link.key.split(":")[1],
                "jira": f"ENG-{link.id}",
            }
            assert [c.body for c in comments] == [f"Comment of link {link.id}"]
            assert {k: v.native_id for k, v in known.items()} == {
                (f"zendesk:c{link.id}", "zendesk"): f"c{link.id}",
                (f"zendesk:c{link.id}", "jira"): f"j{link.id}",
            }
        after = page[-1][0].id
    assert pages == [[ids[0], ids[2]], [ids[3], ids[5]], [ids[6]]]
    assert [link.id for link, _, _ in store.link_page(0, 10, state="parked")] == sorted(parked)


def test_failures_park_and_dead_letters(store: Store, clock: TickingClock) -> None:
    link_id = created(store)
    assert store.note_failure(link_id, clock()) == 1
    assert store.note_failure(link_id, clock()) == 2
    assert store.note_failure(link_id, clock(), counted=False) == 2, "a throttle spends nothing"
    store.dead_letter(link_id, 2, "jira: 503")
    assert store.link_ids() == []
    [letter] = store.dead_letters()
    assert letter.error == "jira: 503"
    store.activate(link_id, "retried by admin")
    assert store.link_ids() == [link_id]
    assert store.dead_letters() == []
    store.park(link_id, "unknown status")
    link = store.link(link_id)
    assert link is not None and (link.state, link.reason) == ("parked", "unknown status")


def test_a_missing_store_directory_is_a_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nowhere/state.db"
    with pytest.raises(StoreError, match=r"directory .*nowhere does not exist"):
        Store.open(url)


def test_a_locked_store_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    store = Store.open(url, busy_timeout=0.2)
    created(store)
    holder = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another process"):
            store.enqueue("jira", "d1", "ENG-1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.enqueue("jira", "d1", "ENG-1"), "the refused delivery can be stored afterwards"
    assert len(store.links()) == 1
    store.close()


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    url = "postgresql+psycopg://bridge:hunter2@127.0.0.1:1/tickets"
    with pytest.raises(StoreError) as caught:
        Store.open(url)
    assert "hunter2" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)
    assert "hunter2" not in redact(url)


def test_the_default_store_lives_under_the_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    store = Store.open()
    assert (tmp_path / "ticket-bridge" / "state.db").exists()
    store.close()


def test_a_create_attempt_is_remembered_until_its_ref_is_recorded(store: Store) -> None:
    link_id = created(store)
    assert store.attempt_create(link_id, "jira") is None
    earlier = store.attempt_create(link_id, "jira")
    assert earlier is not None, "a second attempt learns of the first, never settled"
    assert store.attempt_create(link_id, "jira") == earlier
    store.add_ref(link_id, RefRecord(tracker="jira", native_id="ENG-1", base={}))
    assert store.attempt_create(link_id, "clickup") is None
    store.add_ref(link_id, RefRecord(tracker="clickup", native_id="86a", base={}))
    assert store.attempt_create(link_id, "jira") is None, "settled by its ref"


def test_a_comment_learned_or_mapped_twice_keeps_the_first_record(store: Store) -> None:
    """An admin's command and the daemon reconciling one link at once must not crash either."""
    import datetime as dt

    from ticket_bridge.bridge.model import Comment, Person, Ref, Ticket, Visibility
    from ticket_bridge.bridge.store import AuditEntry, RefRecord

    link = store.create_link(
        "zendesk:1",
        Ticket(title="t"),
        RefRecord(tracker="zendesk", native_id="1", base={}),
        AuditEntry.admin("link", "zendesk:1", "test"),
    )
    comment = Comment(
        id="zendesk:c1",
        author=Person(name="Dana"),
        body="hello",
        visibility=Visibility.PUBLIC,
        created_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC),
        origin=Ref(tracker="zendesk", id="c1"),
    )
    store.add_comment(link.id, comment)
    store.add_comment(link.id, comment.model_copy(update={"body": "changed"}))
    store.map_comment(link.id, comment.id, "jira", "j1", "posted")
    store.map_comment(link.id, comment.id, "jira", "j2", "posted")
    assert [c.body for c in store.comments(link.id)] == ["hello"]
    assert store.comment_map(link.id)[(comment.id, "jira")].native_id == "j1"


def test_a_processs_writers_queue_for_sqlite_instead_of_failing_on_its_lock(
    tmp_path: Path,
) -> None:
    """Eight threads writing at once with a 10 ms busy timeout: none meets "database is
    locked", because this process's writers wait their turn before asking SQLite."""
    store = Store.open(f"sqlite:///{tmp_path / 'state.db'}", busy_timeout=0.01)
    failures: list[Exception] = []

    def write(worker: int) -> None:
        try:
            for n in range(40):
                store.enqueue("zendesk", f"w{worker}-{n}", str(n))
        except Exception as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.inbox_depth() == 8 * 40
