"""The receivers under fuzzing: no 5xx, ever, and nothing in the inbox that was not properly signed.

The FastAPI app is the one ``ticket-bridge run`` serves, wired to the real Zendesk, Jira and ClickUp
adapters (their webhook parsers are what is fuzzed) and a real SQLite store. Requests are driven
straight through ASGI, so headers can carry any bytes a proxy might let through, and bodies can
arrive in chunks or lie about their length. A few properly signed deliveries are mixed in: each is
answered 202 and stored exactly once however often it is replayed, also from threads at once over
real HTTP.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from ticket_bridge.adapters.clickup import webhooks as clickup_hooks
from ticket_bridge.adapters.jira import webhooks as jira_hooks
from ticket_bridge.adapters.serving import Served
from ticket_bridge.adapters.zendesk import webhooks as zendesk_hooks
from ticket_bridge.bridge.adapter import Adapter
from ticket_bridge.bridge.store import Store
from ticket_bridge.cli import adapters_for
from ticket_bridge.daemon.metrics import Metrics
from ticket_bridge.daemon.receivers import MAX_BODY, receivers
from ticket_bridge.settings import load

TRACKERS = ("zendesk", "jira", "clickup")
SECRETS = {
    "zendesk": "zd-fuzz-signing-secret-7f3a",
    "jira": "jira-fuzz-hub-secret-91c2",
    "clickup": "cu-fuzz-hook-secret-4d8e",
}
WRONG = SecretStr("not-the-secret")
NOWHERE = "http://127.0.0.1:9"  # nothing is called: deliveries are only verified and stored

CONFIG = f"""
[trackers.zendesk]
type = "zendesk"
mapping = "zendesk"
subdomain = "acme"
base_url = "{NOWHERE}"
oauth_client_id = "ticket-bridge"
oauth_client_secret = "fuzz-client-secret"
webhook_secret = "{SECRETS["zendesk"]}"

[trackers.jira]
type = "jira"
mapping = "jira"
base_url = "{NOWHERE}"
email = "bridge@example.com"
api_token = "fuzz-jira-token"
webhook_secret = "{SECRETS["jira"]}"
projects = ["SUP"]

[trackers.clickup]
type = "clickup"
mapping = "seed000-clickup-support"
base_url = "{NOWHERE}/api"
token = "pk_1_FUZZ"
team_id = "9015001"
list_id = "901001"
webhook_secret = "{SECRETS["clickup"]}"
"""

Headers = list[tuple[bytes, bytes]]
ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


@dataclass
class Answer:
    status: int
    body: bytes
    error: str | None = None  # the traceback of an exception that escaped the app

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Rig:
    app: ASGIApp
    store: Store
    adapters: dict[str, Adapter]
    loop: asyncio.AbstractEventLoop
    valid: list[tuple[str, Headers, bytes]]
    accepted: Counter[int] = field(default_factory=Counter)  # per index of ``valid``
    enqueued: int = 0  # everything answered as accepted, valid or fuzzed

    def post(self, path: str, headers: Headers, body: bytes, *, chunk: int | None = None) -> Answer:
        """One POST straight through ASGI, the body in chunks of ``chunk`` bytes when given."""
        pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] if chunk else [body]
        pieces = pieces or [b""]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if pieces:
                piece = pieces.pop(0)
                return {"type": "http.request", "body": piece, "more_body": bool(pieces)}
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("utf-8", "surrogatepass"),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8080),
        }
        error = None
        try:
            self.loop.run_until_complete(self.app(scope, receive, send))
        except Exception:
            error = traceback.format_exc()
        start = next((m for m in sent if m["type"] == "http.response.start"), None)
        status = int(start["status"]) if start else 500
        body_out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        return Answer(status, body_out, error)


def now_stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def signed(tracker: str, body: bytes, *, secret: SecretStr | None = None) -> dict[str, str]:
    """The headers that properly sign ``body`` as ``tracker`` does (fresh ids, a fresh stamp)."""
    key = secret or SecretStr(SECRETS[tracker])
    if tracker == "zendesk":
        stamp = now_stamp()
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-Zendesk-Webhook-Signature-Timestamp": stamp,
            "X-Zendesk-Webhook-Signature": zendesk_hooks.sign(key, stamp, body),
            "X-Zendesk-Webhook-Invocation-Id": uuid.uuid4().hex,
        }
    if tracker == "jira":
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
            "X-Hub-Signature": jira_hooks.sign(key, body),
        }
    return {"Content-Type": "application/json", "X-Signature": clickup_hooks.sign(key, body)}


def delivery_body(tracker: str, ticket: str, salt: str) -> bytes:
    """A well-formed body naming one ticket, as each tracker sends it."""
    if tracker == "zendesk":
        return json.dumps(
            {"type": "zen:event-type:ticket.priority_changed", "id": salt, "detail": {"id": ticket}}
        ).encode()
    if tracker == "jira":
        return json.dumps(
            {
                "timestamp": 1_790_000_000_000,
                "webhookEvent": "jira:issue_updated",
                "issue": {"id": ticket, "key": f"SUP-{ticket}"},
            }
        ).encode()
    return json.dumps(
        {
            "event": "taskUpdated",
            "webhook_id": "wh-1",
            "task_id": f"86{ticket}",
            "history_items": [{"id": salt, "field": "status"}],
        }
    ).encode()


def as_asgi(headers: dict[str, str]) -> Headers:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    tmp = tmp_path
    config = tmp / "ticket-bridge.toml"
    config.write_text(CONFIG, encoding="utf-8")
    adapters = adapters_for(load(config, read_env=False))
    store = Store.open(f"sqlite:///{tmp}/state.db")
    app = receivers(store, adapters, Metrics(), ready=list)
    loop = asyncio.new_event_loop()
    valid = []
    for n, tracker in enumerate(TRACKERS * 2):
        body = delivery_body(tracker, str(4000 + n), f"valid-{n}")
        valid.append((f"/webhooks/{tracker}", as_asgi(signed(tracker, body)), body))
    try:
        yield Rig(app, store, adapters, loop, valid)
    finally:
        loop.close()
        store.close()


# -- what the fuzzer draws --------------------------------------------------------------------

HEADER_NAMES = [
    "content-type",
    "content-length",
    "x-signature",
    "x-hub-signature",
    "x-atlassian-webhook-identifier",
    "x-zendesk-webhook-signature",
    "x-zendesk-webhook-signature-timestamp",
    "x-zendesk-webhook-invocation-id",
    "user-agent",
    "transfer-encoding",
]
latin1 = st.text(st.characters(max_codepoint=255), max_size=80)
header_value = st.one_of(
    latin1.map(lambda s: s.encode("latin-1")),
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=60),
    st.sampled_from(
        [
            b"",
            b"sha256=",
            b"sha256=" + b"0" * 64,
            b"application/json",
            b"text/plain; charset=utf-16",
            b"multipart/form-data; boundary=x",
            b"2999-01-01T00:00:00Z",
            b"0001-01-01T00:00:00+23:59",
            b"99999999999999999999999999",
            b"-1",
        ]
    ),
)
lengths = st.one_of(
    st.integers(0, 3 * MAX_BODY).map(lambda n: str(n).encode()),
    # latin-1 has digits str.isdigit() accepts and int() refuses (superscripts)
    st.text("0123456789\u00b2\u00b3\u00b9 +-x", min_size=1, max_size=8).map(
        lambda s: s.encode("latin-1")
    ),
    header_value,
)
header_name = st.one_of(
    st.sampled_from(HEADER_NAMES),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
).map(lambda s: s.lower().encode("latin-1"))
random_headers = st.lists(st.tuples(header_name, header_value), max_size=8)

json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["zen:event-type:ticket.status_changed", "zen:event-type:user.x"])
        | st.text(max_size=10),
        "detail": st.fixed_dictionaries({}, optional={"id": json_value | st.just("42")})
        | json_value,
        "ticket_bridge": json_value,
        "ticket_id": json_value | st.sampled_from(["7", "\u00b2", "12345678901234567890"]),
        "webhookEvent": st.sampled_from(["jira:issue_updated", "comment_created", "sprint_x"])
        | st.text(max_size=10),
        "timestamp": json_value,
        "issue": st.fixed_dictionaries({}, optional={"id": json_value, "key": json_value})
        | json_value,
        "event": st.sampled_from(["taskUpdated", "taskCreated"]) | st.text(max_size=10),
        "webhook_id": json_value,
        "task_id": json_value,
        "history_items": st.lists(
            st.fixed_dictionaries({}, optional={"id": json_value, "field": json_value}),
            max_size=3,
        )
        | json_value,
    },
)
random_body = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    json_value.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v).encode("utf-16")),
    st.sampled_from(
        [
            b"[" * 50_000 + b"]" * 50_000,  # deeper than any parser recurses
            b'{"a":' * 30_000 + b"1" + b"}" * 30_000,
            b"x" * (MAX_BODY + 1),
            b"{" + b" " * MAX_BODY + b"}",
        ]
    ),
)
tracker_in_path = st.one_of(
    st.sampled_from([*TRACKERS, "ZENDESK", "memory", "servicenow", "jira/jira", "clickup/x"]),
    st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30),
)


@dataclass(frozen=True)
class Request:
    why: str  # how it was made, for the report of a failure
    path: str
    headers: Headers
    body: bytes
    chunk: int | None
    verified: bool  # signed with the right secret, fresh, over exactly this body
    valid: int | None = None  # index into ``Rig.valid``

    def __repr__(self) -> str:  # bodies run to megabytes: show their start and size
        body = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return (
            f"Request({self.why!r}, {self.path!r}, headers={self.headers!r}, "
            f"body={body!r} ({len(self.body)} bytes), chunk={self.chunk}, valid={self.valid})"
        )


@st.composite
def unsigned(draw: st.DrawFn) -> Request:
    """Random headers over a random body: no proper signature can be among them."""
    path = f"/webhooks/{draw(st.sampled_from(TRACKERS) | tracker_in_path)}"
    headers = draw(random_headers)
    length = draw(st.none() | lengths)  # a Content-Length that may lie or be no number
    if length is not None:
        headers.insert(0, (b"content-length", length))
    body = draw(random_body)
    return Request("random", path, headers, body, draw(st.none() | st.integers(1, 64)), False)


@st.composite
def mangled(draw: st.DrawFn) -> Request:
    """A proper signature, then one thing spoilt: the body, the secret, the stamp, a header."""
    tracker = draw(st.sampled_from(TRACKERS))
    body = draw(random_body | st.just(delivery_body(tracker, "77", "m")))
    spoil = draw(
        st.sampled_from(
            ["body", "secret", "drop-signature", "other-scheme", "stale", "future", "case"]
        )
    )
    headers = signed(tracker, body, secret=WRONG if spoil == "secret" else None)
    if spoil == "body":
        body = body + draw(st.binary(min_size=1, max_size=3))
    elif spoil == "drop-signature":
        headers = {
            k: v for k, v in headers.items() if "signature" not in k.lower() or "Timestamp" in k
        }
    elif spoil == "other-scheme":
        other = draw(st.sampled_from([t for t in TRACKERS if t != tracker]))
        headers = signed(other, body)
    elif spoil in ("stale", "future") and tracker == "zendesk":
        moved = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=-6 if spoil == "stale" else 6)
        stamp = moved.strftime("%Y-%m-%dT%H:%M:%SZ")
        headers["X-Zendesk-Webhook-Signature-Timestamp"] = stamp
        headers["X-Zendesk-Webhook-Signature"] = zendesk_hooks.sign(
            SecretStr(SECRETS[tracker]), stamp, body
        )
    elif spoil in ("stale", "future", "case"):
        # a signature written in another case, or padded: hex/base64 compare exactly
        name = next(k for k in headers if "signature" in k.lower() and "Timestamp" not in k)
        value = headers[name]
        headers[name] = value.swapcase() if tracker != "clickup" else value + "00"
    extra = draw(random_headers.filter(lambda hs: all(b"signature" not in k for k, _ in hs)))
    return Request(
        f"mangled:{spoil}",
        f"/webhooks/{tracker}",
        as_asgi(headers) + extra,
        body,
        draw(st.none() | st.integers(1, 64)),
        verified=False,
    )


@st.composite
def properly_signed(draw: st.DrawFn) -> Request:
    """A proper signature over a random or well-formed body: may be stored, never a 5xx."""
    tracker = draw(st.sampled_from(TRACKERS))
    body = draw(
        random_body
        | st.builds(
            delivery_body,
            st.just(tracker),
            st.sampled_from(["1", "42", "9" * 30, "\u00b3"]),
            st.uuids().map(str),
        )
    )
    headers = as_asgi(signed(tracker, body))
    if draw(st.booleans()):
        headers.append((b"content-type", draw(header_value)))
    path = draw(st.sampled_from([f"/webhooks/{tracker}", f"/webhooks/{tracker}/{tracker}"]))
    return Request("signed", path, headers, body, draw(st.none() | st.integers(1, 512)), True)


@st.composite
def replayed(draw: st.DrawFn) -> Request:
    index = draw(st.integers(0, 5))
    return Request("valid", "", [], b"", None, verified=True, valid=index)


EXAMPLES = 5000 if os.environ.get("TICKET_BRIDGE_RELIABILITY_LONG") == "1" else 400


def test_no_request_gets_a_5xx_or_an_unverified_delivery_into_the_inbox(rig: Rig) -> None:
    """Random, mangled and properly signed requests, with six valid deliveries replayed among
    them; then each valid one once more: every one stored exactly once, nothing else unsigned."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=st.one_of(unsigned(), mangled(), properly_signed(), replayed()))
    def one(request: Request) -> None:
        check(rig, request)

    one()
    for index in range(len(rig.valid)):
        check(rig, Request("valid, once more", "", [], b"", None, verified=True, valid=index))
    assert [rig.accepted[i] for i in range(len(rig.valid))] == [1] * len(rig.valid)
    stored = rig.store.pending(limit=100_000)
    assert len(stored) == rig.store.inbox_depth() == rig.enqueued
    ids = Counter((item.tracker, item.delivery_id) for item in stored)
    assert max(ids.values()) == 1, "a delivery id stored twice"


def hard_cases() -> list[Request]:
    """What the fuzzer found once, kept so that every run tries them (built when run: fresh stamps)."""
    deep = b"[" * 50_000 + b"]" * 50_000
    cases = [
        Request(f"signed-deep:{t}", f"/webhooks/{t}", as_asgi(signed(t, deep)), deep, None, True)
        for t in TRACKERS
    ]
    for length in ("\u00b2", "1\u00b3", "\u00b9" * 8):  # digits to str.isdigit(), not to int()
        headers = [(b"content-length", length.encode("latin-1"))]
        cases += [
            Request("length", f"/webhooks/{t}", headers, b"{}", None, False) for t in TRACKERS
        ]
    return cases


def test_the_cases_the_fuzzer_found_stay_fixed(rig: Rig) -> None:
    for request in hard_cases():
        check(rig, request)


def check(rig: Rig, request: Request) -> None:
    if request.valid is not None:
        path, headers, body = rig.valid[request.valid]
    else:
        path, headers, body = request.path, request.headers, request.body
    before = rig.store.inbox_depth()
    answer = rig.post(path, headers, body, chunk=request.chunk)
    after = rig.store.inbox_depth()
    assert answer.error is None, f"{request.why}: an exception escaped the app:\n{answer.error}"
    assert answer.status < 500, (request.why, answer.status, answer.body[:300])
    if not request.verified:
        # refused (4xx), or for a path with a trailing slash redirected (307) to be refused there
        assert 300 <= answer.status < 500, (request.why, answer.status, answer.body[:300])
        assert after == before, f"{request.why}: an unverified delivery reached the inbox"
        return
    fresh = answer.json().get("accepted", 0) if answer.status == 202 else 0
    assert after - before == fresh, (request.why, answer.status, answer.body[:300])
    rig.enqueued += fresh
    if request.valid is not None:
        assert answer.status == 202, answer.body
        seen = rig.accepted[request.valid]
        assert answer.json() == {
            "accepted": 0 if seen else 1,
            "duplicates": 1 if seen else 0,
            "seen": 0,
        }
        rig.accepted[request.valid] += fresh


def race(url: str, headers: dict[str, str], body: bytes, copies: int) -> list[requests.Response]:
    """``copies`` posts of one delivery, released at one instant from as many threads."""
    gate = threading.Barrier(copies)

    def send(_: int) -> requests.Response:
        gate.wait(timeout=10)
        return requests.post(url, data=body, headers=headers, timeout=10)

    with ThreadPoolExecutor(copies) as pool:
        return list(pool.map(send, range(copies)))


def test_one_delivery_sent_from_many_threads_at_once_is_accepted_once(rig: Rig) -> None:
    """Over real HTTP: a tracker's retries racing the original (8 copies at one instant)."""
    app = receivers(rig.store, rig.adapters, Metrics(), ready=list)
    with Served(app) as served:
        for tracker in TRACKERS:
            body = delivery_body(tracker, "555", f"race-{tracker}")
            answers = race(f"{served.url}/webhooks/{tracker}", signed(tracker, body), body, 8)
            assert [a.status_code for a in answers] == [202] * 8, [a.text for a in answers]
            assert sum(a.json()["accepted"] for a in answers) == 1, tracker
            assert sum(a.json()["duplicates"] for a in answers) == 7, tracker
