"""What the engine did, as typed events; only ``cli.py`` turns them into text."""

from __future__ import annotations

from enum import StrEnum
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


class TrackerRecovered(Frozen):
    """A tracker answers again after a failed poll: links backing off are retried now."""

    event: Literal["tracker_recovered"] = "tracker_recovered"
    tracker: str
    hastened: int


class AccountKnown(Frozen):
    """The account the bridge acts as on a tracker: deliveries it made are echoes of its writes.

    Receivers in another process learn it from this event, never by asking the tracker."""

    event: Literal["account_known"] = "account_known"
    tracker: str
    account: str


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


class SweepFinished(Frozen):
    """A sweep reached the last link; ``reconciled`` counts the links that held something new."""

    event: Literal["sweep_finished"] = "sweep_finished"
    links: int
    reconciled: int


class SweepPaused(Frozen):
    """A sweep stopped short, its place kept: the daemon stopping, a tracker down or throttled."""

    event: Literal["sweep_paused"] = "sweep_paused"
    after_link: int
    reason: str


class PassFinished(Frozen):
    """The end of one pass; ``writes`` counts remote writes, 0 on a quiet pass."""

    event: Literal["pass_finished"] = "pass_finished"
    writes: int
    failures: int
    waiting: int


class BackfillAction(StrEnum):
    CREATE = "create"  # a counterpart created (or, in a dry run, to create)
    LINK = "link"  # an existing counterpart found by correlation key or a confirmed match
    UPDATE = "update"  # already linked; the reconcile wrote something
    AGREE = "agree"  # already linked and in agreement: nothing to write
    PROPOSE = "propose"  # a counterpart may exist (same title and requester): an admin decides
    SKIP = "skip"  # left alone, with the reason
    FAIL = "fail"  # tried and failed: the link retries or is a dead letter


class BackfillStarted(Frozen):
    event: Literal["backfill_started"] = "backfill_started"
    backfill: int | None  # None for a dry run, which keeps no checkpoint
    source: str
    targets: tuple[str, ...]
    resumed: bool
    done: int


class BackfillStep(Frozen):
    """One ticket's part in a backfill for one target: what was, or in a dry run would be, done.

    ``changes`` maps a field to its (old, new) canonical values, old None for a creation.
    """

    event: Literal["backfill_step"] = "backfill_step"
    source: str
    target: str | None
    action: BackfillAction
    ref: str | None = None
    changes: dict[str, tuple[Json, Json]] = {}
    comments: int = 0
    reason: str = ""


class BackfillProgress(Frozen):
    event: Literal["backfill_progress"] = "backfill_progress"
    done: int
    total: int | None


class BackfillFinished(Frozen):
    event: Literal["backfill_finished"] = "backfill_finished"
    backfill: int | None
    done: int
    counts: dict[str, int]
    elapsed: float


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
    | AccountKnown
    | CursorCommitted
    | TrackerRecovered
    | PolicyApplied
    | HintSettled
    | PassFinished
    | SweepFinished
    | SweepPaused
    | BackfillStarted
    | BackfillStep
    | BackfillProgress
    | BackfillFinished
)

WRITES = (CounterpartCreated, FieldPropagated, CommentMirrored, CommentEdited)
