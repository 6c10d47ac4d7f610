"""The config: TOML plus TICKET_BRIDGE_* variables, every problem reported at once with its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticket_bridge.bridge.errors import ConfigError
from ticket_bridge.bridge.model import Field, Kind, Status
from ticket_bridge.settings import load

GOOD = """
[store]
url = "sqlite:///{tmp}/state.db"

[trackers.zendesk]
type = "memory"
mapping = "zendesk"
customer_facing = true

[trackers.jira]
type = "memory"
mapping = "jira"

[[routes]]
from = "zendesk"
to = ["jira"]
kinds = ["support"]

[fields.priority]
owner = "zendesk"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ticket-bridge.toml"
    path.write_text(text.replace("{tmp}", str(tmp_path)), encoding="utf-8")
    return path


def test_a_good_config_becomes_a_sync_policy(tmp_path: Path) -> None:
    loaded = load(write(tmp_path, GOOD), read_env=False)
    policy = loaded.policy()
    assert policy.route_targets("zendesk", Kind.SUPPORT, policy_status()) == ("jira",)
    assert policy.route_targets("zendesk", Kind.QUESTION, policy_status()) == ()
    assert policy.field(Field.PRIORITY).owner == "zendesk"
    assert loaded.mappings["jira"].tracker == "jira"


def policy_status() -> Status:
    return Status.NEW


def test_every_problem_is_reported_at_once_with_where_it_is(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[trackers.zendesk]
type = "memory"
mapping = "zendesk"
customer_facing = "sometimes"
colour = "blue"

[[routes]]
from = "zendesk"
to = []

[retry]
link_attempts = 0
""",
    )
    with pytest.raises(ConfigError) as caught:
        load(path, read_env=False)
    problems = caught.value.problems
    assert any(f"{path}: trackers.zendesk.customer_facing:" in p for p in problems)
    assert any(f"{path}: trackers.zendesk.colour: Extra inputs" in p for p in problems)
    assert any(f"{path}: routes.0.to:" in p for p in problems)
    assert any(f"{path}: retry.link_attempts:" in p for p in problems)


def test_cross_references_are_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        GOOD
        + """
[[routes]]
from = "clickup"
to = ["jira"]

[fields.status]
owner = "servicenow"

[comments]
public_from = ["slack"]
""",
    )
    with pytest.raises(ConfigError) as caught:
        load(path, read_env=False)
    text = "\n".join(caught.value.problems)
    assert "routes.1: tracker 'clickup' is not configured" in text
    assert "fields.status.owner: tracker 'servicenow' is not configured" in text
    assert "comments.public_from: tracker 'slack' is not configured" in text


def test_a_bad_mapping_file_is_reported_with_tracker_and_file(tmp_path: Path) -> None:
    (tmp_path / "my-jira.toml").write_text(
        'tracker = "jira"\ntitle = "mine"\n[status]\n"To Do" = ["new"]\n[priority]\nHigh = ["P2"]\n',
        encoding="utf-8",
    )
    path = write(tmp_path, GOOD.replace('mapping = "jira"', 'mapping = "my-jira.toml"'))
    with pytest.raises(ConfigError) as caught:
        load(path, read_env=False)
    text = "\n".join(caught.value.problems)
    assert "trackers.jira.mapping" in text and "my-jira.toml" in text
    assert "in_progress" in text


def test_invalid_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[store\nurl = 1\n")
    with pytest.raises(ConfigError) as caught:
        load(path, read_env=False)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}: not valid TOML") and "line 1" in problem


def test_a_missing_file_is_one_clear_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load(tmp_path / "absent.toml", read_env=False)


def test_environment_variables_override_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKET_BRIDGE_TRACKERS__JIRA__CUSTOMER_FACING", "true")
    monkeypatch.setenv("TICKET_BRIDGE_STORE__URL", "postgresql+psycopg://u:s3cret@db/tickets")
    loaded = load(write(tmp_path, GOOD))
    assert loaded.settings.trackers["jira"].customer_facing is True
    assert loaded.settings.trackers["zendesk"].customer_facing is True
    url = loaded.settings.store.url
    assert url is not None and url.get_secret_value().endswith("@db/tickets")
    assert "s3cret" not in repr(loaded.settings) and "s3cret" not in str(loaded.settings)


def test_tracker_names_cannot_break_refs(tmp_path: Path) -> None:
    path = write(tmp_path, '[trackers."zen:desk"]\ntype = "memory"\n')
    with pytest.raises(ConfigError, match="without ':'"):
        load(path, read_env=False)


def test_the_readme_tracker_example_loads_with_secrets_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Trackers", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    secrets = {
        "TICKET_BRIDGE_TRACKERS__ZENDESK__OAUTH_CLIENT_SECRET": "zd-client-secret",
        "TICKET_BRIDGE_TRACKERS__ZENDESK__WEBHOOK_SECRET": "zd-webhook-secret",
        "TICKET_BRIDGE_TRACKERS__JIRA__API_TOKEN": "jira-token",
        "TICKET_BRIDGE_TRACKERS__JIRA__WEBHOOK_SECRET": "jira-webhook-secret",
        "TICKET_BRIDGE_TRACKERS__CLICKUP__TOKEN": "pk_123",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    loaded = load(write(tmp_path, example))
    assert set(loaded.settings.trackers) == {"zendesk", "jira", "clickup"}
    shown = repr(loaded.settings) + str(loaded.settings)
    assert not any(value in shown for value in secrets.values())


def test_lifecycle_timers_are_off_unless_enabled_and_take_iso_durations(tmp_path: Path) -> None:
    assert load(write(tmp_path, GOOD), read_env=False).settings.lifecycle.enabled is False
    text = GOOD + '[lifecycle]\nenabled = true\nclose_resolved_after = "PT48H"\n'
    lifecycle = load(write(tmp_path, text), read_env=False).settings.lifecycle
    assert lifecycle.enabled
    assert lifecycle.close_resolved_after is not None
    assert lifecycle.close_resolved_after.total_seconds() == 48 * 3600
    bad = GOOD + '[lifecycle]\nauto_close_after = "-P1D"\n'
    with pytest.raises(ConfigError, match="auto_close_after must be a positive duration"):
        load(write(tmp_path, bad), read_env=False)
