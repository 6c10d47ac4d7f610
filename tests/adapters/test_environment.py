"""Clients read proxy and CA settings from the environment once, and keep honouring them."""

from __future__ import annotations

import pytest
import requests

from ticket_bridge.adapters import environment


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_a_proxy_and_ca_bundle_in_the_environment_stay_in_force(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company.pem")
    session = requests.Session()
    environment.read_once(session, "https://acme.atlassian.net")
    assert session.proxies["https"] == "http://proxy.internal:3128"
    assert session.verify == "/etc/ssl/company.pem"
    assert not session.trust_env, "requests no longer reads the environment per request"


def test_a_host_in_no_proxy_goes_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    session = requests.Session()
    environment.read_once(session, "http://127.0.0.1:8080")
    assert "https" not in session.proxies and "http" not in session.proxies
    assert session.verify is True


def test_settings_given_by_the_caller_win() -> None:
    session = requests.Session()
    session.proxies["https"] = "http://chosen:8080"
    session.verify = False
    environment.read_once(session, "https://acme.zendesk.com")
    assert session.proxies["https"] == "http://chosen:8080" and session.verify is False


def test_a_ca_bundle_is_not_kept_for_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing to verify without TLS, and a bundle path costs a stat on every request."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company.pem")
    session = requests.Session()
    environment.read_once(session, "http://127.0.0.1:8080")
    assert session.verify is True
