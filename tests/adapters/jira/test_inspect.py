"""``inspect()`` against the fake site: what a live check finds missing for the mapping and config."""

from __future__ import annotations

import pytest

from tests.adapters.jira.conftest import MakeAdapter
from tests.specs import SpecCheck
from ticket_bridge.adapters.jira.fake import FakeJira, Transition, Workflow
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.adapter import Finding, Severity
from ticket_bridge.bridge.errors import Transient

HOOK = "/webhooks/jira"


def by_subject(findings: object) -> dict[str, Finding]:
    assert isinstance(findings, list | tuple)
    out = {f.subject: f for f in findings}
    assert len(out) == len(findings), findings
    return out


@pytest.fixture
def documented(fake: FakeJira, receiver: Served) -> str:
    """The sandbox site with the webhook the docs register; returns the bridge's webhook URL."""
    fake.seed_demo()
    fake.subscribe(receiver.url + HOOK)
    return receiver.url + HOOK


def test_the_sandbox_site_set_up_as_documented_has_no_findings(
    documented: str, make_adapter: MakeAdapter, spec_check: SpecCheck
) -> None:
    assert make_adapter(webhook_url=documented).inspect() == []
    assert make_adapter().inspect() == []  # no webhook_url: any issue webhook counts
    checked = {c.split("?")[0] for c in spec_check.checked}
    assert {
        "GET /rest/api/3/project/SUP/statuses",
        "GET /rest/api/3/project/SUP",
        "POST /rest/api/3/workflows",
        "GET /rest/api/3/priorityscheme",
        "GET /rest/webhooks/1.0/webhook",
    } <= checked


def test_a_status_the_mapping_writes_missing_from_the_workflow_is_an_error(
    fake: FakeJira, documented: str, make_adapter: MakeAdapter
) -> None:
    fake.add_project(
        "SUP",
        Workflow(
            name="SUP: no progress",
            statuses={"To Do": "new", "Done": "done"},
            transitions=(
                Transition("21", "Close", "Done", ()),
                Transition("41", "Reopen", "To Do", ()),
            ),
            initial="To Do",
        ),
    )
    found = by_subject(make_adapter(webhook_url=documented).inspect())
    assert set(found) == {"status 'In Progress'"}
    error = found["status 'In Progress'"]
    assert error.severity is Severity.ERROR
    assert "project SUP" in error.message and "in_progress" in error.message
    assert "Bug" in error.message and "Task" in error.message


def test_a_written_status_no_transition_reaches_is_an_error(
    fake: FakeJira, documented: str, make_adapter: MakeAdapter
) -> None:
    """Done is a dead end here: nothing leads back to To Do or on to In Progress from it."""
    fake.add_project(
        "SUP",
        Workflow(
            name="SUP: one way",
            statuses={"To Do": "new", "In Progress": "indeterminate", "Done": "done"},
            transitions=(
                Transition("11", "Start", "In Progress", ("To Do",)),
                Transition("21", "Resolve", "Done", ("In Progress",)),
                Transition("31", "Stop", "To Do", ("In Progress",)),
            ),
            initial="To Do",
        ),
    )
    found = by_subject(make_adapter(webhook_url=documented).inspect())
    assert set(found) == {"transitions to 'To Do'", "transitions to 'In Progress'"}
    assert all(f.severity is Severity.ERROR for f in found.values())
    assert "from 'Done'" in found["transitions to 'To Do'"].message
    assert "'SUP: one way'" in found["transitions to 'To Do'"].message


def test_a_priority_the_mapping_writes_missing_from_the_scheme_is_an_error(
    fake: FakeJira, documented: str, make_adapter: MakeAdapter
) -> None:
    del fake.priorities["High"]
    del fake.priorities["Lowest"]  # mapped, but only ever read: no finding
    found = by_subject(make_adapter(webhook_url=documented).inspect())
    assert set(found) == {"priority 'High'"}
    assert found["priority 'High'"].severity is Severity.ERROR
    assert "P2" in found["priority 'High'"].message
    assert "'Default Priority Scheme'" in found["priority 'High'"].message


def test_a_wrong_priority_id_in_the_config_is_an_error(
    documented: str, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(webhook_url=documented, priority_ids={"High": "2", "Low": "5"})
    [finding] = adapter.inspect()
    assert finding.subject == "priority 'Low'" and finding.severity is Severity.ERROR
    assert "id 5, Jira's is 4" in finding.message


def test_no_webhook_is_a_warning(fake: FakeJira, make_adapter: MakeAdapter) -> None:
    fake.seed_demo()
    [finding] = make_adapter().inspect()
    assert finding.subject == "webhooks" and finding.severity is Severity.WARNING
    assert "only by polling" in finding.message


def test_a_webhook_elsewhere_or_without_comment_events_is_a_warning(
    fake: FakeJira, receiver: Served, make_adapter: MakeAdapter
) -> None:
    fake.seed_demo()
    fake.subscribe(receiver.url + "/some-other-tool")
    [elsewhere] = make_adapter(webhook_url=receiver.url + HOOK).inspect()
    assert elsewhere.severity is Severity.WARNING and receiver.url + HOOK in elsewhere.message
    fake.subscribe(receiver.url + HOOK, events=("jira:issue_created", "jira:issue_updated"))
    [partial] = make_adapter(webhook_url=receiver.url + HOOK).inspect()
    assert partial.severity is Severity.WARNING
    assert "comment_created, comment_updated" in partial.message


def test_what_a_non_admin_cannot_read_is_said_not_assumed(
    fake: FakeJira, documented: str, make_adapter: MakeAdapter, spec_check: SpecCheck
) -> None:
    fake.admin = False
    found = by_subject(make_adapter(webhook_url=documented).inspect())
    assert set(found) == {"transitions", "webhooks"}
    assert all(f.severity is Severity.WARNING for f in found.values())
    assert "not checked" in found["transitions"].message
    assert "403" in found["webhooks"].message


def test_a_project_that_is_not_there_is_an_error(
    documented: str, make_adapter: MakeAdapter
) -> None:
    found = by_subject(make_adapter(webhook_url=documented, projects=("SUP", "NOPE")).inspect())
    assert set(found) == {"project NOPE"} and found["project NOPE"].severity is Severity.ERROR


def test_an_unreachable_site_raises_rather_than_finding_nothing(make_adapter: MakeAdapter) -> None:
    with pytest.raises(Transient):
        make_adapter(base_url="http://127.0.0.1:9", timeout=2).inspect()
