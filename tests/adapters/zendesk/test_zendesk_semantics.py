"""What a Zendesk admin relies on: follow-ups, tags, safe_update, limits, due dates, OAuth refresh."""

from __future__ import annotations

import pytest

from tests.adapters.contract import a_comment
from tests.adapters.zendesk.conftest import ZendeskHarness
from ticket_bridge.adapters.zendesk.config import ZendeskConfig, check
from ticket_bridge.bridge.adapter import Draft, Mirror
from ticket_bridge.bridge.errors import Conflict, ParkLink, RateLimited
from ticket_bridge.bridge.model import Field, Visibility


def test_a_reopen_of_a_closed_ticket_becomes_one_follow_up(zendesk: ZendeskHarness) -> None:
    fake = zendesk.fake
    created = zendesk.adapter.create(
        Draft(fields={Field.TITLE: "Export fails"}, correlation_key="jira:ENG-1")
    )
    fake.edit(int(created.id), tags=["vip", "ticket_bridge"], status="solved")
    fake.close(int(created.id))
    closed = zendesk.adapter.read(created.id)
    assert closed.fields[Field.STATUS] == "closed"

    after = zendesk.adapter.update(created.id, {Field.STATUS: "open"}, seen=closed)

    assert after.id != created.id
    assert after.fields[Field.STATUS] == "open"
    assert after.correlation_key == "jira:ENG-1"
    followup = fake.tickets[int(after.id)]
    assert followup["via"]["source"] == {
        "from": {"ticket_id": int(created.id)},
        "to": {},
        "rel": "follow_up",
    }
    assert fake.tickets[int(created.id)]["followup_ids"] == [int(after.id)]
    assert set(followup["tags"]) == {"vip", "ticket_bridge"}
    found = zendesk.adapter.find("jira:ENG-1")
    assert found is not None and found.id == after.id
    again = zendesk.adapter.update(created.id, {Field.PRIORITY: "high"})
    assert again.id == after.id, "a retried change must not make a second follow-up"
    assert fake.tickets[int(created.id)]["followup_ids"] == [int(after.id)]


def test_a_comment_for_a_closed_ticket_lands_in_its_follow_up(zendesk: ZendeskHarness) -> None:
    ticket_id = zendesk.open_ticket("Old")
    zendesk.fake.close(int(ticket_id))
    comment = a_comment("jira:c-9", Visibility.INTERNAL)
    posted = zendesk.adapter.add_comment(
        ticket_id, Mirror(comment=comment, visibility=Visibility.INTERNAL)
    )
    assert posted.ticket_id is not None and posted.ticket_id != ticket_id
    [first] = zendesk.adapter.comments(posted.ticket_id)
    assert first.id == posted.id and first.mirror_of == "jira:c-9"
    assert first.visibility is Visibility.INTERNAL


def test_tags_owned_by_others_survive_every_update(zendesk: ZendeskHarness) -> None:
    fake = zendesk.fake
    created = zendesk.adapter.create(
        Draft(fields={Field.TITLE: "Tags"}, correlation_key="clickup:abc")
    )
    assert fake.tickets[int(created.id)]["tags"] == ["ticket_bridge"]
    fake.edit(int(created.id), tags=["ticket_bridge", "vip", "billing"])
    zendesk.adapter.update(created.id, {Field.TITLE: "Tags!", Field.PRIORITY: "urgent"})
    zendesk.adapter.add_comment(
        created.id,
        Mirror(comment=a_comment("x:1", Visibility.PUBLIC), visibility=Visibility.PUBLIC),
    )
    assert fake.tickets[int(created.id)]["tags"] == ["billing", "ticket_bridge", "vip"]
    assert all("tags" not in r for r in fake.requests if r.startswith("PUT"))


def test_a_stale_updated_stamp_is_a_conflict(zendesk: ZendeskHarness) -> None:
    ticket_id = zendesk.open_ticket("Race")
    seen = zendesk.adapter.read(ticket_id)
    zendesk.fake.edit(int(ticket_id), priority="low")
    zendesk.clock.advance(5)
    with pytest.raises(Conflict, match="priority changed since"):
        zendesk.adapter.update(ticket_id, {Field.PRIORITY: "urgent"}, seen=seen)
    assert zendesk.fake.tickets[int(ticket_id)]["priority"] == "low"
    fresh = zendesk.adapter.read(ticket_id)
    after = zendesk.adapter.update(ticket_id, {Field.PRIORITY: "urgent"}, seen=fresh)
    assert after.fields[Field.PRIORITY] == "urgent"


def test_a_stamp_moved_only_by_a_comment_is_written_with_the_new_stamp(
    zendesk: ZendeskHarness,
) -> None:
    """Zendesk's guard is the stamp, which a comment moves too: the bridge writes against the
    ticket as it last knew it, so a 409 from a ticket holding what it knew is written again,
    guarded by the stamp found; nothing anyone set is overwritten."""
    ticket_id = zendesk.open_ticket("Chatty")
    seen = zendesk.adapter.read(ticket_id)
    zendesk.clock.advance(5)
    zendesk.fake.comment(int(ticket_id), "Any news?", public=True)
    assert zendesk.adapter.read(ticket_id).updated_at != seen.updated_at
    before = len(zendesk.fake.requests)
    after = zendesk.adapter.update(ticket_id, {Field.PRIORITY: "urgent"}, seen=seen)
    assert after.fields[Field.PRIORITY] == "urgent"
    assert zendesk.fake.requests[before:] == [
        f"PUT /api/v2/tickets/{ticket_id}",  # 409: the comment moved the stamp
        f"GET /api/v2/tickets/{ticket_id}",
        f"PUT /api/v2/tickets/{ticket_id}",
    ]


def test_comments_go_in_one_put_each_with_public_explicit(zendesk: ZendeskHarness) -> None:
    fake = zendesk.fake
    ticket_id = int(fake.open_ticket("Sticky", public=False))
    zendesk.adapter.add_comment(
        str(ticket_id),
        Mirror(comment=a_comment("a:1", Visibility.PUBLIC), visibility=Visibility.PUBLIC),
    )
    assert [c["public"] for c in fake.comments[ticket_id]] == [False, True]


def test_the_five_thousandth_comment_parks_the_link(zendesk: ZendeskHarness) -> None:
    zendesk.fake.max_comments = 2
    ticket_id = zendesk.open_ticket("Chatty")
    zendesk.fake.comment(int(ticket_id), "second", public=True)
    with pytest.raises(ParkLink, match="5,000 comments"):
        zendesk.adapter.add_comment(
            ticket_id,
            Mirror(comment=a_comment("a:1", Visibility.PUBLIC), visibility=Visibility.PUBLIC),
        )


def test_too_many_updates_of_one_ticket_is_rate_limited_not_a_wait(
    zendesk: ZendeskHarness,
) -> None:
    zendesk.fake.updates_per_ticket = 2
    ticket_id = zendesk.open_ticket("Busy")
    zendesk.adapter.update(ticket_id, {Field.PRIORITY: "low"})
    zendesk.adapter.update(ticket_id, {Field.PRIORITY: "high"})
    with pytest.raises(RateLimited) as caught:
        zendesk.adapter.update(ticket_id, {Field.PRIORITY: "urgent"})
    assert 0 < caught.value.retry_after <= 600
    assert zendesk.sleeps == [], "zenpy or the client must not sleep on a 429"
    other = zendesk.open_ticket("Quiet")
    zendesk.adapter.update(other, {Field.PRIORITY: "low"})
    assert zendesk.sleeps == [], "one ticket's limit left the account's budget alone"


def test_the_change_feed_keeps_to_ten_requests_a_minute(zendesk: ZendeskHarness) -> None:
    cursor = zendesk.adapter.changes(None).cursor
    for n in range(12):
        zendesk.open_ticket(f"t{n}")
        cursor = zendesk.adapter.changes(cursor).cursor
    assert len(zendesk.fake.tickets) == 12
    assert not any(r.endswith("429") for r in zendesk.check.checked)


def test_the_change_feed_leaves_out_the_last_minute(zendesk: ZendeskHarness) -> None:
    first = zendesk.adapter.changes(None)
    ticket_id = zendesk.fake.open_ticket("Just now")
    assert str(ticket_id) not in zendesk.adapter.changes(first.cursor).ids
    zendesk.clock.advance(61)
    assert str(ticket_id) in zendesk.adapter.changes(first.cursor).ids


def test_an_expired_oauth_token_is_refreshed_once(zendesk: ZendeskHarness) -> None:
    ticket_id = zendesk.open_ticket("Token")
    zendesk.adapter.read(ticket_id)
    assert zendesk.adapter.client.grants == 1
    zendesk.clock.advance(zendesk.fake.access_ttl + 1)
    zendesk.adapter.read(ticket_id)
    assert zendesk.adapter.client.grants == 2
    assert zendesk.fake.requests.count("POST /oauth/tokens") == 2


def test_due_dates_on_tasks_use_due_at_and_others_park_without_a_field(
    zendesk: ZendeskHarness,
) -> None:
    task = zendesk.fake.open_ticket("Task", type="task")
    after = zendesk.adapter.update(str(task), {Field.DUE: "2026-11-20T11:00:00Z"})
    assert after.fields[Field.DUE] == "2026-11-20T11:00:00Z"
    before = len(zendesk.fake.requests)  # the type is the one the bridge saw: no read for it
    again = zendesk.adapter.update(str(task), {Field.DUE: "2026-11-21T11:00:00Z"}, seen=after)
    assert zendesk.fake.requests[before:] == [f"PUT /api/v2/tickets/{task}"]
    assert again.fields[Field.DUE] == "2026-11-21T11:00:00Z"
    incident = zendesk.open_ticket("Incident")
    assert Field.DUE not in zendesk.adapter.read(incident).fields
    with pytest.raises(ParkLink, match="due_field_id"):
        zendesk.adapter.update(incident, {Field.DUE: "2026-11-20T11:00:00Z"})


def test_a_due_date_field_holds_the_date_of_other_tickets(zendesk: ZendeskHarness) -> None:
    harness = ZendeskHarness(zendesk.served, zendesk.fake, zendesk.clock, due_field_id=360001)
    incident = harness.open_ticket("Incident")
    after = harness.adapter.update(incident, {Field.DUE: "2026-11-20T11:00:00Z"})
    assert after.fields[Field.DUE] == "2026-11-20T11:00:00Z"
    assert harness.fake.tickets[int(incident)]["custom_fields"] == [
        {"id": 360001, "value": "2026-11-20"}
    ]
    harness.finish()


def test_check_says_plainly_when_due_dates_cannot_sync() -> None:
    config = ZendeskConfig(subdomain="acme", email="a@b.c", api_token="t", webhook_secret="s")
    [due, token] = check(config)
    assert due.startswith("due dates cannot sync")
    assert "2027-04-30" in token
    with_field = config.model_copy(update={"due_field_id": 1})
    assert not any("due dates" in note for note in check(with_field))


def test_assignees_map_by_email(zendesk: ZendeskHarness) -> None:
    zendesk.fake.add_user("sam@support.example.com", "Sam Agent")
    ticket_id = zendesk.open_ticket("Assign")
    after = zendesk.adapter.update(ticket_id, {Field.ASSIGNEE: "sam@support.example.com"})
    assert after.fields[Field.ASSIGNEE] == "sam@support.example.com"
    with pytest.raises(ParkLink, match=r"nobody@example\.com"):
        zendesk.adapter.update(ticket_id, {Field.ASSIGNEE: "nobody@example.com"})


def test_the_description_is_read_and_never_written(zendesk: ZendeskHarness) -> None:
    ticket_id = zendesk.open_ticket("Desc")
    zendesk.adapter.update(ticket_id, {Field.DESCRIPTION: "rewritten", Field.TITLE: "Desc 2"})
    native = zendesk.adapter.read(ticket_id)
    assert native.fields[Field.DESCRIPTION] == "Since Monday"
    assert native.fields[Field.TITLE] == "Desc 2"
