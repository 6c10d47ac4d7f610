"""The HTTP client of one Zendesk account: zenpy where it fits, its own session where it does not.

zenpy reads tickets, users and custom statuses. Its session (``session=``) is ours, so every call,
zenpy's or our own, goes through one transport: it sends ``https://{subdomain}.zendesk.com`` to
``base_url`` when one is configured (the sandbox's fake), drops zenpy's ``.json`` suffix (Zendesk
serves both spellings; the vendor spec names paths without it) and never retries. Writes, the
cursor export (zenpy hides its ``after_cursor``), cursor-paged comments and the OAuth grant go
through the same session directly.

zenpy 2.0.57 as installed has no ``raise_on_ratelimit``: on a 429 it sleeps for Retry-After in a
loop. A response hook, kept last so other hooks (a spec check) still see the 429, raises before
zenpy can wait, and the bridge decides when to try again.

HTTP statuses become ``bridge.errors`` in one place, ``ZendeskClient._failure``. Zendesk API
tokens stop working on 2027-04-30; the OAuth client-credentials grant is the way forward: its
access tokens expire, and a 401 on one makes the client fetch a new token once and repeat the
request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from pydantic import ValidationError
from requests.adapters import HTTPAdapter
from zenpy import Zenpy
from zenpy.lib.exception import APIException

from ticket_bridge.adapters import environment
from ticket_bridge.adapters.pacing import RequestBudget
from ticket_bridge.adapters.zendesk.config import ZendeskAuth, ZendeskConfig
from ticket_bridge.adapters.zendesk.payloads import (
    CommentPage,
    CustomStatusList,
    ErrorBody,
    ExportPage,
    Payload,
    SearchCount,
    SearchExportPage,
    SearchPage,
    TicketFieldBody,
    TicketList,
    TokenGrant,
    TriggerList,
    UpdateBody,
    UserList,
    WebhookPage,
    ZComment,
    ZCustomStatus,
    ZTicket,
    ZTicketField,
    ZTrigger,
    ZUser,
    ZWebhook,
)
from ticket_bridge.bridge.errors import (
    BridgeError,
    Conflict,
    NotFound,
    Permanent,
    RateLimited,
    Transient,
)

T = TypeVar("T")
P = TypeVar("P", bound=Payload)
CLOSED = "Status closed prevents ticket update"
COMMENT_LIMIT = "maximum number of comments"


class ClosedTicket(Permanent):
    """Zendesk refused to update a closed ticket: only a follow-up ticket can carry the change."""


class CommentLimit(Permanent):
    """The ticket holds as many comments as Zendesk allows (5,000)."""


class BadQuery(Permanent):
    """Zendesk refused a search query (400/422): the query is wrong, not the tracker."""

    def __init__(self, tracker: str, message: str, *, status: int, reason: str) -> None:
        super().__init__(tracker, message)
        self.status = status
        self.reason = reason


TICKET_UPDATES = "zendesk-rate-limit-tickets-update"
"""The header with which Zendesk counts updates of one ticket (``total=30; remaining=0; ...``)."""


def _account_has_room(response: requests.Response) -> bool:
    """Whether a 429 left the account's own limit unspent: Zendesk also limits updates of one
    ticket (30 in 10 minutes), and that wait belongs to the ticket, not to every request."""
    if "remaining=0" in response.headers.get(TICKET_UPDATES, "").replace(" ", ""):
        return True
    remaining = response.headers.get("X-Rate-Limit-Remaining", "")
    return remaining.isdigit() and int(remaining) > 0


class _Throttled(Exception):
    def __init__(self, response: requests.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ZendeskTransport(HTTPAdapter):
    """Sends the account's URLs to ``target`` and drops a ``.json`` suffix; never retries."""

    def __init__(self, origin: str, target: str) -> None:
        super().__init__(max_retries=0)
        self.origin = origin
        self.target = target

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        """The request keeps the account's URL (zenpy checks it); only the copy sent moves."""
        parts = urlsplit(request.url or "")
        if parts.path.endswith(".json"):
            request.url = urlunsplit(parts._replace(path=parts.path.removesuffix(".json")))
        sent = request.copy()
        url = sent.url or ""
        if url.startswith(self.origin):
            sent.url = self.target + url[len(self.origin) :]
        response = super().send(sent, *args, **kwargs)
        response.request = request
        return response


class ZendeskClient:
    """One account; ``session`` is the one every request goes through (attach checks to it)."""

    def __init__(
        self,
        tracker: str,
        config: ZendeskConfig,
        *,
        session: requests.Session | None = None,
        budget: RequestBudget | None = None,
        export_budget: RequestBudget | None = None,
    ) -> None:
        self.tracker = tracker
        self.config = config
        self.origin = f"https://{config.subdomain}.zendesk.com"
        self.session = session or requests.Session()
        self.session.mount(self.origin, ZendeskTransport(self.origin, config.api_url))
        environment.read_once(self.session, self.origin)
        self.budget = budget or RequestBudget(config.requests_per_minute, 60.0)
        self.export_budget = export_budget or RequestBudget(config.incremental_per_minute, 60.0)
        self._token_lock = threading.Lock()
        self._refresh_token: str | None = None
        self.grants = 0
        auth: dict[str, str] = {}
        if config.auth is ZendeskAuth.API_TOKEN:
            assert config.api_token is not None
            assert config.email is not None
            auth = {"email": config.email, "token": config.api_token.get_secret_value()}
        elif config.auth is ZendeskAuth.OAUTH_TOKEN:
            assert config.oauth_access_token is not None
            auth = {"oauth_token": config.oauth_access_token.get_secret_value()}
        else:
            auth = {"oauth_token": "pending"}
        self.zenpy = Zenpy(
            subdomain=config.subdomain,
            session=self.session,
            timeout=config.timeout,
            disable_cache=True,
            **auth,
        )
        self._authorized = config.auth is not ZendeskAuth.OAUTH_CLIENT

    # -- the operations ------------------------------------------------------------------

    def ticket(self, ticket_id: str) -> ZTicket:
        ref = self._ref(ticket_id)
        number = _number(ticket_id, ref, self.tracker)
        found = self._zenpy(
            lambda: self.zenpy.tickets(id=number), "GET", f"/api/v2/tickets/{number}", ref
        )
        return self._parse(ZTicket, found.to_dict(), "GET", f"/api/v2/tickets/{number}")

    def tickets_by_external_id(self, external_id: str) -> tuple[ZTicket, ...]:
        body = self.request("GET", "/api/v2/tickets", params={"external_id": external_id})
        return self._parse(TicketList, body, "GET", "/api/v2/tickets").tickets

    def create(self, ticket: Mapping[str, Any]) -> UpdateBody:
        body = self.request("POST", "/api/v2/tickets", json={"ticket": dict(ticket)})
        return self._parse(UpdateBody, body, "POST", "/api/v2/tickets")

    def update(self, ticket_id: str, ticket: Mapping[str, Any]) -> UpdateBody:
        ref = self._ref(ticket_id)
        path = f"/api/v2/tickets/{_number(ticket_id, ref, self.tracker)}"
        body = self.request("PUT", path, ref=ref, json={"ticket": dict(ticket)})
        return self._parse(UpdateBody, body, "PUT", path)

    def comments(self, ticket_id: str, page_size: int = 100) -> CommentPage:
        """Every comment, oldest first, following cursor pages; authors sideloaded."""
        ref = self._ref(ticket_id)
        path = f"/api/v2/tickets/{_number(ticket_id, ref, self.tracker)}/comments"
        params: dict[str, str] = {"page[size]": str(page_size), "include": "users"}
        comments: list[ZComment] = []
        users: dict[int, ZUser] = {}
        while True:
            page = self._parse(
                CommentPage, self.request("GET", path, ref=ref, params=params), "GET", path
            )
            comments.extend(page.comments)
            users.update({u.id: u for u in page.users})
            if not page.meta.has_more or not page.meta.after_cursor:
                break
            params = {**params, "page[after]": page.meta.after_cursor}
        return CommentPage(comments=tuple(comments), users=tuple(users.values()))

    def export(self, *, start_time: int | None = None, cursor: str | None = None) -> ExportPage:
        """One page of the cursor export (10 requests a minute: paced by its own budget)."""
        params = {"cursor": cursor} if cursor else {"start_time": str(start_time)}
        path = "/api/v2/incremental/tickets/cursor"
        body = self.request("GET", path, params=params, budget=self.export_budget)
        return self._parse(ExportPage, body, "GET", path)

    def user(self, user_id: int) -> ZUser:
        path = f"/api/v2/users/{user_id}"
        found = self._zenpy(lambda: self.zenpy.users(id=user_id), "GET", path, None)
        return self._parse(ZUser, found.to_dict(), "GET", path)

    def me(self) -> ZUser:
        """The user the credentials act as (an OAuth client's token acts as its creator)."""
        path = "/api/v2/users/me"
        found = self._zenpy(self.zenpy.users.me, "GET", path, None)
        return self._parse(ZUser, found.to_dict(), "GET", path)

    def users_by_email(self, email: str) -> tuple[ZUser, ...]:
        body = self.request("GET", "/api/v2/users/search", params={"query": f"email:{email}"})
        return self._parse(UserList, body, "GET", "/api/v2/users/search").users

    def custom_statuses(self) -> tuple[ZCustomStatus, ...]:
        path = "/api/v2/custom_statuses"
        found = self._zenpy(lambda: list(self.zenpy.custom_statuses()), "GET", path, None)
        body = {"custom_statuses": [status.to_dict() for status in found]}
        return self._parse(CustomStatusList, body, "GET", path).custom_statuses

    def search(self, query: str, *, per_page: int) -> SearchPage:
        """Page 1 of List Search Results, oldest created first (the only page a caller needs
        when it moves the query's lower bound instead of paging, so the 1,000 cap never bites)."""
        path = "/api/v2/search"
        params = {
            "query": query,
            "sort_by": "created_at",
            "sort_order": "asc",
            "per_page": str(per_page),
        }
        return self._parse(SearchPage, self.request("GET", path, params=params), "GET", path)

    def search_count(self, query: str) -> int:
        path = "/api/v2/search/count"
        body = self.request("GET", path, params={"query": query})
        return self._parse(SearchCount, body, "GET", path).count

    def search_export(self, query: str, *, size: int, after: str | None) -> SearchExportPage:
        """One page of Export Search Results (tickets; no ``type:`` in the query, Zendesk refuses it)."""
        path = "/api/v2/search/export"
        params = {"query": query, "filter[type]": "ticket", "page[size]": str(size)}
        if after:
            params["page[after]"] = after
        body = self.request("GET", path, params=params)
        return self._parse(SearchExportPage, body, "GET", path)

    def ticket_field(self, field_id: int) -> ZTicketField:
        path = f"/api/v2/ticket_fields/{field_id}"
        return self._parse(TicketFieldBody, self.request("GET", path), "GET", path).ticket_field

    def webhooks(self) -> tuple[ZWebhook, ...]:
        """Every webhook of the account (an admin's view), following cursor pages."""
        path = "/api/v2/webhooks"
        params: dict[str, str] = {"page[size]": "100"}
        found: list[ZWebhook] = []
        while True:
            page = self._parse(WebhookPage, self.request("GET", path, params=params), "GET", path)
            found.extend(page.webhooks)
            if not page.meta.has_more or not page.meta.after_cursor:
                return tuple(found)
            params = {**params, "page[after]": page.meta.after_cursor}

    def triggers(self) -> tuple[ZTrigger, ...]:
        """The active ticket triggers, following ``next_page`` (offset pages)."""
        path = "/api/v2/triggers"
        params: dict[str, str] = {"active": "true"}
        found: list[ZTrigger] = []
        while True:
            page = self._parse(TriggerList, self.request("GET", path, params=params), "GET", path)
            found.extend(page.triggers)
            if not page.next_page:
                return tuple(found)
            params = dict(parse_qsl(urlsplit(page.next_page).query))

    # -- the one way out, and the one place statuses are classified -------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        ref: str | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        budget: RequestBudget | None = None,
    ) -> Any:
        def send() -> Any:
            response = self.session.request(
                method,
                self.origin + path,
                params=params,
                json=json,
                timeout=self.config.timeout,
            )
            if not response.ok:
                raise APIException(response.text, response=response)
            return response.json()

        return self._guarded(send, method, path, ref, budget or self.budget)

    def _zenpy(self, call: Callable[[], T], method: str, path: str, ref: str | None) -> T:
        return self._guarded(call, method, path, ref, self.budget)

    def _guarded(
        self,
        call: Callable[[], T],
        method: str,
        path: str,
        ref: str | None,
        budget: RequestBudget,
    ) -> T:
        self._ensure_authorized()
        for attempt in (1, 2):
            budget.acquire()
            self._hook_last()
            try:
                return call()
            except _Throttled as throttled:
                error = self._failure(method, path, ref, throttled.response)
                if _account_has_room(throttled.response):
                    raise error from None  # one ticket's or endpoint's limit: the account goes on
            except APIException as exc:
                response = exc.response
                if (
                    response is not None
                    and response.status_code == 401
                    and attempt == 1
                    and self.config.auth is ZendeskAuth.OAUTH_CLIENT
                ):
                    self._grant()
                    continue
                error = self._failure(method, path, ref, response)
                raise error from exc
            except requests.Timeout as exc:
                raise Transient(self.tracker, f"{method} {path} timed out", ref=ref) from exc
            except requests.RequestException as exc:
                raise Transient(
                    self.tracker, f"{method} {path} failed: {type(exc).__name__}", ref=ref
                ) from exc
            if isinstance(error, RateLimited):
                budget.drain_until(error.retry_after)
            raise error
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _failure(
        self, method: str, path: str, ref: str | None, response: requests.Response | None
    ) -> BridgeError:
        where = f"{method} {path}"
        if response is None:
            return Transient(self.tracker, f"{where} failed without a response", ref=ref)
        status = response.status_code
        try:
            text = ErrorBody.model_validate_json(response.content).text()
        except ValidationError:
            text = response.reason or "no error text"
        if status in (401, 403):
            return Permanent(
                self.tracker,
                f"{where} answered {status}: check the credentials (and the OAuth scopes)",
                ref=ref,
            )
        if status == 404:
            return NotFound(self.tracker, f"{where} answered 404: {text}", ref=ref)
        if status == 409:
            return Conflict(self.tracker, f"{where} answered 409: {text}", ref=ref)
        if status == 429:
            return RateLimited(
                self.tracker, _retry_after(response), f"{where} answered 429", ref=ref
            )
        if status >= 500:
            return Transient(self.tracker, f"{where} answered {status}: {text}", ref=ref)
        if status in (400, 422) and path.startswith("/api/v2/search"):
            return BadQuery(
                self.tracker, f"{where} answered {status}: {text}", status=status, reason=text
            )
        if status == 422 and CLOSED in text:
            return ClosedTicket(self.tracker, f"{where} answered 422: {text}", ref=ref)
        if status == 422 and COMMENT_LIMIT in text:
            return CommentLimit(self.tracker, f"{where} answered 422: {text}", ref=ref)
        return Permanent(self.tracker, f"{where} answered {status}: {text}", ref=ref)

    # -- plumbing ------------------------------------------------------------------------

    def _ref(self, ticket_id: str) -> str:
        return f"{self.tracker}:{ticket_id}"

    def _parse(self, model: type[P], body: Any, method: str, path: str) -> P:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise Permanent(
                self.tracker,
                f"{method} {path} answered an unexpected body at {where}: {first['msg']}",
            ) from exc

    def _refuse_to_wait(self, response: requests.Response, *args: Any, **kwargs: Any) -> Any:
        if response.status_code == 429:
            raise _Throttled(response)
        return response

    def _hook_last(self) -> None:
        hooks = self.session.hooks.setdefault("response", [])
        if self._refuse_to_wait in hooks:
            hooks.remove(self._refuse_to_wait)
        hooks.append(self._refuse_to_wait)

    def _ensure_authorized(self) -> None:
        if not self._authorized:
            self._grant()

    def _grant(self) -> None:
        """Client credentials, or the refresh token of the last grant (rotated on each use)."""
        secret = self.config.oauth_client_secret
        if self.config.auth is not ZendeskAuth.OAUTH_CLIENT or secret is None:
            return
        with self._token_lock:
            body: dict[str, str] = {
                "client_id": self.config.oauth_client_id or "",
                "client_secret": secret.get_secret_value(),
                "scope": self.config.oauth_scope,
            }
            if self._refresh_token:
                body |= {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
            else:
                body["grant_type"] = "client_credentials"
            self._hook_last()
            try:
                response = self.session.post(
                    self.origin + "/oauth/tokens",
                    json=body,
                    headers={"Authorization": None},
                    timeout=self.config.timeout,
                )
            except _Throttled as throttled:
                raise self._failure("POST", "/oauth/tokens", None, throttled.response) from None
            except requests.RequestException as exc:
                raise Transient(
                    self.tracker, f"POST /oauth/tokens failed: {type(exc).__name__}"
                ) from exc
            if response.status_code == 400 and self._refresh_token:
                self._refresh_token = None
                self._authorized = False
                raise Transient(
                    self.tracker, "POST /oauth/tokens refused the refresh token: granting anew"
                )
            if not response.ok:
                raise self._failure("POST", "/oauth/tokens", None, response)
            grant = self._parse(TokenGrant, response.json(), "POST", "/oauth/tokens")
            self._refresh_token = grant.refresh_token
            self.session.headers["Authorization"] = f"Bearer {grant.access_token}"
            self._authorized = True
            self.grants += 1


def _number(ticket_id: str, ref: str, tracker: str) -> int:
    try:
        return int(ticket_id)
    except ValueError:
        raise NotFound(tracker, f"{ticket_id!r} is not a Zendesk ticket id", ref=ref) from None


def _retry_after(response: requests.Response) -> float:
    try:
        return float(response.headers.get("Retry-After", "60"))
    except ValueError:
        return 60.0
