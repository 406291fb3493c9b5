"""ActAsUserAuth for requests and httpx, end to end against a stand-in product on 127.0.0.1."""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
import socket
import sys
from typing import Any

import pytest
import requests

from atlassian_jwt import TokenExchangeError, Transport, UrllibTransport, oauth2
from atlassian_jwt.integrations import httpx_auth, requests_auth
from atlassian_jwt.oauth2 import MAX_RESPONSE_BYTES, AsyncTokenProvider, TokenProvider
from atlassian_jwt.testing import ProductStandIn, Reply
from tests.httpx_libraries import LIBRARIES, each_library
from tests.readme import run_example
from tests.support import (
    ACCOUNT,
    MYSELF,
    SECRET,
    TOKEN_PATH,
    acting_account,
    answer_exchanges,
    assert_nothing_leaks,
    authorization,
)
from tests.trickle import TrickleServer

pytestmark = pytest.mark.extras

# The fixtures oauth_tenant, site (Jira and the authorization server) and provider are the
# suite's, in conftest.py.


def _bearer_calls(site: ProductStandIn) -> list[str]:
    """The access token of each call the product received, each one accepted for ACCOUNT."""
    assert all(call.auth == "oauth2-user" for call in site.requests)
    assert all(call.account_id == ACCOUNT for call in site.requests)
    calls = [authorization(call) or "" for call in site.requests]
    assert all(call.startswith("Bearer ") for call in calls)
    return [call[len("Bearer ") :] for call in calls]


def test_requests_calls_the_product_as_the_user(
    provider: TokenProvider, site: ProductStandIn
) -> None:
    auth = requests_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT, scopes="read write")
    with requests.Session() as session:
        first = session.get(site.url + MYSELF, auth=auth, timeout=5)
        second = session.get(site.url + MYSELF, auth=auth, timeout=5)
    assert first.status_code == second.status_code == 200
    assert first.json()["accountId"] == ACCOUNT
    assert len(site.exchanges) == 1 and site.exchanges[0].form["scope"] == "READ WRITE"
    tokens = _bearer_calls(site)  # each one accepted as issued to ACCOUNT
    assert len(tokens) == 2 and tokens[0] == tokens[1]


@each_library
def test_httpx_client_calls_the_product_as_the_user(
    provider: TokenProvider, site: ProductStandIn, lib: Any
) -> None:
    auth = httpx_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT)
    with lib.Client(base_url=site.url, auth=auth) as client:
        responses = [client.get(MYSELF), client.get(MYSELF)]
    assert [response.json()["accountId"] for response in responses] == [ACCOUNT] * 2
    assert len(site.exchanges) == 1
    assert len(set(_bearer_calls(site))) == 1


@each_library
def test_httpx_async_client_calls_the_product_as_the_user(site: ProductStandIn, lib: Any) -> None:
    async def main() -> list[Any]:
        provider = AsyncTokenProvider(authorization_server=site.authorization_server, timeout=5)
        auth = httpx_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT, scopes=["act_as_user"])
        async with lib.AsyncClient(base_url=site.url, auth=auth) as client:
            return list(await asyncio.gather(*(client.get(MYSELF) for _ in range(4))))

    responses = asyncio.run(main())
    assert [response.status_code for response in responses] == [200] * 4
    assert responses[0].json()["accountId"] == ACCOUNT
    assert len(site.exchanges) == 1 and site.exchanges[0].form["scope"] == "ACT_AS_USER"
    assert len(set(_bearer_calls(site))) == 1


def test_without_auth_the_stand_in_product_refuses(site: ProductStandIn) -> None:
    # The end-to-end tests above would be worthless if the product accepted anything.
    assert requests.get(site.url + MYSELF, timeout=5).status_code == 401
    response = requests.get(
        site.url + MYSELF, headers={"Authorization": "Bearer made-up"}, timeout=5
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/rest/api/3/myself",
        "http://localhost:{port}/rest/api/3/myself",  # same port, another host
        "https://127.0.0.1/rest/api/3/myself",
    ],
)
@each_library
def test_tokens_are_not_sent_outside_the_tenant(
    provider: TokenProvider,
    site: ProductStandIn,
    url: str,
    lib: Any,
) -> None:
    url = url.format(port=site.url.rsplit(":", 1)[1])
    request = requests.Request("GET", url).prepare()
    with pytest.raises(ValueError, match="outside the tenant"):
        requests_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT)(request)
    assert "Authorization" not in request.headers
    auth = httpx_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT)
    with pytest.raises(ValueError, match="outside the tenant"):
        next(auth.sync_auth_flow(lib.Request("GET", url)))
    assert site.exchanges == []


@each_library
def test_redirects_to_another_host_do_not_carry_the_token(
    provider: TokenProvider, site: ProductStandIn, lib: Any
) -> None:
    # The same port on another host: "localhost".
    elsewhere = f"http://localhost:{site.url.rsplit(':', 1)[1]}{MYSELF}"
    site.respond("GET", "/elsewhere", status=302, headers={"Location": elsewhere})
    requests_response = requests.get(
        site.url + "/elsewhere",
        auth=requests_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT),
        timeout=5,
    )
    auth = httpx_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT)
    with lib.Client(auth=auth, follow_redirects=True) as client:
        httpx_response = client.get(site.url + "/elsewhere")
    assert requests_response.url.startswith("http://localhost:")
    assert httpx_response.url.host == "localhost"
    # The token went to /elsewhere; the hop to localhost came without one, and was refused.
    hops = [(call.path, call.status, authorization(call) is None) for call in site.requests]
    assert hops == [("/elsewhere", 302, False), (MYSELF, 401, True)] * 2
    assert requests_response.status_code == httpx_response.status_code == 401
    assert len(site.exchanges) == 1  # the first request of each got the (cached) token


@each_library
def test_httpx_auth_needs_the_provider_matching_the_client(
    provider: TokenProvider, site: ProductStandIn, lib: Any
) -> None:
    sync_auth = httpx_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT)

    async def main() -> None:
        async with lib.AsyncClient(base_url=site.url, auth=sync_auth) as client:
            await client.get(MYSELF)

    with pytest.raises(TypeError, match="needs an AsyncTokenProvider"):
        asyncio.run(main())
    async_provider = AsyncTokenProvider(authorization_server=site.authorization_server)
    async_auth = httpx_auth.ActAsUserAuth(async_provider, site.tenant, ACCOUNT)
    with lib.Client(base_url=site.url, auth=async_auth) as client:
        with pytest.raises(TypeError, match="needs a TokenProvider"):
            client.get(MYSELF)
    assert site.exchanges == [] and site.requests == []


def test_exchange_failures_reach_the_caller(provider: TokenProvider, site: ProductStandIn) -> None:
    answer_exchanges(site, lambda _: Reply.json({"error": "invalid_client"}, 401))
    auth = requests_auth.ActAsUserAuth(provider, site.tenant, ACCOUNT)
    with pytest.raises(TokenExchangeError) as caught:
        requests.get(site.url + MYSELF, auth=auth, timeout=5)
    assert caught.value.oauth_error == "invalid_client"
    assert site.requests == []


def test_invalid_scopes_fail_when_the_auth_is_made(
    provider: TokenProvider, oauth_tenant: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        requests_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT, scopes=[])
    with pytest.raises(ValueError):
        httpx_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT, scopes=["READ WRITE"])


# The exchange sent with requests


@pytest.fixture(params=["urllib", "requests", *(lib.__name__ for lib in LIBRARIES)])
def transport(request: pytest.FixtureRequest) -> Transport:
    """Each transport the token exchange can use: the default, requests, httpx, httpx2."""
    if request.param == "urllib":
        return UrllibTransport()
    if request.param == "requests":
        return requests_auth.RequestsTransport(requests.Session())
    return httpx_auth.HTTPXTransport(importlib.import_module(request.param).Client())


def test_each_transport_exchanges_with_the_stand_in(
    site: ProductStandIn, transport: Transport
) -> None:
    provider = TokenProvider(authorization_server=site.authorization_server, transport=transport)
    token = provider.get_token(site.tenant, ACCOUNT, ["read", "act_as_user"])
    assert acting_account(site, token) == ACCOUNT
    assert site.exchanges[0].form["scope"] == "READ ACT_AS_USER"  # and the stand-in checked it all


@pytest.mark.parametrize(
    ("reply", "reason", "status"),
    [
        (Reply.json({"error": "invalid_grant"}, 400), "http_status", 400),
        (Reply(302, headers=(("Location", TOKEN_PATH),)), "http_status", 302),
        (Reply(200, b"x" * (MAX_RESPONSE_BYTES * 2)), "invalid_response", 200),
        (Reply(200, b"{}", delay=2), "timeout", None),
    ],
    ids=["400", "redirect not followed", "huge", "timeout"],
)
def test_each_transport_reports_failures_alike(
    site: ProductStandIn, transport: Transport, reply: Reply, reason: str, status: int | None
) -> None:
    answer_exchanges(site, lambda _: reply)
    # A short timeout only where it is the failure: under CI's load (two tox environments at
    # once) a local reply once took longer than 0.3 s, and a 302 read as a timeout.
    provider = TokenProvider(
        authorization_server=site.authorization_server,
        transport=transport,
        timeout=0.3 if reason == "timeout" else 10,
    )
    with pytest.raises(TokenExchangeError) as caught:
        provider.get_token(site.tenant, ACCOUNT)
    assert (caught.value.reason, caught.value.status) == (reason, status)
    [assertion] = [exchange.assertion for exchange in site.exchanges]
    assert_nothing_leaks(caught.value, assertion, SECRET)


def test_each_transport_reports_a_refused_connection(
    oauth_tenant: dict[str, Any], transport: Transport
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = TokenProvider(authorization_server=f"http://127.0.0.1:{port}", transport=transport)
    with pytest.raises(TokenExchangeError) as caught:
        provider.get_token(oauth_tenant, ACCOUNT)
    assert caught.value.reason == "connection" and caught.value.retryable
    assert_nothing_leaks(caught.value, SECRET)


def test_regression_the_token_exchange_is_bounded_as_a_whole(
    oauth_tenant: dict[str, Any], transport: Transport
) -> None:
    # 16.7: the exchange was bounded per socket operation only, so an authorization server
    # trickling its headers held the caller as long as it liked. Here a valid token arrives
    # after 4 s of headers; the timeout is 0.5 s.
    answer = json.dumps({"access_token": "abc", "expires_in": 900}).encode()
    trickler = TrickleServer(answer, content_type="application/json")
    with trickler.running():
        provider = TokenProvider(
            authorization_server=trickler.url, transport=transport, timeout=0.5
        )
        with pytest.raises(TokenExchangeError, match="timed out") as caught:
            provider.get_token(oauth_tenant, ACCOUNT)
        # Given up before the last header byte: a client that waited would have the token.
        assert trickler.completed == 0
    assert caught.value.reason == "timeout"


@each_library
def test_async_transport_of_each_library_bounds_the_exchange(
    oauth_tenant: dict[str, Any], lib: Any
) -> None:
    answer = json.dumps({"access_token": "abc", "expires_in": 900}).encode()
    trickler = TrickleServer(answer, content_type="application/json")
    with trickler.running():
        provider = AsyncTokenProvider(
            authorization_server=trickler.url, client=lib.AsyncClient(), timeout=0.5
        )
        with pytest.raises(TokenExchangeError, match="timed out"):
            asyncio.run(provider.get_token(oauth_tenant, ACCOUNT))
        assert trickler.completed == 0


@each_library
def test_readme_examples_run_against_the_stand_in(
    site: ProductStandIn,
    monkeypatch: pytest.MonkeyPatch,
    lib: Any,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx2", lib)  # the README's httpx2, or httpx in its place
    # The README's providers use Atlassian's server; here they are configured for the stand-in.
    for name in ("TokenProvider", "AsyncTokenProvider"):
        configured = functools.partial(
            getattr(oauth2, name), authorization_server=site.authorization_server
        )
        monkeypatch.setattr(oauth2, name, configured)
    namespace = {"tenant": site.tenant, "account_id": ACCOUNT}
    first = run_example("act-as-user", dict(namespace))
    assert first["response"].json()["accountId"] == ACCOUNT
    assert site.exchanges[-1].form["scope"] == "READ WRITE"
    second = run_example("act-as-user-requests", {**namespace, "provider": first["provider"]})
    assert second["response"].json()["accountId"] == ACCOUNT
    assert site.exchanges[-1].form["scope"] == "READ"
    third = run_example("act-as-user-httpx", dict(namespace))
    assert third["response"].json()["accountId"] == ACCOUNT
    assert len(site.exchanges) == 3
    assert [call.account_id for call in site.requests] == [ACCOUNT] * 3
