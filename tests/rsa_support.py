"""Helpers for the RS256 tests: RSA keys, and a key server on 127.0.0.1 that counts requests.

Only the modules marked ``extras`` use this; it imports ``cryptography`` only when called, so
that it (and they) can still be collected without it.
"""

from __future__ import annotations

import collections
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa


def new_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


class Response(NamedTuple):
    """What the test server answers on one path."""

    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    #: Send a Content-Length header; without it the body ends when the connection closes.
    send_length: bool = True


class KeyServer:
    """An HTTP server on 127.0.0.1 (port 0) in a thread, answering from :attr:`responses`.

    Unknown paths get 404. :attr:`hits` counts the requests per path.
    """

    def __init__(self) -> None:
        self.responses: dict[str, Response] = {}
        self.hits: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with server._lock:
                    server.hits[self.path] += 1
                response = server.responses.get(self.path, Response(404, b"no such key"))
                if response.delay and server._stopping.wait(response.delay):
                    return
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", "application/x-pem-file")
                    if response.send_length:
                        self.send_header("Content-Length", str(len(response.body)))
                    self.end_headers()
                    self.wfile.write(response.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should for an oversized body

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def hit_count(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    def __enter__(self) -> KeyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def serve() -> Iterator[KeyServer]:
    """A fixture body: a started :class:`KeyServer`, stopped afterwards."""
    with KeyServer() as server:
        yield server


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
