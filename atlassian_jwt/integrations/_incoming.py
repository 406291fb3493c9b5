"""What the framework helpers share: the request URL as received, the form rule, the answers.

**The hashed path.** Atlassian hashes the request target it sent, relative to the app's base
URL. The helpers hash the whole path the server received, and the core then removes exactly the
path of the Authenticator's ``base_url`` (when it has one) and nothing else: not a framework's
mount point (ASGI ``root_path``, WSGI ``SCRIPT_NAME``, Django's ``FORCE_SCRIPT_NAME``), nor
anything a middleware or a request header decides (werkzeug's ``ProxyFix`` sets ``SCRIPT_NAME``
from ``X-Forwarded-Prefix``). Were the mount point removed, a token signed for ``/settings``
would open ``/admin/settings`` of an app mounted at ``/admin``. An app served under a prefix
(a ``Mount``, ``DispatcherMiddleware``, a proxy path) whose descriptor ``baseUrl`` includes
that prefix sets ``base_url`` to that ``baseUrl``.

Frameworks hand views a *decoded* path (``/a%2Fb`` and ``/a/b`` look alike), so the raw target
is read instead:

* WSGI: ``RAW_URI`` (gunicorn, werkzeug) or ``REQUEST_URI`` (uWSGI, mod_wsgi, werkzeug). A
  server that sets neither (``wsgiref``, Django's ``runserver``, waitress) only gives the
  decoded ``SCRIPT_NAME`` + ``PATH_INFO``, which are re-encoded as clients encode paths, with
  the raw ``QUERY_STRING``; there ``SCRIPT_NAME`` is all that tells the path, so a request on
  which werkzeug's ``ProxyFix`` has replaced it from ``X-Forwarded-Prefix`` is refused;
* ASGI: ``raw_path`` and ``query_string``; the decoded ``path`` re-encoded when a server leaves
  ``raw_path`` out. Both include the ``root_path`` (uvicorn's ``--root-path`` adds it to them).

**Signed forms.** A route that asks for its form to be signed hashes the fields of an
``application/x-www-form-urlencoded`` body, the only body Atlassian's signers hash. A
``multipart/form-data`` body there is refused: frameworks parse its fields into
``request.form``, ``request.POST`` or FastAPI's ``Form()``, and none of them would be signed.

**The answers.** A rejected token answers 401 with ``WWW-Authenticate`` (``JWT`` on a Connect
route, ``Bearer`` on a Forge one); a key server or a tenant store that cannot be used now
answers 503, since the token may be genuine and Atlassian retries. Only the failure's ``code``
is logged.

**Connect and Forge side by side.** The Connect helpers take an
:class:`~atlassian_jwt.Authenticator`, the Forge ones a
:class:`~atlassian_jwt.ForgeInvocationVerifier` (or a
:class:`~atlassian_jwt.forge.ForgeEventDispatcher`); each refuses the other kind with a
``TypeError`` when the route is defined, naming the helper to use, rather than failing on the
first request.

Nothing here imports a framework, so it is importable (and tested) without any extra.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import quote, unquote_to_bytes

from ..authenticate import Authenticator, AuthResult
from ..exceptions import DecodeError, KeyFetchError, MalformedRequestError
from ..forge import ForgeEventDispatcher, ForgeInvocation, ForgeInvocationVerifier, keep_app_token
from ..lifecycle import LIFECYCLE_EVENTS, OnEvent
from ..tenants import TenantStore, TenantStoreError
from ..tokens import Headers, rejecting_malformed_url
from ..url_utils import content_type_parameter, is_form, media_type, split_url

__all__ = [
    "FAILURES",
    "FAILURE_STATUSES",
    "FORGE_SCHEME",
    "FailureResponse",
    "LifecycleRequest",
    "asgi_target",
    "check_authenticator",
    "check_event_dispatcher",
    "check_forge_verifier",
    "failure_response",
    "lifecycle_paths",
    "reads_authorization_only",
    "run_lifecycle_callback",
    "should_hash_form",
    "signed_form_body",
    "verify_forge_request",
    "wsgi_target",
]

logger = logging.getLogger("atlassian_jwt.integrations")

# RFC 3986 pchar and "/": what a client leaves unencoded in a path. Used only when the server
# gives no raw path; everything else (space, non-ASCII, "%") is percent-encoded, upper-case.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

# werkzeug's ProxyFix keeps the environ values it may replace under this key; with x_prefix it
# replaces SCRIPT_NAME with the request's X-Forwarded-Prefix.
_PROXY_FIX_ORIGINAL = "werkzeug.proxy_fix.orig"

#: The status each kind of failure answers with, first match wins: a key server or a tenant
#: store that cannot be used now 503 (the token may be genuine, and Atlassian retries), a
#: rejection 401. Any verifier's errors fall into these.
FAILURE_STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (KeyFetchError, 503),
    (TenantStoreError, 503),
    (DecodeError, 401),
)

#: What a helper turns into a response rather than letting it through.
FAILURES: tuple[type[Exception], ...] = tuple(kind for kind, _ in FAILURE_STATUSES)


class FailureResponse(NamedTuple):
    """The response to a failed verification, for a helper to build in its framework's type."""

    #: 401 or 503.
    status: int
    #: The status's reason phrase and nothing more, so as to help no attacker.
    body: str
    #: ``WWW-Authenticate`` on a 401; nothing on a 503.
    headers: dict[str, str]


def failure_response(error: Exception, *, scheme: str = "JWT") -> FailureResponse:
    """Log a failed verification by its ``code`` only, and return the response to send.

    :param error: one of :data:`FAILURES`: a :class:`~atlassian_jwt.DecodeError` (401), or a
        :class:`~atlassian_jwt.KeyFetchError` or
        :class:`~atlassian_jwt.tenants.TenantStoreError` (503). Neither the token, the secret
        nor the URL (which may carry the token) is logged.
    :param scheme: the ``WWW-Authenticate`` challenge of a 401: the scheme of the
        ``Authorization`` header the route expects.
    :returns: the status, the bare body and the headers.
    :raises TypeError: if ``error`` is none of :data:`FAILURES`.
    """
    status = next((status for kind, status in FAILURE_STATUSES if isinstance(error, kind)), None)
    if status is None:
        raise TypeError(f"not an authentication failure: {type(error).__name__}") from error
    if status == 401:
        logger.info("Atlassian JWT rejected, answering 401: %s", getattr(error, "code", "rejected"))
        headers = {"WWW-Authenticate": scheme}
    else:
        code = getattr(error, "code", "store_unavailable")
        logger.warning("Atlassian JWT not verified, answering %d: %s", status, code)
        headers = {}
    return FailureResponse(status, http.HTTPStatus(status).phrase, headers)


#: The ``WWW-Authenticate`` challenge of a Forge route's 401: its token is a bearer token.
FORGE_SCHEME = "Bearer"


def check_authenticator(authenticator: object, helper: str) -> None:
    """Refuse, when a route is defined, anything but an Authenticator for a Connect helper.

    :param helper: the helper's name, for the message.
    :raises TypeError: for a ``ForgeInvocationVerifier`` (with the helper to use instead) or
        anything else that is not an :class:`~atlassian_jwt.Authenticator`.
    """
    if isinstance(authenticator, Authenticator):
        return
    if isinstance(authenticator, ForgeInvocationVerifier):
        raise TypeError(
            f"{helper} verifies Connect JWTs and needs an atlassian_jwt.Authenticator; a "
            "ForgeInvocationVerifier verifies Forge invocations: use require_forge for this route"
        )
    raise TypeError(
        f"{helper} needs an atlassian_jwt.Authenticator, not {type(authenticator).__name__}"
    )


def reads_authorization_only(authenticator: Authenticator) -> bool:
    """Whether ``authenticator`` finds a request's token in its ``Authorization`` header alone
    (or its query), so that a helper may give it that one header rather than all of them.

    False for a subclass that overrides 3.0.0's ``_get_token`` hook, which may read any header.
    """
    return type(authenticator)._get_token is Authenticator._get_token


def check_forge_verifier(verifier: object, helper: str) -> None:
    """Refuse, when a route is defined, anything but a ForgeInvocationVerifier for a Forge
    helper.

    :raises TypeError: for an :class:`~atlassian_jwt.Authenticator` (with the helper to use
        instead) or anything else that is not a ``ForgeInvocationVerifier``.
    """
    if isinstance(verifier, ForgeInvocationVerifier):
        return
    if isinstance(verifier, Authenticator):
        raise TypeError(
            f"{helper} verifies Forge invocation tokens and needs a ForgeInvocationVerifier; an "
            "Authenticator verifies Connect JWTs: use require_jwt for this route"
        )
    raise TypeError(
        f"{helper} needs an atlassian_jwt.ForgeInvocationVerifier, not {type(verifier).__name__}"
    )


def check_event_dispatcher(dispatcher: object, helper: str) -> None:
    """Refuse, when a route is defined, anything but a ForgeEventDispatcher.

    :raises TypeError: otherwise, naming what to pass.
    """
    if not isinstance(dispatcher, ForgeEventDispatcher):
        raise TypeError(
            f"{helper} needs an atlassian_jwt.forge.ForgeEventDispatcher (made with the "
            f"ForgeInvocationVerifier and the tenant store), not {type(dispatcher).__name__}"
        )


def verify_forge_request(
    verifier: ForgeInvocationVerifier, headers: Headers | None, store: TenantStore | None
) -> ForgeInvocation:
    """Verify a Forge invocation and, given a store, keep its app token there.

    :raises DecodeError: for every rejection.
    :raises KeyFetchError: if Forge's key set cannot be fetched.
    :raises TenantStoreError: if the store cannot be used.
    """
    invocation = verifier.verify_request(headers)
    if store is not None:
        keep_app_token(invocation, store)
    return invocation


def wsgi_target(environ: Mapping[str, Any], decoded_path: str | None = None) -> str:
    """Return the request target a WSGI server received: the raw path and raw query string.

    The whole path, mount point included; see the module's notes.

    :param environ: the WSGI environ.
    :param decoded_path: the whole decoded path as text, for a framework that has replaced
        ``SCRIPT_NAME`` and ``PATH_INFO`` in the environ (Django); by default ``SCRIPT_NAME`` +
        ``PATH_INFO`` as PEP 3333 has them. Only used when there is no raw URI.
    :returns: the path and, if any, ``?`` and the query.
    :raises MalformedRequestError: if the target is not UTF-8 text, or if there is no raw URI
        and a middleware has set ``SCRIPT_NAME`` from a request header.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        if raw.isascii() and raw[:1] == "/" and "#" not in raw and raw[-1:] != "?":
            # The usual target, which the steps below give back as it is.
            return raw
        path, query = _split_request_url(_wsgi_text(raw))
    else:
        if _script_name_from_header(environ):
            raise MalformedRequestError(
                "The path the request was received at is not known: the server gives no raw "
                "URI and SCRIPT_NAME was set from X-Forwarded-Prefix"
            )
        if decoded_path is None:
            # SCRIPT_NAME + PATH_INFO is the whole path as the server saw it, decoded.
            decoded = _wsgi_bytes(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        else:
            decoded = decoded_path.encode("utf-8", "surrogateescape")
        path = _reencode(decoded)
        query = _wsgi_text(environ.get("QUERY_STRING", ""))
    return _join(path, query)


def asgi_target(scope: Mapping[str, Any]) -> str:
    """Return the request target an ASGI server received: ``raw_path`` and ``query_string``.

    The whole path, mount point included: a ``Mount`` only adds to ``root_path``, which is not
    removed.

    :param scope: the ASGI connection scope.
    :returns: the path and, if any, ``?`` and the query.
    """
    raw = scope.get("raw_path")
    if isinstance(raw, (bytes, bytearray)) and raw:
        # Some servers have put the query string in raw_path too; the query is query_string.
        path = _utf8_text(bytes(raw).partition(b"?")[0])
    else:
        path = _reencode(str(scope.get("path", "/")).encode("utf-8", "surrogateescape"))
    query = scope.get("query_string") or b""
    # Django's test AsyncClient passes text, against the ASGI spec; text is taken as it is.
    return _join(path, query if isinstance(query, str) else _utf8_text(bytes(query)))


def should_hash_form(content_type: str | None) -> bool:
    """Whether to hash the body of a request to a route whose signer hashed its form.

    :param content_type: the media type as the framework's own form parser reads it (Flask's
        ``request.mimetype``, Django's ``request.content_type``), or the ``Content-Type``
        header.
    :returns: ``True`` for an ``application/x-www-form-urlencoded`` body; ``False`` for a body
        that no framework reads as form fields (JSON, say, or none).
    :raises MalformedRequestError: for a ``multipart/`` body. Frameworks hand its fields to the
        view (``request.form``, ``request.POST``, FastAPI's ``Form()``) and no signer hashes
        them, so the route would get form fields that were not signed.
    """
    if media_type(content_type).startswith("multipart/"):
        raise MalformedRequestError(
            "A signed form must be application/x-www-form-urlencoded: the fields of a "
            "multipart body are not signed"
        )
    return is_form(content_type)


def signed_form_body(body: bytes, content_type: str | None) -> bytes:
    """Return a form body to hash, refusing one that a framework could read otherwise.

    The ``qsh`` hashes a form body's fields as UTF-8 text (as the products sign them, and as
    :func:`~atlassian_jwt.url_utils.merge_body_params` reads them), while the frameworks read
    other bytes their own ways: Starlette takes raw bytes as latin-1, Django decodes by the
    ``charset`` the request declares, and an invalid escape becomes U+FFFD for some. So that
    the view's fields are exactly the signed ones, a signed form body must be ASCII, its
    escapes valid UTF-8 and its declared ``charset``, if any, UTF-8; an ASCII body's fields
    are then one text for every reader.

    :param body: the raw body of an ``application/x-www-form-urlencoded`` request.
    :param content_type: its ``Content-Type`` header.
    :returns: ``body``.
    :raises MalformedRequestError: for any other body.
    """
    charset = content_type_parameter(content_type, "charset")
    try:
        if charset not in (None, "utf-8", "utf8") or not body.isascii():
            raise ValueError
        if b"%" in body:
            # An escape's bytes stand within one name or value ("&" and "=" are ASCII), so
            # the whole body decodes as UTF-8 exactly when every field does.
            unquote_to_bytes(body).decode("utf-8")
    except ValueError:
        raise MalformedRequestError(
            "A signed form body must be UTF-8, with its non-ASCII text percent-encoded"
        ) from None
    return body


def lifecycle_paths(paths: Mapping[str, str] | None, prefix: str = "/") -> dict[str, str]:
    """Return the route of each lifecycle event: ``prefix`` + its name, unless ``paths`` says.

    :param paths: routes for some events, from the descriptor's ``lifecycle`` URLs.
    :param prefix: what goes before an event's name by default.
    :returns: a route for each of :data:`~atlassian_jwt.lifecycle.LIFECYCLE_EVENTS`, in order.
    :raises ValueError: if ``paths`` names something that is not a lifecycle event, which would
        otherwise leave that event on its default route, silently.
    """
    unknown = sorted(set(paths or ()) - set(LIFECYCLE_EVENTS))
    if unknown:
        raise ValueError(
            f"Not lifecycle events: {', '.join(unknown)}; the events are "
            f"{', '.join(LIFECYCLE_EVENTS)}"
        )
    return {event: (paths or {}).get(event, prefix + event) for event in LIFECYCLE_EVENTS}


#: What a lifecycle route hands its handler: the method, the URL as received
#: (:func:`wsgi_target`, :func:`asgi_target`), the headers and the raw body.
LifecycleRequest = tuple[str, str, Any, bytes]


def run_lifecycle_callback(
    event: str,
    callback: Callable[..., AuthResult],
    on_event: OnEvent | None,
    read_request: Callable[[], LifecycleRequest],
) -> FailureResponse | None:
    """Hand a lifecycle request to the handler, then tell the app; ``None`` means 204.

    :param event: the lifecycle event, one of
        :data:`~atlassian_jwt.lifecycle.LIFECYCLE_EVENTS`.
    :param callback: the handler's method for the event, which verifies the request before it
        changes anything.
    :param on_event: called as ``on_event(event, result)`` once the request is verified.
    :param read_request: returns what the handler is given; a rejection it raises (a URL that
        is not text, say) is answered as the handler's would be.
    :returns: the response to a failure (:func:`failure_response`), else ``None``.
    """
    try:
        result = callback(*read_request())
    except FAILURES as error:
        return failure_response(error)
    if on_event is not None:
        on_event(event, result)
    return None


def _script_name_from_header(environ: Mapping[str, Any]) -> bool:
    original = environ.get(_PROXY_FIX_ORIGINAL)
    if not isinstance(original, Mapping) or not environ.get("HTTP_X_FORWARDED_PREFIX"):
        return False
    return bool((environ.get("SCRIPT_NAME") or "") != (original.get("SCRIPT_NAME") or ""))


def _split_request_url(url: str) -> tuple[str, str]:
    with rejecting_malformed_url():
        return split_url(url)


def _join(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def _wsgi_bytes(text: str) -> bytes:
    # PEP 3333: environ strings carry the request's bytes as latin-1 code points.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:  # a server that put real text there
        return text.encode("utf-8", "surrogateescape")


def _wsgi_text(text: str) -> str:
    return _utf8_text(_wsgi_bytes(text))


def _utf8_text(data: bytes) -> str:
    # Bytes that are not UTF-8 become lone surrogates, which the core refuses as a malformed
    # request rather than hashing something other than what was sent.
    return data.decode("utf-8", "surrogateescape")


def _reencode(path: bytes) -> str:
    return quote(path, safe=_PATH_SAFE)
