"""The Zendesk API shapes the adapter reads, as Zendesk sends them (unknown keys are ignored)."""

from __future__ import annotations

from pydantic import AwareDatetime, ConfigDict, Field

from ticket_bridge.bridge.model import Frozen, Json


class Payload(Frozen):
    """A response body: Zendesk adds fields over time, so unknown keys are not an error."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class CustomField(Payload):
    id: int
    value: Json = None


class ZTicket(Payload):
    id: int
    external_id: str | None = None
    subject: str | None = None
    description: str | None = None
    type: str | None = None
    priority: str | None = None
    status: str
    custom_status_id: int | None = None
    assignee_id: int | None = None
    requester_id: int | None = None
    tags: tuple[str, ...] = ()
    custom_fields: tuple[CustomField, ...] = ()
    due_at: str | None = None
    followup_ids: tuple[int, ...] = ()
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime

    def custom(self, field_id: int) -> Json:
        return next((f.value for f in self.custom_fields if f.id == field_id), None)


class TicketList(Payload):
    tickets: tuple[ZTicket, ...]


class ZComment(Payload):
    id: int
    author_id: int
    body: str = ""
    public: bool
    created_at: AwareDatetime | None = None


class Audit(Payload):
    events: tuple[dict[str, Json], ...] = ()


class UpdateBody(Payload):
    ticket: ZTicket
    audit: Audit | None = None


class ZUser(Payload):
    id: int
    name: str
    email: str | None = None


class CommentMeta(Payload):
    has_more: bool = False
    after_cursor: str | None = None


class CommentPage(Payload):
    comments: tuple[ZComment, ...]
    users: tuple[ZUser, ...] = ()
    meta: CommentMeta = Field(default_factory=CommentMeta)
    links: dict[str, str | None] = Field(default_factory=dict)


class UserList(Payload):
    users: tuple[ZUser, ...]


class ZCustomStatus(Payload):
    id: int
    status_category: str
    agent_label: str
    active: bool = True
    default: bool = False


class CustomStatusList(Payload):
    custom_statuses: tuple[ZCustomStatus, ...]


class ExportPage(Payload):
    tickets: tuple[ZTicket, ...]
    after_cursor: str | None = None
    end_of_stream: bool


class SearchPage(Payload):
    """One offset page of List Search Results; the query names ``type:ticket``, so all tickets."""

    results: tuple[ZTicket, ...]
    next_page: str | None = None
    count: int | None = None


class SearchCount(Payload):
    count: int


class SearchExportPage(Payload):
    results: tuple[ZTicket, ...]
    meta: CommentMeta = Field(default_factory=CommentMeta)


class ZTicketField(Payload):
    id: int
    type: str
    title: str
    active: bool = True


class TicketFieldBody(Payload):
    ticket_field: ZTicketField


class ZWebhook(Payload):
    id: str
    name: str = ""
    status: str
    endpoint: str
    subscriptions: tuple[str, ...] = ()


class WebhookPage(Payload):
    webhooks: tuple[ZWebhook, ...]
    meta: CommentMeta = Field(default_factory=CommentMeta)


class TriggerAction(Payload):
    field: str
    value: Json = None


class ZTrigger(Payload):
    id: int
    title: str
    active: bool = True
    actions: tuple[TriggerAction, ...] = ()

    def notifies(self) -> set[str]:
        """Ids of the webhooks this trigger's "notify active webhook" actions call."""
        return {
            str(action.value[0])
            for action in self.actions
            if action.field == "notification_webhook"
            and isinstance(action.value, list)
            and action.value
        }


class TriggerList(Payload):
    triggers: tuple[ZTrigger, ...]
    next_page: str | None = None


class TokenGrant(Payload):
    access_token: str
    expires_in: int | None = None
    refresh_token: str | None = None


class ErrorBody(Payload):
    error: Json = None
    description: str | None = None
    details: dict[str, Json] | None = None

    def text(self) -> str:
        """Zendesk's own words, one line: the error, its description and each detail."""
        parts = [str(self.error)] if isinstance(self.error, str) else []
        if self.description:
            parts.append(self.description)
        for name, items in (self.details or {}).items():
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict) and isinstance(item.get("description"), str):
                        parts.append(f"{name}: {item['description']}")
        return "; ".join(parts) or "no error text"
