"""The configuration: one TOML file plus ``TICKET_BRIDGE_*`` environment variables.

Environment variables win over the file (``TICKET_BRIDGE_TRACKERS__JIRA__TOKEN`` sets
``[trackers.jira] token``), so secrets can stay out of the file. Secrets are ``SecretStr`` and
are never printed. ``load`` collects every problem at once, each with where it is.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator
from pydantic import Field as PydanticField
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ticket_bridge.adapters.clickup.config import ClickUpConfig
from ticket_bridge.adapters.jira.config import JiraConfig
from ticket_bridge.adapters.memory.config import MemoryConfig
from ticket_bridge.adapters.zendesk.config import ZendeskConfig
from ticket_bridge.bridge.errors import ConfigError, MappingError
from ticket_bridge.bridge.lifecycle import LifecyclePolicies
from ticket_bridge.bridge.mapping import TrackerMapping, load_mapping
from ticket_bridge.bridge.model import Field, Kind, Status
from ticket_bridge.bridge.policy import CommentRules, FieldPolicy, RetryPolicy, Route, SyncPolicy

TrackerConfig = Annotated[
    MemoryConfig | JiraConfig | ZendeskConfig | ClickUpConfig,
    PydanticField(discriminator="type"),
]
"""One tracker instance's settings, told apart by ``type``; each adapter package brings its model."""

TRACKER_TYPES = frozenset({"memory", "zendesk", "clickup", "jira"})
ENV_PREFIX = "TICKET_BRIDGE_"


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoreSettings(Section):
    url: SecretStr | None = None
    busy_timeout: float = PydanticField(default=5.0, gt=0)


class DaemonSettings(Section):
    """``ticket-bridge run``: where the receivers listen, how often each tracker is polled, how
    many worker threads reconcile deliveries (different links in parallel, one link at a time),
    and how often every link is swept (0: never)."""

    host: str = "127.0.0.1"
    port: int = PydanticField(default=8080, ge=0, le=65535)
    poll_interval: float = PydanticField(default=60.0, gt=0)
    workers: int = PydanticField(default=4, ge=1, le=32)
    sweep_interval: float = PydanticField(default=86_400.0, ge=0)


class LifecycleSettings(LifecyclePolicies):
    """``[lifecycle]``: seed 004's timers, applied by ``ticket-bridge run`` when enabled.

    Durations are ISO 8601 (``"P7D"``, ``"PT24H"``) or seconds; leave one out to keep its default.
    """

    enabled: bool = False
    interval: float = PydanticField(default=300.0, gt=0)
    """Seconds between two looks at the timers."""


class RouteSettings(Section):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    source: str = PydanticField(alias="from")
    to: list[str] = PydanticField(min_length=1)
    kinds: list[Kind] | None = None
    statuses: list[Status] | None = None


class FieldSettings(Section):
    owner: str | None = None


class CommentSettings(Section):
    public_from: list[str] = []


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    store: StoreSettings = StoreSettings()
    daemon: DaemonSettings = DaemonSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    trackers: dict[str, TrackerConfig] = {}
    routes: list[RouteSettings] = []
    fields: dict[Field, FieldSettings] = {}
    synced: list[Field] = list(Field)
    comments: CommentSettings = CommentSettings()
    retry: RetryPolicy = RetryPolicy()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    @field_validator("trackers")
    @classmethod
    def _names(cls, trackers: dict[str, TrackerConfig]) -> dict[str, TrackerConfig]:
        for name in trackers:
            if not name or ":" in name or "/" in name or name != name.strip():
                raise ValueError(
                    f"tracker name {name!r} must be non-empty, without ':' or '/' "
                    "(refs are written TRACKER:ID)"
                )
        return trackers


class Loaded(BaseModel):
    """Settings with their mappings loaded and the file they came from."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    source: str
    mappings: dict[str, TrackerMapping]

    def policy(self) -> SyncPolicy:
        s = self.settings
        return SyncPolicy(
            synced=tuple(s.synced),
            fields={f: FieldPolicy(owner=v.owner) for f, v in s.fields.items()},
            routes=tuple(
                Route(
                    source=r.source,
                    targets=tuple(r.to),
                    kinds=frozenset(r.kinds) if r.kinds is not None else None,
                    statuses=frozenset(r.statuses) if r.statuses is not None else None,
                )
                for r in s.routes
            ),
            comments=CommentRules(public_from=frozenset(s.comments.public_from)),
            retry=s.retry,
        )


def _where(loc: tuple[int | str, ...]) -> str:
    """``trackers.jira.customer_facing``, without the union member pydantic puts after the name."""
    parts = list(loc)
    if len(parts) > 2 and parts[0] == "trackers" and parts[2] in TRACKER_TYPES:
        del parts[2]
    return ".".join(str(part) for part in parts) or "(top level)"


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such config file"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc


def load(path: Path | None, *, read_env: bool = True) -> Loaded:
    """Read, validate and cross-check the config; raise ConfigError listing every problem.

    ``read_env=False`` ignores ``TICKET_BRIDGE_*`` variables (the demo is hermetic).
    """
    source = str(path) if path is not None else "(built-in defaults)"
    raw = _read_file(path) if path is not None else {}
    env_names = sorted(k for k in os.environ if k.startswith(ENV_PREFIX)) if read_env else []
    try:
        settings = Settings(**raw) if read_env else Settings.model_validate(raw)
    except ValidationError as exc:
        invalid = [f"{source}: {_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
        if env_names:
            invalid.append(f"(environment variables also read: {', '.join(env_names)})")
        raise ConfigError(invalid) from exc
    problems: list[str] = []
    mappings: dict[str, TrackerMapping] = {}
    base_dir = path.parent if path is not None else Path.cwd()
    for name, tracker in settings.trackers.items():
        ref = tracker.mapping
        candidate = base_dir / ref
        try:
            mappings[name] = load_mapping(candidate if ref.endswith(".toml") else ref)
        except MappingError as exc:
            problems.extend(f"{source}: trackers.{name}.mapping: {p}" for p in exc.problems)
    known = set(settings.trackers)
    for index, route in enumerate(settings.routes):
        for named in [route.source, *route.to]:
            if named not in known:
                problems.append(
                    f"{source}: routes.{index}: tracker {named!r} is not configured under [trackers]"
                )
    for field, rule in settings.fields.items():
        if rule.owner is not None and rule.owner not in known:
            problems.append(
                f"{source}: fields.{field}.owner: tracker {rule.owner!r} is not configured"
            )
    for named in settings.comments.public_from:
        if named not in known:
            problems.append(f"{source}: comments.public_from: tracker {named!r} is not configured")
    if problems:
        raise ConfigError(problems)
    return Loaded(settings=settings, source=source, mappings=mappings)
