"""The ClickUp backlog: oldest first over Get Filtered Team Tasks, a cursor that new tasks cannot shift."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests

from tests.adapters.clickup.conftest import MakeAdapter, config_for
from tests.adapters.clickup.test_client import START, FakeTime
from tests.specs import SpecCheck
from ticket_bridge.adapters.clickup.adapter import ClickUpAdapter
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.adapter import BacklogPage, BacklogQuery, Draft, NativeTicket
from ticket_bridge.bridge.errors import ConfigError, Permanent
from ticket_bridge.bridge.mapping import load_mapping
from ticket_bridge.bridge.model import Field


def everything(
    adapter: ClickUpAdapter, query: BacklogQuery, cursor: str | None = None
) -> tuple[list[NativeTicket], list[BacklogPage]]:
    tickets: list[NativeTicket] = []
    pages: list[BacklogPage] = []
    for _ in range(1000):
        page = adapter.backlog(query, cursor)
        pages.append(page)
        tickets.extend(page.tickets)
        if page.cursor is None:
            return tickets, pages
        cursor = page.cursor
    raise AssertionError("the backlog never ended")


def test_pages_stay_put_while_tasks_are_created(fake: FakeClickUp, adapter: ClickUpAdapter) -> None:
    """Newest-first page numbers would shift under the new task and repeat one: these do not."""
    fake.page_size = 3
    ids = [fake.open_task(f"old {n}") for n in range(7)]
    first = adapter.backlog(BacklogQuery(), None)
    assert [t.id for t in first.tickets] == ids[:3]
    assert first.total is None and first.cursor is not None
    ids.append(fake.open_task("created meanwhile"))
    fake.edit_task(ids[1], name="edited meanwhile")  # an update does not move it
    rest, pages = everything(adapter, BacklogQuery(), first.cursor)
    seen = [t.id for t in (*first.tickets, *rest)]
    assert seen == ids
    assert all(len(p.tickets) <= 3 for p in pages)


def test_a_cursor_resumes_in_another_process(fake: FakeClickUp, make_adapter: MakeAdapter) -> None:
    fake.page_size = 2
    ids = [fake.open_task(f"t{n}") for n in range(5)]
    first = make_adapter().backlog(BacklogQuery(), None)
    rest, _ = everything(make_adapter(), BacklogQuery(), first.cursor)
    assert [t.id for t in (*first.tickets, *rest)] == ids


def test_tasks_sharing_a_created_stamp_are_neither_lost_nor_repeated(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    """A page boundary inside a group of equal stamps, and a group larger than a page."""
    fake.page_size = 3
    before = fake.open_task("before")
    imported = fake.import_tasks([f"imported {n}" for n in range(8)])
    after = fake.open_task("after")
    tickets, _ = everything(adapter, BacklogQuery())
    seen = [t.id for t in tickets]
    assert seen[0] == before and seen[-1] == after
    assert sorted(seen[1:-1]) == sorted(imported)
    assert len(seen) == len(set(seen)) == 10


def test_the_listing_reads_as_read_does_without_a_request_per_task(
    fake: FakeClickUp, make_adapter: MakeAdapter
) -> None:
    """Custom field or tag, markdown, priority, due date: the page holds what read needs."""
    lee = fake.add_member("Lee Delivery", "lee@delivery.example.com", "Asia/Tokyo")
    for adapter in (make_adapter(), make_adapter(correlation_field_id=None)):
        key = f"zendesk:{adapter.config.correlation_field_id or 'tag'}"
        task = adapter.create(Draft(fields={Field.TITLE: "From elsewhere"}, correlation_key=key)).id
        fake.set_due_date(task, dt.date(2026, 7, 1), by=lee)
        fake.edit_task(task, description="**bold**", priority=2)
        fake.edit_task(task, status="resolved")
        fake.page_size = 100
        listed = adapter.backlog(BacklogQuery(), None)  # first call: statuses, List, members
        before = fake.requests
        again = adapter.backlog(BacklogQuery(), None)
        assert fake.requests - before == 2, "one List check and one page"
        [mine] = [t for t in again.tickets if t.id == task]
        assert mine == adapter.read(task)
        assert mine.correlation_key == key
        assert mine.fields[Field.DESCRIPTION] == "**bold**"
        assert listed.tickets == again.tickets


def test_closed_tasks_are_in_the_backlog(fake: FakeClickUp, make_adapter: MakeAdapter) -> None:
    other = fake.add_list("Ops", [("todo", "open"), ("closed", "closed")])
    task = fake.open_task("gone", list_id=other, status="closed")
    tickets, _ = everything(make_adapter(list_id=other), BacklogQuery())
    assert [t.id for t in tickets] == [task]


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def fake(time_: FakeTime) -> Iterator[FakeClickUp]:
    """Its clock is ours: tasks are created at the instants a test chooses."""
    tracker = FakeClickUp(clock=time_.clock)
    yield tracker
    tracker.stop()


def test_created_from_is_inclusive_and_created_until_exclusive(
    fake: FakeClickUp, adapter: ClickUpAdapter, time_: FakeTime, spec_check: SpecCheck
) -> None:
    hour = 3600.0
    ids = []
    for _ in range(3):
        ids.append(fake.open_task(f"at {time_.now}"))
        time_.now += hour
    start = dt.datetime.fromtimestamp(START, dt.UTC)
    h = dt.timedelta(hours=1)

    def window(query: BacklogQuery) -> list[str]:
        return [t.id for t in everything(adapter, query)[0]]

    assert window(BacklogQuery(created_from=start + h)) == ids[1:]
    assert window(BacklogQuery(created_until=start + h)) == ids[:1]
    assert window(BacklogQuery(created_from=start + h, created_until=start + 2 * h)) == [ids[1]]
    just_after = start + h + dt.timedelta(microseconds=1)
    assert window(BacklogQuery(created_from=just_after)) == ids[2:], "stamps are whole ms"
    assert window(BacklogQuery(created_from=start + 3 * h)) == []
    assert any("date_created_gt=" in c for c in spec_check.checked)
    assert any("date_created_lt=" in c for c in spec_check.checked)


def test_a_backfill_is_paced_by_the_rate_limit_headers(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck, time_: FakeTime
) -> None:
    """Three requests a minute: the adapter waits the window out instead of meeting a 429."""
    fake.rate_limit = 3
    fake.page_size = 2
    ids = [fake.open_task(f"t{n}") for n in range(9)]
    session = requests.Session()
    spec_check.attach(session)
    config = config_for(fake, served)
    adapter = ClickUpAdapter(
        "clickup",
        config,
        load_mapping(config.mapping),
        session=session,
        budget=RequestBudget(1000, 60.0, clock=time_.clock, sleep=time_.sleep),
        wall=time_.clock,
    )
    tickets, _ = everything(adapter, BacklogQuery())
    assert [t.id for t in tickets] == ids
    assert fake.rejected == 0
    assert time_.now - START >= 60 * ((fake.requests - 1) // 3)


def test_a_native_filter_is_one_or_more_list_ids(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    other = fake.add_list("Ops", [("todo", "open"), ("doing", "custom")])
    a = fake.open_task("support one")
    b = fake.open_task("ops one", list_id=other)
    c = fake.open_task("support two")
    only_ops, _ = everything(adapter, BacklogQuery(native=other))
    assert [t.id for t in only_ops] == [b]
    both, _ = everything(adapter, BacklogQuery(native=f"{fake.list_id}, {other}"))
    assert [t.id for t in both] == [a, b, c]
    default, _ = everything(adapter, BacklogQuery())
    assert [t.id for t in default] == [a, c]


@pytest.mark.parametrize("native", ["Customer support", "901001;901002", "", "901001,"])
def test_a_native_filter_that_is_no_list_id_is_a_config_error(
    adapter: ClickUpAdapter, native: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        adapter.backlog(BacklogQuery(native=native), None)
    [problem] = caught.value.problems
    assert problem.startswith("clickup: ") and repr(native) in problem and "\n" not in problem


def test_a_list_the_token_cannot_see_is_a_config_error(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    with pytest.raises(ConfigError, match=r"clickup: backlog List 999999 cannot be read.*404"):
        adapter.backlog(BacklogQuery(native=f"{fake.list_id},999999"), None)


def test_a_foreign_cursor_is_refused(adapter: ClickUpAdapter) -> None:
    with pytest.raises(Permanent, match="not written by this adapter"):
        adapter.backlog(BacklogQuery(), "page=2")
