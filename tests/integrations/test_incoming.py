"""What the framework helpers share, without any framework installed: the request target as
received (WSGI and ASGI), the form rule, the answers to failures, the lifecycle routes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import atlassian_jwt
from atlassian_jwt.integrations._incoming import (
    FAILURES,
    FailureResponse,
    asgi_target,
    failure_response,
    lifecycle_paths,
    run_lifecycle_callback,
    should_hash_form,
    wsgi_target,
)
from atlassian_jwt.lifecycle import LIFECYCLE_EVENTS
from atlassian_jwt.tenants import TenantStoreError
from atlassian_jwt.url_utils import is_form, split_url
from tests.support import CLIENT_KEY


def wsgi(raw: str) -> str:
    """A string as a WSGI server puts bytes in the environ (PEP 3333: latin-1)."""
    return raw.encode("utf-8").decode("latin-1")


@pytest.mark.parametrize("key", ["RAW_URI", "REQUEST_URI"])
def test_wsgi_prefers_the_raw_uri(key: str) -> None:
    environ = {key: "/p/a%2Fb?x=a+b", "PATH_INFO": "/p/a/b", "QUERY_STRING": "x=a+b"}
    assert wsgi_target(environ) == "/p/a%2Fb?x=a+b"


def test_wsgi_raw_uri_in_absolute_form_keeps_path_and_query() -> None:
    assert wsgi_target({"RAW_URI": "http://app.example.com/p/x?y=1"}) == "/p/x?y=1"


def test_wsgi_raw_uri_with_raw_utf8_bytes_is_read_as_utf8() -> None:
    assert wsgi_target({"RAW_URI": wsgi("/p/café?n=été")}) == "/p/café?n=été"


@given(raw=st.text(st.sampled_from("/?#%:ab\u00e9"), min_size=1, max_size=12))
@example(raw="/p?")
@example(raw="/p?#x")
def test_wsgi_usual_targets_are_taken_as_the_steps_would_give_them(raw: str) -> None:
    # The shortcut for an ASCII target starting with "/" gives what the steps give: the
    # target read as UTF-8, split into path and query, and joined again.
    path, query = split_url(raw)
    assert wsgi_target({"RAW_URI": wsgi(raw)}) == (f"{path}?{query}" if query else path)


def test_wsgi_raw_uri_that_is_not_utf8_is_a_rejection() -> None:
    with pytest.raises(atlassian_jwt.MalformedRequestError):
        wsgi_target({"RAW_URI": "/p/\xff"})


@pytest.mark.parametrize(
    ("path_info", "query", "expected"),
    [
        ("/p/x", "a=1", "/p/x?a=1"),
        (wsgi("/p/café"), "n=%C3%A9", "/p/caf%C3%A9?n=%C3%A9"),  # re-encoded as UTF-8
        ("/p/sp ace/", "", "/p/sp%20ace/"),
        ("/p/semi;p=1/a:b@c", "q=a+b", "/p/semi;p=1/a:b@c?q=a+b"),  # pchars stay
        ("/p/100%", "", "/p/100%25"),
    ],
)
def test_wsgi_without_a_raw_uri_reencodes_the_decoded_path(
    path_info: str, query: str, expected: str
) -> None:
    environ = {"SCRIPT_NAME": "", "PATH_INFO": path_info, "QUERY_STRING": query}
    assert wsgi_target(environ) == expected


def test_wsgi_without_a_raw_uri_includes_the_script_name() -> None:
    environ = {"SCRIPT_NAME": "/app", "PATH_INFO": "/p", "QUERY_STRING": ""}
    assert wsgi_target(environ) == "/app/p"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"raw_path": b"/p/a%2Fb", "path": "/p/a/b", "query_string": b"x=1"}, "/p/a%2Fb?x=1"),
        ({"raw_path": b"/p/x?dup=1", "path": "/p/x", "query_string": b"q=2"}, "/p/x?q=2"),
        ({"raw_path": None, "path": "/p/café", "query_string": b""}, "/p/caf%C3%A9"),
        ({"path": "/p/sp ace", "query_string": b"a=%20"}, "/p/sp%20ace?a=%20"),
        ({"raw_path": "/p/café".encode(), "path": "/p/café"}, "/p/café"),
    ],
)
def test_asgi_uses_raw_path_and_query_string(scope: dict[str, Any], expected: str) -> None:
    assert asgi_target(scope) == expected


@pytest.mark.parametrize("key", ["RAW_URI", "REQUEST_URI"])
def test_wsgi_keeps_the_mount_point_the_raw_uri_includes(key: str) -> None:
    # DispatcherMiddleware, mod_wsgi's WSGIScriptAlias or ProxyFix put /app in SCRIPT_NAME;
    # what the server received is still /app/p.
    environ = {key: "/app/p?x=1", "SCRIPT_NAME": "/app", "PATH_INFO": "/p", "QUERY_STRING": "x=1"}
    assert wsgi_target(environ) == "/app/p?x=1"


def proxy_fixed(script_name: str, prefix: str | None, original: str | None = "") -> dict[str, Any]:
    """An environ without a raw URI, after werkzeug's ProxyFix (``original`` its SCRIPT_NAME)."""
    environ: dict[str, Any] = {
        "SCRIPT_NAME": script_name,
        "PATH_INFO": "/page",
        "QUERY_STRING": "",
        "werkzeug.proxy_fix.orig": {"SCRIPT_NAME": original},
    }
    if prefix is not None:
        environ["HTTP_X_FORWARDED_PREFIX"] = prefix
    return environ


@pytest.mark.parametrize(
    "environ",
    [
        proxy_fixed("/a", "/a"),  # ProxyFix(x_prefix=1) took SCRIPT_NAME from the header
        proxy_fixed("/a/app", "/a"),  # ... and a DispatcherMiddleware inside it added /app
        proxy_fixed("/a", "/a", original=None),  # the server set no SCRIPT_NAME at all
    ],
)
def test_without_a_raw_uri_a_script_name_from_a_header_is_a_rejection(
    environ: dict[str, Any],
) -> None:
    with pytest.raises(atlassian_jwt.MalformedRequestError):
        wsgi_target(environ)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (proxy_fixed("", "/a"), "/page"),  # ProxyFix without x_prefix left SCRIPT_NAME alone
        (proxy_fixed("/srv", "/a", original="/srv"), "/srv/page"),
        (proxy_fixed("/a", None), "/a/page"),  # no header: SCRIPT_NAME came from elsewhere
        ({**proxy_fixed("/a", "/a"), "RAW_URI": "/page"}, "/page"),  # the raw URI decides
    ],
)
def test_a_script_name_that_no_header_set_is_part_of_the_path(
    environ: dict[str, Any], expected: str
) -> None:
    assert wsgi_target(environ) == expected


def test_asgi_keeps_the_root_path_raw_path_includes() -> None:
    # A Starlette Mount or FastAPI's app.mount only add to root_path.
    scope = {"raw_path": b"/app/p", "path": "/app/p", "root_path": "/app", "query_string": b""}
    assert asgi_target(scope) == "/app/p"
    assert asgi_target({**scope, "raw_path": None}) == "/app/p"


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/x-www-form-urlencoded", True),
        ("Application/X-WWW-Form-Urlencoded; charset=UTF-8", True),
        ("multipart/form-data; boundary=x", False),
        ("application/json", False),
        (None, False),
        ("", False),
    ],
)
def test_is_form(content_type: str | None, expected: bool) -> None:
    assert is_form(content_type) is expected


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/x-www-form-urlencoded", True),
        ("Application/X-WWW-Form-Urlencoded; charset=UTF-8", True),
        ("application/json", False),
        ("text/plain", False),
        (None, False),
        ("", False),
    ],
)
def test_should_hash_form(content_type: str | None, expected: bool) -> None:
    assert should_hash_form(content_type) is expected


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", " Multipart/Form-Data ;boundary=x", "multipart/mixed"],
)
def test_a_multipart_body_cannot_be_a_signed_form(content_type: str) -> None:
    with pytest.raises(atlassian_jwt.MalformedRequestError) as caught:
        should_hash_form(content_type)
    assert caught.value.code == "request_malformed"
    assert "multipart" in str(caught.value)


def test_failures_answer_401_or_503_and_log_the_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    mismatch = atlassian_jwt.QshMismatchError(
        "no", canonical_request="GET&/&", expected_qsh="def", token_qsh="abc"
    )
    assert failure_response(mismatch) == (401, "Unauthorized", {"WWW-Authenticate": "JWT"})
    assert failure_response(atlassian_jwt.KeyFetchError("down")) == (503, "Service Unavailable", {})
    assert failure_response(TenantStoreError("locked")) == (503, "Service Unavailable", {})
    assert [record.getMessage().rsplit(": ", 1)[1] for record in caplog.records] == [
        "qsh_mismatch",
        "key_fetch_failed",
        "store_unavailable",
    ]
    with pytest.raises(TypeError):
        failure_response(ValueError("not ours"))


def test_a_401_challenges_with_the_scheme_the_route_expects() -> None:
    bearer = failure_response(atlassian_jwt.TokenMissingError("none"), scheme="Bearer")
    assert bearer.headers == {"WWW-Authenticate": "Bearer"}


def test_every_rejection_and_unavailability_is_a_failure() -> None:
    # What the helpers catch is exactly what failure_response answers.
    for error in (atlassian_jwt.DecodeError("x"), atlassian_jwt.UnknownKeyError("x")):
        assert isinstance(error, FAILURES) and failure_response(error).status == 401
    assert not isinstance(ValueError("x"), FAILURES)


def test_lifecycle_paths() -> None:
    assert lifecycle_paths(None) == {event: f"/{event}" for event in LIFECYCLE_EVENTS}
    assert lifecycle_paths({"installed": "hooks/i"}, prefix="") == {
        "installed": "hooks/i",
        "uninstalled": "uninstalled",
        "enabled": "enabled",
        "disabled": "disabled",
    }
    with pytest.raises(ValueError, match="Not lifecycle events: Installed, install"):
        lifecycle_paths({"install": "/i", "Installed": "/i"})


def test_a_lifecycle_callback_reaches_the_app_only_once_verified() -> None:
    events: list[tuple[str, atlassian_jwt.AuthResult]] = []
    result = atlassian_jwt.AuthResult(CLIENT_KEY, {})
    calls: list[tuple[str, str, Any, bytes]] = []

    def verified(method: str, url: str, headers: Any, body: bytes) -> atlassian_jwt.AuthResult:
        calls.append((method, url, headers, body))
        return result

    def rejected(*_: Any) -> atlassian_jwt.AuthResult:
        raise atlassian_jwt.TokenMissingError("none")

    def record(event: str, outcome: atlassian_jwt.AuthResult) -> None:
        events.append((event, outcome))

    request: tuple[str, str, Any, bytes] = ("POST", "/enabled?a=1", {}, b"{}")
    assert run_lifecycle_callback("enabled", verified, record, lambda: request) is None
    assert calls == [request] and events == [("enabled", result)]
    failed = run_lifecycle_callback("enabled", rejected, record, lambda: request)
    assert isinstance(failed, FailureResponse) and failed.status == 401
    # a request whose URL cannot be read is answered as a rejection too, not with a 500
    unreadable = run_lifecycle_callback(
        "enabled", verified, record, lambda: ("POST", wsgi_target({"RAW_URI": "/\xff"}), {}, b"")
    )
    assert unreadable == (401, "Unauthorized", {"WWW-Authenticate": "JWT"})
    assert events == [("enabled", result)] and len(calls) == 1

    def broken(*_: Any) -> atlassian_jwt.AuthResult:
        raise ValueError("a bug in the app")

    with pytest.raises(ValueError):  # anything else is the app's bug, not a 401
        run_lifecycle_callback("enabled", broken, record, lambda: request)
