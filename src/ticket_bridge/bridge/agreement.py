"""Whether the trackers agree: the check behind the demo's ``converged`` and the admin's status.

Reads every linked ticket afresh and compares it with the canonical state; pure reads, no writes.
"""

from __future__ import annotations

from collections.abc import Mapping

from ticket_bridge.bridge import lifecycle
from ticket_bridge.bridge.adapter import Adapter
from ticket_bridge.bridge.comments import digest
from ticket_bridge.bridge.policy import SyncPolicy
from ticket_bridge.bridge.store import LinkRecord, Store


def link_disagreements(
    link: LinkRecord, store: Store, adapters: Mapping[str, Adapter], policy: SyncPolicy
) -> list[str]:
    if link.state != "active":
        return [f"link {link.key} is {link.state}: {link.reason}"]
    problems: list[str] = []
    for tracker, ref in link.refs.items():
        adapter = adapters[tracker]
        native = adapter.read(ref.native_id)
        for field in policy.synced:
            if field not in adapter.fields or field not in native.fields:
                continue  # this tracker, or this ticket of it, cannot hold the field
            want = getattr(link.canonical, field.value)
            got = adapter.translation.to_canonical(field, native.fields[field], want)
            if got != want:
                problems.append(
                    f"link {link.key}: {tracker}:{ref.native_id} {field.value} reads as {got!s}, "
                    f"canonical is {want!s}"
                )
    for target in policy.route_targets(link.origin, link.kind, link.canonical.status):
        counterpart = adapters.get(target)
        creatable = counterpart is not None and lifecycle.creatable_in(
            link.kind, customer_facing=counterpart.customer_facing
        )
        if creatable and target not in link.refs:
            problems.append(f"link {link.key}: no counterpart in {target} yet")
    comments, mapped = store.comment_record(link.id)
    for comment in comments:
        for tracker in link.refs:
            entry = mapped.get((comment.id, tracker))
            if entry is None:
                problems.append(f"link {link.key}: comment {comment.id} not yet in {tracker}")
            elif entry.state == "posted" and entry.digest != digest(comment.body):
                problems.append(f"link {link.key}: an edit of {comment.id} is not yet in {tracker}")
    return problems


def disagreements(store: Store, adapters: Mapping[str, Adapter], policy: SyncPolicy) -> list[str]:
    problems: list[str] = []
    for link in store.links():
        problems.extend(link_disagreements(link, store, adapters, policy))
    return problems
