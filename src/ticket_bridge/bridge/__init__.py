"""The tracker-agnostic core: canonical model, lifecycle, store and reconciler.

Nothing in here imports ``ticket_bridge.adapters``; adapters implement the Protocols defined here.
"""
