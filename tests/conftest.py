"""Shared fixtures: a clock that only moves when read, stores on SQLite (and PostgreSQL when asked)."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from hypothesis import settings

from ticket_bridge.bridge.store import Store

if TYPE_CHECKING:
    from tests.world import World

PG_URL = os.environ.get("TICKET_BRIDGE_TEST_DATABASE_URL")

# In CI the examples are drawn from a fixed seed, so a landing is judged by the same run every
# time; on a developer's machine they stay random, and keep exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


class TickingClock:
    """Deterministic time: every read is 1 ms after the previous one; ``advance`` jumps ahead."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(milliseconds=1)
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock()


def postgres_schema_url(base: str) -> Iterator[str]:
    """A private schema for one test, so parallel workers never see each other's tables."""
    schema = f"tb_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(
                    PG_URL is None, reason="TICKET_BRIDGE_TEST_DATABASE_URL is not set"
                ),
            ],
        ),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/state.db"
    else:
        assert PG_URL is not None
        yield from postgres_schema_url(PG_URL)


@pytest.fixture
def store(store_url: str, clock: TickingClock) -> Iterator[Store]:
    opened = Store.open(store_url, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def installed_world(tmp_path: Path, clock: TickingClock, monkeypatch: pytest.MonkeyPatch) -> World:
    """Three memory trackers the CLI's commands reach, on the store ``installation`` names."""
    from tests.world import World
    from ticket_bridge import cli

    store = Store.open(f"sqlite:///{tmp_path}/state.db", clock=clock)
    built = World(store, clock)
    monkeypatch.setattr(cli, "adapters_for", lambda loaded: built.adapters)
    return built


@pytest.fixture
def installation(tmp_path: Path) -> Path:
    """A config of the three memory trackers with a route from Zendesk, as an admin writes it."""
    path = tmp_path / "ticket-bridge.toml"
    text = f'[store]\nurl = "sqlite:///{tmp_path}/state.db"\n'
    for name, mapping in (
        ("zendesk", "zendesk"),
        ("jira", "jira"),
        ("clickup", "seed000-clickup-support"),
    ):
        text += f'[trackers.{name}]\ntype = "memory"\nmapping = "{mapping}"\n'
    text += (
        '[[routes]]\nfrom = "zendesk"\nto = ["jira", "clickup"]\nkinds = ["support", "question"]\n'
    )
    path.write_text(text, encoding="utf-8")
    return path
