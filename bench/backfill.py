"""Backfill: tickets with comment history from the fake Zendesk into Jira and ClickUp, every fake
rate-limited to "100 requests per minute" scaled up by ``FACTOR`` (``FULL_FACTOR`` at full sizes),
and each adapter's ``requests_per_minute`` set to the same, as an admin would; by
``ticket-bridge backfill --from zendesk --json`` as a subprocess; at two sizes, for memory."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from bench.common import Result, Site, Target, wait_with_peak
from ticket_bridge.adapters import scenario
from ticket_bridge.adapters.clickup.fake import FakeClickUp
from ticket_bridge.adapters.jira.fake import FakeJira
from ticket_bridge.adapters.zendesk.fake import FakeZendesk, Window

LIMIT = 100
FACTOR = 6
FULL_FACTOR = 30
"""The full sizes' scale-up: 10,000 tickets take 40 minutes at 100/min x 30, hours at x 6."""
COMMENTS = 5  # the description and four more


def one(tmp: Path, tickets: int, factor: float) -> dict[str, float | int | str]:
    limit = int(LIMIT * factor)
    zendesk = FakeZendesk()
    zendesk.account_window = Window(limit, 60.0)
    zendesk.export_window = Window(limit, 60.0)
    zendesk.incremental_window = Window(int(10 * factor), 60.0)
    jira = FakeJira(rate_limit=(limit, 60.0))
    clickup = FakeClickUp(rate_limit=limit)
    with ExitStack() as stack:
        site = Site(
            tmp, stack, jira=jira, zendesk=zendesk, clickup=clickup, budget=int(LIMIT * factor)
        )
        started = time.monotonic()
        for n in range(tickets):
            ticket = zendesk.open_ticket(
                f"Backlog ticket {n}",
                f"Reported long ago ({n})",
                requester=scenario.CUSTOMER,
                priority="normal",
            )
            for c in range(COMMENTS - 1):
                zendesk.comment(
                    ticket, f"Follow-up {c} on {n}", public=c % 2 == 0, author=scenario.AGENT
                )
        seeded = time.monotonic() - started
        out = (tmp / "backfill.out").open("wb")
        started = time.monotonic()
        first = len(site.hits)
        process = subprocess.Popen(
            site.command("backfill", "--from", "zendesk", "--json"),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=site.env,
        )
        code, peak_kib = wait_with_peak(process)
        wall = time.monotonic() - started
        hits = site.hits[first:]
        tail = (tmp / "backfill.out").read_text(encoding="utf-8").splitlines()[-3:]
    statuses = Counter((h.tracker, h.status == 429) for h in hits)
    row: dict[str, float | int | str] = {
        "tickets": tickets,
        "exit": code,
        "wall": wall,
        "peak_mb": peak_kib / 1024,
        "seeded": seeded,
        "limit_per_s": limit / 60.0,
    }
    for tracker in ("zendesk", "jira", "clickup"):
        ok = statuses[(tracker, False)]
        row[f"{tracker}_requests"] = ok
        row[f"{tracker}_429"] = statuses[(tracker, True)]
        row[f"{tracker}_rate"] = ok / wall
    if code != 0:
        row["tail"] = " / ".join(tail)
    return row


def run(
    tmp: Path, *, quick: bool, sizes: tuple[int, ...] | None = None, factor: float | None = None
) -> Result:
    sizes = sizes or ((20, 60) if quick else (1_000, 10_000))
    factor = factor or (FACTOR if quick else FULL_FACTOR)
    rows = []
    for size in sizes:
        folder = tmp / f"n{size}"
        folder.mkdir()
        rows.append(one(folder, size, factor))
        print(json.dumps(rows[-1]), flush=True)
    limit = LIMIT * factor / 60
    result = Result(
        "backfill",
        f"Backfill: Zendesk tickets with {COMMENTS} comments each into Jira and ClickUp, each fake "
        f"limited to {LIMIT * factor:g} requests per minute ({limit:g}/s: 100/min x {factor:g})",
        [
            "tickets",
            "wall s",
            "tickets/s",
            "zendesk req/s",
            "jira req/s",
            "clickup req/s",
            "busiest / limit",
            "429s (z/j/c)",
            "peak RSS MB",
            "exit",
        ],
    )
    for r in rows:
        busiest = max(float(r[f"{t}_rate"]) for t in ("zendesk", "jira", "clickup"))
        result.rows.append(
            [
                r["tickets"],
                round(float(r["wall"]), 1),
                round(int(r["tickets"]) / float(r["wall"]), 1),
                round(float(r["zendesk_rate"]), 1),
                round(float(r["jira_rate"]), 1),
                round(float(r["clickup_rate"]), 1),
                f"{busiest / limit:.0%}",
                f"{r['zendesk_429']}/{r['jira_429']}/{r['clickup_429']}",
                round(float(r["peak_mb"])),
                r["exit"],
            ]
        )
        if "tail" in r:
            result.notes.append(f"{r['tickets']} tickets: the backfill failed: {r['tail']}")
    big = rows[-1]
    busiest = max(float(big[f"{t}_rate"]) for t in ("zendesk", "jira", "clickup"))
    rejected = sum(int(big[f"{t}_429"]) for t in ("zendesk", "jira", "clickup"))
    small_mb, big_mb = float(rows[0]["peak_mb"]), float(big["peak_mb"])
    result.targets = [
        Target(
            "busiest tracker's rate over its limit",
            ">= 90%",
            f"{busiest / limit:.0%}",
            busiest >= 0.9 * limit,
        ),
        Target("429s received", "a handful (<= 5)", str(rejected), rejected <= 5),
        Target(
            "peak memory flat in N",
            f"{rows[-1]['tickets']:,} vs {rows[0]['tickets']:,} tickets within 20%",
            f"{big_mb:.0f} MB vs {small_mb:.0f} MB",
            big_mb <= small_mb * 1.2,
        ),
    ]
    result.notes.append(
        "requests and 429s are counted at the fakes; peak RSS is the backfill process's own VmHWM, "
        "polled every 20 ms; ClickUp's 60 s window is fixed, Zendesk's and Jira's slide; a run "
        "shorter than a minute can stay under the limit without any pacing"
    )
    return result
