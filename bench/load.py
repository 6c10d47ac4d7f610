"""A small pure-Python HTTP/1.1 load generator (asyncio, keep-alive), run in its own process.

``closed``: ``connections`` clients each send the next request as soon as the last is answered
(the most the server takes). ``open``: requests are due at a fixed rate, spread over the
connections, and each one's time runs from when it was due, so a slow server is not let off by a
client that waits for it (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

Request = tuple[str, dict[str, str], bytes]  # path, headers, body


@dataclass
class Outcome:
    sent: int
    statuses: dict[int, int]
    latencies: list[float]  # seconds, one per answered request
    wall: float
    errors: int


def _encode(host: str, port: int, request: Request) -> bytes:
    path, headers, body = request
    head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _run(
    host: str,
    port: int,
    requests: Sequence[Request],
    connections: int,
    rate: float | None,
    duration: float,
) -> Outcome:
    payloads = [_encode(host, port, r) for r in requests]
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    errors = 0
    sent = 0
    start = time.monotonic()
    end = start + duration
    counter = iter(range(len(payloads)))

    async def client(index: int) -> None:
        nonlocal errors, sent
        reader, writer = await asyncio.open_connection(host, port)
        n = 0
        try:
            while True:
                if rate is None:
                    due = time.monotonic()
                    if due >= end:
                        return
                else:
                    due = start + (index + n * connections) / rate
                    n += 1
                    if due >= end:
                        return
                    delay = due - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                number = next(counter, None)
                if number is None:
                    return
                sent += 1
                try:
                    writer.write(payloads[number])
                    status = await _answer(reader)
                except (OSError, asyncio.IncompleteReadError):
                    errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                latencies.append(time.monotonic() - due)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(connections)))
    return Outcome(sent, statuses, latencies, time.monotonic() - start, errors)


def run(
    host: str,
    port: int,
    requests: Sequence[Request],
    connections: int,
    rate: float | None,
    duration: float,
) -> Outcome:
    """Send ``requests`` (each at most once, in order) for ``duration`` seconds."""
    return asyncio.run(_run(host, port, requests, connections, rate, duration))
