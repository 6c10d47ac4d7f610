"""Zendesk Support adapter: native Zendesk values to and from the canonical ticket."""
