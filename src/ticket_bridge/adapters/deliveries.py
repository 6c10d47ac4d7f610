"""What every tracker's webhook parser checks the same way: size, signature, body shape.

The signature scheme differs per tracker (what is signed, how it is encoded); comparing it is
the same: in constant time, and with a refusal that says which header and why.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ticket_bridge.bridge.errors import WebhookRejected

MAX_BODY = 1024 * 1024
M = TypeVar("M", bound=BaseModel)


def headers_of(tracker: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The headers by lower-case name, once the body is known not to be oversized."""
    if len(body) > MAX_BODY:
        raise WebhookRejected(tracker, 413, f"body of {len(body)} bytes is over {MAX_BODY}")
    return {k.lower(): v for k, v in headers.items()}


def check_signature(
    tracker: str, header: str, given: str | None, expected: str, *, missing: str = ""
) -> None:
    """Refuse (401) a missing signature, or one that does not match the expected one."""
    if not given:
        raise WebhookRejected(tracker, 401, f"{header} header is missing{missing}")
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise WebhookRejected(tracker, 401, f"{header} does not match the body")


def body_as(tracker: str, model: type[M], body: bytes) -> M:
    """The body as the delivery's shape; a malformed one is refused (400) saying where."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise WebhookRejected(
            tracker, 400, f"malformed delivery at {where}: {first['msg']}"
        ) from exc
