"""Verify Atlassian's requests to a Django app: middleware, a view decorator, lifecycle URLs.

Name the Authenticator in the settings, as a dotted path to an instance (or to a function
returning one)::

    ATLASSIAN_JWT_AUTHENTICATOR = "myapp.auth.authenticator"
    MIDDLEWARE = [..., "atlassian_jwt.integrations.django_ext.AtlassianJWTMiddleware"]

Then decorate each view that Atlassian (or the app's own front end) calls::

    from atlassian_jwt.integrations.django_ext import require_jwt

    @require_jwt()
    def issue_panel(request):
        client_key, claims = request.atlassian_jwt
        ...

``require_jwt`` works without the middleware. The middleware adds ``request.atlassian_jwt``
to every request (``None`` when there is no token) and verifies any request that carries a
token, so that a view can read who is calling without requiring it; a view marked with
:func:`jwt_exempt` (the lifecycle views are) is left alone.

A rejected token answers 401, and a key that could not be fetched or a tenant store that
fails answers 503, with a bare body; the failure's ``code`` is logged (logger
``atlassian_jwt.integrations``), never the token. Views decorated with :func:`require_jwt` are
exempt from Django's CSRF check: Atlassian's POSTs carry no CSRF cookie, and the token (sent
explicitly, never by the browser on its own) stands in for it.

**Forge.** Views that Forge calls (a remote resolver, ``invokeRemote``) take
:func:`forge_required`, which puts the :class:`~atlassian_jwt.ForgeInvocation` in
``request.forge``; Forge's events and scheduled triggers go to one :func:`forge_event_view`.
Both are exempt from the CSRF check and from the middleware, and live beside the Connect views::

    forge = ForgeInvocationVerifier(FORGE_APP_ID)
    events = ForgeEventDispatcher(forge, store)

    @forge_required(forge, store=store)    # keeps the app token for background work
    def summary(request):
        tenant = connect_tenant(request.forge, store)   # Connect on Forge
        ...

    urlpatterns = [path("forge/summary", summary), path("forge/events", forge_event_view(events))]

**Under a prefix.** The path hashed is the whole path the server received (``RAW_URI`` or
``REQUEST_URI`` under WSGI, ``raw_path`` under ASGI), minus the path of the Authenticator's
``base_url`` and nothing else: neither ``SCRIPT_NAME`` nor ``FORCE_SCRIPT_NAME`` nor the ASGI
``root_path`` is removed. A site served at ``/app`` whose descriptor ``baseUrl`` is
``https://apps.example.com/app`` passes ``base_url="https://apps.example.com/app"`` to its
Authenticator. Where the server gives no raw URI (``runserver``), the path is the server's
``SCRIPT_NAME`` + ``PATH_INFO``; with ``FORCE_SCRIPT_NAME`` set, which replaces the server's
``SCRIPT_NAME``, it is ``PATH_INFO`` alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar, cast

from .._extras import missing_extra

try:
    from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.http import HttpRequest, HttpResponse
    from django.urls import URLPattern, path
    from django.utils.module_loading import import_string
    from django.views.decorators.csrf import csrf_exempt
    from django.views.decorators.http import require_POST
except ImportError as error:  # pragma: no cover - exercised by the noextras environment
    raise missing_extra("atlassian_jwt.integrations.django_ext", ("django", "Django")) from error

from ..authenticate import Authenticator, AuthResult
from ..forge import ForgeEventDispatcher, ForgeInvocation, ForgeInvocationVerifier
from ..lifecycle import LIFECYCLE_EVENTS, OnEvent
from ..tenants import TenantStore
from ..tokens import token_from_headers
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
    run_lifecycle_callback,
    should_hash_form,
    signed_form_body,
    verify_forge_request,
    wsgi_target,
)

__all__ = [
    "LIFECYCLE_EVENTS",
    "AtlassianJWTMiddleware",
    "authenticate_request",
    "forge_event_view",
    "forge_required",
    "get_authenticator",
    "jwt_exempt",
    "lifecycle_urls",
    "require_jwt",
    "verify_forge",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The setting that names the Authenticator.
SETTING = "ATLASSIAN_JWT_AUTHENTICATOR"


class _Options(NamedTuple):
    allow_context_qsh: bool = False
    include_form_body: bool = False


# What the middleware verifies a token with on a view that did not say: nothing extra allowed.
_STRICT = _Options()


def get_authenticator() -> Authenticator:
    """Return the Authenticator that ``settings.ATLASSIAN_JWT_AUTHENTICATOR`` names.

    :raises django.core.exceptions.ImproperlyConfigured: if the setting is missing.
    """
    dotted = getattr(settings, SETTING, None)
    if not dotted:
        raise ImproperlyConfigured(f"Set {SETTING} to the dotted path of an Authenticator")
    return _load_authenticator(dotted)


@functools.cache
def _load_authenticator(dotted: str) -> Authenticator:
    found = import_string(dotted)
    authenticator = found if hasattr(found, "authenticate") else found()
    return cast(Authenticator, authenticator)


def authenticate_request(
    authenticator: Authenticator | None,
    request: HttpRequest,
    *,
    allow_context_qsh: bool = False,
    include_form_body: bool = False,
) -> AuthResult:
    """Verify the token of a Django request.

    The URL is the raw target the server received (``RAW_URI``/``REQUEST_URI`` under WSGI,
    ``raw_path`` under ASGI), its whole path; the core removes the path of the
    Authenticator's ``base_url``, and nothing else is.

    :param authenticator: the :class:`~atlassian_jwt.Authenticator`; ``None`` for the one the
        settings name.
    :param request: the request.
    :param allow_context_qsh: accept context tokens (``AP.context.getToken()``) too.
    :param include_form_body: hash the fields of an ``application/x-www-form-urlencoded``
        body with the query parameters, for views whose signer included them; a
        ``multipart/form-data`` body is then refused, as its fields would not be signed.
    :returns: ``AuthResult(client_key, claims)``.
    :raises DecodeError: for every rejection.
    :raises KeyFetchError: if the Authenticator could not fetch a key.
    :raises TenantStoreError: if the Authenticator's tenant store fails.
    :raises TypeError: if ``authenticator`` is neither ``None`` nor an Authenticator.
    """
    if authenticator is None:
        authenticator = get_authenticator()
    check_authenticator(authenticator, "authenticate_request")
    body_params = None
    if include_form_body and should_hash_form(request.content_type):
        body_params = _form_body(request)
    return authenticator.authenticate(
        request.method or "GET",
        _target(request),
        request.headers,
        allow_context_qsh=allow_context_qsh,
        body_params=body_params,
    )


def require_jwt(
    authenticator: Authenticator | None = None,
    *,
    allow_context_qsh: bool = False,
    include_form_body: bool = False,
) -> Callable[[F], F]:
    """Decorate a view (sync or async) so that it runs only with a valid Atlassian token.

    The view finds ``AuthResult(client_key, claims)`` in ``request.atlassian_jwt``.

    :param authenticator: by default, the one the settings name.
    :param allow_context_qsh: also accept context tokens. Only for views the app's own front
        end calls; never for iframe pages, webhooks or lifecycle callbacks.
    :param include_form_body: include the fields of a form-encoded body in the ``qsh``, and
        refuse a ``multipart/form-data`` body, whose fields would not be signed.
    :raises TypeError: at once, if ``authenticator`` is neither ``None`` nor an Authenticator
        (a ``ForgeInvocationVerifier`` belongs to :func:`forge_required`).
    """
    if authenticator is not None:
        check_authenticator(authenticator, "require_jwt")
    options = _Options(allow_context_qsh, include_form_body)

    def decorate(view: F) -> F:
        if iscoroutinefunction(view):

            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                denied = await sync_to_async(_verify)(request, authenticator, options)
                return denied or await view(request, *args, **kwargs)

            wrapper: Callable[..., Any] = markcoroutinefunction(async_wrapper)
        else:

            def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return _verify(request, authenticator, options) or view(request, *args, **kwargs)

        wrapper = csrf_exempt(functools.wraps(view)(wrapper))
        wrapper.atlassian_jwt_options = options  # type: ignore[attr-defined]
        wrapper.atlassian_jwt_authenticator = authenticator  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorate


def verify_forge(
    verifier: ForgeInvocationVerifier,
    request: HttpRequest,
    *,
    store: TenantStore | None = None,
) -> ForgeInvocation:
    """Verify the Forge invocation of a Django request.

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
    return verify_forge_request(verifier, request.headers, store)


def forge_required(
    verifier: ForgeInvocationVerifier, *, store: TenantStore | None = None
) -> Callable[[F], F]:
    """Decorate a view (sync or async) so that it runs only with a valid Forge invocation token.

    The view finds the :class:`~atlassian_jwt.ForgeInvocation` in ``request.forge``. A rejected
    token answers 401 (``WWW-Authenticate: Bearer``); Forge's key set or the store not usable,
    503; only the failure's ``code`` is logged. The view is exempt from Django's CSRF check
    (Forge's calls carry no CSRF cookie; the token stands in for it) and from
    :class:`AtlassianJWTMiddleware`.

    :param verifier: the app's :class:`~atlassian_jwt.ForgeInvocationVerifier`.
    :param store: if given, each invocation's app token is kept there for background work.
    :raises TypeError: at once, if ``verifier`` is not a ForgeInvocationVerifier (an
        ``Authenticator`` belongs to :func:`require_jwt`).
    """
    check_forge_verifier(verifier, "forge_required")

    def decorate(view: F) -> F:
        if iscoroutinefunction(view):

            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                denied = await sync_to_async(_verify_forge)(request, verifier, store)
                return denied or await view(request, *args, **kwargs)

            wrapper: Callable[..., Any] = markcoroutinefunction(async_wrapper)
        else:

            def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return _verify_forge(request, verifier, store) or view(request, *args, **kwargs)

        return jwt_exempt(cast(F, csrf_exempt(functools.wraps(view)(wrapper))))

    return decorate


def forge_event_view(dispatcher: ForgeEventDispatcher) -> Callable[[HttpRequest], HttpResponse]:
    """Return a ``POST`` view that hands Forge's event deliveries to ``dispatcher``.

    Route it at the ``route.path`` of the manifest's endpoint. It answers what the dispatcher
    decides (200, 202, 400, 413, 500: see :class:`~atlassian_jwt.forge.ForgeEventDispatcher`),
    401 for a rejected token and 503 when Forge's key set or the store cannot be used; it is
    exempt from the CSRF check and from :class:`AtlassianJWTMiddleware`.

    :raises TypeError: at once, if ``dispatcher`` is not a ForgeEventDispatcher.
    """
    check_event_dispatcher(dispatcher, "forge_event_view")

    def forge_events(request: HttpRequest) -> HttpResponse:
        try:
            answer = dispatcher.handle(request.headers, request.body)
        except FAILURES as error:
            return _response(failure_response(error, scheme=FORGE_SCHEME))
        return HttpResponse(answer.body, status=answer.status, headers=answer.headers)

    checked: Callable[[HttpRequest], HttpResponse] = csrf_exempt(require_POST(forge_events))
    return jwt_exempt(checked)


def jwt_exempt(view: F) -> F:
    """Mark a view that the middleware must leave alone (it verifies its own tokens)."""
    if iscoroutinefunction(view):

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            return await view(*args, **kwargs)

        wrapper: Callable[..., Any] = markcoroutinefunction(async_wrapper)
    else:

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view(*args, **kwargs)

    wrapper = functools.wraps(view)(wrapper)
    wrapper.atlassian_jwt_exempt = True  # type: ignore[attr-defined]
    return cast(F, wrapper)


class AtlassianJWTMiddleware:
    """Give every request ``request.atlassian_jwt``, verifying any token it carries.

    On a view decorated with :func:`require_jwt`, the token is verified with that view's
    options (and the decorator does not verify it again); on any other view, a request that
    carries a token (``Authorization: JWT`` or ``?jwt=``) has it verified with no context
    tokens allowed, and one that carries none gets ``request.atlassian_jwt = None``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.atlassian_jwt = None
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Sequence[Any],
        view_kwargs: Mapping[str, Any],
    ) -> HttpResponse | None:
        if getattr(view_func, "atlassian_jwt_exempt", False):
            return None
        options = getattr(view_func, "atlassian_jwt_options", None)
        if options is None:
            if token_from_headers(request.headers) is None and "jwt" not in request.GET:
                return None
            options = _STRICT
        authenticator = getattr(view_func, "atlassian_jwt_authenticator", None)
        return _verify(request, authenticator, options)


def lifecycle_urls(
    handler: Any,
    paths: Mapping[str, str] | None = None,
    *,
    on_event: OnEvent | None = None,
) -> list[URLPattern]:
    """Return URL patterns with a ``POST`` view for each lifecycle callback.

    Each view passes the request (method, raw URL, headers, raw body) to the handler's method
    of the same name — ``handler.installed(http_method, url, headers, body)`` and so on, as
    :class:`atlassian_jwt.lifecycle.LifecycleHandler` has them — and answers 204 when it
    returns, 401 on a :class:`~atlassian_jwt.DecodeError`, 503 on a
    :class:`~atlassian_jwt.KeyFetchError` or a :class:`~atlassian_jwt.tenants.TenantStoreError`.
    Include them with ``path("atlassian/", include(lifecycle_urls(handler)))``. The handler
    gets the whole URL the server received, as :func:`authenticate_request` hashes it: its
    authenticators remove the path of the app's base URL.

    :param paths: a route for some events other than ``<event>``, e.g.
        ``{"installed": "lifecycle/installed"}``.
    :param on_event: called as ``on_event(event, result)`` once a callback is verified (and
        the store updated), e.g. to act on ``enabled``/``disabled``, which change no tenant.
    :raises ValueError: if ``paths`` names something that is not a lifecycle event.
    """
    return [
        path(
            route,
            _lifecycle_view(event, getattr(handler, event), on_event),
            name=f"atlassian-{event}",
        )
        for event, route in lifecycle_paths(paths, prefix="").items()
    ]


def _lifecycle_view(
    event: str, callback: Callable[..., AuthResult], on_event: OnEvent | None
) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        def read() -> LifecycleRequest:
            return request.method or "POST", _target(request), request.headers, request.body

        failed = run_lifecycle_callback(event, callback, on_event, read)
        return HttpResponse(status=204) if failed is None else _response(failed)

    # The handler verifies the callback's own token (RS256 for installed): no CSRF cookie, no
    # middleware check with the shared-secret Authenticator.
    checked: Callable[[HttpRequest], HttpResponse] = csrf_exempt(require_POST(view))
    return jwt_exempt(checked)


def _verify(
    request: HttpRequest, authenticator: Authenticator | None, options: _Options
) -> HttpResponse | None:
    """Verify the request unless already verified with these options; a response on failure."""
    if getattr(request, "_atlassian_jwt_checked", None) == options:
        return None
    try:
        result = authenticate_request(
            authenticator,
            request,
            allow_context_qsh=options.allow_context_qsh,
            include_form_body=options.include_form_body,
        )
    except FAILURES as error:
        return _response(failure_response(error))
    request.atlassian_jwt = result
    request._atlassian_jwt_checked = options
    return None


def _verify_forge(
    request: HttpRequest, verifier: ForgeInvocationVerifier, store: TenantStore | None
) -> HttpResponse | None:
    """Verify the Forge invocation into ``request.forge``; a response on failure."""
    try:
        request.forge = verify_forge_request(verifier, request.headers, store)
    except FAILURES as error:
        return _response(failure_response(error, scheme=FORGE_SCHEME))
    return None


def _target(request: HttpRequest) -> str:
    scope = getattr(request, "scope", None)
    if isinstance(scope, Mapping):
        return asgi_target(scope)
    # Django replaces SCRIPT_NAME and PATH_INFO in META with text, SCRIPT_NAME with
    # FORCE_SCRIPT_NAME when that is set: then the server's own SCRIPT_NAME is gone, and
    # PATH_INFO is the path the server saw.
    decoded = request.path_info if settings.FORCE_SCRIPT_NAME is not None else request.path
    return wsgi_target(request.META, decoded)


def _response(failed: FailureResponse) -> HttpResponse:
    return HttpResponse(
        failed.body, status=failed.status, content_type="text/plain", headers=failed.headers
    )


def _form_body(request: HttpRequest) -> bytes:
    # Django keeps a form-encoded body after parsing request.POST, so it is always there; the
    # core parses it as the Java servlet side does.
    body: bytes = request.body
    return signed_form_body(body, request.META.get("CONTENT_TYPE"))
