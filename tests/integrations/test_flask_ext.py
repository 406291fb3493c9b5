"""The Flask helpers, through Flask's own test client."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import atlassian_jwt
from atlassian_jwt.integrations.flask_ext import (
    lifecycle_blueprint,
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


def make_app(auth: atlassian_jwt.Authenticator | None = None) -> Flask:
    auth = auth or authenticator()
    app = Flask(__name__)

    def claims_view(**_: Any) -> dict[str, Any]:
        client_key, claims = g.atlassian_jwt
        return {"client_key": client_key, "sub": claims["sub"]}

    app.add_url_rule("/p/<path:rest>", "page", require_jwt(auth)(claims_view))
    app.add_url_rule("/page", "plain", require_jwt(auth)(claims_view))
    app.add_url_rule("/context", "context", require_jwt(auth, allow_context_qsh=True)(claims_view))
    app.add_url_rule(
        "/form",
        "form",
        require_jwt(auth, include_form_body=True)(claims_view),
        methods=["POST"],
    )
    app.add_url_rule(
        "/form-ignored", "form_ignored", require_jwt(auth)(claims_view), methods=["POST"]
    )
    return app


@pytest.fixture
def client() -> FlaskClient:
    return make_app().test_client()


@pytest.mark.parametrize("target", RAW_TARGETS)
def test_the_url_is_hashed_as_received(client: FlaskClient, target: str) -> None:
    response = client.get(target, headers=auth_header(sign("GET", target)))
    assert response.status_code == 200
    assert response.json == {"client_key": CLIENT_KEY, "sub": "account-id-1"}


@pytest.mark.parametrize(
    ("received", "signed"),
    [
        ("/p/a%2Fb", "/p/a/b"),  # what the decoded path would give
        ("/p/%7Etilde", "/p/~tilde"),
        ("/p/x?q=a%2Bb", "/p/x?q=a+b"),
    ],
)
def test_a_token_for_the_decoded_url_is_refused(
    client: FlaskClient, received: str, signed: str
) -> None:
    response = client.get(received, headers=auth_header(sign("GET", signed)))
    assert response.status_code == 401


def test_the_token_may_come_in_the_query(client: FlaskClient) -> None:
    token = sign("GET", "/page?lic=none")
    assert client.get(f"/page?lic=none&jwt={token}").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth_header(sign("GET", "/other")),  # a wrong qsh
        auth_header(sign("POST", "/page")),  # another method
        auth_header(sign("GET", "/page", secret="x" * 64)),  # another secret
        auth_header(sign("GET", "/page", lifetime=-3600)),  # expired
        auth_header(context_token()),  # a context token where none is allowed
        {"Authorization": "JWT not-a-token"},
    ],
    ids=["none", "qsh", "method", "secret", "expired", "context", "garbage"],
)
def test_rejections_answer_a_bare_401_and_log_only_the_code(
    client: FlaskClient, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    response = client.get("/page", headers=headers)
    assert response.status_code == 401
    assert response.get_data(as_text=True) == "Unauthorized"
    assert response.headers["WWW-Authenticate"] == "JWT"
    [record] = caplog.records
    code = record.getMessage().rsplit(": ", 1)[1]
    assert code in rejection_codes()
    token = headers.get("Authorization", "JWT -").split()[1]
    assert token not in caplog.text


@pytest.mark.parametrize("unavailable", UNAVAILABLE)
def test_a_key_fetch_or_store_failure_answers_503(
    unavailable: type[StoreAuthenticator],
) -> None:
    client = make_app(unavailable({})).test_client()
    response = client.get("/page", headers=auth_header(sign("GET", "/page")))
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "Service Unavailable"


def test_context_tokens_only_where_the_route_allows_them(client: FlaskClient) -> None:
    headers = auth_header(context_token())
    assert client.get("/context", headers=headers).status_code == 200
    assert client.get("/page", headers=headers).status_code == 401
    # the opt-in route still takes request-bound tokens
    assert client.get("/context", headers=auth_header(sign("GET", "/context"))).status_code == 200


def test_form_fields_are_hashed_when_the_route_says_so(client: FlaskClient) -> None:
    form = {"comment": "a b+c", "id": "7"}
    body_token = sign("POST", "/form", body_params=form)
    plain_token = sign("POST", "/form")
    assert client.post("/form", data=form, headers=auth_header(body_token)).status_code == 200
    assert client.post("/form", data=form, headers=auth_header(plain_token)).status_code == 401
    tampered = {**form, "id": "8"}
    assert client.post("/form", data=tampered, headers=auth_header(body_token)).status_code == 401
    # without the opt-in the body is not part of the qsh
    plain = auth_header(sign("POST", "/form-ignored"))
    ignored = client.post("/form-ignored", data=form, headers=plain)
    assert ignored.status_code == 200


def test_form_fields_already_parsed_by_a_hook_are_still_hashed() -> None:
    app = make_app()

    @app.before_request
    def read_form() -> None:
        assert request.form["comment"] == "a b+c"

    form = {"comment": "a b+c"}
    token = sign("POST", "/form", body_params=form)
    response = app.test_client().post("/form", data=form, headers=auth_header(token))
    assert response.status_code == 200


def test_a_form_field_named_jwt_carries_the_token_only_with_the_opt_in(
    client: FlaskClient,
) -> None:
    token = sign("POST", "/form", body_params={"id": "7"})
    assert client.post("/form", data={"id": "7", "jwt": token}).status_code == 200


@pytest.mark.parametrize("with_base_url", [False, True])
def test_an_app_mounted_under_a_prefix(with_base_url: bool) -> None:
    # Atlassian hashes the path relative to the app's base URL (https://apps.example.com/app):
    # the mount point comes off, from SCRIPT_NAME or from the Authenticator's base_url.
    base = {"base_url": "https://apps.example.com/app"} if with_base_url else {}
    inner = make_app(authenticator(**base))
    outer = Flask("outer")
    outer.wsgi_app = DispatcherMiddleware(outer.wsgi_app, {"/app": inner})  # type: ignore[method-assign]
    client = outer.test_client()
    target = "/p/a%2Fb?x=1"
    ok = client.get("/app" + target, headers=auth_header(sign("GET", target)))
    assert ok.status_code == 200
    prefixed = auth_header(sign("GET", "/app" + target))
    assert client.get("/app" + target, headers=prefixed).status_code == 401


def test_a_base_url_without_a_path_keeps_the_mount_point_in_the_hash() -> None:
    # The descriptor's baseUrl is the host's root and the app's URLs include /app.
    inner = make_app(authenticator(base_url="https://apps.example.com"))
    outer = Flask("outer")
    outer.wsgi_app = DispatcherMiddleware(outer.wsgi_app, {"/app": inner})  # type: ignore[method-assign]
    token = sign("GET", "/app/page")
    assert outer.test_client().get("/app/page", headers=auth_header(token)).status_code == 200


@pytest.mark.parametrize("event", ["installed", "uninstalled", "enabled", "disabled"])
def test_lifecycle_routes_hand_the_raw_request_to_the_handler(event: str) -> None:
    handler = RecordingHandler()
    app = Flask(__name__)
    events: list[tuple[str, atlassian_jwt.AuthResult]] = []
    blueprint = lifecycle_blueprint(
        handler, url_prefix="/lifecycle", on_event=lambda *args: events.append(args)
    )
    app.register_blueprint(blueprint)
    client = app.test_client()
    body = b'{"clientKey": "x"}'
    response = client.post(
        f"/lifecycle/{event}?a=%2F", data=body, headers={"Authorization": "JWT t"}
    )
    assert response.status_code == 204
    assert handler.calls == [(event, "POST", f"/lifecycle/{event}?a=%2F", "JWT t", body)]
    assert [(name, result.client_key, result.claims) for name, result in events] == [
        (event, CLIENT_KEY, {})
    ]
    assert client.post(f"/lifecycle/{event}", data=body).status_code == 401
    for down in ("JWT keys-down", "JWT store-down"):
        response = client.post(f"/lifecycle/{event}", data=body, headers={"Authorization": down})
        assert response.status_code == 503
    assert client.get(f"/lifecycle/{event}").status_code == 405
    assert len(events) == 1  # only the verified callback reached the app


def test_lifecycle_paths_follow_the_descriptor() -> None:
    handler = RecordingHandler()
    app = Flask(__name__)
    app.register_blueprint(lifecycle_blueprint(handler, paths={"installed": "/hooks/install"}))
    client = app.test_client()
    assert client.post("/hooks/install", headers={"Authorization": "JWT t"}).status_code == 204
    assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 404


def test_readme_example() -> None:
    lifecycle = RecordingHandler()
    app = run_example(
        "flask", {"__name__": "readme", "authenticator": authenticator(), "lifecycle": lifecycle}
    )["app"]
    client = app.test_client()
    page = client.get(f"/issue-panel?jwt={sign('GET', '/issue-panel')}")
    assert page.get_data(as_text=True) == f"Hello from {CLIENT_KEY}"
    assert client.get("/issue-panel", headers=auth_header(context_token())).status_code == 401
    note = client.post("/api/notes", headers=auth_header(context_token()))
    assert note.json == {"tenant": CLIENT_KEY}
    assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 204
    assert [call[0] for call in lifecycle.calls] == ["installed"]
