"""The shapes of ClickUp API v2 bodies the adapter reads, as the vendor spec describes them.

Responses carry many more keys than the bridge reads; they are ignored, not refused, so that a
field ClickUp adds tomorrow does not stop the sync.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, JsonValue, SecretStr

from ticket_bridge.bridge.adapter import Scope
from ticket_bridge.bridge.model import Frozen


class Payload(Frozen):
    model_config = ConfigDict(frozen=True, extra="ignore")


class User(Payload):
    id: int
    username: str | None = None
    email: str | None = None
    timezone: str | None = None


class AuthorizedUser(Payload):
    """``GET /v2/user``: the account the token acts as."""

    user: User


class Member(Payload):
    user: User


class Team(Payload):
    id: str
    name: str
    members: tuple[Member, ...] = ()


class Teams(Payload):
    teams: tuple[Team, ...]


class TaskStatus(Payload):
    status: str
    type: str
    orderindex: int = 0


class Place(Payload):
    id: str


class ListInfo(Payload):
    id: str
    name: str
    statuses: tuple[TaskStatus, ...] = ()
    folder: Place | None = None
    space: Place | None = None


class ListField(Payload):
    id: str
    name: str
    type: str


class ListFields(Payload):
    fields: tuple[ListField, ...]


class TaskPriority(Payload):
    id: str
    priority: str


class Tag(Payload):
    name: str


class CustomField(Payload):
    id: str
    name: str = ""
    type: str = ""
    value: JsonValue = None


class TaskList(Payload):
    id: str


class Task(Payload):
    id: str
    name: str
    markdown_description: str | None = None
    description: str | None = None
    status: TaskStatus
    date_created: str | None = None
    date_updated: str
    creator: User | None = None
    assignees: tuple[User, ...] = ()
    tags: tuple[Tag, ...] = ()
    priority: TaskPriority | None = None
    due_date: str | None = None
    due_date_time: bool | None = None
    custom_fields: tuple[CustomField, ...] = ()
    list: TaskList | None = None


class TaskPage(Payload):
    tasks: tuple[Task, ...]
    last_page: bool = True


class Comment(Payload):
    id: str
    comment_text: str
    user: User
    date: str


class Comments(Payload):
    comments: tuple[Comment, ...]


class CreatedComment(Payload):
    id: str
    date: int


class Actor(Payload):
    """Who made a change; lenient, since a delivery naming nobody is still read."""

    id: int | str | None = None


class HistoryItem(Payload):
    id: str
    field: str | None = None
    user: Actor | None = None


class WebhookDelivery(Payload):
    """A delivery is thin: it names what changed, never the whole task."""

    event: str
    webhook_id: str
    task_id: str | None = None
    history_items: tuple[HistoryItem, ...] = Field(default=())

    @property
    def scope(self) -> Scope:
        """What of the task changed, by event (developer.clickup.com/docs/webhooks): a comment,
        a field, or (a created or moved task, anything else) it cannot tell."""
        if self.event in COMMENT_EVENTS:
            return Scope.COMMENTS
        return Scope.FIELDS if self.event in FIELD_EVENTS else Scope.ALL


COMMENT_EVENTS = frozenset({"taskCommentPosted", "taskCommentUpdated"})
FIELD_EVENTS = frozenset(
    {
        "taskUpdated",
        "taskPriorityUpdated",
        "taskStatusUpdated",
        "taskAssigneeUpdated",
        "taskDueDateUpdated",
        "taskTagUpdated",
        "taskTimeEstimateUpdated",
        "taskTimeTrackedUpdated",
    }
)


class WebhookHealth(Payload):
    status: str
    fail_count: int = 0


class Webhook(Payload):
    """A registered webhook; ClickUp hands its ``secret`` out on every read, so it is kept secret."""

    id: str
    endpoint: str
    events: tuple[str, ...] = ()
    task_id: str | None = None
    list_id: str | int | None = None
    folder_id: str | int | None = None
    space_id: str | int | None = None
    health: WebhookHealth | None = None
    secret: SecretStr


class Webhooks(Payload):
    webhooks: tuple[Webhook, ...]


class CreatedWebhook(Payload):
    id: str
    webhook: Webhook


class ApiError(Payload):
    err: str = ""
    ECODE: str = ""
