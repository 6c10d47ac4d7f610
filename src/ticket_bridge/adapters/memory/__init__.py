"""An in-memory tracker for tests, the demo and benchmarks: real semantics, no network.

Same files as every tracker package: config, translation, adapter, webhooks, fake (the
"server" holding the tickets, with fault injection for the reliability tests).
"""
