"""Read the environment's proxy and CA settings once per client, not on every request.

requests looks up ``HTTPS_PROXY``, ``NO_PROXY`` and the CA bundle variables for each request it
sends (``merge_environment_settings``); profiling the daemon at 50 changes/s put that at about
90 µs twice per request and a fifth of the HTTP clients' CPU. The settings cannot change under
a running process, so each client reads them when it is made and then stops looking.

A CA bundle is kept only for an ``https`` URL: a path in ``verify`` costs a ``stat`` of it on
every request (requests asks whether it is a directory), about 5% of the daemon's time on the
sandbox's plain-HTTP fakes, where there is no certificate to check.
"""

from __future__ import annotations

import os

import requests
from requests.utils import get_environ_proxies


def read_once(session: requests.Session, url: str) -> None:
    """Fix ``session``'s proxies and CA bundle from the environment, as requests would for ``url``."""
    if session.trust_env:
        for scheme, proxy in get_environ_proxies(url).items():
            session.proxies.setdefault(scheme, proxy)
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle and session.verify is True and url.lower().startswith("https:"):
            session.verify = bundle
        session.trust_env = False
