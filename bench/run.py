"""Run the benchmarks, print each table, and write ``bench/results/latest.{md,json}``.

python -m bench            # the full sizes (about half an hour on 2 cores)
python -m bench --quick    # small sizes, a smoke run of a couple of minutes
python -m bench --only ingest propagation
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import ROOT, Result, machine, now_utc

BENCHMARKS = ("ingest", "propagation", "backfill", "idle")


def run_one(name: str, quick: bool) -> list[Result] | None:
    """One benchmark in a temporary directory; None when it failed (its traceback printed)."""
    module = importlib.import_module(f"bench.{name}")
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        try:
            produced = module.run(Path(tmp), quick=quick)
        except Exception:
            traceback.print_exc()
            return None
    return produced if isinstance(produced, list) else [produced]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "results", help="where latest.md and latest.json go"
    )
    args = parser.parse_args(argv)
    chosen = args.only or list(BENCHMARKS)
    about: dict[str, Any] = {
        "date": now_utc(),
        "machine": machine(),
        "size": "quick" if args.quick else "full",
    }
    print(f"ticket-bridge benchmarks, {about['size']} sizes, {about['date']}", flush=True)
    print(json.dumps(about["machine"]), flush=True)
    results: list[Result] = []
    failed = False
    for name in chosen:
        started = time.monotonic()
        # Each in a process of its own: what one leaves on the heap (fakes, hits) would slow
        # the next one's collector, as it would not in a daemon.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            produced = pool.submit(run_one, name, args.quick).result()
        if produced is None:
            failed = True
            continue
        for result in produced:
            result.seconds = time.monotonic() - started
            results.append(result)
            print("\n" + result.markdown() + "\n", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    document = {**about, "results": [r.as_json() for r in results]}
    (args.out / "latest.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    m = about["machine"]
    head = [
        f"# ticket-bridge benchmarks ({about['size']} sizes)",
        "",
        f"{about['date']} on {m['cpu']}, {m['cores']} cores, {m['memory']}, Python {m['python']} "
        f"({m['platform']}); load average at start {m['load_average_at_start']}.",
        "",
    ]
    body = "\n\n".join(r.markdown() for r in results)
    (args.out / "latest.md").write_text("\n".join(head) + body + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'latest.md'} and {args.out / 'latest.json'}", file=sys.stderr)
    return 1 if failed else 0
