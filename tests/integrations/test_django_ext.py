"""The Django middleware, decorator and lifecycle URLs, through Django's own test client."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import include, path, re_path

import atlassian_jwt
from atlassian_jwt.integrations.django_ext import (
    authenticate_request,
    get_authenticator,
    jwt_exempt,
    lifecycle_urls,
    require_jwt,
)
from tests.integrations.django_settings import configure as configure_django
from tests.integrations.web_helpers import (
    DJANGO_AUTHENTICATOR,
    ESCAPED_FORM,
    MULTIPART_TYPES,
    RAW_TARGETS,
    REJECTED_TOKENS,
    UNSIGNABLE_FORMS,
    BrokenStoreAuthenticator,
    RecordingHandler,
    UnreachableKeysAuthenticator,
    auth_header,
    authenticator,
    context_token,
    multipart,
    rejection_codes,
    sign,
)
from tests.readme import run_example
from tests.support import ACCOUNT, CLIENT_KEY

pytestmark = pytest.mark.extras

configure_django()


def urlconf(patterns: list[Any]) -> type:
    """A URLconf object (hashable, as Django caches resolvers by it)."""
    return type("urls", (), {"urlpatterns": patterns})


def claims_view(request: HttpRequest, **_: Any) -> HttpResponse:
    result = request.atlassian_jwt
    if result is None:
        return JsonResponse({"client_key": None})
    return JsonResponse({"client_key": result.client_key, "sub": result.claims["sub"]})


async def async_claims_view(request: HttpRequest) -> HttpResponse:
    return claims_view(request)


HANDLER = RecordingHandler()
EVENTS: list[tuple[str, atlassian_jwt.AuthResult]] = []

urlpatterns = [
    re_path(r"^p/", require_jwt()(claims_view)),
    path("page", require_jwt()(claims_view)),
    path("context", require_jwt(allow_context_qsh=True)(claims_view)),
    path("form", require_jwt(include_form_body=True)(claims_view)),
    path("form-ignored", require_jwt()(claims_view)),
    path("async", require_jwt()(async_claims_view)),
    path("keys-down", require_jwt(UnreachableKeysAuthenticator({}))(claims_view)),
    path("store-down", require_jwt(BrokenStoreAuthenticator({}))(claims_view)),
    path("open", claims_view),
    path("exempt", jwt_exempt(claims_view)),
    path(
        "lifecycle/",
        include(lifecycle_urls(HANDLER, on_event=lambda *args: EVENTS.append(args))),
    ),
]


@pytest.fixture(autouse=True)
def urls() -> Iterator[None]:
    HANDLER.calls.clear()
    EVENTS.clear()
    DJANGO_AUTHENTICATOR.calls = 0
    with override_settings(ROOT_URLCONF=urlconf(urlpatterns)):
        yield


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def get(client: Client, target: str, token: str | None = None, **extra: Any) -> Any:
    """GET ``target`` as uWSGI or mod_wsgi pass it: the raw URI in ``REQUEST_URI``."""
    headers = auth_header(token) if token else {}
    return client.get(target, headers=headers, REQUEST_URI=target, **extra)


@pytest.mark.parametrize("target", RAW_TARGETS)
def test_the_url_is_hashed_as_received(client: Client, target: str) -> None:
    response = get(client, target, sign("GET", target))
    assert response.status_code == 200
    assert response.json() == {"client_key": CLIENT_KEY, "sub": ACCOUNT}
    assert DJANGO_AUTHENTICATOR.calls == 1  # the middleware's check counts for the decorator


@pytest.mark.parametrize(
    ("received", "signed"),
    [("/p/a%2Fb", "/p/a/b"), ("/p/%7Etilde", "/p/~tilde"), ("/p/x?q=a%2Bb", "/p/x?q=a+b")],
)
def test_a_token_for_the_decoded_url_is_refused(client: Client, received: str, signed: str) -> None:
    assert get(client, received, sign("GET", signed)).status_code == 401


@pytest.mark.parametrize(
    "target", ["/p/caf%C3%A9?name=%C3%A9t%C3%A9", "/p/sp%20ace/?a=&b", "/p/x?q=a+b&r=a%2Bb"]
)
def test_without_a_raw_uri_the_decoded_path_is_reencoded(client: Client, target: str) -> None:
    # wsgiref and runserver give no REQUEST_URI: usual paths still verify...
    assert client.get(target, headers=auth_header(sign("GET", target))).status_code == 200


def test_without_a_raw_uri_an_encoded_slash_fails_closed(client: Client) -> None:
    # ... but an encoded slash cannot be told from a slash, so it is refused, never guessed.
    target = "/p/a%2Fb"
    assert client.get(target, headers=auth_header(sign("GET", target))).status_code == 401


@pytest.mark.parametrize("token", REJECTED_TOKENS.values(), ids=REJECTED_TOKENS.keys())
def test_rejections_answer_a_bare_401_and_log_only_the_code(
    client: Client, token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    response = get(client, "/page", token)
    assert response.status_code == 401
    assert response.content == b"Unauthorized"
    assert response["WWW-Authenticate"] == "JWT"
    [record] = [record for record in caplog.records if record.name.startswith("atlassian_jwt")]
    assert record.getMessage().rsplit(": ", 1)[1] in rejection_codes()
    assert not token or token not in caplog.text


@pytest.mark.parametrize("target", ["/keys-down", "/store-down"])
def test_a_key_fetch_or_store_failure_answers_503(client: Client, target: str) -> None:
    response = get(client, target, sign("GET", target))
    assert response.status_code == 503
    assert response.content == b"Service Unavailable"


def test_context_tokens_only_where_the_view_allows_them(client: Client) -> None:
    assert get(client, "/context", context_token()).status_code == 200
    assert get(client, "/page", context_token()).status_code == 401
    assert get(client, "/open", context_token()).status_code == 401
    assert get(client, "/context", sign("GET", "/context")).status_code == 200


def test_form_fields_are_hashed_when_the_view_says_so(client: Client) -> None:
    form = {"comment": "a b+c", "id": "7"}
    body_token = sign("POST", "/form", body_params=form)

    def post(target: str, data: dict[str, str], token: str) -> int:
        response = client.post(
            target,
            urlencode(data),
            content_type="application/x-www-form-urlencoded",
            headers=auth_header(token),
        )
        status: int = response.status_code
        return status

    # CSRF is enforced by this client: the decorated views are exempt from it.
    assert post("/form", form, body_token) == 200
    assert post("/form", form, sign("POST", "/form")) == 401
    assert post("/form", {**form, "id": "8"}, body_token) == 401
    assert post("/form-ignored", form, sign("POST", "/form-ignored")) == 200


@pytest.mark.parametrize("content_type", MULTIPART_TYPES)
def test_regression_multipart_form_reaches_the_view_unsigned(
    client: Client, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Django parses a multipart body into request.POST too, and no signer hashes it: on a view
    # whose form is signed it is refused, whatever the token.
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    form = {"comment": "a b+c", "id": "7"}
    for token in (sign("POST", "/form"), sign("POST", "/form", body_params=form)):
        response = client.post(
            "/form", multipart(form), content_type=content_type, headers=auth_header(token)
        )
        assert (response.status_code, response["WWW-Authenticate"]) == (401, "JWT")
    # Django's own multipart encoding (the test client's default), with a file, the same
    upload = io.BytesIO(b"file content")
    upload.name = "a.txt"
    response = client.post(
        "/form", {"id": "7", "upload": upload}, headers=auth_header(sign("POST", "/form"))
    )
    assert response.status_code == 401
    assert caplog.text.count(": request_malformed") == 3
    ignored = client.post(
        "/form-ignored",
        multipart(form),
        content_type=content_type,
        headers=auth_header(sign("POST", "/form-ignored")),
    )
    assert ignored.status_code == 200


def test_the_middleware_exposes_an_optional_verified_caller(client: Client) -> None:
    assert get(client, "/open").json() == {"client_key": None}
    assert get(client, "/open", sign("GET", "/open")).json()["client_key"] == CLIENT_KEY
    assert get(client, "/open", sign("GET", "/elsewhere")).status_code == 401
    assert client.get("/open?jwt=forged").status_code == 401
    # a view that verifies its own tokens is left alone
    assert get(client, "/exempt", "anything").json() == {"client_key": None}


def test_async_views_under_asgi() -> None:
    async def run() -> tuple[int, int, Any]:
        client = AsyncClient()
        target = "/async?x=%2F"
        ok = await client.get(target, headers=auth_header(sign("GET", target)))
        bad = await client.get(target, headers=auth_header(sign("GET", "/async?x=%2G")))
        return ok.status_code, bad.status_code, ok.json()

    ok, bad, body = asyncio.run(run())
    assert (ok, bad) == (200, 401)
    assert body["client_key"] == CLIENT_KEY


def mounted(target: str, token_for: str, base_url: str | None = None, **extra: Any) -> int:
    """GET ``target`` of a site whose every path is one view, with a token for ``token_for``."""
    view = require_jwt(authenticator(base_url=base_url))(claims_view)
    with override_settings(ROOT_URLCONF=urlconf([re_path(r"^", view)])):
        response = Client().get(target, headers=auth_header(sign("GET", token_for)), **extra)
    status: int = response.status_code
    return status


#: What a server (mod_wsgi's WSGIScriptAlias, say) passes for /app/p/...: SCRIPT_NAME says the
#: site lives under /app.
UNDER_APP = {"SCRIPT_NAME": "/app", "REQUEST_URI": "/app/p/a%2Fb?x=1"}


def test_regression_mount_point_shortens_hashed_path() -> None:
    # The whole path received is hashed: a token for the path without /app must not open it.
    shortened = mounted("/p/a%2Fb?x=1", "/p/a%2Fb?x=1", **UNDER_APP)
    whole = mounted("/p/a%2Fb?x=1", "/app/p/a%2Fb?x=1", **UNDER_APP)
    assert (shortened, whole) == (401, 200)


def test_a_site_mounted_at_its_base_url() -> None:
    # Atlassian hashes the path relative to the app's base URL: with that base_url, its path
    # comes off, and only it.
    base_url = "https://apps.example.com/app"
    relative = mounted("/p/a%2Fb?x=1", "/p/a%2Fb?x=1", base_url, **UNDER_APP)
    whole = mounted("/p/a%2Fb?x=1", "/app/p/a%2Fb?x=1", base_url, **UNDER_APP)
    assert (relative, whole) == (200, 401)


def test_regression_force_script_name_shortens_hashed_path() -> None:
    # FORCE_SCRIPT_NAME is a setting, not where the request went: a token for /p/x must not
    # open /app/p/x, which the site received (and routes) as /app/p/x.
    target = "/app/p/x?y=1"
    with override_settings(FORCE_SCRIPT_NAME="/app"):
        shortened = mounted(target, "/p/x?y=1", REQUEST_URI=target)
        whole = mounted(target, target, REQUEST_URI=target)
    assert (shortened, whole) == (401, 200)


def test_regression_force_script_name_shortens_hashed_path_under_asgi() -> None:
    # Django 5 removes FORCE_SCRIPT_NAME from the path it routes under ASGI (4.2 does not): one
    # view for every path, so that both route the request.
    async def run() -> tuple[int, int]:
        client = AsyncClient()
        short = await client.get("/app/async", headers=auth_header(sign("GET", "/async")))
        whole = await client.get("/app/async", headers=auth_header(sign("GET", "/app/async")))
        return short.status_code, whole.status_code

    every_path = urlconf([re_path(r"^", require_jwt(authenticator())(async_claims_view))])
    with override_settings(FORCE_SCRIPT_NAME="/app", ROOT_URLCONF=every_path):
        assert asyncio.run(run()) == (401, 200)


def test_force_script_name_behind_a_proxy_that_strips_the_prefix() -> None:
    # The proxy removed /app: the server received /p/x, which Atlassian signed relative to the
    # base URL .../app; FORCE_SCRIPT_NAME only tells Django how to build URLs.
    target = "/p/x?y=1"
    with override_settings(FORCE_SCRIPT_NAME="/app"):
        for extra in ({}, {"REQUEST_URI": target}):  # runserver gives no raw URI
            assert mounted(target, target, **extra) == 200
            assert mounted(target, target, "https://apps.example.com/app", **extra) == 200
            assert mounted(target, "/app" + target, **extra) == 401


def test_regression_force_script_name_changes_the_lifecycle_path(client: Client) -> None:
    # The lifecycle views pass the handler the URL the server received, as the views hash it.
    with override_settings(FORCE_SCRIPT_NAME="/app"):
        response = client.post("/lifecycle/installed", headers={"Authorization": "JWT t"})
    assert response.status_code == 204
    assert [call[2] for call in HANDLER.calls] == ["/lifecycle/installed"]


@pytest.mark.parametrize("event", ["installed", "uninstalled", "enabled", "disabled"])
def test_lifecycle_views_hand_the_raw_request_to_the_handler(client: Client, event: str) -> None:
    body = b'{"clientKey": "x"}'
    target = f"/lifecycle/{event}?a=%2F"

    def post(target: str, **headers: str) -> int:
        status: int = client.post(
            target,
            body,
            content_type="application/json",
            headers=headers,
            REQUEST_URI=target,
        ).status_code
        return status

    # An RS256 install token is not the middleware's business: it reaches the handler.
    assert post(target, Authorization="JWT t") == 204
    assert HANDLER.calls == [(event, "POST", target, "JWT t", body)]
    assert [(name, result.client_key, result.claims) for name, result in EVENTS] == [
        (event, CLIENT_KEY, {})
    ]
    assert post(f"/lifecycle/{event}") == 401
    assert post(f"/lifecycle/{event}", Authorization="JWT keys-down") == 503
    assert post(f"/lifecycle/{event}", Authorization="JWT store-down") == 503
    assert client.get(f"/lifecycle/{event}").status_code == 405
    assert len(EVENTS) == 1  # only the verified callback reached the app


def test_lifecycle_paths_follow_the_descriptor() -> None:
    handler = RecordingHandler()
    urls = urlconf(lifecycle_urls(handler, {"installed": "hooks/install"}))
    with override_settings(ROOT_URLCONF=urls):
        client = Client()
        assert client.post("/hooks/install", headers={"Authorization": "JWT t"}).status_code == 204
        assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 404
    with pytest.raises(ValueError, match="instaled"):
        lifecycle_urls(handler, {"instaled": "hooks/install"})


def test_the_authenticator_comes_from_the_settings() -> None:
    assert get_authenticator() is DJANGO_AUTHENTICATOR
    with override_settings(
        ATLASSIAN_JWT_AUTHENTICATOR="tests.integrations.web_helpers.authenticator"
    ):
        made = get_authenticator()  # a factory is called, once
        assert isinstance(made, atlassian_jwt.Authenticator) and get_authenticator() is made
    with override_settings(ATLASSIAN_JWT_AUTHENTICATOR=None):
        with pytest.raises(ImproperlyConfigured):
            get_authenticator()


def test_form_fields_already_read_by_other_code_are_still_hashed() -> None:
    from django.test import RequestFactory

    form = {"comment": "a b+c", "id": "7"}
    token = sign("POST", "/form", body_params=form)
    request = RequestFactory().post(
        "/form", urlencode(form), "application/x-www-form-urlencoded", headers=auth_header(token)
    )
    assert request.POST["id"] == "7"  # the stream is consumed: request.body is gone
    result = authenticate_request(None, request, include_form_body=True)
    assert result.client_key == CLIENT_KEY


def test_authenticate_request_takes_the_authenticator_then_the_request() -> None:
    from django.test import RequestFactory

    target = "/page?x=1"
    request = RequestFactory().get(target, headers=auth_header(sign("GET", target)))
    assert authenticate_request(authenticator(), request).client_key == CLIENT_KEY
    assert authenticate_request(None, request).client_key == CLIENT_KEY  # from the settings


def test_readme_example() -> None:
    lifecycle = RecordingHandler()
    namespace = run_example("django", {"__name__": "readme", "lifecycle": lifecycle})
    with override_settings(ROOT_URLCONF=urlconf(namespace["urlpatterns"])):
        client = Client(enforce_csrf_checks=True)
        page = client.get(f"/issue-panel?jwt={sign('GET', '/issue-panel')}")
        assert page.content.decode() == f"Hello from {CLIENT_KEY}"
        assert client.get("/issue-panel", headers=auth_header(context_token())).status_code == 401
        note = client.post("/api/notes", headers=auth_header(context_token()))
        assert note.json() == {"tenant": CLIENT_KEY}
        assert client.post("/installed", headers={"Authorization": "JWT t"}).status_code == 204
    assert [call[0] for call in lifecycle.calls] == ["installed"]


@pytest.mark.parametrize(("body", "content_type"), UNSIGNABLE_FORMS)
def test_regression_a_signed_form_body_is_one_text_for_every_reader(
    client: Client, body: bytes, content_type: str
) -> None:
    # Django decodes request.POST by the declared charset, the qsh as UTF-8: a signed form body
    # must be ASCII with UTF-8 escapes, or the view would get fields that were not the signed
    # ones.
    def post(data: bytes, media: str) -> int:
        token = sign("POST", "/form", body_params=data)
        response = client.post("/form", data, content_type=media, headers=auth_header(token))
        status: int = response.status_code
        return status

    assert post(body, content_type) == 401
    assert post(*ESCAPED_FORM) == 200
