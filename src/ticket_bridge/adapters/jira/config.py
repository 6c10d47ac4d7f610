"""Settings of one Jira Cloud site as the bridge uses it."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field, SecretStr, field_validator, model_validator

from ticket_bridge.bridge.model import Frozen, Json, ZoneName


class VisibilityType(StrEnum):
    ROLE = "role"
    GROUP = "group"


class Restriction(Frozen):
    """Who may read an internal comment: a project role or a group, as Jira's ``visibility``."""

    type: VisibilityType = VisibilityType.ROLE
    value: str = "Administrators"


class JiraConfig(Frozen):
    type: Literal["jira"] = "jira"
    mapping: str = "jira"
    customer_facing: bool = False
    base_url: str = Field(description="https://<site>.atlassian.net")
    email: str = Field(description="the Atlassian account the API token belongs to")
    api_token: SecretStr
    webhook_secret: SecretStr
    webhook_url: str | None = Field(
        default=None,
        description="the bridge's public webhook URL for this site, which `check` looks for in Jira",
    )
    projects: tuple[str, ...] = Field(
        default=("SUP",), min_length=1, description="project keys the change feed covers"
    )
    create_project: str | None = Field(
        default=None, description="where counterparts are created (default: the first project)"
    )
    default_issue_type: str = "Task"
    create_labels: tuple[str, ...] = ()
    service_desk_projects: tuple[str, ...] = Field(
        default=(),
        description="Jira Service Management projects: internal comments get sd.public.comment",
    )
    internal: Restriction = Restriction()
    user_map: dict[str, str] = Field(
        default_factory=dict, description="assignee email -> Atlassian accountId"
    )
    priority_ids: dict[str, str] = Field(
        default_factory=dict, description="priority name -> id, to write priorities by id"
    )
    transition_defaults: dict[str, Json] = Field(
        default_factory=lambda: dict[str, Json]({"resolution": {"name": "Done"}}),
        description="values for fields a transition screen requires",
    )
    workflow: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="known workflow edges, status -> statuses it transitions to (learned edges are added)",
    )
    explore_workflow: bool = Field(
        default=True,
        description="when no known path exists, step into statuses whose transitions are not known yet",
    )
    property_key: str = "ticket-bridge"
    time_zone: ZoneName = "UTC"
    poll_start: AwareDatetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    poll_overlap_minutes: int = Field(default=2, ge=1)
    index_lag: float = Field(
        default=60.0,
        ge=0,
        description="seconds after a write before search surely finds it: a retried create waits that long",
    )
    page_size: int = Field(default=50, ge=1, le=100)
    requests_per_minute: int = Field(default=300, ge=1)
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"base_url {value!r} must start with https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _create_project_known(self) -> Self:
        if self.create_project is not None and self.create_project not in self.projects:
            raise ValueError(
                f"create_project {self.create_project!r} is not in projects {list(self.projects)}"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def home_project(self) -> str:
        return self.create_project or self.projects[0]
