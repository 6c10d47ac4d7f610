"""`ticket-bridge backfill`: plan, run, resume, proposals, and its errors, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.world import AGENT, CUSTOMER, World
from ticket_bridge import cli


@pytest.fixture
def world(installed_world: World) -> World:
    return installed_world


@pytest.fixture
def config(installation: Path) -> Path:
    return installation


def invoke(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli.main, ["backfill", "--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def old_tickets(world: World, count: int) -> list[str]:
    ids = []
    for n in range(count):
        ticket = world.zendesk.open_ticket(
            f"Old {n}", kind="incident", status="open", requester=CUSTOMER.email
        )
        world.zendesk.comment(ticket, AGENT, "Internal note", public=False)
        ids.append(ticket)
    return ids


def test_a_dry_run_prints_the_plan_and_writes_nothing(world: World, config: Path) -> None:
    ids = old_tickets(world, 2)
    code, stdout, _ = invoke(config, "--from", "zendesk", "--to", "jira", "--dry-run")
    assert code == 0, stdout
    assert f"create  zendesk:{ids[0]} -> jira: title=Old 0, " in stdout
    assert "1 comment(s)" in stdout
    assert "2 tickets" in stdout and "2 created" in stdout and "nothing was written" in stdout
    assert not world.jira.tickets


def test_a_backfill_creates_once_and_says_so_in_json(world: World, config: Path) -> None:
    ids = old_tickets(world, 3)
    code, stdout, _ = invoke(config, "--from", "zendesk", "--json")
    assert code == 0, stdout
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events[0]["event"] == "backfill_started" and events[0]["targets"] == ["jira", "clickup"]
    assert events[-1]["event"] == "backfill_finished" and events[-1]["counts"]["create"] == 6
    assert len(world.jira.tickets) == len(world.clickup.tickets) == len(ids)
    code, stdout, _ = invoke(config, "--from", "zendesk")
    assert code == 0
    assert "6 in agreement" in stdout and "0 created" in stdout


def test_an_interrupted_backfill_resumes_and_restart_starts_over(
    world: World, config: Path
) -> None:
    old_tickets(world, 2)
    world.zendesk.inject("backlog", "transient")
    world.zendesk.inject("backlog", "transient")
    world.zendesk.inject("backlog", "transient")
    world.zendesk.inject("backlog", "transient")
    code, _, stderr = invoke(config, "--from", "zendesk")
    assert code == 1
    assert "503" in stderr and "run the same command again to resume" in stderr
    assert len(stderr.strip().splitlines()) == 1, "one line, no traceback"
    code, stdout, _ = invoke(config, "--from", "zendesk", "--json")
    assert code == 0
    assert json.loads(stdout.splitlines()[0])["resumed"] is True
    code, stdout, _ = invoke(config, "--from", "zendesk", "--restart", "--json")
    assert json.loads(stdout.splitlines()[0])["resumed"] is False


def test_proposals_are_listed_not_linked_when_nobody_can_confirm(
    world: World, config: Path
) -> None:
    [ticket] = old_tickets(world, 1)
    by_hand = world.jira.open_ticket("Old 0", kind="Bug", status="To Do", requester=CUSTOMER.email)
    code, stdout, _ = invoke(config, "--from", "zendesk", "--to", "jira", "--match")
    assert code == 0
    assert f"propose zendesk:{ticket} -> jira jira:{by_hand}" in stdout
    assert f"ticket-bridge link zendesk:{ticket} jira:{by_hand}" in stdout
    assert world.store.link_for("zendesk", ticket) is None


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "asana"], "'asana'"),
        (["--from", "zendesk", "--to", "zendesk"], "other than the source"),
        (["--from", "zendesk", "--filter", "nonsense"], "not field=value"),
    ],
)
def test_a_bad_request_is_one_line_and_exit_2(
    world: World, config: Path, args: list[str], says: str
) -> None:
    code, _, stderr = invoke(config, *args)
    assert code == 2
    assert says in stderr and len(stderr.strip().splitlines()) == 1


def test_a_bad_date_is_bad_usage(world: World, config: Path) -> None:
    code, _, stderr = invoke(config, "--from", "zendesk", "--since", "last tuesday")
    assert code == 2 and "'last tuesday' is not a date" in stderr
