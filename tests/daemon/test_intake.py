"""Group commit: concurrent requests' deliveries share a transaction, each learns its own news."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from ticket_bridge.bridge.adapter import Hint
from ticket_bridge.bridge.errors import StoreError
from ticket_bridge.bridge.store import Store
from ticket_bridge.daemon.intake import Intake


def hint(delivery: str, ticket: str = "42") -> Hint:
    return Hint(tracker="zendesk", ticket_id=ticket, delivery_id=delivery)


class HeldStore:
    """The real store, whose first commit waits until the test lets it go."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.release = threading.Event()
        self.batches: list[int] = []

    def enqueue_many(self, deliveries: Sequence[Hint]) -> set[tuple[str, str]]:
        if not self.batches:
            self.release.wait(10)
        self.batches.append(len(deliveries))
        return self.store.enqueue_many(deliveries)


def test_requests_arriving_during_a_commit_share_the_next_and_duplicates_count_once(
    store: Store,
) -> None:
    held = HeldStore(store)
    intake = Intake(held)  # type: ignore[arg-type]

    async def flood() -> list[int]:
        first = asyncio.create_task(intake.store_hints([hint("d-1")]))
        await asyncio.sleep(0.05)  # the first commit is under way, holding up nobody's request
        later = [
            asyncio.create_task(intake.store_hints([hint("d-2", "43"), hint("d-1")])),
            asyncio.create_task(intake.store_hints([hint("d-2", "43")])),
            asyncio.create_task(intake.store_hints([hint("d-3", "44")])),
        ]
        await asyncio.sleep(0.05)
        held.release.set()
        return [await first, *[await task for task in later]]

    assert asyncio.run(flood()) == [1, 1, 0, 1]
    assert held.batches == [1, 4], "the three later requests went in one transaction"
    assert sorted(i.delivery_id for i in store.pending()) == ["d-1", "d-2", "d-3"]


def test_a_store_that_fails_fails_each_request_of_the_batch_and_the_next_one_goes_through(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    intake = Intake(store)
    real = store.enqueue_many

    def down(deliveries: Sequence[Hint]) -> set[tuple[str, str]]:
        raise StoreError("enqueue deliveries: database is locked")

    async def both() -> list[int | BaseException]:
        return list(
            await asyncio.gather(
                intake.store_hints([hint("d-1")]),
                intake.store_hints([hint("d-2")]),
                return_exceptions=True,
            )
        )

    monkeypatch.setattr(store, "enqueue_many", down)
    outcomes = asyncio.run(both())
    assert all(isinstance(o, StoreError) for o in outcomes), outcomes
    assert store.inbox_depth() == 0
    monkeypatch.setattr(store, "enqueue_many", real)
    assert asyncio.run(both()) == [1, 1], "nothing was lost: the trackers deliver again"
