"""Prometheus metrics of one daemon, fed from the engine's events and the receivers."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ticket_bridge.bridge.errors import RateLimited
from ticket_bridge.bridge.events import (
    CommentEdited,
    CommentMirrored,
    ConflictSettled,
    CounterpartCreated,
    DeadLettered,
    Event,
    FieldPropagated,
    HintSettled,
    LinkFailed,
    LinkParked,
)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.deliveries = Counter(
            "ticket_bridge_deliveries",
            "Webhook deliveries by tracker and outcome (accepted, duplicate, refused:<status>).",
            ["tracker", "outcome"],
            registry=r,
        )
        self.inbox_depth = Gauge(
            "ticket_bridge_inbox_depth", "Deliveries stored and not yet reconciled.", registry=r
        )
        self.reconciles = Counter(
            "ticket_bridge_reconciles", "Link reconciles by outcome.", ["outcome"], registry=r
        )
        self.writes = Counter(
            "ticket_bridge_writes",
            "Remote writes by tracker and kind.",
            ["tracker", "kind"],
            registry=r,
        )
        self.rate_limited = Counter(
            "ticket_bridge_rate_limited",
            "429s (and retry-after 503s) received.",
            ["tracker"],
            registry=r,
        )
        self.conflicts = Counter(
            "ticket_bridge_conflicts", "Concurrent edits settled by policy.", ["field"], registry=r
        )
        self.dead_letters = Counter(
            "ticket_bridge_dead_letters", "Links given up on after repeated failures.", registry=r
        )
        self.propagation = Histogram(
            "ticket_bridge_propagation_seconds",
            "From a delivery's arrival to the end of the reconcile it caused.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )

    def observe(self, event: Event) -> None:
        match event:
            case FieldPropagated(target=target):
                self.writes.labels(target, "field").inc()
            case CommentMirrored(target=target) | CommentEdited(target=target):
                self.writes.labels(target, "comment").inc()
            case CounterpartCreated(target=target):
                self.writes.labels(target, "create").inc()
            case ConflictSettled(field=field):
                self.conflicts.labels(field).inc()
            case DeadLettered():
                self.dead_letters.inc()
                self.reconciles.labels("dead_lettered").inc()
            case LinkFailed():
                self.reconciles.labels("failed").inc()
            case LinkParked():
                self.reconciles.labels("parked").inc()
            case HintSettled(latency=latency):
                self.propagation.observe(latency)
                self.reconciles.labels("synced").inc()

    def retried(self, error: BaseException) -> None:
        if isinstance(error, RateLimited):
            self.throttled(error.tracker)

    def throttled(self, tracker: str) -> None:
        self.rate_limited.labels(tracker).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
