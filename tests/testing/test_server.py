"""LocalServer, the HTTP server every fake of the kit is: what it answers and what it keeps.

Only the standard library talks to it here: not marked ``extras``.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from atlassian_jwt.testing import LocalServer, ReceivedRequest, Reply


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _send(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=10) as response:
            status: int = response.status
    except urllib.error.HTTPError as error:
        with error:
            status = error.code
    return status


def test_every_request_is_kept_as_received() -> None:
    with LocalServer(host="localhost") as server:
        server.respond("*", "/bounce", status=302, headers={"Location": "/elsewhere"})
        assert _send(f"{server.url}/bounce?x=a%20b", headers={"X-Test": "1"}) == 302
        assert _send(f"{server.url}/nothing", data=b"a=1") == 404
    first, second = server.received
    assert isinstance(first, ReceivedRequest)
    assert (first.method, first.target, first.path, first.query) == (
        "GET",
        "/bounce?x=a%20b",
        "/bounce",
        "x=a%20b",
    )
    assert first.headers["x-test"] == "1" and "Authorization" not in first.headers
    assert (second.method, second.target, second.body) == ("POST", "/nothing", b"a=1")
    assert server.hits == {"/bounce?x=a%20b": 1, "/nothing": 1}


def test_received_is_a_copy() -> None:
    with LocalServer() as server:
        _send(server.url + "/a")
        kept = server.received
        kept.clear()
        _send(server.url + "/b")
    assert [request.target for request in server.received] == ["/a", "/b"]


def test_an_intercepted_request_is_kept_too() -> None:
    with LocalServer() as server:
        server.intercept("POST", "/hook", lambda request: Reply(204))
        server.intercept("GET", "/broken", lambda request: 1 / 0)  # type: ignore[arg-type,return-value]
        assert _send(server.url + "/hook", data=b"{}") == 204
        assert _send(server.url + "/broken") == 500
    assert [request.target for request in server.received] == ["/hook", "/broken"]
    assert [type(error) for error in server.errors] == [ZeroDivisionError]


def test_the_repr_of_a_request_shows_no_credentials() -> None:
    with LocalServer() as server:
        _send(
            server.url + "/panel?jwt=eyJ.query.token",
            data=b"assertion=eyJ.body.token",
            headers={"Authorization": "JWT eyJ.header.token"},
        )
    (request,) = server.received
    shown = repr(request)
    assert "eyJ" not in shown
    assert shown.startswith("ReceivedRequest(method='POST', path='/panel', query=<")
    assert "'authorization'" in shown and "body=<24 bytes>" in shown
