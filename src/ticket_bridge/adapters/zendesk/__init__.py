"""Zendesk Support adapter: the Adapter Protocol on zenpy and its HTTP session, and a fake Zendesk.

Wiring (cli.py): ``ZendeskAdapter(name, ZendeskConfig(...), load_mapping(config.mapping))``;
``ticket-bridge check`` prints ``config.check(config)`` and ``adapter.inspect()`` (the mapping
against ``adapter.live_statuses()``, the due date field, the webhook and its trigger; set
``webhook_url`` to the bridge's public URL so the webhook is matched exactly);
``ticket-bridge sandbox`` serves ``FakeZendesk().app`` with ``adapters.serving.Served`` and prints
``fake.describe(url)``. Admins configure the trigger body ``webhooks.TRIGGER_BODY`` or an
event-subscription webhook on ``zen:event-type:ticket.*``.
Zendesk API tokens stop working on 2027-04-30: configure an OAuth client.
"""
