"""The demo's scripted round of edits, made by people in the fake Zendesk, Jira and ClickUp.

Each edit goes through a fake the way a person's would through the tracker's UI, so the fakes
send their own signed webhooks to the daemon. ``settle`` waits until the trackers agree again.
"""

from __future__ import annotations

from collections.abc import Callable

from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.zendesk.fake import FakeZendesk

CUSTOMER = "dana@example.com"
AGENT = "sam@support.example.com"


def people(jira: FakeJira, zendesk: FakeZendesk, clickup: FakeClickUp) -> int:
    """The accounts the scenario acts as; returns the ClickUp member id of the delivery lead."""
    zendesk.add_user(AGENT, "Sam Agent")
    zendesk.add_user(CUSTOMER, "Dana Customer", role="end-user")
    jira.add_account("557058:kim", "Kim Engineer", "kim@eng.example.com")
    jira.add_account("557058:sam", "Sam Agent", AGENT)
    clickup.add_member("Sam Agent", AGENT, "Europe/Berlin")
    return clickup.add_member("Lee Delivery", "lee@delivery.example.com", "Europe/Berlin")


def play(
    jira: FakeJira,
    zendesk: FakeZendesk,
    clickup: FakeClickUp,
    settle: Callable[[str], None],
    counterpart: Callable[[str, str], str],
    lead: int,
) -> None:
    """People act in the fakes set up by ``people`` (``lead`` is the ClickUp delivery lead);
    ``counterpart(tracker, zendesk id)`` finds the ticket the bridge made for a Zendesk ticket."""
    outage = zendesk.open_ticket(
        "Checkout returns HTTP 500 for EU cards",
        "Since 09:00 every EU card payment fails at the last step.",
        requester=CUSTOMER,
        priority="urgent",
        type="incident",
    )
    zendesk.comment(outage, "We are losing orders, please hurry.", public=True, author=CUSTOMER)
    how_to = zendesk.open_ticket(
        "How do I export last month's invoices?",
        requester="dana@example.com",
        priority="low",
        type="question",
    )
    jira.open_issue(
        "Customer threatens to churn over repeated checkout outages",
        issuetype="Escalation",
        priority="High",
    )
    settle("a customer opens two tickets in Zendesk; an engineer escalates in Jira")

    issue = counterpart("jira", str(outage))
    task = counterpart("clickup", str(outage))
    zendesk.edit(outage, status="open", assignee_email=AGENT)
    zendesk.comment(outage, "Customer is on the enterprise plan: keep them posted.", public=False)
    jira.move(issue, "In Progress")
    jira.edit(issue, duedate="2026-12-01")
    jira.comment(
        issue,
        "Root cause: expired TLS certificate on the EU gateway.",
        author="557058:kim",
        visibility={"type": "role", "value": "Administrators"},
    )
    jira.comment(issue, "A fix is deploying now.", author="557058:kim")
    clickup.edit_task(task, by=lead, priority=2)
    clickup.comment(task, "Scheduled the certificate rotation for all regions.", by=lead)
    zendesk.edit(how_to, status="open")
    zendesk.comment(how_to, "Billing > Invoices > Export, then pick the month.", public=True)
    settle("agents, engineers and delivery edit the same tickets in their own trackers")

    zendesk.edit(outage, status="solved")
    zendesk.edit(how_to, status="solved")
    settle("support solves both tickets in Zendesk")
