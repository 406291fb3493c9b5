"""The package page's examples and the documentation's signed-install example, run against the
testing kit's stand-ins for Atlassian: a fake key server, a fake Forge key set and a site that
verifies the app's calls.

An example builds its verifiers with Atlassian's own servers, as an app does; each test puts
the stand-in in their place (the key provider, the JWKS URL, the authorization server) through
the example's own parameters, or in its namespace, and then calls the example's functions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import atlassian_jwt
from atlassian_jwt.oauth2 import TokenProvider
from atlassian_jwt.tenants import MemoryTenantStore, SQLiteTenantStore
from atlassian_jwt.testing import (
    FakeAtlassianKeyServer,
    FakeForgeJWKS,
    ProductStandIn,
    make_tenant,
    product_request_headers,
    product_request_url,
)
from atlassian_jwt.testing.forge_jwks import JWKS_PATH
from tests.readme import example_page, run_example

pytestmark = pytest.mark.extras

APP_BASE_URL = "https://my-app.example.com"
ACCOUNT_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"


@pytest.fixture(scope="module")
def keys() -> FakeAtlassianKeyServer:
    return FakeAtlassianKeyServer(APP_BASE_URL)


class Unreachable:
    """A key provider whose key server cannot be reached."""

    def get_key(self, kid: str) -> Any:
        raise atlassian_jwt.KeyFetchError("the key server cannot be reached")


def test_the_package_page_holds_its_examples() -> None:
    for name in ("readme-flask", "readme-outbound"):
        assert example_page(name).name == "README.rst"
    assert example_page("install-callback").name == "signed-install.rst"


def test_readme_flask_app_stores_a_signed_install_then_serves_its_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: FakeAtlassianKeyServer
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = run_example("readme-flask", {"__name__": "readme"})
    assert (tmp_path / "tenants.db").exists()  # the app as deployed: Atlassian's key servers
    store = SQLiteTenantStore(tmp_path / "test.db", app_key="com.example.my-app")
    client = namespace["create_app"](store, keys=keys).test_client()
    tenant = make_tenant(app_key="com.example.my-app")

    page_url = product_request_url("GET", "/issue-panel?issueKey=DEMO-1", tenant)
    assert client.get(page_url).status_code == 401  # not installed yet

    installed = keys.lifecycle_request("installed", tenant)
    response = client.post(installed.path, data=installed.body, headers=installed.headers)
    assert response.status_code == 204
    assert store.get(tenant["clientKey"]) == installed.payload

    page = client.get(page_url)
    assert (page.status_code, page.get_data(as_text=True)) == (
        200,
        f"Hello from {tenant['clientKey']}",
    )
    assert client.get("/issue-panel?issueKey=DEMO-1").status_code == 401

    # Another app's install token, with a body that would plant another secret: refused.
    planted = {**tenant, "sharedSecret": "a-planted-secret-of-at-least-32-bytes"}
    foreign = keys.lifecycle_request("installed", planted, app_base_url="https://evil.example")
    response = client.post(foreign.path, data=foreign.body, headers=foreign.headers)
    assert response.status_code == 401
    assert store.get(tenant["clientKey"]) == installed.payload  # the genuine secret stays


def test_readme_flask_app_serves_its_forge_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = run_example("readme-flask", {"__name__": "readme"})
    with FakeForgeJWKS() as forge:
        verifier = atlassian_jwt.ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)
        store = MemoryTenantStore()
        client = namespace["create_app"](store, forge=verifier).test_client()
        headers = forge.invocation_headers(account_id=ACCOUNT_ID)
        response = client.post("/forge/summary", headers=headers)
        assert response.json == {"installation": forge.installation_id, "user": ACCOUNT_ID}
        assert store.get_app_token(forge.installation_id) is not None  # kept for later
        assert client.post("/forge/summary").status_code == 401
        other_app = FakeForgeJWKS(private_key=forge.signing_key(), kid=forge.kid)
        assert (
            client.post("/forge/summary", headers=other_app.invocation_headers()).status_code == 401
        )
        # A Connect token on the Forge route, a Forge token on the Connect one: refused.
        connect = product_request_headers("POST", "/forge/summary", make_tenant())
        assert client.post("/forge/summary", headers=connect).status_code == 401
        forge_page = {"Authorization": headers["authorization"]}
        assert client.get("/issue-panel", headers=forge_page).status_code == 401

        forge.respond("GET", JWKS_PATH, status=503)  # Forge's key set down: not the caller's fault
        verifier = atlassian_jwt.ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)
        client = namespace["create_app"](store, forge=verifier).test_client()
        assert client.post("/forge/summary", headers=headers).status_code == 503


def test_readme_outbound_calls_as_the_app_and_as_a_user() -> None:
    namespace = run_example("readme-outbound", {})
    with ProductStandIn("jira") as jira:
        issue = namespace["issue"](jira.tenant, "DEMO-1")
        assert (issue["auth"], issue["path"]) == ("jwt", "/rest/api/3/issue/DEMO-1")
        assert jira.requests[-1].accepted

        # The example's provider, with the stand-in's authorization server.
        namespace["provider"] = TokenProvider(authorization_server=jira.authorization_server)
        me = namespace["myself"](jira.tenant, ACCOUNT_ID)
        assert (me["auth"], me["accountId"]) == ("oauth2-user", ACCOUNT_ID)
        assert len(jira.exchanges) == 1
        namespace["myself"](jira.tenant, ACCOUNT_ID)
        assert len(jira.exchanges) == 1  # the provider's cache served the second call


def test_install_callback_stores_the_tenant_only_once_verified(
    keys: FakeAtlassianKeyServer,
) -> None:
    tenants: dict[str, Any] = {}
    namespace = run_example("install-callback", {"tenants": tenants})
    assert namespace["installs"].app_base_urls == (APP_BASE_URL,)
    installed = namespace["installed"]
    namespace["installs"] = atlassian_jwt.InstallAuthenticator(APP_BASE_URL, key_provider=keys)
    tenant = make_tenant()

    foreign = keys.lifecycle_request("installed", tenant, app_base_url="https://evil.example")
    assert installed(foreign.method, foreign.url, foreign.headers, foreign.body) == 401
    assert tenants == {}

    namespace["installs"] = atlassian_jwt.InstallAuthenticator(
        APP_BASE_URL, key_provider=Unreachable()
    )
    request = keys.lifecycle_request("installed", tenant)
    assert installed(request.method, request.url, request.headers, request.body) == 503
    assert tenants == {}

    namespace["installs"] = atlassian_jwt.InstallAuthenticator(APP_BASE_URL, key_provider=keys)
    assert installed(request.method, request.url, request.headers, request.body) == 204
    assert tenants == {tenant["clientKey"]: json.loads(request.body)}
