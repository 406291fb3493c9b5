"""The Starlette/FastAPI dependency and lifecycle routes, through Starlette's own TestClient."""

from __future__ import annotations

import asyncio
import logging
import threading
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
    authenticate_request,
    lifecycle_routes,
    require_jwt,
)
from atlassian_jwt.tenants import MemoryTenantStore, SQLiteTenantStore, TenantStoreAuthenticator
from tests.integrations.web_helpers import (
    ESCAPED_FORM,
    MULTIPART_TYPES,
    RAW_TARGETS,
    REJECTED_TOKENS,
    UNAVAILABLE,
    UNSIGNABLE_FORMS,
    RecordingHandler,
    auth_header,
    authenticator,
    context_token,
    header_hook_authenticator,
    multipart,
    rejection_codes,
    sign,
)
from tests.readme import run_example
from tests.support import ACCOUNT, APP_KEY, CLIENT_KEY, SECRET, StoreAuthenticator

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
    assert response.json() == {"client_key": CLIENT_KEY, "sub": ACCOUNT}


@pytest.mark.parametrize(
    ("received", "signed"),
    [("/p/a%2Fb", "/p/a/b"), ("/p/%7Etilde", "/p/~tilde"), ("/p/x?q=a%2Bb", "/p/x?q=a+b")],
)
def test_a_token_for_the_decoded_url_is_refused(
    client: TestClient, received: str, signed: str
) -> None:
    assert client.get(received, headers=auth_header(sign("GET", signed))).status_code == 401


@pytest.mark.parametrize("token", REJECTED_TOKENS.values(), ids=REJECTED_TOKENS.keys())
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


def test_regression_mount_point_shortens_hashed_path() -> None:
    # Mount("/admin", ...) puts /admin in root_path. The app was reached at /admin/page: a
    # token for /page (another route of the same app) must not open it.
    client = TestClient(Starlette(routes=[Mount("/admin", app=make_app())]))
    target = "/p/a%2Fb?x=1"
    shortened = client.get("/admin" + target, headers=auth_header(sign("GET", target)))
    whole = client.get("/admin" + target, headers=auth_header(sign("GET", "/admin" + target)))
    assert (shortened.status_code, whole.status_code) == (401, 200)


def test_an_app_mounted_at_its_base_url() -> None:
    # Atlassian hashes the path relative to the app's base URL (https://apps.example.com/app):
    # with that base_url, its path comes off, and only it.
    inner = make_app(authenticator(base_url="https://apps.example.com/app"))
    client = TestClient(Starlette(routes=[Mount("/app", app=inner)]))
    target = "/p/a%2Fb?x=1"
    relative = client.get("/app" + target, headers=auth_header(sign("GET", target)))
    whole = client.get("/app" + target, headers=auth_header(sign("GET", "/app" + target)))
    assert (relative.status_code, whole.status_code) == (200, 401)


def test_a_root_path_set_by_the_server_behind_a_proxy() -> None:
    # A server that announces a root_path but gives the path as received: what it received is
    # hashed. (uvicorn's --root-path also puts the prefix in raw_path: then set base_url.)
    client = TestClient(make_app(), root_path="/app")
    target = "/page?x=1"
    assert client.get(target, headers=auth_header(sign("GET", target))).status_code == 200
    assert client.get(target, headers=auth_header(sign("GET", "/app" + target))).status_code == 401


def post_multipart(client: TestClient, target: str, token: str, content_type: str) -> int:
    form = {"comment": "a b+c"}
    headers = {**auth_header(token), "Content-Type": content_type}
    status: int = client.post(target, content=multipart(form), headers=headers).status_code
    return status


@pytest.mark.parametrize("content_type", MULTIPART_TYPES)
def test_regression_multipart_form_reaches_the_view_unsigned(
    client: TestClient, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    # On a route that asked for its form to be signed, a multipart body (which request.form()
    # parses too, unsigned) is refused, whatever the token.
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    for token in (sign("POST", "/form"), sign("POST", "/form", body_params={"comment": "a b+c"})):
        assert post_multipart(client, "/form", token, content_type) == 401
    assert caplog.text.count(": request_malformed") == 2
    token = sign("POST", "/form-ignored")
    assert post_multipart(client, "/form-ignored", token, content_type) == 200


def test_authenticate_request_takes_the_authenticator_then_the_request() -> None:
    target = "/page?x=1"
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/page",
        "raw_path": b"/page",
        "query_string": b"x=1",
        "headers": [(b"authorization", f"JWT {sign('GET', target)}".encode())],
    }
    result = asyncio.run(authenticate_request(authenticator(), Request(scope)))
    assert result.client_key == CLIENT_KEY


class ThreadRecordingAuthenticator(StoreAuthenticator):
    """Records the thread each secret is looked up in."""

    def __init__(self, *, lookup_blocks: bool) -> None:
        super().__init__({CLIENT_KEY: {"sharedSecret": SECRET}})
        self.lookup_blocks = lookup_blocks
        self.threads: list[int] = []

    def get_shared_secret(self, client_key: str) -> str | None:
        self.threads.append(threading.get_ident())
        return super().get_shared_secret(client_key)


def _authenticated_in(auth: atlassian_jwt.Authenticator) -> tuple[int, int]:
    """Verify a request through the helper; return the event loop's thread and the result's."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/page",
        "raw_path": b"/page",
        "query_string": b"",
        "headers": [(b"host", b"app"), (b"authorization", f"JWT {sign('GET', '/page')}".encode())],
    }

    async def verify() -> int:
        result = await authenticate_request(auth, Request(scope))
        assert result.client_key == CLIENT_KEY
        return threading.get_ident()

    return asyncio.run(verify()), threading.get_ident()


def test_a_lookup_that_may_block_runs_in_a_worker_thread() -> None:
    auth = ThreadRecordingAuthenticator(lookup_blocks=True)
    loop_thread, _ = _authenticated_in(auth)
    assert auth.threads and auth.threads[0] != loop_thread


def test_an_in_memory_lookup_runs_inline_in_the_event_loop() -> None:
    auth = ThreadRecordingAuthenticator(lookup_blocks=False)
    loop_thread, _ = _authenticated_in(auth)
    assert auth.threads == [loop_thread]


def test_a_memory_store_is_looked_up_inline_any_other_store_in_a_thread(tmp_path: Any) -> None:
    tenant = {"key": APP_KEY, "clientKey": CLIENT_KEY, "sharedSecret": SECRET}
    memory = MemoryTenantStore()
    sqlite = SQLiteTenantStore(str(tmp_path / "tenants.db"), app_key=APP_KEY)
    for store in (memory, sqlite):
        store.save(tenant)
    assert TenantStoreAuthenticator(memory).lookup_blocks is False
    assert TenantStoreAuthenticator(sqlite).lookup_blocks is True
    # The default, for an Authenticator that says nothing: its lookup may block.
    assert StoreAuthenticator({}).lookup_blocks is True
    calls: list[int] = []
    for store in (memory, sqlite):
        auth = TenantStoreAuthenticator(store)
        original = store.get

        def get(client_key: str, original: Any = original) -> Any:
            calls.append(threading.get_ident())
            return original(client_key)

        store.get = get  # type: ignore[method-assign]
        loop_thread, _ = _authenticated_in(auth)
        assert (calls[-1] == loop_thread) is (store is memory)


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
    with pytest.raises(ValueError, match="instaled"):
        lifecycle_routes(handler, {"instaled": "/hooks/install"})


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

    @pytest.mark.parametrize("content_type", MULTIPART_TYPES)
    def test_regression_multipart_form_reaches_the_view_unsigned(
        self, client: TestClient, content_type: str
    ) -> None:
        # FastAPI's Form() reads a multipart body as readily as a urlencoded one: on a route
        # whose form is signed, it never reaches the view.
        for token in (
            sign("POST", "/submit"),
            sign("POST", "/submit", body_params={"comment": "a b+c"}),
        ):
            assert post_multipart(client, "/submit", token, content_type) == 401

    def test_lifecycle_routes_mount_on_fastapi(self, client: TestClient) -> None:
        assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 204


def fastapi_mounted(base_url: str | None) -> tuple[int, int]:
    """GET /admin/settings of a FastAPI app under app.mount("/admin"), with a token for
    /settings and one for /admin/settings."""
    auth = authenticator(base_url=base_url)
    sub = FastAPI()

    @sub.get("/settings")
    async def settings(jwt: AuthResult = Depends(require_jwt(auth))) -> dict[str, Any]:  # noqa: B008
        return {"client_key": jwt.client_key}

    app = FastAPI()
    app.mount("/admin", sub)
    client = TestClient(app)
    short = client.get("/admin/settings", headers=auth_header(sign("GET", "/settings")))
    whole = client.get("/admin/settings", headers=auth_header(sign("GET", "/admin/settings")))
    return short.status_code, whole.status_code


def test_regression_fastapi_mount_shortens_hashed_path() -> None:
    # A token Atlassian signed for /settings must not open /admin/settings, and the genuine
    # token for /admin/settings must open it.
    assert fastapi_mounted(None) == (401, 200)


def test_a_fastapi_app_mounted_at_its_base_url() -> None:
    # With the base URL the app was described with (.../admin), Atlassian signs /settings.
    assert fastapi_mounted("https://apps.example.com/admin") == (200, 401)


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


def test_an_authenticator_with_its_own_token_hook_is_given_every_header() -> None:
    # The helper hands a plain Authenticator only the Authorization headers; one that overrides
    # 3.0.0's _get_token hook reads the token where it chooses, so it is given all of them.
    client = TestClient(make_app(header_hook_authenticator()))
    token = sign("GET", "/page")
    response = client.get("/page", headers={"X-Atlassian-Token": token})
    assert response.status_code == 200
    assert response.json()["client_key"] == CLIENT_KEY
    assert client.get("/page", headers=auth_header(token)).status_code == 401


@pytest.mark.parametrize(("body", "content_type"), UNSIGNABLE_FORMS)
def test_regression_a_signed_form_body_is_one_text_for_every_reader(
    client: TestClient, body: bytes, content_type: str
) -> None:
    # Starlette reads raw bytes as latin-1 where the qsh reads UTF-8: a signed form body must
    # be ASCII with UTF-8 escapes, or the view would get fields that were not the signed ones.
    def post(data: bytes, media: str) -> int:
        token = sign("POST", "/form", body_params=data)
        headers = {**auth_header(token), "Content-Type": media}
        status: int = client.post("/form", content=data, headers=headers).status_code
        return status

    assert post(body, content_type) == 401
    assert post(*ESCAPED_FORM) == 200
