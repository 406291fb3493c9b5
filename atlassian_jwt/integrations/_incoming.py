"""What the framework helpers share: the request URL as received, and how a failure answers.

Atlassian hashes the request target it sent, relative to the app's base URL. Frameworks hand
views a *decoded* path (``/a%2Fb`` and ``/a/b`` look alike), so the helpers read the raw target
the server received instead:

* WSGI: ``RAW_URI`` (gunicorn, werkzeug) or ``REQUEST_URI`` (uWSGI, mod_wsgi, werkzeug); a
  server that sets neither (``wsgiref``, Django's ``runserver``) only gives the decoded
  ``PATH_INFO``, which is re-encoded as clients encode paths, and the raw ``QUERY_STRING``;
* ASGI: ``raw_path`` and ``query_string``; the decoded ``path`` re-encoded when a server
  leaves ``raw_path`` out.

Then the base path is removed: the path of the Authenticator's ``base_url`` when it has one
(the core does that), else the framework's mount point (WSGI ``SCRIPT_NAME``, ASGI
``root_path``) when the raw path starts with it.

Nothing here imports a framework, so it is importable (and tested) without any extra.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

from ..exceptions import DecodeError, KeyFetchError, MalformedRequestError
from ..tenants import TenantStoreError
from ..url_utils import split_url

__all__ = [
    "FAILURES",
    "asgi_target",
    "failure",
    "is_form",
    "relative_to_root",
    "wsgi_target",
]

logger = logging.getLogger("atlassian_jwt.integrations")

# RFC 3986 pchar and "/": what a client leaves unencoded in a path. Used only when the server
# gives no raw path; everything else (space, non-ASCII, "%") is percent-encoded, upper-case.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

#: What a helper turns into a response: a rejected token (401); a key server or a tenant store
#: that cannot be used now (503: the token may be genuine, and Atlassian retries).
FAILURES = (DecodeError, KeyFetchError, TenantStoreError)

#: The status and body each failure answers with: nothing more, so as to help no attacker.
UNAUTHORIZED = (401, "Unauthorized")
UNAVAILABLE = (503, "Service Unavailable")


def wsgi_target(environ: Mapping[str, Any], decoded_path: str | None = None) -> str:
    """Return the request target a WSGI server received: the raw path and raw query string.

    :param decoded_path: the whole decoded path as text, for a framework that has replaced
        ``PATH_INFO`` in the environ with text (Django); by default ``SCRIPT_NAME`` +
        ``PATH_INFO`` as PEP 3333 has them. Only used when there is no raw URI.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        path, query = _split(_wsgi_text(raw))
    else:
        if decoded_path is None:
            # SCRIPT_NAME + PATH_INFO is the whole path as the server saw it, decoded.
            decoded = _wsgi_bytes(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
        else:
            decoded = decoded_path.encode("utf-8", "surrogateescape")
        path = _reencode(decoded)
        query = _wsgi_text(environ.get("QUERY_STRING", ""))
    return _join(path, query)


def asgi_target(scope: Mapping[str, Any]) -> str:
    """Return the request target an ASGI server received: ``raw_path`` and ``query_string``."""
    raw = scope.get("raw_path")
    if isinstance(raw, (bytes, bytearray)) and raw:
        # Some servers have put the query string in raw_path too; the query is query_string.
        path = _utf8_text(bytes(raw).partition(b"?")[0])
    else:
        path = _reencode(str(scope.get("path", "/")).encode("utf-8", "surrogateescape"))
    query = scope.get("query_string") or b""
    # Django's test AsyncClient passes text, against the ASGI spec; text is taken as it is.
    return _join(path, query if isinstance(query, str) else _utf8_text(bytes(query)))


def relative_to_root(target: str, root: str, authenticator: object) -> str:
    """Remove the app's mount point ``root`` (decoded) from the raw ``target``.

    Only when the Authenticator has no ``base_url``: with one, its path is the app's base path
    and the core removes it, so removing ``root`` as well would remove the prefix twice. The
    root is removed only at a segment boundary, compared with the raw segments decoded.
    """
    if getattr(authenticator, "base_url", None) is not None:
        return target
    root = root.rstrip("/")
    if not root:
        return target
    path, query = _split(target)
    segments = len(root.split("/"))
    head = "/".join(path.split("/")[:segments])
    rest = path[len(head) :]
    if unquote(head, errors="replace") != root or (rest and not rest.startswith("/")):
        return target
    return _join(rest or "/", query)


def is_form(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` is ``application/x-www-form-urlencoded`` (any parameters)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def failure(error: Exception) -> tuple[int, str]:
    """Log a failed authentication by its ``code`` only, and return the status and body to send.

    :param error: one of :data:`FAILURES`: a :class:`~atlassian_jwt.DecodeError` (401), or a
        :class:`~atlassian_jwt.KeyFetchError` or
        :class:`~atlassian_jwt.tenants.TenantStoreError` (503). Neither the token, the secret
        nor the URL (which may carry the token) is logged.
    """
    if isinstance(error, (KeyFetchError, TenantStoreError)):
        code = getattr(error, "code", "store_unavailable")
        logger.warning("Atlassian JWT not verified, answering 503: %s", code)
        return UNAVAILABLE
    if isinstance(error, DecodeError):
        logger.info("Atlassian JWT rejected, answering 401: %s", getattr(error, "code", "rejected"))
        return UNAUTHORIZED
    raise TypeError(f"not an authentication failure: {type(error).__name__}") from error


def _split(url: str) -> tuple[str, str]:
    try:
        return split_url(url)
    except ValueError:
        raise MalformedRequestError("The request URL is not valid text") from None


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
