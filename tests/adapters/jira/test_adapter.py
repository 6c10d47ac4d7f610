"""The Jira adapter passes the shared contract against the fake Jira, and Jira's own cases."""

from __future__ import annotations

import datetime as dt
import queue
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.adapters.contract import AdapterContract, a_comment
from tests.adapters.jira.conftest import MakeAdapter
from tests.conftest import TickingClock
from tests.specs import SpecCheck
from ticket_bridge.adapters.jira.adapter import JiraAdapter, plan
from ticket_bridge.adapters.jira.fake import FakeJira, Transition, Workflow
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.adapter import Draft, Mirror
from ticket_bridge.bridge.errors import Conflict, ParkLink, RateLimited, Transient
from ticket_bridge.bridge.model import Due, Field, Priority, Status, Visibility


class JiraHarness:
    def __init__(self, fake: FakeJira, adapter: JiraAdapter, clock: TickingClock) -> None:
        self.fake = fake
        self.adapter = adapter
        self.clock = clock

    def open_ticket(self, title: str) -> str:
        """A person opens an issue; the next bridge call comes after the search index caught up."""
        opened = self.fake.open_issue(title)
        self.clock.advance(self.fake.index_lag + 1)
        return opened

    def edit_title(self, ticket_id: str, title: str) -> None:
        self.fake.edit(ticket_id, summary=title)

    def delivery(self, ticket_id: str) -> tuple[dict[str, str], bytes]:
        return self.fake.delivery(ticket_id)

    def throttle(self) -> None:
        self.fake.exhaust_rate_limit()

    @property
    def assignee(self) -> str:
        return "kim@eng.example.com"


TRIAGE = Workflow(
    name="SUP: triage workflow",
    statuses={"To Do": "new", "Triaged": "new", "In Progress": "indeterminate", "Done": "done"},
    transitions=(
        Transition("11", "Triage", "Triaged", ("To Do",)),
        Transition("21", "Start progress", "In Progress", ("To Do", "Triaged")),
        Transition("31", "Resolve", "Done", ("In Progress",), ("resolution",)),
        Transition("41", "Back to the queue", "To Do", ("Triaged", "In Progress", "Done")),
    ),
    initial="To Do",
)


class TestJiraContract(AdapterContract):
    """The shared suite, on a workflow with a triage step (see triage.toml for why)."""

    @pytest.fixture
    def harness(
        self, fake: FakeJira, make_adapter: MakeAdapter, ticking: TickingClock, receiver: Served
    ) -> JiraHarness:
        """A site set up as documented: the triage workflow and an admin webhook to the bridge."""
        fake.add_project("SUP", TRIAGE)
        fake.add_account("acc-kim", "Kim Engineer", "kim@eng.example.com")
        fake.subscribe(receiver.url + "/webhooks/jira")
        adapter = make_adapter(
            mapping=str(Path(__file__).with_name("triage.toml")),
            user_map={"kim@eng.example.com": "acc-kim"},
            webhook_url=receiver.url + "/webhooks/jira",
        )
        return JiraHarness(fake, adapter, ticking)


def test_every_synced_field_round_trips(fake: FakeJira, make_adapter: MakeAdapter) -> None:
    fake.add_account("acc-kim", "Kim Engineer", "kim@eng.example.com")
    adapter = make_adapter(user_map={"kim@eng.example.com": "acc-kim"})
    issue = fake.open_issue("Checkout fails")
    t = adapter.translation
    patch = {
        Field.TITLE: "Checkout fails for EU cards",
        Field.DESCRIPTION: "Since **09:00**:\n\n- every `EU` card\n- [status](https://status.example.com)",
        Field.PRIORITY: t.to_native(Field.PRIORITY, Priority.P4, None),
        Field.DUE: t.to_native(
            Field.DUE, Due.instant(dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)), None
        ),
        Field.ASSIGNEE: "kim@eng.example.com",
        Field.STATUS: t.to_native(Field.STATUS, Status.RESOLVED, None),
    }
    after = adapter.update(issue, patch)
    assert after.fields == {
        **patch,
        Field.PRIORITY: "Low",
        Field.DUE: "2026-03-02",
        Field.STATUS: "Done",
    }
    assert fake.issues[issue].fields["assignee"] == "acc-kim"
    assert fake.issues[issue].fields["resolution"] == "Done"
    assert after.kind == "Task" and after.updated_at.utcoffset() is not None
    cleared = adapter.update(issue, {Field.ASSIGNEE: None, Field.DUE: None, Field.PRIORITY: None})
    assert cleared.fields[Field.ASSIGNEE] is None and cleared.fields[Field.DUE] is None
    assert t.to_canonical(Field.PRIORITY, cleared.fields[Field.PRIORITY], None) is Priority.NONE


def test_an_unmapped_assignee_parks_the_link(adapter: JiraAdapter, fake: FakeJira) -> None:
    issue = fake.open_issue("x")
    with pytest.raises(ParkLink, match=r"nobody@example\.com has no Jira account in user_map"):
        adapter.update(issue, {Field.ASSIGNEE: "nobody@example.com"})


def test_the_target_two_transitions_away_is_reached_filling_the_resolution(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    issue = fake.open_issue("two steps")
    adapter.update(issue, {Field.STATUS: "Done"})
    moved = [
        r
        for r in fake.requests
        if r.endswith(f"/issue/{issue}/transitions") and r.startswith("POST")
    ]
    assert len(moved) == 2
    assert [
        i["toString"]
        for c in fake.issues[issue].changelog
        for i in c["items"]
        if i["field"] == "status"
    ] == [
        "In Progress",
        "Done",
    ]
    assert fake.issues[issue].fields["resolution"] == "Done"
    # the learned graph plans the next walk directly: no exploration, still the shortest path
    adapter.update(issue, {Field.STATUS: "To Do"})
    assert fake.issues[issue].status == "To Do"


def test_kept_transition_offers_spare_the_gets_and_a_refused_one_is_asked_again(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    first, second, third = (fake.open_issue(n) for n in ("first", "second", "third"))
    adapter.update(first, {Field.STATUS: "Done"})
    before = len(fake.requests)
    adapter.update(second, {Field.STATUS: "Done"})
    sent = fake.requests[before:]
    assert not [r for r in sent if r.startswith("GET") and r.endswith("/transitions")]
    assert len([r for r in sent if r.startswith("POST") and r.endswith("/transitions")]) == 2
    assert fake.issues[second].status == "Done"

    # An admin replaces the way out of "In Progress" (the way out of "To Do" comes with the
    # issue's read): the kept "21" is refused, the issue's offers asked for, the new one taken.
    workflow = fake.projects["SUP"].workflow
    fake.projects["SUP"].workflow = Workflow(
        name=workflow.name,
        statuses=workflow.statuses,
        transitions=(
            Transition("22", "Close", "Done", ("In Progress",), ("resolution",)),
            *(t for t in workflow.transitions if t.id != "21"),
        ),
        initial=workflow.initial,
    )
    before = len(fake.requests)
    adapter.update(third, {Field.STATUS: "Done"})
    assert fake.issues[third].status == "Done"
    assert fake.requests[before:].count(f"GET /rest/api/3/issue/{third}/transitions") == 1
    assert [
        i["toString"]
        for c in fake.issues[third].changelog
        for i in c["items"]
        if i["field"] == "status"
    ] == ["In Progress", "Done"]


def test_an_edit_takes_the_issue_jira_answers_with_as_the_read_after_it(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    """An edit of fields the changelog can undo is one request: no guard read before it, no
    read after it (the account is asked once, to tell the bridge's own entries)."""
    issue = fake.open_issue("answered")
    seen = adapter.read(issue)
    before = len(fake.requests)
    after = adapter.update(issue, {Field.TITLE: "ours", Field.PRIORITY: "High"}, seen=seen)
    assert fake.requests[before:] == ["GET /rest/api/3/myself", f"PUT /rest/api/3/issue/{issue}"]
    assert after == adapter.read(issue).model_copy(update={"correlation_key": None})
    before = len(fake.requests)
    adapter.update(issue, {Field.DUE: "2026-12-24"}, seen=after)
    assert fake.requests[before:] == [f"PUT /rest/api/3/issue/{issue}"]


def test_an_edit_after_someone_elses_is_undone_and_a_conflict(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    """Alex changed the priority after the bridge's read: the bridge's edit is undone from its
    own changelog entry, so Alex's value stands, and the merge gets a conflict to decide."""
    issue = fake.open_issue("race", priority="Low")
    seen = adapter.read(issue)
    fake.edit(issue, priority="Highest")
    with pytest.raises(
        Conflict, match=r"priority changed since .*the edit of due, priority was undone"
    ):
        adapter.update(issue, {Field.PRIORITY: "High", Field.DUE: "2026-12-24"}, seen=seen)
    now = adapter.read(issue)
    assert now.fields[Field.PRIORITY] == "Highest" and now.fields[Field.DUE] is None
    bridge = fake.me.account_id
    assert [
        (h["author"], [i["toString"] for i in h["items"]]) for h in fake.issues[issue].changelog
    ] == [
        (fake.person.account_id, ["Highest"]),
        (bridge, ["High", "2026-12-24 00:00:00.0"]),
        (bridge, ["Highest", None]),
    ]


def test_an_edit_after_someone_elses_of_another_field_writes_nothing_on_balance(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    issue = fake.open_issue("race", priority="Low")
    seen = adapter.read(issue)
    fake.edit(issue, summary="retitled by Alex")
    with pytest.raises(Conflict, match="title changed since"):
        adapter.update(issue, {Field.PRIORITY: "High"}, seen=seen)
    now = adapter.read(issue)
    assert (now.fields[Field.TITLE], now.fields[Field.PRIORITY]) == ("retitled by Alex", "Low")


def test_a_field_someone_changed_after_the_bridges_edit_is_not_undone(
    adapter: JiraAdapter, fake: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alex edits between the bridge's edit and Jira's answer: his later value is his, kept;
    the other field the bridge wrote is undone, and the conflict raised."""
    issue = fake.open_issue("race", priority="Low")
    seen = adapter.read(issue)
    change = fake._change

    def then_alex(stored: Any, values: Any, author: str) -> None:
        change(stored, values, author)
        if author == fake.me.account_id and "priority" in values:
            change(stored, {"priority": "Lowest"}, fake.person.account_id)

    monkeypatch.setattr(fake, "_change", then_alex)
    with pytest.raises(Conflict, match="the edit of due was undone"):
        adapter.update(issue, {Field.PRIORITY: "High", Field.DUE: "2026-12-24"}, seen=seen)
    now = adapter.read(issue)
    assert now.fields[Field.PRIORITY] == "Lowest" and now.fields[Field.DUE] is None


@pytest.mark.parametrize("lost", ["the edit's answer", "the undo"])
def test_a_checked_edit_cut_short_and_retried_still_leaves_their_value(
    adapter: JiraAdapter,
    fake: FakeJira,
    monkeypatch: pytest.MonkeyPatch,
    spec_check: SpecCheck,
    lost: str,
) -> None:
    """The reconciler retries a whole update on a transient error: Jira records no entry for
    an edit that changes nothing, so the retry finds the first attempt's entry and undoes it."""
    issue = fake.open_issue("race", priority="Low")
    seen = adapter.read(issue)
    fake.edit(issue, priority="Highest")
    put = f"PUT /rest/api/3/issue/{issue}"
    if lost == "the edit's answer":
        fake.fail_next(put, 503, after_write=True)
    else:
        change = fake._change
        failed: list[bool] = []

        def then_fail(stored: Any, values: Any, author: str) -> None:
            change(stored, values, author)
            if values.get("priority") == "High" and not failed:
                failed.append(True)
                fake.fail_next(put, 503)

        monkeypatch.setattr(fake, "_change", then_fail)
    with pytest.raises(Transient, match="503"):
        adapter.update(issue, {Field.PRIORITY: "High"}, seen=seen)
    with pytest.raises(Conflict, match="the edit of priority was undone"):
        adapter.update(issue, {Field.PRIORITY: "High"}, seen=seen)
    assert adapter.read(issue).fields[Field.PRIORITY] == "Highest"
    assert spec_check.failures and all("-> 503:" in f for f in spec_check.failures)
    spec_check.failures.clear()  # the spec lists no 503; Jira sends one when it is overloaded


def test_a_long_changelog_is_read_back_from_its_end(
    adapter: JiraAdapter, fake: FakeJira, spec_check: SpecCheck
) -> None:
    """An issue holds more changelog entries than its read embeds: the ones since the
    bridge's read come from the changelog API, paged back from the end."""
    fake.changelog_page = 3
    issue = fake.open_issue("busy")
    for n in range(7):
        fake.edit(issue, summary=f"edit {n}")
    seen = adapter.read(issue)
    before = len(fake.requests)
    adapter.update(issue, {Field.PRIORITY: "High"}, seen=seen)
    assert fake.requests[before + 1 :] == [
        f"PUT /rest/api/3/issue/{issue}",
        f"GET /rest/api/3/issue/{issue}/changelog",
    ]
    fake.edit(issue, summary="edit 7")
    for n in range(8, 12):
        fake.edit(issue, labels=[f"l{n}"])
    with pytest.raises(Conflict, match="title changed since"):
        adapter.update(issue, {Field.PRIORITY: "Low"}, seen=seen)
    assert adapter.read(issue).fields[Field.PRIORITY] == "High"
    assert any("/changelog?" in c for c in spec_check.checked)


def test_a_move_is_read_before_and_not_after(adapter: JiraAdapter, fake: FakeJira) -> None:
    """A status change reads the issue once, to start from its status and guard it, with the
    offers out of that status in the same read; the transitions answer 204, and what they
    leave is that read with the status reached. Only the offers of the status in between are
    asked for, once."""
    issue, other = fake.open_issue("moving"), fake.open_issue("moving too")
    seen = adapter.read(issue)
    before = len(fake.requests)
    after = adapter.update(issue, {Field.STATUS: "Done"}, seen=seen)
    get, move = f"GET /rest/api/3/issue/{issue}", f"POST /rest/api/3/issue/{issue}/transitions"
    assert fake.requests[before:] == [get, move, f"GET /rest/api/3/issue/{issue}/transitions", move]
    seen = adapter.read(other)
    before = len(fake.requests)
    adapter.update(other, {Field.STATUS: "Done"}, seen=seen)
    move = f"POST /rest/api/3/issue/{other}/transitions"
    assert fake.requests[before:] == [f"GET /rest/api/3/issue/{other}", move, move]
    assert fake.issues[other].status == "Done"
    now = adapter.read(issue)
    assert after.fields == now.fields and now.fields[Field.STATUS] == "Done"
    fake.move(issue, "In Progress")
    with pytest.raises(Conflict, match="status changed since"):
        adapter.update(issue, {Field.STATUS: "To Do"}, seen=now)
    assert fake.issues[issue].status == "In Progress"


def test_an_edit_answered_with_only_the_edited_fields_is_read_again(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    fake.returned_fields = "edited"
    issue = fake.open_issue("partly answered")
    after = adapter.update(issue, {Field.TITLE: "ours"}, seen=adapter.read(issue))
    assert fake.requests[-1] == f"GET /rest/api/3/issue/{issue}"
    assert after.fields[Field.TITLE] == "ours" and after.fields[Field.STATUS] == "To Do"


def test_a_required_field_without_a_default_parks_naming_it(
    make_adapter: MakeAdapter, fake: FakeJira
) -> None:
    adapter = make_adapter(transition_defaults={})
    issue = fake.open_issue("no resolution")
    with pytest.raises(ParkLink) as caught:
        adapter.update(issue, {Field.STATUS: "Done"})
    reason = caught.value.reason
    assert "requires resolution" in reason and "'Resolve'" in reason and "project SUP" in reason
    assert "'In Progress' -> 'Done'" in reason


def test_an_unreachable_status_parks_naming_workflow_statuses_and_what_is_missing(
    make_adapter: MakeAdapter, fake: FakeJira
) -> None:
    fake.add_project(
        "ONE",
        Workflow(
            name="ONE: one way",
            statuses={"To Do": "new", "In Progress": "indeterminate", "Done": "done"},
            transitions=(
                Transition("11", "Start", "In Progress", ("To Do",)),
                Transition("21", "Finish", "Done", ("In Progress",), ("resolution",)),
            ),
            initial="To Do",
        ),
    )
    adapter = make_adapter(projects=("SUP", "ONE"))
    issue = fake.open_issue("one way", project="ONE", status="Done")
    with pytest.raises(ParkLink) as caught:
        adapter.update(issue, {Field.STATUS: "To Do"})
    reason = caught.value.reason
    assert "project ONE" in reason and "from 'Done' to 'To Do'" in reason
    assert "Done -> nothing" in reason and "Add a transition to 'To Do'" in reason
    assert fake.issues[issue].status == "Done"


def test_a_configured_workflow_is_planned_without_exploring(
    make_adapter: MakeAdapter, fake: FakeJira
) -> None:
    adapter = make_adapter(
        workflow={"To Do": ("In Progress",), "In Progress": ("Done", "To Do"), "Done": ("To Do",)},
        explore_workflow=False,
    )
    issue = fake.open_issue("planned")
    adapter.update(issue, {Field.STATUS: "Done"})
    assert fake.issues[issue].status == "Done"


def test_plan_is_a_shortest_path() -> None:
    graph = {"A": {"B", "C"}, "B": {"D"}, "C": {"E"}, "E": {"D"}, "D": set()}
    assert plan(graph, "A", {"D"}) == ["A", "B", "D"]
    assert plan(graph, "A", {"A"}) == ["A"]
    assert plan(graph, "D", {"A"}) is None


def test_put_issue_never_moves_status(adapter: JiraAdapter, fake: FakeJira) -> None:
    issue = fake.open_issue("no shortcut")
    adapter.client.request(
        "PUT", f"issue/{issue}", body={"fields": {"summary": "x"}, "transition": {"id": "11"}}
    )
    assert fake.issues[issue].status == "To Do"


def test_a_retried_create_finds_the_first_despite_index_lag(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    draft = Draft(fields={Field.TITLE: "lagging"}, correlation_key="zendesk:501")
    first = adapter.create(draft)
    assert fake.requests.count("GET /rest/api/3/search/jql") >= 1
    again = adapter.create(draft)
    assert again.id == first.id and len(fake.issues) == 1


def test_a_create_whose_answer_was_lost_is_found_after_the_index_caught_up(
    make_adapter: MakeAdapter, fake: FakeJira, ticking: TickingClock, spec_check: SpecCheck
) -> None:
    draft = Draft(fields={Field.TITLE: "crash"}, correlation_key="zendesk:502")
    fake.index_lag = 30
    fake.fail_next("POST /rest/api/3/issue", 504, after_write=True)
    adapter = make_adapter(index_lag=30)
    attempted = ticking()
    with pytest.raises(Transient, match="504"):
        adapter.create(draft)
    assert len(fake.issues) == 1
    retry = draft.model_copy(update={"attempted_at": attempted})
    restarted = make_adapter(index_lag=30)  # a new process: nothing remembered but the store
    ticking.advance(5)
    with pytest.raises(Transient, match="may not be searchable yet"):
        restarted.create(retry)
    assert len(fake.issues) == 1, "no second issue while the index may still lag"
    ticking.advance(30)
    again = restarted.create(retry)
    assert len(fake.issues) == 1 and again.correlation_key == "zendesk:502"
    undocumented_only(spec_check, 504)


def test_create_writes_every_field_and_the_property(
    make_adapter: MakeAdapter, fake: FakeJira
) -> None:
    adapter = make_adapter(create_labels=("from-zendesk",))
    draft = Draft(
        fields={
            Field.TITLE: "EU checkout",
            Field.DESCRIPTION: "*urgent*",
            Field.PRIORITY: "Highest",
            Field.DUE: "2026-12-01",
            Field.STATUS: "In Progress",
        },
        kind="Bug",
        correlation_key="zendesk:9",
    )
    created = adapter.create(draft)
    stored = fake.issues[created.id]
    assert stored.properties == {"ticket-bridge": {"key": "zendesk:9"}}
    assert stored.fields["labels"] == ["from-zendesk"] and stored.issuetype == "Bug"
    assert (
        created.fields[Field.STATUS] == "In Progress"
        and created.fields[Field.DESCRIPTION] == "*urgent*"
    )
    assert created.kind == "Bug"


def test_update_of_a_ticket_changed_since_it_was_seen_is_a_conflict(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    issue = fake.open_issue("race")
    seen = adapter.read(issue)
    fake.edit(issue, summary="moved on")
    with pytest.raises(Conflict):
        adapter.update(issue, {Field.TITLE: "ours"}, seen=seen)
    assert adapter.read(issue).fields[Field.TITLE] == "moved on"
    fake.edit(issue, description="theirs")
    with pytest.raises(Conflict):
        adapter.update(issue, {Field.DESCRIPTION: "ours"}, seen=seen)
    assert adapter.read(issue).fields[Field.DESCRIPTION] == "theirs"
    assert (
        adapter.update(issue, {Field.TITLE: "ours"}, seen=adapter.read(issue)).fields[Field.TITLE]
        == "ours"
    )


def test_the_change_feed_is_minute_precise_in_the_users_zone_and_resumes(
    make_adapter: MakeAdapter, fake: FakeJira, ticking: TickingClock
) -> None:
    adapter = make_adapter(page_size=2)
    ids = [fake.open_issue(f"n{i}") for i in range(5)]
    ticking.advance(10)
    first = adapter.changes(None)
    assert list(first.ids) == ids  # five issues over three pages of two
    assert dt.datetime.fromisoformat(first.cursor) == max(i.updated for i in fake.issues.values())
    ticking.advance(600)
    fake.edit(ids[2], summary="later")
    ticking.advance(10)
    second = adapter.changes(first.cursor)
    assert ids[2] in second.ids and len(set(second.ids)) == len(second.ids)
    ticking.advance(600)
    fake.edit(ids[4], summary="latest")
    ticking.advance(10)
    third = adapter.changes(second.cursor)
    # the window reaches 2 minutes back from the last change seen (09:10 UTC): ids[2] again, then ids[4]
    assert third.ids == (ids[2], ids[4])
    jql = fake.searches[-1]
    # 09:10 UTC minus the overlap, at minute precision, in the API user's zone (America/Los_Angeles)
    assert jql.startswith('project in (SUP) AND updated >= "2026/11/02 01:08"'), jql
    assert jql.endswith("ORDER BY updated ASC, key ASC")
    assert adapter.changes(third.cursor).cursor == third.cursor


def test_comments_page_through_and_keep_markers_and_visibility(
    make_adapter: MakeAdapter, fake: FakeJira
) -> None:
    adapter = make_adapter(page_size=2)
    issue = fake.open_issue("chatty")
    for n in range(3):
        fake.comment(issue, f"person {n} says *hi*")
    fake.comment(issue, "agents only", visibility={"type": "role", "value": "Developers"})
    posted = adapter.add_comment(
        issue,
        Mirror(
            comment=a_comment("zendesk:c1", Visibility.INTERNAL), visibility=Visibility.INTERNAL
        ),
    )
    listed = adapter.comments(issue)
    assert [c.body for c in listed[:3]] == [f"person {n} says *hi*" for n in range(3)]
    assert [c.visibility for c in listed] == [Visibility.PUBLIC] * 3 + [Visibility.INTERNAL] * 2
    assert listed[-1].id == posted.id and listed[-1].mirror_of == "zendesk:c1"
    assert fake.issues[issue].comments[-1].visibility == {
        "type": "role",
        "value": "Administrators",
        "identifier": "Administrators",
    }
    edited = adapter.update_comment(
        issue,
        posted.id,
        Mirror(
            comment=a_comment("zendesk:c1", Visibility.INTERNAL), visibility=Visibility.INTERNAL
        ),
    )
    assert edited.mirror_of == "zendesk:c1" and edited.visibility is Visibility.INTERNAL


def test_service_desk_internal_comments_use_the_sd_property(
    make_adapter: MakeAdapter, fake: FakeJira
) -> None:
    fake.add_project("HELP", service_desk=True)
    adapter = make_adapter(projects=("HELP",), service_desk_projects=("HELP",))
    issue = fake.open_issue("jsm", project="HELP")
    posted = adapter.add_comment(
        issue,
        Mirror(
            comment=a_comment("zendesk:c2", Visibility.INTERNAL), visibility=Visibility.INTERNAL
        ),
    )
    stored = fake.issues[issue].comments[-1]
    assert (
        stored.properties == {"sd.public.comment": {"internal": True}} and stored.visibility is None
    )
    assert posted.visibility is Visibility.INTERNAL


def test_a_429_is_honoured_with_the_longer_of_retry_after_and_reset(
    make_adapter: MakeAdapter, fake: FakeJira, spec_check: SpecCheck
) -> None:
    adapter = make_adapter()
    issue = fake.open_issue("busy")
    fake.fail_next(
        f"GET /rest/api/3/issue/{issue}",
        429,
        {
            "Retry-After": "7",
            "X-RateLimit-Reset": "2026-11-02T09:02Z",
            "RateLimit-Reason": "jira-burst-based",
        },
    )
    with pytest.raises(RateLimited) as caught:
        adapter.read(issue)
    # the fake clock is just past 09:00 UTC: the reset a minute and more away wins over 7 s
    assert 100 < caught.value.retry_after <= 120
    budget = adapter.client.budget
    budget.acquire()
    assert budget.waited >= caught.value.retry_after
    fake.rate_limit = (1, 60.0)
    fake._window.clear()
    adapter.read(issue)
    with pytest.raises(RateLimited) as limited:
        adapter.read(issue)
    assert limited.value.retry_after >= 1
    assert spec_check.failures == [], "429s with Retry-After are excused: the spec omits them"


def undocumented_only(spec_check: SpecCheck, status: int) -> None:
    """The Jira spec lists no 504 answers: those, and only those, fail its response check."""
    assert spec_check.failures
    assert all(f"-> {status}: response does not match" in f for f in spec_check.failures), (
        spec_check.failures
    )
    spec_check.failures.clear()


def test_a_delivery_carries_the_stamp_the_bridge_read_after_its_write(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    """The echo of the bridge's own write names the version the write gave back, to the
    millisecond, so it needs no read; a person's edit after it names a newer one."""
    issue = fake.open_issue("echo")
    after = adapter.update(issue, {Field.TITLE: "ours"}, seen=adapter.read(issue))
    [echo] = adapter.parse_webhook(*fake.delivery(issue))
    assert echo.stamp == after.updated_at and after.updated_at.microsecond
    fake.edit(issue, summary="theirs")
    [edit] = adapter.parse_webhook(*fake.delivery(issue))
    assert edit.stamp is not None and edit.stamp > after.updated_at


def test_identify_asks_jira_once_and_shares_the_answer_with_the_time_zone(
    adapter: JiraAdapter, fake: FakeJira
) -> None:
    assert adapter.identify() == adapter.identify() == fake.me.account_id
    adapter.changes(None)
    assert fake.requests.count("GET /rest/api/3/myself") == 1


def test_identify_while_jira_is_down_raises_and_asks_again_later(
    adapter: JiraAdapter, fake: FakeJira, spec_check: SpecCheck
) -> None:
    fake.fail_next("GET /rest/api/3/myself", 502)
    with pytest.raises(Transient, match="502"):
        adapter.identify()
    undocumented_only(spec_check, 502)
    assert adapter.identify() == fake.me.account_id
    assert fake.requests.count("GET /rest/api/3/myself") == 2


def test_a_delivery_before_identify_is_never_an_echo(adapter: JiraAdapter, fake: FakeJira) -> None:
    """parse_webhook never asks Jira who the bridge is: until identify() has, it reads everything."""
    issue = fake.open_issue("echo")
    adapter.update(issue, {Field.TITLE: "ours"})
    delivery = fake.delivery(issue)
    asked = len(fake.requests)
    [hint] = adapter.parse_webhook(*delivery)
    assert not hint.echo and len(fake.requests) == asked
    adapter.identify()
    [hint] = adapter.parse_webhook(*delivery)
    assert hint.echo


class Inbox:
    """A receiver the fake posts its webhooks to, holding what arrived in order."""

    def __init__(self) -> None:
        self.arrived: queue.Queue[tuple[dict[str, str], bytes]] = queue.Queue()

    async def hook(self, request: Request) -> Response:
        self.arrived.put((dict(request.headers), await request.body()))
        return Response(status_code=202)

    def next(self) -> tuple[dict[str, str], bytes]:
        return self.arrived.get(timeout=10)


def test_the_webhooks_jira_sends_of_the_bridges_comments_are_echoes(
    make_adapter: MakeAdapter, fake: FakeJira
) -> None:
    """Comment events name no ``user``: the comment's last editor is who acted."""
    inbox = Inbox()
    fake.add_account("557058:kim", "Kim Engineer", "kim@eng.example.com")
    with Served(Starlette(routes=[Route("/hook", inbox.hook, methods=["POST"])])) as receiver:
        fake.subscribe(receiver.url + "/hook", events=("comment_created", "comment_updated"))
        adapter = make_adapter()
        adapter.identify()
        issue = fake.open_issue("talk")
        fake.comment(issue, "Seen in prod too.", author="557058:kim")
        mirror = Mirror(
            comment=a_comment("zendesk:c9", Visibility.PUBLIC), visibility=Visibility.PUBLIC
        )
        posted = adapter.add_comment(issue, mirror)
        adapter.update_comment(issue, posted.id, mirror)
        fake.edit_comment(issue, posted.id, "A person rewrote the bridge's mirror.")
        echoes = [h.echo for _ in range(4) for h in adapter.parse_webhook(*inbox.next())]
        fake.stop()
    assert echoes == [False, True, True, False]


def test_the_issue_to_project_memory_keeps_the_latest_issues_and_asks_for_others(
    adapter: JiraAdapter, fake: FakeJira, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon reads every issue in time: what it remembers per issue must stay bounded."""
    monkeypatch.setattr("ticket_bridge.adapters.jira.adapter.PROJECTS_KEPT", 2)
    issues = [fake.open_issue(f"issue {n}") for n in range(3)]
    for issue in issues:
        adapter.read(issue)
    assert list(adapter._projects) == issues[1:]
    before = len(fake.requests)
    assert adapter._project(issues[0]) == "SUP"
    assert fake.requests[before:] == [f"GET /rest/api/3/issue/{issues[0]}"]
