"""The ClickUp adapter passes the shared contract against the fake, and ClickUp's own specifics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter

from tests.adapters.clickup.conftest import Bridge, MakeAdapter, config_for
from tests.adapters.contract import AdapterContract, a_comment
from ticket_bridge.adapters.clickup.adapter import ClickUpAdapter
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.adapter import Draft, Mirror
from ticket_bridge.bridge.errors import Conflict, ParkLink, Transient
from ticket_bridge.bridge.mapping import load_mapping
from ticket_bridge.bridge.model import Due, Field, Priority, Status, Visibility


class ClickUpHarness:
    def __init__(self, fake: FakeClickUp, adapter: ClickUpAdapter) -> None:
        self.fake = fake
        self.adapter = adapter

    def open_ticket(self, title: str) -> str:
        return self.fake.open_task(title)

    def edit_title(self, ticket_id: str, title: str) -> None:
        self.fake.edit_task(ticket_id, name=title)

    def delivery(self, ticket_id: str) -> tuple[dict[str, str], bytes]:
        return self.fake.delivery(ticket_id)

    def throttle(self) -> None:
        self.fake.exhaust_rate_limit()

    @property
    def assignee(self) -> str:
        return "lee@delivery.example.com"


class TestClickUpContract(AdapterContract):
    @pytest.fixture(params=["custom-field-key", "tag-key"])
    def harness(
        self,
        request: pytest.FixtureRequest,
        fake: FakeClickUp,
        make_adapter: MakeAdapter,
        bridge: Bridge,
    ) -> ClickUpHarness:
        """Set up as the README says: the seed List, its key field, a webhook to the bridge."""
        fake.add_member("Lee Delivery", "lee@delivery.example.com", "Europe/Berlin")
        fake.subscribe(bridge.url)
        if request.param == "tag-key":
            adapter = make_adapter(correlation_field_id=None, webhook_url=bridge.url)
            return ClickUpHarness(fake, adapter)
        return ClickUpHarness(fake, make_adapter(webhook_url=bridge.url))


def test_seed000_statuses_map_by_name_whatever_the_case(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    t = adapter.translation
    task = fake.open_task("x", status="needs clarification")
    native = adapter.read(task).fields[Field.STATUS]
    assert native == "needs clarification"
    assert t.to_canonical(Field.STATUS, native, None) is Status.NEEDS_INFO
    assert t.to_native(Field.STATUS, Status.PLANNED, native) == "planned"
    assert t.to_native(Field.STATUS, Status.NEEDS_INFO, native) == native


def test_a_list_with_other_statuses_falls_back_on_status_type(
    fake: FakeClickUp, make_adapter: MakeAdapter
) -> None:
    other = fake.add_list(
        "Delivery",
        [
            ("backlog", "open"),
            ("doing", "custom"),
            ("review", "custom"),
            ("shipped", "done"),
            ("archived", "closed"),
        ],
    )
    adapter = make_adapter(list_id=other)
    t = adapter.translation
    task = fake.open_task("Deploy fix", list_id=other, status="review")
    native = adapter.read(task).fields[Field.STATUS]
    assert t.to_canonical(Field.STATUS, native, None) is Status.IN_PROGRESS
    assert t.to_canonical(Field.STATUS, native, Status.PLANNED) is Status.PLANNED
    assert t.to_canonical(Field.STATUS, "archived", Status.PLANNED) is Status.CLOSED
    assert t.to_native(Field.STATUS, Status.NEW, native) == "backlog"
    assert t.to_native(Field.STATUS, Status.ACKNOWLEDGED, native) == "review"
    after = adapter.update(task, {Field.STATUS: t.to_native(Field.STATUS, Status.RESOLVED, native)})
    assert after.fields[Field.STATUS] == "shipped"
    assert t.to_canonical(Field.STATUS, "shipped", None) is Status.RESOLVED
    closed = adapter.update(task, {Field.STATUS: t.to_native(Field.STATUS, Status.CLOSED, None)})
    assert closed.fields[Field.STATUS] == "archived"
    assert task in adapter.changes(None).ids, "closed tasks stay in the change feed"


def test_a_list_without_a_status_of_the_needed_type_parks_the_link(
    fake: FakeClickUp, make_adapter: MakeAdapter
) -> None:
    other = fake.add_list("Tiny", [("todo", "open"), ("done", "done")])
    adapter = make_adapter(list_id=other)
    with pytest.raises(ParkLink, match="none of type 'custom'"):
        adapter.translation.to_native(Field.STATUS, Status.IN_PROGRESS, None)


def test_fields_round_trip_through_clickup(fake: FakeClickUp, adapter: ClickUpAdapter) -> None:
    sam = fake.add_member("Sam Agent", "sam@support.example.com", "Europe/Berlin")
    del sam
    t = adapter.translation
    task = fake.open_task("Slow export", priority=3)
    assert adapter.read(task).fields[Field.PRIORITY] == "normal"
    due = Due.on(dt.date(2026, 12, 1))
    patch = {
        Field.TITLE: "Very slow export",
        Field.DESCRIPTION: "It takes **ten** minutes.",
        Field.PRIORITY: t.to_native(Field.PRIORITY, Priority.P1, "normal"),
        Field.DUE: t.to_native(Field.DUE, due, None),
        Field.ASSIGNEE: "SAM@support.example.com",
    }
    after = adapter.update(task, patch)
    assert after.fields[Field.TITLE] == "Very slow export"
    assert after.fields[Field.DESCRIPTION] == "It takes **ten** minutes."
    assert after.fields[Field.PRIORITY] == "urgent"
    assert t.to_canonical(Field.DUE, after.fields[Field.DUE], None) == due
    assert t.to_native(Field.DUE, due, after.fields[Field.DUE]) == after.fields[Field.DUE]
    assert after.fields[Field.ASSIGNEE] == "sam@support.example.com"
    cleared = adapter.update(
        task, {Field.PRIORITY: None, Field.DUE: None, Field.ASSIGNEE: None, Field.DESCRIPTION: ""}
    )
    assert cleared.fields[Field.PRIORITY] is None
    assert cleared.fields[Field.DUE] is None
    assert cleared.fields[Field.ASSIGNEE] is None
    assert cleared.fields[Field.DESCRIPTION] == ""
    assert fake.task_json(task)["assignees"] == []


def test_an_unknown_assignee_parks_the_link(fake: FakeClickUp, adapter: ClickUpAdapter) -> None:
    task = fake.open_task("x")
    with pytest.raises(ParkLink, match=r"nobody@example\.com"):
        adapter.update(task, {Field.ASSIGNEE: "nobody@example.com"})


def test_a_date_set_by_a_member_far_east_reads_as_their_date(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    """04:00 in Tokyo is the previous evening in Berlin: the member's zone decides the date."""
    kim = fake.add_member("Kim Engineer", "kim@eng.example.com", "Asia/Tokyo")
    task = fake.open_task("x", by=kim)
    fake.set_due_date(task, dt.date(2026, 7, 1), by=kim)
    native = adapter.read(task).fields[Field.DUE]
    t = adapter.translation
    assert t.to_canonical(Field.DUE, native, None) == Due.on(dt.date(2026, 7, 1))
    assert t.to_native(Field.DUE, Due.on(dt.date(2026, 7, 1)), native) == native


def test_update_refuses_a_task_changed_since_it_was_seen(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    task = fake.open_task("x")
    seen = adapter.read(task)
    fake.edit_task(task, name="changed meanwhile")
    with pytest.raises(Conflict):
        adapter.update(task, {Field.TITLE: "mine"}, seen=seen)


@pytest.mark.parametrize(("markdown", "requests"), [(True, 2), (False, 3)])
def test_the_puts_answer_is_the_read_after_it_when_it_holds_the_markdown(
    fake: FakeClickUp, adapter: ClickUpAdapter, markdown: bool, requests: int
) -> None:
    """Without ``markdown_description`` the answer's plain description would read as an edit."""
    fake.put_answers_markdown = markdown
    task = fake.open_task("x", description="**bold** words")
    seen = adapter.read(task)
    before = fake.requests
    after = adapter.update(task, {Field.TITLE: "mine"}, seen=seen)
    assert fake.requests - before == requests
    assert after == adapter.read(task)
    assert after.fields[Field.DESCRIPTION] == "**bold** words"


def test_comments_page_past_25_oldest_first_with_internal_prefix(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    task = fake.open_task("chatty")
    written = [fake.comment(task, f"note {i}") for i in range(60)]
    fake.comment(task, "[internal] agents only")
    listed = adapter.comments(task)
    assert [c.id for c in listed[:60]] == written
    assert listed[-1].body == "agents only" and listed[-1].visibility is Visibility.INTERNAL
    assert all(c.visibility is Visibility.PUBLIC for c in listed[:60])


def test_an_internal_mirror_is_marked_and_edits_keep_the_marker(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    task = fake.open_task("x")
    comment = a_comment("zendesk:c1", Visibility.INTERNAL)
    posted = adapter.add_comment(task, Mirror(comment=comment, visibility=Visibility.INTERNAL))
    [stored] = fake.stored_comments(task)
    assert stored.startswith("[internal] ") and "ticket-bridge:mirror zendesk:c1" in stored
    edited = comment.model_copy(update={"body": "Now it works."})
    again = adapter.update_comment(
        task, posted.id, Mirror(comment=edited, visibility=Visibility.INTERNAL)
    )
    assert again.mirror_of == "zendesk:c1" and "Now it works." in again.body
    assert again.visibility is Visibility.INTERNAL


def test_the_change_feed_pages_past_100_and_dedupes(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    tasks = [fake.open_task(f"t{i}") for i in range(130)]
    first = adapter.changes(None)
    assert sorted(first.ids) == sorted(tasks) and len(first.ids) == len(set(first.ids))
    fake.edit_task(tasks[5], status="pending")
    later = adapter.changes(first.cursor)
    assert tasks[5] in later.ids
    assert int(later.cursor) >= int(first.cursor)


def test_a_retried_create_finds_the_first_task(fake: FakeClickUp, adapter: ClickUpAdapter) -> None:
    draft = Draft(fields={Field.TITLE: "From Zendesk"}, correlation_key="zendesk:42")
    first = adapter.create(draft)
    assert adapter.create(draft).id == first.id
    assert fake.task_json(first.id)["custom_fields"][0]["value"] == "zendesk:42"
    assert adapter.find("zendesk:43") is None


def test_identify_asks_clickup_once(fake: FakeClickUp, adapter: ClickUpAdapter) -> None:
    before = fake.requests
    assert adapter.identify() == str(fake.bot)
    assert adapter.identify() == str(fake.bot)
    assert fake.requests == before + 1


class Down(HTTPAdapter):
    """ClickUp unreachable for the first ``times`` requests."""

    def __init__(self, times: int) -> None:
        super().__init__(max_retries=0)
        self.times = times

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        if self.times:
            self.times -= 1
            raise requests.ConnectionError("connection refused")
        return super().send(request, *args, **kwargs)


def test_identify_is_asked_again_after_a_failure(fake: FakeClickUp, served: Served) -> None:
    config = config_for(fake, served)
    session = requests.Session()
    session.mount(served.url, Down(times=1))
    adapter = ClickUpAdapter("clickup", config, load_mapping(config.mapping), session=session)
    with pytest.raises(Transient):
        adapter.identify()
    assert adapter.identify() == str(fake.bot)


def test_before_identify_even_the_bridges_own_write_is_read(
    fake: FakeClickUp, adapter: ClickUpAdapter
) -> None:
    task = fake.open_task("x")
    adapter.update(task, {Field.TITLE: "ours"})
    [hint] = adapter.parse_webhook(*fake.delivery(task))
    assert not hint.echo
    adapter.identify()
    [hint] = adapter.parse_webhook(*fake.delivery(task))
    assert hint.echo


def test_a_persons_write_through_the_api_is_no_echo(
    fake: FakeClickUp, make_adapter: MakeAdapter
) -> None:
    """Echoes are known by the token's user, not by the writes going through the API."""
    ours = make_adapter()
    ours.identify()
    theirs = make_adapter(token=fake.personal_token(fake.person))
    task = fake.open_task("x")
    theirs.update(task, {Field.TITLE: "theirs"})
    [hint] = ours.parse_webhook(*fake.delivery(task))
    assert not hint.echo


def test_what_clickup_posts_after_the_bridges_write_is_an_echo(
    fake: FakeClickUp, adapter: ClickUpAdapter, bridge: Bridge
) -> None:
    adapter.identify()
    task = fake.open_task("x")
    fake.subscribe(bridge.url)
    adapter.update(task, {Field.PRIORITY: "urgent"})
    assert bridge.arrived.wait(10)
    [hint] = adapter.parse_webhook(*bridge.got[0])
    assert hint.ticket_id == task and hint.echo
