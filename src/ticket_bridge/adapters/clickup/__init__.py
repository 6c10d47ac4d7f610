"""ClickUp adapter: native ClickUp values to and from the canonical ticket."""
