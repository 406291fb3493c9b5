"""Verify Atlassian's requests to a Starlette or FastAPI app: an async dependency, lifecycle routes.

FastAPI::

    from fastapi import Depends, FastAPI
    from atlassian_jwt import AuthResult
    from atlassian_jwt.integrations.starlette_ext import lifecycle_routes, require_jwt

    app = FastAPI()
    app.router.routes.extend(lifecycle_routes(lifecycle_handler))

    @app.get("/issue-panel")
    async def issue_panel(jwt: AuthResult = Depends(require_jwt(authenticator))):
        client_key, claims = jwt
        ...

Starlette: ``auth = require_jwt(authenticator)`` once, then ``jwt = await auth(request)`` in the
endpoint.

A rejected token raises ``HTTPException(401)``, and a key that could not be fetched or a
tenant store that fails ``HTTPException(503)``, with a bare detail; the failure's ``code`` is
logged (logger ``atlassian_jwt.integrations``), never the token. The result is also put in
``request.state.atlassian_jwt``. The Authenticator and the lifecycle handler run in a worker
thread, since they may read a database or fetch a key.

**Under a prefix.** The path hashed is the whole path the server received (``raw_path``),
minus the path of the Authenticator's ``base_url`` and nothing else: the ``root_path`` of a
``Mount``, of FastAPI's ``app.mount`` or of the server (uvicorn's ``--root-path``, which it
also puts in ``raw_path``) is not removed. An app mounted at ``/app`` whose descriptor
``baseUrl`` is ``https://apps.example.com/app`` passes
``base_url="https://apps.example.com/app"`` to its Authenticator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .._extras import missing_extra

try:
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route
except ImportError as error:  # pragma: no cover - exercised by the noextras environment
    raise missing_extra(
        "atlassian_jwt.integrations.starlette_ext", ("starlette", "starlette")
    ) from error

from ..authenticate import Authenticator, AuthResult
from ..lifecycle import LIFECYCLE_EVENTS, OnEvent
from ._incoming import (
    FAILURES,
    FailureResponse,
    LifecycleRequest,
    asgi_target,
    failure_response,
    lifecycle_paths,
    run_lifecycle_callback,
    should_hash_form,
)

__all__ = ["LIFECYCLE_EVENTS", "authenticate_request", "lifecycle_routes", "require_jwt"]


async def authenticate_request(
    authenticator: Authenticator,
    request: Request,
    *,
    allow_context_qsh: bool = False,
    include_form_body: bool = False,
) -> AuthResult:
    """Verify the token of a Starlette request.

    The URL is the raw target the server received (``raw_path`` and ``query_string``), its
    whole path; the core removes the path of the Authenticator's ``base_url``, and nothing else
    is.

    :param authenticator: the :class:`~atlassian_jwt.Authenticator` that knows the tenants.
    :param request: the request.
    :param allow_context_qsh: accept context tokens (``AP.context.getToken()``) too.
    :param include_form_body: hash the fields of an ``application/x-www-form-urlencoded``
        body with the query parameters, for routes whose signer included them; a
        ``multipart/form-data`` body is then refused, as its fields would not be signed.
    :returns: ``AuthResult(client_key, claims)``.
    :raises DecodeError: for every rejection.
    :raises KeyFetchError: if the Authenticator could not fetch a key.
    :raises TenantStoreError: if the Authenticator's tenant store fails.
    """
    body_params: bytes | dict[str, list[str]] | None = None
    if include_form_body and should_hash_form(request.headers.get("content-type")):
        body_params = await _form_body(request)
    return await run_in_threadpool(
        authenticator.authenticate,
        request.method,
        asgi_target(request.scope),
        request.headers,
        allow_context_qsh=allow_context_qsh,
        body_params=body_params,
    )


def require_jwt(
    authenticator: Authenticator,
    *,
    allow_context_qsh: bool = False,
    include_form_body: bool = False,
) -> Callable[[Request], Awaitable[AuthResult]]:
    """Return an async dependency that verifies the request and returns its ``AuthResult``.

    :param authenticator: the :class:`~atlassian_jwt.Authenticator` that knows the tenants.
    :param allow_context_qsh: also accept context tokens. Only for routes the app's own front
        end calls; never for iframe pages, webhooks or lifecycle callbacks.
    :param include_form_body: include the fields of a form-encoded body in the ``qsh``, and
        refuse a ``multipart/form-data`` body (FastAPI's ``Form()`` reads both), whose fields
        would not be signed.
    :returns: ``async (request) -> AuthResult``, raising ``HTTPException`` (401 or 503).
    """

    async def atlassian_jwt(request: Request) -> AuthResult:
        try:
            result = await authenticate_request(
                authenticator,
                request,
                allow_context_qsh=allow_context_qsh,
                include_form_body=include_form_body,
            )
        except FAILURES as error:
            failed = failure_response(error)
            raise HTTPException(failed.status, failed.body, headers=failed.headers) from None
        request.state.atlassian_jwt = result
        return result

    return atlassian_jwt


def lifecycle_routes(
    handler: Any,
    paths: Mapping[str, str] | None = None,
    *,
    on_event: OnEvent | None = None,
) -> list[Route]:
    """Return a ``POST`` route for each lifecycle callback.

    Each route passes the request (method, raw URL, headers, raw body) to the handler's method
    of the same name — ``handler.installed(http_method, url, headers, body)`` and so on, as
    :class:`atlassian_jwt.lifecycle.LifecycleHandler` has them — and answers 204 when it
    returns, 401 on a :class:`~atlassian_jwt.DecodeError`, 503 on a
    :class:`~atlassian_jwt.KeyFetchError` or a :class:`~atlassian_jwt.tenants.TenantStoreError`.
    Add them with ``Starlette(routes=[...])`` or ``app.router.routes.extend(...)`` (FastAPI).
    The handler gets the whole URL the server received, as :func:`authenticate_request` hashes
    it: its authenticators remove the path of the app's base URL.

    :param paths: a route for some events other than ``/<event>``, e.g.
        ``{"installed": "/lifecycle/installed"}``.
    :param on_event: called as ``on_event(event, result)`` (in a worker thread) once a callback
        is verified and the store updated, e.g. to act on ``enabled``/``disabled``.
    :raises ValueError: if ``paths`` names something that is not a lifecycle event.
    """
    return [
        Route(
            route, _lifecycle_endpoint(event, getattr(handler, event), on_event), methods=["POST"]
        )
        for event, route in lifecycle_paths(paths).items()
    ]


def _lifecycle_endpoint(
    event: str, callback: Callable[..., AuthResult], on_event: OnEvent | None
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()

        def read() -> LifecycleRequest:
            return request.method, asgi_target(request.scope), request.headers, body

        failed = await run_in_threadpool(run_lifecycle_callback, event, callback, on_event, read)
        return Response(status_code=204) if failed is None else _response(failed)

    return endpoint


def _response(failed: FailureResponse) -> Response:
    return PlainTextResponse(failed.body, status_code=failed.status, headers=failed.headers)


async def _form_body(request: Request) -> bytes | dict[str, list[str]]:
    # The raw body (the core parses it as the Java servlet side does); once something has read
    # the form from the stream (FastAPI does for Form() parameters), the parsed fields.
    try:
        return await request.body()
    except RuntimeError:
        fields: dict[str, list[str]] = {}
        for name, value in (await request.form()).multi_items():
            if isinstance(value, str):
                fields.setdefault(name, []).append(value)
        return fields
