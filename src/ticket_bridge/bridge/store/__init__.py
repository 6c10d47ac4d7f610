"""The state store: links, per-ref bases, comment map, cursors, inbox, audit, conflicts, dead letters.

SQLite (WAL) by default, PostgreSQL by URL; the schema is only ever changed by Alembic migrations.
Every method is one transaction, so a crash leaves either all of a step or none of it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from importlib.resources import files
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from pydantic import AwareDatetime, ConfigDict, field_validator
from pydantic_core import from_json
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError

from ticket_bridge.bridge.adapter import Hint, Scope
from ticket_bridge.bridge.errors import StoreError
from ticket_bridge.bridge.model import (
    Comment,
    Frozen,
    Json,
    Kind,
    Person,
    Ref,
    Ticket,
    Visibility,
)
from ticket_bridge.bridge.store import tables as t
from ticket_bridge.bridge.store.turns import Checkpoints, StoreBusy, WriterTurns

Clock = Callable[[], dt.datetime]


def default_store_path() -> Path:
    """``$XDG_STATE_HOME/ticket-bridge/state.db``, else ``~/.local/state/ticket-bridge/state.db``."""
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "ticket-bridge" / "state.db"


def default_store_url() -> str:
    return f"sqlite:///{default_store_path()}"


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except SQLAlchemyError:
        return "<unparseable store URL>"


def _on_disk(database: str | None) -> bool:
    """Whether a SQLite database is a file path (not in memory, not a ``file:`` URI)."""
    if database is None or database in ("", ":memory:"):
        return False
    return not database.startswith("file:")


def _turns_file(database: str | None) -> Path | None:
    """Where processes sharing a SQLite file take turns writing; None for one in memory."""
    return Path(f"{database}.lock") if _on_disk(database) else None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


READING = "ticket_bridge_reading"
"""The execution option that marks a read-only transaction (SQLite: a deferred BEGIN)."""


def _json_loads(text: str | bytes) -> Any:
    """JSON the store wrote, read back (SQLite's JSON columns, a ref's native kind):
    pydantic-core's parser, three times the standard one's speed on a link's small documents (a
    sweep reads four a link); the standard one for what it refuses (a lone surrogate, which
    ``json.dumps`` writes escaped)."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)


_LINK_COLUMNS = (
    t.links.c.id,
    t.links.c.key,
    t.links.c.kind,
    t.links.c.origin,
    t.links.c.canonical,
    t.links.c.state,
    t.links.c.reason,
    t.links.c.failures,
    t.links.c.retry_at,
)
"""What a ``LinkRecord`` is made of (not the row's own timestamps)."""

_REF_COLUMNS = (
    t.refs.c.link_id,
    t.refs.c.tracker,
    t.refs.c.native_id,
    t.refs.c.base,
    t.refs.c.remote_updated,
    t.refs.c.native_kind,
)
"""What a ``RefRecord`` is made of, and the link it belongs to."""

# The statements a worker runs for every delivery, built once: SQLAlchemy then skips building
# the expression and its cache key at each call, half of a small query's cost in Python.
_TICKET_REF = (t.refs.c.tracker == sa.bindparam("tracker")) & (
    t.refs.c.native_id == sa.bindparam("native_id")
)
_LINK_WITH_REFS = sa.select(*_LINK_COLUMNS, *_REF_COLUMNS).outerjoin(
    t.refs, t.refs.c.link_id == t.links.c.id
)
_LINK_BY_ID = _LINK_WITH_REFS.where(t.links.c.id == sa.bindparam("link_id"))
_LINK_OF_TICKET = _LINK_WITH_REFS.where(
    t.links.c.id == sa.select(t.refs.c.link_id).where(_TICKET_REF).scalar_subquery()
)
_KEY_OF_TICKET = (
    sa.select(t.links.c.key).join(t.refs, t.refs.c.link_id == t.links.c.id).where(_TICKET_REF)
)
_SPAN: tuple[sa.BindParameter[int], sa.BindParameter[int]] = (
    sa.bindparam("first", type_=sa.Integer),
    sa.bindparam("last", type_=sa.Integer),
)
_REFS_IN_SPAN = sa.select(*_REF_COLUMNS).where(t.refs.c.link_id.between(*_SPAN))
_COMMENTS_IN_SPAN = (
    sa.select(t.comments)
    .where(t.comments.c.link_id.between(*_SPAN))
    .order_by(t.comments.c.created_at, t.comments.c.id)
)
_COMMENT_MAPS_IN_SPAN = sa.select(t.comment_refs).where(t.comment_refs.c.link_id.between(*_SPAN))
_UNSETTLED = t.inbox.c.done_at.is_(None)
_INBOX_TICKET = sa.tuple_(t.inbox.c.tracker, t.inbox.c.ticket_id)
_CLAIMABLE = (
    sa.select(t.inbox)
    .where(
        _UNSETTLED,
        _INBOX_TICKET.in_(
            # the tickets waiting longest, one row each however many deliveries name them
            sa.select(t.inbox.c.tracker, t.inbox.c.ticket_id)
            .where(_UNSETTLED, _INBOX_TICKET.not_in(sa.bindparam("skip", expanding=True)))
            .group_by(t.inbox.c.tracker, t.inbox.c.ticket_id)
            .order_by(sa.func.min(t.inbox.c.id))
            .limit(sa.bindparam("tickets"))
        ),
    )
    # a ticket's first row is its oldest delivery: groups come out in the order tickets waited
    .order_by(t.inbox.c.id)
)
_WAITING_BEHIND = (
    sa.select(t.inbox.c.id)
    .where(_UNSETTLED, _INBOX_TICKET.in_(sa.bindparam("watch", expanding=True)))
    .limit(1)
)

# An update's bound names may not be its columns' (SQLAlchemy keeps those for its SET clause).
_SETTLE = (
    sa.update(t.inbox)
    .where(t.inbox.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(done_at=sa.bindparam("settled_at", type_=t.inbox.c.done_at.type))
)
_SET_CANONICAL = (
    sa.update(t.links)
    .where(t.links.c.id == sa.bindparam("of_link"))
    .values(
        canonical=sa.bindparam("new_canonical", type_=t.links.c.canonical.type),
        updated_at=sa.bindparam("new_updated_at", type_=t.links.c.updated_at.type),
    )
)
_SET_BASE = (
    sa.update(t.refs)
    .where(
        t.refs.c.link_id == sa.bindparam("of_link"),
        t.refs.c.tracker == sa.bindparam("of_tracker"),
    )
    .values(
        base=sa.bindparam("new_base", type_=t.refs.c.base.type),
        remote_updated=sa.bindparam("new_remote_updated", type_=t.refs.c.remote_updated.type),
        native_id=sa.bindparam("new_native_id", type_=t.refs.c.native_id.type),
        native_kind=sa.bindparam("new_native_kind", type_=t.refs.c.native_kind.type),
    )
)
_INSERT_AUDIT = sa.insert(t.audit)


class RefRecord(Frozen):
    """One tracker's ticket of a link, with what it held when the bridge last read or wrote it.

    ``native_kind`` is the ticket's native kind (a Zendesk ticket type) then; ``kind_known``
    says it was recorded at all (refs from before it was kept have none).
    """

    tracker: str
    native_id: str
    base: dict[str, Json]
    remote_updated: AwareDatetime | None = None
    native_kind: Json = None
    kind_known: bool = False

    @property
    def ref(self) -> Ref:
        return Ref(tracker=self.tracker, id=self.native_id)


class LinkRecord(Frozen):
    id: int
    key: str
    kind: Kind
    origin: str
    canonical: Ticket
    state: str
    reason: str | None
    failures: int
    retry_at: AwareDatetime | None
    refs: dict[str, RefRecord]


class CommentRefRecord(Frozen):
    """Where one comment stands in one tracker: its origin, a mirror we posted, or withheld.

    ``digest`` is the digest of the body a posted mirror holds, so an edit reaches it exactly once.
    """

    native_id: str | None
    state: str
    digest: str | None = None


class AuditRecord(Frozen):
    id: int
    at: AwareDatetime
    link_id: int
    field: str
    source: str | None
    target: str | None
    old: Json
    new: Json
    reason: str


class ConflictRecord(Frozen):
    id: int
    at: AwareDatetime
    link_id: int
    field: str
    candidates: dict[str, Json]
    winner: str
    policy: str
    resolved_at: AwareDatetime | None


class DeadLetterRecord(Frozen):
    id: int
    at: AwareDatetime
    link_id: int
    attempts: int
    error: str
    settled_at: AwareDatetime | None
    outcome: str | None


class InboxItem(Frozen):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    tracker: str
    delivery_id: str
    ticket_id: str
    received_at: AwareDatetime
    scope: Scope = Scope.ALL

    @field_validator("scope", mode="before")
    @classmethod
    def _unscoped(cls, value: object) -> object:
        """Rows stored before deliveries had a scope say nothing: read everything."""
        return Scope.ALL if value is None else value


class AuditEntry(Frozen):
    """An audit row to write: one propagated change and why."""

    field: str
    source: str | None
    target: str | None
    old: Json
    new: Json
    reason: str

    @classmethod
    def admin(cls, field: str, new: Json, reason: str, old: Json = None) -> AuditEntry:
        """A change the bridge made on its own account (an admin's command, a policy)."""
        return cls(field=field, source=None, target=None, old=old, new=new, reason=reason)


class ConflictEntry(Frozen):
    field: str
    candidates: dict[str, Json]
    winner: str
    policy: str


class BackfillRecord(Frozen):
    """A backfill's checkpoint: its request, where its backlog stopped, what it did so far."""

    id: int
    signature: str
    spec: dict[str, Json]
    cursor: str | None
    counts: dict[str, int]
    started_at: AwareDatetime
    updated_at: AwareDatetime
    finished_at: AwareDatetime | None


class Store:
    """All persistent state of one ticket-bridge installation."""

    def __init__(
        self,
        engine: Engine,
        url: str,
        clock: Clock = _utcnow,
        turns: WriterTurns | None = None,
        checkpoints: Checkpoints | None = None,
    ) -> None:
        self.engine = engine
        self.url = url
        self.clock = clock
        self._turns = turns
        self._checkpoints = checkpoints
        self._writing: AbstractContextManager[Any] = (
            (turns or WriterTurns()) if engine.dialect.name == "sqlite" else nullcontext()
        )
        """SQLite has one writer at a time: writers take turns (``turns``) rather than sleep
        in its busy handler."""

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        migrate: bool = True,
        busy_timeout: float = 5.0,
        clock: Clock = _utcnow,
        checkpoints: bool = True,
    ) -> Store:
        """Open (and by default migrate) the store; a missing, locked or unreachable one is a StoreError.

        With ``migrate=False`` nothing is written; ``pending_migrations`` says what would be.
        With ``checkpoints=False`` a SQLite store's log is left for another process to checkpoint
        (the receivers leave it to the sync side).
        """
        url = url or default_store_url()
        try:
            parsed = make_url(url)
        except SQLAlchemyError as exc:
            raise StoreError(f"store URL {redact(url)!r} is not a database URL: {exc}") from exc
        turns, logged = None, None
        if parsed.get_backend_name() == "sqlite":
            shared = _turns_file(parsed.database)
            engine = cls._sqlite_engine(url, parsed.database, busy_timeout)
            turns = WriterTurns(shared, busy_timeout)
            logged = Checkpoints(engine) if shared is not None and checkpoints else None
        else:
            engine = sa.create_engine(url, pool_pre_ping=True, connect_args=_connect_args(parsed))
        store = cls(engine, url, clock, turns, logged)
        with store._guard("open"):
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            if migrate:
                store.migrate()
        return store

    @staticmethod
    def _sqlite_engine(url: str, database: str | None, busy_timeout: float) -> Engine:
        on_disk = _on_disk(database)
        if on_disk and database is not None:
            path = Path(database)
            if url == default_store_url():
                path.parent.mkdir(parents=True, exist_ok=True)
            elif not path.parent.is_dir():
                raise StoreError(
                    f"store {redact(url)}: directory {path.parent} does not exist; create it "
                    "or point store.url elsewhere"
                )
        engine = sa.create_engine(
            url,
            connect_args={"timeout": busy_timeout},
            poolclass=sa.pool.StaticPool if database in (None, "", ":memory:") else None,
            json_deserializer=_json_loads,
        )

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            if on_disk:
                cur.execute("PRAGMA wal_autocheckpoint=0")  # see Checkpoints
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cur.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A write takes the lock up front, so it never fails half-way on a busy store; a
            # read takes none, so it never waits for a writer (WAL gives it a snapshot).
            reading = conn.get_execution_options().get(READING, False)
            conn.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

        return engine

    def _alembic(self, conn: Connection) -> Config:
        cfg = Config()
        cfg.set_main_option(
            "script_location", str(files("ticket_bridge.bridge.store") / "migrations")
        )
        cfg.attributes["connection"] = conn
        return cfg

    def migrate(self) -> None:
        with self._guard("migrate"), self.engine.begin() as conn:
            command.upgrade(self._alembic(conn), "head")

    def pending_migrations(self) -> bool:
        with self._guard("read"), self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            head = ScriptDirectory.from_config(self._alembic(conn)).get_current_head()
        return current != head

    def close(self) -> None:
        self.engine.dispose()
        if self._turns is not None:
            self._turns.close()

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Translate driver errors into one-line StoreErrors that name the store (never its password)."""
        try:
            yield
        except StoreError:
            raise
        except OperationalError as exc:
            text = str(exc.orig) if exc.orig is not None else str(exc)
            if "locked" in text or "busy" in text:
                raise self._locked(action) from exc
            if "unable to open" in text:
                raise StoreError(
                    f"cannot open the store at {redact(self.url)}: {text.splitlines()[0]}"
                ) from exc
            raise StoreError(
                f"the store at {redact(self.url)} failed during {action}: {text.splitlines()[0]}"
            ) from exc
        except StoreBusy as exc:
            raise self._locked(action) from exc
        except IntegrityError:
            raise
        except DBAPIError as exc:
            text = str(exc.orig) if exc.orig is not None else exc.__class__.__name__
            raise StoreError(
                f"the store at {redact(self.url)} failed during {action}: {text.splitlines()[0]}"
            ) from exc

    def _locked(self, action: str) -> StoreError:
        return StoreError(
            f"the store at {redact(self.url)} is locked by another process ({action}); "
            "stop the other ticket-bridge or wait, nothing was written"
        )

    @contextmanager
    def _tx(self, action: str) -> Iterator[Connection]:
        with self._guard(action), self._writing, self.engine.begin() as conn:
            yield conn
        if self._checkpoints is not None:
            with self._guard("checkpoint"):
                self._checkpoints.committed()

    @contextmanager
    def _read(self, action: str) -> Iterator[Connection]:
        """A transaction that only reads: one consistent snapshot, no write lock."""
        with self._guard(action), self.engine.connect() as conn:
            conn.execution_options(**{READING: True})
            with conn.begin():
                yield conn

    # -- links and refs --------------------------------------------------------------------

    def _load_link(
        self,
        conn: Connection | None,
        row: Sequence[Any],
        ref_rows: Iterable[Sequence[Any]] | None = None,
    ) -> LinkRecord:
        """A link from its row (``_LINK_COLUMNS``) and its refs' rows (``_REF_COLUMNS``), read
        by position: a pass loads every link, and a row's attribute lookups cost more than the
        rest of its unpacking."""
        link_id, key, kind, origin, canonical, state, reason, failures, retry_at = row
        if ref_rows is None:
            assert conn is not None, "the refs are read in the link's transaction"
            ref_rows = conn.execute(_REFS_IN_SPAN, {"first": link_id, "last": link_id}).all()
        refs: dict[str, RefRecord] = {}
        for _, tracker, native_id, base, remote_updated, native_kind in ref_rows:
            # unvalidated: the row was written from a RefRecord, and checking every base's
            # JSON again would be most of a sweep's cost
            refs[tracker] = RefRecord.model_construct(
                tracker=tracker,
                native_id=native_id,
                base=base,
                remote_updated=remote_updated,
                native_kind=None if native_kind is None else _json_loads(native_kind),
                kind_known=native_kind is not None,
            )
        return LinkRecord(
            id=link_id,
            key=key,
            kind=Kind(kind),
            origin=origin,
            canonical=Ticket.model_validate(canonical),
            state=state,
            reason=reason,
            failures=failures,
            retry_at=retry_at,
            refs=refs,
        )

    def link(self, link_id: int) -> LinkRecord | None:
        with self._read("read link") as conn:
            return self._joined(conn.execute(_LINK_BY_ID, {"link_id": link_id}).all())

    def _joined(self, rows: Sequence[Sequence[Any]]) -> LinkRecord | None:
        """The link of rows that join it with each of its refs (``_LINK_WITH_REFS``)."""
        if not rows:
            return None
        split = len(_LINK_COLUMNS)
        refs = [row[split:] for row in rows if row[split] is not None]
        return self._load_link(None, rows[0][:split], refs)

    def _of_ticket(self, conn: Connection, tracker: str, native_id: str) -> LinkRecord | None:
        """The link holding ``tracker``'s ticket ``native_id``, with its refs, in one query."""
        found = conn.execute(_LINK_OF_TICKET, {"tracker": tracker, "native_id": native_id})
        return self._joined(found.all())

    def link_key_for(self, tracker: str, native_id: str) -> str | None:
        """The key of the link holding the ticket: what to lock before reading the link."""
        with self._read("read link") as conn:
            key = conn.execute(
                _KEY_OF_TICKET, {"tracker": tracker, "native_id": native_id}
            ).scalar()
        return None if key is None else str(key)

    def link_record(
        self, tracker: str, native_id: str
    ) -> tuple[LinkRecord, list[Comment], dict[tuple[str, str], CommentRefRecord]] | None:
        """The link holding the ticket, its comments and its comment map, in one transaction:
        all a worker needs of the store before it reconciles a hint."""
        with self._read("read link") as conn:
            link = self._of_ticket(conn, tracker, native_id)
            if link is None:
                return None
            known = self._comment_map(conn, link.id)
            return link, (self._comments(conn, link.id) if known else []), known

    def link_by_key(self, key: str) -> LinkRecord | None:
        with self._read("read link") as conn:
            row = conn.execute(sa.select(*_LINK_COLUMNS).where(t.links.c.key == key)).first()
            return None if row is None else self._load_link(conn, row)

    def link_for(self, tracker: str, native_id: str) -> LinkRecord | None:
        with self._read("read link") as conn:
            return self._of_ticket(conn, tracker, native_id)

    def links(self, *, state: str | None = None) -> list[LinkRecord]:
        with self._read("list links") as conn:
            query = sa.select(*_LINK_COLUMNS).order_by(t.links.c.id)
            refs = sa.select(*_REF_COLUMNS).join(t.links, t.links.c.id == t.refs.c.link_id)
            if state is not None:
                query = query.where(t.links.c.state == state)
                refs = refs.where(t.links.c.state == state)
            by_link: dict[int, list[Sequence[Any]]] = {}
            for ref in conn.execute(refs).all():  # one query for every link's refs, not one each
                by_link.setdefault(ref.link_id, []).append(ref)
            return [
                self._load_link(conn, row, by_link.get(row.id, []))
                for row in conn.execute(query).all()
            ]

    def link_page(
        self, after: int, limit: int, *, state: str = "active"
    ) -> list[tuple[LinkRecord, list[Comment], dict[tuple[str, str], CommentRefRecord]]]:
        """Up to ``limit`` links with ids above ``after``, in id order, each with its comments
        and comment map: one snapshot in three queries, for passes over every link.

        A pass reads every link once, so its page is read as lean as it can be: only the
        columns a link is made of, and each table's rows by the page's range of link ids
        (an index range scan) rather than a list of ids bound one parameter each.
        """
        with self._read("list links") as conn:
            rows = conn.execute(
                sa.select(*_LINK_COLUMNS)
                .where(t.links.c.state == state, t.links.c.id > after)
                .order_by(t.links.c.id)
                .limit(limit)
            ).all()
            if not rows:
                return []
            span = (rows[0].id, rows[-1].id)
            refs: dict[int, list[Sequence[Any]]] = {}
            for ref in conn.execute(_REFS_IN_SPAN, {"first": span[0], "last": span[1]}).all():
                refs.setdefault(ref[0], []).append(ref)
            maps = self._comment_maps_of(conn, span)
            comments = self._comments_of(conn, span) if maps else {}
        return [
            (
                self._load_link(None, row, refs.get(row.id, [])),
                comments.get(row.id, []),
                maps.get(row.id, {}),
            )
            for row in rows
        ]

    def link_ids(self, *, state: str = "active") -> list[int]:
        with self._read("list links") as conn:
            return list(
                conn.execute(
                    sa.select(t.links.c.id).where(t.links.c.state == state).order_by(t.links.c.id)
                ).scalars()
            )

    def status_since(self, link_id: int, status: str) -> tuple[dt.datetime, frozenset[str]]:
        """When the link's canonical status last became ``status``, and the policies run since."""
        with self._read("read status history") as conn:
            entered = conn.execute(
                sa.select(sa.func.max(t.audit.c.at)).where(
                    t.audit.c.link_id == link_id,
                    t.audit.c.field == "status",
                    t.audit.c.target.is_(None),
                    sa.cast(t.audit.c.new, sa.Text) == json.dumps(status),
                )
            ).scalar_one_or_none()
            if entered is None:
                entered = conn.execute(
                    sa.select(t.links.c.created_at).where(t.links.c.id == link_id)
                ).scalar_one()
            done = conn.execute(
                sa.select(t.audit.c.new).where(
                    t.audit.c.link_id == link_id,
                    t.audit.c.field == "policy",
                    t.audit.c.at >= entered,
                )
            ).scalars()
            return entered, frozenset(str(name) for name in done)

    def set_status(self, link_id: int, status: str, policy: str) -> None:
        """A lifecycle policy moves the canonical status; the next reconcile writes it out."""
        now = self.clock()
        with self._tx("apply policy") as conn:
            row = conn.execute(sa.select(t.links.c.canonical).where(t.links.c.id == link_id)).one()
            canonical = dict(row.canonical)
            old = canonical.get("status")
            canonical["status"] = status
            conn.execute(
                sa.update(t.links)
                .where(t.links.c.id == link_id)
                .values(canonical=canonical, updated_at=now)
            )
            reason = f"lifecycle policy {policy}"
            self._insert_audit(
                conn,
                link_id,
                [
                    AuditEntry.admin("status", status, reason, old=old),
                    AuditEntry.admin("policy", policy, reason),
                ],
                now,
            )

    def record_policy(self, link_id: int, policy: str, reason: str) -> None:
        with self._tx("record policy") as conn:
            self._insert_audit(
                conn,
                link_id,
                [AuditEntry.admin("policy", policy, reason)],
                self.clock(),
            )

    def backing_off(self) -> list[tuple[int, dt.datetime | None]]:
        """Active links that failed and wait for a retry: (link id, when it is due)."""
        with self._read("list retries") as conn:
            rows = conn.execute(
                sa.select(t.links.c.id, t.links.c.retry_at)
                .where(t.links.c.state == "active", t.links.c.failures > 0)
                .order_by(t.links.c.retry_at, t.links.c.id)
            ).all()
        return [(row.id, row.retry_at) for row in rows]

    def hasten(self) -> int:
        """Every link backing off is due now (a tracker that was down answers again)."""
        now = self.clock()
        with self._tx("hasten retries") as conn:
            return conn.execute(
                sa.update(t.links)
                .where(
                    t.links.c.state == "active", t.links.c.failures > 0, t.links.c.retry_at > now
                )
                .values(retry_at=now)
            ).rowcount

    def create_link(
        self, key: str, canonical: Ticket, first: RefRecord, audit: AuditEntry
    ) -> LinkRecord:
        """A new link with its first ref; a second call with the same key returns the first link."""
        now = self.clock()
        with self._tx("create link") as conn:
            existing = conn.execute(sa.select(*_LINK_COLUMNS).where(t.links.c.key == key)).first()
            if existing is not None:
                return self._load_link(conn, existing)
            link_id = conn.execute(
                sa.insert(t.links).values(
                    key=key,
                    kind=canonical.kind.value,
                    origin=first.tracker,
                    canonical=_ticket_json(canonical),
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            self._insert_ref(conn, link_id, first)
            self._insert_audit(conn, link_id, [audit], now)
            row = conn.execute(sa.select(*_LINK_COLUMNS).where(t.links.c.id == link_id)).one()
            return self._load_link(conn, row)

    def attempt_create(self, link_id: int, tracker: str) -> dt.datetime | None:
        """Note that a counterpart is about to be created; returns an earlier attempt never settled.

        A create whose outcome was lost (a crash, a dropped answer) leaves its attempt here, so
        the retry can tell the tracker to look harder before creating a second ticket.
        """
        with self._tx("note create attempt") as conn:
            earlier = conn.execute(
                sa.select(t.create_attempts.c.attempted_at).where(
                    t.create_attempts.c.link_id == link_id, t.create_attempts.c.tracker == tracker
                )
            ).scalar_one_or_none()
            if earlier is None:
                conn.execute(
                    sa.insert(t.create_attempts).values(
                        link_id=link_id, tracker=tracker, attempted_at=self.clock()
                    )
                )
            return earlier

    @staticmethod
    def _insert_ref(conn: Connection, link_id: int, ref: RefRecord) -> None:
        conn.execute(
            sa.delete(t.create_attempts).where(
                t.create_attempts.c.link_id == link_id, t.create_attempts.c.tracker == ref.tracker
            )
        )
        conn.execute(
            sa.insert(t.refs).values(
                link_id=link_id,
                tracker=ref.tracker,
                native_id=ref.native_id,
                base=ref.base,
                remote_updated=ref.remote_updated,
                native_kind=_kind_column(ref),
            )
        )

    def add_ref(self, link_id: int, ref: RefRecord, audit: Sequence[AuditEntry] = ()) -> None:
        with self._tx("add ref") as conn:
            self._insert_ref(conn, link_id, ref)
            self._insert_audit(conn, link_id, audit, self.clock())

    def remove_ref(self, link_id: int, tracker: str, audit: AuditEntry) -> None:
        with self._tx("remove ref") as conn:
            conn.execute(
                sa.delete(t.refs).where(t.refs.c.link_id == link_id, t.refs.c.tracker == tracker)
            )
            self._insert_audit(conn, link_id, [audit], self.clock())

    def save_merge(
        self,
        link_id: int,
        canonical: Ticket,
        bases: Mapping[str, RefRecord],
        audit: Sequence[AuditEntry] = (),
        conflicts: Sequence[ConflictEntry] = (),
    ) -> None:
        """The outcome of a merge, before any write: new canonical state and every base as observed."""
        now = self.clock()
        with self._tx("save merge") as conn:
            conn.execute(
                _SET_CANONICAL,
                {
                    "of_link": link_id,
                    "new_canonical": _ticket_json(canonical),
                    "new_updated_at": now,
                },
            )
            for ref in bases.values():
                self._set_base(conn, link_id, ref)
            self._insert_audit(conn, link_id, audit, now)
            for conflict in conflicts:
                conn.execute(
                    sa.insert(t.conflicts).values(
                        at=now,
                        link_id=link_id,
                        field=conflict.field,
                        candidates=conflict.candidates,
                        winner=conflict.winner,
                        policy=conflict.policy,
                    )
                )

    def record_write(self, link_id: int, ref: RefRecord, audit: Sequence[AuditEntry] = ()) -> None:
        """The base after one successful remote write, recorded before the next write starts."""
        with self._tx("record write") as conn:
            self._set_base(conn, link_id, ref)
            self._insert_audit(conn, link_id, audit, self.clock())

    @staticmethod
    def _set_base(conn: Connection, link_id: int, ref: RefRecord) -> None:
        conn.execute(
            _SET_BASE,
            {
                "of_link": link_id,
                "of_tracker": ref.tracker,
                "new_base": ref.base,
                "new_remote_updated": ref.remote_updated,
                "new_native_id": ref.native_id,
                "new_native_kind": _kind_column(ref),
            },
        )

    # -- link health: failures, parking, dead letters -------------------------------------

    def note_success(self, link_id: int) -> None:
        with self._tx("note success") as conn:
            conn.execute(
                sa.update(t.links)
                .where(t.links.c.id == link_id, t.links.c.failures != 0)
                .values(failures=0, retry_at=None)
            )

    def note_failure(self, link_id: int, retry_at: dt.datetime, *, counted: bool = True) -> int:
        """Count one more failed attempt (or, not ``counted``, mark the link failing without
        spending an attempt); returns how many in a row."""
        failures = t.links.c.failures
        with self._tx("note failure") as conn:
            conn.execute(
                sa.update(t.links)
                .where(t.links.c.id == link_id)
                .values(
                    failures=failures + 1
                    if counted
                    else sa.case((failures > 0, failures), else_=1),
                    retry_at=retry_at,
                )
            )
            return int(
                conn.execute(
                    sa.select(t.links.c.failures).where(t.links.c.id == link_id)
                ).scalar_one()
            )

    def park(self, link_id: int, reason: str) -> None:
        with self._tx("park link") as conn:
            conn.execute(
                sa.update(t.links)
                .where(t.links.c.id == link_id)
                .values(state="parked", reason=reason, updated_at=self.clock())
            )
            self._insert_audit(
                conn,
                link_id,
                [AuditEntry.admin("link", "parked", reason)],
                self.clock(),
            )

    def activate(self, link_id: int, reason: str) -> None:
        """Put a parked or dead link back to work (an admin fixed what was wrong)."""
        now = self.clock()
        with self._tx("activate link") as conn:
            conn.execute(
                sa.update(t.links)
                .where(t.links.c.id == link_id)
                .values(state="active", reason=None, failures=0, retry_at=None, updated_at=now)
            )
            conn.execute(
                sa.update(t.dead_letters)
                .where(t.dead_letters.c.link_id == link_id, t.dead_letters.c.settled_at.is_(None))
                .values(settled_at=now, outcome="retried")
            )
            self._insert_audit(
                conn,
                link_id,
                [AuditEntry.admin("link", "active", reason)],
                now,
            )

    def dead_letter(self, link_id: int, attempts: int, error: str) -> None:
        now = self.clock()
        with self._tx("dead-letter link") as conn:
            conn.execute(
                sa.update(t.links)
                .where(t.links.c.id == link_id)
                .values(state="dead", reason=error, updated_at=now)
            )
            conn.execute(
                sa.insert(t.dead_letters).values(
                    at=now, link_id=link_id, attempts=attempts, error=error
                )
            )

    def drop_dead_letter(self, link_id: int, reason: str) -> None:
        """An admin gives up on a dead link: it stays dead, and its letter is settled as dropped."""
        now = self.clock()
        with self._tx("drop dead letter") as conn:
            conn.execute(
                sa.update(t.dead_letters)
                .where(t.dead_letters.c.link_id == link_id, t.dead_letters.c.settled_at.is_(None))
                .values(settled_at=now, outcome="dropped")
            )
            self._insert_audit(
                conn,
                link_id,
                [AuditEntry.admin("link", "dropped", reason, old="dead")],
                now,
            )

    def unlink(self, link_id: int, reason: str) -> None:
        """Untie the link's tickets; the link stays, refless, so routes never create it again."""
        now = self.clock()
        with self._tx("unlink") as conn:
            conn.execute(sa.delete(t.refs).where(t.refs.c.link_id == link_id))
            conn.execute(
                sa.update(t.links)
                .where(t.links.c.id == link_id)
                .values(state="unlinked", reason=reason, updated_at=now)
            )
            self._insert_audit(
                conn,
                link_id,
                [AuditEntry.admin("link", "unlinked", reason)],
                now,
            )

    def resolve_conflict(self, conflict_id: int, side: str) -> ConflictRecord:
        """An admin chooses a side: the canonical field takes that side's value."""
        now = self.clock()
        with self._tx("resolve conflict") as conn:
            row = conn.execute(
                sa.select(t.conflicts).where(t.conflicts.c.id == conflict_id)
            ).first()
            if row is None:
                raise KeyError(conflict_id)
            conflict = ConflictRecord.model_validate(row._mapping)
            if side not in conflict.candidates:
                raise ValueError(
                    f"conflict {conflict_id} on {conflict.field} has sides "
                    f"{', '.join(sorted(conflict.candidates))}, not {side!r}"
                )
            link = conn.execute(sa.select(t.links).where(t.links.c.id == conflict.link_id)).one()
            canonical = dict(link.canonical)
            old = canonical.get(conflict.field)
            canonical[conflict.field] = _canonical_json(conflict.field, conflict.candidates[side])
            conn.execute(
                sa.update(t.links)
                .where(t.links.c.id == conflict.link_id)
                .values(
                    canonical=Ticket.model_validate(canonical).model_dump(
                        mode="json", exclude={"comments", "refs"}
                    ),
                    updated_at=now,
                )
            )
            conn.execute(
                sa.update(t.conflicts)
                .where(t.conflicts.c.id == conflict_id)
                .values(resolved_at=now, winner=side, policy="admin")
            )
            self._insert_audit(
                conn,
                conflict.link_id,
                [
                    AuditEntry(
                        field=conflict.field,
                        source=side,
                        target=None,
                        old=old if not isinstance(old, dict) else str(old),
                        new=conflict.candidates[side],
                        reason=f"conflict {conflict_id} resolved by an admin for {side}",
                    )
                ],
                now,
            )
            return conflict.model_copy(
                update={"resolved_at": now, "winner": side, "policy": "admin"}
            )

    def dead_letters(self, *, include_settled: bool = False) -> list[DeadLetterRecord]:
        with self._read("list dead letters") as conn:
            query = sa.select(t.dead_letters).order_by(t.dead_letters.c.id)
            if not include_settled:
                query = query.where(t.dead_letters.c.settled_at.is_(None))
            return [DeadLetterRecord.model_validate(r._mapping) for r in conn.execute(query).all()]

    # -- comments --------------------------------------------------------------------------

    def comments(self, link_id: int) -> list[Comment]:
        with self._read("read comments") as conn:
            return self._comments(conn, link_id)

    def comment_map(self, link_id: int) -> dict[tuple[str, str], CommentRefRecord]:
        """(comment key, tracker) -> where that comment stands there, for every comment of the link."""
        with self._read("read comment map") as conn:
            return self._comment_map(conn, link_id)

    def comment_record(
        self, link_id: int
    ) -> tuple[list[Comment], dict[tuple[str, str], CommentRefRecord]]:
        """The link's comments and its comment map, read in one transaction."""
        with self._read("read comments") as conn:
            known = self._comment_map(conn, link_id)
            # Every comment is mapped in its origin when recorded: no map, no comments.
            return (self._comments(conn, link_id) if known else []), known

    @classmethod
    def _comments(cls, conn: Connection, link_id: int) -> list[Comment]:
        return cls._comments_of(conn, (link_id, link_id)).get(link_id, [])

    @classmethod
    def _comment_map(
        cls, conn: Connection, link_id: int
    ) -> dict[tuple[str, str], CommentRefRecord]:
        return cls._comment_maps_of(conn, (link_id, link_id)).get(link_id, {})

    @staticmethod
    def _comments_of(conn: Connection, span: tuple[int, int]) -> dict[int, list[Comment]]:
        """The comments of the links whose ids lie in ``span`` (both ends included)."""
        first, last = span
        rows = conn.execute(_COMMENTS_IN_SPAN, {"first": first, "last": last}).all()
        comments: dict[int, list[Comment]] = {}
        for r in rows:
            comments.setdefault(r.link_id, []).append(
                Comment(
                    id=r.key,
                    author=Person(name=r.author_name, email=r.author_email),
                    body=r.body,
                    visibility=Visibility(r.visibility),
                    created_at=r.created_at,
                    origin=Ref(tracker=r.origin_tracker, id=r.origin_id),
                )
            )
        return comments

    @staticmethod
    def _comment_maps_of(
        conn: Connection, span: tuple[int, int]
    ) -> dict[int, dict[tuple[str, str], CommentRefRecord]]:
        """The comment maps of the links whose ids lie in ``span`` (both ends included)."""
        first, last = span
        rows = conn.execute(_COMMENT_MAPS_IN_SPAN, {"first": first, "last": last}).all()
        maps: dict[int, dict[tuple[str, str], CommentRefRecord]] = {}
        for r in rows:
            maps.setdefault(r.link_id, {})[(r.key, r.tracker)] = CommentRefRecord(
                native_id=r.native_id, state=r.state, digest=r.digest
            )
        return maps

    def add_comment(self, link_id: int, comment: Comment) -> None:
        """A comment first seen in its origin tracker; mapped there in the same transaction.

        Learning it twice (an admin's command and the daemon reconciling one link at once) keeps
        the first.
        """
        with self._tx("add comment") as conn:
            if self._comment_known(conn, link_id, comment.id, comment.origin.tracker):
                return
            conn.execute(
                sa.insert(t.comments).values(
                    link_id=link_id,
                    key=comment.id,
                    origin_tracker=comment.origin.tracker,
                    origin_id=comment.origin.id,
                    author_name=comment.author.name,
                    author_email=comment.author.email,
                    body=comment.body,
                    visibility=comment.visibility.value,
                    created_at=comment.created_at,
                )
            )
            conn.execute(
                sa.insert(t.comment_refs).values(
                    link_id=link_id,
                    key=comment.id,
                    tracker=comment.origin.tracker,
                    native_id=comment.origin.id,
                    state="origin",
                )
            )

    @staticmethod
    def _comment_known(conn: Connection, link_id: int, key: str, tracker: str) -> bool:
        return (
            conn.execute(
                sa.select(t.comment_refs.c.key).where(
                    t.comment_refs.c.link_id == link_id,
                    t.comment_refs.c.key == key,
                    t.comment_refs.c.tracker == tracker,
                )
            ).first()
            is not None
        )

    def map_comment(
        self,
        link_id: int,
        key: str,
        tracker: str,
        native_id: str | None,
        state: str,
        audit: Sequence[AuditEntry] = (),
        digest: str | None = None,
    ) -> None:
        """Where comment ``key`` stands in ``tracker``: posted (native id), or withheld by the rules.

        Already mapped (another process reconciled the same link at the same moment): the first
        record stands.
        """
        with self._tx("map comment") as conn:
            if self._comment_known(conn, link_id, key, tracker):
                return
            conn.execute(
                sa.insert(t.comment_refs).values(
                    link_id=link_id,
                    key=key,
                    tracker=tracker,
                    native_id=native_id,
                    state=state,
                    digest=digest,
                )
            )
            self._insert_audit(conn, link_id, audit, self.clock())

    def edit_comment(self, link_id: int, key: str, body: str, audit: AuditEntry) -> None:
        """The origin of a comment edited it: the canonical body follows (edits are latest-wins)."""
        with self._tx("edit comment") as conn:
            conn.execute(
                sa.update(t.comments)
                .where(t.comments.c.link_id == link_id, t.comments.c.key == key)
                .values(body=body)
            )
            self._insert_audit(conn, link_id, [audit], self.clock())

    def mirror_edited(
        self, link_id: int, key: str, tracker: str, digest: str, audit: AuditEntry
    ) -> None:
        """A mirror now holds the body with this digest, recorded right after the remote edit."""
        with self._tx("record mirror edit") as conn:
            conn.execute(
                sa.update(t.comment_refs)
                .where(
                    t.comment_refs.c.link_id == link_id,
                    t.comment_refs.c.key == key,
                    t.comment_refs.c.tracker == tracker,
                )
                .values(digest=digest)
            )
            self._insert_audit(conn, link_id, [audit], self.clock())

    # -- cursors ---------------------------------------------------------------------------

    def cursor(self, tracker: str) -> tuple[str, dt.datetime] | None:
        with self._read("read cursor") as conn:
            row = conn.execute(sa.select(t.cursors).where(t.cursors.c.tracker == tracker)).first()
        return None if row is None else (row.value, row.updated_at)

    def set_cursor(self, tracker: str, value: str) -> None:
        now = self.clock()
        with self._tx("commit cursor") as conn:
            updated = conn.execute(
                sa.update(t.cursors)
                .where(t.cursors.c.tracker == tracker)
                .values(value=value, updated_at=now)
            ).rowcount
            if not updated:
                conn.execute(
                    sa.insert(t.cursors).values(tracker=tracker, value=value, updated_at=now)
                )

    # -- backfill checkpoints --------------------------------------------------------------

    def open_backfill(self, signature: str, spec: dict[str, Json]) -> tuple[BackfillRecord, bool]:
        """The unfinished backfill of this request to resume, else a new one; True when resumed."""
        now = self.clock()
        with self._tx("open backfill") as conn:
            row = conn.execute(
                sa.select(t.backfills)
                .where(t.backfills.c.signature == signature, t.backfills.c.finished_at.is_(None))
                .order_by(t.backfills.c.id.desc())
            ).first()
            if row is not None:
                return BackfillRecord.model_validate(row._mapping), True
            new_id = conn.execute(
                sa.insert(t.backfills).values(
                    signature=signature, spec=spec, counts={}, started_at=now, updated_at=now
                )
            ).inserted_primary_key
            assert new_id is not None
            row = conn.execute(sa.select(t.backfills).where(t.backfills.c.id == new_id[0])).one()
        return BackfillRecord.model_validate(row._mapping), False

    def save_backfill(
        self, backfill_id: int, cursor: str | None, counts: Mapping[str, int], *, finished: bool
    ) -> None:
        """The checkpoint after a whole page: a resume starts after it."""
        now = self.clock()
        with self._tx("save backfill checkpoint") as conn:
            conn.execute(
                sa.update(t.backfills)
                .where(t.backfills.c.id == backfill_id)
                .values(
                    cursor=cursor,
                    counts=dict(counts),
                    updated_at=now,
                    finished_at=now if finished else None,
                )
            )

    def abandon_backfills(self, signature: str) -> int:
        """Close unfinished backfills of this request, so the next one starts from the beginning."""
        now = self.clock()
        with self._tx("abandon backfill") as conn:
            return conn.execute(
                sa.update(t.backfills)
                .where(t.backfills.c.signature == signature, t.backfills.c.finished_at.is_(None))
                .values(finished_at=now, updated_at=now)
            ).rowcount

    def backfills(self) -> list[BackfillRecord]:
        with self._read("read backfills") as conn:
            rows = conn.execute(sa.select(t.backfills).order_by(t.backfills.c.id)).all()
        return [BackfillRecord.model_validate(r._mapping) for r in rows]

    # -- inbox -----------------------------------------------------------------------------

    def enqueue(
        self, tracker: str, delivery_id: str, ticket_id: str, scope: Scope = Scope.ALL
    ) -> bool:
        """Store a delivery durably; False when this delivery was already received."""
        hint = Hint(tracker=tracker, delivery_id=delivery_id, ticket_id=ticket_id, scope=scope)
        return bool(self.enqueue_many([hint]))

    def enqueue_many(self, hints: Sequence[Hint]) -> set[tuple[str, str]]:
        """Store deliveries in one transaction; returns the (tracker, delivery id) of those not
        received before. One commit for many requests is what lets a flood through SQLite's
        single write lock."""
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        now = self.clock()
        for hint in hints:
            rows.setdefault(
                (hint.tracker, hint.delivery_id),
                {
                    "tracker": hint.tracker,
                    "delivery_id": hint.delivery_id,
                    "ticket_id": hint.ticket_id,
                    "received_at": now,
                    "scope": hint.scope.value,
                },
            )
        if not rows:
            return set()
        insert = (
            postgresql.insert(t.inbox)
            if self.engine.dialect.name == "postgresql"
            else sqlite.insert(t.inbox)
        )
        statement = insert.on_conflict_do_nothing(
            index_elements=["tracker", "delivery_id"]
        ).returning(t.inbox.c.tracker, t.inbox.c.delivery_id)
        with self._tx("enqueue deliveries") as conn:
            stored = conn.execute(statement, list(rows.values())).all()
        return {(row.tracker, row.delivery_id) for row in stored}

    def pending(self, limit: int = 1000) -> list[InboxItem]:
        """The oldest unsettled deliveries (claims use ``claimable``)."""
        with self._read("read inbox") as conn:
            rows = conn.execute(
                sa.select(t.inbox)
                .where(t.inbox.c.done_at.is_(None))
                .order_by(t.inbox.c.id)
                .limit(limit)
            ).all()
        return [InboxItem.model_validate(r._mapping) for r in rows]

    def claimable(
        self,
        tickets: int,
        skip: Collection[tuple[str, str]] = (),
        watch: Collection[tuple[str, str]] = (),
    ) -> tuple[list[list[InboxItem]], bool]:
        """The unsettled deliveries of the ``tickets`` tickets waiting longest, a list per ticket,
        leaving out the tickets in ``skip``; and whether the tickets in ``watch`` have
        deliveries waiting.

        Grouped in SQL: under a flood thousands of rows name a few tickets, and a claim should
        cost one row per ticket, not one per delivery."""
        with self._read("read inbox") as conn:
            rows = conn.execute(_CLAIMABLE, {"skip": list(skip), "tickets": tickets}).all()
            behind = bool(watch) and (
                conn.execute(_WAITING_BEHIND, {"watch": list(watch)}).first() is not None
            )
        groups: dict[tuple[str, str], list[InboxItem]] = {}
        for row in rows:
            groups.setdefault((row.tracker, row.ticket_id), []).append(
                InboxItem.model_validate(row._mapping)
            )
        return list(groups.values()), behind

    def done(self, item_ids: Sequence[int]) -> None:
        if not item_ids:
            return
        with self._tx("settle inbox") as conn:
            conn.execute(_SETTLE, {"ids": list(item_ids), "settled_at": self.clock()})

    def inbox_depth(self) -> int:
        with self._read("read inbox") as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(t.inbox)
                    .where(t.inbox.c.done_at.is_(None))
                ).scalar_one()
            )

    # -- audit and conflicts ---------------------------------------------------------------

    @staticmethod
    def _insert_audit(
        conn: Connection, link_id: int, entries: Sequence[AuditEntry], at: dt.datetime
    ) -> None:
        if entries:
            conn.execute(
                _INSERT_AUDIT,
                [{"at": at, "link_id": link_id, **entry.model_dump()} for entry in entries],
            )

    def audit(self, link_id: int | None = None, field: str | None = None) -> list[AuditRecord]:
        """The audit trail, newest first."""
        with self._read("read audit") as conn:
            query = sa.select(t.audit).order_by(t.audit.c.id.desc())
            if link_id is not None:
                query = query.where(t.audit.c.link_id == link_id)
            if field is not None:
                query = query.where(t.audit.c.field == field)
            return [AuditRecord.model_validate(r._mapping) for r in conn.execute(query).all()]

    def conflicts(self, *, unresolved_only: bool = False) -> list[ConflictRecord]:
        with self._read("read conflicts") as conn:
            query = sa.select(t.conflicts).order_by(t.conflicts.c.id)
            if unresolved_only:
                query = query.where(t.conflicts.c.resolved_at.is_(None))
            return [ConflictRecord.model_validate(r._mapping) for r in conn.execute(query).all()]


def _kind_column(ref: RefRecord) -> str | None:
    """The kind as JSON text, so that a ticket with no kind (null) is told from none recorded."""
    return json.dumps(ref.native_kind) if ref.kind_known else None


def _ticket_json(ticket: Ticket) -> dict[str, Any]:
    return ticket.model_dump(mode="json", exclude={"comments", "refs"})


def _canonical_json(field: str, value: Json) -> Json:
    """A conflict candidate (as audited) back in the form the canonical ticket stores."""
    if field == "due" and isinstance(value, str):
        return {"at": value} if "T" in value else {"date": value}
    return value


def _connect_args(url: sa.URL) -> dict[str, Any]:
    return {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
