"""The HTTP side of the Jira adapter: the ``jira`` library, its session, and error classification.

The library speaks REST v3 (``rest_api_version: "3"``); its ``ResilientSession`` retry is switched
off (``max_retries=0``) because it may sleep less than ``Retry-After``: the bridge retries, using
the ``RateLimited.retry_after`` computed here. Every request (the library's own too) goes through
one paced transport, so the configured ``RequestBudget`` covers them all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError
from requests.adapters import HTTPAdapter

from ticket_bridge.adapters import environment
from ticket_bridge.adapters.jira.config import JiraConfig
from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.bridge.errors import (
    Conflict,
    NotFound,
    Permanent,
    RateLimited,
    TrackerError,
    Transient,
)

T = TypeVar("T")
API = "/rest/api/3/"


@dataclass(frozen=True)
class Refusal:
    """An error answer the caller asked to handle itself (``allow``): its status and Jira's words."""

    status: int
    text: str


class PacedTransport(HTTPAdapter):
    """Takes one request from the budget before anything is sent."""

    def __init__(self, budget: RequestBudget) -> None:
        super().__init__(max_retries=0)
        self.budget = budget

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        self.budget.acquire()
        return super().send(request, *args, **kwargs)


def _reset_in(value: str | None, now: dt.datetime) -> float:
    """Seconds until ``X-RateLimit-Reset`` (ISO 8601, e.g. ``2026-11-02T09:31Z``); 0 when absent."""
    if not value:
        return 0.0
    try:
        at = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return max(0.0, (at - now).total_seconds())


def retry_after(headers: Mapping[str, str], now: dt.datetime) -> float | None:
    """How long Jira asked us to wait: the later of ``Retry-After`` and ``X-RateLimit-Reset``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    after = lowered.get("retry-after")
    reset = lowered.get("x-ratelimit-reset")
    if after is None and reset is None:
        return None
    seconds = 0.0
    if after is not None:
        try:
            seconds = float(after)
        except ValueError:
            seconds = 0.0
    return max(seconds, _reset_in(reset, now))


def error_text(response: requests.Response | None) -> str:
    """Jira's own words from an error body (``errorMessages`` and ``errors``), on one line."""
    if response is None:
        return "no response"
    try:
        body = response.json()
    except ValueError:
        return " ".join(response.text.split())[:200] or response.reason or ""
    if not isinstance(body, dict):
        return str(body)[:200]
    parts = [str(m) for m in body.get("errorMessages") or []]
    parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    return "; ".join(parts)[:300] or response.reason or ""


def classify(
    tracker: str,
    where: str,
    status: int | None,
    response: requests.Response | None,
    *,
    ref: str | None = None,
    now: dt.datetime | None = None,
) -> TrackerError:
    """The one place an HTTP status becomes a bridge error."""
    now = now or dt.datetime.now(dt.UTC)
    headers: Mapping[str, str] = response.headers if response is not None else {}
    if status is None:
        return Transient(tracker, f"{where}: no usable response", ref=ref)
    if status in (401, 403):
        return Permanent(
            tracker, f"{where}: {status} refused, check the credentials and permissions", ref=ref
        )
    text = error_text(response)
    if status == 404:
        return NotFound(tracker, f"{where}: 404 {text}", ref=ref)
    if status == 409:
        return Conflict(tracker, f"{where}: 409 {text}", ref=ref)
    wait = retry_after(headers, now)
    if status == 429 or (status == 503 and wait is not None):
        return RateLimited(tracker, wait or 0.0, f"{where}: {status}", ref=ref)
    if status >= 500:
        return Transient(tracker, f"{where}: {status} {text}", ref=ref)
    return Permanent(tracker, f"{where}: {status} {text}", ref=ref)


class JiraClient:
    """One Jira Cloud site: the library client, its session, pacing and error translation."""

    def __init__(
        self,
        tracker: str,
        config: JiraConfig,
        *,
        session: requests.Session | None = None,
        budget: RequestBudget | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.tracker = tracker
        self.config = config
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.budget = budget or RequestBudget(config.requests_per_minute, 60.0)
        try:
            self.jira = JIRA(
                server=config.base_url,
                basic_auth=(config.email, config.api_token.get_secret_value()),
                options={"rest_api_version": "3", "check_update": False},
                max_retries=0,
                timeout=config.timeout,
                get_server_info=False,
            )
        except JIRAError as exc:
            raise self._error("connect", exc) from exc
        self.session: requests.Session = self.jira._session
        if session is not None:
            for event, hooks in session.hooks.items():
                self.session.hooks.setdefault(event, []).extend(hooks)
        self.session.mount(config.base_url, PacedTransport(self.budget))
        environment.read_once(self.session, config.base_url)
        self._verified = False
        self._me: dict[str, Any] | None = None

    def _error(self, where: str, exc: Exception, ref: str | None = None) -> TrackerError:
        if isinstance(exc, JIRAError):
            response = exc.response if isinstance(exc.response, requests.Response) else None
            status = exc.status_code if isinstance(exc.status_code, int) else None
            error = classify(self.tracker, where, status, response, ref=ref, now=self.clock())
            if isinstance(error, RateLimited):
                self.budget.drain_until(error.retry_after)
            return error
        if isinstance(exc, requests.Timeout):
            return Transient(self.tracker, f"{where}: timed out", ref=ref)
        return Transient(self.tracker, f"{where}: {type(exc).__name__}", ref=ref)

    def _verify_once(self) -> None:
        """What JIRA(get_server_info=True) does, done on first use with the hooks and pacing in place.

        Not in the constructor: a daemon must start while Jira is down, and catch up later.
        """
        if self._verified:
            return
        self._verified = True
        try:
            info = self.call("GET serverInfo", self.jira.server_info)
        except TrackerError:
            self._verified = False
            raise
        self.jira.deploymentType = info.get("deploymentType")
        if self.jira.deploymentType != "Cloud":
            self._verified = False
            raise Permanent(
                self.tracker,
                f"{self.config.base_url} is a Jira {self.jira.deploymentType or 'Server'} site, "
                "not Jira Cloud",
            )

    def call(self, where: str, fn: Callable[[], T], *, ref: str | None = None) -> T:
        """Run one library call, translating its failures."""
        self._verify_once()
        try:
            return fn()
        except (JIRAError, requests.RequestException) as exc:
            raise self._error(where, exc, ref) from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        ref: str | None = None,
        root: str = API,
        allow: Collection[int] = (),
    ) -> Any:
        """One REST call on the library's session, for what the library does not cover in v3.

        ``root`` is the API's base path (admin webhooks live outside REST v3). An error answer
        whose status is in ``allow`` comes back as a ``Refusal`` instead of being raised, for a
        caller that has something better to say about it than the classified error.
        """
        url = self.config.base_url + root + path

        def send() -> Any:
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=None if body is None else json.dumps(body),
                    headers={"Content-Type": "application/json"},
                )
            except JIRAError as exc:
                status = exc.status_code
                if isinstance(status, int) and status in allow:
                    answer = exc.response if isinstance(exc.response, requests.Response) else None
                    return Refusal(status, error_text(answer))
                raise
            return response.json() if response.content else None

        return self.call(f"{method} {root}{path}", send, ref=ref)

    def myself(self) -> dict[str, Any]:
        """The API user's profile, asked of Jira until it answers once, then kept."""
        if self._me is None:
            me = self.call("GET myself", self.jira.myself)
            self._me = dict(me) if isinstance(me, dict) else {}
        return self._me

    @property
    def account_id(self) -> str | None:
        """The API user's ``accountId`` once ``myself`` has answered; never asks Jira for it."""
        account = (self._me or {}).get("accountId")
        return str(account) if account else None

    @property
    def time_zone(self) -> str:
        """The API user's profile time zone: JQL date literals are read in it."""
        return str(self.myself().get("timeZone") or "UTC")

    def issue(
        self, issue_id: str, fields: str, properties: str, *, expand: str = ""
    ) -> dict[str, Any]:
        found = self.call(
            f"GET {API}issue/{issue_id}",
            lambda: self.jira.issue(
                issue_id, fields=fields, properties=properties, expand=expand or None
            ),
            ref=f"{self.tracker}:{issue_id}",
        )
        raw: dict[str, Any] = found.raw
        return raw

    def transitions(self, issue_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call(
            f"GET {API}issue/{issue_id}/transitions",
            lambda: self.jira.transitions(issue_id, expand="transitions.fields"),
            ref=f"{self.tracker}:{issue_id}",
        )
        return found

    def transition(
        self,
        issue_id: str,
        transition_id: str,
        fields: dict[str, Any],
        *,
        allow: Collection[int] = (),
    ) -> Refusal | None:
        """On the session: ``JIRA.transition_issue`` sends the id as a number, the spec a string."""
        body = {"transition": {"id": transition_id}, "fields": fields}
        answer = self.request(
            "POST",
            f"issue/{issue_id}/transitions",
            body=body,
            ref=f"{self.tracker}:{issue_id}",
            allow=allow,
        )
        return answer if isinstance(answer, Refusal) else None
