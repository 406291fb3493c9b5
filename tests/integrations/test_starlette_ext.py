"""The Starlette/FastAPI dependency and lifecycle routes, through Starlette's own TestClient."""

from __future__ import annotations

import logging
import warnings
from typing import Annotated, Any
from urllib.parse import urlencode

import pytest
from fastapi import Depends, FastAPI, Form
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork for its TestClient and warns, on import, that
    # httpx is deprecated there; that concerns the test client, not anything tested here.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

import atlassian_jwt
from atlassian_jwt import AuthResult
from atlassian_jwt.integrations.starlette_ext import (
    lifecycle_routes,
    require_jwt,
)
from tests.conftest import CLIENT_KEY, StoreAuthenticator
from tests.integrations.web_helpers import (
    RAW_TARGETS,
    UNAVAILABLE,
    RecordingHandler,
    auth_header,
    authenticator,
    context_token,
    rejection_codes,
    sign,
)
from tests.readme import run_example

pytestmark = pytest.mark.extras


def make_app(auth: atlassian_jwt.Authenticator | None = None) -> Starlette:
    auth = auth or authenticator()
    checks = {
        "page": require_jwt(auth),
        "context": require_jwt(auth, allow_context_qsh=True),
        "form": require_jwt(auth, include_form_body=True),
        "form-ignored": require_jwt(auth),
    }

    def endpoint(name: str) -> Any:
        async def view(request: Request) -> Response:
            result = await checks[name](request)
            assert request.state.atlassian_jwt is result
            return JSONResponse({"client_key": result.client_key, "sub": result.claims["sub"]})

        return view

    return Starlette(
        routes=[
            Route("/p/{rest:path}", endpoint("page")),
            Route("/page", endpoint("page")),
            Route("/context", endpoint("context")),
            Route("/form", endpoint("form"), methods=["POST"]),
            Route("/form-ignored", endpoint("form-ignored"), methods=["POST"]),
        ]
    )


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app())


@pytest.mark.parametrize("target", RAW_TARGETS)
def test_the_url_is_hashed_as_received(client: TestClient, target: str) -> None:
    response = client.get(target, headers=auth_header(sign("GET", target)))
    assert response.status_code == 200
    assert response.json() == {"client_key": CLIENT_KEY, "sub": "account-id-1"}


@pytest.mark.parametrize(
    ("received", "signed"),
    [("/p/a%2Fb", "/p/a/b"), ("/p/%7Etilde", "/p/~tilde"), ("/p/x?q=a%2Bb", "/p/x?q=a+b")],
)
def test_a_token_for_the_decoded_url_is_refused(
    client: TestClient, received: str, signed: str
) -> None:
    assert client.get(received, headers=auth_header(sign("GET", signed))).status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        None,
        sign("GET", "/other"),
        sign("GET", "/page", secret="x" * 64),
        sign("GET", "/page", lifetime=-3600),
        context_token(),
        "not-a-token",
    ],
    ids=["none", "qsh", "secret", "expired", "context", "garbage"],
)
def test_rejections_answer_a_bare_401_and_log_only_the_code(
    client: TestClient, token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    response = client.get("/page", headers=auth_header(token) if token else {})
    assert response.status_code == 401
    assert response.text == "Unauthorized"
    assert response.headers["WWW-Authenticate"] == "JWT"
    [record] = [record for record in caplog.records if record.name.startswith("atlassian_jwt")]
    assert record.getMessage().rsplit(": ", 1)[1] in rejection_codes()
    assert not token or token not in caplog.text


@pytest.mark.parametrize("unavailable", UNAVAILABLE)
def test_a_key_fetch_or_store_failure_answers_503(
    unavailable: type[StoreAuthenticator],
) -> None:
    client = TestClient(make_app(unavailable({})))
    response = client.get("/page", headers=auth_header(sign("GET", "/page")))
    assert response.status_code == 503
    assert response.text == "Service Unavailable"


def test_context_tokens_only_where_the_route_allows_them(client: TestClient) -> None:
    assert client.get("/context", headers=auth_header(context_token())).status_code == 200
    assert client.get("/page", headers=auth_header(context_token())).status_code == 401
    assert client.get("/context", headers=auth_header(sign("GET", "/context"))).status_code == 200


def test_form_fields_are_hashed_when_the_route_says_so(client: TestClient) -> None:
    form = {"comment": "a b+c", "id": "7"}
    body_token = sign("POST", "/form", body_params=form)

    def post(target: str, data: dict[str, str], token: str) -> int:
        headers = {**auth_header(token), "Content-Type": "application/x-www-form-urlencoded"}
        response = client.post(target, content=urlencode(data), headers=headers)
        status: int = response.status_code
        return status

    assert post("/form", form, body_token) == 200
    assert post("/form", form, sign("POST", "/form")) == 401
    assert post("/form", {**form, "id": "8"}, body_token) == 401
    assert post("/form-ignored", form, sign("POST", "/form-ignored")) == 200


@pytest.mark.parametrize("with_base_url", [False, True])
def test_an_app_mounted_under_a_prefix(with_base_url: bool) -> None:
    base = {"base_url": "https://apps.example.com/app"} if with_base_url else {}
    outer = Starlette(routes=[Mount("/app", app=make_app(authenticator(**base)))])
    client = TestClient(outer)
    target = "/p/a%2Fb?x=1"
    ok = client.get("/app" + target, headers=auth_header(sign("GET", target)))
    prefixed = client.get("/app" + target, headers=auth_header(sign("GET", "/app" + target)))
    assert (ok.status_code, prefixed.status_code) == (200, 401)


def test_a_root_path_set_by_the_server_behind_a_proxy() -> None:
    # uvicorn --root-path /app puts the prefix the proxy removed back into raw_path.
    client = TestClient(make_app(), root_path="/app")
    target = "/page?x=1"
    assert client.get(target, headers=auth_header(sign("GET", target))).status_code == 200


@pytest.mark.parametrize("event", ["installed", "uninstalled", "enabled", "disabled"])
def test_lifecycle_routes_hand_the_raw_request_to_the_handler(event: str) -> None:
    handler = RecordingHandler()
    events: list[tuple[str, AuthResult]] = []
    routes = lifecycle_routes(handler, on_event=lambda *args: events.append(args))
    client = TestClient(Starlette(routes=[Mount("/lifecycle", routes=routes)]))
    body = b'{"clientKey": "x"}'
    target = f"/lifecycle/{event}?a=%2F"
    response = client.post(target, content=body, headers={"Authorization": "JWT t"})
    assert response.status_code == 204
    assert handler.calls == [(event, "POST", target, "JWT t", body)]
    assert [(name, result.client_key, result.claims) for name, result in events] == [
        (event, CLIENT_KEY, {})
    ]
    assert client.post(f"/lifecycle/{event}", content=body).status_code == 401
    for down in ("JWT keys-down", "JWT store-down"):
        response = client.post(f"/lifecycle/{event}", content=body, headers={"Authorization": down})
        assert response.status_code == 503
    assert client.get(f"/lifecycle/{event}").status_code == 405
    assert len(events) == 1  # only the verified callback reached the app


def test_lifecycle_paths_follow_the_descriptor() -> None:
    handler = RecordingHandler()
    routes = lifecycle_routes(handler, {"installed": "/hooks/install"})
    client = TestClient(Starlette(routes=routes))
    assert client.post("/hooks/install", headers={"Authorization": "JWT t"}).status_code == 204
    assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 404


# FastAPI resolves the annotations of a route from the module's globals, so the dependencies
# are declared here, as an app declares them.
FASTAPI_AUTH = authenticator()
PanelJWT = Annotated[AuthResult, Depends(require_jwt(FASTAPI_AUTH))]
FormJWT = Annotated[AuthResult, Depends(require_jwt(FASTAPI_AUTH, include_form_body=True))]


class TestFastAPI:
    """The same dependency, used with FastAPI's Depends."""

    @pytest.fixture
    def client(self) -> TestClient:
        app = FastAPI()
        app.router.routes.extend(lifecycle_routes(RecordingHandler()))

        @app.get("/panel")
        async def panel(jwt: PanelJWT) -> dict[str, Any]:
            return {"client_key": jwt.client_key}

        @app.post("/submit")
        async def submit(comment: Annotated[str, Form()], jwt: FormJWT) -> dict[str, Any]:
            return {"client_key": jwt.client_key, "comment": comment}

        return TestClient(app)

    def test_a_route_depends_on_a_verified_token(self, client: TestClient) -> None:
        ok = client.get("/panel?a=1", headers=auth_header(sign("GET", "/panel?a=1")))
        assert ok.json() == {"client_key": CLIENT_KEY}
        refused = client.get("/panel?a=2", headers=auth_header(sign("GET", "/panel?a=1")))
        assert (refused.status_code, refused.json()) == (401, {"detail": "Unauthorized"})
        assert client.get("/panel", headers=auth_header(context_token())).status_code == 401

    def test_form_parameters_read_by_fastapi_are_hashed(self, client: TestClient) -> None:
        form = {"comment": "a b+c"}
        headers = {
            **auth_header(sign("POST", "/submit", body_params=form)),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        response = client.post("/submit", content=urlencode(form), headers=headers)
        assert response.json() == {"client_key": CLIENT_KEY, "comment": "a b+c"}
        tampered = client.post("/submit", content=urlencode({"comment": "x"}), headers=headers)
        assert tampered.status_code == 401

    def test_lifecycle_routes_mount_on_fastapi(self, client: TestClient) -> None:
        assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 204


def test_readme_example() -> None:
    lifecycle = RecordingHandler()
    app = run_example(
        "fastapi", {"__name__": "readme", "authenticator": authenticator(), "lifecycle": lifecycle}
    )["app"]
    client = TestClient(app)
    page = client.get(f"/issue-panel?jwt={sign('GET', '/issue-panel')}")
    assert page.json() == {"tenant": CLIENT_KEY}
    assert client.get("/issue-panel", headers=auth_header(context_token())).status_code == 401
    note = client.post("/api/notes", headers=auth_header(context_token()))
    assert note.json() == {"tenant": CLIENT_KEY}
    assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 204
    assert [call[0] for call in lifecycle.calls] == ["installed"]
