"""The Flask helpers, through Flask's own test client."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from typing import Any

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

import atlassian_jwt
from atlassian_jwt.integrations.flask_ext import (
    authenticate_request,
    lifecycle_blueprint,
    require_jwt,
)
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
from tests.support import ACCOUNT, CLIENT_KEY, StoreAuthenticator

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
    assert response.json == {"client_key": CLIENT_KEY, "sub": ACCOUNT}


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


@pytest.mark.parametrize("token", REJECTED_TOKENS.values(), ids=REJECTED_TOKENS.keys())
def test_rejections_answer_a_bare_401_and_log_only_the_code(
    client: FlaskClient, token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    response = client.get("/page", headers=auth_header(token) if token else {})
    assert response.status_code == 401
    assert response.get_data(as_text=True) == "Unauthorized"
    assert response.headers["WWW-Authenticate"] == "JWT"
    [record] = caplog.records
    code = record.getMessage().rsplit(": ", 1)[1]
    assert code in rejection_codes()
    assert (token or "-") not in caplog.text


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


def dispatched(inner: Flask, prefix: str = "/app") -> FlaskClient:
    """A client of ``inner`` mounted at ``prefix`` with werkzeug's ``DispatcherMiddleware``."""
    outer = Flask("outer")
    outer.wsgi_app = DispatcherMiddleware(outer.wsgi_app, {prefix: inner})  # type: ignore[method-assign]
    return outer.test_client()


def without_raw_uri(app: Any) -> Any:
    """``app`` as a server that passes no raw URI (waitress, ``wsgiref``) runs it."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ.pop("RAW_URI", None)
        environ.pop("REQUEST_URI", None)
        result: Iterable[bytes] = app(environ, start_response)
        return result

    return wsgi


def test_regression_mount_point_shortens_hashed_path() -> None:
    # DispatcherMiddleware moves /app into SCRIPT_NAME. The app was reached at /app/p/...:
    # a token for the path without /app (signed for another route) must not open it.
    client = dispatched(make_app())
    target = "/p/a%2Fb?x=1"
    shortened = client.get("/app" + target, headers=auth_header(sign("GET", target)))
    whole = client.get("/app" + target, headers=auth_header(sign("GET", "/app" + target)))
    assert (shortened.status_code, whole.status_code) == (401, 200)


def test_an_app_mounted_at_its_base_url() -> None:
    # Atlassian hashes the path relative to the app's base URL (https://apps.example.com/app):
    # with that base_url, its path comes off, and only it.
    client = dispatched(make_app(authenticator(base_url="https://apps.example.com/app")))
    target = "/p/a%2Fb?x=1"
    relative = client.get("/app" + target, headers=auth_header(sign("GET", target)))
    whole = client.get("/app" + target, headers=auth_header(sign("GET", "/app" + target)))
    assert (relative.status_code, whole.status_code) == (200, 401)


def forwarded(target: str, prefix: str, token_for: str, base_url: str | None = None) -> int:
    """GET ``target`` behind ProxyFix(x_prefix=1), with X-Forwarded-Prefix: ``prefix``."""
    app = make_app(authenticator(base_url=base_url))
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    headers = {**auth_header(sign("GET", token_for)), "X-Forwarded-Prefix": prefix}
    status: int = app.test_client().get(target, headers=headers).status_code
    return status


@pytest.mark.parametrize(
    ("target", "prefix", "shortened"),
    [("/page", "/page", "/"), ("/p/a%2Fb?x=1", "/p", "/a%2Fb?x=1")],
)
def test_regression_forwarded_prefix_shortens_hashed_path(
    target: str, prefix: str, shortened: str
) -> None:
    # Flask's documented set-up behind a proxy: ProxyFix(x_prefix=1) sets SCRIPT_NAME from
    # X-Forwarded-Prefix, which a client can send. One token for GET / must not open /page.
    forged = forwarded(target, prefix, shortened)
    genuine = forwarded(target, prefix, target)
    assert (forged, genuine) == (401, 200)


def test_a_forwarded_prefix_changes_nothing_with_a_base_url() -> None:
    base_url = "https://apps.example.com/app"
    assert forwarded("/page", "/page", "/", base_url) == 401
    assert forwarded("/page", "/app", "/page", base_url) == 200  # the proxy removed /app


def test_without_a_raw_uri_the_path_is_script_name_and_path_info() -> None:
    client = dispatched(make_app())
    client.application.wsgi_app = without_raw_uri(client.application.wsgi_app)  # type: ignore[method-assign]
    target = "/app/p/x?y=1"
    assert client.get(target, headers=auth_header(sign("GET", target))).status_code == 200
    assert client.get(target, headers=auth_header(sign("GET", "/p/x?y=1"))).status_code == 401


def test_without_a_raw_uri_a_script_name_from_a_header_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Then SCRIPT_NAME is all that tells the path, and ProxyFix took it from the request: the
    # path received cannot be known, so nothing is accepted (a token for /a/page, say).
    app = make_app()
    app.wsgi_app = without_raw_uri(ProxyFix(app.wsgi_app, x_prefix=1))  # type: ignore[method-assign]
    client = app.test_client()
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    hostile = {"X-Forwarded-Prefix": "/a"}
    for signed in ("/a/page", "/page"):
        response = client.get("/page", headers={**auth_header(sign("GET", signed)), **hostile})
        assert response.status_code == 401
    assert caplog.text.count(": request_malformed") == 2
    # without the header, ProxyFix leaves SCRIPT_NAME alone
    assert client.get("/page", headers=auth_header(sign("GET", "/page"))).status_code == 200


def test_a_base_url_without_a_path_keeps_the_mount_point_in_the_hash() -> None:
    # The descriptor's baseUrl is the host's root and the app's URLs include /app.
    inner = make_app(authenticator(base_url="https://apps.example.com"))
    outer = Flask("outer")
    outer.wsgi_app = DispatcherMiddleware(outer.wsgi_app, {"/app": inner})  # type: ignore[method-assign]
    token = sign("GET", "/app/page")
    assert outer.test_client().get("/app/page", headers=auth_header(token)).status_code == 200


@pytest.mark.parametrize("content_type", MULTIPART_TYPES)
def test_regression_multipart_form_reaches_the_view_unsigned(
    client: FlaskClient, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A route that asked for its form to be signed: werkzeug parses a multipart body into
    # request.form too, and no signer hashes it. Neither a token for the bare request nor one
    # for the fields as a urlencoded form lets it through.
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    form = {"comment": "a b+c", "id": "7"}
    for token in (sign("POST", "/form"), sign("POST", "/form", body_params=form)):
        response = client.post(
            "/form", data=multipart(form), content_type=content_type, headers=auth_header(token)
        )
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "JWT"
    # werkzeug's own multipart encoding, with a file, the same
    files = {"id": "7", "upload": (io.BytesIO(b"file content"), "a.txt")}
    token = sign("POST", "/form")
    assert client.post("/form", data=files, headers=auth_header(token)).status_code == 401
    assert caplog.text.count(": request_malformed") == 3
    # a route that did not opt in does not hash its body, whatever it is
    ignored = client.post(
        "/form-ignored",
        data=multipart(form),
        content_type=content_type,
        headers=auth_header(sign("POST", "/form-ignored")),
    )
    assert ignored.status_code == 200


def test_a_body_that_is_no_form_is_not_hashed_on_a_form_route(client: FlaskClient) -> None:
    token = sign("POST", "/form")
    response = client.post("/form", json={"id": "7"}, headers=auth_header(token))
    assert response.status_code == 200


def test_authenticate_request_takes_the_authenticator_then_the_request() -> None:
    app = make_app()
    target = "/page?x=1"
    with app.test_request_context(target, headers=auth_header(sign("GET", target))):
        assert authenticate_request(authenticator()).client_key == CLIENT_KEY
        assert authenticate_request(authenticator(), request).client_key == CLIENT_KEY


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


def test_lifecycle_routes_get_the_whole_path_under_a_mount() -> None:
    # The same invariant as authenticate_request: the handler's authenticators remove the
    # app's base path, nothing else does; a forwarded prefix changes nothing.
    handler = RecordingHandler()
    inner = Flask(__name__)
    inner.register_blueprint(lifecycle_blueprint(handler))
    inner.wsgi_app = ProxyFix(inner.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    client = dispatched(inner)
    headers = {"Authorization": "JWT t", "X-Forwarded-Prefix": "/app/installed"}
    assert client.post("/app/installed?a=%2F", headers=headers).status_code == 204
    assert [call[2] for call in handler.calls] == ["/app/installed?a=%2F"]


def test_a_lifecycle_request_whose_path_cannot_be_known_is_a_401() -> None:
    handler = RecordingHandler()
    app = Flask(__name__)
    app.register_blueprint(lifecycle_blueprint(handler))
    client = app.test_client()
    headers = {"Authorization": "JWT t"}
    not_utf8 = client.post("/installed", headers=headers, environ_overrides={"RAW_URI": "/\xff"})
    app.wsgi_app = without_raw_uri(ProxyFix(app.wsgi_app, x_prefix=1))  # type: ignore[method-assign]
    forwarded = client.post("/installed", headers={**headers, "X-Forwarded-Prefix": "/a"})
    assert (not_utf8.status_code, forwarded.status_code) == (401, 401)
    assert handler.calls == []


def test_lifecycle_paths_follow_the_descriptor() -> None:
    handler = RecordingHandler()
    app = Flask(__name__)
    app.register_blueprint(lifecycle_blueprint(handler, paths={"installed": "/hooks/install"}))
    client = app.test_client()
    assert client.post("/hooks/install", headers={"Authorization": "JWT t"}).status_code == 204
    assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 404
    with pytest.raises(ValueError, match="instaled"):
        lifecycle_blueprint(handler, paths={"instaled": "/hooks/install"})
    # Positional, as Django's lifecycle_urls and Starlette's lifecycle_routes take it.
    other = Flask(__name__)
    other.register_blueprint(lifecycle_blueprint(handler, {"uninstalled": "/hooks/gone"}))
    gone = other.test_client().post("/hooks/gone", headers={"Authorization": "JWT t"})
    assert gone.status_code == 204


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


def test_an_authenticator_with_its_own_token_hook_is_given_every_header() -> None:
    # The helper hands a plain Authenticator only the Authorization header; one that overrides
    # 3.0.0's _get_token hook reads the token where it chooses, so it is given all of them.
    client = make_app(header_hook_authenticator()).test_client()
    token = sign("GET", "/page")
    response = client.get("/page", headers={"X-Atlassian-Token": token})
    assert response.status_code == 200
    assert response.json == {"client_key": CLIENT_KEY, "sub": ACCOUNT}
    assert client.get("/page", headers=auth_header(token)).status_code == 401


@pytest.mark.parametrize(("body", "content_type"), UNSIGNABLE_FORMS)
def test_regression_a_signed_form_body_is_one_text_for_every_reader(
    client: FlaskClient, body: bytes, content_type: str
) -> None:
    # The qsh reads a form body as UTF-8; a framework may read other bytes otherwise, and the
    # view would get fields that were not the signed ones: such a body is refused.
    def post(data: bytes, media: str) -> int:
        headers = auth_header(sign("POST", "/form", body_params=data))
        response = client.post("/form", data=data, content_type=media, headers=headers)
        status: int = response.status_code
        return status

    assert post(body, content_type) == 401
    assert post(*ESCAPED_FORM) == 200
