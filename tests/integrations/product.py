"""A stand-in Atlassian product on 127.0.0.1 that verifies every token with the library."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

import atlassian_jwt
from tests.support import APP_KEY, CLIENT_KEY, SECRET


class Call(NamedTuple):
    """One request the product received, and how it answered."""

    method: str
    path: str  # the raw path and query string, as received
    authorization: str | None
    status: int
    body: bytes


class AppKeyAuthenticator(atlassian_jwt.Authenticator):
    """The product's view: outbound tokens name the app key in ``iss``."""

    def __init__(self, app_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app_key = app_key

    def get_shared_secret(self, client_key: str) -> str | None:
        return SECRET if client_key == self.app_key else None


class Product:
    """Answers 200 (or a configured redirect) to requests whose token verifies, else 401.

    :param app_key: the key of the app installed on it (the app's descriptor's ``key``).
    """

    def __init__(
        self, base_path: str = "", host: str = "127.0.0.1", *, app_key: str = APP_KEY
    ) -> None:
        self.base_path = base_path
        self.host = host
        self.app_key = app_key
        self.calls: list[Call] = []
        #: path (without query) -> (status, Location)
        self.redirects: dict[str, tuple[int, str]] = {}
        self._authenticator = AppKeyAuthenticator(app_key, leeway=0, base_url=base_path)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.origin + self.base_path

    @property
    def tenant(self) -> dict[str, Any]:
        """The installed payload of the app's tenant on this product."""
        return {
            "key": self.app_key,
            "clientKey": CLIENT_KEY,
            "sharedSecret": SECRET,
            "baseUrl": self.base_url,
            "productType": "confluence" if self.base_path else "jira",
        }

    def verify(self, method: str, path: str, headers: Any, body: bytes) -> dict[str, Any]:
        form = "application/x-www-form-urlencoded"
        is_form = (headers.get("Content-Type") or "").startswith(form)
        # Like the product's servlet container: a form-encoded POST body is parameters too.
        body_params = body if method == "POST" and is_form else None
        claims = self._authenticator.authenticate(
            method, path, headers.items(), body_params=body_params
        ).claims
        if claims.get("aud") != CLIENT_KEY or claims["exp"] - claims["iat"] > 180:
            raise atlassian_jwt.InvalidClaimError("not an outbound token for this tenant")
        return claims

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        product = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                authorization = self.headers.get("Authorization")
                location = None
                try:
                    claims = product.verify(self.command, self.path, self.headers, body)
                except atlassian_jwt.DecodeError as error:
                    status, answer = 401, {"error": getattr(error, "code", "rejected")}
                else:
                    status, answer = 200, {"iss": claims["iss"], "body": body.decode()}
                    redirect = product.redirects.get(self.path.partition("?")[0])
                    if redirect:
                        status, location = redirect
                product.calls.append(Call(self.command, self.path, authorization, status, body))
                data = json.dumps({"method": self.command, "path": self.path, **answer}).encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[Product]:
        with serving(self._server):
            yield self


class Foreign:
    """Another origin ("localhost") that answers every request with one redirect.

    :attr:`authorizations` records the ``Authorization`` header of each request it received.
    """

    def __init__(self, status: int, location: str) -> None:
        self.authorizations: list[str | None] = []
        foreign = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                foreign.authorizations.append(self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://localhost:{self._server.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[Foreign]:
        with serving(self._server):
            yield self


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[None]:
    """Run ``server`` in a thread for the duration of the block, then close it."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
