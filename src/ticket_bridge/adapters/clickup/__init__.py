"""ClickUp adapter (API v2): a thin client on requests, per-list status translation with a fallback
on status type, thin signed webhooks, and a fake ClickUp served over loopback for tests and the sandbox.

Same files as every tracker package: config, client, payloads, translate, adapter, webhooks, fake.
"""
