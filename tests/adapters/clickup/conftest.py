"""A fake ClickUp on loopback, and adapters whose every request is checked against the spec."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.specs import SpecCheck
from ticket_bridge.adapters.clickup.adapter import ClickUpAdapter
from ticket_bridge.adapters.clickup.config import ClickUpConfig
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.serving import Served
from ticket_bridge.bridge.mapping import load_mapping

MakeAdapter = Callable[..., ClickUpAdapter]


@pytest.fixture
def fake() -> Iterator[FakeClickUp]:
    tracker = FakeClickUp()
    yield tracker
    tracker.stop()


@pytest.fixture
def served(fake: FakeClickUp) -> Iterator[Served]:
    with Served(fake.app) as running:
        yield running


@dataclass
class Bridge:
    """Where the bridge receives ClickUp's deliveries: ``url`` is what a webhook posts to.

    It answers 200 to whatever arrives (``status`` to change that) and keeps each delivery,
    so the fake's webhooks stay healthy and a test can verify what was posted.
    """

    url: str = ""
    status: int = 200
    got: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def bridge() -> Iterator[Bridge]:
    state = Bridge()

    async def receive(request: Request) -> Response:
        state.got.append((dict(request.headers), await request.body()))
        state.arrived.set()
        return Response(status_code=state.status)

    app = Starlette(routes=[Route("/webhooks/clickup", receive, methods=["POST"])])
    with Served(app) as running:
        state.url = f"{running.url}/webhooks/clickup"
        yield state


@pytest.fixture
def spec_check() -> Iterator[SpecCheck]:
    check = SpecCheck("clickup")
    yield check
    check.assert_clean(expect_requests=False)


def config_for(fake: FakeClickUp, served: Served, **overrides: Any) -> ClickUpConfig:
    described = dict(fake.describe(served.url))
    values: dict[str, Any] = {
        "base_url": described["base_url"],
        "token": described["token"],
        "team_id": described["team_id"],
        "list_id": described["list_id"],
        "correlation_field_id": described["correlation_field_id"],
        "webhook_secret": described["webhook_secret"],
        "time_zone": "Europe/Berlin",
        "requests_per_minute": 10_000,
        "timeout": 5.0,
    }
    values.update(overrides)
    return ClickUpConfig.model_validate(values)


@pytest.fixture
def make_adapter(fake: FakeClickUp, served: Served, spec_check: SpecCheck) -> MakeAdapter:
    def make(**overrides: Any) -> ClickUpAdapter:
        config = config_for(fake, served, **overrides)
        session = requests.Session()
        spec_check.attach(session)
        return ClickUpAdapter("clickup", config, load_mapping(config.mapping), session=session)

    return make


@pytest.fixture
def adapter(make_adapter: MakeAdapter) -> ClickUpAdapter:
    return make_adapter()
