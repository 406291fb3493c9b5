"""Every network call the library makes: one transport protocol, the same limits everywhere.

The library talks to three kinds of server, all named by configuration, never by a request:
Atlassian's install key server (GET a PEM key), Forge's JWKS (GET a key set) and the OAuth
authorization server (POST a form to exchange an assertion for an access token). Each call is an
:class:`HTTPRequest` handed to a :class:`Transport` (or, from asyncio, an
:class:`AsyncTransport`), which answers with an :class:`HTTPResponse`. Every transport here
keeps the same promises, which the callers rely on:

* **no redirects**: a 3xx is answered as it is; a key, a key set and a token endpoint live at
  exactly one address, and a redirect would carry an assertion where configuration did not say;
* **a size cap**: at most ``max_bytes`` of the body are read (``too_large`` says there was more),
  nothing is decompressed (``Accept-Encoding: identity``);
* **a wall-clock deadline**: ``timeout`` seconds bound the whole call (connecting, sending,
  the status line and headers, and the body), not only each socket operation, so a server that
  trickles its answer a byte at a time cannot hold a caller longer than ``timeout``;
* **errors as** :class:`TimeoutError` (the deadline passed) or another :class:`OSError` (the
  server could not be reached or did not speak HTTP); HTTP error statuses are answers, not
  errors.

:class:`UrllibTransport` (the standard library) is the default everywhere, whatever else is
installed; :class:`RequestsTransport`, :class:`HTTPXTransport` and :class:`AsyncHTTPXTransport`
(for ``httpx`` or ``httpx2`` clients) are there to be chosen explicitly, for their proxy and
certificate settings. None of this module imports anything else of the package.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import http.client
import importlib
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NamedTuple, Protocol, TypeVar

from ._extras import missing_extra

__all__ = [
    "AsyncHTTPXTransport",
    "AsyncThreadTransport",
    "AsyncTransport",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPXTransport",
    "RequestsTransport",
    "Transport",
    "UrllibTransport",
    "default_transport",
    "form_request",
    "get_request",
]

_T = TypeVar("_T")
_CHUNK = 16 * 1024
# Sent with every call. identity: a compressed answer could be a decompression bomb.
_HEADERS = {"User-Agent": "atlassian-jwt", "Accept-Encoding": "identity"}


class HTTPRequest(NamedTuple):
    """One call to a configured server."""

    #: ``"GET"`` or ``"POST"``.
    method: str
    #: The absolute URL, ``https://`` (or ``http://`` to a loopback address, for tests).
    url: str
    #: Headers to send; a transport may add its own (``Host``, ``Content-Length``).
    headers: Mapping[str, str]
    #: The body to send, or ``None``.
    body: bytes | None
    #: Seconds the whole call may take, from connecting to the last byte of the body.
    timeout: float
    #: Bytes of the body to read at most; more is reported as ``too_large``, not read.
    max_bytes: int


class HTTPResponse(NamedTuple):
    """What the server answered: the status and at most ``max_bytes`` of the body."""

    status: int
    body: bytes
    #: True when the body was larger than ``max_bytes`` (``body`` then holds a part of it at
    #: most): the caller refuses it.
    too_large: bool = False


class Transport(Protocol):
    """Sends an :class:`HTTPRequest` and returns the :class:`HTTPResponse`, synchronously.

    An implementation must not follow redirects, must read at most ``max_bytes`` of the body
    (``too_large=True`` when there was more) and must return or raise within ``timeout``
    seconds of wall-clock time, headers included. It raises :class:`TimeoutError` when the
    time is up and another :class:`OSError` (e.g. :class:`ConnectionError`) when the server
    cannot be reached or does not answer HTTP; an HTTP error status is returned, not raised.

    .. warning:: A transport of one's own is trusted with these limits: one that follows
       redirects or reads without a bound undoes the protection they give.
    """

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request`` and return the answer."""
        ...


class AsyncTransport(Protocol):
    """:class:`Transport` for asyncio: the same contract, awaited."""

    def __call__(self, request: HTTPRequest) -> Awaitable[HTTPResponse]:
        """Send ``request`` and return the answer."""
        ...


def get_request(url: str, accept: str, timeout: float, max_bytes: int) -> HTTPRequest:
    """Return a GET of ``url`` with the library's headers and ``Accept: accept``."""
    return HTTPRequest("GET", url, {**_HEADERS, "Accept": accept}, None, timeout, max_bytes)


def form_request(
    url: str, form: Mapping[str, str], timeout: float, max_bytes: int
) -> HTTPRequest:
    """Return a POST of ``form`` as ``application/x-www-form-urlencoded``, accepting JSON."""
    headers = {
        **_HEADERS,
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    body = urllib.parse.urlencode(dict(form)).encode("ascii")
    return HTTPRequest("POST", url, headers, body, timeout, max_bytes)


# --- The standard library ----------------------------------------------------------------
#
# http.client gives each socket operation the connection's timeout, so a server that sends one
# byte of its headers every timeout - epsilon seconds holds a request without end. Here every
# socket operation of a call gets, as its timeout, the time left until the call's deadline:
# the sockets are subclasses that read the deadline from a context variable, set for the
# duration of one call (a context variable rather than an attribute: the TLS socket is
# created, and shakes hands, inside the ssl module, before we could set anything on it).

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "atlassian_jwt_http_deadline", default=None
)


def _time_left() -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed")
    return left


class _DeadlineSocket(socket.socket):
    """A TCP socket whose every operation ends by the current call's deadline."""

    def _bound(self) -> None:
        left = _time_left()
        if left is not None:
            self.settimeout(left)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._bound()
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._bound()
        return super().recv(bufsize, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self._bound()
        super().sendall(data, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """A TLS socket whose handshake, reads and writes end by the current call's deadline."""

    def _bound(self) -> None:
        left = _time_left()
        if left is not None:
            self.settimeout(left)

    def do_handshake(self, block: bool = False) -> None:
        self._bound()
        super().do_handshake(block)

    def read(self, len: int = 1024, buffer: Any = None) -> Any:
        self._bound()
        return super().read(len, buffer)

    def send(self, data: Any, flags: int = 0) -> int:
        self._bound()
        return super().send(data, flags)


def _connect(
    address: tuple[str, int], timeout: Any = None, source_address: Any = None, *args: Any
) -> socket.socket:
    """``socket.create_connection``, bounded by the deadline, giving a :class:`_DeadlineSocket`."""
    left = _time_left()
    if left is not None and (not isinstance(timeout, (int, float)) or left < timeout):
        timeout = left
    plain = socket.create_connection(address, timeout, source_address, *args)
    family, kind, proto, timeout = plain.family, plain.type, plain.proto, plain.gettimeout()
    bounded = _DeadlineSocket(family, kind, proto, plain.detach())
    bounded.settimeout(timeout)
    return bounded


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # http.client's documented way in (it is how it calls create_connection).
        self._create_connection = _connect


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._bounded_context = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, context=self._bounded_context)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Turn every redirect into an :class:`urllib.error.HTTPError` of its own status."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _default_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.sslsocket_class = _DeadlineSSLSocket
    return context


class UrllibTransport:
    """The default :class:`Transport`: :mod:`urllib.request`, never following a redirect.

    Certificates are checked against the system's store (or ``context``'s); proxies come from
    the usual environment variables, as for any urllib request. ``timeout`` bounds the whole
    call, headers included, except the DNS lookup of the host name: Python has no timeout for
    :func:`socket.getaddrinfo`, so a name server that does not answer holds the call for as
    long as the system resolver waits (with glibc, ``options timeout:N attempts:N`` in
    ``/etc/resolv.conf``; 5 seconds a try and 2 tries by default).

    :param context: the TLS settings (e.g. a private certificate authority); the system's
        defaults otherwise. Its ``sslsocket_class`` is replaced, so pass one of its own.
    """

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        if context is None:
            context = _default_context()
        else:
            context.sslsocket_class = _DeadlineSSLSocket
        self._opener = urllib.request.build_opener(
            _NoRedirect, _HTTPHandler, _HTTPSHandler(context)
        )

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request``; see :class:`Transport`."""
        token = _DEADLINE.set(time.monotonic() + request.timeout)
        try:
            return self._send(request)
        finally:
            _DEADLINE.reset(token)

    def _send(self, request: HTTPRequest) -> HTTPResponse:
        prepared = urllib.request.Request(
            request.url, data=request.body, headers=dict(request.headers), method=request.method
        )
        try:
            with self._opener.open(prepared, timeout=request.timeout) as response:
                return _read_urllib(response, request.max_bytes)
        except urllib.error.HTTPError as error:
            with error:
                return _read_urllib(error, request.max_bytes)
        except urllib.error.URLError as error:
            # urllib wraps connection failures (and the deadline, raised while connecting).
            reason = error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise TimeoutError("timed out") from None
            if isinstance(reason, OSError):
                raise reason from None
            raise ConnectionError(str(reason)) from None
        except (TimeoutError, socket.timeout):  # socket.timeout: not TimeoutError on 3.9
            raise TimeoutError("timed out") from None
        except http.client.HTTPException as error:
            # Cut short, or not HTTP at all: the connection failed, not the server's answer.
            raise ConnectionError(type(error).__name__) from None


def _read_urllib(response: Any, max_bytes: int) -> HTTPResponse:
    status = int(response.status if response.status is not None else response.code)
    if _declared_too_large(response.headers.get("Content-Length"), max_bytes):
        return HTTPResponse(status, b"", too_large=True)
    body = response.read(max_bytes + 1)
    return HTTPResponse(status, body[:max_bytes], too_large=len(body) > max_bytes)


def _declared_too_large(content_length: str | None, max_bytes: int) -> bool:
    return (
        content_length is not None
        and content_length.strip().isdigit()
        and int(content_length) > max_bytes
    )


_default: UrllibTransport | None = None


def default_transport() -> UrllibTransport:
    """The process's :class:`UrllibTransport`, made on first use (it loads the CA store once)."""
    global _default
    if _default is None:
        _default = UrllibTransport()  # two threads may both make one: harmless, equal
    return _default


class AsyncThreadTransport:
    """An :class:`AsyncTransport` that runs a synchronous :class:`Transport` in a thread.

    The default of :class:`~atlassian_jwt.oauth2.AsyncTokenProvider`: the standard library,
    in the event loop's default executor, so that asyncio apps need no HTTP client package.
    The sync transport's deadline bounds the thread; the awaiting task is bounded too.

    :param transport: the synchronous transport; :class:`UrllibTransport` by default.
    """

    def __init__(self, transport: Transport | None = None) -> None:
        self.transport: Transport = transport if transport is not None else default_transport()

    async def __call__(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request`` from a worker thread; see :class:`Transport`."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(None, context.run, self.transport, request)


# --- Third-party clients, chosen explicitly ----------------------------------------------


def _within(timeout: float, call: Callable[[], _T]) -> _T:
    """Run ``call`` in a daemon thread; raise :class:`TimeoutError` if it is not done in time.

    For clients whose timeouts bound each socket operation only: the caller is free when the
    deadline passes, whatever the server does. The abandoned call ends at its client's next
    timeout or, if the server keeps trickling, at the deadline check between body chunks.
    """
    result: concurrent.futures.Future[_T] = concurrent.futures.Future()

    def run() -> None:
        try:
            result.set_result(call())
        except BaseException as error:  # handed to the caller, who re-raises it
            result.set_exception(error)

    threading.Thread(target=run, name="atlassian-jwt-http", daemon=True).start()
    try:
        return result.result(timeout)
    except concurrent.futures.TimeoutError:  # not the built-in TimeoutError before 3.11
        raise TimeoutError("timed out") from None


def _collect(chunks: Any, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
    return bytes(body), False


def _import(module: str, extra: str, what: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise missing_extra(what, (extra, module)) from error


class RequestsTransport:
    """A :class:`~atlassian_jwt.Transport` on a ``requests`` session: its proxies, certificates
    and adapters.

    requests checks certificates against certifi's bundle (the standard library uses the
    system's) and reads proxies from the environment, as the session is configured.
    Redirects are never followed; ``timeout`` bounds the connection and each read, and the
    whole call is bounded by running it in a thread that the caller stops waiting for at the
    deadline.

    :param session: the session to send with; a new one by default.
    :raises ImportError: if requests is not installed.
    """

    def __init__(self, session: Any = None) -> None:
        requests = _import("requests", "requests", "RequestsTransport")
        self._requests = requests
        self._urllib3 = importlib.import_module("urllib3")  # requests' own dependency
        self.session = session if session is not None else requests.Session()

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request``; see :class:`~atlassian_jwt.Transport`."""
        deadline = time.monotonic() + request.timeout
        return _within(request.timeout, lambda: self._send(request, deadline))

    def _send(self, request: HTTPRequest, deadline: float) -> HTTPResponse:
        requests, urllib3 = self._requests, self._urllib3
        try:
            with self.session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                timeout=request.timeout,
                allow_redirects=False,
                stream=True,
            ) as response:
                status = int(response.status_code)
                if _declared_too_large(response.headers.get("Content-Length"), request.max_bytes):
                    return HTTPResponse(status, b"", too_large=True)
                # The bytes as sent (decode_content=False): nothing is decompressed.
                chunks = response.raw.stream(_CHUNK, decode_content=False)
                body, too_large = _collect(chunks, request.max_bytes, deadline)
                return HTTPResponse(status, body, too_large)
        except (TimeoutError, requests.Timeout, urllib3.exceptions.TimeoutError):
            raise TimeoutError("timed out") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            # urllib3's errors escape requests while the body is streamed.
            raise ConnectionError(type(error).__name__) from None


def _httpx_library(client: Any) -> Any:
    """The module (``httpx`` or ``httpx2``) whose client ``client`` is."""
    return importlib.import_module(type(client).__module__.partition(".")[0])


def _default_httpx() -> Any:
    """``httpx2`` if installed, else ``httpx``: for transports made without a client."""
    for name in ("httpx2", "httpx"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise missing_extra("This transport", ("httpx2", "httpx2"), ("httpx", "httpx"))


def _httpx_error(library: Any, error: BaseException) -> OSError:
    if isinstance(error, library.TimeoutException):
        return TimeoutError("timed out")
    return ConnectionError(type(error).__name__)


class HTTPXTransport:
    """A :class:`~atlassian_jwt.Transport` on an ``httpx.Client`` or ``httpx2.Client``.

    Redirects are never followed (whatever the client's setting); ``timeout`` bounds each
    operation, and the whole call is bounded by running it in a thread that the caller stops
    waiting for at the deadline.

    :param client: the client to send with (its proxies, certificates, transport); a new
        ``httpx2.Client`` by default, or ``httpx.Client`` where httpx2 is not installed.
    :raises ImportError: if neither httpx2 nor httpx is installed.
    """

    def __init__(self, client: Any = None) -> None:
        if client is None:
            client = _default_httpx().Client()
        self.client = client
        self._library = _httpx_library(client)

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request``; see :class:`~atlassian_jwt.Transport`."""
        deadline = time.monotonic() + request.timeout
        return _within(request.timeout, lambda: self._send(request, deadline))

    def _send(self, request: HTTPRequest, deadline: float) -> HTTPResponse:
        try:
            with self.client.stream(**_httpx_arguments(request)) as response:
                answered = _httpx_answered(response, request.max_bytes)
                if answered is not None:
                    return answered
                body, too_large = _collect(
                    response.iter_raw(_CHUNK), request.max_bytes, deadline
                )
                return HTTPResponse(int(response.status_code), body, too_large)
        except self._library.HTTPError as error:
            raise _httpx_error(self._library, error) from None
        except self._library.StreamError as error:
            raise ConnectionError(type(error).__name__) from None


def _httpx_arguments(request: HTTPRequest) -> dict[str, Any]:
    """The arguments of ``client.stream`` for ``request``, redirects not followed."""
    return {
        "method": request.method,
        "url": request.url,
        "headers": dict(request.headers),
        "content": request.body,
        "timeout": request.timeout,
        "follow_redirects": False,
    }


def _httpx_answered(response: Any, max_bytes: int) -> HTTPResponse | None:
    """The answer, if known before reading the body: declared too large, or already read."""
    status = int(response.status_code)
    if _declared_too_large(response.headers.get("Content-Length"), max_bytes):
        return HTTPResponse(status, b"", too_large=True)
    if response.is_stream_consumed:  # answered from memory (httpx's MockTransport)
        body: bytes = response.content
        return HTTPResponse(status, body[:max_bytes], too_large=len(body) > max_bytes)
    return None


class AsyncHTTPXTransport:
    """An :class:`~atlassian_jwt.AsyncTransport` on an ``httpx.AsyncClient`` or
    ``httpx2.AsyncClient``.

    Redirects are never followed; the whole call is bounded by ``timeout`` (the task is
    cancelled at the deadline).

    :param client: the client to send with; by default a new ``httpx2.AsyncClient`` (or
        ``httpx.AsyncClient`` where httpx2 is not installed) for each call, which happens
        once per token.
    :raises ImportError: if neither httpx2 nor httpx is installed.
    """

    def __init__(self, client: Any = None) -> None:
        self.client = client
        self._library = _httpx_library(client) if client is not None else _default_httpx()

    async def __call__(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request``; see :class:`~atlassian_jwt.Transport`."""
        try:
            return await asyncio.wait_for(self._send(request), request.timeout)
        except asyncio.TimeoutError:  # the built-in TimeoutError from 3.11 on
            raise TimeoutError("timed out") from None

    async def _send(self, request: HTTPRequest) -> HTTPResponse:
        try:
            if self.client is not None:
                return await self._stream(self.client, request)
            async with self._library.AsyncClient() as client:
                return await self._stream(client, request)
        except self._library.HTTPError as error:
            raise _httpx_error(self._library, error) from None
        except self._library.StreamError as error:
            raise ConnectionError(type(error).__name__) from None

    async def _stream(self, client: Any, request: HTTPRequest) -> HTTPResponse:
        async with client.stream(**_httpx_arguments(request)) as response:
            answered = _httpx_answered(response, request.max_bytes)
            if answered is not None:
                return answered
            status, body = int(response.status_code), bytearray()
            async for chunk in response.aiter_raw(_CHUNK):
                body += chunk
                if len(body) > request.max_bytes:
                    return HTTPResponse(status, bytes(body[: request.max_bytes]), True)
            return HTTPResponse(status, bytes(body))
