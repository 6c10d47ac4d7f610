"""The fake keeps ClickUp's semantics where the adapter depends on them."""

from __future__ import annotations

import json

import requests

from tests.adapters.clickup.conftest import config_for
from tests.specs import SpecCheck
from ticket_bridge.adapters.clickup.client import ClickUpClient
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.serving import Served


def client(fake: FakeClickUp, served: Served, check: SpecCheck) -> ClickUpClient:
    session = requests.Session()
    check.attach(session)
    return ClickUpClient("clickup", config_for(fake, served), session=session)


def test_closed_tasks_are_listed_only_when_asked(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    other = fake.add_list("Ops", [("todo", "open"), ("closed", "closed")])
    task = fake.open_task("gone", list_id=other, status="Closed")
    c = client(fake, served, spec_check)
    assert [t.id for t in c.team_tasks(fake.team_id, {}).tasks] == []
    listed = c.team_tasks(fake.team_id, {"include_closed": "true"}).tasks
    assert [t.id for t in listed] == [task]
    assert listed[0].status.status == "closed"


def test_priority_is_written_as_a_number_and_read_as_a_name(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    c = client(fake, served, spec_check)
    task = fake.open_task("x")
    c.update_task(task, {"priority": 2, "status": "IN PROGRESS"})
    read = c.task(task)
    assert read.priority is not None and read.priority.priority == "high"
    assert read.status.status == "in progress"


def test_tags_have_their_own_endpoints_and_move_date_updated(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    c = client(fake, served, spec_check)
    task = fake.open_task("x")
    before = c.task(task).date_updated
    c.add_tag(task, "vip customer")
    tagged = c.task(task)
    assert [t.name for t in tagged.tags] == ["vip customer"]
    assert int(tagged.date_updated) > int(before)
    c.remove_tag(task, "vip customer")
    assert c.task(task).tags == ()


def test_comments_come_newest_first_25_a_page(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    c = client(fake, served, spec_check)
    task = fake.open_task("x")
    ids = [fake.comment(task, f"c{i}") for i in range(30)]
    first = c.comments(task).comments
    assert [x.id for x in first] == ids[::-1][:25]
    rest = c.comments(task, start=first[-1].date, start_id=first[-1].id).comments
    assert [x.id for x in rest] == ids[::-1][25:]


def test_describe_tells_an_admin_how_to_connect() -> None:
    fake = FakeClickUp()
    described = fake.describe("http://127.0.0.1:8123")
    assert described["base_url"] == "http://127.0.0.1:8123/api"
    assert described["token"].startswith("pk_")
    assert {"team_id", "list_id", "webhook_secret", "correlation_field_id"} <= set(described)


def test_team_tasks_are_newest_first_unless_reversed_100_a_page(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    c = client(fake, served, spec_check)
    ids = [fake.open_task(f"t{i}") for i in range(150)]
    newest = c.team_tasks(fake.team_id, {"order_by": "created"})
    assert [t.id for t in newest.tasks] == ids[::-1][:100] and not newest.last_page
    oldest = c.team_tasks(fake.team_id, {"order_by": "created", "reverse": "true", "page": "1"})
    assert [t.id for t in oldest.tasks] == ids[100:] and oldest.last_page


def test_created_stamps_filter_strictly(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    c = client(fake, served, spec_check)
    ids = [fake.open_task(f"t{i}") for i in range(3)]
    stamps = [int(fake.task_json(i)["date_created"]) for i in ids]
    params = {"date_created_gt": str(stamps[0]), "date_created_lt": str(stamps[2])}
    assert [t.id for t in c.team_tasks(fake.team_id, params).tasks] == [ids[1]]


def test_lists_show_their_custom_fields(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    c = client(fake, served, spec_check)
    number = fake.add_custom_field(fake.list_id, "Seats", type="number")
    fields = {f.id: f for f in c.list_fields(fake.list_id).fields}
    assert fields[fake.correlation_field_id].type == "short_text"
    assert fields[number].name == "Seats" and fields[number].type == "number"


def test_the_authorized_user_is_the_tokens_member(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    assert client(fake, served, spec_check).authorized_user().user.id == fake.bot
    session = requests.Session()
    spec_check.attach(session)
    config = config_for(fake, served, token=fake.personal_token(fake.person))
    person = ClickUpClient("clickup", config, session=session)
    assert person.authorized_user().user.id == fake.person


def test_people_act_as_a_human_member_and_the_api_as_the_tokens(
    fake: FakeClickUp, served: Served, spec_check: SpecCheck
) -> None:
    c = client(fake, served, spec_check)
    task = fake.open_task("x")
    assert fake.task_json(task)["creator"]["id"] == fake.person != fake.bot
    c.update_task(task, {"priority": 2})
    [item] = json.loads(fake.delivery(task)[1])["history_items"]
    assert item["user"]["id"] == fake.bot and item["field"] == "priority"
    fake.comment(task, "by hand")
    body = json.loads(fake.delivery(task)[1])
    assert body["event"] == "taskCommentPosted"
    assert body["history_items"][0]["user"]["id"] == fake.person
