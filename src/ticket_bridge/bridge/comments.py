"""Comment mirroring rules: visibility, attribution, and the marker that makes a mirror findable.

A mirror carries a marker naming the comment it mirrors, so it is never mirrored back and so a
crash between posting and recording is repaired by finding the marker instead of posting again.
"""

from __future__ import annotations

import hashlib
import re

from ticket_bridge.bridge.model import Comment, Visibility

MARKER = "ticket-bridge:mirror"
_MARKER_LINE = re.compile(r"^\[//\]: # \(" + re.escape(MARKER) + r" (?P<key>[^\s()]+)\)\s*$", re.M)


def mirror_visibility(
    comment: Comment,
    *,
    source: str,
    source_customer_facing: bool,
    target_customer_facing: bool,
    target_internal_comments: bool,
    public_from: frozenset[str],
) -> Visibility | None:
    """The visibility a mirror gets in the target, or None when it must not go there at all.

    Internal never becomes public in a customer-facing tracker; public comments from an internal
    tracker arrive in a customer-facing one as internal notes unless their source is in
    ``public_from``; a customer-facing tracker that cannot hold internal comments gets none.
    """
    wanted = comment.visibility
    if (
        wanted is Visibility.PUBLIC
        and target_customer_facing
        and not source_customer_facing
        and source not in public_from
    ):
        wanted = Visibility.INTERNAL
    if wanted is Visibility.INTERNAL and target_customer_facing and not target_internal_comments:
        return None
    return wanted


def digest(body: str) -> str:
    """What a mirror's base records of a body: enough to tell an edit, nothing of its text."""
    return hashlib.sha256(body.encode()).hexdigest()


def attribution(comment: Comment) -> str:
    who = comment.author.name
    when = comment.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"**{who}** wrote in {comment.origin.tracker} on {when}:"


def render(comment: Comment) -> str:
    """Markdown body of a mirror: attribution, the original body, the marker as an invisible line."""
    return f"{attribution(comment)}\n\n{comment.body}\n\n[//]: # ({MARKER} {comment.id})"


def mirror_of(body: str) -> str | None:
    """The key of the comment this body mirrors, or None for an original comment."""
    found = _MARKER_LINE.search(body)
    return found.group("key") if found else None


def strip_marker(body: str) -> str:
    return _MARKER_LINE.sub("", body).rstrip()


def mark_internal(body: str, prefix: str) -> str:
    """For trackers with no internal flag: the visible prefix that says a comment is internal."""
    return body if body.startswith(prefix) else prefix + body


def read_internal(body: str, prefix: str) -> tuple[str, Visibility]:
    if prefix and body.startswith(prefix):
        return body[len(prefix) :], Visibility.INTERNAL
    return body, Visibility.PUBLIC
