"""The fake's JQL reads what it supports as Jira does, and refuses the rest with Jira's 400 words."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ticket_bridge.adapters.jira import jql

LA = ZoneInfo("America/Los_Angeles")
SITE = jql.Site(
    zone=LA,
    projects={"SUP", "ENG"},
    statuses={"To Do", "In Progress", "Done"},
    priorities={"High", "Low"},
    issue_types={"Bug", "Task"},
)


def snap(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "project": "SUP",
        "key": ["SUP-1", "10001"],
        "status": "To Do",
        "priority": "High",
        "issuetype": "Bug",
        "labels": ["vip"],
        "assignee": None,
        "reporter": "acc-1",
        "summary": "Checkout fails",
        "created": dt.datetime(2026, 11, 2, 9, 30, 20, tzinfo=dt.UTC),
        "updated": dt.datetime(2026, 11, 2, 9, 30, 20, tzinfo=dt.UTC),
        "properties": {"ticket-bridge": {"key": "k-1"}},
    }
    return base | values


@pytest.mark.parametrize(
    ("query", "hit"),
    [
        ("project = SUP", True),
        ("project in (ENG)", False),
        ('project = sup AND status = "to do"', True),  # names compare case-insensitively
        ("status = Done OR labels = vip", True),
        ("NOT (labels = vip) AND project = SUP", False),
        ("assignee IS EMPTY", True),
        ("assignee is not empty", False),
        ("priority not in (Low)", True),
        ("key = SUP-1", True),
        ("id = 10001", True),
        ('summary ~ "checkout"', True),
        ('issue.property[ticket-bridge].key = "k-1"', True),
        # 09:30:20 UTC is 01:30 PST on 2 November 2026: JQL minutes are the user's.
        ('created >= "2026-11-02 01:30"', True),
        ('created >= "2026/11/02 01:31"', False),
        ('created < "2026-11-02 01:31"', True),
        ('created = "2026-11-02 01:30"', True),
        ("created >= 2026-11-02", True),
    ],
)
def test_what_the_fake_reads(query: str, hit: bool) -> None:
    assert jql.parse(query, SITE).matches(snap()) is hit


def test_order_by_is_read_with_its_directions() -> None:
    parsed = jql.parse("project = SUP ORDER BY created ASC, id DESC", SITE)
    assert parsed.order == (jql.Sort("created", False), jql.Sort("key", True))


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("ORDER BY created", "Unbounded JQL queries are not allowed"),
        ("", "Unbounded JQL queries are not allowed"),
        ("colour = red", "Field 'colour' does not exist"),
        ("status = Nope", "The value 'Nope' does not exist for the field 'status'."),
        ("status = Done AND", "Expecting a field name but reached the end"),
        ("status Done", "Expecting operator but got 'Done'"),
        ('created >= "yesterday"', "Date value 'yesterday' for field 'created' is invalid"),
        ("priority > High", "The operator '>' is not supported by the 'priority' field."),
        ("(status = Done", "Expecting ')'"),
        ("project = SUP ORDER BY summary", "Field 'summary' does not support sorting."),
        ("assignee = currentUser()", "Expecting either 'OR', 'AND' or 'ORDER BY' but got '('"),
    ],
)
def test_what_the_fake_refuses_as_jira_would(query: str, words: str) -> None:
    with pytest.raises(jql.JqlError) as caught:
        jql.parse(query, SITE)
    assert words in caught.value.messages[0]
