"""Every request an adapter sends and every response a fake returns, checked against the vendor's spec.

The specs in ``tests/data/specs/`` are the vendors' OpenAPI files (see ``../shared/specs/README.md``),
trimmed by ``tests/data/specs/trim.py`` to the operations used, their servers set to the fakes'
base path. Attach a ``SpecCheck`` to the adapter's ``requests`` session.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

SPECS = Path(__file__).parent / "data" / "specs"


@functools.cache
def spec(name: str) -> OpenAPI:
    """Loaded once per test session: the Jira document alone takes seconds."""
    return OpenAPI.from_file_path(
        str(SPECS / f"{name}.json"), config=Config(spec_validator_cls=None)
    )


class SpecCheck:
    """A response hook validating each request/response pair; failures are kept and raised."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.api = spec(name)
        self.checked: list[str] = []
        self.failures: list[str] = []

    def attach(self, session: requests.Session) -> None:
        session.hooks.setdefault("response", []).append(self.hook)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        request = RequestsOpenAPIRequest(response.request)
        where = f"{response.request.method} {response.request.path_url}"
        try:
            self.api.validate_request(request)
        except Exception as exc:
            self.failures.append(f"{where}: request does not match {self.name} spec: {exc}")
        else:
            try:
                self.api.validate_response(request, RequestsOpenAPIResponse(response))
            except Exception as exc:
                self.failures.append(
                    f"{where} -> {response.status_code}: response does not match {self.name} spec: {exc}"
                )
        self.checked.append(where)
        return response

    def assert_clean(self, *, expect_requests: bool = True) -> None:
        """No failures; and, unless the test sent nothing by design (webhooks), something checked."""
        if expect_requests:
            assert self.checked, f"no request was checked against the {self.name} spec"
        assert not self.failures, "\n".join(self.failures)
