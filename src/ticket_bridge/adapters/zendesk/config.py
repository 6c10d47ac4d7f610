"""Settings of one Zendesk Support instance.

Authentication: an OAuth client (client-credentials grant, refreshed when a token expires), a
pre-issued OAuth access token, or an API token (``email`` + ``api_token``). Zendesk deactivates
every API token on 2027-04-30: prefer the OAuth client.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator

from ticket_bridge.bridge.model import Frozen, ZoneName

API_TOKENS_RETIRED = dt.date(2027, 4, 30)


class ZendeskAuth(StrEnum):
    OAUTH_CLIENT = "oauth_client"
    OAUTH_TOKEN = "oauth_token"  # noqa: S105 - a way to authenticate, not a token
    API_TOKEN = "api_token"  # noqa: S105 - a way to authenticate, not a token


class ZendeskConfig(Frozen):
    type: Literal["zendesk"] = "zendesk"
    mapping: str = "zendesk"
    customer_facing: bool = True
    subdomain: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    base_url: str | None = None
    """Where the API really is, when not ``https://{subdomain}.zendesk.com`` (the sandbox's fake)."""
    email: str | None = None
    api_token: SecretStr | None = None
    oauth_client_id: str | None = None
    oauth_client_secret: SecretStr | None = None
    oauth_access_token: SecretStr | None = None
    oauth_scope: str = "read write"
    webhook_secret: SecretStr
    webhook_url: str | None = None
    """The bridge's public webhook URL (``https://…/webhooks/NAME``): ``inspect`` then looks for a
    webhook pointing exactly there; without it, any active webhook counts."""
    time_zone: ZoneName = "UTC"
    """The business time zone: a calendar due date is written as noon there."""
    due_field_id: int | None = None
    """A date custom field holding due dates of tickets that are not tasks (``due_at`` is task-only)."""
    description_public: bool = False
    """Whether a ticket the bridge creates starts with a public description (else an internal note)."""
    correlation_tag: str = "ticket_bridge"
    requests_per_minute: int = Field(default=200, ge=1)
    incremental_per_minute: int = Field(default=10, ge=1)
    timeout: float = Field(default=30.0, gt=0)
    first_poll_lookback: int = Field(default=3600, ge=60)
    backlog_page_size: int = Field(default=100, ge=1, le=100)
    """Tickets a backlog page asks for (Zendesk's search pages hold at most 100)."""
    """Seconds before now that the first poll of the change feed starts from."""

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        ways = [
            self.oauth_client_id is not None or self.oauth_client_secret is not None,
            self.oauth_access_token is not None,
            self.api_token is not None,
        ]
        if sum(ways) != 1:
            raise ValueError(
                "set exactly one way to authenticate: oauth_client_id + oauth_client_secret "
                "(preferred), oauth_access_token, or email + api_token"
            )
        if ways[0] and (self.oauth_client_id is None or self.oauth_client_secret is None):
            raise ValueError("an OAuth client needs both oauth_client_id and oauth_client_secret")
        if ways[2] and not self.email:
            raise ValueError("an API token needs the email of the user it belongs to")
        return self

    @property
    def auth(self) -> ZendeskAuth:
        if self.api_token is not None:
            return ZendeskAuth.API_TOKEN
        if self.oauth_access_token is not None:
            return ZendeskAuth.OAUTH_TOKEN
        return ZendeskAuth.OAUTH_CLIENT

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def api_url(self) -> str:
        return (self.base_url or f"https://{self.subdomain}.zendesk.com").rstrip("/")


def check(config: ZendeskConfig, today: dt.date | None = None) -> list[str]:
    """What ``ticket-bridge check`` should tell an admin about this instance, one line each."""
    notes: list[str] = []
    if config.due_field_id is None:
        notes.append(
            "due dates cannot sync for Zendesk tickets that are not tasks: Zendesk keeps due_at "
            "on tasks only; set due_field_id to a date custom field to sync them"
        )
    if config.auth is ZendeskAuth.API_TOKEN:
        day = today or dt.datetime.now(dt.UTC).date()
        left = (API_TOKENS_RETIRED - day).days
        when = f"in {left} days" if left > 0 else "already"
        notes.append(
            f"Zendesk API tokens stop working on {API_TOKENS_RETIRED.isoformat()} ({when}): "
            "switch to oauth_client_id + oauth_client_secret"
        )
    return notes
