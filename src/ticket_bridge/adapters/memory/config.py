"""Settings of one in-memory tracker instance."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from ticket_bridge.bridge.model import Frozen


class MemoryConfig(Frozen):
    type: Literal["memory"] = "memory"
    mapping: str = "memory"
    customer_facing: bool = False
    internal_comments: bool = True
    internal_prefix: str = "[internal] "
    webhook_secret: SecretStr = SecretStr("memory-webhook-secret")
    page_size: int = Field(default=100, ge=1, le=1000)
