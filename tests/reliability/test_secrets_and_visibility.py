"""Secrets never printed, internal comments never public in Zendesk.

Secrets: everything the real commands print (``run`` while it works, refuses bad deliveries and
meets a failing tracker; ``status``, ``links``, ``check``, ``backfill --dry-run``, ``explain``,
``conflicts``, ``dead-letters``, ``sync``; again with a tracker down and with wrong credentials)
is scanned for every secret of the config, in the forms they travel in: as written, Basic-auth
base64, URL-encoded, and the OAuth tokens Zendesk handed out during the run.

Internal comments: with ``[comments] public_from`` set, so that public comments from Jira and
ClickUp do become public in Zendesk, every comment that is internal where it was written
(restricted in Jira, prefixed in ClickUp, a private note in Zendesk) is internal in Zendesk,
whether it came through the daemon or through a backfill.
"""

from __future__ import annotations

import base64
import json
import re
import signal
import subprocess
import sys
import time
import traceback
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from pydantic import SecretStr

from tests.daemon.test_end_to_end import Site, free_port, stop
from tests.reliability.test_flood import UNPACED
from ticket_bridge.adapters.clickup import webhooks as clickup_hooks
from ticket_bridge.adapters.jira import webhooks as jira_hooks
from ticket_bridge.adapters.scenario import CUSTOMER
from ticket_bridge.bridge.adapter import NativeComment
from ticket_bridge.bridge.model import Visibility
from ticket_bridge.cli import adapters_for, main
from ticket_bridge.settings import load

SECRET_KEYS = ("api_token", "token", "webhook_secret", "oauth_client_secret")
WRONG = {
    "jira": ("api_token", "WRONG-jira-token-3141592653"),
    "zendesk": ("oauth_client_secret", "WRONG-zendesk-secret-2718281828"),
    "clickup": ("token", "pk_0_WRONGTOKEN1618033988"),
}


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def make_site(tmp_path: Path, stack: ExitStack, extra: str = "") -> Site:
    site = Site(tmp_path, stack, poll_interval=3600)
    text = site.config.read_text(encoding="utf-8")
    text = re.sub(r"requests_per_minute = \d+", UNPACED, text)
    site.config.write_text(text + extra, encoding="utf-8")
    loaded = load(site.config, read_env=False)
    site.checker, site.policy = adapters_for(loaded), loaded.policy()
    return site


def settings_of(text: str) -> dict[str, dict[str, str]]:
    """``[trackers.NAME]`` key = "value" pairs of a config."""
    tables: dict[str, dict[str, str]] = {}
    table = ""
    for line in text.splitlines():
        if line.startswith("[trackers."):
            table = line.strip("[]").removeprefix("trackers.")
            tables[table] = {}
        elif line.startswith("["):
            table = ""
        elif table and " = " in line:
            key, value = line.split(" = ", 1)
            tables[table][key] = value.strip('"')
    return tables


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret_forms(site: Site, *configs: Path) -> dict[str, str]:
    """Every secret in ``configs``, and each form it travels in, by what it is."""
    found: dict[str, str] = {}
    for config in configs:
        for tracker, values in settings_of(config.read_text(encoding="utf-8")).items():
            for key in SECRET_KEYS:
                if key in values:
                    found[f"{tracker}.{key}"] = values[key]
            if "api_token" in values and "email" in values:
                basic = f"{values['email']}:{values['api_token']}"
                found[f"{tracker} basic auth"] = b64(basic)
                found[f"{tracker} token auth"] = b64(
                    f"{values['email']}/token:{values['api_token']}"
                )
            if "oauth_client_secret" in values:
                pair = f"{values.get('oauth_client_id', '')}:{values['oauth_client_secret']}"
                found[f"{tracker} client basic auth"] = b64(pair)
    for n, token in enumerate([*site.zendesk.access_tokens, *site.zendesk.refresh_tokens]):
        found[f"zendesk oauth token {n}"] = token
    found["zendesk api token (unused)"] = site.zendesk.api_token
    for what, value in list(found.items()):
        quoted = urllib.parse.quote(value, safe="")
        if quoted != value:
            found[f"{what}, url-encoded"] = quoted
    assert all(len(v) >= 8 for v in found.values()), "a secret too short to scan for"
    return found


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [what for what, value in secrets.items() if value in text]


def cli(
    site: Site, *args: str, config: Path | None = None, process: bool = False
) -> tuple[int, str]:
    """A command's exit code and everything it printed (stdout, stderr, any traceback), run in
    this process by click's runner, or as its own process; ``CONFIG`` in ``args`` marks where
    ``--config`` goes when not at the end (a group's subcommands)."""
    path = str(config or site.config)
    argv = [a for arg in args for a in (("--config", path) if arg == "CONFIG" else (arg,))]
    if "CONFIG" not in args:
        argv += ["--config", path]
    if process:
        done = subprocess.run(
            [sys.executable, "-m", "ticket_bridge", *argv],
            check=False,
            capture_output=True,
            env=site.env,
            text=True,
            timeout=120,
        )
        return done.returncode, done.stdout + done.stderr
    result = CliRunner().invoke(main, argv, env={"TICKET_BRIDGE_LOG_FORMAT": None})
    printed = result.output + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        printed += "".join(traceback.format_exception(result.exception))
    return result.exit_code, printed


def variant(site: Site, name: str, edit: dict[str, tuple[str, str]]) -> Path:
    """A copy of the config with ``edit[tracker] = (key, new value)`` in a tracker's table."""
    lines, table = [], ""
    for given in site.config.read_text(encoding="utf-8").splitlines():
        line = given
        if line.startswith("[trackers."):
            table = line.strip("[]").removeprefix("trackers.")
        elif line.startswith("["):
            table = ""
        if table in edit and line.startswith(f"{edit[table][0]} = "):
            line = f'{edit[table][0]} = "{edit[table][1]}"'
        if line.startswith("port = "):
            line = f"port = {free_port()}"
        lines.append(line)
    path = site.config.with_name(name)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bad_deliveries(site: Site, port: int, ticket: int, issue: str) -> None:
    """Deliveries a daemon must refuse, and one properly signed about a ticket that is gone."""
    url = f"http://127.0.0.1:{port}/webhooks"
    headers, body = site.zendesk.delivery(ticket)
    requests.post(f"{url}/zendesk", data=body + b" ", headers=headers, timeout=5)
    wrong = SecretStr("not-the-secret")
    jira_body = json.dumps({"timestamp": 1, "webhookEvent": "jira:issue_updated"}).encode()
    jira_headers = {"X-Hub-Signature": jira_hooks.sign(wrong, jira_body)}
    requests.post(f"{url}/jira", data=jira_body, headers=jira_headers, timeout=5)
    requests.post(f"{url}/jira", data=b"{", headers=site.jira.delivery(issue)[0], timeout=5)
    requests.post(f"{url}/clickup", data=b"{}", timeout=5)
    requests.post(f"{url}/servicenow", data=b"{}", timeout=5)
    gone, gone_body = clickup_hooks.deliver(
        site.clickup.webhook_secret, "wh", "taskUpdated", "no-such-task", [{"id": "h1"}]
    )
    requests.post(f"{url}/clickup", data=gone_body, headers=gone, timeout=5)
    requests.post(f"{url}/jira", data=site.jira.delivery(issue)[1], headers={}, timeout=5)


def test_no_secret_appears_in_anything_the_commands_print(tmp_path: Path, stack: ExitStack) -> None:
    site = make_site(tmp_path, stack)
    printed: dict[str, str] = {}
    process = site.start_daemon()
    stack.callback(stop, process)
    site.subscribe()
    ticket = site.zendesk.open_ticket(
        "Card declined", "Every card is declined.", requester=CUSTOMER, priority="high"
    )
    site.zendesk.comment(ticket, "Any news?", public=True, author=CUSTOMER)
    site.settle("a ticket linked")
    issue, task = site.counterpart("jira", str(ticket)), site.counterpart("clickup", str(ticket))
    site.jira.fail_next("PUT /rest/api/3/issue/*", 503)
    site.jira.fail_next("GET /rest/api/3/issue/*", 500)
    site.jira.fail_next("POST /rest/api/3/issue/*", 400)
    site.zendesk.edit(ticket, status="open", priority="urgent")
    site.clickup.comment(task, "Deploy planned.", by=site.lead)
    site.jira.comment(issue, "Gateway logs attached.")
    bad_deliveries(site, site.port, ticket, issue)
    ref = f"zendesk:{ticket}"
    deadline = time.monotonic() + 60
    while not site.store.dead_letters():  # the 400 is for good: the link is given up on
        assert time.monotonic() < deadline, site.output.read_text(encoding="utf-8")
        time.sleep(0.2)
    for args in [
        ("dead-letters", "--json"),
        ("dead-letters",),
        ("dead-letters", "CONFIG", "retry", ref),
    ]:
        code, output = cli(site, *args)
        assert code == 0, (args, output)
        printed[" ".join(args)] = output
    site.settle("edits through failures")
    for args in [
        ("status",),
        ("status", "--json"),
        ("links",),
        ("links", "--json"),
        ("check",),
        ("--log-format", "json", "check"),
        ("backfill", "--from", "zendesk", "--dry-run", "--json"),
        ("explain", ref),
        ("explain", "--json", ref),
        ("conflicts", "--all", "--json"),
        ("dead-letters", "--json"),
        ("sync", ref),
    ]:
        code, output = cli(site, *args)
        assert code in (0, 1), (args, output)
        printed[" ".join(args)] = output
    stop(process)
    printed["run"] = site.output.read_text(encoding="utf-8")

    # Jira down (nothing listens where the config points), and every tracker's credentials wrong
    dead = f"http://127.0.0.1:{free_port()}"
    down = variant(site, "jira-down.toml", {"jira": ("base_url", dead)})
    wrong = variant(site, "wrong.toml", WRONG)
    for config in (down, wrong):
        for args in [
            ("status", "--json"),
            ("check",),
            ("--log-format", "json", "sync", ref),
            ("backfill", "--from", "zendesk", "--dry-run", "--json"),
            ("links", "--json"),
        ]:
            code, output = cli(site, *args, config=config, process=args[0] == "check")
            printed[f"{config.name}: {' '.join(args)}"] = output
        assert "jira" in printed[f"{config.name}: check"], "the failure is reported, by tracker"
    printed["run, jira down"] = run_briefly(site, down, issue)

    secrets = secret_forms(site, site.config, wrong)
    assert len(site.zendesk.access_tokens) >= 2, "the OAuth tokens were handed out and scanned"
    for what, text in printed.items():
        assert text.strip(), f"{what} printed nothing: nothing was checked"
        assert not leaks(text, secrets), f"{what} printed {leaks(text, secrets)}"


def run_briefly(site: Site, config: Path, issue: str) -> str:
    """``ticket-bridge run`` on ``config`` for a few seconds, told of a change in ``issue``."""
    port = int(
        next(
            line.split(" = ")[1]
            for line in config.read_text(encoding="utf-8").splitlines()
            if line.startswith("port = ")
        )
    )
    log = config.with_suffix(".log")
    command = site.command("--log-format", "json", "run")
    command[-1] = str(config)
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=site.env, text=True
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
            headers, body = site.jira.delivery(issue)
            requests.post(f"http://127.0.0.1:{port}/webhooks/jira", data=body, headers=headers)
            requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            time.sleep(3)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    return log.read_text(encoding="utf-8")


PUBLIC_FROM = """
[comments]
public_from = ["jira", "clickup"]

[[routes]]
from = "clickup"
to = ["zendesk", "jira"]
kinds = ["support"]

[[routes]]
from = "jira"
to = ["zendesk", "clickup"]
kinds = ["support"]
"""


def internal_in_zendesk(site: Site, ticket: str, origin: dict[str, Visibility]) -> None:
    """Each comment whose text is in ``origin`` is in Zendesk once, internal where it was internal
    at its origin and (``public_from``) public where it was public."""
    comments: Sequence[NativeComment] = site.checker["zendesk"].comments(ticket)
    for text, visibility in origin.items():
        found = [c for c in comments if text in c.body]
        assert len(found) == 1, (ticket, text, [c.body for c in comments])
        assert found[0].visibility is visibility, (ticket, text, found[0].visibility)


def test_no_internal_comment_becomes_public_in_zendesk(tmp_path: Path, stack: ExitStack) -> None:
    site = make_site(tmp_path, stack, PUBLIC_FROM)
    # Through a backfill: tasks and issues that exist before the bridge does.
    old_task = site.clickup.open_task("Old delivery task", by=site.lead)
    site.clickup.comment(old_task, "[internal] backfillCUinternal margin is thin", by=site.lead)
    site.clickup.comment(old_task, "backfillCUpublic shipped to the customer", by=site.lead)
    old_issue = site.jira.open_issue("Old bug", issuetype="Bug")
    role = {"type": "role", "value": "Administrators"}
    site.jira.comment(old_issue, "backfillJRinternal customer is VIP", visibility=role)
    group = {"type": "group", "value": "jira-developers"}
    site.jira.comment(old_issue, "backfillJGinternal the fix is a hack", visibility=group)
    site.jira.comment(old_issue, "backfillJpublic fixed in 4.2")
    for source in ("clickup", "jira"):
        code, output = cli(site, "backfill", "--from", source, "--json")
        assert code == 0, output
    task_link = site.store.link_for("clickup", old_task)
    issue_link = site.store.link_for("jira", old_issue)
    assert task_link is not None and issue_link is not None
    internal_in_zendesk(
        site,
        task_link.refs["zendesk"].native_id,
        {
            "backfillCUinternal": Visibility.INTERNAL,
            "backfillCUpublic": Visibility.PUBLIC,
        },
    )
    internal_in_zendesk(
        site,
        issue_link.refs["zendesk"].native_id,
        {
            "backfillJRinternal": Visibility.INTERNAL,
            "backfillJGinternal": Visibility.INTERNAL,
            "backfillJpublic": Visibility.PUBLIC,
        },
    )

    # Through the daemon, on webhooks.
    process = site.start_daemon()
    stack.callback(stop, process)
    site.subscribe()
    ticket = site.zendesk.open_ticket(
        "Refund stuck", "Refund pending for 10 days.", priority="high"
    )
    site.settle("linked")
    issue, task = site.counterpart("jira", str(ticket)), site.counterpart("clickup", str(ticket))
    site.zendesk.comment(ticket, "liveZinternal chargeback risk", public=False)
    site.zendesk.comment(ticket, "liveZpublic we are on it", public=True)
    site.jira.comment(issue, "liveJRinternal ledger bug", author="557058:kim", visibility=role)
    site.jira.comment(issue, "liveJGinternal needs a migration", visibility=group)
    site.jira.comment(issue, "liveJpublic fix deployed", author="557058:kim")
    site.clickup.comment(task, "[internal] liveCUinternal finance approved", by=site.lead)
    site.clickup.comment(task, "liveCUpublic refund sent", by=site.lead)
    site.clickup.comment(old_task, "[internal] lateCUinternal on an old task", by=site.lead)
    site.jira.comment(old_issue, "lateJRinternal on an old issue", visibility=role)
    site.settle("comments mirrored")
    internal_in_zendesk(
        site,
        str(ticket),
        {
            "liveZinternal": Visibility.INTERNAL,
            "liveZpublic": Visibility.PUBLIC,
            "liveJRinternal": Visibility.INTERNAL,
            "liveJGinternal": Visibility.INTERNAL,
            "liveJpublic": Visibility.PUBLIC,
            "liveCUinternal": Visibility.INTERNAL,
            "liveCUpublic": Visibility.PUBLIC,
        },
    )
    internal_in_zendesk(
        site, task_link.refs["zendesk"].native_id, {"lateCUinternal": Visibility.INTERNAL}
    )
    internal_in_zendesk(
        site, issue_link.refs["zendesk"].native_id, {"lateJRinternal": Visibility.INTERNAL}
    )
    # and across every ticket of the account: nothing internal anywhere turned public
    for zendesk_id in list(site.zendesk.tickets):
        for comment in site.checker["zendesk"].comments(str(zendesk_id)):
            if (
                "internal" in comment.body
            ):  # every internal comment above says so, no public one does
                assert comment.visibility is Visibility.INTERNAL, (zendesk_id, comment.body)
