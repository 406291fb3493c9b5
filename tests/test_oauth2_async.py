"""AsyncTokenProvider: the same exchange and cache on asyncio: the standard library from a
thread by default, or an httpx or httpx2 AsyncClient."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from atlassian_jwt import AsyncThreadTransport, AsyncTransport, TokenExchangeError
from atlassian_jwt.integrations.httpx_auth import AsyncHTTPXTransport
from atlassian_jwt.oauth2 import MAX_RESPONSE_BYTES, AccessToken, AsyncTokenProvider
from atlassian_jwt.testing import ProductStandIn, Reply
from tests.httpx_libraries import LIBRARIES, each_library
from tests.support import (
    ACCOUNT,
    SECRET,
    FakeClock,
    acting_account,
    answer_exchanges,
    assert_nothing_leaks,
)

pytestmark = pytest.mark.extras

# The fixtures oauth_tenant, site (the authorization server) and fake_clock are the suite's,
# in conftest.py; provider, here, runs each test with each asynchronous transport.


def _thread() -> AsyncTransport:
    return AsyncThreadTransport()


def _client_of(lib: Any) -> Callable[[], AsyncTransport]:
    return lambda: AsyncHTTPXTransport(lib.AsyncClient())


TRANSPORTS = [_thread] + [_client_of(lib) for lib in LIBRARIES]


@pytest.fixture(params=TRANSPORTS, ids=["urllib in a thread"] + [lib.__name__ for lib in LIBRARIES])
def provider(
    site: ProductStandIn, fake_clock: FakeClock, request: pytest.FixtureRequest
) -> AsyncTokenProvider:
    transport = request.param()
    return AsyncTokenProvider(
        authorization_server=site.authorization_server,
        clock=fake_clock,
        timeout=5,
        transport=transport,
    )


def test_exchange_and_cache_against_the_stand_in(
    provider: AsyncTokenProvider, site: ProductStandIn, fake_clock: FakeClock
) -> None:
    async def main() -> tuple[AccessToken, AccessToken, AccessToken]:
        first = await provider.get_token(site.tenant, ACCOUNT, ["read", "act_as_user"])
        again = await provider.get_token(site.tenant, ACCOUNT, "ACT_AS_USER READ")
        fake_clock.now += 900 - 60
        renewed = await provider.get_token(site.tenant, ACCOUNT, ["read", "act_as_user"])
        return first, again, renewed

    first, again, renewed = asyncio.run(main())
    assert again is first and renewed.access_token != first.access_token
    assert len(site.exchanges) == 2
    form = site.exchanges[0].form
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert form["scope"] == "READ ACT_AS_USER"
    assert acting_account(site, first) == acting_account(site, renewed) == ACCOUNT
    assert site.exchanges[1].claims["iat"] == int(fake_clock.now)


def test_sixteen_tasks_cause_one_exchange(
    provider: AsyncTokenProvider, site: ProductStandIn
) -> None:
    answer_exchanges(site, wait=0.2)

    async def main() -> list[AccessToken]:
        return await asyncio.gather(*(provider.get_token(site.tenant, ACCOUNT) for _ in range(16)))

    tokens = asyncio.run(main())
    assert len(site.exchanges) == 1
    assert len({token.access_token for token in tokens}) == 1


def test_tasks_share_one_exchange_per_key_only(
    provider: AsyncTokenProvider, site: ProductStandIn
) -> None:
    answer_exchanges(site, wait=0.1)

    async def main() -> list[AccessToken]:
        return await asyncio.gather(
            *(provider.get_token(site.tenant, f"user-{i % 4}") for i in range(16))
        )

    tokens = asyncio.run(main())
    assert len(site.exchanges) == 4
    distinct = {token.access_token: token for token in tokens}.values()
    assert {acting_account(site, token) for token in distinct} == {f"user-{i}" for i in range(4)}


def test_a_cancelled_caller_does_not_cancel_the_exchange_for_others(
    provider: AsyncTokenProvider, site: ProductStandIn
) -> None:
    answer_exchanges(site, wait=0.2)

    async def main() -> tuple[bool, AccessToken]:
        first = asyncio.ensure_future(provider.get_token(site.tenant, ACCOUNT))
        await asyncio.sleep(0.05)  # the exchange is in flight
        second = asyncio.ensure_future(provider.get_token(site.tenant, ACCOUNT))
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        return first.cancelled(), await second

    cancelled, token = asyncio.run(main())
    assert cancelled and isinstance(token, AccessToken)
    assert len(site.exchanges) == 1


def test_tasks_waiting_on_a_failed_exchange_share_its_error(
    provider: AsyncTokenProvider, site: ProductStandIn
) -> None:
    answer_exchanges(site, lambda _: Reply(500), wait=0.1)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(provider.get_token(site.tenant, ACCOUNT) for _ in range(16)),
            return_exceptions=True,
        )

    errors = asyncio.run(main())
    assert len(site.exchanges) == 1
    assert all(isinstance(error, TokenExchangeError) and error.status == 500 for error in errors)


Handler = Callable[[Any], Any]  # a MockTransport's handler: request in, response out


def _mock_provider(lib: Any, handler: Handler, **client_settings: Any) -> AsyncTokenProvider:
    client = lib.AsyncClient(transport=lib.MockTransport(handler), **client_settings)
    return AsyncTokenProvider(client=client, timeout=0.5)


def _json(status: int, body: Any) -> Callable[[Any], Handler]:
    return lambda lib: lambda request: lib.Response(status, content=json.dumps(body).encode())


def _raise(error: str, message: str) -> Callable[[Any], Handler]:
    def make(lib: Any) -> Handler:
        def handler(request: Any) -> Any:
            raise getattr(lib, error)(message)

        return handler

    return make


@pytest.mark.parametrize(
    ("handler", "reason", "status"),
    [
        (_json(400, {"error": "invalid_grant"}), "http_status", 400),
        (_json(503, {}), "http_status", 503),
        (lambda lib: lambda r: lib.Response(200, content=b"<html>"), "invalid_response", 200),
        (_json(200, {"expires_in": 900}), "invalid_response", 200),
        (
            _json(200, {"access_token": "a", "pad": "x" * MAX_RESPONSE_BYTES}),
            "invalid_response",
            200,
        ),
        (_raise("ReadTimeout", "slow"), "timeout", None),
        (_raise("ConnectTimeout", "slow"), "timeout", None),
        (_raise("ConnectError", "refused"), "connection", None),
        (_raise("RemoteProtocolError", "not HTTP"), "connection", None),
    ],
    ids=[
        "400",
        "503",
        "not json",
        "no token",
        "huge",
        "read timeout",
        "connect timeout",
        "down",
        "not http",
    ],
)
@each_library
def test_each_failure_is_a_token_exchange_error(
    oauth_tenant: dict[str, Any],
    lib: Any,
    handler: Callable[[Any], Handler],
    reason: str,
    status: int | None,
) -> None:
    with pytest.raises(TokenExchangeError) as caught:
        asyncio.run(_mock_provider(lib, handler(lib)).get_token(oauth_tenant, ACCOUNT))
    assert (caught.value.reason, caught.value.status) == (reason, status)
    assert_nothing_leaks(caught.value, SECRET)


@each_library
def test_the_given_client_posts_the_form(oauth_tenant: dict[str, Any], lib: Any) -> None:
    seen: list[Any] = []

    def handler(request: Any) -> Any:
        seen.append(request)
        return lib.Response(200, json={"access_token": "abc", "expires_in": 900})

    provider = _mock_provider(lib, handler)
    token = asyncio.run(provider.get_token(oauth_tenant, ACCOUNT, ["write"]))
    assert token.access_token == "abc"
    [request] = seen
    assert request.method == "POST"
    assert (
        str(request.url)
        == "https://oauth-2-authorization-server.services.atlassian.com/oauth2/token"
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(lib.QueryParams(request.content.decode()))
    assert form["scope"] == "WRITE" and set(form) == {"grant_type", "assertion", "scope"}


@each_library
def test_redirects_are_not_followed(oauth_tenant: dict[str, Any], lib: Any) -> None:
    hosts: list[str] = []

    def handler(request: Any) -> Any:
        hosts.append(request.url.host)
        return lib.Response(307, headers={"Location": "https://elsewhere.example/oauth2/token"})

    # Not even a client set to follow redirects follows one here.
    provider = _mock_provider(lib, handler, follow_redirects=True)
    with pytest.raises(TokenExchangeError) as caught:
        asyncio.run(provider.get_token(oauth_tenant, ACCOUNT))
    assert caught.value.status == 307
    assert hosts == ["oauth-2-authorization-server.services.atlassian.com"]


def test_timeout_against_a_real_slow_server(
    provider: AsyncTokenProvider, site: ProductStandIn
) -> None:
    answer_exchanges(site, lambda _: Reply(200, b"{}", delay=2))  # recorded, answered late
    provider.timeout = 0.2
    with pytest.raises(TokenExchangeError, match="timed out") as caught:
        asyncio.run(provider.get_token(site.tenant, ACCOUNT))
    assert caught.value.retryable
    [assertion] = [exchange.assertion for exchange in site.exchanges]
    assert_nothing_leaks(caught.value, assertion, SECRET)
