"""Settings of one ClickUp instance: one Workspace (team), one List the bridge creates tasks in."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field as PydanticField
from pydantic import SecretStr, field_validator

from ticket_bridge.bridge.model import Frozen, Status, ZoneName


class StatusType(StrEnum):
    """ClickUp's status types: every custom status of a List has one of these."""

    OPEN = "open"
    CUSTOM = "custom"
    DONE = "done"
    CLOSED = "closed"


class AuthScheme(StrEnum):
    PERSONAL = "personal"
    OAUTH = "oauth"


def _read_fallback() -> dict[StatusType, Status]:
    return {
        StatusType.OPEN: Status.NEW,
        StatusType.CUSTOM: Status.IN_PROGRESS,
        StatusType.DONE: Status.RESOLVED,
        StatusType.CLOSED: Status.CLOSED,
    }


def _write_types() -> dict[Status, StatusType]:
    """DESIGN.md's "ClickUp default (status type)" column."""
    return {
        Status.NEW: StatusType.OPEN,
        Status.ACKNOWLEDGED: StatusType.CUSTOM,
        Status.NEEDS_INFO: StatusType.CUSTOM,
        Status.ON_HOLD: StatusType.CUSTOM,
        Status.PLANNED: StatusType.CUSTOM,
        Status.IN_PROGRESS: StatusType.CUSTOM,
        Status.RESOLVED: StatusType.DONE,
        Status.CLOSED: StatusType.CLOSED,
        Status.REOPENED: StatusType.OPEN,
    }


class StatusFallback(Frozen):
    """For statuses the mapping table does not name: read and write by ClickUp status type.

    ``read``: what a status of each type means by default. ``write``: which type of status a
    canonical status goes to when the table's native name does not exist in the List. A status of
    type T represents every canonical status written to T (the set rule), so it never flaps.
    """

    read: dict[StatusType, Status] = PydanticField(default_factory=_read_fallback)
    write: dict[Status, StatusType] = PydanticField(default_factory=_write_types)

    @field_validator("read")
    @classmethod
    def _every_type(cls, read: dict[StatusType, Status]) -> dict[StatusType, Status]:
        missing = [t.value for t in StatusType if t not in read]
        if missing:
            raise ValueError(f"status type fallback lacks {', '.join(missing)}")
        return read

    @field_validator("write")
    @classmethod
    def _every_status(cls, write: dict[Status, StatusType]) -> dict[Status, StatusType]:
        missing = [s.value for s in Status if s not in write]
        if missing:
            raise ValueError(f"status write types lack {', '.join(missing)}")
        return write


class ClickUpConfig(Frozen):
    type: Literal["clickup"] = "clickup"
    mapping: str = "seed000-clickup-support"
    customer_facing: bool = False
    base_url: str = "https://api.clickup.com/api"
    token: SecretStr
    """A personal token (``pk_...``, sent as is) or an OAuth access token (sent as ``Bearer``)."""
    auth: AuthScheme = AuthScheme.PERSONAL
    team_id: str
    """The Workspace id (``GET /v2/team``)."""
    list_id: str
    """The List new tasks are created in; its statuses are the ones the mapping is read against."""
    correlation_field_id: str | None = None
    """A short-text custom field holding the correlation key; unset: a tag holds it."""
    correlation_tag_prefix: str = "tb:"
    webhook_secret: SecretStr | None = None
    webhook_url: str | None = None
    """Where ClickUp posts deliveries (``https://bridge.example.com/webhooks/clickup``): ``inspect``
    looks for a webhook with this endpoint; unset, for one signed with ``webhook_secret``."""
    time_zone: ZoneName = "UTC"
    """The Workspace's business zone: date-only due dates are written at 04:00 there."""
    status_fallback: StatusFallback = StatusFallback()
    internal_prefix: str = "[internal] "
    notify_all: bool = False
    requests_per_minute: int = PydanticField(default=100, ge=1)
    timeout: float = PydanticField(default=10.0, gt=0)
    overlap_seconds: float = PydanticField(default=120.0, ge=0)
    """How far before the cursor each poll starts again: edits stamped late are not lost."""
    backfill_since_ms: int = PydanticField(default=0, ge=0)
    """Where the first poll starts (ms epoch); 0 reads every task of the List."""

    @field_validator("correlation_tag_prefix")
    @classmethod
    def _prefix(cls, prefix: str) -> str:
        if not prefix or "/" in prefix:
            raise ValueError("correlation_tag_prefix must be non-empty and without '/'")
        return prefix

    @property
    def zoneinfo(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
