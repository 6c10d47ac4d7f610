"""The demo's scripted round of edits, made by people in three memory trackers.

``settle`` runs the bridge until the trackers agree; it is called between rounds, as the
daemon would run between people's edits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ticket_bridge.adapters.memory.fake import MemoryTracker
from ticket_bridge.bridge.model import Person

CUSTOMER = Person(name="Dana Customer", email="dana@example.com")
AGENT = Person(name="Sam Agent", email="sam@support.example.com")
ENGINEER = Person(name="Kim Engineer", email="kim@eng.example.com")
LEAD = Person(name="Lee Delivery", email="lee@delivery.example.com")


def play(trackers: Mapping[str, MemoryTracker], settle: Callable[[str], None]) -> None:
    zendesk, jira, clickup = trackers["zendesk"], trackers["jira"], trackers["clickup"]

    outage = zendesk.open_ticket(
        "Checkout returns HTTP 500 for EU cards",
        kind="incident",
        requester=CUSTOMER.email,
        status="new",
        priority="urgent",
        description="Since 09:00 every EU card payment fails at the last step.",
    )
    zendesk.comment(outage, CUSTOMER, "We are losing orders, please hurry.", public=True)
    how_to = zendesk.open_ticket(
        "How do I export last month's invoices?",
        kind="question",
        requester="ana@example.com",
        status="new",
        priority="low",
    )
    escalation = jira.open_ticket(
        "Customer threatens to churn over repeated checkout outages",
        kind="Escalation",
        status="To Do",
        priority="High",
    )
    settle("a customer opens two tickets in Zendesk; an engineer escalates in Jira")

    jira_outage = _counterpart(jira, f"zendesk:{outage}")
    clickup_outage = _counterpart(clickup, f"zendesk:{outage}")
    zendesk.edit(outage, status="open", assignee=AGENT.email)
    zendesk.comment(
        outage, AGENT, "Customer is on the enterprise plan: keep them posted.", public=False
    )
    jira.edit(jira_outage, status="In Progress", due="2026-12-01")
    jira.comment(
        jira_outage,
        ENGINEER,
        "Root cause: expired TLS certificate on the EU gateway.",
        public=False,
    )
    jira.comment(jira_outage, ENGINEER, "A fix is deploying now.", public=True)
    clickup.edit(clickup_outage, priority="high")
    clickup.comment(clickup_outage, LEAD, "Scheduled the certificate rotation for all regions.")
    zendesk.edit(how_to, status="open")
    zendesk.comment(how_to, AGENT, "Billing > Invoices > Export, then pick the month.", public=True)
    settle("agents, engineers and delivery edit the same tickets in their own trackers")

    zendesk.edit(outage, status="solved")
    zendesk.edit(how_to, status="solved")
    settle("support solves both tickets in Zendesk")
    del escalation


def _counterpart(tracker: MemoryTracker, key: str) -> str:
    return next(t.id for t in tracker.tickets.values() if t.key == key)
