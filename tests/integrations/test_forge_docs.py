"""docs/forge.rst, example by example, against the testing kit: a Connect-on-Forge Jira site
(:class:`~atlassian_jwt.testing.ProductStandIn`) and Forge's key set
(:class:`~atlassian_jwt.testing.FakeForgeJWKS`), both on 127.0.0.1.

An example that builds its verifier for Atlassian's own key set is run first; the test then
puts a verifier of the fake key set in its place and calls the example's own functions. The
others take what the page says they take (``invocation``, ``store``, ``verifier``...) from the
test.
"""

from __future__ import annotations

import queue
import sys
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.test import Client as DjangoClient
from django.test import override_settings
from flask import Flask

with warnings.catch_warnings():
    # See test_starlette_ext: Starlette's TestClient warns about httpx on import.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from atlassian_jwt import ConnectTenantNotFoundError, ForgeInvocation, ForgeInvocationVerifier
from atlassian_jwt.forge import FORGE_INSTALLED_EVENT, ForgeEventDispatcher
from atlassian_jwt.forge.verify import FORGE_JWKS_URLS
from atlassian_jwt.integrations import httpx_auth
from atlassian_jwt.tenants import MemoryTenantStore, TenantStoreAuthenticator
from atlassian_jwt.testing import (
    FakeForgeJWKS,
    ProductStandIn,
    product_request_headers,
    product_request_url,
)
from atlassian_jwt.testing.forge_jwks import JWKS_PATH
from tests.httpx_libraries import each_library
from tests.integrations.django_settings import configure as configure_django
from tests.readme import example_page, run_example

pytestmark = pytest.mark.extras

configure_django()

ACCOUNT_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
EXAMPLES = (
    "forge-verify",
    "forge-call-requests",
    "forge-call-httpx",
    "forge-background",
    "forge-connect-tenant",
    "forge-flask",
    "forge-django",
    "forge-fastapi",
    "forge-events",
    "forge-testing",
)


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    """A Jira site with the Connect app installed under a Forge manifest."""
    installation = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
    with ProductStandIn(installation_id=installation) as site:
        yield site


@pytest.fixture
def forge(jira: ProductStandIn) -> Iterator[FakeForgeJWKS]:
    with FakeForgeJWKS(product=jira) as fake:
        yield fake


@pytest.fixture
def verifier(forge: FakeForgeJWKS) -> ForgeInvocationVerifier:
    return ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url, timeout=5)


@pytest.fixture
def store(jira: ProductStandIn) -> MemoryTenantStore:
    """The app's tenants, with the site's Connect ``installed`` payload stored."""
    tenants = MemoryTenantStore(app_key=jira.app_key)
    tenants.save(jira.tenant)
    return tenants


@pytest.fixture
def events(
    verifier: ForgeInvocationVerifier, store: MemoryTenantStore
) -> Iterator[ForgeEventDispatcher]:
    dispatcher = ForgeEventDispatcher(verifier, store)
    yield dispatcher
    dispatcher.shutdown()


def invocation_of(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> ForgeInvocation:
    """A verified invocation made by a user, with the app's and the user's tokens."""
    headers = forge.invocation_headers(account_id=ACCOUNT_ID, user_token=True)
    return verifier.verify_request(headers)


def test_the_examples_are_the_forge_pages() -> None:
    for name in EXAMPLES:
        assert example_page(name).name == "forge.rst"


def test_forge_verify_answers_200_401_and_503(forge: FakeForgeJWKS, jira: ProductStandIn) -> None:
    namespace = run_example("forge-verify", {"__name__": "forge_docs"})
    # As written, the example verifies against Atlassian's production key set, for its app.
    assert namespace["verifier"].jwks_url == FORGE_JWKS_URLS["production"]
    assert namespace["verifier"].app_ari.endswith("/8db8e2c8-1b2d-4f3e-9a6b-0c1d2e3f4a5b")
    namespace["verifier"] = ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)
    forge_call = namespace["forge_call"]

    status, invocation = forge_call(forge.invocation_headers(account_id=ACCOUNT_ID))
    assert status == 200
    assert invocation.installation_id == jira.tenant["installationId"]
    assert invocation.api_base_url == jira.forge_api_base_url
    assert invocation.account_id == ACCOUNT_ID
    assert invocation.module_key == "remote-endpoint"
    assert invocation.app_token is not None and invocation.user_token is None
    assert invocation.app_token.value not in repr(invocation)

    assert forge_call({}) == (401, None)
    another_app = FakeForgeJWKS(private_key=forge.signing_key())
    assert forge_call(another_app.invocation_headers()) == (401, None)

    forge.respond("GET", JWKS_PATH, status=503)
    namespace["verifier"] = ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)
    assert forge_call(forge.invocation_headers()) == (503, None)


def test_forge_call_with_requests_as_the_app_and_as_the_user(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, jira: ProductStandIn
) -> None:
    namespace = run_example("forge-call-requests", {"invocation": invocation_of(forge, verifier)})
    as_app, as_user = namespace["as_app"].json(), namespace["as_user"].json()
    assert (as_app["auth"], as_app["path"], as_app["accountId"]) == (
        "forge-system",
        "/rest/api/3/myself",
        None,
    )
    assert (as_user["auth"], as_user["accountId"]) == ("forge-user", ACCOUNT_ID)
    assert [call.accepted for call in jira.requests] == [True, True]


@each_library
def test_forge_call_with_httpx(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    jira: ProductStandIn,
    lib: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The page's httpx2, or httpx in its place. (httpx_auth was imported above, with the real
    # modules: its auth classes are classes of both.)
    monkeypatch.setitem(sys.modules, "httpx2", lib)
    namespace = run_example("forge-call-httpx", {"invocation": invocation_of(forge, verifier)})
    assert isinstance(namespace["client"].auth, httpx_auth.ForgeAuth)
    assert namespace["response"].json()["auth"] == "forge-system"
    [call] = jira.requests
    assert (call.path, call.auth, call.status) == ("/rest/api/3/myself", "forge-system", 200)


def test_forge_background_uses_the_kept_token_after_the_request(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, jira: ProductStandIn
) -> None:
    store = MemoryTenantStore(app_key=jira.app_key)
    namespace = run_example(
        "forge-background", {"invocation": invocation_of(forge, verifier), "store": store}
    )
    assert namespace["projects"].status_code == 200
    [call] = jira.requests
    assert (call.path, call.auth) == ("/rest/api/3/project/search", "forge-system")
    kept = store.get_app_token(namespace["installation_id"])
    assert kept is not None  # the store holds the token the worker sent


def test_forge_connect_tenant_signs_connect_calls_from_a_forge_request(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    jira: ProductStandIn,
    store: MemoryTenantStore,
) -> None:
    invocation = invocation_of(forge, verifier)
    namespace = run_example("forge-connect-tenant", {"invocation": invocation, "store": store})
    assert namespace["tenant"]["clientKey"] == jira.tenant["clientKey"]
    # The Connect token the example made is one the site accepts, for the app.
    response = requests.get(
        jira.tenant["baseUrl"] + "/rest/api/3/myself",
        headers={"Authorization": f"JWT {namespace['token']}"},
        timeout=10,
    )
    assert (response.status_code, response.json()["auth"]) == (200, "jwt")

    # An installation whose Connect installed callback was not stored: a typed error.
    stranger = verifier.verify_request(
        forge.invocation_headers(installation_id="ari:cloud:ecosystem::installation/other")
    )
    with pytest.raises(ConnectTenantNotFoundError):
        run_example("forge-connect-tenant", {"invocation": stranger, "store": store})


def test_forge_flask_serves_connect_and_forge_routes_side_by_side(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    jira: ProductStandIn,
    store: MemoryTenantStore,
    events: ForgeEventDispatcher,
) -> None:
    handled: list[str] = []
    events.on(FORGE_INSTALLED_EVENT)(lambda event: handled.append(event.installation_id))
    namespace = run_example(
        "forge-flask",
        {
            "__name__": "forge_docs",
            "authenticator": TenantStoreAuthenticator(store),
            "verifier": verifier,
            "store": store,
            "events": events,
        },
    )
    app: Flask = namespace["app"]
    client = app.test_client()
    tenant = jira.tenant

    panel = client.get(product_request_url("GET", "/issue-panel", tenant))
    assert panel.get_data(as_text=True) == f"Hello from {tenant['clientKey']}"
    summary = client.post("/forge/summary", headers=forge.invocation_headers(account_id=ACCOUNT_ID))
    assert summary.json == {"clientKey": tenant["clientKey"], "user": ACCOUNT_ID}
    # Each kind of token is refused on the other kind of route.
    assert client.get("/issue-panel", headers=forge.invocation_headers()).status_code == 401
    connect = product_request_headers("POST", "/forge/summary", tenant)
    assert client.post("/forge/summary", headers=connect).status_code == 401

    headers, body = forge.event_delivery(FORGE_INSTALLED_EVENT, {"id": "5d5f3c1a"})
    delivered = client.post("/forge/events", headers=headers, data=body)
    assert (delivered.status_code, delivered.json) == (200, {"outcome": "handled"})
    assert handled == [tenant["installationId"]]


def test_forge_django_view_and_event_route(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    jira: ProductStandIn,
    store: MemoryTenantStore,
    events: ForgeEventDispatcher,
) -> None:
    namespace = run_example(
        "forge-django",
        {"__name__": "forge_docs", "verifier": verifier, "store": store, "events": events},
    )
    urls = type("urls", (), {"urlpatterns": namespace["urlpatterns"]})
    with override_settings(ROOT_URLCONF=urls):
        client = DjangoClient(enforce_csrf_checks=True)
        summary = client.post(
            "/forge/summary", headers=forge.invocation_headers(account_id=ACCOUNT_ID)
        )
        assert summary.json() == {"clientKey": jira.tenant["clientKey"], "user": ACCOUNT_ID}
        assert client.post("/forge/summary").status_code == 401
        headers, body = forge.event_delivery("avi:jira:created:issue", {"issue": {"key": "A-1"}})
        ignored = client.post(
            "/forge/events", data=body, content_type="application/json", headers=headers
        )
        # No handler for it in this dispatcher: answered 200, so that Forge does not retry.
        assert (ignored.status_code, ignored.json()) == (200, {"outcome": "ignored"})


def test_forge_fastapi_dependency_and_event_route(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    jira: ProductStandIn,
    store: MemoryTenantStore,
    events: ForgeEventDispatcher,
) -> None:
    synced: list[str] = []

    async def hourly(event: Any) -> None:
        synced.append(event.event_type)

    events.on_schedule("hourly-sync")(hourly)
    namespace = run_example(
        "forge-fastapi", {"verifier": verifier, "store": store, "events": events}
    )
    with TestClient(namespace["app"]) as client:
        headers = forge.invocation_headers(account_id=ACCOUNT_ID)
        summary = client.post("/forge/summary", headers=headers)
        assert summary.json() == {"clientKey": jira.tenant["clientKey"], "user": ACCOUNT_ID}
        assert client.post("/forge/summary").status_code == 401
        headers, body = forge.scheduled_trigger_delivery("hourly-sync")
        trigger = client.post("/forge/events", headers=headers, content=body)
        assert (trigger.status_code, trigger.json()) == (200, {"outcome": "handled"})
    assert synced == ["hourly-sync"]


def test_forge_events_run_once_and_find_the_connect_tenant(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    jira: ProductStandIn,
) -> None:
    store = MemoryTenantStore(app_key=jira.app_key)  # the Connect callback not stored yet
    jobs: queue.Queue[tuple[str, str, str | None]] = queue.Queue()
    namespace = run_example("forge-events", {"verifier": verifier, "store": store, "jobs": jobs})
    events: ForgeEventDispatcher = namespace["events"]
    installation = jira.tenant["installationId"]
    try:
        issue = {"issue": {"key": "SP-1"}}
        first = events.handle(*forge.event_delivery("avi:jira:created:issue", issue))
        retry = events.handle(*forge.event_delivery("avi:jira:created:issue", issue, retry_count=1))
        assert (first.outcome, retry.outcome) == ("handled", "duplicate")

        # Forge's installed event before the Connect installed callback: 500, and Forge's
        # retry a minute later, once the tenant is stored, runs the handler.
        lifecycle = {"id": installation.rpartition("/")[2]}
        early = events.handle(*forge.event_delivery(FORGE_INSTALLED_EVENT, lifecycle))
        assert (early.status, early.outcome) == (500, "failed")
        store.save(jira.tenant)
        later = events.handle(
            *forge.event_delivery(FORGE_INSTALLED_EVENT, lifecycle, retry_count=1)
        )
        assert (later.status, later.outcome) == (200, "handled")

        trigger = events.handle(*forge.scheduled_trigger_delivery("hourly-sync"))
        assert trigger.outcome == "handled"
    finally:
        events.shutdown()
    assert list(jobs.queue) == [
        ("index-issue", installation, "SP-1"),
        ("welcome", installation, jira.tenant["clientKey"]),
        ("sync", installation, None),
    ]


def test_forge_testing_runs_the_whole_path_against_the_stand_ins() -> None:
    namespace = run_example("forge-testing", {})
    assert len(namespace["handled"]) == 1
    assert namespace["auth"].product_url("/x").startswith("http://127.0.0.1:")
