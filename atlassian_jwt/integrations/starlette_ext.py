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
``request.state.atlassian_jwt``. The Authenticator runs in a worker thread, since looking up a
secret may read a database, unless its
:attr:`~atlassian_jwt.authenticate.Authenticator.lookup_blocks` is ``False`` (an in-memory
lookup; a :class:`~atlassian_jwt.tenants.MemoryTenantStore`'s): then it runs inline, which
saves the thread hop. The lifecycle handler always runs in a worker
thread.

**Forge.** A route that Forge calls (a remote resolver, ``invokeRemote``) depends on
:func:`require_forge`, which returns the :class:`~atlassian_jwt.ForgeInvocation` and puts it in
``request.state.forge``; Forge's events and scheduled triggers go to one
:func:`forge_event_endpoint`. Connect and Forge routes live side by side::

    forge = ForgeInvocationVerifier(FORGE_APP_ID)
    events = ForgeEventDispatcher(forge, store)
    app.router.routes.append(
        Route("/forge/events", forge_event_endpoint(events), methods=["POST"])
    )

    @app.post("/forge/summary")
    async def summary(invocation: ForgeInvocation = Depends(require_forge(forge, store=store))):
        tenant = connect_tenant(invocation, store)   # Connect on Forge (blocking: a thread)
        ...

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
from ..forge import ForgeEventDispatcher, ForgeInvocation, ForgeInvocationVerifier
from ..lifecycle import LIFECYCLE_EVENTS, OnEvent
from ..tenants import TenantStore
from ._incoming import (
    FAILURES,
    FORGE_SCHEME,
    FailureResponse,
    LifecycleRequest,
    asgi_target,
    check_authenticator,
    check_event_dispatcher,
    check_forge_verifier,
    failure_response,
    lifecycle_paths,
    reads_authorization_only,
    run_lifecycle_callback,
    should_hash_form,
    signed_form_body,
    verify_forge_request,
)

__all__ = [
    "LIFECYCLE_EVENTS",
    "authenticate_request",
    "forge_event_endpoint",
    "lifecycle_routes",
    "require_forge",
    "require_jwt",
    "verify_forge",
]


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
    is. :meth:`~atlassian_jwt.Authenticator.authenticate` is given the request's
    ``Authorization`` headers (all its headers, if the Authenticator overrides 3.0.0's
    ``_get_token`` hook), and runs in a worker thread unless the Authenticator's
    :attr:`~atlassian_jwt.authenticate.Authenticator.lookup_blocks` is ``False``.

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
    :raises TypeError: if ``authenticator`` is not an Authenticator.
    """
    check_authenticator(authenticator, "authenticate_request")
    body_params: bytes | dict[str, list[str]] | None = None
    if include_form_body and should_hash_form(request.headers.get("content-type")):
        body_params = await _form_body(request)
    scope = request.scope
    # The Authorization headers alone, read from the scope: the only ones authenticate reads,
    # without building Starlette's Headers.
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if reads_authorization_only(authenticator):
        headers = [pair for pair in headers if pair[0] == b"authorization"]
    if authenticator.lookup_blocks:
        return await run_in_threadpool(
            authenticator.authenticate,
            scope["method"],
            asgi_target(scope),
            headers,
            allow_context_qsh=allow_context_qsh,
            body_params=body_params,
        )
    return authenticator.authenticate(
        scope["method"],
        asgi_target(scope),
        headers,
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
    :raises TypeError: at once, if ``authenticator`` is not an Authenticator (a
        ``ForgeInvocationVerifier`` belongs to :func:`require_forge`).
    """
    check_authenticator(authenticator, "require_jwt")

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


async def verify_forge(
    verifier: ForgeInvocationVerifier,
    request: Request,
    *,
    store: TenantStore | None = None,
) -> ForgeInvocation:
    """Verify the Forge invocation of a Starlette request, in a worker thread.

    :param verifier: the app's :class:`~atlassian_jwt.ForgeInvocationVerifier`.
    :param request: the request.
    :param store: if given, the invocation's app token is kept there for background work
        (:func:`~atlassian_jwt.forge.keep_app_token`).
    :returns: the :class:`~atlassian_jwt.ForgeInvocation`.
    :raises DecodeError: for every rejection.
    :raises KeyFetchError: if Forge's key set cannot be fetched.
    :raises TenantStoreError: if the store cannot be used.
    :raises TypeError: if ``verifier`` is not a ForgeInvocationVerifier.
    """
    check_forge_verifier(verifier, "verify_forge")
    return await run_in_threadpool(verify_forge_request, verifier, request.headers, store)


def require_forge(
    verifier: ForgeInvocationVerifier, *, store: TenantStore | None = None
) -> Callable[[Request], Awaitable[ForgeInvocation]]:
    """Return an async dependency that verifies the request's Forge invocation token.

    It returns the :class:`~atlassian_jwt.ForgeInvocation` and puts it in
    ``request.state.forge``. A rejected token raises ``HTTPException(401)`` with
    ``WWW-Authenticate: Bearer``; Forge's key set or the store not usable,
    ``HTTPException(503)``; only the failure's ``code`` is logged.

    :param verifier: the app's :class:`~atlassian_jwt.ForgeInvocationVerifier`.
    :param store: if given, each invocation's app token is kept there for background work.
    :returns: ``async (request) -> ForgeInvocation``.
    :raises TypeError: at once, if ``verifier`` is not a ForgeInvocationVerifier (an
        ``Authenticator`` belongs to :func:`require_jwt`).
    """
    check_forge_verifier(verifier, "require_forge")

    async def forge(request: Request) -> ForgeInvocation:
        try:
            invocation = await verify_forge(verifier, request, store=store)
        except FAILURES as error:
            failed = failure_response(error, scheme=FORGE_SCHEME)
            raise HTTPException(failed.status, failed.body, headers=failed.headers) from None
        request.state.forge = invocation
        return invocation

    return forge


def forge_event_endpoint(
    dispatcher: ForgeEventDispatcher,
) -> Callable[[Request], Awaitable[Response]]:
    """Return an endpoint that hands Forge's event deliveries to ``dispatcher``.

    Route it with ``Route(path, forge_event_endpoint(dispatcher), methods=["POST"])``, ``path``
    being the ``route.path`` of the manifest's endpoint. It answers what the dispatcher decides
    (200, 202, 400, 413, 500: see :class:`~atlassian_jwt.forge.ForgeEventDispatcher`), 401 for
    a rejected token and 503 when Forge's key set or the store cannot be used. ``async def``
    handlers run on the event loop, others in the dispatcher's threads.

    :raises TypeError: at once, if ``dispatcher`` is not a ForgeEventDispatcher.
    """
    check_event_dispatcher(dispatcher, "forge_event_endpoint")

    async def forge_events(request: Request) -> Response:
        body = await request.body()
        try:
            answer = await dispatcher.handle_async(request.headers, body)
        except FAILURES as error:
            return _response(failure_response(error, scheme=FORGE_SCHEME))
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    return forge_events


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
        body = await request.body()
    except RuntimeError:
        fields: dict[str, list[str]] = {}
        for name, value in (await request.form()).multi_items():
            if isinstance(value, str):
                fields.setdefault(name, []).append(value)
        return fields
    return signed_form_body(body, request.headers.get("content-type"))
