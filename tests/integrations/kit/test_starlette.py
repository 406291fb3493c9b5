"""A FastAPI app tested with the kit and Starlette's TestClient: each kind of route in a few
lines."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from fastapi import Depends, FastAPI, HTTPException, Request
from starlette.concurrency import run_in_threadpool

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork for its TestClient and warns, on import, that
    # httpx is deprecated there; that concerns the test client, not anything tested here.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import atlassian_jwt
from atlassian_jwt import AuthResult, ForgeInvocationVerifier, InstallAuthenticator
from atlassian_jwt.integrations.httpx_auth import AtlassianJWTAuth
from atlassian_jwt.integrations.starlette_ext import lifecycle_routes, require_jwt
from atlassian_jwt.lifecycle import LifecycleHandler
from atlassian_jwt.tenants import MemoryTenantStore, TenantStoreAuthenticator
from atlassian_jwt.testing import (
    PRODUCT_TOKEN_LIFETIME,
    FakeAtlassianKeyServer,
    FakeForgeJWKS,
    FrozenClock,
    ProductStandIn,
    product_request_headers,
    product_request_url,
)
from tests.httpx_libraries import LIBRARIES
from tests.support import ACCOUNT

pytestmark = pytest.mark.extras
pytest_plugins = ["atlassian_jwt.testing.pytest_plugin"]

# httpx, or httpx2 where httpx is not installed (the httpx2 tox environment): one API.
httpx = LIBRARIES[0]


def create_app(
    store: MemoryTenantStore, installs: InstallAuthenticator, forge: ForgeInvocationVerifier
) -> FastAPI:
    """The app under test: a Connect page, the lifecycle, a Forge resolver, a call to Jira."""
    app = FastAPI()
    app.router.routes.extend(lifecycle_routes(LifecycleHandler(store, installs)))
    connect = Depends(require_jwt(TenantStoreAuthenticator(store, leeway=30)))

    @app.get("/panel")
    async def panel(result: AuthResult = connect) -> dict[str, Any]:
        return {"clientKey": result.client_key, "user": result.claims.get("sub")}

    @app.post("/sync")
    async def sync(result: AuthResult = connect) -> dict[str, Any]:
        tenant = store.get(result.client_key)
        assert tenant is not None
        async with httpx.AsyncClient(auth=AtlassianJWTAuth(tenant)) as client:
            answer = await client.get(f"{tenant['baseUrl']}/rest/api/3/myself")
        return {"status": answer.status_code}

    @app.post("/forge/whoami")
    async def forge_whoami(request: Request) -> dict[str, Any]:
        try:  # the first call downloads the key set: not on the event loop
            claims = await run_in_threadpool(forge.verify, request.headers)
        except atlassian_jwt.DecodeError:
            raise HTTPException(401) from None
        bearer = {"Authorization": f"Bearer {request.headers['x-forge-oauth-user']}"}
        async with httpx.AsyncClient(base_url=claims["app"]["apiBaseUrl"]) as client:
            me = (await client.get("/rest/api/3/myself", headers=bearer)).json()
        return {"accountId": me["accountId"]}

    return app


@pytest.fixture
def store() -> MemoryTenantStore:
    return MemoryTenantStore()


@pytest.fixture
def client(
    store: MemoryTenantStore,
    atlassian_app_base_url: str,
    atlassian_keys: FakeAtlassianKeyServer,
    forge_jwks: FakeForgeJWKS,
) -> TestClient:
    installs = InstallAuthenticator(atlassian_app_base_url, key_provider=atlassian_keys)
    forge = ForgeInvocationVerifier(forge_jwks.app_id, jwks_url=forge_jwks.jwks_url)
    return TestClient(create_app(store, installs, forge))


# The tests: each kind of route in a few lines.


def test_connect_page(client: TestClient, store: MemoryTenantStore, atlassian_tenant: Any) -> None:
    store.save(atlassian_tenant)
    url = product_request_url("GET", "/panel?issueKey=ABC-1", atlassian_tenant, account_id=ACCOUNT)
    response = client.get(url)
    assert response.status_code == 200
    assert response.json() == {"clientKey": atlassian_tenant["clientKey"], "user": ACCOUNT}


def test_installed_callback(
    client: TestClient,
    store: MemoryTenantStore,
    atlassian_keys: FakeAtlassianKeyServer,
    atlassian_tenant: Any,
) -> None:
    installed = atlassian_keys.lifecycle_request("installed", atlassian_tenant)
    response = client.post(installed.path, content=installed.body, headers=installed.headers)
    assert response.status_code == 204
    assert store.get(atlassian_tenant["clientKey"]) == installed.payload


def test_forge_remote_route(
    client: TestClient, forge_jwks: FakeForgeJWKS, atlassian_product: ProductStandIn
) -> None:
    headers = forge_jwks.invocation_headers(account_id=ACCOUNT, user_token=True)
    response = client.post("/forge/whoami", headers=headers, json={})
    assert response.json() == {"accountId": ACCOUNT}
    assert atlassian_product.requests[-1].auth == "forge-user"


def test_outbound_call(
    client: TestClient,
    store: MemoryTenantStore,
    atlassian_tenant: Any,
    atlassian_product: ProductStandIn,
) -> None:
    store.save(atlassian_tenant)
    response = client.post(
        "/sync", headers=product_request_headers("POST", "/sync", atlassian_tenant)
    )
    assert response.json() == {"status": 200}
    assert atlassian_product.requests[-1].claims["iss"] == atlassian_tenant["key"]


def test_expired_page(
    client: TestClient,
    store: MemoryTenantStore,
    atlassian_tenant: Any,
    atlassian_clock: FrozenClock,
) -> None:
    store.save(atlassian_tenant)
    url = product_request_url("GET", "/panel", atlassian_tenant)
    atlassian_clock.advance(PRODUCT_TOKEN_LIFETIME + 30)  # past exp and the 30 s leeway
    assert client.get(url).status_code == 401


def test_refusals(
    client: TestClient,
    atlassian_keys: FakeAtlassianKeyServer,
    forge_jwks: FakeForgeJWKS,
    atlassian_tenant: Any,
) -> None:
    assert client.get(product_request_url("GET", "/panel", atlassian_tenant)).status_code == 401
    uninstall = atlassian_keys.lifecycle_request("uninstalled", atlassian_tenant, path="/installed")
    response = client.post("/uninstalled", content=uninstall.body, headers=uninstall.headers)
    assert response.status_code == 401  # signed for another path: the qsh does not match
    headers = forge_jwks.invocation_headers(lifetime=60, now=1_600_000_000)
    assert client.post("/forge/whoami", headers=headers).status_code == 401
