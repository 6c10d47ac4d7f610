"""``python -m ticket_bridge`` runs the same command line as ``ticket-bridge``."""

from __future__ import annotations

from ticket_bridge.cli import main

main()
