"""What the engine did, as typed events; only ``cli.py`` turns them into text."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime

from ticket_bridge.bridge.model import Frozen, Json


class LinkCreated(Frozen):
    event: Literal["link_created"] = "link_created"
    link: str
    source: str


class CounterpartCreated(Frozen):
    event: Literal["counterpart_created"] = "counterpart_created"
    link: str
    target: str
    ref: str


class CounterpartWithheld(Frozen):
    event: Literal["counterpart_withheld"] = "counterpart_withheld"
    link: str
    target: str
    reason: str


class FieldPropagated(Frozen):
    event: Literal["field_propagated"] = "field_propagated"
    link: str
    field: str
    source: str | None
    target: str
    old: Json
    new: Json
    reason: str


class ConflictSettled(Frozen):
    event: Literal["conflict_settled"] = "conflict_settled"
    link: str
    field: str
    candidates: dict[str, Json]
    winner: str
    policy: str


class CommentMirrored(Frozen):
    event: Literal["comment_mirrored"] = "comment_mirrored"
    link: str
    comment: str
    target: str
    visibility: str


class CommentEdited(Frozen):
    event: Literal["comment_edited"] = "comment_edited"
    link: str
    comment: str
    target: str


class CommentWithheld(Frozen):
    event: Literal["comment_withheld"] = "comment_withheld"
    link: str
    comment: str
    target: str
    reason: str


class LinkParked(Frozen):
    event: Literal["link_parked"] = "link_parked"
    link: str
    reason: str


class LinkFailed(Frozen):
    event: Literal["link_failed"] = "link_failed"
    link: str
    attempt: int
    error: str
    retry_at: AwareDatetime


class DeadLettered(Frozen):
    event: Literal["dead_lettered"] = "dead_lettered"
    link: str
    attempts: int
    error: str


class PollFailed(Frozen):
    event: Literal["poll_failed"] = "poll_failed"
    tracker: str
    error: str


class CursorCommitted(Frozen):
    event: Literal["cursor_committed"] = "cursor_committed"
    tracker: str
    cursor: str


class PolicyApplied(Frozen):
    """A lifecycle timer fired: a reminder was posted, or the status moved (seed 004)."""

    event: Literal["policy_applied"] = "policy_applied"
    link: str
    policy: str
    status: str | None = None
    reminded: tuple[str, ...] = ()


class HintSettled(Frozen):
    """Webhook deliveries about one ticket were reconciled; ``latency`` from the first one's arrival."""

    event: Literal["hint_settled"] = "hint_settled"
    tracker: str
    ticket_id: str
    deliveries: int
    latency: float


class PassFinished(Frozen):
    """The end of one pass; ``writes`` counts remote writes, 0 on a quiet pass."""

    event: Literal["pass_finished"] = "pass_finished"
    writes: int
    failures: int
    waiting: int


Event = (
    LinkCreated
    | CounterpartCreated
    | CounterpartWithheld
    | FieldPropagated
    | ConflictSettled
    | CommentMirrored
    | CommentEdited
    | CommentWithheld
    | LinkParked
    | LinkFailed
    | DeadLettered
    | PollFailed
    | CursorCommitted
    | PolicyApplied
    | HintSettled
    | PassFinished
)

WRITES = (CounterpartCreated, FieldPropagated, CommentMirrored, CommentEdited)
