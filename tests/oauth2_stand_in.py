"""A stand-in for Atlassian's authorization server and for the product, on 127.0.0.1.

``POST /oauth2/token`` checks every field of the form and of the assertion (with PyJWT and the
tenant's shared secret) and answers with a fresh access token; each problem it finds is recorded
in :attr:`StandIn.problems` and answered 400 ``invalid_grant``. ``GET /rest/api/3/myself``
plays the product: it accepts ``Authorization: Bearer <a token it issued>`` and answers with the
account id the token was issued for; ``GET /elsewhere`` redirects there on another host
(``localhost``), to see whether a client carries the token along.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from atlassian_jwt.oauth2 import ASSERTION_LIFETIME, GRANT_TYPE

ACCOUNT = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
OAUTH_CLIENT_ID = "oXdQeM4uyhE1y5kMM5bFoLUwbArxwxJQ"


class FakeClock:
    """The provider's clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


SUB_PREFIX = "urn:atlassian:connect:useraccountid:"
Response = tuple[int, bytes, Mapping[str, str]]


@dataclass
class StandIn:
    tenant: Mapping[str, Any]
    url: str = ""
    expires_in: Any = 900
    #: Seconds each exchange takes (the handler waits, up to the end of the test).
    delay: float = 0.0
    #: Replaces the normal answer to an exchange, given the assertion received.
    respond: Callable[[str], Response] | None = None
    exchanges: list[dict[str, str]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    issued: dict[str, str] = field(default_factory=dict)
    product_calls: list[str | None] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def assertions(self) -> list[str]:
        return [form.get("assertion", "") for form in self.exchanges]

    def check(self, form: dict[str, str], content_type: str | None) -> dict[str, Any] | None:
        if content_type != "application/x-www-form-urlencoded":
            self.problems.append(f"content type {content_type}")
        if set(form) != {"grant_type", "assertion", "scope"}:
            self.problems.append(f"form fields {sorted(form)}")
        if form.get("grant_type") != GRANT_TYPE:
            self.problems.append(f"grant_type {form.get('grant_type')}")
        scope = form.get("scope", "")
        if not scope or scope != scope.upper() or "  " in scope:
            self.problems.append(f"scope {scope!r}")
        try:
            # Signature, audience and issuer by PyJWT; time is the provider's (tests inject a
            # clock), so only the assertion's own lifetime is checked here.
            claims: dict[str, Any] = jwt.decode(
                form.get("assertion", ""),
                self.tenant["sharedSecret"],
                algorithms=["HS256"],
                audience=self.url,
                issuer=f"urn:atlassian:connect:clientid:{self.tenant['oauthClientId']}",
                options={
                    "require": ["iss", "sub", "tnt", "aud", "iat", "exp"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            self.problems.append(f"assertion: {error}")
            return None
        if claims["tnt"] != self.tenant["baseUrl"]:
            self.problems.append(f"tnt {claims['tnt']}")
        if not claims["sub"].startswith(SUB_PREFIX) or claims["sub"] == SUB_PREFIX:
            self.problems.append(f"sub {claims['sub']}")
        if not 0 < claims["exp"] - claims["iat"] <= ASSERTION_LIFETIME:
            self.problems.append(f"lifetime {claims['exp'] - claims['iat']}")
        if jwt.get_unverified_header(form["assertion"]).get("alg") != "HS256":
            self.problems.append("alg")
        return claims

    def exchange(self, form: dict[str, str], content_type: str | None) -> Response:
        with self.lock:
            self.exchanges.append(form)
            problems_before = len(self.problems)
            claims = self.check(form, content_type)
            if claims is not None:
                self.claims.append(claims)
        if self.delay:
            self.released.wait(self.delay)
        if self.respond is not None:
            return self.respond(form.get("assertion", ""))
        if claims is None or len(self.problems) > problems_before:
            return 400, json.dumps({"error": "invalid_grant"}).encode(), {}
        token = f"at-{len(self.exchanges)}-{secrets.token_urlsafe(24)}"
        with self.lock:
            self.issued[token] = claims["sub"][len(SUB_PREFIX) :]
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        return 200, json.dumps(body).encode(), {"Content-Type": "application/json"}

    def myself(self, authorization: str | None) -> Response:
        with self.lock:
            self.product_calls.append(authorization)
        scheme, _, token = (authorization or "").partition(" ")
        if scheme != "Bearer" or token not in self.issued:
            return 401, b'{"message": "Unauthorized"}', {}
        return 200, json.dumps({"accountId": self.issued[token]}).encode(), {}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("ascii", "replace")
        if self.path != "/oauth2/token":
            self.answer((404, b"", {}))
            return
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        self.answer(self.server.stand_in.exchange(form, self.headers.get("Content-Type")))

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/elsewhere":  # a redirect to another host: "localhost", same port
            port = self.server.server_address[1]
            self.answer((302, b"", {"Location": f"http://localhost:{port}/rest/api/3/myself"}))
            return
        if self.path != "/rest/api/3/myself":
            self.answer((404, b"", {}))
            return
        self.answer(self.server.stand_in.myself(self.headers.get("Authorization")))

    def answer(self, response: Response) -> None:
        status, body, headers = response
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stand_in: StandIn


@contextmanager
def running(tenant: dict[str, Any]) -> Iterator[StandIn]:
    """Start the stand-in on a free port; the tenant's ``baseUrl`` becomes its address."""
    server = _Server(("127.0.0.1", 0), _Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    tenant["baseUrl"] = url
    server.stand_in = StandIn(tenant=tenant, url=url)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server.stand_in
    finally:
        server.stand_in.released.set()
        server.shutdown()
        server.server_close()
        thread.join()


def assert_nothing_leaks(error: BaseException, *hidden: str) -> None:
    """Assert that no text in ``hidden`` shows in the error's message, repr or traceback."""
    shown = "".join(
        [
            str(error),
            repr(error),
            *traceback.format_exception(type(error), error, error.__traceback__),
        ]
    )
    for text in hidden:
        assert text not in shown
