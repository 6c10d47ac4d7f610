"""A Zendesk backlog: keyset pages over search, stable while tickets arrive, exact at its bounds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.adapters.zendesk.conftest import ZendeskHarness
from ticket_bridge.adapters.zendesk.adapter import ZendeskAdapter
from ticket_bridge.bridge.adapter import BacklogPage, BacklogQuery
from ticket_bridge.bridge.errors import ConfigError
from ticket_bridge.bridge.mapping import load_mapping
from ticket_bridge.bridge.model import Field

NO_WEBHOOK = "http://127.0.0.1:9/not-subscribed"  # no deliveries: these tests open many tickets


@pytest.fixture
def small(zendesk: ZendeskHarness) -> Iterator[ZendeskHarness]:
    """Pages of three tickets, so a handful of tickets spans several pages."""
    harness = ZendeskHarness(
        zendesk.served, zendesk.fake, zendesk.clock, backlog_page_size=3, webhook_url=NO_WEBHOOK
    )
    yield harness
    harness.finish()


def pages(adapter: ZendeskAdapter, query: BacklogQuery) -> Iterator[BacklogPage]:
    cursor: str | None = None
    for _ in range(1000):
        page = adapter.backlog(query, cursor)
        yield page
        if page.cursor is None:
            return
        cursor = page.cursor
    raise AssertionError("the backlog never ended")


def ids(adapter: ZendeskAdapter, query: BacklogQuery) -> list[str]:
    return [t.id for page in pages(adapter, query) for t in page.tickets]


def opened(harness: ZendeskHarness, count: int) -> list[str]:
    """Tickets a minute apart, oldest first."""
    return [harness.open_ticket(f"Ticket {n}") for n in range(count)]


def _open(harness: ZendeskHarness, n: int, values: dict[str, Any]) -> str:
    ticket_id = harness.fake.open_ticket(f"Ticket {n}", **values)
    harness.clock.advance(61)
    return str(ticket_id)


def test_pages_hold_every_ticket_once_oldest_first(small: ZendeskHarness) -> None:
    made = opened(small, 8)
    seen = [page for page in pages(small.adapter, BacklogQuery())]
    assert len(seen) > 2
    assert [t.id for page in seen for t in page.tickets] == made
    assert {page.total for page in seen} == {8}
    first = seen[0].tickets[0]
    assert first == small.adapter.read(made[0]), "a backlog ticket reads as read() does"


def test_a_ticket_created_between_pages_comes_once_at_the_end(small: ZendeskHarness) -> None:
    made = opened(small, 5)
    first = small.adapter.backlog(BacklogQuery(), None)
    assert first.cursor is not None
    late = small.open_ticket("Created during the backfill")
    rest = _from(small.adapter, first.cursor)
    together = [t.id for t in first.tickets] + rest
    assert together == [*made, late]


def _from(adapter: ZendeskAdapter, cursor: str, query: BacklogQuery | None = None) -> list[str]:
    found: list[str] = []
    next_cursor: str | None = cursor
    while next_cursor is not None:
        page = adapter.backlog(query or BacklogQuery(), next_cursor)
        found.extend(t.id for t in page.tickets)
        next_cursor = page.cursor
    return found


def test_a_cursor_resumes_hours_later_in_another_process(small: ZendeskHarness) -> None:
    """The cursor is a created_at bound, not Zendesk's export cursor: it outlives the hour."""
    made = opened(small, 4)
    first = small.adapter.backlog(BacklogQuery(), None)
    assert first.cursor is not None
    small.clock.advance(3 * 3600)
    later = opened(small, 2)
    fresh = ZendeskHarness(
        small.served, small.fake, small.clock, backlog_page_size=3, webhook_url=NO_WEBHOOK
    )
    rest = _from(fresh.adapter, first.cursor)
    assert [t.id for t in first.tickets] + rest == [*made, *later]
    fresh.finish()


def test_tickets_sharing_a_second_are_read_whole_through_the_export(
    small: ZendeskHarness,
) -> None:
    """An import stamps many tickets with one second: more than a page, none lost or doubled."""
    before = small.open_ticket("Before the import")
    small.clock.advance(0.5)
    imported = [str(small.fake.open_ticket(f"Imported {n}")) for n in range(7)]
    small.clock.advance(61)
    after = small.open_ticket("After the import")
    assert len({small.fake.tickets[int(i)]["created_at"] for i in imported}) == 1
    assert ids(small.adapter, BacklogQuery()) == [before, *imported, after]
    assert any("/api/v2/search/export" in checked for checked in small.check.checked)


def test_a_second_shared_by_many_tickets_is_handed_out_a_page_at_a_time(
    small: ZendeskHarness,
) -> None:
    """Memory stays at a page however big an import was, and a cursor taken inside the second
    resumes in another process: every ticket once."""
    imported = [str(small.fake.open_ticket(f"Imported {n}")) for n in range(8)]
    small.clock.advance(61)
    after = small.open_ticket("After the import")
    first = small.adapter.backlog(BacklogQuery(), None)
    assert len(first.tickets) <= 3 and first.cursor is not None
    fresh = ZendeskHarness(
        small.served, small.fake, small.clock, backlog_page_size=3, webhook_url=NO_WEBHOOK
    )
    sizes = [len(first.tickets)]
    handed = [t.id for t in first.tickets]
    cursor: str | None = first.cursor
    while cursor is not None:
        page = fresh.adapter.backlog(BacklogQuery(), cursor)
        sizes.append(len(page.tickets))
        handed += [t.id for t in page.tickets]
        cursor = page.cursor
    assert max(sizes) <= 3
    assert handed == [*imported, after]
    fresh.finish()


def test_an_export_cursor_that_expired_mid_second_starts_that_second_again(
    small: ZendeskHarness,
) -> None:
    imported = [str(small.fake.open_ticket(f"Imported {n}")) for n in range(8)]
    answers: list[int] = []

    def an_hour_passes(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "/search/export" in (response.request.url or ""):
            answers.append(response.status_code)
            if len(answers) == 1:
                small.clock.advance(3700)

    small.session.hooks["response"].insert(0, an_hour_passes)
    assert ids(small.adapter, BacklogQuery()) == imported
    # (an hour also outlives the OAuth access token: a 401, a new grant, the same request again)
    answered = [status for status in answers if status != 401]
    assert answered[:2] == [200, 400], "Zendesk refuses an export cursor older than an hour"


def test_bounds_are_half_open_at_zendesks_whole_seconds(small: ZendeskHarness) -> None:
    made = opened(small, 3)
    stamps = [dt.datetime.fromisoformat(small.fake.tickets[int(i)]["created_at"]) for i in made]
    second = stamps[1]
    assert ids(small.adapter, BacklogQuery(created_from=second, created_until=stamps[2])) == [
        made[1]
    ]
    half = dt.timedelta(milliseconds=500)
    assert ids(small.adapter, BacklogQuery(created_from=second - half)) == made[1:]
    assert ids(small.adapter, BacklogQuery(created_from=second + half)) == made[2:]
    assert ids(small.adapter, BacklogQuery(created_until=second + half)) == made[:2]
    assert ids(small.adapter, BacklogQuery(created_until=second)) == made[:1]


def test_a_native_filter_is_anded_in(small: ZendeskHarness) -> None:
    tier2 = small.fake.add_group("Tier 2")
    wanted = [
        _open(small, 0, {"group_id": tier2, "tags": ["vip"]}),
        _open(small, 1, {"group_id": tier2, "tags": ["vip"], "status": "pending"}),
    ]
    _open(small, 2, {"group_id": tier2, "tags": ["vip"], "status": "solved"})
    _open(small, 3, {"tags": ["vip"]})
    _open(small, 4, {"group_id": tier2})
    wanted.append(_open(small, 5, {"group_id": tier2, "tags": ["vip", "eu"]}))
    query = BacklogQuery(native='group:"Tier 2"  tags:vip status<solved')
    seen = list(pages(small.adapter, query))
    assert [t.id for page in seen for t in page.tickets] == wanted
    assert seen[0].total == 3
    assert seen[0].tickets[0].fields[Field.TITLE] == "Ticket 0"


@pytest.mark.parametrize(
    ("native", "words"),
    [
        ("created>yesterday", "created>yesterday"),
        ('group:"Tier 2', "unbalanced quote"),
        ("colour:blue", "unsupported keyword"),
    ],
)
def test_a_query_zendesk_refuses_is_one_line_of_config_error(
    small: ZendeskHarness, native: str, words: str
) -> None:
    small.open_ticket("Any")
    with pytest.raises(ConfigError) as raised:
        small.adapter.backlog(BacklogQuery(native=native), None)
    message = str(raised.value)
    assert message.startswith("zendesk: Zendesk refused the backlog search")
    assert native in message and words in message
    assert "\n" not in message and "token" not in message.lower()
    assert "400" in message


@pytest.mark.parametrize("native", ["type:user", "order_by:updated_at", "-sort:asc tags:x"])
def test_terms_that_would_change_type_or_order_are_refused_up_front(
    small: ZendeskHarness, native: str
) -> None:
    with pytest.raises(ConfigError, match=r"sets the type .* and the order"):
        small.adapter.backlog(BacklogQuery(native=native), None)
    assert not small.check.checked


def test_a_cursor_of_another_query_is_refused(small: ZendeskHarness) -> None:
    opened(small, 4)
    first = small.adapter.backlog(BacklogQuery(native="tags:vip"), None)
    assert first.cursor is None
    page = small.adapter.backlog(BacklogQuery(), None)
    assert page.cursor is not None
    with pytest.raises(ConfigError, match="not one this query returned"):
        small.adapter.backlog(BacklogQuery(native="tags:vip"), page.cursor)
    with pytest.raises(ConfigError, match="not one this query returned"):
        small.adapter.backlog(BacklogQuery(), "garbage")


def test_more_than_the_search_caps_1000_results(zendesk: ZendeskHarness) -> None:
    """Offset paging stops at 1,000 results; the keyset pages never go past page 1."""
    harness = ZendeskHarness(zendesk.served, zendesk.fake, zendesk.clock, webhook_url=NO_WEBHOOK)
    made = []
    for n in range(1030):
        made.append(str(harness.fake.open_ticket(f"Old {n}")))
        if n % 3 == 0:
            harness.clock.advance(1)
    assert ids(harness.adapter, BacklogQuery()) == made
    searched = [c for c in harness.check.checked if c.startswith("GET /api/v2/search?")]
    assert searched and all("&page=" not in c for c in searched)
    harness.finish()


def test_a_backfill_keeps_to_the_request_budget(small: ZendeskHarness) -> None:
    made = opened(small, 9)
    adapter = ZendeskAdapter(
        "zendesk",
        small.config,
        load_mapping(small.config.mapping),
        session=small.session,
        clock=small.clock,
        budget=small.budget(4),
    )
    assert ids(adapter, BacklogQuery()) == made
    assert small.sleeps, "a small budget makes the backfill wait rather than meet a 429"
