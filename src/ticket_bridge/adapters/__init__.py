"""Tracker adapters: each implements the Protocols that ``ticket_bridge.bridge`` defines."""
