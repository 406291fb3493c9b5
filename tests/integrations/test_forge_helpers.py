"""The Forge helpers of Flask, Django and Starlette/FastAPI, each in an app that serves Connect
routes beside Forge routes, through each framework's own test client."""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client as DjangoClient
from django.test import override_settings
from django.urls import path
from fastapi import Depends, FastAPI
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

with warnings.catch_warnings():
    # See test_starlette_ext: Starlette's TestClient warns about httpx on import.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import atlassian_jwt
from atlassian_jwt import AuthResult, ForgeEventDispatcher, ForgeInvocation, ForgeInvocationVerifier
from atlassian_jwt.forge import FORGE_INSTALLED_EVENT, connect_tenant, load_app_token
from atlassian_jwt.integrations import django_ext, flask_ext, starlette_ext
from atlassian_jwt.tenants import MemoryTenantStore, TenantStore
from atlassian_jwt.testing import FakeForgeJWKS, ProductStandIn
from tests.forge.conftest import ACCOUNT
from tests.integrations.django_settings import configure as configure_django
from tests.integrations.web_helpers import auth_header, authenticator, rejection_codes, sign
from tests.support import APP_KEY, CLIENT_KEY

configure_django()

pytestmark = pytest.mark.extras

ISSUE_CREATED = "avi:jira:created:issue"


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


#: ``call(method, path, headers, body)``: one request to the app under test.
Call = Callable[[str, str, dict[str, str], bytes], Answer]


class App(NamedTuple):
    """What a test app is made of: the Connect and Forge verifiers, the store, the events."""

    verifier: ForgeInvocationVerifier
    store: TenantStore
    events: ForgeEventDispatcher


def summary(invocation: ForgeInvocation, store: TenantStore) -> dict[str, Any]:
    """What the Forge route answers: its invocation, and the Connect tenant behind it."""
    return {
        "installation": invocation.installation_id,
        "account": invocation.account_id,
        "client_key": connect_tenant(invocation, store)["clientKey"],
    }


# One app per framework: /connect/page (Connect JWT), /forge/summary (Forge), /forge/events.


def flask_app(app: App) -> Call:
    web = Flask(__name__)

    @web.get("/connect/page")
    @flask_ext.require_jwt(authenticator())
    def page() -> dict[str, Any]:
        return {"client_key": g.atlassian_jwt.client_key}

    @web.post("/forge/summary")
    @flask_ext.require_forge(app.verifier, store=app.store)
    def forge_summary() -> dict[str, Any]:
        return summary(g.forge, app.store)

    web.add_url_rule(
        "/forge/events", view_func=flask_ext.forge_event_view(app.events), methods=["POST"]
    )
    client = web.test_client()

    def call(method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        response = client.open(target, method=method, headers=headers, data=body)
        lowered = {name.lower(): value for name, value in response.headers.items()}
        return Answer(response.status_code, lowered, response.get_data())

    return call


def django_app(app: App) -> Call:
    @django_ext.require_jwt(authenticator())
    def page(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"client_key": request.atlassian_jwt.client_key})

    @django_ext.forge_required(app.verifier, store=app.store)
    def forge_summary(request: HttpRequest) -> HttpResponse:
        return JsonResponse(summary(request.forge, app.store))

    @django_ext.forge_required(app.verifier, store=app.store)
    async def forge_async(request: HttpRequest) -> HttpResponse:
        return JsonResponse({"installation": request.forge.installation_id})

    patterns = [
        path("connect/page", page),
        path("forge/summary", forge_summary),
        path("forge/async", forge_async),
        path("forge/events", django_ext.forge_event_view(app.events)),
    ]
    urls = type("urls", (), {"urlpatterns": patterns})
    client = DjangoClient(enforce_csrf_checks=True)  # Forge's POSTs carry no CSRF cookie

    def call(method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        with override_settings(ROOT_URLCONF=urls):
            response = client.generic(
                method, target, body, content_type="application/json", headers=headers
            )
        lowered = {name.lower(): value for name, value in response.items()}
        return Answer(response.status_code, lowered, response.content)

    return call


def fastapi_app(app: App) -> Call:
    web = FastAPI()
    connect = starlette_ext.require_jwt(authenticator())
    forge = starlette_ext.require_forge(app.verifier, store=app.store)

    # Defaults, not Annotated: the annotations are text here, and these are local names.
    @web.get("/connect/page")
    async def page(jwt: AuthResult = Depends(connect)) -> Any:  # noqa: B008
        return {"client_key": jwt.client_key}

    @web.post("/forge/summary")
    async def forge_summary(invocation: ForgeInvocation = Depends(forge)) -> Any:  # noqa: B008
        return await asyncio.to_thread(summary, invocation, app.store)

    web.router.routes.append(
        Route("/forge/events", starlette_ext.forge_event_endpoint(app.events), methods=["POST"])
    )
    client = TestClient(web)

    def call(method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        response = client.request(method, target, headers=headers, content=body)
        lowered = {name.lower(): value for name, value in response.headers.items()}
        return Answer(response.status_code, lowered, response.content)

    return call


FRAMEWORKS = {"flask": flask_app, "django": django_app, "fastapi": fastapi_app}


@pytest.fixture
def store(product: ProductStandIn) -> TenantStore:
    """The Connect app's store, with the site's Connect tenant (its installed callback)."""
    tenants = MemoryTenantStore(app_key=APP_KEY)
    tenants.save({**product.tenant, "clientKey": CLIENT_KEY})
    return tenants


@pytest.fixture
def events(verifier: ForgeInvocationVerifier, store: TenantStore) -> Iterator[ForgeEventDispatcher]:
    dispatcher = ForgeEventDispatcher(verifier, store)
    yield dispatcher
    dispatcher.shutdown(wait=False)


@pytest.fixture(params=sorted(FRAMEWORKS))
def framework(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def call(
    framework: str,
    verifier: ForgeInvocationVerifier,
    store: TenantStore,
    events: ForgeEventDispatcher,
) -> Call:
    return FRAMEWORKS[framework](App(verifier, store, events))


# Connect and Forge side by side.


def test_connect_and_forge_routes_side_by_side(
    call: Call, forge: FakeForgeJWKS, product: ProductStandIn, store: TenantStore
) -> None:
    connect = call("GET", "/connect/page", auth_header(sign("GET", "/connect/page")), b"")
    assert connect.status == 200 and connect.json() == {"client_key": CLIENT_KEY}
    headers = forge.invocation_headers(account_id=ACCOUNT)
    answer = call("POST", "/forge/summary", headers, b"{}")
    assert answer.status == 200, answer.body
    assert answer.json() == {
        "installation": product.installation_id,
        "account": ACCOUNT,
        "client_key": CLIENT_KEY,
    }
    # Given the store, the helper kept the app token for background work.
    assert product.installation_id is not None
    assert load_app_token(product.installation_id, store).value == headers["x-forge-oauth-system"]


def test_each_kind_of_token_is_refused_on_the_other_kind_of_route(
    call: Call, forge: FakeForgeJWKS
) -> None:
    forge_headers = forge.invocation_headers()
    on_connect = call("GET", "/connect/page", forge_headers, b"")
    assert on_connect.status == 401 and on_connect.headers["www-authenticate"] == "JWT"
    jwt_headers = auth_header(sign("POST", "/forge/summary"))
    on_forge = call("POST", "/forge/summary", jwt_headers, b"{}")
    assert on_forge.status == 401 and on_forge.headers["www-authenticate"] == "Bearer"
    with_bearer_jwt = {"Authorization": f"Bearer {sign('POST', '/forge/summary')}"}
    assert call("POST", "/forge/summary", with_bearer_jwt, b"{}").status == 401


@pytest.mark.parametrize(
    "options",
    [
        None,
        {"lifetime": 1, "now": 1_600_000_000},
        {"claims": {"aud": "ari:cloud:ecosystem::app/another-app"}},
        {"app_claims": {"apiBaseUrl": "http://api.example.com/ex/jira/1"}},
        {"app_claims": {"installationId": None}},
    ],
    ids=["none", "expired", "another-app", "http-api", "no-installation"],
)
def test_forge_rejections_answer_401_and_log_only_the_code(
    call: Call,
    forge: FakeForgeJWKS,
    options: dict[str, Any] | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers = {} if options is None else forge.invocation_headers(**options)
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    for target in ("/forge/summary", "/forge/events"):
        answer = call("POST", target, headers, b"{}")
        assert answer.status == 401 and answer.headers["www-authenticate"] == "Bearer"
    logged = [r.getMessage() for r in caplog.records if r.name == "atlassian_jwt.integrations"]
    assert len(logged) == 2 and {message.rsplit(": ", 1)[1] for message in logged} <= (
        rejection_codes()
    )
    for value in headers.values():
        assert value not in caplog.text


def test_forge_key_set_down_answers_503(call: Call, forge: FakeForgeJWKS) -> None:
    headers = forge.invocation_headers()
    forge.respond("GET", "/.well-known/jwks.json", status=503)
    for target in ("/forge/summary", "/forge/events"):
        answer = call("POST", target, headers, b"{}")
        assert answer.status == 503 and "www-authenticate" not in answer.headers


class FailingStore(MemoryTenantStore):
    """A store that cannot be written: the database is locked."""

    def _write_app_token(self, *args: Any) -> bool:
        raise atlassian_jwt.TenantStoreError("the tenant database is locked")

    def _claim_event(self, *args: Any) -> bool:
        raise atlassian_jwt.TenantStoreError("the tenant database is locked")


def test_a_store_that_fails_answers_503(
    framework: str, forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    store = FailingStore(app_key=APP_KEY)
    events = ForgeEventDispatcher(verifier, store)
    call = FRAMEWORKS[framework](App(verifier, store, events))
    for target in ("/forge/summary", "/forge/events"):
        assert call("POST", target, forge.invocation_headers(), b"{}").status == 503
    events.shutdown()


# Events.


def test_events_are_handled_once(
    call: Call, forge: FakeForgeJWKS, product: ProductStandIn, events: ForgeEventDispatcher
) -> None:
    seen: list[str] = []
    events.on(ISSUE_CREATED)(lambda event: seen.append(event.payload["issue"]["key"]))
    events.on(FORGE_INSTALLED_EVENT)(lambda event: seen.append(event.installation_id))
    headers, body = forge.event_delivery(ISSUE_CREATED, {"issue": {"key": "SP-1"}})
    first = call("POST", "/forge/events", headers, body)
    assert (first.status, first.json()) == (200, {"outcome": "handled"})
    assert first.headers["content-type"].startswith("application/json")
    again = forge.event_delivery(ISSUE_CREATED, {"issue": {"key": "SP-1"}}, retry_count=1)
    retry = call("POST", "/forge/events", *again)
    assert (retry.status, retry.json()) == (200, {"outcome": "duplicate"})
    installed = call("POST", "/forge/events", *forge.event_delivery(FORGE_INSTALLED_EVENT))
    assert installed.json() == {"outcome": "handled"}
    assert seen == ["SP-1", product.installation_id]


def test_a_failing_event_handler_answers_500_so_that_forge_retries(
    call: Call, forge: FakeForgeJWKS, events: ForgeEventDispatcher
) -> None:
    @events.on(ISSUE_CREATED)
    def fails(event: Any) -> None:
        raise RuntimeError("boom")

    answer = call("POST", "/forge/events", *forge.event_delivery(ISSUE_CREATED))
    assert (answer.status, answer.json()) == (500, {"outcome": "failed"})


def test_a_bad_event_body_is_a_400(call: Call, forge: FakeForgeJWKS) -> None:
    answer = call("POST", "/forge/events", forge.invocation_headers(), b"not json")
    assert (answer.status, answer.json()) == (400, {"outcome": "bad_request"})


# The wrong kind of verifier: refused when the route is defined.

FORGE_HELPERS = [
    ("flask", flask_ext.require_forge),
    ("flask", flask_ext.verify_forge),
    ("django", django_ext.forge_required),
    ("django", django_ext.verify_forge),
    ("starlette", starlette_ext.require_forge),
]
CONNECT_HELPERS = [
    ("flask", flask_ext.require_jwt),
    ("flask", flask_ext.authenticate_request),
    ("django", django_ext.require_jwt),
    ("django", django_ext.authenticate_request),
    ("starlette", starlette_ext.require_jwt),
]
EVENT_HELPERS = [
    ("flask", flask_ext.forge_event_view),
    ("django", django_ext.forge_event_view),
    ("starlette", starlette_ext.forge_event_endpoint),
]


@pytest.mark.parametrize(("framework", "helper"), CONNECT_HELPERS, ids=str)
def test_a_forge_verifier_given_to_a_connect_helper_is_a_type_error(
    verifier: ForgeInvocationVerifier, framework: str, helper: Callable[..., Any]
) -> None:
    with pytest.raises(TypeError, match="use require_forge"):
        result = helper(verifier, None) if "authenticate" in helper.__name__ else helper(verifier)
        if asyncio.iscoroutine(result):
            asyncio.run(result)


@pytest.mark.parametrize(("framework", "helper"), FORGE_HELPERS, ids=str)
def test_an_authenticator_given_to_a_forge_helper_is_a_type_error(
    framework: str, helper: Callable[..., Any]
) -> None:
    with pytest.raises(TypeError, match="use require_jwt"):
        auth = authenticator()
        result = helper(auth, None) if "verify" in helper.__name__ else helper(auth)
        if asyncio.iscoroutine(result):
            asyncio.run(result)


@pytest.mark.parametrize(("framework", "helper"), EVENT_HELPERS, ids=str)
def test_an_event_route_needs_a_dispatcher(
    verifier: ForgeInvocationVerifier, framework: str, helper: Callable[..., Any]
) -> None:
    with pytest.raises(TypeError, match="ForgeEventDispatcher"):
        helper(verifier)


def test_starlette_verify_forge_refuses_an_authenticator_when_awaited() -> None:
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []})
    with pytest.raises(TypeError, match="use require_jwt"):
        asyncio.run(starlette_ext.verify_forge(authenticator(), request))  # type: ignore[arg-type]


# What only one framework has.


def test_django_async_views_get_the_invocation(
    forge: FakeForgeJWKS,
    product: ProductStandIn,
    verifier: ForgeInvocationVerifier,
    store: TenantStore,
    events: ForgeEventDispatcher,
) -> None:
    call = django_app(App(verifier, store, events))
    answer = call("POST", "/forge/async", forge.invocation_headers(), b"{}")
    assert answer.status == 200, answer.body
    assert answer.json() == {"installation": product.installation_id}
    assert call("POST", "/forge/async", {}, b"{}").status == 401


def test_django_event_view_takes_only_posts(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    store: TenantStore,
    events: ForgeEventDispatcher,
) -> None:
    call = django_app(App(verifier, store, events))
    assert call("GET", "/forge/events", forge.invocation_headers(), b"").status == 405


def test_a_plain_starlette_endpoint_awaits_the_dependency(
    forge: FakeForgeJWKS, product: ProductStandIn, verifier: ForgeInvocationVerifier
) -> None:
    check = starlette_ext.require_forge(verifier)

    async def endpoint(request: Request) -> JSONResponse:
        invocation = await check(request)
        assert request.state.forge is invocation
        return JSONResponse({"installation": invocation.installation_id})

    client = TestClient(Starlette(routes=[Route("/forge", endpoint, methods=["POST"])]))
    response = client.post("/forge", headers=forge.invocation_headers())
    assert response.json() == {"installation": product.installation_id}
    refused = client.post("/forge")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
