"""Native <-> canonical for the memory tracker: the shared table translation, due dates as ISO text."""

from __future__ import annotations

from ticket_bridge.bridge.mapping import TrackerMapping
from ticket_bridge.bridge.translation import IsoDue, TableTranslation


def translation(name: str, mapping: TrackerMapping) -> TableTranslation:
    return TableTranslation(name, mapping, IsoDue())
