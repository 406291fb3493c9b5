"""docs/moving-to-forge.rst, step by step, against the testing kit: the Connect app, the same app
with its Forge routes added (Connect on Forge), and the app on Forge alone.

Each example builds its verifiers for Atlassian's own servers, as an app does; the test puts
the kit's in their place through the constructors' public options (the install key provider,
the Forge JWKS URL) and serves the example's Flask app with Flask's test client.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import atlassian_jwt
from atlassian_jwt import ForgeTokenUnavailableError
from atlassian_jwt.forge import FORGE_INSTALLED_EVENT
from atlassian_jwt.testing import (
    FakeAtlassianKeyServer,
    FakeForgeJWKS,
    ProductStandIn,
    product_request_headers,
    product_request_url,
)
from tests.readme import example_page, run_example

pytestmark = pytest.mark.extras

APP_BASE_URL = "https://my-app.example.com"
APP_ID = "8db8e2c8-1b2d-4f3e-9a6b-0c1d2e3f4a5b"  # the examples' app.id
ACCOUNT_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
SUMMARY = "Fix the login page"


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    """A site with the app installed under a Forge manifest, which knows the issue DEMO-7."""
    installation = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
    with ProductStandIn(app_key="com.example.my-app", installation_id=installation) as site:
        site.respond("GET", "/rest/api/3/issue/DEMO-7", json={"fields": {"summary": SUMMARY}})
        site.respond("GET", "/rest/api/3/project/search", json={"values": [{"key": "DEMO"}]})
        yield site


@pytest.fixture
def forge(jira: ProductStandIn) -> Iterator[FakeForgeJWKS]:
    with FakeForgeJWKS(APP_ID, product=jira) as fake:
        yield fake


@pytest.fixture
def kit_verifiers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, forge: FakeForgeJWKS
) -> FakeAtlassianKeyServer:
    """The examples' verifiers, with the kit's keys: the install keys of a fake key server, the
    Forge key set the fake JWKS serves. Their databases go to a fresh directory."""
    monkeypatch.chdir(tmp_path)
    keys = FakeAtlassianKeyServer(APP_BASE_URL)
    monkeypatch.setattr(
        atlassian_jwt,
        "InstallAuthenticator",
        functools.partial(atlassian_jwt.InstallAuthenticator, key_provider=keys),
    )
    monkeypatch.setattr(
        atlassian_jwt,
        "ForgeInvocationVerifier",
        functools.partial(atlassian_jwt.ForgeInvocationVerifier, jwks_url=forge.jwks_url),
    )
    return keys


def issue_headers(forge: FakeForgeJWKS, **options: Any) -> dict[str, str]:
    """The Forge module's call from the issue DEMO-7's page."""
    context = {"extension": {"issue": {"key": "DEMO-7"}, "type": "issue"}}
    return forge.invocation_headers(account_id=ACCOUNT_ID, context=context, **options)


def test_the_examples_are_the_guides() -> None:
    for name in ("moving-connect", "moving-connect-on-forge", "moving-forge-alone"):
        assert example_page(name).name == "moving-to-forge.rst"


def install(client: Any, keys: FakeAtlassianKeyServer, tenant: dict[str, Any]) -> int:
    """The signed installed callback, as the site sends it; the app's status."""
    installed = keys.lifecycle_request("installed", tenant)
    return int(
        client.post(installed.path, data=installed.body, headers=installed.headers).status_code
    )


def test_step_0_the_connect_app(
    kit_verifiers: FakeAtlassianKeyServer, jira: ProductStandIn
) -> None:
    tenant = jira.tenant
    namespace = run_example("moving-connect", {"__name__": "moving"})
    client = namespace["app"].test_client()
    assert (
        client.get(product_request_url("GET", "/issue-panel?issueKey=DEMO-7", tenant)).status_code
        == 401
    )
    assert install(client, kit_verifiers, tenant) == 204
    panel = client.get(product_request_url("GET", "/issue-panel?issueKey=DEMO-7", tenant))
    assert panel.json == {"summary": SUMMARY, "notes": []}
    assert jira.requests[-1].auth == "jwt"  # signed with the shared secret


def test_step_1_one_app_serves_connect_and_forge(
    kit_verifiers: FakeAtlassianKeyServer, jira: ProductStandIn, forge: FakeForgeJWKS
) -> None:
    tenant = jira.tenant
    namespace = run_example("moving-connect", {"__name__": "moving"})
    run_example("moving-connect-on-forge", namespace)  # the Forge routes, added to the app
    client = namespace["app"].test_client()
    events = namespace["events"]
    try:
        assert install(client, kit_verifiers, tenant) == 204
        stored = namespace["store"].get(tenant["clientKey"])
        assert stored["installationId"] == tenant["installationId"]

        headers, body = forge.event_delivery(FORGE_INSTALLED_EVENT, {"id": "5d5f3c1a"})
        delivered = client.post("/forge/events", headers=headers, data=body)
        assert (delivered.status_code, delivered.json) == (200, {"outcome": "handled"})
        assert namespace["notes"] == {tenant["clientKey"]: ["on Forge"]}

        # The Connect panel, unchanged; the Forge module's remote, beside it.
        panel = client.get(product_request_url("GET", "/issue-panel?issueKey=DEMO-7", tenant))
        assert panel.json == {"summary": SUMMARY, "notes": ["on Forge"]}
        assert jira.requests[-1].auth == "jwt"
        summary = client.post("/forge/issue-summary", headers=issue_headers(forge), json={})
        assert summary.json == {"summary": SUMMARY, "notes": ["on Forge"]}
        call = jira.requests[-1]
        assert (call.auth, call.path) == ("forge-system", "/rest/api/3/issue/DEMO-7")
        assert call.target.startswith(f"/ex/jira/{jira.cloud_id}/")

        # Each route takes its own kind of token only.
        connect = product_request_headers("POST", "/forge/issue-summary", tenant)
        assert client.post("/forge/issue-summary", headers=connect).status_code == 401
        forge_page = {"Authorization": issue_headers(forge)["authorization"]}
        assert client.get("/issue-panel?issueKey=DEMO-7", headers=forge_page).status_code == 401
        # The Forge route kept the installation's app token, for work after the request.
        assert namespace["store"].get_app_token(tenant["installationId"]) is not None
    finally:
        events.shutdown()


def test_step_1_forge_before_the_connect_install_finds_no_tenant(
    kit_verifiers: FakeAtlassianKeyServer, jira: ProductStandIn, forge: FakeForgeJWKS
) -> None:
    namespace = run_example("moving-connect", {"__name__": "moving"})
    run_example("moving-connect-on-forge", namespace)
    client = namespace["app"].test_client()
    events = namespace["events"]
    try:
        headers, body = forge.event_delivery(FORGE_INSTALLED_EVENT, {"id": "5d5f3c1a"})
        early = client.post("/forge/events", headers=headers, data=body)
        assert (early.status_code, early.json) == (500, {"outcome": "failed"})
        # The route lets ConnectTenantNotFoundError through: Flask answers 500.
        summary = client.post("/forge/issue-summary", headers=issue_headers(forge))
        assert summary.status_code == 500

        assert install(client, kit_verifiers, jira.tenant) == 204
        headers, body = forge.event_delivery(
            FORGE_INSTALLED_EVENT, {"id": "5d5f3c1a"}, retry_count=1
        )
        retried = client.post("/forge/events", headers=headers, data=body)
        assert (retried.status_code, retried.json) == (200, {"outcome": "handled"})
    finally:
        events.shutdown()


def test_step_2_forge_alone(
    kit_verifiers: FakeAtlassianKeyServer, jira: ProductStandIn, forge: FakeForgeJWKS
) -> None:
    namespace = run_example("moving-forge-alone", {"__name__": "moving"})
    assert not {"InstallAuthenticator", "lifecycle_blueprint", "require_jwt"} & set(namespace)
    client = namespace["app"].test_client()
    installation = jira.tenant["installationId"]
    events = namespace["events"]
    try:
        # Before any invocation, there is no app token for background work.
        with pytest.raises(ForgeTokenUnavailableError):
            namespace["nightly_sync"](installation)

        issue = {"issue": {"key": "DEMO-8"}}
        headers, body = forge.event_delivery("avi:jira:created:issue", issue)
        assert client.post("/forge/events", headers=headers, data=body).json == {
            "outcome": "handled"
        }
        summary = client.post("/forge/issue-summary", headers=issue_headers(forge))
        assert summary.json == {"summary": SUMMARY, "notes": ["DEMO-8"]}
        assert jira.requests[-1].auth == "forge-system"

        # No Connect tenant anywhere: nothing of the sites' secrets is kept.
        assert namespace["store"].get(jira.tenant["clientKey"]) is None
        assert namespace["nightly_sync"](installation) == {"values": [{"key": "DEMO"}]}
        assert jira.requests[-1].path == "/rest/api/3/project/search"
    finally:
        events.shutdown()
