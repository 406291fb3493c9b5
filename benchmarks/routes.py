"""The framework rows: one route behind the library's helper, the same route bare, and by hand.

Each framework gets three apps that differ only in what the route does before answering
``ok`` (a catch-all route): nothing (bare); the library's helper (Flask: the ``require_jwt``
view decorator; Starlette: the ``require_jwt`` async dependency, awaited by the endpoint); or
``authenticate`` called by the route itself, inline, on the raw target and the
``Authorization`` header read straight from the environ or scope (by hand). All are called
directly through their server interface, as a server calls them, with nothing in between:

* Flask: ``app(environ, start_response)``, PEP 3333, the response iterated and closed. The
  environ is made once per request by werkzeug's ``EnvironBuilder`` (with ``RAW_URI`` the raw
  target, query included, as gunicorn sets it) and copied for each call, as a server makes a
  fresh one; the copy costs the same in every app.
* Starlette: ``await app(scope, receive, send)``, ASGI 3, in one event loop that stays up for
  the whole run, so that the helper's hop to a worker thread (``run_in_threadpool``) is timed
  as it happens in a server, on a warm thread pool. A pass is timed inside the loop.

Not the frameworks' test clients: those build a request, run it through an adapter and wrap
the response on every call, costs the size of the helper's that no server pays, and their
spread would swamp the difference measured here.

The helper's overhead (issue 15) is what the helper adds to a route beyond calling
``authenticate`` itself: the route with the helper less the route by hand, against
``authenticate`` alone (finding the raw URL, the mount point, the header object, the thread
hop, the result stored for the view). The issue first put it as the route with the helper less
the bare route less ``authenticate`` alone; that also counts, as the helper's, what every route
pays for calling ``authenticate`` at all amid the framework's work, which the route by hand
pays too: ``authenticate`` runs slower right after a framework's request than in a loop of its
own, because the processor's caches then hold the framework's code and data rather than its
own, and the framework's work slower after it. For Flask, whose request is the larger, the
"amid" timing (:func:`time_pass_amid`) measures the first part: ``authenticate`` alone, each
call right after a bare Flask request. ``run.py`` prints both measures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from timing import CHUNK, batches, paused_gc

import atlassian_jwt

Items = list[tuple[Any, ...]]

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def flask_passes(
    authenticator: atlassian_jwt.Authenticator, requests: Items
) -> dict[str, tuple[Callable[..., Any], Items]] | None:
    """Return the bare, the guarded and the by-hand Flask route, each ``(call, items)``.

    ``None`` without Flask.

    :param requests: ``(method, url as received, headers)`` of valid requests.
    """
    try:
        from flask import Flask, request
        from werkzeug.test import EnvironBuilder

        from atlassian_jwt.integrations.flask_ext import require_jwt
    except ImportError:
        return None

    def make_app(guard: Callable[[Any], Any] | None) -> Any:
        app = Flask("benchmark")

        def view(rest: str = "") -> str:
            return "ok"

        guarded = guard(view) if guard else view
        app.add_url_rule("/", "root", guarded, methods=METHODS)
        app.add_url_rule("/<path:rest>", "view", guarded, methods=METHODS)
        return app

    environs: Items = []
    for method, url, headers in requests:
        path, _, query = url.partition("?")
        environ = EnvironBuilder(
            path=path, query_string=query, method=method, headers=headers
        ).get_environ()
        # The raw target as the server received it (PEP 3333: its bytes as latin-1 text).
        environ["RAW_URI"] = environ["REQUEST_URI"] = url.encode().decode("latin-1")
        environs.append((environ,))

    def by_hand(view: Callable[..., str]) -> Callable[..., str]:
        def route(rest: str = "") -> str:
            environ = request.environ
            authorization = environ.get("HTTP_AUTHORIZATION")
            authenticator.authenticate(
                environ["REQUEST_METHOD"],
                environ["RAW_URI"].encode("latin-1").decode(),
                {"Authorization": authorization} if authorization else {},
            )
            return view(rest)

        return route

    return {
        "bare": (_wsgi_call(make_app(None)), environs),
        "helper": (_wsgi_call(make_app(require_jwt(authenticator))), environs),
        "by hand": (_wsgi_call(make_app(by_hand)), environs),
        # authenticate on the same requests, each timed right after a bare Flask request (with
        # time_pass_amid and the bare route): what it costs amid Flask's work.
        "amid": (authenticator.authenticate, requests),
    }


def _wsgi_call(app: Any) -> Callable[[dict[str, Any]], None]:
    def call(environ: dict[str, Any]) -> None:
        status: list[str] = []

        def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
            status.append(line)

        body = app(dict(environ), start_response)
        try:
            for _ in body:
                pass
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        if not status[0].startswith("200"):
            raise AssertionError(f"the Flask route answered {status[0]}")

    return call


def time_pass_amid(
    between: Callable[..., Any],
    between_items: Sequence[tuple[Any, ...]],
    call: Callable[..., Any],
    items: Sequence[tuple[Any, ...]],
    chunk: int = CHUNK,
) -> list[int]:
    """Like :func:`timing.time_pass`, with ``between(*between_items[i])`` run, untimed, before
    each ``call(*items[i])``; return each chunk's nanoseconds, the calls' alone.

    With the bare route's pass as ``between``, it times ``authenticate`` as a route runs it:
    after the framework's own work for the request, in a processor whose caches that work has
    just filled. Each call is timed on its own (two clock readings, some 60 ns, more than
    :func:`~timing.time_pass` pays).
    """
    times = []
    clock = time.perf_counter_ns
    with paused_gc():
        for first in range(0, len(items), chunk):
            elapsed = 0
            for index in range(first, min(first + chunk, len(items))):
                between(*between_items[index])
                start = clock()
                call(*items[index])
                elapsed += clock() - start
            times.append(elapsed)
    return times


def starlette_passes(
    authenticator: atlassian_jwt.Authenticator, requests: Items
) -> dict[str, tuple[Callable[..., Any], Items]] | None:
    """Return the bare, the guarded and the by-hand Starlette route; ``None`` without Starlette.

    The calls are coroutine functions; time them with :func:`time_async_pass`.
    """
    try:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        from atlassian_jwt.integrations.starlette_ext import require_jwt
    except ImportError:
        return None
    from urllib.parse import unquote_to_bytes

    auth = require_jwt(authenticator)

    async def bare(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def guarded(request: Request) -> PlainTextResponse:
        await auth(request)
        return PlainTextResponse("ok")

    async def by_hand(request: Request) -> PlainTextResponse:
        scope = request.scope
        authorization = next(
            (
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name == b"authorization"
            ),
            None,
        )
        query = scope["query_string"]
        target = scope["raw_path"] + b"?" + query if query else scope["raw_path"]
        authenticator.authenticate(
            scope["method"],
            target.decode(),
            {"Authorization": authorization} if authorization else {},
        )
        return PlainTextResponse("ok")

    scopes: Items = []
    for method, url, headers in requests:
        path, _, query = url.partition("?")
        raw_path = path.encode()
        scopes.append(
            (
                {
                    "type": "http",
                    "asgi": {"version": "3.0", "spec_version": "2.3"},
                    "http_version": "1.1",
                    "method": method,
                    "scheme": "https",
                    "path": unquote_to_bytes(raw_path).decode("utf-8", "replace"),
                    "raw_path": raw_path,
                    "query_string": query.encode(),
                    "root_path": "",
                    "headers": [
                        (b"host", b"app.example.com"),
                        *(
                            (name.lower().encode(), value.encode())
                            for name, value in headers.items()
                        ),
                    ],
                    "client": ("127.0.0.1", 50000),
                    "server": ("app.example.com", 443),
                },
            )
        )

    def app(endpoint: Callable[[Request], Awaitable[PlainTextResponse]]) -> Any:
        return _asgi_call(Starlette(routes=[Route("/{rest:path}", endpoint, methods=METHODS)]))

    return {
        "bare": (app(bare), scopes),
        "helper": (app(guarded), scopes),
        "by hand": (app(by_hand), scopes),
    }


def _asgi_call(app: Any) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def call(scope: dict[str, Any]) -> None:
        status: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        await app(dict(scope), receive, send)
        if status != [200]:
            raise AssertionError(f"the Starlette route answered {status}")

    return call


class EventLoop:
    """The one event loop the ASGI passes run in, kept up between passes (see the docstring)."""

    loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        if cls.loop is None:
            cls.loop = asyncio.new_event_loop()
        return cls.loop

    @classmethod
    def close(cls) -> None:
        if cls.loop is not None:
            cls.loop.run_until_complete(cls.loop.shutdown_default_executor())
            cls.loop.close()
            cls.loop = None


def time_async_pass(
    call: Callable[..., Awaitable[Any]], items: Sequence[tuple[Any, ...]], chunk: int = CHUNK
) -> list[int]:
    """Like :func:`timing.time_pass`, for a coroutine function: awaited in turn, in the loop."""

    async def timed() -> list[int]:
        times = []
        clock = time.perf_counter_ns
        with paused_gc():
            for batch in batches(items, chunk):
                start = clock()
                for args in batch:
                    await call(*args)
                times.append(clock() - start)
        return times

    return EventLoop.get().run_until_complete(timed())
