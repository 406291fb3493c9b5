"""A Flask app tested with the kit and Flask's test client: each kind of route in a few lines."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from flask import Flask, g, request
from flask.testing import FlaskClient

import atlassian_jwt
from atlassian_jwt import AtlassianKeyProvider, ForgeInvocationVerifier, InstallAuthenticator
from atlassian_jwt.integrations.flask_ext import lifecycle_blueprint, require_jwt
from atlassian_jwt.integrations.requests_auth import AtlassianJWTAuth
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
from tests.support import ACCOUNT

pytestmark = pytest.mark.extras
pytest_plugins = ["atlassian_jwt.testing.pytest_plugin"]


def create_app(
    store: MemoryTenantStore, installs: InstallAuthenticator, forge: ForgeInvocationVerifier
) -> Flask:
    """The app under test: a Connect page, the lifecycle, a Forge resolver, a call to Jira."""
    app = Flask(__name__)
    connect = TenantStoreAuthenticator(store, leeway=30)
    app.register_blueprint(lifecycle_blueprint(LifecycleHandler(store, installs)))

    @app.get("/panel")
    @require_jwt(connect)
    def panel() -> Any:
        return {"clientKey": g.atlassian_jwt.client_key, "user": g.atlassian_jwt.claims.get("sub")}

    @app.post("/sync")
    @require_jwt(connect)
    def sync() -> Any:
        tenant = store.get(g.atlassian_jwt.client_key)
        assert tenant is not None
        url = f"{tenant['baseUrl']}/rest/api/3/myself"
        answer = requests.get(url, auth=AtlassianJWTAuth(tenant), timeout=10)
        return {"status": answer.status_code}

    @app.post("/forge/whoami")
    def forge_whoami() -> Any:
        try:
            claims = forge.verify(request.headers)
        except atlassian_jwt.DecodeError:
            return {"error": "unauthorized"}, 401
        url = f"{claims['app']['apiBaseUrl']}/rest/api/3/myself"
        bearer = {"Authorization": f"Bearer {request.headers['x-forge-oauth-user']}"}
        me = requests.get(url, headers=bearer, timeout=10).json()
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
) -> FlaskClient:
    keys = AtlassianKeyProvider(base_url=atlassian_keys.url)
    installs = InstallAuthenticator(atlassian_app_base_url, key_provider=keys)
    forge = ForgeInvocationVerifier(forge_jwks.app_id, jwks_url=forge_jwks.jwks_url)
    return create_app(store, installs, forge).test_client()


# The tests: each kind of route in a few lines.


def test_connect_page(client: FlaskClient, store: MemoryTenantStore, atlassian_tenant: Any) -> None:
    store.save(atlassian_tenant)
    url = product_request_url("GET", "/panel?issueKey=ABC-1", atlassian_tenant, account_id=ACCOUNT)
    response = client.get(url)
    assert response.status_code == 200
    assert response.json == {"clientKey": atlassian_tenant["clientKey"], "user": ACCOUNT}


def test_installed_callback(
    client: FlaskClient,
    store: MemoryTenantStore,
    atlassian_keys: FakeAtlassianKeyServer,
    atlassian_tenant: Any,
) -> None:
    installed = atlassian_keys.lifecycle_request("installed", atlassian_tenant)
    response = client.post(installed.path, data=installed.body, headers=installed.headers)
    assert response.status_code == 204
    assert store.get(atlassian_tenant["clientKey"]) == installed.payload


def test_forge_remote_route(
    client: FlaskClient, forge_jwks: FakeForgeJWKS, atlassian_product: ProductStandIn
) -> None:
    headers = forge_jwks.invocation_headers(account_id=ACCOUNT, user_token=True)
    response = client.post("/forge/whoami", headers=headers, json={})
    assert response.json == {"accountId": ACCOUNT}
    assert atlassian_product.requests[-1].auth == "forge-user"


def test_outbound_call(
    client: FlaskClient,
    store: MemoryTenantStore,
    atlassian_tenant: Any,
    atlassian_product: ProductStandIn,
) -> None:
    store.save(atlassian_tenant)
    response = client.post(
        "/sync", headers=product_request_headers("POST", "/sync", atlassian_tenant)
    )
    assert response.json == {"status": 200}
    assert atlassian_product.requests[-1].claims["iss"] == atlassian_tenant["key"]


def test_expired_page(
    client: FlaskClient,
    store: MemoryTenantStore,
    atlassian_tenant: Any,
    atlassian_clock: FrozenClock,
) -> None:
    store.save(atlassian_tenant)
    url = product_request_url("GET", "/panel", atlassian_tenant)
    atlassian_clock.advance(PRODUCT_TOKEN_LIFETIME + 30)  # past exp and the 30 s leeway
    assert client.get(url).status_code == 401


def test_refusals(
    client: FlaskClient,
    atlassian_keys: FakeAtlassianKeyServer,
    forge_jwks: FakeForgeJWKS,
    atlassian_tenant: Any,
) -> None:
    assert client.get(product_request_url("GET", "/panel", atlassian_tenant)).status_code == 401
    foreign = atlassian_keys.lifecycle_request(
        "installed", atlassian_tenant, app_base_url="https://another-app.example.com"
    )
    assert client.post("/installed", data=foreign.body, headers=foreign.headers).status_code == 401
    headers = forge_jwks.invocation_headers(claims={"aud": "ari:cloud:ecosystem::app/other"})
    assert client.post("/forge/whoami", headers=headers).status_code == 401
