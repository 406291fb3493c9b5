"""The HTTP server the kit's fakes share: 127.0.0.1, a free port, a thread, a clean stop."""

from __future__ import annotations

import collections
import json as json_module
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple, TypeVar

__all__ = ["LocalServer", "ReceivedRequest", "Reply", "RequestHandler", "refused_url"]

# Bodies larger than this are not read: nothing an app sends in a test comes near it.
_MAX_BODY = 16 * 1024 * 1024
# Seconds to wait for the serving thread to end when the server stops.
_JOIN_TIMEOUT = 10.0

_Server = TypeVar("_Server", bound="LocalServer")


class Reply(NamedTuple):
    """What a fake server answers to one request.

    :ivar status: the HTTP status.
    :ivar body: the body, as bytes.
    :ivar headers: ``(name, value)`` pairs sent before the body.
    :ivar delay: seconds to wait before answering (cut short when the server stops, and then
        nothing is answered): for a client's timeout.
    :ivar send_length: send ``Content-Length``; without it the body ends when the connection
        closes.
    """

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    send_length: bool = True

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Reply:
        """A JSON reply: ``data`` encoded, with ``Content-Type: application/json``."""
        pairs = (("Content-Type", "application/json"), *(headers or {}).items())
        return cls(status, json_module.dumps(data).encode("utf-8"), tuple(pairs))


class Headers(Mapping[str, str]):
    """Request headers as received: case-insensitive names, the first value of each name."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._pairs = tuple(pairs)
        self._index: dict[str, str] = {}
        for name, value in self._pairs:
            self._index.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()]

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for name, _ in self._pairs:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """Every header line as received, repeated names included, in order."""
        return self._pairs

    def __repr__(self) -> str:
        return f"Headers({sorted(self._index)})"


class ReceivedRequest(NamedTuple):
    """A request as a fake server received it.

    :ivar method: the method, as sent.
    :ivar target: the raw request target: the path and query string exactly as sent.
    :ivar headers: the headers (names case-insensitive).
    :ivar body: the body, as bytes.
    """

    method: str
    target: str
    headers: Headers
    body: bytes

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        """The raw query string (``""`` for none)."""
        return self.target.partition("?")[2]

    def __repr__(self) -> str:
        # The query (a jwt= token), the body (an assertion, a secret) and the header values (an
        # Authorization) are credentials: they stay out of test reports.
        return (
            f"ReceivedRequest(method={self.method!r}, path={self.path!r}, "
            f"query=<{len(self.query)} characters>, headers={self.headers!r}, "
            f"body=<{len(self.body)} bytes>)"
        )


#: Answers a request itself (a :class:`Reply`), or lets the server answer as usual (``None``).
RequestHandler = Callable[[ReceivedRequest], "Reply | None"]


class LocalServer:
    """An HTTP server on 127.0.0.1 at a free port, served by a thread; a context manager.

    ``with server:`` starts it and stops it, however the block ends; stopping cuts short any
    :attr:`Reply.delay` and waits for the serving thread. Every request is counted in
    :attr:`hits` and kept, headers and body, in :attr:`received`; :meth:`respond` and
    :meth:`intercept` change what a path answers. A request whose handling raises is answered
    500 and the exception kept in :attr:`errors`.

    :param host: the host name written in :attr:`url`: ``"127.0.0.1"``, or ``"localhost"``
        for a server that is another origin than one on ``127.0.0.1``. It always listens on
        127.0.0.1 only.
    """

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError('host must be "127.0.0.1" or "localhost": the server is local')
        self.host = host
        #: Requests received, by raw target (path and query).
        self.hits: collections.Counter[str] = collections.Counter()
        #: Exceptions raised while handling a request (each answered 500).
        self.errors: list[BaseException] = []
        self._received: list[ReceivedRequest] = []
        self._handlers: dict[tuple[str, str], RequestHandler] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's origin, ``http://127.0.0.1:<port>``.

        :raises RuntimeError: before the server is started.
        """
        if self._httpd is None:
            raise RuntimeError(
                f"The {type(self).__name__} is not serving: use it in a with block (or start() "
                "it) first"
            )
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "not started"
        state = " stopped" if self._stopping.is_set() else ""
        return f"<{type(self).__name__} {where}{state}>"

    @property
    def running(self) -> bool:
        """Whether the server has been started and not yet stopped."""
        return self._httpd is not None and not self._stopping.is_set()

    def start(self: _Server) -> _Server:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread; return the server.

        :raises RuntimeError: if it was started before (a stopped server stays stopped).
        """
        if self._httpd is not None:
            raise RuntimeError(f"The {type(self).__name__} was started already")
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}-{httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (a no-op if it is not serving)."""
        if self._httpd is None or self._stopping.is_set():
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT)

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def respond(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        body: bytes | str = b"",
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        send_length: bool = True,
    ) -> None:
        """Answer ``method path`` (any query string) with a fixed reply from now on.

        :param method: the method, or ``"*"`` for any.
        :param path: the path, without query string.
        :param json: a body to send as JSON (replaces ``body``, adds its content type).
        :param body: the body otherwise, bytes or text (sent as UTF-8).
        :param headers: more response headers (a ``Location`` for a redirect, say).
        :param delay: seconds to wait before answering.
        :param send_length: send ``Content-Length``.
        """
        if json is not None:
            reply = Reply.json(json, status, headers)
        else:
            data = body.encode("utf-8") if isinstance(body, str) else body
            reply = Reply(status, data, tuple((headers or {}).items()))
        reply = reply._replace(delay=delay, send_length=send_length)
        self.intercept(method, path, lambda request: reply)

    def intercept(self, method: str, path: str, handler: RequestHandler) -> None:
        """Let ``handler`` answer ``method path`` from now on (it replaces any earlier one).

        :param handler: called with the :class:`ReceivedRequest`; returns the :class:`Reply`,
            or ``None`` to let the server answer as it otherwise would.
        """
        with self._lock:
            self._handlers[(method.upper(), path)] = handler

    @property
    def received(self) -> list[ReceivedRequest]:
        """Every request received so far, as received, oldest first; a copy.

        For what a server that only redirects or fails was sent::

            with LocalServer(host="localhost") as elsewhere:
                elsewhere.respond("GET", "/bounce", status=302, headers={"Location": back})
                ...
            assert "Authorization" not in elsewhere.received[0].headers
        """
        with self._lock:
            return list(self._received)

    def hit_count(self) -> int:
        """How many requests the server has received."""
        with self._lock:
            return sum(self.hits.values())

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (for an :meth:`intercept` handler that plays a slow server).

        :returns: ``True`` if the server is stopping (the handler should give up).
        """
        return self._stopping.wait(seconds)

    def override(self, request: ReceivedRequest) -> Reply | None:
        """The reply :meth:`respond` or :meth:`intercept` set for this request, if any."""
        with self._lock:
            handler = self._handlers.get((request.method.upper(), request.path))
            if handler is None:
                handler = self._handlers.get(("*", request.path))
        return handler(request) if handler is not None else None

    def answer(self, request: ReceivedRequest) -> Reply:
        """Answer a request; subclasses say how. This base answers overrides, else 404."""
        return self.override(request) or Reply(404, b"Not found")

    def _receive(self, request: ReceivedRequest) -> Reply:
        with self._lock:
            self.hits[request.target] += 1
            self._received.append(request)
        try:
            return self.answer(request)
        except Exception as error:  # a bug in a handler: answer, and keep it for the test
            with self._lock:
                self.errors.append(error)
            return Reply(500, f"{type(error).__name__} in the fake server".encode())


def refused_url() -> str:
    """Return a loopback URL where nothing listens: connecting to it is refused at once.

    For a service that is down (``AtlassianKeyProvider(base_url=refused_url())`` and the app
    should answer 503). The port was free a moment ago; nothing in the test binds it.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LocalServer


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def _dispatch(self) -> None:
        owner = self.server.owner
        try:
            body = self._read_body()
        except ValueError:
            self._send(Reply(400, b"Unreadable body"))
            return
        headers = Headers((name, value) for name, value in self.headers.items())
        reply = owner._receive(ReceivedRequest(self.command, self.path, headers, body))
        if reply.delay and owner.wait(reply.delay):
            return
        self._send(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = (self.headers.get("Content-Length") or "0").strip()
        if not length.isdigit() or int(length) > _MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(int(length)) if int(length) else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk_size = int(self.rfile.readline(100).split(b";")[0].strip() or b"0", 16)
            if chunk_size == 0:
                while self.rfile.readline(1000) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            size += chunk_size
            if size > _MAX_BODY:
                raise ValueError("body too large")
            chunks.append(self.rfile.read(chunk_size))
            self.rfile.readline(10)

    def _send(self, reply: Reply) -> None:
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.send_length:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout, or an oversized body it refused to read)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass
