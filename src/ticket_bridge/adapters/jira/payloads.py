"""Jira shapes the adapter reads: webhook deliveries and transition offers.

Jira adds fields freely, so these models ignore what they do not name (unlike ``Frozen``, which
is strict because it guards our own config and canonical values).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ticket_bridge.bridge.adapter import Scope


def parse_time(text: str) -> dt.datetime:
    """Jira's ``2019-02-15T19:12:08.432-0800`` (no colon in the offset) as an aware datetime."""
    fixed = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text.replace("Z", "+00:00"))
    return dt.datetime.fromisoformat(fixed)


class Incoming(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class StubFields(Incoming):
    updated: str | None = None


class IssueStub(Incoming):
    id: str
    key: str
    fields: StubFields | None = None

    @property
    def updated(self) -> dt.datetime | None:
        """When the issue was last updated as the delivery saw it; None when it does not say."""
        text = self.fields.updated if self.fields is not None else None
        try:
            stamp = parse_time(text) if text else None
        except ValueError:
            return None
        return stamp if stamp is not None and stamp.tzinfo is not None else None


class Actor(Incoming):
    account_id: str = Field(alias="accountId")


def _someone(value: Any) -> Any:
    """A user object with an accountId, else nobody: who acted only ever makes an echo, so an odd
    user must not get the delivery refused."""
    if isinstance(value, dict) and isinstance(value.get("accountId"), str):
        return value
    return None


Someone = Annotated[Actor | None, BeforeValidator(_someone)]


class CommentStub(Incoming):
    id: str
    author: Someone = None
    update_author: Someone = Field(default=None, alias="updateAuthor")


class ChangeItem(Incoming):
    """One field a change set: ``old`` is Jira's ``from`` (an id where the field has one: a
    priority's, an account's, a date), ``old_text`` its ``fromString``."""

    field: str | None = None
    field_id: str | None = Field(default=None, alias="fieldId")
    old: str | None = Field(default=None, alias="from")
    old_text: str | None = Field(default=None, alias="fromString")

    @property
    def name(self) -> str | None:
        return self.field_id or self.field


class Changelog(Incoming):
    items: tuple[ChangeItem, ...] = ()


class History(Incoming):
    """One changelog entry: who changed which fields, when."""

    id: str
    author: Someone = None
    created: str
    items: tuple[ChangeItem, ...] = ()

    @property
    def at(self) -> dt.datetime:
        return parse_time(self.created)

    @property
    def order(self) -> tuple[dt.datetime, int]:
        return self.at, int(self.id) if self.id.isdigit() else 0

    def by(self, account: str) -> bool:
        return self.author is not None and self.author.account_id == account


class HistoryPage(Incoming):
    """A page of changelog entries, oldest first: embedded in an issue (``histories``) or from
    the changelog API (``values``)."""

    start_at: int = Field(default=0, alias="startAt")
    total: int = 0
    histories: tuple[History, ...] = ()
    values: tuple[History, ...] = ()

    @property
    def entries(self) -> tuple[History, ...]:
        return self.histories or self.values


class Delivery(Incoming):
    """One webhook body: ``jira:issue_*`` or ``comment_*``, in Jira's v2 representation."""

    timestamp: int
    event: str = Field(alias="webhookEvent")
    issue_event: str | None = Field(default=None, alias="issue_event_type_name")
    issue: IssueStub | None = None
    comment: CommentStub | None = None
    changelog: Changelog | None = None
    user: Someone = None

    @property
    def scope(self) -> Scope:
        """What of the issue changed: ``comment_*`` events are about comments, an update
        names its fields in the changelog (and a comment, as ``issue_commented``); a created
        issue, or an update that names nothing, may hold anything."""
        if self.event.startswith("comment_"):
            return Scope.COMMENTS
        if self.event != "jira:issue_updated":
            return Scope.ALL
        fields = self.changelog is not None and bool(self.changelog.items)
        commented = self.comment is not None or (self.issue_event or "").startswith("issue_comment")
        if commented:
            return Scope.ALL if fields else Scope.COMMENTS
        return Scope.FIELDS if fields else Scope.ALL

    @property
    def actor(self) -> str | None:
        """The accountId of whoever made the change the delivery reports, where Jira names them.

        Issue events name them in ``user``; comment events name no user, but the comment's last
        editor (``updateAuthor``, else its author) made the change. A deletion's deleter is
        named nowhere: the last editor of a deleted comment may well be someone else.
        """
        if not self.event.startswith("comment_"):
            return self.user.account_id if self.user else None
        if self.event == "comment_deleted" or self.comment is None:
            return None
        who = self.comment.update_author or self.comment.author
        return who.account_id if who else None


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
