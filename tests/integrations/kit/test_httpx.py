"""The app's outbound calls with httpx (sync and async), checked by the stand-in product."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from atlassian_jwt.integrations.httpx_auth import ActAsUserAuth, AtlassianJWTAuth
from atlassian_jwt.oauth2 import AsyncTokenProvider, TokenProvider
from atlassian_jwt.testing import FakeForgeJWKS, ProductStandIn
from tests.httpx_libraries import LIBRARIES
from tests.support import ACCOUNT

pytestmark = pytest.mark.extras
pytest_plugins = ["atlassian_jwt.testing.pytest_plugin"]

# httpx, or httpx2 where httpx is not installed (the httpx2 tox environment): one API.
httpx = LIBRARIES[0]


@pytest.mark.parametrize("atlassian_product_type", ["jira", "confluence"])
def test_signed_calls(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    auth = AtlassianJWTAuth(atlassian_tenant)
    with httpx.Client(base_url=atlassian_tenant["baseUrl"], auth=auth) as client:
        response = client.put("/rest/api/content/1", params={"x": "a b"}, json={"v": 1})
    assert response.status_code == 200
    call = atlassian_product.requests[-1]
    assert call.accepted and (call.method, call.query, call.body) == ("PUT", "x=a+b", b'{"v":1}')


def test_signed_calls_async(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    async def fetch() -> list[int]:
        auth = AtlassianJWTAuth(atlassian_tenant)
        async with httpx.AsyncClient(base_url=atlassian_tenant["baseUrl"], auth=auth) as client:
            answers = await asyncio.gather(*(client.get(f"/rest/api/3/issue/{n}") for n in "123"))
        return [answer.status_code for answer in answers]

    assert asyncio.run(fetch()) == [200, 200, 200]
    assert sorted(call.path for call in atlassian_product.requests) == [
        "/rest/api/3/issue/1",
        "/rest/api/3/issue/2",
        "/rest/api/3/issue/3",
    ]


def test_acting_as_a_user(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    provider = TokenProvider(authorization_server=atlassian_product.authorization_server)
    auth = ActAsUserAuth(provider, atlassian_tenant, ACCOUNT)
    with httpx.Client(base_url=atlassian_tenant["baseUrl"], auth=auth) as client:
        assert client.get("/rest/api/3/myself").json()["accountId"] == ACCOUNT
    assert atlassian_product.requests[-1].auth == "oauth2-user"


def test_acting_as_a_user_async(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    async def whoami() -> Any:
        provider = AsyncTokenProvider(authorization_server=atlassian_product.authorization_server)
        auth = ActAsUserAuth(provider, atlassian_tenant, ACCOUNT)
        async with httpx.AsyncClient(base_url=atlassian_tenant["baseUrl"], auth=auth) as client:
            return (await client.get("/rest/api/3/myself")).json()

    assert asyncio.run(whoami())["accountId"] == ACCOUNT
    assert atlassian_product.exchanges[-1].problems == ()


def test_forge_tokens(forge_jwks: FakeForgeJWKS, atlassian_product: ProductStandIn) -> None:
    headers = forge_jwks.invocation_headers(account_id=ACCOUNT, user_token=True)
    bearer = {"Authorization": f"Bearer {headers['x-forge-oauth-user']}"}
    with httpx.Client(base_url=atlassian_product.forge_api_base_url) as client:
        assert client.get("/rest/api/3/myself", headers=bearer).json()["accountId"] == ACCOUNT
    assert atlassian_product.requests[-1].auth == "forge-user"
