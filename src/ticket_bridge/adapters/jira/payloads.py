"""Jira shapes the adapter reads: webhook deliveries and transition offers.

Jira adds fields freely, so these models ignore what they do not name (unlike ``Frozen``, which
is strict because it guards our own config and canonical values).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Incoming(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class IssueStub(Incoming):
    id: str
    key: str


class CommentStub(Incoming):
    id: str


class Delivery(Incoming):
    """One webhook body: ``jira:issue_*`` or ``comment_*``, in Jira's v2 representation."""

    timestamp: int
    event: str = Field(alias="webhookEvent")
    issue: IssueStub | None = None
    comment: CommentStub | None = None


class StatusRef(Incoming):
    id: str
    name: str


class FieldMeta(Incoming):
    required: bool = False
    name: str = ""


class TransitionOffer(Incoming):
    """A transition available from the issue's current status, with its screen's fields."""

    id: str
    name: str
    to: StatusRef
    fields: dict[str, FieldMeta] = Field(default_factory=dict)

    def required(self) -> list[str]:
        return [key for key, meta in self.fields.items() if meta.required]


def offers(raw: list[dict[str, Any]]) -> list[TransitionOffer]:
    return [TransitionOffer.model_validate(item) for item in raw]
