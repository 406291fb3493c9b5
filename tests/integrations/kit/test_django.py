"""A Django app tested with the kit and Django's test client: each kind of route in a few lines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
import pytest
import requests
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, override_settings
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt

import atlassian_jwt
from atlassian_jwt import AtlassianKeyProvider, ForgeInvocationVerifier, InstallAuthenticator
from atlassian_jwt.integrations.django_ext import lifecycle_urls, require_jwt
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


def app_urls(
    store: MemoryTenantStore, installs: InstallAuthenticator, forge: ForgeInvocationVerifier
) -> list[URLPattern]:
    """The app under test: a Connect page, the lifecycle, a Forge resolver, a call to Jira."""
    connect = TenantStoreAuthenticator(store, leeway=30)

    @require_jwt(connect)
    def panel(request: HttpRequest) -> HttpResponse:
        result = request.atlassian_jwt
        return JsonResponse({"clientKey": result.client_key, "user": result.claims.get("sub")})

    @require_jwt(connect)
    def sync(request: HttpRequest) -> HttpResponse:
        tenant = store.get(request.atlassian_jwt.client_key)
        assert tenant is not None
        url = f"{tenant['baseUrl']}/rest/api/3/myself"
        answer = requests.get(url, auth=AtlassianJWTAuth(tenant), timeout=10)
        return JsonResponse({"status": answer.status_code})

    @csrf_exempt  # type: ignore[untyped-decorator]  # Django has no type hints
    def forge_whoami(request: HttpRequest) -> HttpResponse:
        try:
            claims = forge.verify(request.headers)
        except atlassian_jwt.DecodeError:
            return JsonResponse({"error": "unauthorized"}, status=401)
        url = f"{claims['app']['apiBaseUrl']}/rest/api/3/myself"
        bearer = {"Authorization": f"Bearer {request.headers['x-forge-oauth-user']}"}
        me = requests.get(url, headers=bearer, timeout=10).json()
        return JsonResponse({"accountId": me["accountId"]})

    return [
        path("panel", panel),
        path("sync", sync),
        path("forge/whoami", forge_whoami),
        *lifecycle_urls(LifecycleHandler(store, installs)),
    ]


@pytest.fixture
def store() -> MemoryTenantStore:
    return MemoryTenantStore()


@pytest.fixture
def client(
    store: MemoryTenantStore,
    atlassian_app_base_url: str,
    atlassian_keys: FakeAtlassianKeyServer,
    forge_jwks: FakeForgeJWKS,
) -> Iterator[Client]:
    from django.conf import settings  # not at import: doctest collection would touch it

    if not settings.configured:  # another test module may have configured Django already
        settings.configure(SECRET_KEY="test-only-secret-key-" + "x" * 40, USE_TZ=True)
        django.setup()
    installs = InstallAuthenticator(atlassian_app_base_url, key_provider=atlassian_keys)
    forge = ForgeInvocationVerifier(forge_jwks.app_id, jwks_url=forge_jwks.jwks_url)
    urls = type("urls", (), {"urlpatterns": app_urls(store, installs, forge)})
    with override_settings(ROOT_URLCONF=urls, MIDDLEWARE=[], ALLOWED_HOSTS=["testserver"]):
        yield Client()


# The tests: each kind of route in a few lines.


def test_connect_page(client: Client, store: MemoryTenantStore, atlassian_tenant: Any) -> None:
    store.save(atlassian_tenant)
    url = product_request_url("GET", "/panel?issueKey=ABC-1", atlassian_tenant, account_id=ACCOUNT)
    response = client.get(url)
    assert response.status_code == 200
    assert response.json() == {"clientKey": atlassian_tenant["clientKey"], "user": ACCOUNT}


def test_installed_callback(
    client: Client,
    store: MemoryTenantStore,
    atlassian_keys: FakeAtlassianKeyServer,
    atlassian_tenant: Any,
) -> None:
    installed = atlassian_keys.lifecycle_request("installed", atlassian_tenant)
    response = client.post(
        installed.path, installed.body, "application/json", headers=installed.headers
    )
    assert response.status_code == 204
    assert store.get(atlassian_tenant["clientKey"]) == installed.payload


def test_forge_remote_route(
    client: Client, forge_jwks: FakeForgeJWKS, atlassian_product: ProductStandIn
) -> None:
    headers = forge_jwks.invocation_headers(account_id=ACCOUNT, user_token=True)
    response = client.post("/forge/whoami", {}, "application/json", headers=headers)
    assert response.json() == {"accountId": ACCOUNT}
    assert atlassian_product.requests[-1].auth == "forge-user"


def test_outbound_call(
    client: Client,
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
    client: Client, store: MemoryTenantStore, atlassian_tenant: Any, atlassian_clock: FrozenClock
) -> None:
    store.save(atlassian_tenant)
    url = product_request_url("GET", "/panel", atlassian_tenant)
    atlassian_clock.advance(PRODUCT_TOKEN_LIFETIME + 30)  # past exp and the 30 s leeway
    assert client.get(url).status_code == 401


def test_refusals(
    client: Client,
    atlassian_keys: FakeAtlassianKeyServer,
    forge_jwks: FakeForgeJWKS,
    atlassian_tenant: Any,
) -> None:
    assert client.get(product_request_url("GET", "/panel", atlassian_tenant)).status_code == 401
    expired = atlassian_keys.lifecycle_request("installed", atlassian_tenant, now=1_600_000_000)
    response = client.post("/installed", expired.body, "application/json", headers=expired.headers)
    assert response.status_code == 401
    headers = forge_jwks.invocation_headers(claims={"aud": "ari:cloud:ecosystem::app/other"})
    assert client.post("/forge/whoami", headers=headers).status_code == 401


def test_key_server_outage_is_a_503(
    client: Client, atlassian_app_base_url: str, atlassian_tenant: Any
) -> None:
    with FakeAtlassianKeyServer(atlassian_app_base_url) as keys:
        keys.respond("GET", f"/{keys.kid}", status=503)
        installs = InstallAuthenticator(
            atlassian_app_base_url, key_provider=AtlassianKeyProvider(base_url=keys.url)
        )
        urls = type(
            "urls",
            (),
            {"urlpatterns": lifecycle_urls(LifecycleHandler(MemoryTenantStore(), installs))},
        )
        installed = keys.lifecycle_request("installed", atlassian_tenant)
        with override_settings(ROOT_URLCONF=urls):
            response = client.post(
                "/installed", installed.body, "application/json", headers=installed.headers
            )
    assert response.status_code == 503
