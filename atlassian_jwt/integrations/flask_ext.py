"""Verify Atlassian's requests to a Flask app: a view decorator and ready lifecycle routes.

::

    from flask import Flask, g
    from atlassian_jwt.integrations.flask_ext import require_jwt

    app = Flask(__name__)
    auth = MyAuthenticator(...)          # any atlassian_jwt.Authenticator

    @app.get("/issue-panel")
    @require_jwt(auth)
    def issue_panel():
        client_key, claims = g.atlassian_jwt
        ...

A rejected token answers 401, and a key that could not be fetched or a tenant store that
fails answers 503, with a bare body; the failure's ``code`` is logged (logger
``atlassian_jwt.integrations``), never the token.

**Forge.** Routes that Forge calls (a remote resolver, ``invokeRemote``) take
:func:`require_forge`, and Forge's events and scheduled triggers one
:func:`forge_event_view`, beside the Connect routes of the same app::

    forge = ForgeInvocationVerifier(FORGE_APP_ID)
    events = ForgeEventDispatcher(forge, store)

    @app.post("/forge/summary")
    @require_forge(forge, store=store)      # keeps the app token for background work
    def summary():
        invocation = g.forge                # a ForgeInvocation
        tenant = connect_tenant(invocation, store)   # Connect on Forge
        ...

    app.add_url_rule("/forge/events", view_func=forge_event_view(events), methods=["POST"])

**Under a prefix.** The path hashed is the whole path the server received (``RAW_URI`` or
``REQUEST_URI``), minus the path of the Authenticator's ``base_url`` and nothing else:
``SCRIPT_NAME`` is not removed, whether ``DispatcherMiddleware`` or ``ProxyFix(x_prefix=...)``
set it. An app mounted at ``/app`` whose descriptor ``baseUrl`` is
``https://apps.example.com/app`` passes ``base_url="https://apps.example.com/app"`` to its
Authenticator (and the lifecycle handler gets that base URL as its ``app_base_url``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from .._extras import missing_extra

try:
    from flask import Blueprint, Request, Response, g
    from flask import request as current_request
except ImportError as error:  # pragma: no cover - exercised by the noextras environment
    raise missing_extra("atlassian_jwt.integrations.flask_ext", ("flask", "Flask")) from error

from ..authenticate import Authenticator, AuthResult
from ..forge import ForgeEventDispatcher, ForgeInvocation, ForgeInvocationVerifier
from ..lifecycle import LIFECYCLE_EVENTS, OnEvent
from ..tenants import TenantStore
from ..tokens import Headers
from ._incoming import (
    FAILURES,
    FORGE_SCHEME,
    FailureResponse,
    LifecycleRequest,
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
    wsgi_target,
)

__all__ = [
    "LIFECYCLE_EVENTS",
    "authenticate_request",
    "forge_event_view",
    "lifecycle_blueprint",
    "require_forge",
    "require_jwt",
    "verify_forge",
]

F = TypeVar("F", bound=Callable[..., Any])


def authenticate_request(
    authenticator: Authenticator,
    request: Request | None = None,
    *,
    allow_context_qsh: bool = False,
    include_form_body: bool = False,
) -> AuthResult:
    """Verify the token of a Flask request (the current one by default).

    The URL is the raw target the server received (``RAW_URI``/``REQUEST_URI``), its whole
    path; the core removes the path of the Authenticator's ``base_url``, and nothing else is.
    Method, target and ``Authorization`` header (the only one
    :meth:`~atlassian_jwt.Authenticator.authenticate` reads) are read from the WSGI environ
    itself, without the request's own parsing; an Authenticator that overrides 3.0.0's
    ``_get_token`` hook is given all the request's headers.

    :param authenticator: the :class:`~atlassian_jwt.Authenticator` that knows the tenants.
    :param request: the request; by default the one being handled.
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
    req = current_request if request is None else request
    environ = req.environ
    body_params = None
    if include_form_body and should_hash_form(req.mimetype):
        body_params = _form_body(req)
    # As werkzeug reads them (Request.method, EnvironHeaders), from the environ directly;
    # the request's header object only for an Authenticator that may read any header.
    headers: Headers | None
    if reads_authorization_only(authenticator):
        authorization = environ.get("HTTP_AUTHORIZATION")
        headers = {"Authorization": authorization} if authorization is not None else None
    else:
        headers = req.headers
    return authenticator.authenticate(
        environ.get("REQUEST_METHOD", "GET"),
        wsgi_target(environ),
        headers,
        allow_context_qsh=allow_context_qsh,
        body_params=body_params,
    )


def require_jwt(
    authenticator: Authenticator,
    *,
    allow_context_qsh: bool = False,
    include_form_body: bool = False,
) -> Callable[[F], F]:
    """Decorate a view so that it runs only for a request with a valid Atlassian token.

    The view finds ``AuthResult(client_key, claims)`` in ``flask.g.atlassian_jwt``.

    :param authenticator: the :class:`~atlassian_jwt.Authenticator` that knows the tenants.
    :param allow_context_qsh: also accept context tokens. Only for routes the app's own front
        end calls; never for iframe pages, webhooks or lifecycle callbacks.
    :param include_form_body: include the fields of a form-encoded body in the ``qsh``, and
        refuse a ``multipart/form-data`` body, whose fields would not be signed.
    :raises TypeError: at once, if ``authenticator`` is not an Authenticator (a
        ``ForgeInvocationVerifier`` belongs to :func:`require_forge`).
    """
    check_authenticator(authenticator, "require_jwt")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                g.atlassian_jwt = authenticate_request(
                    authenticator,
                    allow_context_qsh=allow_context_qsh,
                    include_form_body=include_form_body,
                )
            except FAILURES as error:
                return _response(failure_response(error))
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def verify_forge(
    verifier: ForgeInvocationVerifier,
    request: Request | None = None,
    *,
    store: TenantStore | None = None,
) -> ForgeInvocation:
    """Verify the Forge invocation of a Flask request (the current one by default).

    :param verifier: the app's :class:`~atlassian_jwt.ForgeInvocationVerifier`.
    :param request: the request; by default the one being handled.
    :param store: if given, the invocation's app token is kept there for background work
        (:func:`~atlassian_jwt.forge.keep_app_token`).
    :returns: the :class:`~atlassian_jwt.ForgeInvocation`.
    :raises DecodeError: for every rejection.
    :raises KeyFetchError: if Forge's key set cannot be fetched.
    :raises TenantStoreError: if the store cannot be used.
    :raises TypeError: if ``verifier`` is not a ForgeInvocationVerifier.
    """
    check_forge_verifier(verifier, "verify_forge")
    req = current_request if request is None else request
    return verify_forge_request(verifier, req.headers, store)


def require_forge(
    verifier: ForgeInvocationVerifier, *, store: TenantStore | None = None
) -> Callable[[F], F]:
    """Decorate a view so that it runs only for a request with a valid Forge invocation token.

    The view finds the :class:`~atlassian_jwt.ForgeInvocation` in ``flask.g.forge``. A rejected
    token answers 401 (``WWW-Authenticate: Bearer``); Forge's key set or the store not usable,
    503; only the failure's ``code`` is logged.

    :param verifier: the app's :class:`~atlassian_jwt.ForgeInvocationVerifier`.
    :param store: if given, each invocation's app token is kept there for background work.
    :raises TypeError: at once, if ``verifier`` is not a ForgeInvocationVerifier (an
        ``Authenticator`` belongs to :func:`require_jwt`).
    """
    check_forge_verifier(verifier, "require_forge")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                g.forge = verify_forge(verifier, store=store)
            except FAILURES as error:
                return _response(failure_response(error, scheme=FORGE_SCHEME))
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def forge_event_view(dispatcher: ForgeEventDispatcher) -> Callable[[], Response]:
    """Return a view that hands Forge's event deliveries to ``dispatcher``.

    Add it with ``app.add_url_rule(path, view_func=forge_event_view(dispatcher),
    methods=["POST"])``, ``path`` being the ``route.path`` of the manifest's endpoint. It
    answers what the dispatcher decides (200, 202, 400, 413, 500: see
    :class:`~atlassian_jwt.forge.ForgeEventDispatcher`), 401 for a rejected token and 503 when
    Forge's key set or the store cannot be used.

    :raises TypeError: at once, if ``dispatcher`` is not a ForgeEventDispatcher.
    """
    check_event_dispatcher(dispatcher, "forge_event_view")

    def forge_events() -> Response:
        req = current_request
        try:
            answer = dispatcher.handle(req.headers, req.get_data(cache=False))
        except FAILURES as error:
            return _response(failure_response(error, scheme=FORGE_SCHEME))
        return Response(answer.body, status=answer.status, headers=answer.headers)

    return forge_events


def lifecycle_blueprint(
    handler: Any,
    paths: Mapping[str, str] | None = None,
    *,
    name: str = "atlassian_lifecycle",
    url_prefix: str | None = None,
    on_event: OnEvent | None = None,
) -> Blueprint:
    """Return a blueprint with a ``POST`` route for each lifecycle callback.

    Each route passes the request (method, raw URL, headers, raw body) to the handler's method
    of the same name — ``handler.installed(http_method, url, headers, body)`` and so on, as
    :class:`atlassian_jwt.lifecycle.LifecycleHandler` has them — and answers 204 when it
    returns, 401 on a :class:`~atlassian_jwt.DecodeError`, 503 on a
    :class:`~atlassian_jwt.KeyFetchError` or a :class:`~atlassian_jwt.tenants.TenantStoreError`.

    The handler gets the whole URL the server received, as :func:`authenticate_request` hashes
    it: its authenticators remove the path of the app's base URL.

    :param handler: the lifecycle handler, which verifies each callback before it stores,
        replaces or removes anything.
    :param paths: a route for some events other than ``/<event>`` (the descriptor's
        ``lifecycle`` URLs), e.g. ``{"installed": "/lifecycle/installed"}``.
    :param on_event: called as ``on_event(event, result)`` once a callback is verified (and
        the store updated), e.g. to act on ``enabled``/``disabled``, which change no tenant.
    :raises ValueError: if ``paths`` names something that is not a lifecycle event.
    """
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)
    for event, route in lifecycle_paths(paths).items():
        blueprint.add_url_rule(
            route,
            event,
            _lifecycle_view(event, getattr(handler, event), on_event),
            methods=["POST"],
        )
    return blueprint


def _lifecycle_view(
    event: str, callback: Callable[..., AuthResult], on_event: OnEvent | None
) -> Callable[[], Response]:
    def view() -> Response:
        failed = run_lifecycle_callback(event, callback, on_event, _lifecycle_request)
        return Response(status=204) if failed is None else _response(failed)

    return view


def _lifecycle_request() -> LifecycleRequest:
    req = current_request
    return req.method, wsgi_target(req.environ), req.headers, req.get_data(cache=True)


def _response(failed: FailureResponse) -> Response:
    return Response(
        failed.body, status=failed.status, mimetype="text/plain", headers=failed.headers
    )


def _form_body(req: Request) -> bytes | dict[str, Sequence[str]]:
    # The raw body when nothing has parsed the form yet (the core then parses it as the Java
    # servlet side does); once werkzeug has consumed the stream, its parsed fields.
    if "form" in req.__dict__:
        return {name: values for name, values in req.form.lists()}
    return signed_form_body(req.get_data(cache=True), req.content_type)
