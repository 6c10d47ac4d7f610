"""ticket-bridge: keeps support tickets consistent across ClickUp, Jira Cloud and Zendesk Support."""

from __future__ import annotations

__version__ = "0.1.0"
