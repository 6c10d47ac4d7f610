"""A fake's app really listens on loopback, and stops."""

from __future__ import annotations

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ticket_bridge.adapters.serving import Served


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"path": request.url.path})


def test_served_on_a_free_loopback_port_until_stopped() -> None:
    with Served(Starlette(routes=[Route("/x", hello)])) as served:
        assert served.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{served.url}/x", timeout=5).json() == {"path": "/x"}
    try:
        requests.get(f"{served.url}/x", timeout=1)
    except requests.ConnectionError:
        pass
    else:
        raise AssertionError("still serving after stop")
