"""``ticket-bridge run`` as an admin runs it: a real process, real HTTP, a real SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from pydantic import SecretStr

from ticket_bridge.adapters.memory import webhooks
from ticket_bridge.bridge.store import Store

SECRET = "whsec-never-print-me"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_receives_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "ticket-bridge.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/state.db"\n'
        f"[daemon]\nport = {port}\npoll_interval = 3600\n"
        f'[trackers.zendesk]\ntype = "memory"\nmapping = "zendesk"\nwebhook_secret = "{SECRET}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_BRIDGE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ticket_bridge", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the daemon did not come up"
            time.sleep(0.1)
        headers, body = webhooks.deliver(SecretStr(SECRET), "delivery-1", "42")
        answer = requests.post(f"{base}/webhooks/zendesk", data=body, headers=headers, timeout=5)
        assert answer.status_code == 202
        refused = requests.post(
            f"{base}/webhooks/zendesk", data=body + b" ", headers=headers, timeout=5
        )
        assert refused.status_code == 401
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "stopped;" in output
    assert SECRET not in output
    store = Store.open(f"sqlite:///{tmp_path}/state.db")
    assert store.pending() == [], (
        "the delivery was reconciled (its ticket does not exist) and settled"
    )
    store.close()
