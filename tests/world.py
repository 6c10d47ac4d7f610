"""Three memory trackers shaped like Zendesk, Jira and a seed 000 ClickUp list, and a bridge between them."""

from __future__ import annotations

import random
from collections.abc import Mapping

from tests.conftest import TickingClock
from ticket_bridge.adapters.memory.adapter import MemoryAdapter
from ticket_bridge.adapters.memory.config import MemoryConfig
from ticket_bridge.adapters.memory.fake import MemoryTracker, StoredTicket
from ticket_bridge.bridge.adapter import Adapter
from ticket_bridge.bridge.engine import Engine
from ticket_bridge.bridge.events import Event
from ticket_bridge.bridge.mapping import load_mapping
from ticket_bridge.bridge.model import Kind, Person
from ticket_bridge.bridge.policy import RetryPolicy, Route, SyncPolicy
from ticket_bridge.bridge.retry import CallRetry
from ticket_bridge.bridge.store import Store

CONFIGS: dict[str, MemoryConfig] = {
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
    Route(source="jira", targets=("zendesk", "clickup"), kinds=frozenset({Kind.ESCALATION})),
    Route(source="clickup", targets=("zendesk", "jira")),
)

CUSTOMER = Person(name="Dana Customer", email="dana@example.com")
AGENT = Person(name="Sam Agent", email="sam@support.example.com")


class World:
    def __init__(
        self,
        store: Store,
        clock: TickingClock,
        *,
        policy: SyncPolicy | None = None,
        configs: Mapping[str, MemoryConfig] = CONFIGS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or SyncPolicy(routes=ROUTES, retry=RetryPolicy(link_attempts=4))
        self.trackers = {
            name: MemoryTracker(name, clock, internal_comments=c.internal_comments)
            for name, c in configs.items()
        }
        self.adapters: dict[str, Adapter] = {
            name: MemoryAdapter(name, c, load_mapping(c.mapping), self.trackers[name])
            for name, c in configs.items()
        }
        self.sleeps: list[float] = []
        self.engine = self._engine()

    def _engine(self) -> Engine:
        retry = CallRetry(self.policy.retry, sleep=self.sleeps.append, rng=random.Random(7))
        return Engine(self.store, self.adapters, self.policy, retry=retry, clock=self.clock)

    def restart(self) -> None:
        """A new process on the same store and trackers, as after a crash."""
        self.engine = self._engine()

    def settle(self, max_passes: int = 40) -> list[Event]:
        return list(self.engine.run_until_quiet(max_passes, wait=self.clock.advance))

    def counterpart(self, tracker: str, key: str) -> StoredTicket:
        found = [t for t in self.trackers[tracker].tickets.values() if t.key == key]
        assert len(found) == 1, f"{len(found)} tickets in {tracker} carry {key}"
        return found[0]

    @property
    def zendesk(self) -> MemoryTracker:
        return self.trackers["zendesk"]

    @property
    def jira(self) -> MemoryTracker:
        return self.trackers["jira"]

    @property
    def clickup(self) -> MemoryTracker:
        return self.trackers["clickup"]
