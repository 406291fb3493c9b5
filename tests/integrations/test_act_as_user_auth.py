"""ActAsUserAuth for requests and httpx, end to end against a stand-in product on 127.0.0.1."""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
import socket
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from atlassian_jwt import TokenExchangeError, Transport, UrllibTransport, oauth2
from atlassian_jwt.integrations import httpx_auth, requests_auth
from atlassian_jwt.oauth2 import MAX_RESPONSE_BYTES, AsyncTokenProvider, TokenProvider
from tests import oauth2_stand_in
from tests.httpx_libraries import LIBRARIES, each_library
from tests.readme import run_example
from tests.support import ACCOUNT, OAUTH_CLIENT_ID, SECRET, assert_nothing_leaks
from tests.trickle import TrickleServer

pytestmark = pytest.mark.extras

MYSELF = "/rest/api/3/myself"


@pytest.fixture
def oauth_tenant(tenant: dict[str, Any]) -> dict[str, Any]:
    return {**tenant, "oauthClientId": OAUTH_CLIENT_ID}


@pytest.fixture
def server(oauth_tenant: dict[str, Any]) -> Iterator[oauth2_stand_in.StandIn]:
    with oauth2_stand_in.running(oauth_tenant) as stand_in:
        yield stand_in
    assert stand_in.problems == []


@pytest.fixture
def provider(server: oauth2_stand_in.StandIn) -> TokenProvider:
    return TokenProvider(authorization_server=server.url, timeout=5)


def _bearer_calls(server: oauth2_stand_in.StandIn) -> list[str]:
    assert all(call and call.startswith("Bearer ") for call in server.product_calls)
    return [str(call)[len("Bearer ") :] for call in server.product_calls]


def test_requests_calls_the_product_as_the_user(
    provider: TokenProvider, server: oauth2_stand_in.StandIn, oauth_tenant: dict[str, Any]
) -> None:
    auth = requests_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT, scopes="read write")
    with requests.Session() as session:
        first = session.get(server.url + MYSELF, auth=auth, timeout=5)
        second = session.get(server.url + MYSELF, auth=auth, timeout=5)
    assert first.status_code == second.status_code == 200
    assert first.json() == {"accountId": ACCOUNT}
    assert len(server.exchanges) == 1 and server.exchanges[0]["scope"] == "READ WRITE"
    tokens = _bearer_calls(server)
    assert len(tokens) == 2 and tokens[0] == tokens[1] and tokens[0] in server.issued


@each_library
def test_httpx_client_calls_the_product_as_the_user(
    provider: TokenProvider, server: oauth2_stand_in.StandIn, oauth_tenant: dict[str, Any], lib: Any
) -> None:
    auth = httpx_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT)
    with lib.Client(base_url=server.url, auth=auth) as client:
        responses = [client.get(MYSELF), client.get(MYSELF)]
    assert [response.json() for response in responses] == [{"accountId": ACCOUNT}] * 2
    assert len(server.exchanges) == 1
    assert len(set(_bearer_calls(server))) == 1


@each_library
def test_httpx_async_client_calls_the_product_as_the_user(
    server: oauth2_stand_in.StandIn, oauth_tenant: dict[str, Any], lib: Any
) -> None:
    async def main() -> list[Any]:
        provider = AsyncTokenProvider(authorization_server=server.url, timeout=5)
        auth = httpx_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT, scopes=["act_as_user"])
        async with lib.AsyncClient(base_url=server.url, auth=auth) as client:
            return list(await asyncio.gather(*(client.get(MYSELF) for _ in range(4))))

    responses = asyncio.run(main())
    assert [response.status_code for response in responses] == [200] * 4
    assert responses[0].json() == {"accountId": ACCOUNT}
    assert len(server.exchanges) == 1 and server.exchanges[0]["scope"] == "ACT_AS_USER"
    assert len(set(_bearer_calls(server))) == 1


def test_without_auth_the_stand_in_product_refuses(server: oauth2_stand_in.StandIn) -> None:
    # The end-to-end tests above would be worthless if the product accepted anything.
    assert requests.get(server.url + MYSELF, timeout=5).status_code == 401
    response = requests.get(
        server.url + MYSELF, headers={"Authorization": "Bearer made-up"}, timeout=5
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
    server: oauth2_stand_in.StandIn,
    oauth_tenant: dict[str, Any],
    url: str,
    lib: Any,
) -> None:
    url = url.format(port=server.url.rsplit(":", 1)[1])
    request = requests.Request("GET", url).prepare()
    with pytest.raises(ValueError, match="outside the tenant"):
        requests_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT)(request)
    assert "Authorization" not in request.headers
    auth = httpx_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT)
    with pytest.raises(ValueError, match="outside the tenant"):
        next(auth.sync_auth_flow(lib.Request("GET", url)))
    assert server.exchanges == []


@each_library
def test_redirects_to_another_host_do_not_carry_the_token(
    provider: TokenProvider, server: oauth2_stand_in.StandIn, oauth_tenant: dict[str, Any], lib: Any
) -> None:
    requests_response = requests.get(
        server.url + "/elsewhere",
        auth=requests_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT),
        timeout=5,
    )
    auth = httpx_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT)
    with lib.Client(auth=auth, follow_redirects=True) as client:
        httpx_response = client.get(server.url + "/elsewhere")
    assert requests_response.url.startswith("http://localhost:")
    assert httpx_response.url.host == "localhost"
    assert server.product_calls == [None, None]  # the hop to localhost came without a token
    assert requests_response.status_code == httpx_response.status_code == 401
    assert len(server.exchanges) == 1  # the first request of each got the (cached) token


@each_library
def test_httpx_auth_needs_the_provider_matching_the_client(
    provider: TokenProvider, server: oauth2_stand_in.StandIn, oauth_tenant: dict[str, Any], lib: Any
) -> None:
    sync_auth = httpx_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT)

    async def main() -> None:
        async with lib.AsyncClient(base_url=server.url, auth=sync_auth) as client:
            await client.get(MYSELF)

    with pytest.raises(TypeError, match="needs an AsyncTokenProvider"):
        asyncio.run(main())
    async_provider = AsyncTokenProvider(authorization_server=server.url)
    async_auth = httpx_auth.ActAsUserAuth(async_provider, oauth_tenant, ACCOUNT)
    with lib.Client(base_url=server.url, auth=async_auth) as client:
        with pytest.raises(TypeError, match="needs a TokenProvider"):
            client.get(MYSELF)
    assert server.exchanges == [] and server.product_calls == []


def test_exchange_failures_reach_the_caller(
    provider: TokenProvider, server: oauth2_stand_in.StandIn, oauth_tenant: dict[str, Any]
) -> None:
    server.respond = lambda _: (401, b'{"error": "invalid_client"}', {})
    auth = requests_auth.ActAsUserAuth(provider, oauth_tenant, ACCOUNT)
    with pytest.raises(TokenExchangeError) as caught:
        requests.get(server.url + MYSELF, auth=auth, timeout=5)
    assert caught.value.oauth_error == "invalid_client"
    assert server.product_calls == []


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
    server: oauth2_stand_in.StandIn, oauth_tenant: dict[str, Any], transport: Transport
) -> None:
    provider = TokenProvider(authorization_server=server.url, transport=transport)
    token = provider.get_token(oauth_tenant, ACCOUNT, ["read", "act_as_user"])
    assert server.issued[token.access_token] == ACCOUNT
    assert server.exchanges[0]["scope"] == "READ ACT_AS_USER"  # and the stand-in checked it all


@pytest.mark.parametrize(
    ("respond", "delay", "reason", "status"),
    [
        (lambda _: (400, b'{"error": "invalid_grant"}', {}), 0, "http_status", 400),
        (lambda _: (302, b"", {"Location": "/oauth2/token"}), 0, "http_status", 302),
        (lambda _: (200, b"x" * (MAX_RESPONSE_BYTES * 2), {}), 0, "invalid_response", 200),
        (None, 2, "timeout", None),
    ],
    ids=["400", "redirect not followed", "huge", "timeout"],
)
def test_each_transport_reports_failures_alike(
    server: oauth2_stand_in.StandIn,
    oauth_tenant: dict[str, Any],
    transport: Transport,
    respond: Any,
    delay: float,
    reason: str,
    status: int | None,
) -> None:
    server.respond, server.delay = respond, delay
    provider = TokenProvider(authorization_server=server.url, transport=transport, timeout=0.3)
    with pytest.raises(TokenExchangeError) as caught:
        provider.get_token(oauth_tenant, ACCOUNT)
    assert (caught.value.reason, caught.value.status) == (reason, status)
    assert len(server.exchanges) == 1
    assert_nothing_leaks(caught.value, *server.assertions, SECRET)


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
        started = time.monotonic()
        with pytest.raises(TokenExchangeError, match="timed out") as caught:
            provider.get_token(oauth_tenant, ACCOUNT)
        assert time.monotonic() - started < 2.0  # generous; the headers take 4 s
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
    server: oauth2_stand_in.StandIn,
    oauth_tenant: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    lib: Any,
) -> None:
    monkeypatch.setitem(sys.modules, "httpx2", lib)  # the README's httpx2, or httpx in its place
    # The README's providers use Atlassian's server; here they are configured for the stand-in.
    for name in ("TokenProvider", "AsyncTokenProvider"):
        configured = functools.partial(getattr(oauth2, name), authorization_server=server.url)
        monkeypatch.setattr(oauth2, name, configured)
    namespace = {"tenant": oauth_tenant, "account_id": ACCOUNT}
    first = run_example("act-as-user", dict(namespace))
    assert first["response"].json() == {"accountId": ACCOUNT}
    assert server.exchanges[-1]["scope"] == "READ WRITE"
    second = run_example("act-as-user-requests", {**namespace, "provider": first["provider"]})
    assert second["response"].json() == {"accountId": ACCOUNT}
    assert server.exchanges[-1]["scope"] == "READ"
    third = run_example("act-as-user-httpx", dict(namespace))
    assert third["response"].json() == {"accountId": ACCOUNT}
    assert len(server.exchanges) == 3
    assert len(server.product_calls) == 3
