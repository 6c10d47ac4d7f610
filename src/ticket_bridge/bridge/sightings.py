"""What the bridge last saw of each ticket, so a poll can skip tickets it has already seen.

Change feeds look back over a window (Jira's minute precision, ClickUp's overlap) and name the
same tickets poll after poll, and a webhook comes back for each of the bridge's own writes. A
ticket the bridge read, or wrote and got back, at the stamp a feed or a delivery reports now has
not changed since. A stamp with a fraction of a second (Jira's and ClickUp's milliseconds) names
one version. A stamp in whole seconds (Zendesk's) could hide a second change within that second,
so such a sighting counts only when it was made ``MARGIN`` after the stamp; the margin also
absorbs clock skew between the tracker and this host. (A millisecond stamp that happens to fall
on a whole second is taken as a whole-second one: one read more, never one less.)

Sightings are in memory and only the latest ``KEPT`` are kept: a feed's window names recent
tickets, and a ticket forgotten or unseen since a restart is simply read once more. The
receivers, in a process of their own, keep a mirror fed by the ``listeners``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable

from ticket_bridge.bridge.adapter import Hint, NativeTicket

MARGIN = dt.timedelta(seconds=2)
KEPT = 20_000


Listener = Callable[[str, str, dt.datetime, dt.datetime], None]
"""Told of each sighting: tracker, ticket id, the ticket's stamp, when it was seen."""


class Sightings:
    def __init__(self, clock: Callable[[], dt.datetime], kept: int = KEPT) -> None:
        self.clock = clock
        self.kept = kept
        self.listeners: list[Listener] = []
        self._seen: OrderedDict[tuple[str, str], tuple[dt.datetime, dt.datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def saw(self, tracker: str, native: NativeTicket) -> None:
        at = self.clock()
        self.record(tracker, native.id, native.updated_at, at)
        for listener in self.listeners:
            listener(tracker, native.id, native.updated_at, at)

    def record(self, tracker: str, ticket_id: str, stamp: dt.datetime, at: dt.datetime) -> None:
        """A sighting made here or, for a mirror, by the process that read the ticket."""
        with self._lock:
            self._seen[(tracker, ticket_id)] = (stamp, at)
            self._seen.move_to_end((tracker, ticket_id))
            while len(self._seen) > self.kept:
                self._seen.popitem(last=False)

    def knows(self, hint: Hint) -> bool:
        """Whether a delivery names a version of its ticket already seen: nothing to read."""
        return hint.stamp is not None and self.unchanged(hint.tracker, hint.ticket_id, hint.stamp)

    def unchanged(self, tracker: str, ticket_id: str, stamp: dt.datetime) -> bool:
        """Whether the ticket was seen at ``stamp``, and nothing can hide behind that stamp."""
        with self._lock:
            seen = self._seen.get((tracker, ticket_id))
        if seen is None:
            return False
        updated, at = seen
        if updated != stamp:
            return False
        return bool(stamp.microsecond) or at >= updated + MARGIN
