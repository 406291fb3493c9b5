"""Acting as a user: the assertion, the exchange, the cache, threads and every failure."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlassian_jwt import AsyncThreadTransport, HTTPRequest, HTTPResponse, TokenExchangeError
from atlassian_jwt.oauth2 import (
    AUTHORIZATION_SERVER,
    MAX_RESPONSE_BYTES,
    AccessToken,
    AsyncTokenProvider,
    TokenProvider,
    build_assertion,
    is_tenant_url,
    normalize_scopes,
)
from atlassian_jwt.tenants import SQLiteTenantStore
from atlassian_jwt.testing import ProductStandIn, Reply
from tests.support import (
    ACCOUNT,
    CLIENT_KEY,
    OAUTH_CLIENT_ID,
    SECRET,
    TOKEN_PATH,
    FakeClock,
    acting_account,
    answer_exchanges,
    assert_nothing_leaks,
    fresh_token,
)

# The fixtures oauth_tenant, site (the authorization server), fake_clock and provider are the
# suite's, in conftest.py.


# The assertion


def test_assertion_claims_follow_atlassian(oauth_tenant: dict[str, Any]) -> None:
    before = int(time.time())
    assertion = build_assertion(oauth_tenant, ACCOUNT)
    assert jwt.get_unverified_header(assertion)["alg"] == "HS256"
    claims = jwt.decode(assertion, SECRET, algorithms=["HS256"], audience=AUTHORIZATION_SERVER)
    assert claims["iss"] == f"urn:atlassian:connect:clientid:{OAUTH_CLIENT_ID}"
    assert claims["sub"] == f"urn:atlassian:connect:useraccountid:{ACCOUNT}"
    assert claims["tnt"] == "https://example.atlassian.net"
    assert claims["aud"] == "https://oauth-2-authorization-server.services.atlassian.com"
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 60
    assert set(claims) == {"iss", "sub", "tnt", "aud", "iat", "exp"}


def test_assertion_is_signed_with_the_tenants_secret_only(oauth_tenant: dict[str, Any]) -> None:
    assertion = build_assertion(oauth_tenant, ACCOUNT)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(assertion, SECRET[::-1], algorithms=["HS256"], audience=AUTHORIZATION_SERVER)


def test_assertion_time_and_audience_come_from_the_caller(oauth_tenant: dict[str, Any]) -> None:
    assertion = build_assertion(
        oauth_tenant, ACCOUNT, authorization_server="https://auth.example", now=1_000.9
    )
    claims = jwt.decode(
        assertion,
        SECRET,
        algorithms=["HS256"],
        audience="https://auth.example",
        options={"verify_exp": False},
    )
    assert (claims["iat"], claims["exp"]) == (1000, 1060)


def test_tenant_without_oauth_client_id_is_a_clear_error(
    tenant: dict[str, Any], site: ProductStandIn, fake_clock: FakeClock
) -> None:
    provider = TokenProvider(authorization_server=site.authorization_server, clock=fake_clock)
    with pytest.raises(ValueError, match="no 'oauthClientId'.*reinstall") as caught:
        provider.get_token(tenant, ACCOUNT)
    assert SECRET not in str(caught.value)
    assert site.exchanges == []


@pytest.mark.parametrize("missing", ["sharedSecret", "baseUrl", "oauthClientId"])
def test_assertion_needs_the_tenants_fields(oauth_tenant: dict[str, Any], missing: str) -> None:
    del oauth_tenant[missing]
    with pytest.raises(ValueError, match=missing):
        build_assertion(oauth_tenant, ACCOUNT)


@pytest.mark.parametrize("account_id", ["", "  ", None])
def test_account_id_is_required(oauth_tenant: dict[str, Any], account_id: Any) -> None:
    with pytest.raises(ValueError, match="account_id"):
        build_assertion(oauth_tenant, account_id)
    with pytest.raises(ValueError, match="account_id"):
        TokenProvider().get_token(oauth_tenant, account_id)


def test_provider_needs_the_client_key(oauth_tenant: dict[str, Any]) -> None:
    del oauth_tenant["clientKey"]
    with pytest.raises(ValueError, match="clientKey"):
        TokenProvider().get_token(oauth_tenant, ACCOUNT)


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (["read", "act_as_user"], ("READ", "ACT_AS_USER")),
        ("read  write\tdelete", ("READ", "WRITE", "DELETE")),
        (("Write", "WRITE", "read"), ("WRITE", "READ")),
        (iter(["project_admin"]), ("PROJECT_ADMIN",)),
    ],
)
def test_scopes_are_upper_cased_once_each_in_order(scopes: Any, expected: tuple[str]) -> None:
    assert normalize_scopes(scopes) == expected


@pytest.mark.parametrize("scopes", ["", [], ["READ", ""], ["READ WRITE"], ['RE"AD'], [None]])
def test_invalid_scopes_are_refused(scopes: Any) -> None:
    with pytest.raises(ValueError):
        normalize_scopes(scopes)


# The exchange


def test_exchange_posts_the_form_and_a_valid_assertion(
    provider: TokenProvider, site: ProductStandIn
) -> None:
    token = provider.get_token(site.tenant, ACCOUNT, scopes=["read", "act_as_user"])
    (exchange,) = site.exchanges
    form = exchange.form
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert form["scope"] == "READ ACT_AS_USER"
    claims = exchange.claims  # the stand-in verified signature, iss, aud, tnt and lifetime
    assert claims["sub"] == f"urn:atlassian:connect:useraccountid:{ACCOUNT}"
    assert claims["aud"] == site.authorization_server
    assert claims["iat"] == int(provider.clock())
    assert exchange.account_id == acting_account(site, token) == ACCOUNT
    assert token.authorization == f"Bearer {token.access_token}"
    assert token.scopes == ("READ", "ACT_AS_USER")
    assert token.expires_at == provider.clock() + 900


def test_access_token_is_kept_out_of_repr() -> None:
    token = AccessToken("very-secret-access-token", 123.0, ("READ",))
    assert "very-secret-access-token" not in repr(token)
    assert "123.0" in repr(token)


@pytest.mark.parametrize(
    "url",
    [
        "http://auth.example.com",  # plain HTTP beyond loopback: the assertion could be read
        "ftp://127.0.0.1",
        "https://user:pass@auth.example.com",
        "https://auth.example.com?x=1",
        "https://auth.example.com#x",
        "https://",
    ],
)
def test_unsafe_authorization_servers_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="authorization_server"):
        TokenProvider(authorization_server=url)


def test_server_address_is_normalised_for_aud_and_endpoint() -> None:
    provider = TokenProvider(authorization_server="https://auth.example.com/")
    assert provider.authorization_server == "https://auth.example.com"
    assert provider.token_url == "https://auth.example.com/oauth2/token"
    assert TokenProvider().token_url == f"{AUTHORIZATION_SERVER}/oauth2/token"


@pytest.mark.parametrize("kwargs", [{"expiry_margin": -1}, {"timeout": 0}, {"max_entries": 0}])
def test_provider_settings_are_checked(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TokenProvider(**kwargs)


# The cache


def test_cache_hit_makes_no_exchange(provider: TokenProvider, site: ProductStandIn) -> None:
    first = provider.get_token(site.tenant, ACCOUNT, ["READ", "WRITE"])
    assert provider.get_token(site.tenant, ACCOUNT, "write read") is first
    assert provider.get_token(site.tenant, ACCOUNT, ("read", "WRITE")) is first
    assert len(site.exchanges) == 1


def test_cache_is_per_tenant_account_and_scopes(
    provider: TokenProvider, site: ProductStandIn
) -> None:
    other_tenant = {**site.tenant, "clientKey": "another-client-key"}
    tokens = {
        provider.get_token(site.tenant, ACCOUNT).access_token,
        provider.get_token(site.tenant, "another-account").access_token,
        provider.get_token(site.tenant, ACCOUNT, ["READ", "WRITE"]).access_token,
        provider.get_token(other_tenant, ACCOUNT).access_token,
    }
    assert len(tokens) == 4 and len(site.exchanges) == 4
    assert provider.get_token(other_tenant, ACCOUNT).access_token in tokens
    assert len(site.exchanges) == 4


class IssuingTransport:
    """An authorization server that issues a token per OAuth client and user it is asked for,
    and remembers whom each went to."""

    def __init__(self) -> None:
        self.issued_to: dict[str, tuple[str, str]] = {}

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        claims = jwt.decode(form_of(request)["assertion"], options={"verify_signature": False})
        token = f"at-{len(self.issued_to)}"
        self.issued_to[token] = (claims["iss"], claims["sub"])
        return HTTPResponse(200, json.dumps({"access_token": token, "expires_in": 900}).encode())


def test_regression_one_provider_hands_one_apps_token_to_another_app_on_the_site(
    oauth_tenant: dict[str, Any],
) -> None:
    """Issue 16.2: the cache was keyed by clientKey, which names the site, not the app: with
    one provider serving two apps installed on one site, app Y got app X's access token."""
    transport = IssuingTransport()
    provider = TokenProvider(transport=transport, clock=FakeClock())
    app_x = oauth_tenant
    app_y = {
        **oauth_tenant,
        "key": "com.example.other-app",
        "oauthClientId": "another-oauth-client-of-another-app",
        "sharedSecret": SECRET[::-1],
    }
    for tenant in (app_x, app_y, app_x, app_y):
        token = provider.get_token(tenant, ACCOUNT)
        issuer, _ = transport.issued_to[token.access_token]
        assert issuer == f"urn:atlassian:connect:clientid:{tenant['oauthClientId']}"
    assert len(transport.issued_to) == 2
    provider.invalidate(app_y, ACCOUNT)
    assert provider.get_token(app_x, ACCOUNT).access_token == "at-0"
    assert provider.get_token(app_y, ACCOUNT).access_token == "at-2"


@pytest.mark.parametrize(
    "change",
    [
        {"oauthClientId": "another-oauth-client-id"},
        {"key": "com.example.other-app"},
        {"baseUrl": "https://renamed.atlassian.net"},
        {"clientKey": "another-client-key"},
    ],
)
def test_cache_is_per_app_and_tenant(oauth_tenant: dict[str, Any], change: dict[str, str]) -> None:
    transport = IssuingTransport()
    provider = TokenProvider(transport=transport, clock=FakeClock())
    first = provider.get_token(oauth_tenant, ACCOUNT)
    assert provider.get_token({**oauth_tenant, **change}, ACCOUNT) is not first
    assert provider.get_token(oauth_tenant, ACCOUNT) is first
    assert len(transport.issued_to) == 2


def test_token_is_renewed_expiry_margin_before_it_expires(
    provider: TokenProvider, site: ProductStandIn, fake_clock: FakeClock
) -> None:
    start = fake_clock.now
    first = provider.get_token(site.tenant, ACCOUNT)
    fake_clock.now = start + 900 - 60 - 0.001  # expires_in 900, default margin 60
    assert provider.get_token(site.tenant, ACCOUNT) is first
    fake_clock.now = start + 900 - 60
    second = provider.get_token(site.tenant, ACCOUNT)
    assert second.access_token != first.access_token
    assert len(site.exchanges) == 2
    # A new assertion, at the clock's time, which the authorization server reads too.
    assert site.exchanges[1].claims["iat"] == int(start + 840)
    assert second.expires_at == start + 840 + 900


def test_expiry_margin_is_configurable(site: ProductStandIn, fake_clock: FakeClock) -> None:
    provider = TokenProvider(
        authorization_server=site.authorization_server, clock=fake_clock, expiry_margin=300
    )
    first = provider.get_token(site.tenant, ACCOUNT)
    fake_clock.now += 599
    assert provider.get_token(site.tenant, ACCOUNT) is first
    fake_clock.now += 1
    assert provider.get_token(site.tenant, ACCOUNT) is not first


@pytest.mark.parametrize("expires_in", [30, None, "60"])
def test_tokens_too_short_lived_or_of_unknown_life_are_not_cached(
    provider: TokenProvider, site: ProductStandIn, expires_in: Any
) -> None:
    answer_exchanges(site, fresh_token(expires_in=expires_in))
    first = provider.get_token(site.tenant, ACCOUNT)
    second = provider.get_token(site.tenant, ACCOUNT)
    assert first.access_token != second.access_token
    assert len(site.exchanges) == 2


def test_numeric_string_expires_in_is_accepted(
    provider: TokenProvider, site: ProductStandIn
) -> None:
    answer_exchanges(site, fresh_token(expires_in="900"))
    assert provider.get_token(site.tenant, ACCOUNT).expires_at == provider.clock() + 900


def test_invalidate_and_clear_forget_tokens(provider: TokenProvider, site: ProductStandIn) -> None:
    first = provider.get_token(site.tenant, ACCOUNT, ["ACT_AS_USER", "READ"])
    provider.invalidate(site.tenant, ACCOUNT, "read act_as_user")
    second = provider.get_token(site.tenant, ACCOUNT, ["ACT_AS_USER", "READ"])
    assert second is not first
    provider.clear()
    assert provider.get_token(site.tenant, ACCOUNT, ["ACT_AS_USER", "READ"]) is not second
    assert len(site.exchanges) == 3


def test_cache_drops_the_least_recently_used_beyond_max_entries(
    site: ProductStandIn, fake_clock: FakeClock
) -> None:
    provider = TokenProvider(
        authorization_server=site.authorization_server, clock=fake_clock, max_entries=2
    )
    a = provider.get_token(site.tenant, "a")
    b = provider.get_token(site.tenant, "b")
    assert provider.get_token(site.tenant, "a") is a  # a is now the most recently used
    provider.get_token(site.tenant, "c")  # evicts b
    assert provider.get_token(site.tenant, "a") is a
    assert provider.get_token(site.tenant, "b") is not b
    assert len(site.exchanges) == 4


# Threads


def _in_threads(count: int, work: Any) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; return results or errors."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:  # collected for the test to inspect
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return results


def test_sixteen_threads_cause_one_exchange(provider: TokenProvider, site: ProductStandIn) -> None:
    answer_exchanges(site, wait=0.3)  # all sixteen arrive while the first exchange is in flight
    tokens = _in_threads(16, lambda _: provider.get_token(site.tenant, ACCOUNT))
    assert len(site.exchanges) == 1
    assert all(isinstance(token, AccessToken) for token in tokens)
    assert len({token.access_token for token in tokens}) == 1


def test_threads_share_one_exchange_per_key_only(
    provider: TokenProvider, site: ProductStandIn
) -> None:
    answer_exchanges(site, wait=0.2)
    tokens = _in_threads(16, lambda i: provider.get_token(site.tenant, f"user-{i % 4}"))
    assert len(site.exchanges) == 4
    distinct = {token.access_token: token for token in tokens}.values()
    assert len(distinct) == 4
    assert {acting_account(site, token) for token in distinct} == {f"user-{i}" for i in range(4)}


def test_threads_waiting_on_a_failed_exchange_share_its_error(
    provider: TokenProvider, site: ProductStandIn
) -> None:
    answer_exchanges(site, lambda _: Reply(503), wait=0.3)
    errors = _in_threads(16, lambda _: provider.get_token(site.tenant, ACCOUNT))
    assert len(site.exchanges) == 1
    assert all(isinstance(error, TokenExchangeError) for error in errors)
    assert all(error.status == 503 and error.retryable for error in errors)
    # The failure is not cached: the next call tries again.
    answer_exchanges(site)
    assert isinstance(provider.get_token(site.tenant, ACCOUNT), AccessToken)
    assert len(site.exchanges) == 2


# Failures


def _json(body: Any) -> bytes:
    return json.dumps(body).encode()


LEAKY = "at-leaked-access-token"


class Failure(NamedTuple):
    status: int
    body: Callable[[str], bytes]  # given the assertion the stand-in received
    reason: str
    oauth_error: str | None = None
    retryable: bool = False


def _bad_token(**fields: Any) -> Callable[[str], bytes]:
    return lambda _: _json({"access_token": LEAKY, "expires_in": 900, **fields})


FAILURES = {
    "invalid_grant": Failure(
        400,
        lambda a: _json({"error": "invalid_grant", "error_description": f"bad {a} {SECRET}"}),
        "http_status",
        "invalid_grant",
    ),
    "unauthorized": Failure(401, lambda _: b"", "http_status"),
    "odd error code": Failure(400, lambda a: _json({"error": f"x{a}"}), "http_status"),
    "rate limited": Failure(
        429, lambda _: _json({"error": "slow_down"}), "http_status", "slow_down", True
    ),
    "server error": Failure(500, lambda a: f"<html>{a}</html>".encode(), "http_status", None, True),
    "redirect": Failure(302, lambda _: b"", "http_status"),
    "not json": Failure(200, lambda a: f"<html>{a} {LEAKY}".encode(), "invalid_response"),
    "json list": Failure(200, lambda _: _json([LEAKY]), "invalid_response"),
    "no access_token": Failure(
        200, lambda _: _json({"token": LEAKY, "expires_in": 900}), "invalid_response"
    ),
    "empty access_token": Failure(200, _bad_token(access_token=""), "invalid_response"),
    "header injection": Failure(
        200, _bad_token(access_token=f"{LEAKY}\r\nX-Evil: 1"), "invalid_response"
    ),
    "not bearer": Failure(200, _bad_token(token_type="mac"), "invalid_response"),
    "bad expires_in": Failure(200, _bad_token(expires_in="soon"), "invalid_response"),
    "boolean expires_in": Failure(200, _bad_token(expires_in=True), "invalid_response"),
    "infinite expires_in": Failure(
        200,
        lambda _: f'{{"access_token": "{LEAKY}", "expires_in": Infinity}}'.encode(),
        "invalid_response",
    ),
    "NaN expires_in": Failure(
        200,
        lambda _: f'{{"access_token": "{LEAKY}", "expires_in": NaN}}'.encode(),
        "invalid_response",
    ),
    "negative expires_in": Failure(200, _bad_token(expires_in=-5), "invalid_response"),
    "non-ASCII digits": Failure(200, _bad_token(expires_in="\u00b2"), "invalid_response"),
    "huge body": Failure(200, _bad_token(pad="x" * MAX_RESPONSE_BYTES), "invalid_response"),
    "huge error": Failure(
        502, lambda _: b"x" * (MAX_RESPONSE_BYTES + 1), "http_status", None, True
    ),
}


@pytest.mark.parametrize("name", FAILURES)
def test_each_failure_is_a_token_exchange_error_that_leaks_nothing(
    provider: TokenProvider, site: ProductStandIn, name: str
) -> None:
    failure = FAILURES[name]
    token_url = site.authorization_server + TOKEN_PATH
    # A redirect is not followed: the assertion goes nowhere the configuration did not name.
    headers = (("Location", token_url),) if failure.status == 302 else ()
    answer_exchanges(
        site, lambda assertion: Reply(failure.status, failure.body(assertion), headers)
    )
    with pytest.raises(TokenExchangeError) as caught:
        provider.get_token(site.tenant, ACCOUNT)
    error = caught.value
    assert (error.reason, error.status) == (failure.reason, failure.status)
    assert error.oauth_error == failure.oauth_error
    assert error.retryable is failure.retryable
    assert error.code == "token_exchange_failed"
    assert token_url in str(error)
    assert not isinstance(error, jwt.DecodeError)
    [assertion] = [exchange.assertion for exchange in site.exchanges]
    assert_nothing_leaks(error, assertion, SECRET, LEAKY)
    if error.error_description is not None:
        assert assertion not in error.error_description and SECRET not in error.error_description
        assert "[assertion]" in error.error_description


def test_timeout_is_a_retryable_token_exchange_error(
    site: ProductStandIn, fake_clock: FakeClock
) -> None:
    provider = TokenProvider(
        authorization_server=site.authorization_server, clock=fake_clock, timeout=0.2
    )
    answer_exchanges(site, lambda _: Reply(200, b"{}", delay=2))  # recorded, answered late
    started = time.monotonic()
    with pytest.raises(TokenExchangeError, match=r"timed out after 0\.2 s") as caught:
        provider.get_token(site.tenant, ACCOUNT)
    # A hang guard: the reason below says it timed out; the server answers only at 2 s.
    assert time.monotonic() - started < 10
    assert caught.value.reason == "timeout" and caught.value.retryable
    assert caught.value.status is None
    [assertion] = [exchange.assertion for exchange in site.exchanges]
    assert_nothing_leaks(caught.value, assertion, SECRET)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_refused_connection_is_a_retryable_token_exchange_error(
    oauth_tenant: dict[str, Any],
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(TokenExchangeError, match="refused") as caught:
        TokenProvider(authorization_server=url, timeout=2).get_token(oauth_tenant, ACCOUNT)
    assert caught.value.reason == "connection" and caught.value.retryable
    assert_nothing_leaks(caught.value, SECRET)


@pytest.mark.parametrize("reply", [b"NOT HTTP AT ALL\r\n\r\n", b""])
def test_a_server_that_does_not_speak_http_is_a_connection_failure(
    oauth_tenant: dict[str, Any], reply: bytes
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)

        def answer_once() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(reply)

        thread = threading.Thread(target=answer_once, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(TokenExchangeError) as caught:
            TokenProvider(authorization_server=url, timeout=2).get_token(oauth_tenant, ACCOUNT)
        thread.join(timeout=5)
    assert caught.value.reason == "connection" and caught.value.retryable
    assert caught.value.status is None
    assert_nothing_leaks(caught.value, SECRET)


# A transport of one's own


def form_of(request: HTTPRequest) -> dict[str, str]:
    assert request.body is not None
    return dict(urllib.parse.parse_qsl(request.body.decode("ascii"), strict_parsing=True))


def test_a_custom_transport_gets_the_form_and_its_answer_is_used(
    oauth_tenant: dict[str, Any],
) -> None:
    calls: list[HTTPRequest] = []

    def transport(request: HTTPRequest) -> HTTPResponse:
        calls.append(request)
        return HTTPResponse(200, _json({"access_token": "abc.def", "expires_in": 900}))

    provider = TokenProvider(transport=transport, timeout=3)
    token = provider.get_token(oauth_tenant, ACCOUNT, ["read", "act_as_user"])
    assert token.access_token == "abc.def"
    [request] = calls
    assert (request.method, request.url) == ("POST", f"{AUTHORIZATION_SERVER}/oauth2/token")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (request.timeout, request.max_bytes) == (3, MAX_RESPONSE_BYTES)
    form = form_of(request)
    assert form["scope"] == "READ ACT_AS_USER"
    jwt.decode(form["assertion"], SECRET, algorithms=["HS256"], audience=AUTHORIZATION_SERVER)


def test_an_answer_the_transport_found_too_large_is_refused(oauth_tenant: dict[str, Any]) -> None:
    def transport(request: HTTPRequest) -> HTTPResponse:
        return HTTPResponse(200, _json({"access_token": "abc.def"}), too_large=True)

    with pytest.raises(TokenExchangeError, match="a body over") as caught:
        TokenProvider(transport=transport).get_token(oauth_tenant, ACCOUNT)
    assert caught.value.reason == "invalid_response"


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (TimeoutError("read timed out"), "timeout"),
        (socket.timeout("timed out"), "timeout"),
        (ConnectionResetError("reset"), "connection"),
    ],
)
def test_transport_errors_become_token_exchange_errors(
    oauth_tenant: dict[str, Any], raised: OSError, reason: str
) -> None:
    def transport(request: HTTPRequest) -> HTTPResponse:
        raise raised

    with pytest.raises(TokenExchangeError) as caught:
        TokenProvider(transport=transport).get_token(oauth_tenant, ACCOUNT)
    assert caught.value.reason == reason
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_transport_error_text_is_scrubbed(oauth_tenant: dict[str, Any]) -> None:
    seen: list[str] = []

    def transport(request: HTTPRequest) -> HTTPResponse:
        assertion = form_of(request)["assertion"]
        seen.append(assertion)
        raise OSError(f"proxy refused {assertion} signed with {SECRET}")

    with pytest.raises(TokenExchangeError, match=r"\[assertion\]") as caught:
        TokenProvider(transport=transport).get_token(oauth_tenant, ACCOUNT)
    assert_nothing_leaks(caught.value, seen[0], SECRET)


# Where tokens may go


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.atlassian.net/rest/api/3/myself", True),
        ("HTTPS://EXAMPLE.atlassian.net:443/x", True),
        ("https://example.atlassian.net", True),
        ("http://example.atlassian.net/x", False),
        ("https://example.atlassian.net:8443/x", False),
        ("https://example.atlassian.net.evil.test/x", False),
        ("https://evil.test/https://example.atlassian.net/x", False),
        ("https://example.atlassian.net@evil.test/x", False),
        ("/rest/api/3/myself", False),
        ("https://example.atlassian.net:99999/x", False),
    ],
)
def test_is_tenant_url_compares_origins(
    oauth_tenant: dict[str, Any], url: str, expected: bool
) -> None:
    assert is_tenant_url(oauth_tenant, url) is expected


def test_is_tenant_url_needs_a_base_url() -> None:
    assert not is_tenant_url({"clientKey": CLIENT_KEY}, "https://example.atlassian.net/x")


# Without the extras


def test_async_provider_needs_no_http_client_package(
    monkeypatch: pytest.MonkeyPatch, site: ProductStandIn
) -> None:
    for name in ("httpx", "httpx2", "requests"):
        monkeypatch.setitem(sys.modules, name, None)
    provider = AsyncTokenProvider(authorization_server=site.authorization_server, timeout=5)
    assert isinstance(provider.transport, AsyncThreadTransport)
    token = asyncio.run(provider.get_token(site.tenant, ACCOUNT))
    assert acting_account(site, token) == ACCOUNT


def test_async_provider_takes_a_transport_or_a_client_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        AsyncTokenProvider(transport=AsyncThreadTransport(), client=object())


# Whatever the server answers


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
_TOKEN_RESPONSES = st.fixed_dictionaries(
    {},
    optional={
        "access_token": st.text(max_size=30) | _JSON_VALUES,
        "token_type": st.sampled_from(["Bearer", "bearer", "mac", ""]) | _JSON_VALUES,
        "expires_in": st.integers(-10, 10**6) | st.floats() | st.text(max_size=6) | _JSON_VALUES,
        "error": st.text(max_size=80) | _JSON_VALUES,
        "error_description": st.text(max_size=80) | _JSON_VALUES,
    },
).map(lambda body: json.dumps(body).encode())


@given(
    status=st.sampled_from([200, 201, 204, 301, 400, 401, 403, 429, 500, 502, 503]),
    body=st.binary(max_size=200) | _TOKEN_RESPONSES,
)
def test_any_answer_is_a_token_or_a_token_exchange_error(status: int, body: bytes) -> None:
    tenant = {
        "clientKey": CLIENT_KEY,
        "sharedSecret": SECRET,
        "baseUrl": "https://example.atlassian.net",
        "oauthClientId": OAUTH_CLIENT_ID,
    }
    sent: list[str] = []

    def transport(request: HTTPRequest) -> HTTPResponse:
        sent.append(form_of(request)["assertion"])
        return HTTPResponse(status, body)

    clock = FakeClock()
    try:
        token = TokenProvider(transport=transport, clock=clock).get_token(tenant, ACCOUNT)
    except TokenExchangeError as error:
        assert error.reason in ("http_status", "invalid_response")
        assert error.status == status
        assert_nothing_leaks(error, sent[0], SECRET)
        if error.error_description is not None:
            assert sent[0] not in error.error_description
    else:
        assert 200 <= status < 300
        assert "\n" not in token.access_token and " " not in token.access_token
        assert clock.now <= token.expires_at < float("inf")


def test_a_tenant_read_back_from_a_store_is_enough(
    provider: TokenProvider, site: ProductStandIn, tmp_path: Path
) -> None:
    store = SQLiteTenantStore(str(tmp_path / "tenants.db"), app_key=site.tenant["key"])
    store.save(site.tenant)  # the installed payload, oauthClientId included
    stored = store.get(CLIENT_KEY)
    assert stored is not None
    token = provider.get_token(stored, ACCOUNT)
    assert acting_account(site, token) == ACCOUNT
