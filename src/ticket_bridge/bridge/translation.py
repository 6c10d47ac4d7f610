"""Native <-> canonical translation of one tracker instance: pure, table-driven.

Statuses and priorities go through set-valued tables (``mapping.SetMap``): a native value
represents a *set* of canonical values, so reading a native value keeps the current canonical
value whenever the native value can represent it, and writing a canonical value keeps the current
native value whenever it already represents it. That is what stops lossy mappings from flapping.
Due dates go through a per-tracker codec, because each tracker stores them differently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ticket_bridge.bridge.errors import UnknownNativeValue
from ticket_bridge.bridge.model import Due, Field, Json, Kind, Priority, Status

if TYPE_CHECKING:
    from ticket_bridge.bridge.mapping import TrackerMapping


class DueCodec(Protocol):
    """How one tracker represents a due date; a calendar date must come back as the same date."""

    def to_canonical(self, native: Json) -> Due | None: ...

    def to_native(self, due: Due | None) -> Json: ...


class IsoDue:
    """Due dates stored as the canonical text form itself: ``YYYY-MM-DD`` or a UTC instant."""

    def to_canonical(self, native: Json) -> Due | None:
        if native is None or native == "":
            return None
        if not isinstance(native, str):
            raise ValueError(f"due date {native!r} is not text")
        if "T" in native:
            return Due.model_validate({"at": native})
        return Due.model_validate({"date": native})

    def to_native(self, due: Due | None) -> Json:
        return None if due is None else str(due)


class Translation(Protocol):
    """What the reconciler needs to read and write one tracker's native values."""

    def to_canonical(self, field: Field, native: Json, current: Any) -> Any: ...

    def to_native(self, field: Field, value: Any, current: Json) -> Json: ...

    def kind_of(self, native: Json) -> Kind: ...

    def native_kind(self, kind: Kind) -> Json: ...


class TableTranslation:
    """The translation every adapter uses: mapping tables for status, priority and kind, a due codec."""

    def __init__(self, tracker: str, mapping: TrackerMapping, due: DueCodec) -> None:
        self.tracker = tracker
        self.mapping = mapping
        self.due = due

    def to_canonical(self, field: Field, native: Json, current: Any) -> Any:
        match field:
            case Field.STATUS:
                if not isinstance(native, str):
                    raise UnknownNativeValue(self.tracker, "status", native, self.mapping.source)
                status: Status = self.mapping.status.to_canonical(
                    native, current, tracker=self.tracker
                )
                return status
            case Field.PRIORITY:
                if native is None:
                    return Priority.NONE
                if not isinstance(native, str):
                    raise UnknownNativeValue(self.tracker, "priority", native, self.mapping.source)
                priority: Priority = self.mapping.priority.to_canonical(
                    native, current, tracker=self.tracker
                )
                return priority
            case Field.DUE:
                return self.due.to_canonical(native)
            case Field.TITLE | Field.DESCRIPTION:
                return native if isinstance(native, str) else ""
            case Field.ASSIGNEE:
                return native if isinstance(native, str) and native else None

    def to_native(self, field: Field, value: Any, current: Json) -> Json:
        match field:
            case Field.STATUS:
                return self.mapping.status.to_native(
                    Status(value), current if isinstance(current, str) else None
                )
            case Field.PRIORITY:
                return self.mapping.priority.to_native(
                    Priority(value), current if isinstance(current, str) else None
                )
            case Field.DUE:
                return self.due.to_native(value)
            case Field.TITLE | Field.DESCRIPTION | Field.ASSIGNEE:
                return value  # type: ignore[no-any-return]

    def kind_of(self, native: Json) -> Kind:
        return self.mapping.kind_of(native if isinstance(native, str) else None)

    def native_kind(self, kind: Kind) -> Json:
        return self.mapping.native_kind(kind)
