"""An adapter as the engine calls it: each call takes a worker slot, each ticket it answers is seen.

One wrapper per tracker, so a call pays for one lookup: the slot is taken only by a daemon's
bound worker threads (``Slots``), and a ticket read, created or written back is noted as a
sighting (``Sightings``, when given one) so that feeds and deliveries about that version need
no read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ticket_bridge.bridge.adapter import NativeTicket
from ticket_bridge.bridge.sightings import Sightings
from ticket_bridge.bridge.slots import Slots

SEEING = frozenset({"read", "create", "update"})
"""The adapter calls whose answer is a ticket as it stands."""


class Calls:
    """Every attribute is the adapter's own; its methods are looked up at each call (so a patched
    one is honoured), its properties once (they are fixed)."""

    def __init__(
        self, adapter: object, tracker: str, slots: Slots, sightings: Sightings | None
    ) -> None:
        self._adapter = adapter
        self._tracker = tracker
        self._slots = slots
        self._sightings = sightings

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._adapter, name)
        if not callable(value):
            setattr(self, name, value)
            return value
        method: Callable[..., Any] = value
        tracker, slots, sightings = self._tracker, self._slots, self._sightings
        seeing = sightings if name in SEEING else None

        def call(*args: Any, **kwargs: Any) -> Any:
            if slots.limit_here():
                with slots.slot(tracker):
                    answer = method(*args, **kwargs)
            else:
                answer = method(*args, **kwargs)
            if seeing is not None and isinstance(answer, NativeTicket):
                seeing.saw(tracker, answer)
            return answer

        return call
