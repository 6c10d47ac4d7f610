"""The command line: the only module that wires objects together, prints and exits."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import os
import signal
import sys
import tempfile
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from functools import partial
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any, NoReturn

import click
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ticket_bridge import __version__
from ticket_bridge.adapters import scenario as fakes_scenario
from ticket_bridge.adapters.clickup.adapter import ClickUpAdapter
from ticket_bridge.adapters.clickup.config import ClickUpConfig
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.jira.adapter import JiraAdapter
from ticket_bridge.adapters.jira.config import JiraConfig
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.memory import scenario
from ticket_bridge.adapters.memory.adapter import MemoryAdapter
from ticket_bridge.adapters.memory.config import MemoryConfig
from ticket_bridge.adapters.memory.fake import MemoryTracker
from ticket_bridge.adapters.serving import FakeTracker, Served
from ticket_bridge.adapters.zendesk.adapter import ZendeskAdapter
from ticket_bridge.adapters.zendesk.config import ZendeskConfig
from ticket_bridge.adapters.zendesk.config import check as zendesk_notes
from ticket_bridge.adapters.zendesk.fake import FakeZendesk
from ticket_bridge.bridge.adapter import Adapter, BacklogQuery, Severity
from ticket_bridge.bridge.agreement import disagreements, link_disagreements
from ticket_bridge.bridge.backfill import Backfill, BackfillSpec, Proposal
from ticket_bridge.bridge.engine import Engine
from ticket_bridge.bridge.errors import (
    BridgeError,
    ConfigError,
    Refused,
    StoreError,
    TrackerError,
)
from ticket_bridge.bridge.events import (
    WRITES,
    BackfillAction,
    BackfillFinished,
    BackfillProgress,
    BackfillStarted,
    BackfillStep,
    CursorCommitted,
    Event,
    PassFinished,
    SweepPaused,
)
from ticket_bridge.bridge.model import Field, Ref, Visibility
from ticket_bridge.bridge.store import Store, default_store_url, redact
from ticket_bridge.daemon.metrics import Metrics
from ticket_bridge.daemon.receivers import receivers
from ticket_bridge.daemon.runner import Daemon
from ticket_bridge.daemon.sync_process import SyncSide, SyncSideFailed
from ticket_bridge.settings import Loaded, load

CONFIG_ENV = "TICKET_BRIDGE_CONFIG"
DEFAULT_CONFIG = Path("ticket-bridge.toml")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Receiving(uvicorn.Server):
    """uvicorn, minus its re-raising of SIGTERM after shutdown: the worker and store close first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class LogFormat:
    """How diagnostics reach stderr: lines for people, or one JSON object a line for a collector."""

    json = False


def log(level: str, message: str, **fields: Any) -> None:
    if LogFormat.json:
        record = {"at": dt.datetime.now(dt.UTC).isoformat(), "level": level, "message": message}
        err.out(json.dumps({**record, **fields}, default=str), highlight=False)
    elif level == "error":
        err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    else:
        err.print(message, markup=False)


_TERMINAL: list[tuple[object, bool]] = []
"""Whether ``err``'s stream is a terminal, asked once per stream: rich's answer costs more
than writing the line."""


def _on_terminal() -> bool:
    stream = err.file
    if not _TERMINAL or _TERMINAL[0][0] is not stream:
        _TERMINAL[:] = [(stream, err.is_terminal)]
    return _TERMINAL[0][1]


def log_event(event: Event) -> None:
    """One line an event; straight to the stream when it is not a terminal (a daemon's log),
    where rich's rendering only costs the workers' time."""
    line = event.model_dump_json() if LogFormat.json else describe(event)
    if _on_terminal():
        err.out(line, highlight=False)
    else:
        err.file.write(line + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    log("error", message)
    sys.exit(code)


def config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    return DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None


def raw_store_url(path: Path) -> str | None:
    """The store URL of a config that did not load, so ``check`` can still test the store."""
    from_env = os.environ.get("TICKET_BRIDGE_STORE__URL")
    if from_env:
        return from_env
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    store = raw.get("store")
    url = store.get("url") if isinstance(store, dict) else None
    return url if isinstance(url, str) else default_store_url()


def store_url(loaded: Loaded, override: str | None) -> str:
    if override:
        return override
    url = loaded.settings.store.url
    return url.get_secret_value() if url is not None else default_store_url()


def memory_adapters(loaded: Loaded) -> tuple[dict[str, MemoryTracker], dict[str, Adapter]]:
    trackers: dict[str, MemoryTracker] = {}
    adapters: dict[str, Adapter] = {}
    for name, config in loaded.settings.trackers.items():
        if not isinstance(config, MemoryConfig):
            raise ConfigError(
                [f"{loaded.source}: trackers.{name}: the demo runs memory trackers only"]
            )
        trackers[name] = MemoryTracker(name, internal_comments=config.internal_comments)
        adapters[name] = MemoryAdapter(name, config, loaded.mappings[name], trackers[name])
    return trackers, adapters


def adapters_for(loaded: Loaded) -> dict[str, Adapter]:
    """One adapter per configured tracker instance."""
    adapters: dict[str, Adapter] = {}
    for name, config in loaded.settings.trackers.items():
        mapping = loaded.mappings[name]
        match config:
            case MemoryConfig():
                tracker = MemoryTracker(name, internal_comments=config.internal_comments)
                adapters[name] = MemoryAdapter(name, config, mapping, tracker)
            case JiraConfig():
                adapters[name] = JiraAdapter(name, config, mapping)
            case ZendeskConfig():
                adapters[name] = ZendeskAdapter(name, config, mapping)
            case ClickUpConfig():
                adapters[name] = ClickUpAdapter(name, config, mapping)
    return adapters


def tracker_notes(loaded: Loaded) -> list[str]:
    """What an admin should know about each tracker's settings, short of a problem."""
    notes: list[str] = []
    for name, config in loaded.settings.trackers.items():
        if isinstance(config, ZendeskConfig):
            notes.extend(f"{name}: {note}" for note in zendesk_notes(config))
    return notes


class Wired:
    """The config, store, adapters and engine one command works with."""

    def __init__(self, config_file: Path | None) -> None:
        path = config_path(config_file)
        if path is None:
            fail(
                f"no config file: pass --config FILE, set ${CONFIG_ENV}, or write ./{DEFAULT_CONFIG}",
                2,
            )
        try:
            self.loaded = load(path)
            self.store = Store.open(
                store_url(self.loaded, None), busy_timeout=self.loaded.settings.store.busy_timeout
            )
        except ConfigError as exc:
            for problem in exc.problems:
                log("error", problem)
            fail("the config is not usable: run `ticket-bridge check`", 2)
        except StoreError as exc:
            fail(str(exc))
        self.adapters = adapters_for(self.loaded)
        self.engine = Engine(self.store, self.adapters, self.loaded.policy())


config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"Config file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG}).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def parse_ref(_ctx: click.Context, _param: click.Parameter, value: str | tuple[str, ...]) -> Any:
    try:
        if isinstance(value, tuple):
            return [Ref.parse(v) for v in value]
        return Ref.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def emit(events: Iterable[Event]) -> int:
    """Print what happened, one line per event; returns how many remote writes there were."""
    writes = 0
    for event in events:
        if isinstance(event, PassFinished | CursorCommitted):
            continue
        if isinstance(event, WRITES):
            writes += 1
        out.print(describe(event), markup=False)
    return writes


def guarded(action: Callable[[], object]) -> None:
    """Run an admin action; a refusal or a tracker/store failure is one clear line and exit 1."""
    try:
        action()
    except (Refused, TrackerError, StoreError) as exc:
        fail(str(exc))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ticket-bridge")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="TICKET_BRIDGE_LOG_FORMAT",
    show_default=True,
    help="Diagnostics on stderr as text lines or JSON objects (also $TICKET_BRIDGE_LOG_FORMAT).",
)
def main(log_format: str) -> None:
    """Keep support tickets in agreement across Zendesk, Jira and ClickUp."""
    LogFormat.json = log_format == "json"


# -- check -------------------------------------------------------------------------------


@main.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"Config file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG}).",
)
@click.option(
    "--offline", is_flag=True, help="Check the config and the store only; call no tracker."
)
def check(config_file: Path | None, offline: bool) -> None:
    """Validate the config, the store and each tracker's live setup; print every problem with where.

    Live, each tracker is asked whether the statuses, priorities and fields the mapping names
    exist, their transitions are reachable and its webhooks point here. Exits 0 when all is
    usable, 2 when the config is not, 1 when the store or a tracker falls short.
    """
    path = config_path(config_file)
    if path is None:
        fail(
            f"no config file: pass --config FILE, set ${CONFIG_ENV}, or write ./{DEFAULT_CONFIG}",
            2,
        )
    invalid: list[str] = []
    problems: list[str] = []
    loaded: Loaded | None = None
    try:
        loaded = load(path)
    except ConfigError as exc:
        invalid.extend(exc.problems)
    url = store_url(loaded, None) if loaded is not None else raw_store_url(path)
    if url is not None:
        try:
            store = Store.open(url, migrate=False)
            pending = store.pending_migrations()
            store.close()
        except StoreError as exc:
            problems.append(f"{path}: store.url: {exc}")
        else:
            note = "migrations will be applied on first start" if pending else "schema up to date"
            out.print(f"store    {redact(url)} ({note})", markup=False)
    if loaded is not None:
        for name, tracker in loaded.settings.trackers.items():
            mapping = loaded.mappings[name]
            facing = "customer-facing" if tracker.customer_facing else "internal"
            out.print(
                f"tracker  {name}: {tracker.type}, {facing}, mapping {mapping.source}", markup=False
            )
        for note in tracker_notes(loaded):
            out.print(f"note     {note}", markup=False)
        for route in loaded.settings.routes:
            kinds = ", ".join(route.kinds) if route.kinds else "every kind"
            out.print(f"route    {route.source} -> {', '.join(route.to)} ({kinds})", markup=False)
        if not offline:
            problems.extend(live_problems(loaded))
    for problem in invalid + problems:
        err.print(f"[red]✗[/] {escape(problem)}", markup=True)
    if invalid:
        err.print(f"{len(invalid + problems)} problem(s): the config is not usable", markup=False)
        sys.exit(2)
    if problems:
        err.print(f"{len(problems)} problem(s) in the store or the trackers", markup=False)
        sys.exit(1)
    out.print(f"[green]✓[/] {escape(str(path))} is usable", markup=True)


def live_problems(loaded: Loaded) -> list[str]:
    """Each tracker's live setup against the mapping; warnings are printed, errors returned."""
    problems: list[str] = []
    for name, adapter in adapters_for(loaded).items():
        try:
            findings = adapter.inspect()
        except TrackerError as exc:
            problems.append(f"trackers.{name}: unreachable: {exc}")
            continue
        except BridgeError as exc:
            problems.append(f"trackers.{name}: {exc}")
            continue
        errors = 0
        for finding in findings:
            line = f"trackers.{name}: {finding.subject}: {finding.message}"
            if finding.severity is Severity.ERROR:
                problems.append(line)
                errors += 1
            else:
                out.print(f"warning  {line}", markup=False)
        if not errors:
            out.print(f"live     {name}: has what the mapping needs", markup=False)
    return problems


# -- demo --------------------------------------------------------------------------------


@main.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"Config file (default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG}).",
)
@click.option("--host", help="Listen on this address (default: [daemon] host).")
@click.option("--port", type=int, help="Listen on this port (default: [daemon] port).")
def run(config_file: Path | None, host: str | None, port: int | None) -> None:
    """The sync daemon: webhook receivers here, pollers and workers in a second process, until
    SIGTERM or Ctrl-C.

    Deliveries are answered once stored; on a stop the links in hand are finished and the rest
    stays in the inbox for the next start.
    """
    path = config_path(config_file)
    if path is None:
        fail(
            f"no config file: pass --config FILE, set ${CONFIG_ENV}, or write ./{DEFAULT_CONFIG}", 2
        )
    try:
        loaded = load(path)
        store = Store.open(
            store_url(loaded, None),
            busy_timeout=loaded.settings.store.busy_timeout,
            checkpoints=False,  # the sync side's writers do them, no delivery waits for one
        )
    except ConfigError as exc:
        for problem in exc.problems:
            log("error", problem)
        fail("the config is not usable: run `ticket-bridge check`", 2)
    except StoreError as exc:
        fail(str(exc))
    adapters = adapters_for(loaded)  # the receivers' own: they verify and parse deliveries
    metrics = Metrics()

    def on_event(event: Event) -> None:
        metrics.observe(event)
        if not isinstance(event, PassFinished | CursorCommitted):
            log_event(event)

    sync = SyncSide(
        partial(sync_daemon, path),
        adapters=adapters,
        on_event=on_event,
        on_throttled=metrics.throttled,
    )

    def ready() -> list[str]:
        try:
            problems = ["store: migrations pending"] if store.pending_migrations() else []
        except StoreError as exc:
            problems = [f"store: {exc}"]
        return problems + sync.problems()

    settings = loaded.settings.daemon
    app = receivers(
        store, adapters, metrics, ready=ready, accepted=sync.accepted, seen=sync.sightings.knows
    )
    server = Receiving(
        uvicorn.Config(
            app,
            host=host or settings.host,
            port=port if port is not None else settings.port,
            log_level="warning",
            access_log=False,
        )
    )
    sync.on_lost = lambda: setattr(server, "should_exit", True)
    try:
        sync.start()
    except SyncSideFailed as exc:
        store.close()
        fail(f"the sync process {exc.reason}")
    log(
        "info",
        f"ticket-bridge {__version__}: {len(adapters)} trackers, store {redact(store.url)}, "
        f"listening on http://{server.config.host}:{server.config.port}",
    )
    # What startup built lives as long as the daemon: the collector stops walking it (a full
    # collection of it took 70 ms here, every delivery in flight waiting).
    gc.freeze()
    try:
        server.run()
    finally:
        sync.stop()
        pending = store.inbox_depth()
        store.close()
        log("info", f"stopped; {pending} deliveries wait in the inbox for the next start")
    if sync.lost is not None:
        fail(f"the sync process {sync.lost}; the receivers stopped with it, restart `run`")


def sync_daemon(path: Path) -> Daemon:
    """The sync side of `run`, built in its own process from the config the receivers checked."""
    loaded = load(path)
    store = Store.open(store_url(loaded, None), busy_timeout=loaded.settings.store.busy_timeout)
    engine = Engine(store, adapters_for(loaded), loaded.policy())
    settings = loaded.settings.daemon
    lifecycle = loaded.settings.lifecycle
    return Daemon(
        engine,
        poll_interval=settings.poll_interval,
        workers=settings.workers,
        policies=lifecycle if lifecycle.enabled else None,
        policy_interval=lifecycle.interval,
        sweep_interval=settings.sweep_interval,
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.option(
    "--memory",
    is_flag=True,
    help="Run on in-memory trackers in one process (no HTTP, no daemon) instead of the fakes.",
)
@click.option("-v", "--verbose", is_flag=True, help="Print every event as it happens.")
def demo(as_json: bool, memory: bool, verbose: bool) -> None:
    """Fake Zendesk, Jira and ClickUp and the daemon: a scripted round of edits, synced to agreement.

    The edits are made in the fakes as people would make them; the fakes send their signed
    webhooks to the daemon's receivers, which reconcile. `--memory` runs the same story on
    in-memory trackers instead.
    """
    rounds: list[dict[str, Any]] = []

    def report_round(label: str, passes: int | None, tally: Counter[str]) -> None:
        rounds.append({"label": label, "passes": passes, "events": dict(sorted(tally.items()))})
        if not as_json:
            summary = ", ".join(
                f"{n} {name.replace('_', ' ')}" for name, n in sorted(tally.items())
            )
            how = f"{passes} passes" if passes is not None else "webhooks"
            out.print(
                f"[bold]{escape(label)}[/]\n  {how}: {summary or 'nothing to do'}", markup=True
            )

    def show(event: Event) -> None:
        if verbose and not as_json and not isinstance(event, PassFinished | CursorCommitted):
            out.print(f"  {describe(event)}", markup=False)

    try:
        run = demo_in_memory if memory else demo_over_http
        report = run(report_round, show)
    except BridgeError as exc:
        fail(str(exc))
    report["rounds"] = rounds
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        print_report(report)


RoundReport = Callable[[str, int | None, "Counter[str]"], None]


def demo_in_memory(report_round: RoundReport, show: Callable[[Event], None]) -> dict[str, Any]:
    with as_file(files("ticket_bridge") / "demo.toml") as path:
        loaded = load(Path(path), read_env=False)
    store = Store.open(store_url(loaded, None))
    trackers, adapters = memory_adapters(loaded)
    policy = loaded.policy()
    engine = Engine(store, adapters, policy)

    def settle(label: str) -> None:
        tally: Counter[str] = Counter()
        passes = 0
        for event in engine.run_until_quiet():
            show(event)
            if isinstance(event, PassFinished):
                passes += 1
            elif not isinstance(event, CursorCommitted):
                tally[event.event] += 1
        report_round(label, passes, tally)

    scenario.play(trackers, settle)
    report = demo_report(store, adapters, disagreements(store, adapters, policy))
    store.close()
    return report


DEMO_PATIENCE = 60.0


def demo_over_http(report_round: RoundReport, show: Callable[[Event], None]) -> dict[str, Any]:
    """The fakes on loopback, the daemon's receivers and worker in this process, webhooks between."""
    jira, zendesk, clickup = FakeJira(), FakeZendesk(), FakeClickUp()
    fakes: dict[str, FakeTracker] = {"zendesk": zendesk, "jira": jira, "clickup": clickup}
    lead = fakes_scenario.people(jira, zendesk, clickup)  # before the config: its Jira user map
    with tempfile.TemporaryDirectory(prefix="ticket-bridge-demo-") as tmp, ExitStack() as stack:
        served = {name: stack.enter_context(Served(fake.app)) for name, fake in fakes.items()}
        config = Path(tmp) / "demo.toml"
        config.write_text(
            sandbox_config((jira, zendesk, clickup), served, 0, Path(tmp) / "state.db"),
            encoding="utf-8",
        )
        loaded = load(config, read_env=False)
        store = Store.open(store_url(loaded, None))
        stack.callback(store.close)
        engine = Engine(store, adapters_for(loaded), loaded.policy())
        events: list[Event] = []
        lock = threading.Lock()

        def on_event(event: Event) -> None:
            show(event)
            with lock:
                events.append(event)

        daemon = Daemon(engine, poll_interval=DEMO_PATIENCE, on_event=on_event)
        app = receivers(
            store,
            engine.adapters,
            Metrics(),
            ready=daemon.problems,
            accepted=daemon.accepted,
            seen=engine.seen,
        )
        receiving = stack.enter_context(Served(app))
        for name, fake in fakes.items():
            fake.subscribe(f"{receiving.url}/webhooks/{name}")
            stack.callback(fake.stop)
        daemon.start()
        stack.callback(daemon.stop)
        checker = adapters_for(loaded)  # its own sessions: the worker keeps using the others

        def settle(label: str) -> None:
            with lock:
                start = len(events)
            last, quiet = start, 0
            deadline = time.monotonic() + DEMO_PATIENCE
            while quiet < 3 and time.monotonic() < deadline:
                time.sleep(0.2)
                with lock:
                    seen = len(events)
                busy = (
                    (seen in (start, last) and seen == start)
                    or seen != last
                    or store.inbox_depth() > 0
                    or any(
                        link_disagreements(link, store, checker, engine.policy)
                        for link in store.links(state="active")
                    )
                )
                last, quiet = seen, 0 if busy else quiet + 1
            with lock:
                tally: Counter[str] = Counter(
                    str(e.event)
                    for e in events[start:]
                    if not isinstance(e, PassFinished | CursorCommitted)
                )
            report_round(label, None, tally)

        def counterpart(tracker: str, zendesk_id: str) -> str:
            deadline = time.monotonic() + DEMO_PATIENCE
            while time.monotonic() < deadline:
                link = store.link_for("zendesk", zendesk_id)
                if link is not None and tracker in link.refs:
                    return link.refs[tracker].native_id
                time.sleep(0.1)
            raise Refused(
                f"zendesk:{zendesk_id} got no {tracker} counterpart in {DEMO_PATIENCE:g}s"
            )

        fakes_scenario.play(jira, zendesk, clickup, settle, counterpart, lead)
        return demo_report(store, checker, disagreements(store, checker, engine.policy))


# -- everyday commands -------------------------------------------------------------------


def _age(when: dt.datetime | None) -> str:
    if when is None:
        return "never"
    seconds = int((dt.datetime.now(dt.UTC) - when).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


@main.command()
@config_option
@json_option
def status(config_file: Path | None, as_json: bool) -> None:
    """Per tracker: reachable, cursor age; and what waits: inbox, dead letters, conflicts, parked.

    Exits 1 when a tracker cannot be reached, so it can serve as a monitoring check.
    """
    wired = Wired(config_file)
    trackers = {}
    for name, adapter in wired.adapters.items():
        cursor = wired.store.cursor(name)
        try:
            adapter.changes(cursor[0] if cursor else None)
            reachable, problem = True, None
        except TrackerError as exc:
            reachable, problem = False, str(exc)
        trackers[name] = {
            "reachable": reachable,
            "problem": problem,
            "cursor_committed": cursor[1].isoformat() if cursor else None,
        }
    swept = wired.engine.sweep_mark()
    report = {
        "trackers": trackers,
        "sweep": None
        if swept is None
        else {
            "finished": swept.finished,
            "after_link": swept.after_link,
            "at": swept.at.isoformat(),
        },
        "inbox_depth": wired.store.inbox_depth(),
        "dead_letters": len(wired.store.dead_letters()),
        "conflicts_waiting": len(wired.store.conflicts(unresolved_only=True)),
        "parked_links": len(wired.store.links(state="parked")),
        "active_links": len(wired.store.link_ids()),
    }
    wired.store.close()
    unreachable = any(not row["reachable"] for row in trackers.values())
    if as_json:
        click.echo(json.dumps(report, indent=2))
        sys.exit(1 if unreachable else 0)
    table = Table(title="trackers")
    for column in ("tracker", "reachable", "cursor committed"):
        table.add_column(column)
    for name, row in trackers.items():
        committed = row["cursor_committed"]
        table.add_row(
            name,
            "yes" if row["reachable"] else f"no: {row['problem']}",
            _age(dt.datetime.fromisoformat(committed)) if isinstance(committed, str) else "never",
        )
    out.print(table)
    if swept is None:
        out.print("last sweep: never", markup=False)
    elif swept.finished:
        out.print(f"last sweep: finished {_age(swept.at)}", markup=False)
    else:
        out.print(f"sweep: under way, at link {swept.after_link} {_age(swept.at)}", markup=False)
    for key in ("active_links", "inbox_depth", "dead_letters", "conflicts_waiting", "parked_links"):
        out.print(f"{key.replace('_', ' ')}: {report[key]}", markup=False)
    sys.exit(1 if unreachable else 0)


@main.command()
@config_option
@json_option
@click.option("--state", type=click.Choice(["active", "parked", "dead", "unlinked"]))
@click.option("--tracker", help="Only links with a ticket in this tracker.")
def links(config_file: Path | None, as_json: bool, state: str | None, tracker: str | None) -> None:
    """The links, with each tracker's ticket and the canonical status."""
    wired = Wired(config_file)
    rows: list[dict[str, Any]] = [
        {
            "key": link.key,
            "kind": link.kind.value,
            "state": link.state,
            "reason": link.reason,
            "status": link.canonical.status.value,
            "title": link.canonical.title,
            "refs": {t: r.native_id for t, r in link.refs.items()},
        }
        for link in wired.store.links(state=state)
        if tracker is None or tracker in link.refs
    ]
    wired.store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    for column in ("link", "kind", "state", "status", "tickets", "title"):
        table.add_column(column)
    for row in rows:
        refs = ", ".join(f"{t}:{i}" for t, i in row["refs"].items())
        state_text = row["state"] if not row["reason"] else f"{row['state']}: {row['reason']}"
        table.add_row(row["key"], row["kind"], state_text, row["status"], refs, row["title"])
    out.print(table)


@main.command()
@config_option
@click.argument("refs", nargs=-1, required=True, callback=parse_ref)
def link(config_file: Path | None, refs: list[Ref]) -> None:
    """Tie existing tickets together by hand: REF REF..., written TRACKER:ID; the first one's values win."""
    wired = Wired(config_file)
    guarded(lambda: emit(wired.engine.link_by_hand(refs)))


@main.command()
@config_option
@click.argument("ref", callback=parse_ref)
def unlink(config_file: Path | None, ref: Ref) -> None:
    """Untie REF's link: its tickets stay as they are and are no longer synced."""
    wired = Wired(config_file)

    def act() -> None:
        untied = wired.engine.unlink(ref)
        out.print(
            f"unlinked {untied.key}: {', '.join(map(str, (r.ref for r in untied.refs.values())))}",
            markup=False,
        )

    guarded(act)


@main.command()
@config_option
@click.argument("ref", callback=parse_ref)
@click.option("--revive", is_flag=True, help="Also put a parked or dead link back to work.")
def sync(config_file: Path | None, ref: Ref, revive: bool) -> None:
    """Reconcile REF's ticket now (and adopt it by the routes when it is not linked yet)."""
    wired = Wired(config_file)

    def act() -> None:
        if ref.tracker not in wired.adapters:
            raise Refused(f"{ref}: no tracker named {ref.tracker!r} is configured")
        linked = wired.store.link_for(ref.tracker, ref.id)
        if linked is not None and linked.state in ("parked", "dead"):
            if not revive:
                raise Refused(
                    f"link {linked.key} is {linked.state} ({linked.reason}): add --revive"
                )
            events = wired.engine.revive(linked.id, f"revived by an admin with sync {ref}")
        elif linked is not None:
            events = wired.engine.sync_link(linked.id)
        else:
            events = wired.engine.sync_ticket(ref.tracker, ref.id)
        writes = emit(events)
        out.print(f"{ref}: {writes} write(s)", markup=False)

    guarded(act)


@main.command()
@config_option
@click.option("--resume", is_flag=True, help="Go on from where a sweep cut short stopped.")
def sweep(config_file: Path | None, resume: bool) -> None:
    """Reconcile every active link now, changed or not: brings over what webhooks and polls
    missed. A link holding nothing new costs a read of each of its tickets and their comments.

    Ctrl-C stops after the link in hand; --resume goes on from there. The daemon runs the same
    sweep every [daemon] sweep_interval seconds.
    """
    wired = Wired(config_file)
    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    def act() -> None:
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        paused: list[SweepPaused] = []

        def noting() -> Iterator[Event]:
            for event in wired.engine.sweep(lambda: bool(stopping), resume=resume):
                if isinstance(event, SweepPaused):
                    paused.append(event)
                yield event

        try:
            writes = emit(noting())
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        out.print(f"sweep: {writes} write(s)", markup=False)
        if paused:
            raise Refused(
                f"sweep stopped after link {paused[0].after_link} ({paused[0].reason}): "
                "`ticket-bridge sweep --resume` goes on from there"
            )

    guarded(act)


@main.command()
@config_option
@json_option
@click.argument("ref", callback=parse_ref)
@click.argument("field", required=False)
def explain(config_file: Path | None, as_json: bool, ref: Ref, field: str | None) -> None:
    """Where each value of REF's link came from: its audit trail, newest first (FIELD to narrow)."""
    wired = Wired(config_file)
    linked = wired.store.link_for(ref.tracker, ref.id)
    if linked is None:
        fail(f"{ref} is not linked")
    rows = wired.store.audit(linked.id, field)
    wired.store.close()
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    out.print(
        f"link {linked.key} ({linked.state}); canonical status {linked.canonical.status}",
        markup=False,
    )
    for row in rows:
        way = f"{row.source or '-'} -> {row.target or 'canonical'}"
        out.print(
            f"{row.at:%Y-%m-%d %H:%M:%S}  {row.field:<11} {way:<24} {row.old!s} -> {row.new!s}  ({row.reason})",
            markup=False,
        )


@main.group(invoke_without_command=True)
@config_option
@json_option
@click.option("--all", "show_all", is_flag=True, help="Also the conflicts already settled.")
@click.pass_context
def conflicts(ctx: click.Context, config_file: Path | None, as_json: bool, show_all: bool) -> None:
    """Concurrent edits and how they were settled; `conflicts resolve ID TRACKER` to choose a side."""
    ctx.obj = config_file
    if ctx.invoked_subcommand is not None:
        return
    wired = Wired(config_file)
    rows = wired.store.conflicts(unresolved_only=not show_all)
    keys = {link.id: link.key for link in wired.store.links()}
    wired.store.close()
    if as_json:
        click.echo(
            json.dumps(
                [{**r.model_dump(mode="json"), "link": keys.get(r.link_id)} for r in rows], indent=2
            )
        )
        return
    for row in rows:
        settled = "resolved by an admin" if row.resolved_at else f"settled by {row.policy}"
        out.print(
            f"#{row.id} {keys.get(row.link_id)} {row.field}: {row.candidates} -> {row.winner} ({settled})",
            markup=False,
        )


@conflicts.command("resolve")
@click.argument("conflict_id", type=int)
@click.argument("side")
@click.pass_obj
def resolve_conflict(config_file: Path | None, conflict_id: int, side: str) -> None:
    """Settle conflict CONFLICT_ID for SIDE (a tracker): its value is written everywhere."""
    wired = Wired(config_file)
    guarded(lambda: emit(wired.engine.resolve(conflict_id, side)))


@main.group("dead-letters", invoke_without_command=True)
@config_option
@json_option
@click.pass_context
def dead_letters(ctx: click.Context, config_file: Path | None, as_json: bool) -> None:
    """Links given up on; `dead-letters retry KEY` or `dead-letters drop KEY`."""
    ctx.obj = config_file
    if ctx.invoked_subcommand is not None:
        return
    wired = Wired(config_file)
    letters = wired.store.dead_letters()
    keys = {link.id: link.key for link in wired.store.links()}
    wired.store.close()
    if as_json:
        click.echo(
            json.dumps(
                [{**d.model_dump(mode="json"), "link": keys.get(d.link_id)} for d in letters],
                indent=2,
            )
        )
        return
    for letter in letters:
        out.print(
            f"{keys.get(letter.link_id)} after {letter.attempts} attempts, {letter.at:%Y-%m-%d %H:%M}: "
            f"{letter.error}",
            markup=False,
        )


def _dead_link(wired: Wired, key: str) -> int:
    link_record = wired.store.link_by_key(key)
    if link_record is None or link_record.state != "dead":
        raise Refused(f"there is no dead link {key!r}: see `ticket-bridge dead-letters`")
    return link_record.id


@dead_letters.command("retry")
@click.argument("key")
@click.pass_obj
def retry_dead(config_file: Path | None, key: str) -> None:
    """Put dead link KEY back to work and reconcile it now."""
    wired = Wired(config_file)
    guarded(
        lambda: emit(wired.engine.revive(_dead_link(wired, key), "dead letter retried by an admin"))
    )


@dead_letters.command("drop")
@click.argument("key")
@click.pass_obj
def drop_dead(config_file: Path | None, key: str) -> None:
    """Give up on dead link KEY for good: it stays dead and leaves the list."""
    wired = Wired(config_file)
    guarded(lambda: wired.store.drop_dead_letter(_dead_link(wired, key), "dropped by an admin"))


# -- backfill ------------------------------------------------------------------------------


def parse_when(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """An ISO date or datetime; one without an offset is UTC."""
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date (2026-01-31) or datetime (2026-01-31T08:00+01:00)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def describe_step(step: BackfillStep) -> str:
    target = f" -> {step.target}" if step.target else ""
    ref = f" {step.ref}" if step.ref else ""
    parts = [f"{step.action.value:7} {step.source}{target}{ref}"]
    if step.changes:
        parts.append(
            ", ".join(
                f"{field}={_show(new)}" if old is None else f"{field}: {_show(old)} -> {_show(new)}"
                for field, (old, new) in step.changes.items()
            )
        )
    if step.comments:
        parts.append(f"{step.comments} comment(s)")
    if step.reason:
        parts.append(step.reason)
    return ": ".join(parts[:1]) + (": " + "; ".join(parts[1:]) if parts[1:] else "")


class Pace:
    """Progress for a long walk: a live bar on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, label: str, *, live: bool, every: float = 10.0) -> None:
        self.label = label
        self.every = every
        self.started = time.monotonic()
        self.last = 0.0
        self.bar: Progress | None = None
        self.task: TaskID | None = None
        if live:
            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self.task = self.bar.add_task(label, total=None, rate="")
            self.bar.start()

    def line(self, text: str) -> None:
        (self.bar.console if self.bar is not None else out).print(text, markup=False)

    def advance(self, done: int, total: int | None, already: int) -> None:
        elapsed = time.monotonic() - self.started
        rate = (done - already) / elapsed if elapsed > 0 else 0.0
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, completed=done, total=total, rate=f"{rate:.1f} tickets/s")
            return
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        of = f"/{total} ({100 * done // max(total, 1)}%)" if total else ""
        eta = ""
        if total and rate > 0:
            eta = f", ETA {_duration(max(0, total - done) / rate)}"
        err.print(f"{self.label}: {done}{of} tickets, {rate:.1f} tickets/s{eta}", markup=False)

    def pause(self) -> None:
        if self.bar is not None:
            self.bar.stop()

    def resume(self) -> None:
        if self.bar is not None:
            self.bar.start()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@main.command()
@config_option
@json_option
@click.option("--from", "source", required=True, help="The tracker whose tickets are backfilled.")
@click.option(
    "--to",
    "targets",
    multiple=True,
    help="A tracker to bring them to; repeat for more (default: every other configured tracker).",
)
@click.option(
    "--since", callback=parse_when, help="Only tickets created at or after this (ISO; UTC if bare)."
)
@click.option("--until", callback=parse_when, help="Only tickets created before this.")
@click.option(
    "--filter",
    "native",
    help="The source tracker's own filter: JQL for Jira, search terms for Zendesk, "
    "a List id for ClickUp.",
)
@click.option(
    "--match",
    is_flag=True,
    help="Propose counterparts made by hand (same title and requester); on a terminal you "
    "confirm each, otherwise they are listed and left for `ticket-bridge link`.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan, field by field; write nothing.")
@click.option(
    "--restart", is_flag=True, help="Start over instead of resuming an unfinished run of the same."
)
def backfill(
    config_file: Path | None,
    as_json: bool,
    source: str,
    targets: tuple[str, ...],
    since: dt.datetime | None,
    until: dt.datetime | None,
    native: str | None,
    match: bool,
    dry_run: bool,
    restart: bool,
) -> None:
    """Sync tickets that already exist: link their counterparts or create them, comments and all.

    Resumable: run the same command again after a crash or Ctrl-C and it goes on from its
    checkpoint; nothing is created twice.
    """
    wired = Wired(config_file)
    chosen = targets or tuple(t for t in wired.adapters if t != source)
    spec = BackfillSpec(
        source=source,
        targets=chosen,
        query=BacklogQuery(created_from=since, created_until=until, native=native),
        match=match,
    )
    interactive = match and not as_json and sys.stdin.isatty() and err.is_terminal
    label = f"backfill {source} -> {', '.join(chosen)}" + (" (dry run)" if dry_run else "")
    pace = Pace(label, live=err.is_terminal and not as_json)

    def confirm(proposal: Proposal) -> bool:
        pace.pause()
        try:
            return click.confirm(
                f"{proposal.source} looks like {proposal.candidate} "
                f"({proposal.title!r}, {proposal.requester or 'no requester'}): link them?",
                default=False,
                err=True,
            )
        finally:
            pace.resume()

    already = 0
    finished: BackfillFinished | None = None
    try:
        run = Backfill(wired.engine, spec, confirm=confirm if interactive else lambda _: False)
        if restart and not dry_run:
            wired.store.abandon_backfills(spec.signature())
        for event in run.run(dry_run=dry_run):
            if isinstance(event, BackfillStarted):
                already = event.done
                if event.resumed and not as_json:
                    pace.line(f"resuming backfill {event.backfill} after {event.done} tickets")
            elif isinstance(event, BackfillProgress):
                pace.advance(event.done, event.total, already)
                continue
            elif isinstance(event, BackfillFinished):
                finished = event
            if as_json:
                if isinstance(event, BackfillStarted | BackfillStep | BackfillFinished):
                    click.echo(event.model_dump_json())
            elif isinstance(event, BackfillStep) and event.action is not BackfillAction.AGREE:
                pace.line(describe_step(event))
    except KeyboardInterrupt:
        pace.close()
        fail("interrupted: run the same command again to resume from the checkpoint", 130)
    except ConfigError as exc:
        pace.close()
        fail("; ".join(exc.problems), 2)
    except Refused as exc:
        pace.close()
        fail(str(exc), 2)
    except (TrackerError, StoreError) as exc:
        pace.close()
        fail(f"{exc}; the checkpoint is kept: run the same command again to resume")
    finally:
        wired.store.close()
    pace.close()
    assert finished is not None
    counts = finished.counts
    if not as_json:
        summary = ", ".join(
            f"{counts.get(action.value, 0)} {word}"
            for action, word in (
                (BackfillAction.CREATE, "created"),
                (BackfillAction.LINK, "linked"),
                (BackfillAction.UPDATE, "updated"),
                (BackfillAction.AGREE, "in agreement"),
                (BackfillAction.PROPOSE, "proposed"),
                (BackfillAction.SKIP, "skipped"),
                (BackfillAction.FAIL, "failed"),
            )
        )
        out.print(
            f"{label}: {finished.done} tickets in {_duration(finished.elapsed)}; "
            f"counterparts: {summary}" + ("; nothing was written" if dry_run else ""),
            markup=False,
        )
    failed = counts.get(BackfillAction.FAIL.value, 0)
    if failed:
        fail(f"{failed} failed: they retry in the daemon; see `ticket-bridge dead-letters`")


@main.command()
@click.argument(
    "path", type=click.Path(path_type=Path, dir_okay=False), default=DEFAULT_CONFIG, required=False
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config to PATH (default ./ticket-bridge.toml)."""
    if path.exists() and not force:
        fail(f"{path} exists: pass --force to overwrite it")
    path.write_text(
        (files("ticket_bridge") / "example.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    out.print(
        f"wrote {path}: fill in your sites, give secrets as TICKET_BRIDGE_* variables, "
        f"then `ticket-bridge check --config {path}`",
        markup=False,
    )


# -- sandbox -------------------------------------------------------------------------------


def sandbox_config(
    fakes: tuple[FakeJira, FakeZendesk, FakeClickUp],
    served: Mapping[str, Served],
    daemon_port: int,
    store: Path,
    requests_per_minute: int = 6000,
) -> str:
    """A config for ``ticket-bridge run`` against the running fakes (their published credentials).

    ``requests_per_minute`` is each client's budget: the fakes allow far more than a real account.
    """
    jira, zendesk, clickup = fakes
    j = jira.describe(served["jira"].url)
    z = zendesk.describe(served["zendesk"].url)
    c = clickup.describe(served["clickup"].url)
    users = ", ".join(
        f"{json.dumps(a.email)} = {json.dumps(a.account_id)}"
        for a in jira.accounts.values()
        if a.email
    )
    return f"""# Written by `ticket-bridge sandbox`: the fakes on loopback, with their sandbox credentials.
[store]
url = "sqlite:///{store}"

[daemon]
port = {daemon_port}
poll_interval = 30

[trackers.zendesk]
type = "zendesk"
mapping = "zendesk"
subdomain = {json.dumps(z["subdomain"])}
base_url = {json.dumps(z["base_url"])}
oauth_client_id = {json.dumps(z["oauth_client_id"])}
oauth_client_secret = {json.dumps(z["oauth_client_secret"])}
webhook_secret = {json.dumps(z["webhook_secret"])}
requests_per_minute = {requests_per_minute}

[trackers.jira]
type = "jira"
mapping = "jira"
base_url = {json.dumps(j["base_url"])}
email = {json.dumps(j["email"])}
api_token = {json.dumps(j["api_token"])}
webhook_secret = {json.dumps(j["webhook_secret"])}
projects = {json.dumps(j["projects"].split(","))}
user_map = {{ {users} }}
requests_per_minute = {requests_per_minute}

[trackers.clickup]
type = "clickup"
mapping = "seed000-clickup-support"
base_url = {json.dumps(c["base_url"])}
token = {json.dumps(c["token"])}
team_id = {json.dumps(c["team_id"])}
list_id = {json.dumps(c["list_id"])}
correlation_field_id = {json.dumps(c["correlation_field_id"])}
webhook_secret = {json.dumps(c["webhook_secret"])}
requests_per_minute = {requests_per_minute}

[[routes]]
from = "zendesk"
to = ["jira", "clickup"]
kinds = ["support", "question"]

[[routes]]
from = "jira"
to = ["zendesk", "clickup"]
kinds = ["escalation"]
"""


@main.command()
@json_option
@click.option(
    "--daemon-port",
    type=int,
    default=8080,
    show_default=True,
    help="Where `ticket-bridge run` listens: the fakes post their webhooks there.",
)
@click.option(
    "--write-config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write a config for `ticket-bridge run` against these fakes.",
)
def sandbox(as_json: bool, daemon_port: int, write_config: Path | None) -> None:
    """Fake Jira, Zendesk and ClickUp on loopback, seeded with a demo project, until interrupted.

    Prints each one's base URL, credentials and webhook secret (sandbox values, not real ones).
    """
    jira, zendesk, clickup = FakeJira(), FakeZendesk(), FakeClickUp()
    fakes: dict[str, FakeTracker] = {"jira": jira, "zendesk": zendesk, "clickup": clickup}
    served: dict[str, Served] = {}
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        for name, fake in fakes.items():
            fake.seed_demo()
            served[name] = Served(fake.app)
            fake.subscribe(f"http://127.0.0.1:{daemon_port}/webhooks/{name}")
        for name, fake in fakes.items():
            described = {
                "tracker": name,
                **fake.describe(served[name].url),
                "webhooks_to": f"http://127.0.0.1:{daemon_port}/webhooks/{name}",
            }
            if as_json:
                click.echo(json.dumps(described))
            else:
                out.print(f"[bold]{name}[/]", markup=True)
                for key, value in described.items():
                    if key != "tracker":
                        out.print(f"  {key}: {value}", markup=False)
        if write_config is not None:
            store = write_config.with_suffix(".db").resolve()
            write_config.write_text(
                sandbox_config((jira, zendesk, clickup), served, daemon_port, store),
                encoding="utf-8",
            )
            if not as_json:
                out.print(
                    f"wrote {write_config}: run `ticket-bridge run --config {write_config}`",
                    markup=False,
                )
        if not as_json:
            out.print("the fakes run until Ctrl-C", markup=False)
        stop.wait()
    finally:
        for fake in fakes.values():
            fake.stop()
        for running in served.values():
            running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def demo_report(
    store: Store, adapters: Mapping[str, Adapter], problems: list[str]
) -> dict[str, Any]:
    links = []
    for link in store.links():
        tickets: dict[str, Any] = {}
        for tracker in (t for t in adapters if t in link.refs):
            ref = link.refs[tracker]
            native = adapters[tracker].read(ref.native_id)
            notes = adapters[tracker].comments(ref.native_id)
            due = native.fields.get(Field.DUE)
            shown_due = adapters[tracker].translation.to_canonical(
                Field.DUE, due, link.canonical.due
            )
            tickets[tracker] = {
                "id": ref.native_id,
                **{field.value: native.fields.get(field) for field in Field},
                "due_date": None if shown_due is None else str(shown_due),
                "comments": [
                    {
                        "author": c.author.name,
                        "visibility": c.visibility.value,
                        "mirror_of": c.mirror_of,
                        "body": c.body,
                    }
                    for c in notes
                ],
            }
        links.append(
            {
                "key": link.key,
                "kind": link.kind.value,
                "state": link.state,
                "canonical": link.canonical.model_dump(mode="json"),
                "tickets": tickets,
            }
        )
    return {
        "converged": not problems,
        "problems": problems,
        "links": links,
        "conflicts": [c.model_dump(mode="json") for c in store.conflicts()],
    }


def print_report(report: dict[str, Any]) -> None:
    for link in report["links"]:
        trackers = list(link["tickets"])
        table = Table(title=f"{link['key']}  ({link['kind']}): {link['canonical']['title']}")
        table.add_column("field")
        table.add_column("canonical", style="bold")
        for tracker in trackers:
            table.add_column(f"{tracker} #{link['tickets'][tracker]['id']}")
        for field in ("status", "priority", "due", "assignee"):
            canonical = link["canonical"][field]
            shown = (
                "due_date" if field == "due" else field
            )  # each tracker's own form, read as a date
            table.add_row(
                field,
                _show(canonical),
                *(_show(link["tickets"][t][shown]) for t in trackers),
            )
        table.add_row(
            "comments",
            "",
            *(_comment_counts(link["tickets"][t]["comments"]) for t in trackers),
        )
        out.print(table)
    for conflict in report["conflicts"]:
        out.print(
            f"conflict on {conflict['field']}: {conflict['candidates']} -> {conflict['winner']} "
            f"won ({conflict['policy']})",
            markup=False,
        )
    if report["converged"]:
        out.print("[green]converged[/]: every tracker holds the same ticket", markup=True)
    else:
        for problem in report["problems"]:
            err.print(f"[red]✗[/] {escape(problem)}", markup=True)
        err.print("not converged", markup=False)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return str(value.get("date") or value.get("at") or value)
    return str(value)


def _comment_counts(comments: Iterable[dict[str, Any]]) -> str:
    counts = Counter(c["visibility"] for c in comments)
    return f"{counts[Visibility.PUBLIC.value]} public, {counts[Visibility.INTERNAL.value]} internal"


def describe(event: Event) -> str:
    fields = event.model_dump(mode="json", exclude={"event"})
    return f"{event.event}: " + ", ".join(f"{k}={v}" for k, v in fields.items())


if __name__ == "__main__":  # pragma: no cover
    main()
