"""``inspect`` against a live (fake) Workspace: statuses, priorities, the key field, the webhook."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from pydantic import SecretStr

import ticket_bridge
from tests.adapters.clickup.conftest import Bridge, MakeAdapter
from ticket_bridge.adapters.clickup.adapter import ClickUpAdapter
from ticket_bridge.adapters.clickup.fake import SEED000_STATUSES, FakeClickUp
from ticket_bridge.bridge.adapter import Finding, Severity


@pytest.fixture
def ready(fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter) -> ClickUpAdapter:
    """Set up as documented: the seed List and key field, a webhook to the bridge."""
    fake.subscribe(bridge.url)
    return make_adapter(webhook_url=bridge.url)


def by_subject(findings: Sequence[Finding]) -> dict[str, Finding]:
    found = {f.subject: f for f in findings}
    assert len(found) == len(findings), findings
    return found


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 15
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.02)


def test_a_documented_setup_has_no_findings_with_or_without_a_webhook_url(
    fake: FakeClickUp, bridge: Bridge, ready: ClickUpAdapter, make_adapter: MakeAdapter
) -> None:
    assert ready.inspect() == []
    assert make_adapter().inspect() == [], "unset webhook_url: the webhook signed with our secret"
    assert make_adapter(correlation_field_id=None, webhook_url=bridge.url).inspect() == []


def test_a_status_only_its_type_stands_in_for_is_a_warning(
    fake: FakeClickUp, ready: ClickUpAdapter
) -> None:
    fake.set_statuses(fake.list_id, [s for s in SEED000_STATUSES if s[0] != "planned"])
    [finding] = ready.inspect()
    assert finding.severity is Severity.WARNING
    assert finding.subject == f"list {fake.list_id} status 'Planned'"
    assert "planned as 'pending'" in finding.message  # the List's first status of type custom


def test_a_status_with_no_stand_in_is_an_error(fake: FakeClickUp, ready: ClickUpAdapter) -> None:
    fake.set_statuses(fake.list_id, [("Open", "open"), ("Resolved", "done")])
    found = by_subject(ready.inspect())
    missing = ["Pending", "Needs Clarification", "Planned", "In Progress"]
    assert set(found) == {f"list {fake.list_id} status {n!r}" for n in missing}
    assert all(f.severity is Severity.ERROR for f in found.values())
    assert "none of type custom" in found[f"list {fake.list_id} status 'Planned'"].message


def test_status_names_match_whatever_the_case(fake: FakeClickUp, ready: ClickUpAdapter) -> None:
    fake.set_statuses(fake.list_id, [(n.upper(), t) for n, t in SEED000_STATUSES])
    assert ready.inspect() == []


def test_a_priority_clickup_does_not_have_is_an_error(
    fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    fake.subscribe(bridge.url)
    shipped = Path(ticket_bridge.__file__).parent / "mappings" / "seed000-clickup-support.toml"
    text = shipped.read_text(encoding="utf-8").replace('urgent = ["P1"]', 'Urgent = ["P1"]')
    edited = tmp_path / "support.toml"
    edited.write_text(text, encoding="utf-8")
    [finding] = make_adapter(mapping=str(edited), webhook_url=bridge.url).inspect()
    assert finding.severity is Severity.ERROR
    assert finding.subject == "priority 'Urgent'"
    assert "urgent, high, normal, low" in finding.message


def test_a_missing_or_non_text_key_field_is_an_error(
    fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter
) -> None:
    fake.subscribe(bridge.url)
    gone = "00000000-0000-0000-0000-00000000dead"
    [missing] = make_adapter(correlation_field_id=gone, webhook_url=bridge.url).inspect()
    assert missing.severity is Severity.ERROR and missing.subject == f"custom field {gone}"
    assert "unset correlation_field_id" in missing.message
    number = fake.add_custom_field(fake.list_id, "Ticket number", type="number")
    [wrong] = make_adapter(correlation_field_id=number, webhook_url=bridge.url).inspect()
    assert wrong.severity is Severity.ERROR and "'number'" in wrong.message


def test_a_list_the_token_cannot_see_is_an_error(
    fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter
) -> None:
    fake.subscribe(bridge.url)
    found = by_subject(make_adapter(list_id="999999", webhook_url=bridge.url).inspect())
    assert found["list 999999"].severity is Severity.ERROR
    assert "404 List not found" in found["list 999999"].message


def test_no_webhook_or_no_secret_is_a_warning(
    fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter
) -> None:
    [none] = make_adapter(webhook_url=bridge.url).inspect()
    assert none.severity is Severity.WARNING and none.subject == "webhook"
    assert f"posts to {bridge.url}" in none.message
    [unsigned] = make_adapter().inspect()
    assert "signed with webhook_secret" in unsigned.message
    fake.subscribe(bridge.url)
    [secretless] = make_adapter(webhook_secret=None, webhook_url=bridge.url).inspect()
    assert secretless.severity is Severity.WARNING and "no webhook_secret" in secretless.message


def test_a_webhook_elsewhere_or_with_another_secret_is_a_warning(
    fake: FakeClickUp, bridge: Bridge, make_adapter: MakeAdapter
) -> None:
    fake.subscribe("https://old-bridge.example.com/webhooks/clickup")
    [elsewhere] = make_adapter(webhook_url=bridge.url).inspect()
    assert elsewhere.subject == "webhook"
    other = SecretStr("not-the-configured-secret")
    hook = fake.subscribe(bridge.url, other)
    [wrong] = make_adapter(webhook_url=bridge.url).inspect()
    assert wrong.severity is Severity.WARNING and wrong.subject == f"webhook {hook}"
    assert "another secret" in wrong.message
    assert other.get_secret_value() not in repr(wrong)
    assert fake.webhook_secret.get_secret_value() not in repr(wrong)


def test_a_webhook_without_task_events_or_on_another_list_is_a_warning(
    fake: FakeClickUp, bridge: Bridge, ready: ClickUpAdapter, make_adapter: MakeAdapter
) -> None:
    other = fake.add_list("Ops", [("todo", "open")])
    [hook] = fake.webhook_ids()
    fake.unhook(hook)
    created = ready.client.create_webhook(
        fake.team_id, {"endpoint": bridge.url, "events": ["taskCreated"], "list_id": int(other)}
    )
    adapter = make_adapter(webhook_url=bridge.url, webhook_secret=created.webhook.secret)
    [finding] = adapter.inspect()
    assert finding.subject == f"webhook {created.id}"
    assert f"does not watch List {fake.list_id}" in finding.message
    assert "lacks the events taskUpdated, taskDeleted" in finding.message


def test_a_failing_webhook_is_a_warning_until_it_recovers(
    fake: FakeClickUp, bridge: Bridge, ready: ClickUpAdapter
) -> None:
    [hook] = fake.webhook_ids()
    bridge.status = 500
    fake.open_task("not delivered")
    wait_for(lambda: fake.webhook(hook)["health"]["status"] == "failing", "the hook failing")
    [finding] = ready.inspect()
    assert finding.severity is Severity.WARNING and finding.subject == f"webhook {hook}"
    assert "is failing after 1 failed deliveries" in finding.message
    bridge.status = 200
    fake.open_task("delivered")
    wait_for(lambda: fake.webhook(hook)["health"]["status"] == "active", "the hook recovering")
    assert ready.inspect() == []


def test_a_410_suspends_the_webhook(
    fake: FakeClickUp, bridge: Bridge, ready: ClickUpAdapter
) -> None:
    [hook] = fake.webhook_ids()
    bridge.status = 410
    fake.open_task("gone")
    wait_for(lambda: fake.webhook(hook)["health"]["status"] == "suspended", "the hook suspended")
    posted = len(bridge.got)
    bridge.status = 200
    fake.open_task("never sent")
    time.sleep(0.3)
    assert len(bridge.got) == posted, "a suspended webhook posts nothing"
    [finding] = ready.inspect()
    assert "is suspended" in finding.message
