"""Running a fake tracker: its ASGI app on a loopback port, in a background thread.

The fakes are part of the product (``ticket-bridge sandbox``, the demo, the benchmarks), so this
lives beside them rather than in the tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from typing import Protocol

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


class FakeTracker(Protocol):
    """A stateful stand-in for a tracker's API, with the real API's semantics."""

    @property
    def app(self) -> ASGIApp: ...

    def describe(self, base_url: str) -> Mapping[str, str]:
        """What an admin needs to point an adapter at it: base URL, credentials, webhook secret."""

    def seed_demo(self) -> None:
        """The demo project ``ticket-bridge sandbox`` starts with."""

    def subscribe(self, url: str) -> object:
        """Post a signed delivery to ``url`` on every change, as the tracker's webhooks do."""

    def stop(self) -> None:
        """Stop sending deliveries."""


class Served:
    """One fake listening on loopback until ``stop``."""

    def __init__(self, app: ASGIApp, port: int = 0) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit it: without, each small response waits ~40 ms on Nagle.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((LOOPBACK, port))
        self.port: int = sock.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [sock]},
            daemon=True,
            name=f"fake:{self.port}",
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the fake on {self.url} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
