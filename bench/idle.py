"""Idle cost: a reconcile pass over many links with nothing changed (memory trackers, in-process,
SQLite store), and one poll with nothing changed against the HTTP fakes (requests per tracker)."""

from __future__ import annotations

import copy
import gc
import resource
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa

from bench.common import Result, Site, Target
from ticket_bridge.adapters import scenario
from ticket_bridge.adapters.memory.adapter import MemoryAdapter
from ticket_bridge.adapters.memory.config import MemoryConfig
from ticket_bridge.adapters.memory.fake import MemoryTracker
from ticket_bridge.bridge.adapter import Adapter
from ticket_bridge.bridge.engine import Engine
from ticket_bridge.bridge.mapping import load_mapping
from ticket_bridge.bridge.model import Kind
from ticket_bridge.bridge.policy import Route, SyncPolicy
from ticket_bridge.bridge.store import Store
from ticket_bridge.bridge.store import tables as t

CONFIGS = {
    "zendesk": MemoryConfig(mapping="zendesk", customer_facing=True, internal_comments=True),
    "jira": MemoryConfig(mapping="jira", customer_facing=False, internal_comments=True),
    "clickup": MemoryConfig(
        mapping="seed000-clickup-support", customer_facing=False, internal_comments=False
    ),
}
ROUTES = (
    Route(
        source="zendesk",
        targets=("jira", "clickup"),
        kinds=frozenset({Kind.SUPPORT, Kind.QUESTION}),
    ),
)


class Peak:
    """The process's resident set, sampled every 20 ms while in use (and VmHWM when readable)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm", encoding="utf-8") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(0.02)

    def __enter__(self) -> Peak:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


def build(store: Store, links: int) -> tuple[Engine, dict[str, MemoryTracker]]:
    """``links`` linked triples: one made by the engine, the rest cloned from it, rows and all."""
    trackers = {
        name: MemoryTracker(name, internal_comments=c.internal_comments)
        for name, c in CONFIGS.items()
    }
    adapters: dict[str, Adapter] = {
        name: MemoryAdapter(name, c, load_mapping(c.mapping), trackers[name])
        for name, c in CONFIGS.items()
    }
    engine = Engine(store, adapters, SyncPolicy(routes=ROUTES))
    first = trackers["zendesk"].open_ticket(
        "Idle ticket",
        kind="incident",
        requester="dana@example.com",
        status="open",
        priority="normal",
    )
    list(engine.sync_ticket("zendesk", first))
    template = store.link_for("zendesk", first)
    assert template is not None and len(template.refs) == 3, "the template link was not made"
    with store.engine.begin() as conn:
        row = conn.execute(sa.select(t.links).where(t.links.c.id == template.id)).one()
        ref_rows = conn.execute(sa.select(t.refs).where(t.refs.c.link_id == template.id)).all()
        comments = conn.execute(sa.select(sa.func.count()).select_from(t.comment_refs)).scalar()
        assert not comments, "the template has comments: cloning them is not supported"
    originals = {r.tracker: trackers[r.tracker].tickets[r.native_id] for r in ref_rows}
    batch = 5000
    for offset in range(1, links, batch):
        link_rows, refs = [], []
        for n in range(offset, min(links, offset + batch)):
            ids = {}
            for name, original in originals.items():
                tracker = trackers[name]
                clone = copy.copy(original)
                clone.id = str(next(tracker._ids))
                clone.fields = dict(original.fields)
                clone.comments = []
                tracker.tickets[clone.id] = clone
                ids[name] = clone.id
            key = f"zendesk:{ids['zendesk']}"
            for name in ("jira", "clickup"):
                trackers[name].tickets[ids[name]].key = key
            link_rows.append(
                {
                    "id": template.id + n,
                    "key": key,
                    "kind": row.kind,
                    "origin": row.origin,
                    "canonical": row.canonical,
                    "state": "active",
                    "failures": 0,
                    "created_at": row.created_at,
                    "updated_at": row.updated_at,
                }
            )
            refs += [
                {
                    "link_id": template.id + n,
                    "tracker": r.tracker,
                    "native_id": ids[r.tracker],
                    "base": r.base,
                    "remote_updated": r.remote_updated,
                }
                for r in ref_rows
            ]
        with store.engine.begin() as conn:
            conn.execute(sa.insert(t.links), link_rows)
            conn.execute(sa.insert(t.refs), refs)
    return engine, trackers


def run(tmp: Path, *, quick: bool) -> list[Result]:
    size = 10_000 if quick else 100_000
    store = Store.open(f"sqlite:///{tmp}/idle.db")
    try:
        started = time.monotonic()
        engine, trackers = build(store, size)
        built = time.monotonic() - started
        for tracker in trackers.values():
            tracker.calls.clear()
        gc.collect()
        # The memory trackers' tickets stand in for the vendors' and the daemon freezes its
        # startup heap (sync_process.serve): without this, each full collection walks 300,000
        # tickets no daemon holds (100,000 links: 21.2 s with them walked, 17.6 s frozen).
        gc.freeze()
        before = Peak.rss()
        with Peak() as peak:
            started = time.monotonic()
            events = list(engine.sweep())
            elapsed = time.monotonic() - started
        writes = {
            name: sum(v for k, v in tracker.calls.items() if k not in ("read", "comments", "find"))
            for name, tracker in trackers.items()
        }
        calls = {name: dict(tracker.calls) for name, tracker in trackers.items()}
    finally:
        store.close()
    pass_mb = peak.peak / 2**20
    added_mb = (peak.peak - before) / 2**20
    sweep = Result(
        "idle_pass",
        f"Idle cost: one sweep (the daemon's daily pass, `Engine.sweep`) over {size:,} links, "
        "nothing changed",
        [
            "links",
            "seconds",
            "links/s",
            "peak RSS MB",
            "RSS before MB",
            "added by the pass MB",
            "events",
            "tracker calls per link",
            "writes",
        ],
        [
            [
                size,
                round(elapsed, 1),
                round(size / elapsed),
                round(pass_mb),
                round(before / 2**20),
                round(added_mb),
                len(events),
                round(sum(sum(c.values()) for c in calls.values()) / size, 1),
                sum(writes.values()),
            ]
        ],
        [
            Target(
                f"pass over {size:,} links: time",
                "< 20 s" if not quick else "< 2 s (scaled)",
                f"{elapsed:.1f} s",
                elapsed < (20 if not quick else 2),
            ),
            Target(
                f"pass over {size:,} links: memory the pass takes",
                "< 300 MB",
                f"{added_mb:.0f} MB (the whole process peaks at {pass_mb:.0f} MB)",
                added_mb < 300,
            ),
        ],
        [
            "memory trackers in the same process as the engine and a SQLite (WAL) store on local disk; "
            f"the links were made by cloning one link the engine made (its rows and tickets), {built:.0f} s; "
            "tickets without comments; peak RSS is the whole process, and before the pass it already "
            "holds the in-process memory trackers' tickets (three per link: a deployment keeps them "
            "at the vendors), so the memory target is read on what the pass adds; what was built "
            "before the pass is frozen out of the collector (gc.freeze), as the daemon freezes its "
            "startup heap",
            "calls by kind: " + "; ".join(f"{n}: {c}" for n, c in calls.items()),
        ],
    )
    return [sweep, poll(tmp, quick=quick)]


def poll(tmp: Path, *, quick: bool) -> Result:
    """One poll per tracker against the HTTP fakes with nothing changed since the last poll."""
    del quick
    with ExitStack() as stack:
        (tmp / "poll").mkdir()
        site = Site(tmp / "poll", stack, poll_interval=1.0)
        for n in range(20):
            site.zendesk.open_ticket(f"Polled {n}", requester=scenario.CUSTOMER, priority="normal")
        daemon = site.start_daemon()
        deadline = time.monotonic() + 120
        while len([link for link in site.store.links() if len(link.refs) == 3]) < 20:
            if time.monotonic() > deadline:
                raise RuntimeError("the polled tickets were never linked")
            time.sleep(0.5)
        time.sleep(3)  # a couple of polls after the last write: the cursors move past it
        first = len(site.hits)
        window = 10.0
        time.sleep(window)
        hits = site.hits[first:]
        del daemon
    per_tracker: dict[str, dict[str, int]] = {}
    for hit in hits:
        per_tracker.setdefault(hit.tracker, {}).setdefault(hit.kind.split(" ", 1)[1], 0)
        per_tracker[hit.tracker][hit.kind.split(" ", 1)[1]] += 1
    polls = window / 1.0
    per_poll = {t: round(sum(kinds.values()) / polls, 2) for t, kinds in per_tracker.items()}
    rows: list[list[object]] = [
        [tracker, per_poll[tracker], ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))]
        for tracker, kinds in sorted(per_tracker.items())
    ]
    worst = max(per_poll.values(), default=0.0)
    return Result(
        "idle_poll",
        "Idle cost: polls with nothing changed (daemon polling the HTTP fakes every second)",
        ["tracker", "requests per poll", f"requests in {window:.0f} s"],
        rows,
        [
            Target(
                "requests per tracker per idle poll",
                "1",
                f"{worst:g} (worst tracker)",
                worst <= 1.0,
            )
        ],
        [
            f"{window:.0f} s of a daemon with poll_interval = 1 s after 20 linked tickets settled; "
            "no webhooks; the count is at the fakes"
        ],
    )
