"""The HTTP side of the daemon: webhook receivers, health, readiness and metrics.

A delivery is verified by its tracker's adapter, deduplicated and stored in the inbox, and
answered 202 before any tracker is called: trackers time out after a few seconds and ClickUp
drops an event after five failures. Workers read the authoritative state later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from ticket_bridge.bridge.adapter import Adapter, Hint
from ticket_bridge.bridge.errors import StoreError, WebhookRejected
from ticket_bridge.bridge.store import Store
from ticket_bridge.daemon.intake import Intake
from ticket_bridge.daemon.metrics import Metrics

MAX_BODY = 1024 * 1024


class BodyTooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    # Headers arrive as latin-1, where str.isdigit() also takes "²", which int() refuses.
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def receivers(
    store: Store,
    adapters: Mapping[str, Adapter],
    metrics: Metrics,
    *,
    ready: Callable[[], list[str]],
    accepted: Callable[[], None] = lambda: None,
    seen: Callable[[Hint], bool] = lambda _: False,
) -> FastAPI:
    """The app; ``ready`` lists what keeps the daemon from being ready, ``accepted`` wakes workers,
    ``seen`` tells a delivery about a version the bridge already holds. Such a delivery, and an
    echo (only the bridge's own writes), is answered "seen" and not stored: nothing to read."""
    app = FastAPI(title="ticket-bridge", docs_url=None, redoc_url=None)

    intake = Intake(store)

    async def enqueue(hints: list[Hint]) -> tuple[int, int, int]:
        news = [h for h in hints if not (h.echo or seen(h))]
        fresh = await intake.store_hints(news)
        return fresh, len(news) - fresh, len(hints) - len(news)

    async def deliver(tracker: str, request: Request) -> JSONResponse:
        adapter = adapters.get(tracker)
        if adapter is None:
            metrics.deliveries.labels("unknown", "refused:404").inc()
            return JSONResponse({"error": f"no tracker named {tracker!r} is configured"}, 404)
        try:
            body = await _body(request, MAX_BODY)
            hints = list(adapter.parse_webhook(dict(request.headers), body))
        except BodyTooLarge:
            metrics.deliveries.labels(tracker, "refused:413").inc()
            return JSONResponse({"error": f"body over {MAX_BODY} bytes"}, 413)
        except WebhookRejected as exc:
            metrics.deliveries.labels(tracker, f"refused:{exc.status}").inc()
            return JSONResponse({"error": exc.reason}, exc.status)
        except RecursionError:
            # A signed body nested deeper than the JSON parser recurses: malformed, not our fault
            # (a 5xx would only make the tracker send the same body again).
            metrics.deliveries.labels(tracker, "refused:400").inc()
            return JSONResponse({"error": "body nests too deeply to be a delivery"}, 400)
        try:
            fresh, duplicates, known = await enqueue(hints)
        except StoreError:
            metrics.deliveries.labels(tracker, "refused:503").inc()
            return JSONResponse(
                {"error": "the state store is unavailable; deliver again later"},
                503,
                headers={"Retry-After": "5"},
            )
        if fresh:
            metrics.deliveries.labels(tracker, "accepted").inc(fresh)
            accepted()
        if duplicates:
            metrics.deliveries.labels(tracker, "duplicate").inc(duplicates)
        if known:
            metrics.deliveries.labels(tracker, "seen").inc(known)
        return JSONResponse({"accepted": fresh, "duplicates": duplicates, "seen": known}, 202)

    async def webhook(request: Request) -> JSONResponse:
        return await deliver(request.path_params["tracker"], request)

    async def webhook_instance(request: Request) -> JSONResponse:
        # the path names the tracker type for the admin's benefit; the instance decides
        return await deliver(request.path_params["instance"], request)

    # Plain routes: the body is read and verified by hand, so FastAPI's per-route machinery
    # (dependencies, validation, serialising) would only cost each delivery as much again.
    app.add_route("/webhooks/{tracker}", webhook, methods=["POST"])
    app.add_route("/webhooks/{kind}/{instance}", webhook_instance, methods=["POST"])

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        problems = await run_in_threadpool(ready)
        return JSONResponse({"ready": not problems, "problems": problems}, 503 if problems else 200)

    @app.get("/metrics")
    async def prometheus() -> Response:
        metrics.inbox_depth.set(await run_in_threadpool(store.inbox_depth))
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")

    return app
