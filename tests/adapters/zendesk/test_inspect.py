"""inspect() on a live Zendesk account: what the mapping and the config need, and what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.zendesk.conftest import ZendeskHarness
from tests.conftest import TickingClock
from ticket_bridge.adapters.serving import Served
from ticket_bridge.adapters.zendesk.fake import FakeZendesk
from ticket_bridge.bridge.adapter import Finding, Severity
from ticket_bridge.bridge.errors import RateLimited, Transient

CUSTOM_STATUSES = str(Path(__file__).with_name("custom-statuses.toml"))
ELSEWHERE = "https://bridge.example.com/webhooks/zendesk"


def subjects(findings: list[Finding]) -> dict[str, Severity]:
    return {f.subject: f.severity for f in findings}


def test_an_account_set_up_with_a_trigger_has_no_findings(
    served: Served, fake: FakeZendesk, clock: TickingClock
) -> None:
    url = f"{served.url}/webhooks/zendesk-trigger"
    fake.subscribe(url, style="trigger")
    field = fake.add_ticket_field("Due date", "date")
    harness = ZendeskHarness(served, fake, clock, webhook_url=url, due_field_id=field)
    assert list(harness.adapter.inspect()) == []
    harness.finish()


def test_a_status_the_mapping_names_is_missing_from_the_account(
    zendesk: ZendeskHarness,
) -> None:
    harness = ZendeskHarness(zendesk.served, zendesk.fake, zendesk.clock, mapping=CUSTOM_STATUSES)
    [finding] = harness.adapter.inspect()
    assert finding.severity is Severity.ERROR
    assert finding.subject == "status 'In progress'"
    assert "does not have" in finding.message
    harness.finish()


def test_a_status_the_account_has_and_the_mapping_lacks_is_an_error(
    zendesk: ZendeskHarness,
) -> None:
    zendesk.fake.add_custom_status("pending", "Waiting on vendor")
    [finding] = zendesk.adapter.inspect()
    assert (finding.severity, finding.subject) == (Severity.ERROR, "status 'Waiting on vendor'")
    assert "park" in finding.message


def test_an_inactive_custom_status_counts_as_missing(zendesk: ZendeskHarness) -> None:
    status_id = zendesk.fake.add_custom_status("open", "In progress")
    next(s for s in zendesk.fake.statuses if s["id"] == status_id)["active"] = False
    harness = ZendeskHarness(zendesk.served, zendesk.fake, zendesk.clock, mapping=CUSTOM_STATUSES)
    assert subjects(list(harness.adapter.inspect())) == {"status 'In progress'": Severity.ERROR}
    harness.finish()


@pytest.mark.parametrize(
    ("field_type", "active", "words"),
    [
        (None, True, "has no ticket field"),
        ("text", True, "is a text field, not a date field"),
        ("date", False, "is inactive"),
    ],
)
def test_a_due_date_field_that_cannot_hold_dates_is_an_error(
    zendesk: ZendeskHarness, field_type: str | None, active: bool, words: str
) -> None:
    field_id = 999_999
    if field_type is not None:
        field_id = zendesk.fake.add_ticket_field("Due", field_type, active=active)
    harness = ZendeskHarness(zendesk.served, zendesk.fake, zendesk.clock, due_field_id=field_id)
    [finding] = harness.adapter.inspect()
    assert (finding.severity, finding.subject) == (Severity.ERROR, f"due_field_id {field_id}")
    assert words in finding.message
    harness.finish()


def test_no_webhook_to_the_bridge_is_a_warning(zendesk: ZendeskHarness) -> None:
    harness = ZendeskHarness(zendesk.served, zendesk.fake, zendesk.clock, webhook_url=ELSEWHERE)
    [finding] = harness.adapter.inspect()
    assert (finding.severity, finding.subject) == (Severity.WARNING, "webhook")
    assert ELSEWHERE in finding.message and "polled" in finding.message
    harness.finish()


def test_an_inactive_webhook_is_a_warning(zendesk: ZendeskHarness) -> None:
    [webhook_id] = zendesk.fake.webhooks
    zendesk.fake.set_webhook_active(webhook_id, False)
    assert subjects(list(zendesk.adapter.inspect())) == {"webhook": Severity.WARNING}


def test_without_a_configured_url_any_active_webhook_counts(zendesk: ZendeskHarness) -> None:
    harness = ZendeskHarness(zendesk.served, zendesk.fake, zendesk.clock, webhook_url=None)
    assert list(harness.adapter.inspect()) == []
    for webhook_id in zendesk.fake.webhooks:
        zendesk.fake.set_webhook_active(webhook_id, False)
    [finding] = harness.adapter.inspect()
    assert finding.subject == "webhook" and "no active webhook at all" in finding.message
    harness.finish()


def test_a_trigger_webhook_without_an_active_trigger_is_a_warning(
    served: Served, fake: FakeZendesk, clock: TickingClock
) -> None:
    url = f"{served.url}/webhooks/zendesk-trigger"
    fake.subscribe(url, style="trigger")
    harness = ZendeskHarness(served, fake, clock, webhook_url=url)
    [trigger_id] = fake.triggers
    fake.set_trigger_active(trigger_id, False)
    [finding] = harness.adapter.inspect()
    assert (finding.severity, finding.subject) == (Severity.WARNING, "trigger")
    assert "Notify active webhook" in finding.message
    [webhook_id] = fake.webhooks
    fake.add_trigger("01HSOMEOTHERWEBHOOK")
    assert subjects(list(harness.adapter.inspect())) == {"trigger": Severity.WARNING}
    fake.add_trigger(webhook_id)
    assert list(harness.adapter.inspect()) == []
    harness.finish()


def test_every_finding_at_once(zendesk: ZendeskHarness) -> None:
    zendesk.fake.add_custom_status("hold", "Waiting on vendor")
    harness = ZendeskHarness(
        zendesk.served,
        zendesk.fake,
        zendesk.clock,
        mapping=CUSTOM_STATUSES,
        webhook_url=ELSEWHERE,
        due_field_id=4242,
    )
    assert subjects(list(harness.adapter.inspect())) == {
        "status 'In progress'": Severity.ERROR,
        "status 'Waiting on vendor'": Severity.ERROR,
        "due_field_id 4242": Severity.ERROR,
        "webhook": Severity.WARNING,
    }
    harness.finish()


def test_a_throttled_account_is_rate_limited_not_a_finding(zendesk: ZendeskHarness) -> None:
    zendesk.throttle()
    with pytest.raises(RateLimited):
        zendesk.adapter.inspect()


def test_an_unreachable_account_is_transient(fake: FakeZendesk, clock: TickingClock) -> None:
    with Served(fake.app) as running:
        harness = ZendeskHarness(running, fake, clock)
    with pytest.raises(Transient):
        harness.adapter.inspect()
    fake.stop()
