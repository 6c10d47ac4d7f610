"""Jira Cloud adapter: native Jira values to and from the canonical ticket."""
