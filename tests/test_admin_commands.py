"""The everyday commands an admin runs against a live installation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.world import World
from ticket_bridge import cli
from ticket_bridge.bridge.model import Field


@pytest.fixture
def world(installed_world: World) -> World:
    return installed_world


@pytest.fixture
def config(installation: Path) -> Path:
    return installation


def invoke(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, [args[0], "--config", str(config), *args[1:]])
    return result.exit_code, result.output


def test_links_and_explain_show_where_values_came_from(world: World, config: Path) -> None:
    ticket = world.zendesk.open_ticket("Checkout fails", kind="incident", status="new")
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.edit(jira.id, status="In Progress")
    world.settle()
    code, output = invoke(config, "links", "--json")
    assert code == 0
    [row] = json.loads(output)
    assert row["key"] == f"zendesk:{ticket}" and row["status"] == "in_progress"
    assert set(row["refs"]) == {"zendesk", "jira", "clickup"}
    code, output = invoke(config, "explain", f"jira:{jira.id}", "status")
    assert code == 0
    lines = [line for line in output.splitlines() if " status " in line]
    assert "changed in jira" in lines[-1] or any("changed in jira" in line for line in lines)
    assert lines[0].split()[2] != "", "newest first"
    code, output = invoke(config, "explain", "jira:9999")
    assert code == 1 and "not linked" in output


def test_status_reports_each_tracker_and_what_waits(world: World, config: Path) -> None:
    world.zendesk.open_ticket("Checkout fails", kind="incident", status="new")
    world.settle()
    code, output = invoke(config, "status", "--json")
    assert code == 0
    report = json.loads(output)
    assert set(report["trackers"]) == {"zendesk", "jira", "clickup"}
    assert all(t["reachable"] for t in report["trackers"].values())
    assert report["active_links"] == 1 and report["dead_letters"] == 0
    world.trackers["jira"].inject("changes", "transient")
    code, output = invoke(config, "status", "--json")
    assert json.loads(output)["trackers"]["jira"]["reachable"] is False
    assert code == 1, "an unreachable tracker fails the check"


def test_link_by_hand_then_unlink(world: World, config: Path) -> None:
    ours = world.zendesk.open_ticket("Printer on fire", kind="task", status="open", priority="high")
    theirs = world.jira.open_ticket("Printer", kind="Task", status="To Do", priority="Low")
    code, output = invoke(config, "link", f"zendesk:{ours}", f"jira:{theirs}")
    assert code == 0, output
    assert world.jira.tickets[theirs].fields[Field.PRIORITY] == "High", (
        "the first ticket's values win"
    )
    assert world.jira.tickets[theirs].fields[Field.TITLE] == "Printer on fire"
    code, output = invoke(config, "link", f"zendesk:{ours}", f"clickup:{theirs}")
    assert code == 1 and "already in link" in output
    code, output = invoke(config, "unlink", f"jira:{theirs}")
    assert code == 0 and "unlinked" in output
    world.zendesk.edit(ours, priority="low")
    world.settle()
    assert world.jira.tickets[theirs].fields[Field.PRIORITY] == "High", "no longer synced"


def test_conflicts_are_listed_and_resolved_by_choosing_a_side(world: World, config: Path) -> None:
    ticket = world.zendesk.open_ticket(
        "Checkout fails", kind="incident", status="new", priority="high"
    )
    world.settle()
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.zendesk.edit(ticket, priority="low")
    world.jira.edit(jira.id, priority="Highest")
    world.settle()
    code, output = invoke(config, "conflicts", "--json")
    [conflict] = json.loads(output)
    assert conflict["winner"] == "jira"
    code, output = invoke(config, "conflicts", "resolve", str(conflict["id"]), "zendesk")
    assert code == 0, output
    assert world.jira.tickets[jira.id].fields[Field.PRIORITY] == "Low"
    assert world.zendesk.tickets[ticket].fields[Field.PRIORITY] == "low"
    code, output = invoke(config, "conflicts", "--json")
    assert json.loads(output) == []
    code, output = invoke(config, "conflicts", "resolve", str(conflict["id"]), "servicenow")
    assert code == 1 and "not 'servicenow'" in output


def test_dead_letters_are_listed_retried_and_dropped(world: World, config: Path) -> None:
    first = world.zendesk.open_ticket("One", kind="incident", status="new")
    second = world.zendesk.open_ticket("Two", kind="incident", status="new")
    world.settle()
    for ticket in (first, second):
        jira = world.counterpart("jira", f"zendesk:{ticket}")
        for _ in range(20):
            world.trackers["jira"].inject("update", "transient", ticket_id=jira.id)
        world.zendesk.edit(ticket, priority="urgent")
    world.settle()
    code, output = invoke(config, "dead-letters", "--json")
    assert {d["link"] for d in json.loads(output)} == {f"zendesk:{first}", f"zendesk:{second}"}
    world.trackers["jira"].faults.clear()
    code, output = invoke(config, "dead-letters", "retry", f"zendesk:{first}")
    assert code == 0, output
    assert world.counterpart("jira", f"zendesk:{first}").fields[Field.PRIORITY] == "Highest"
    code, output = invoke(config, "dead-letters", "drop", f"zendesk:{second}")
    assert code == 0, output
    code, output = invoke(config, "dead-letters", "--json")
    assert json.loads(output) == []
    code, output = invoke(config, "dead-letters", "retry", f"zendesk:{first}")
    assert code == 1 and "no dead link" in output


def test_sync_reconciles_one_ticket_now_and_revives_on_request(world: World, config: Path) -> None:
    ticket = world.zendesk.open_ticket("Checkout fails", kind="incident", status="new")
    code, output = invoke(config, "sync", f"zendesk:{ticket}")
    assert code == 0 and "counterpart_created" in output
    jira = world.counterpart("jira", f"zendesk:{ticket}")
    world.jira.edit(jira.id, status="Waiting for QA")
    code, output = invoke(config, "sync", f"jira:{jira.id}")
    assert "link_parked" in output
    world.jira.edit(jira.id, status="In Progress")
    code, output = invoke(config, "sync", f"jira:{jira.id}")
    assert code == 1 and "--revive" in output
    code, output = invoke(config, "sync", f"jira:{jira.id}", "--revive")
    assert code == 0, output
    assert world.zendesk.tickets[ticket].fields[Field.STATUS] == "open"
    code, output = invoke(config, "sync", "nowhere:1")
    assert code == 1 and "no tracker named 'nowhere'" in output


def test_sweep_brings_over_what_nothing_reported_and_reads_every_link(
    world: World, config: Path
) -> None:
    tickets = [
        world.zendesk.open_ticket(f"Ticket {n}", kind="incident", status="new") for n in range(3)
    ]
    world.settle()
    world.zendesk.edit(tickets[2], priority="urgent")
    code, output = invoke(config, "sweep")
    assert code == 0, output
    assert "sweep_finished: links=3, reconciled=1" in output
    assert output.rstrip().endswith("sweep: 2 write(s)"), output
    assert world.counterpart("jira", f"zendesk:{tickets[2]}").fields[Field.PRIORITY] == "Highest"
    code, output = invoke(config, "sweep", "--resume")
    assert code == 0 and "sweep_finished: links=3, reconciled=0" in output, output
    code, output = invoke(config, "status", "--json")
    assert json.loads(output)["sweep"]["finished"] is True
    code, output = invoke(config, "status")
    assert "last sweep: finished 0s ago" in output or "last sweep: finished 1s ago" in output


def test_a_sweep_that_meets_a_tracker_down_says_so_and_resumes_later(
    world: World, config: Path
) -> None:
    for n in range(3):
        world.zendesk.open_ticket(f"Ticket {n}", kind="incident", status="new")
    world.settle()
    for _ in range(40):
        world.trackers["jira"].inject("read", "transient")
    code, output = invoke(config, "sweep")
    assert code == 1
    assert "jira down): `ticket-bridge sweep --resume` goes on from there" in output, output
    world.trackers["jira"].faults.clear()
    code, output = invoke(config, "sweep", "--resume")
    assert code == 0 and "sweep_finished: links=2, reconciled=0" in output, output
