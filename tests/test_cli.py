"""The command line as an admin uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ticket_bridge.cli import main


def test_demo_converges_and_prints_a_table() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    assert "converged" in result.output
    assert "Checkout returns HTTP 500" in result.output


@pytest.mark.parametrize("where", ["fakes over HTTP", "memory"])
def test_demo_json_is_one_document_that_says_it_converged(where: str) -> None:
    args = ["demo", "--json"] + (["--memory"] if where == "memory" else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["converged"] is True and report["problems"] == []
    assert [r["label"] for r in report["rounds"]][-1] == "support solves both tickets in Zendesk"
    outage = next(
        link for link in report["links"] if link["canonical"]["title"].startswith("Checkout")
    )
    assert list(outage["tickets"]) == ["zendesk", "jira", "clickup"]
    assert outage["tickets"]["zendesk"]["status"] == "solved"
    assert outage["tickets"]["jira"]["status"] == "Done"
    assert outage["tickets"]["clickup"]["status"].lower() == "resolved"
    public = [c for c in outage["tickets"]["zendesk"]["comments"] if c["visibility"] == "public"]
    assert all(c["mirror_of"] is None for c in public), "only the customer's own words are public"
    internal = [
        c for c in outage["tickets"]["zendesk"]["comments"] if c["visibility"] == "internal"
    ]
    assert any("Root cause" in c["body"] for c in internal), "the engineer's note stayed internal"
    escalations = [link for link in report["links"] if link["kind"] == "escalation"]
    assert escalations and all("zendesk" not in link["tickets"] for link in escalations)


def test_check_accepts_a_usable_config(tmp_path: Path) -> None:
    config = tmp_path / "ticket-bridge.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/state.db"\n'
        '[trackers.zendesk]\ntype = "memory"\nmapping = "zendesk"\ncustomer_facing = true\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "is usable" in result.output


def test_check_prints_every_problem_and_fails(tmp_path: Path) -> None:
    config = tmp_path / "ticket-bridge.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/missing/state.db"\n'
        '[trackers.zendesk]\ntype = "memory"\nmapping = "zendesk"\n'
        '[[routes]]\nfrom = "zendesk"\nto = ["jira"]\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code == 2, "a config that does not load is bad usage"
    assert "routes.0: tracker 'jira' is not configured" in result.output
    assert "store.url" in result.output and "does not exist" in result.output
    assert "2 problem(s)" in result.output


def test_check_never_prints_secrets(tmp_path: Path) -> None:
    config = tmp_path / "ticket-bridge.toml"
    config.write_text(
        '[store]\nurl = "postgresql+psycopg://bridge:hunter2@127.0.0.1:1/tickets"\n'
        '[trackers.zendesk]\ntype = "memory"\nwebhook_secret = "whsec-top-secret"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code == 1
    assert "hunter2" not in result.output and "whsec-top-secret" not in result.output


def test_check_without_a_config_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ticket-bridge.toml where it looks by default
    result = CliRunner().invoke(main, ["check"], env={"TICKET_BRIDGE_CONFIG": ""})
    assert result.exit_code == 2
    assert "--config" in result.output


def test_init_writes_an_example_that_check_accepts_once_secrets_are_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    target = tmp_path / "ticket-bridge.toml"
    result = runner.invoke(main, ["init", str(target)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(main, ["init", str(target)])
    assert again.exit_code == 1 and "--force" in again.output
    monkeypatch.setenv("TICKET_BRIDGE_STORE__URL", f"sqlite:///{tmp_path}/state.db")
    result = runner.invoke(main, ["check", "--offline", "--config", str(target)])
    assert result.exit_code == 2
    assert "api_token: Field required" in result.output, "secrets come from the environment"
    for name in (
        "ZENDESK__OAUTH_CLIENT_SECRET",
        "ZENDESK__WEBHOOK_SECRET",
        "JIRA__API_TOKEN",
        "JIRA__WEBHOOK_SECRET",
        "CLICKUP__TOKEN",
    ):
        monkeypatch.setenv(f"TICKET_BRIDGE_TRACKERS__{name}", "s3cret-value")
    result = runner.invoke(main, ["check", "--offline", "--config", str(target)])
    assert result.exit_code == 0, result.output
    assert "s3cret-value" not in result.output
    live = runner.invoke(main, ["check", "--config", str(target)])
    assert live.exit_code == 1, "the example's sites do not answer here"
    assert "unreachable" in live.output and "s3cret-value" not in live.output


def test_log_format_json_writes_errors_as_json_lines(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["--log-format", "json", "links", "--config", str(tmp_path / "missing.toml")]
    )
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stderr.strip().splitlines()]
    assert {r["level"] for r in records} == {"error"}
    assert any("missing.toml" in r["message"] for r in records)
