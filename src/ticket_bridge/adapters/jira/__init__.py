"""Jira Cloud adapter: REST v3 through the ``jira`` library (and its session where it falls short).

Same files as every tracker package: config, client (HTTP and error classification), payloads
(Jira shapes), adf (Atlassian Document Format <-> Markdown), translate, adapter, webhooks, and
fake (a stateful Jira Cloud on loopback, used by the tests and ``ticket-bridge sandbox``).
"""
