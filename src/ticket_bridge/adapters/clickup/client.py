"""A thin ClickUp API v2 client on ``requests``: auth, pacing, and every HTTP failure classified here.

ClickUp counts requests per token per minute and answers 429 with ``X-RateLimit-Reset`` (a unix
time) and no ``Retry-After``. Every response carries ``X-RateLimit-Remaining``/``Reset``, so the
client spends a ``RequestBudget`` evenly and drains it until the reset when the window is spent:
a backfill then runs at the limit instead of bouncing off it. The client never retries: the bridge
does (``bridge/retry.py``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from pydantic import ValidationError
from requests.adapters import HTTPAdapter

from ticket_bridge.adapters import environment
from ticket_bridge.adapters.clickup.config import AuthScheme, ClickUpConfig
from ticket_bridge.adapters.clickup.payloads import (
    ApiError,
    AuthorizedUser,
    Comments,
    CreatedComment,
    CreatedWebhook,
    ListFields,
    ListInfo,
    Payload,
    Task,
    TaskPage,
    Teams,
    Webhooks,
)
from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.bridge.errors import (
    Conflict,
    NotFound,
    Permanent,
    RateLimited,
    Transient,
)

PayloadT = TypeVar("PayloadT", bound=Payload)
Params = Mapping[str, str | Sequence[str]]
DEFAULT_WAIT = 60.0
COMMENTS_PAGE = 25


def _error_text(response: requests.Response) -> str:
    try:
        error = ApiError.model_validate_json(response.content)
    except ValidationError:
        return response.reason or "no error text"
    text = error.err or response.reason or "no error text"
    return f"{text} ({error.ECODE})" if error.ECODE else text


class ClickUpClient:
    def __init__(
        self,
        tracker: str,
        config: ClickUpConfig,
        *,
        session: requests.Session | None = None,
        budget: RequestBudget | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.tracker = tracker
        self.config = config
        self.base = config.base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=0))
        self.session.mount("https://", HTTPAdapter(max_retries=0))
        environment.read_once(self.session, self.base)
        self.budget = budget or RequestBudget(config.requests_per_minute, 60.0)
        self.wall = wall
        token = config.token.get_secret_value()
        self._auth = token if config.auth is AuthScheme.PERSONAL else f"Bearer {token}"

    # -- the one place HTTP becomes bridge errors ---------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        ref: str | None = None,
    ) -> Any:
        where = f"{method} {path}"
        headers = {"Authorization": self._auth, "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        self.budget.acquire()
        try:
            response = self.session.request(
                method,
                self.base + path,
                params=params,
                data=data,
                headers=headers,
                timeout=self.config.timeout,
            )
        except requests.Timeout as exc:
            raise Transient(self.tracker, f"{where}: timed out", ref=ref) from exc
        except requests.RequestException as exc:
            raise Transient(
                self.tracker, f"{where}: connection failed ({type(exc).__name__})", ref=ref
            ) from exc
        reset_in = self._pace(response)
        status = response.status_code
        if status < 400:
            try:
                return response.json() if response.content else {}
            except ValueError as exc:
                raise Transient(
                    self.tracker, f"{where}: answered {status} with no JSON", ref=ref
                ) from exc
        text = _error_text(response)
        if status in (401, 403):
            raise Permanent(
                self.tracker, f"{where}: {status} {text}: check the credentials", ref=ref
            )
        if status == 404:
            raise NotFound(self.tracker, f"{where}: 404 {text}", ref=ref)
        if status == 409:
            raise Conflict(self.tracker, f"{where}: 409 {text}", ref=ref)
        if status == 429:
            wait = DEFAULT_WAIT if reset_in is None else reset_in
            raise RateLimited(self.tracker, wait, f"{where}: 429 {text}", ref=ref)
        if status >= 500:
            raise Transient(self.tracker, f"{where}: {status} {text}", ref=ref)
        raise Permanent(self.tracker, f"{where}: {status} {text}", ref=ref)

    def _pace(self, response: requests.Response) -> float | None:
        """Seconds until the window resets, per the headers; drain the budget when it is spent."""
        reset = response.headers.get("X-RateLimit-Reset")
        remaining = response.headers.get("X-RateLimit-Remaining")
        try:
            reset_in = None if reset is None else max(0.0, float(reset) - self.wall())
        except ValueError:
            reset_in = None
        spent = response.status_code == 429 or (remaining is not None and remaining.strip() == "0")
        if spent:
            self.budget.drain_until(DEFAULT_WAIT if reset_in is None else reset_in)
        return reset_in

    def _read(self, model: type[PayloadT], raw: Any, where: str, ref: str | None) -> PayloadT:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            at = ".".join(str(p) for p in first["loc"]) or "body"
            raise Permanent(
                self.tracker, f"{where}: unexpected answer at {at}: {first['msg']}", ref=ref
            ) from exc

    # -- endpoints ------------------------------------------------------------------------

    def ref(self, task_id: str) -> str:
        return f"{self.tracker}:{task_id}"

    def authorized_user(self) -> AuthorizedUser:
        return self._read(AuthorizedUser, self.call("GET", "/v2/user"), "GET /v2/user", None)

    def teams(self) -> Teams:
        return self._read(Teams, self.call("GET", "/v2/team"), "GET /v2/team", None)

    def list_info(self, list_id: str) -> ListInfo:
        path = f"/v2/list/{quote(list_id, safe='')}"
        return self._read(ListInfo, self.call("GET", path), f"GET {path}", None)

    def list_fields(self, list_id: str) -> ListFields:
        path = f"/v2/list/{quote(list_id, safe='')}/field"
        return self._read(ListFields, self.call("GET", path), f"GET {path}", None)

    def webhooks(self, team_id: str) -> Webhooks:
        """The webhooks this token's user created in the Workspace, secrets included."""
        path = f"/v2/team/{quote(team_id, safe='')}/webhook"
        return self._read(Webhooks, self.call("GET", path), f"GET {path}", None)

    def create_webhook(self, team_id: str, body: Mapping[str, Any]) -> CreatedWebhook:
        path = f"/v2/team/{quote(team_id, safe='')}/webhook"
        raw = self.call("POST", path, body=body)
        return self._read(CreatedWebhook, raw, f"POST {path}", None)

    def task(self, task_id: str) -> Task:
        path = f"/v2/task/{quote(task_id, safe='')}"
        ref = self.ref(task_id)
        raw = self.call("GET", path, params={"include_markdown_description": "true"}, ref=ref)
        return self._read(Task, raw, f"GET {path}", ref)

    def update_task(self, task_id: str, body: Mapping[str, Any]) -> Task | None:
        """The task as the PUT left it, when the answer carries ``markdown_description`` (as the
        vendor's UpdateTaskresponse does); None when it does not, and only a read can tell."""
        path = f"/v2/task/{quote(task_id, safe='')}"
        ref = self.ref(task_id)
        raw = self.call("PUT", path, body=body, ref=ref)
        if not isinstance(raw, dict) or "markdown_description" not in raw:
            return None
        return self._read(Task, raw, f"PUT {path}", ref)

    def create_task(self, list_id: str, body: Mapping[str, Any]) -> Task:
        path = f"/v2/list/{quote(list_id, safe='')}/task"
        return self._read(Task, self.call("POST", path, body=body), f"POST {path}", None)

    def team_tasks(self, team_id: str, params: Params) -> TaskPage:
        path = f"/v2/team/{quote(team_id, safe='')}/task"
        return self._read(TaskPage, self.call("GET", path, params=params), f"GET {path}", None)

    def add_tag(self, task_id: str, tag: str) -> None:
        path = f"/v2/task/{quote(task_id, safe='')}/tag/{quote(tag, safe='')}"
        self.call("POST", path, ref=self.ref(task_id))

    def remove_tag(self, task_id: str, tag: str) -> None:
        path = f"/v2/task/{quote(task_id, safe='')}/tag/{quote(tag, safe='')}"
        self.call("DELETE", path, ref=self.ref(task_id))

    def comments(
        self, task_id: str, *, start: str | None = None, start_id: str | None = None
    ) -> Comments:
        path = f"/v2/task/{quote(task_id, safe='')}/comment"
        params = {} if start is None or start_id is None else {"start": start, "start_id": start_id}
        ref = self.ref(task_id)
        raw = self.call("GET", path, params=params, ref=ref)
        return self._read(Comments, raw, f"GET {path}", ref)

    def create_comment(self, task_id: str, text: str, *, notify_all: bool) -> CreatedComment:
        path = f"/v2/task/{quote(task_id, safe='')}/comment"
        ref = self.ref(task_id)
        raw = self.call(
            "POST", path, body={"comment_text": text, "notify_all": notify_all}, ref=ref
        )
        return self._read(CreatedComment, raw, f"POST {path}", ref)

    def update_comment(self, task_id: str, comment_id: str, text: str) -> None:
        path = f"/v2/comment/{quote(comment_id, safe='')}"
        self.call("PUT", path, body={"comment_text": text}, ref=f"{self.ref(task_id)}/{comment_id}")
