"""Group commit for the inbox: the deliveries of many concurrent requests stored in one transaction.

SQLite has one write lock. A commit per delivery makes every request queue for that lock behind
the others and behind the workers' writes. Here, while one batch commits, the next fills up, and
each request is answered once the batch holding its deliveries is durable.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

from fastapi.concurrency import run_in_threadpool

from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.store import Store

BATCH = 500
"""Deliveries per transaction at most: a flood's commit stays short."""

Waiting = tuple[Sequence[Hint], "asyncio.Future[int]"]


class Intake:
    """Used from one event loop (the server's): its futures and its committing task live there."""

    def __init__(self, store: Store, batch: int = BATCH) -> None:
        self.store = store
        self.batch = batch
        self._waiting: deque[Waiting] = deque()
        self._committer: asyncio.Task[None] | None = None

    async def store_hints(self, hints: Sequence[Hint]) -> int:
        """Store ``hints`` durably; returns how many were new (the rest were received before)."""
        if not hints:
            return 0
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((hints, done))
        if self._committer is None:
            self._committer = asyncio.create_task(self._commit())
        return await done

    async def _commit(self) -> None:
        try:
            while self._waiting:
                taken: list[Waiting] = []
                size = 0
                while self._waiting and (
                    not taken or size + len(self._waiting[0][0]) <= self.batch
                ):
                    taken.append(self._waiting.popleft())
                    size += len(taken[-1][0])
                await self._commit_one(taken)
        finally:
            self._committer = None

    async def _commit_one(self, taken: list[Waiting]) -> None:
        deliveries = [h for hints, _ in taken for h in hints]
        try:
            fresh = await run_in_threadpool(self.store.enqueue_many, deliveries)
        except Exception as exc:  # each request answers for its own deliveries
            for _, done in taken:
                if not done.done():
                    done.set_exception(exc)
            return
        for hints, done in taken:
            new = 0
            for hint in hints:
                key = (hint.tracker, hint.delivery_id)
                if key in fresh:
                    fresh.discard(key)  # a delivery sent twice in one batch is new only once
                    new += 1
            if not done.done():
                done.set_result(new)
