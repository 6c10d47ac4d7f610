"""Jira's backlog: JQL on ``created`` at minute precision in the API user's zone, paged by position."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.adapters.jira.conftest import MakeAdapter
from tests.conftest import TickingClock
from tests.specs import SpecCheck
from ticket_bridge.adapters.jira.adapter import JiraAdapter, jql_minute
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.bridge.adapter import BacklogQuery, NativeTicket
from ticket_bridge.bridge.errors import ConfigError
from ticket_bridge.bridge.model import Field

UTC = dt.UTC


def pages(adapter: JiraAdapter, query: BacklogQuery) -> list[list[NativeTicket]]:
    out: list[list[NativeTicket]] = []
    cursor: str | None = None
    for _ in range(20):
        page = adapter.backlog(query, cursor)
        out.append(list(page.tickets))
        if page.cursor is None:
            return out
        cursor = page.cursor
    raise AssertionError("the backlog never ended")


def ids(tickets: list[NativeTicket]) -> list[str]:
    return [t.id for t in tickets]


def test_pages_hold_every_issue_once_while_issues_are_created_between_them(
    fake: FakeJira, make_adapter: MakeAdapter, ticking: TickingClock, spec_check: SpecCheck
) -> None:
    adapter = make_adapter(page_size=2)
    fake.search_page_limit = 2
    opened = [fake.open_issue(f"old {n}") for n in range(5)]
    ticking.advance(fake.index_lag + 1)
    first = adapter.backlog(BacklogQuery(), None)
    assert ids(list(first.tickets)) == opened[:2] and first.cursor is not None
    assert first.total == 5
    newer = fake.open_issue("created while the backfill runs")
    ticking.advance(fake.index_lag + 1)
    seen = ids(list(first.tickets))
    cursor: str | None = first.cursor
    for _ in range(10):
        page = adapter.backlog(BacklogQuery(), cursor)
        assert len(page.tickets) <= 2
        seen += ids(list(page.tickets))
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == [*opened, newer] and cursor is None
    assert "POST /rest/api/3/search/jql" in [c.split("?")[0] for c in spec_check.checked]


def test_issues_created_in_the_same_millisecond_are_neither_skipped_nor_repeated(
    fake: FakeJira, make_adapter: MakeAdapter, ticking: TickingClock
) -> None:
    adapter = make_adapter(page_size=2)
    fake.search_page_limit = 2
    frozen = ticking()
    fake.clock = lambda: frozen  # a bulk import: one created stamp for all
    opened = [fake.open_issue(f"imported {n}") for n in range(5)]
    fake.clock = ticking
    ticking.advance(fake.index_lag + 1)
    found = pages(adapter, BacklogQuery())
    assert [ids(p) for p in found] == [opened[0:2], opened[2:4], opened[4:5]]


def test_a_backlog_ticket_reads_as_read_does_from_one_search(
    fake: FakeJira, make_adapter: MakeAdapter, ticking: TickingClock
) -> None:
    fake.add_account("acc-kim", "Kim Engineer", "kim@eng.example.com")
    adapter = make_adapter(user_map={"kim@eng.example.com": "acc-kim"})
    issue = fake.open_issue(
        "Full", description="Some **bold**", priority="High", duedate="2026-12-01"
    )
    fake.edit(issue, assignee="acc-kim")
    fake.issues[issue].properties["ticket-bridge"] = {"key": "corr-1"}
    fake._index(fake.issues[issue])
    ticking.advance(fake.index_lag + 1)
    before = len(fake.requests)
    [[ticket]] = pages(adapter, BacklogQuery())
    searched = [r for r in fake.requests[before:] if "/issue/" in r]
    assert searched == []  # no read per issue
    assert ticket == adapter.read(issue)
    assert ticket.correlation_key == "corr-1" and ticket.fields[Field.PRIORITY] == "High"


def test_the_range_is_exact_although_jql_dates_are_minutes_in_the_users_zone(
    fake: FakeJira, make_adapter: MakeAdapter, ticking: TickingClock
) -> None:
    """The API user is in Los Angeles (PST on 2 November 2026, UTC-8); JQL literals are PST minutes."""
    adapter = make_adapter()
    at = dt.datetime(2026, 11, 2, 9, 30, 15, tzinfo=UTC)
    opened: dict[str, str] = {}
    for label, seconds in (("early", 0), ("in", 30), ("late", 55)):
        ticking.now = at + dt.timedelta(seconds=seconds)
        opened[label] = fake.open_issue(label)
    ticking.advance(60)
    query = BacklogQuery(
        created_from=at + dt.timedelta(seconds=20),  # 09:30:35, inside the minute of "early"
        created_until=at + dt.timedelta(seconds=50),  # 09:31:05, inside the minute of "late"
    )
    found = [t.id for p in pages(adapter, query) for t in p]
    assert found == [opened["in"]]
    [jql] = [j for j in fake.searches if "created" in j]
    assert 'created >= "2026-11-02 01:30"' in jql and 'created < "2026-11-02 01:32"' in jql
    assert jql.endswith("ORDER BY created ASC, id ASC")
    exact = BacklogQuery(created_from=fake.issues[opened["in"]].created)
    assert [t.id for p in pages(adapter, exact) for t in p] == [opened["in"], opened["late"]]
    until = BacklogQuery(created_until=fake.issues[opened["in"]].created)
    assert [t.id for p in pages(adapter, until) for t in p] == [opened["early"]]


@pytest.mark.parametrize(
    ("at", "up", "literal"),
    [
        # 08:30 UTC on 1 Nov 2026 is 01:30 PDT, a wall time Los Angeles passes twice:
        # stepped out an hour, so either reading of the literal stays outside the range.
        (dt.datetime(2026, 11, 1, 8, 30, 20, tzinfo=UTC), False, "2026-11-01 00:30"),
        (dt.datetime(2026, 11, 1, 8, 30, 20, tzinfo=UTC), True, "2026-11-01 01:31"),
        # 09:30 UTC is 01:30 PST, the second pass.
        (dt.datetime(2026, 11, 1, 9, 30, 20, tzinfo=UTC), False, "2026-11-01 01:30"),
        (dt.datetime(2026, 11, 1, 9, 30, 20, tzinfo=UTC), True, "2026-11-01 02:31"),
        (dt.datetime(2026, 11, 2, 9, 30, tzinfo=UTC), True, "2026-11-02 01:30"),
    ],
)
def test_jql_minutes_never_cut_into_the_range(at: dt.datetime, up: bool, literal: str) -> None:
    zone = ZoneInfo("America/Los_Angeles")
    assert jql_minute(at, zone, up=up) == literal
    wall = dt.datetime.strptime(literal, "%Y-%m-%d %H:%M")
    for fold in (0, 1):
        read = wall.replace(tzinfo=zone, fold=fold)
        assert (read >= at) if up else (read <= at)


def test_a_native_jql_filter_is_anded_in(
    fake: FakeJira, make_adapter: MakeAdapter, ticking: TickingClock
) -> None:
    adapter = make_adapter()
    urgent = fake.open_issue("urgent bug", issuetype="Bug", priority="Highest")
    fake.open_issue("urgent task", priority="Highest")
    moving = fake.open_issue("moving bug", issuetype="Bug", status="In Progress")
    fake.open_issue("calm bug", issuetype="Bug", priority="Low")
    ticking.advance(fake.index_lag + 1)
    query = BacklogQuery(
        native='issuetype = Bug AND (priority in (Highest, High) OR status = "In Progress")'
    )
    page = adapter.backlog(query, None)
    assert ids(list(page.tickets)) == [urgent, moving] and page.total == 2


@pytest.mark.parametrize(
    ("native", "words"),
    [
        ("status = Nope", "The value 'Nope' does not exist for the field 'status'."),
        ("priority ==", "Error in the JQL Query"),
        ("colour = red", "Field 'colour' does not exist"),
        ("status = Done ORDER BY created", "Expecting ')'"),
    ],
)
def test_a_filter_jira_refuses_is_a_one_line_config_error(
    make_adapter: MakeAdapter, native: str, words: str
) -> None:
    adapter = make_adapter()
    with pytest.raises(ConfigError) as caught:
        adapter.backlog(BacklogQuery(native=native), None)
    message = str(caught.value)
    assert "\n" not in message and len(caught.value.problems) == 1
    assert message.startswith("jira: Jira refused the backlog filter")
    assert repr(native) in message and words in message and "(400)" in message


def test_a_cursor_from_elsewhere_is_a_config_error(make_adapter: MakeAdapter) -> None:
    with pytest.raises(ConfigError, match="backlog cursor"):
        make_adapter().backlog(BacklogQuery(), "not-a-cursor")
