"""The request target as received, for WSGI and ASGI, without any framework installed."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import atlassian_jwt
from atlassian_jwt.integrations._incoming import (
    asgi_target,
    failure,
    is_form,
    relative_to_root,
    wsgi_target,
)
from atlassian_jwt.tenants import TenantStoreError
from tests.integrations.web_helpers import authenticator


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


@pytest.mark.parametrize(
    ("target", "root", "expected"),
    [
        ("/app/p/x?y=1", "/app", "/p/x?y=1"),
        ("/app/p/x?y=1", "/app/", "/p/x?y=1"),
        ("/app?y=1", "/app", "/?y=1"),
        ("/app/", "/app", "/"),
        ("/application/p", "/app", "/application/p"),  # only at a segment boundary
        ("/p/x", "/app", "/p/x"),  # a proxy already removed it
        ("/my%20app/p", "/my app", "/p"),  # the root is decoded, the target raw
        ("/a/b/p", "/a/b", "/p"),
        ("/app/p", "", "/app/p"),
    ],
)
def test_the_mount_point_comes_off(target: str, root: str, expected: str) -> None:
    assert relative_to_root(target, root, authenticator()) == expected


def test_with_a_base_url_only_the_core_removes_a_prefix() -> None:
    with_base = authenticator(base_url="https://apps.example.com/app")
    assert relative_to_root("/app/app/p", "/app", with_base) == "/app/app/p"


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


def test_failures_answer_401_or_503_and_log_the_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    mismatch = atlassian_jwt.QshMismatchError(
        "no", canonical_request="GET&/&", expected_qsh="def", token_qsh="abc"
    )
    assert failure(mismatch) == (401, "Unauthorized")
    assert failure(atlassian_jwt.KeyFetchError("down")) == (503, "Service Unavailable")
    assert failure(TenantStoreError("locked")) == (503, "Service Unavailable")
    assert [record.getMessage().rsplit(": ", 1)[1] for record in caplog.records] == [
        "qsh_mismatch",
        "key_fetch_failed",
        "store_unavailable",
    ]
    with pytest.raises(TypeError):
        failure(ValueError("not ours"))
