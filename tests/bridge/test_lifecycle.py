"""Lifecycle rules: which status a ticket adopts, reopens, where kinds may be created, timers."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ticket_bridge.bridge.lifecycle import (
    AUTO_CLOSE_NO_RESPONSE,
    CLOSE_RESOLVED,
    REMINDER_FIRST,
    REMINDER_SECOND,
    SHORT_PATH,
    ActionKind,
    LifecyclePolicies,
    PolicyAction,
    accept,
    creatable_in,
    due_actions,
    is_reopen,
)
from ticket_bridge.bridge.model import Kind, Status

S = Status

# Written from the seeds, not from the code: seed 003 questions go new -> accepted -> resolved, and
# have no scheduling or work states; anything of that sort means someone has the question.
QUESTION_COLLAPSES = {
    S.PLANNED: S.ACKNOWLEDGED,
    S.IN_PROGRESS: S.ACKNOWLEDGED,
    S.ON_HOLD: S.ACKNOWLEDGED,
}


def expected_status(kind: Kind, current: Status | None, proposed: Status) -> Status:
    if kind == Kind.QUESTION:
        proposed = QUESTION_COLLAPSES.get(proposed, proposed)
    match current, proposed:
        case S.CLOSED, S.RESOLVED:
            return S.CLOSED
        case ((S.RESOLVED | S.CLOSED), (S.NEW | S.ACKNOWLEDGED)):
            return S.REOPENED
        case _:
            return proposed


@pytest.mark.parametrize("kind", list(Kind))
def test_accept_against_the_expectation_for_every_kind_current_and_proposed(kind: Kind) -> None:
    for current, proposed in itertools.product([None, *Status], Status):
        assert accept(kind, current, proposed) == expected_status(kind, current, proposed), (
            kind,
            current,
            proposed,
        )


def test_questions_only_ever_use_the_short_path() -> None:
    allowed = SHORT_PATH[Kind.QUESTION]
    assert allowed == {S.NEW, S.ACKNOWLEDGED, S.NEEDS_INFO, S.RESOLVED, S.CLOSED, S.REOPENED}
    for current, proposed in itertools.product([None, *allowed], Status):
        assert accept(Kind.QUESTION, current, proposed) in allowed


def test_other_kinds_use_every_status() -> None:
    assert set(SHORT_PATH) == {Kind.QUESTION}
    for kind in (Kind.SUPPORT, Kind.ESCALATION, Kind.TASK):
        assert {accept(kind, None, proposed) for proposed in Status} == set(Status)


def test_closed_never_goes_back_to_resolved_but_may_be_reopened() -> None:
    for kind in Kind:
        assert accept(kind, S.CLOSED, S.RESOLVED) is S.CLOSED
        assert accept(kind, S.CLOSED, S.REOPENED) is S.REOPENED
        assert accept(kind, S.CLOSED, S.NEEDS_INFO) is S.NEEDS_INFO
        assert accept(kind, S.RESOLVED, S.CLOSED) is S.CLOSED
        assert accept(kind, S.RESOLVED, S.NEW) is S.REOPENED
    assert accept(Kind.SUPPORT, S.CLOSED, S.IN_PROGRESS) is S.IN_PROGRESS
    assert accept(Kind.QUESTION, S.CLOSED, S.IN_PROGRESS) is S.REOPENED


def test_is_reopen() -> None:
    finished = {S.RESOLVED, S.CLOSED}
    for old, new in itertools.product([None, *Status], Status):
        assert is_reopen(old, new) == (old in finished and new not in finished), (old, new)
    assert is_reopen(S.CLOSED, S.REOPENED)
    assert not is_reopen(S.RESOLVED, S.CLOSED)
    assert not is_reopen(None, S.NEW)


def test_escalations_are_never_created_in_a_customer_facing_tracker() -> None:
    assert {kind: creatable_in(kind, customer_facing=True) for kind in Kind} == {
        Kind.SUPPORT: True,
        Kind.QUESTION: True,
        Kind.ESCALATION: False,
        Kind.TASK: True,
    }
    assert all(creatable_in(kind, customer_facing=False) for kind in Kind)


# -- timer policies --------------------------------------------------------------------------

T0 = dt.datetime(2026, 3, 28, 15, 30, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
SEED004 = LifecyclePolicies()


def names(status: Status, elapsed: dt.timedelta, done: frozenset[str] = frozenset()) -> list[str]:
    return [a.name for a in due_actions(status, T0, T0 + elapsed, done, SEED004)]


def test_no_action_before_the_first_reminder() -> None:
    assert names(S.NEEDS_INFO, dt.timedelta(0)) == []
    assert names(S.NEEDS_INFO, 24 * HOUR - SECOND) == []


def test_first_reminder_at_24_hours_in_needs_info() -> None:
    assert names(S.NEEDS_INFO, 24 * HOUR) == [REMINDER_FIRST]
    assert names(S.NEEDS_INFO, 5 * DAY - SECOND) == [REMINDER_FIRST]
    assert names(S.NEEDS_INFO, 5 * DAY - SECOND, frozenset({REMINDER_FIRST})) == []


def test_second_reminder_at_5_days() -> None:
    assert names(S.NEEDS_INFO, 5 * DAY) == [REMINDER_FIRST, REMINDER_SECOND]
    assert names(S.NEEDS_INFO, 5 * DAY, frozenset({REMINDER_FIRST})) == [REMINDER_SECOND]
    assert names(S.NEEDS_INFO, 7 * DAY - SECOND, frozenset({REMINDER_FIRST})) == [REMINDER_SECOND]
    assert names(S.NEEDS_INFO, 7 * DAY - SECOND, frozenset({REMINDER_FIRST, REMINDER_SECOND})) == []


def test_auto_close_with_no_response_tag_at_7_days_replaces_pending_reminders() -> None:
    actions = due_actions(S.NEEDS_INFO, T0, T0 + 7 * DAY, frozenset(), SEED004)
    assert actions == [
        PolicyAction(
            name=AUTO_CLOSE_NO_RESPONSE,
            kind=ActionKind.SET_STATUS,
            due_at=T0 + 7 * DAY,
            status=S.CLOSED,
            tag="no_response",
        )
    ]
    assert actions[0].due_at.utcoffset() == dt.timedelta(0)
    assert names(S.NEEDS_INFO, 30 * DAY, frozenset({REMINDER_FIRST, REMINDER_SECOND})) == [
        AUTO_CLOSE_NO_RESPONSE
    ]
    assert names(S.NEEDS_INFO, 30 * DAY, frozenset({AUTO_CLOSE_NO_RESPONSE})) == [
        REMINDER_FIRST,
        REMINDER_SECOND,
    ]


def test_resolved_closes_after_24_hours() -> None:
    assert names(S.RESOLVED, 24 * HOUR - SECOND) == []
    (action,) = due_actions(S.RESOLVED, T0, T0 + 24 * HOUR, frozenset(), SEED004)
    assert (action.name, action.kind, action.status, action.tag) == (
        CLOSE_RESOLVED,
        ActionKind.SET_STATUS,
        S.CLOSED,
        None,
    )
    assert action.due_at == T0 + 24 * HOUR
    assert names(S.RESOLVED, 3 * DAY, frozenset({CLOSE_RESOLVED})) == []


@pytest.mark.parametrize("status", sorted(set(Status) - {S.NEEDS_INFO, S.RESOLVED}))
def test_no_timer_runs_in_other_statuses(status: Status) -> None:
    assert names(status, 365 * DAY) == []


def test_disabled_policies_never_act() -> None:
    off = LifecyclePolicies.disabled()
    for status in Status:
        assert due_actions(status, T0, T0 + 365 * DAY, frozenset(), off) == []


def test_each_policy_can_be_disabled_or_overridden() -> None:
    no_close = LifecyclePolicies(auto_close_after=None)
    assert [
        a.name for a in due_actions(S.NEEDS_INFO, T0, T0 + 30 * DAY, frozenset(), no_close)
    ] == [
        REMINDER_FIRST,
        REMINDER_SECOND,
    ]
    seed002 = LifecyclePolicies(close_resolved_after=48 * HOUR, no_response_tag="stale")
    assert due_actions(S.RESOLVED, T0, T0 + 47 * HOUR, frozenset(), seed002) == []
    assert [a.name for a in due_actions(S.RESOLVED, T0, T0 + 48 * HOUR, frozenset(), seed002)] == [
        CLOSE_RESOLVED
    ]
    (close,) = due_actions(S.NEEDS_INFO, T0, T0 + 7 * DAY, frozenset(), seed002)
    assert close.tag == "stale"


def test_a_duration_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="first_reminder_after"):
        LifecyclePolicies(first_reminder_after=dt.timedelta(0))


def test_naive_datetimes_are_refused() -> None:
    naive = dt.datetime(2026, 3, 27, 16, 30)
    with pytest.raises(ValueError, match=r"entered_at .* is naive"):
        due_actions(S.NEEDS_INFO, naive, T0, frozenset(), SEED004)
    with pytest.raises(ValueError, match=r"now .* is naive"):
        due_actions(S.NEEDS_INFO, T0, naive, frozenset(), SEED004)


def test_elapsed_time_is_real_time_across_a_daylight_saving_change() -> None:
    """Berlin's clocks go forward on 2026-03-29: one wall-clock day later is only 23 hours later."""
    berlin = ZoneInfo("Europe/Berlin")
    entered = dt.datetime(2026, 3, 28, 16, 30, tzinfo=berlin)
    assert due_actions(S.NEEDS_INFO, entered, entered.replace(day=29), frozenset(), SEED004) == []
    (action,) = due_actions(
        S.NEEDS_INFO, entered, dt.datetime(2026, 3, 29, 17, 30, tzinfo=berlin), frozenset(), SEED004
    )
    assert action.due_at == dt.datetime(2026, 3, 29, 15, 30, tzinfo=dt.UTC)


def test_entered_at_and_now_may_be_in_different_zones() -> None:
    tokyo = T0.astimezone(ZoneInfo("Asia/Tokyo"))
    assert names(S.RESOLVED, 24 * HOUR) == [CLOSE_RESOLVED]
    assert due_actions(S.RESOLVED, tokyo, T0 + 24 * HOUR - SECOND, frozenset(), SEED004) == []
    assert len(due_actions(S.RESOLVED, tokyo, T0 + 24 * HOUR, frozenset(), SEED004)) == 1
