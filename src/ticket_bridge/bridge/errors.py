"""Errors, modelled by what the caller must do about them.

- ``Transient``: try the same call again later (``RateLimited`` says how much later).
- ``Busy``: other workers wait on this tracker; give the work back and take other work.
- ``Conflict``: the remote changed under us; read again and merge again.
- ``Permanent``: trying again will not help; give up on this call (``NotFound`` is one case).
- ``ParkLink``: this link cannot sync until an admin acts; others keep syncing.

Each carries its context as attributes, and its message says what and where in one line.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Root of every error ticket-bridge raises on purpose."""


class TrackerError(BridgeError):
    def __init__(self, tracker: str, message: str, *, ref: str | None = None) -> None:
        self.tracker = tracker
        self.ref = ref
        where = ref if ref is not None else tracker
        super().__init__(f"{where}: {message}")


class Transient(TrackerError):
    """A failure that may pass: a timeout, a 5xx, a dropped connection."""


class RateLimited(Transient):
    def __init__(
        self, tracker: str, retry_after: float, message: str = "", *, ref: str | None = None
    ) -> None:
        self.retry_after = max(0.0, retry_after)
        text = f"rate-limited, retry after {self.retry_after:g}s"
        super().__init__(tracker, f"{text}: {message}" if message else text, ref=ref)


class Permanent(TrackerError):
    """The tracker refused in a way that repeating will not change."""


class NotFound(Permanent):
    pass


class Conflict(TrackerError):
    """A concurrent edit won the race: read again and re-merge."""


class ParkLink(BridgeError):
    """The link cannot sync until an admin acts; ``reason`` names what is wrong and where."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class UnknownNativeValue(ParkLink):
    """A tracker holds a native value no mapping covers (a status added after the mapping was written)."""

    def __init__(self, tracker: str, field: str, value: object, source: str) -> None:
        self.tracker = tracker
        self.field = field
        self.value = value
        self.source = source
        super().__init__(
            f"{tracker}: {field} {value!r} is not in the mapping {source}: add it there"
        )


class Busy(BridgeError):
    """Other workers hold what this work needs: every slot of ``tracker``, or ``link``.

    Give the ticket back and take other work; it goes again once that is free. Raised before
    any request is sent, so nothing was written: neither an outage nor a failure of the link.
    """

    def __init__(self, *, tracker: str | None = None, link: str | None = None) -> None:
        self.tracker = tracker
        self.link = link
        if tracker is not None:
            super().__init__(f"{tracker}: every worker slot is waiting on this tracker")
        else:
            super().__init__(f"link {link}: another worker is reconciling it")


class Refused(BridgeError):
    """An admin's request that cannot be done as asked; the message says why and what to do."""


class ConfigError(BridgeError):
    """The configuration cannot be used; ``problems`` lists every one, each with where it is."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class MappingError(ConfigError):
    pass


class StoreError(BridgeError):
    """The state store cannot be used (missing, locked, unreachable, behind on migrations)."""


class WebhookRejected(BridgeError):
    """A delivery that must not reach the inbox; ``status`` is the HTTP status to answer with."""

    def __init__(self, tracker: str, status: int, reason: str) -> None:
        self.tracker = tracker
        self.status = status
        self.reason = reason
        super().__init__(f"{tracker} webhook refused ({status}): {reason}")
