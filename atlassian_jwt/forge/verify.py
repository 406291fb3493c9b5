"""Verify Forge invocation tokens (FIT), which Forge sends to an app's remote back end.

A Forge Remote (or "Connect on Forge") back end receives ``Authorization: Bearer <FIT>``: an
RS256 token signed with a key from Atlassian's JWKS, issued by ``forge/invocation-token`` to the
app's ARI (``ari:cloud:ecosystem::app/<app id>``). It carries no ``qsh``: it does not sign the
request's method, path or body.

**Size.** A FIT carries the call's context, which for some modules (macros, issue panels with
their extension data) runs to several kilobytes; Atlassian has discussed header sizes because of
it. Tokens up to :data:`DEFAULT_MAX_FIT_LENGTH` characters (16 KiB) are accepted, longer ones
refused before any decoding (``token_too_large``); ``max_token_length`` changes the cap. The
web server in front of the app has its own limit on a header's size, often lower (gunicorn
8190 bytes per header, ``--limit-request-field_size``; uvicorn with h11 16 KiB for all headers
together, ``--h11-max-incomplete-event-size``; nginx ``large_client_header_buffers``): raise
it too.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

import jwt

from .. import exceptions as exc
from .._http import Transport
from ..keys import DEFAULT_KEY_TIMEOUT, fetch, load_rsa_public_key, require_crypto
from ..tokens import Headers, TokenVerifier, parse_token, token_from_headers
from ..url_utils import check_service_url
from .invocation import ForgeInvocation

__all__ = [
    "APP_ARI_PREFIX",
    "DEFAULT_FORGE_LEEWAY",
    "DEFAULT_MAX_FIT_LENGTH",
    "DEFAULT_MAX_JWKS_BYTES",
    "FORGE_ALGORITHMS",
    "FORGE_ISSUER",
    "FORGE_JWKS_URLS",
    "FORGE_REQUIRED_CLAIMS",
    "REFRESH_INTERVAL",
    "ForgeInvocationVerifier",
]

#: Atlassian's JWKS for invocation tokens, by environment; configuration, never from a request.
FORGE_JWKS_URLS: Mapping[str, str] = {
    "production": "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json",
    "staging": "https://forge.cdn.stg.atlassian-dev.net/.well-known/jwks.json",
}

#: The ``iss`` of every Forge invocation token.
FORGE_ISSUER = "forge/invocation-token"

#: An app's ARI, its tokens' ``aud``, is this prefix followed by the app id.
APP_ARI_PREFIX = "ari:cloud:ecosystem::app/"

#: Seconds of clock skew allowed by default.
DEFAULT_FORGE_LEEWAY = 30

#: Invocation tokens carry the call's context and run to a few kilobytes; a token longer than
#: this many characters (16 KiB) is refused before any decoding. ``max_token_length`` changes it.
DEFAULT_MAX_FIT_LENGTH = 16 * 1024

#: Forge's key set holds a few RSA keys, a few kilobytes; a larger answer is refused unread.
DEFAULT_MAX_JWKS_BYTES = 256 * 1024

#: At most one forced JWKS refresh per this many seconds for tokens whose ``kid`` is unknown,
#: so that tokens with made-up key ids cannot make us fetch the key set on every request.
REFRESH_INTERVAL = 30.0

#: The claims every invocation token must carry.
FORGE_REQUIRED_CLAIMS = ("iss", "aud", "exp")

#: The algorithms of an invocation token: RS256, with a key from Atlassian's JWKS.
FORGE_ALGORITHMS = ("RS256",)

_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_MAX_KID_LENGTH = 256


class ForgeInvocationVerifier:
    """Verify the Forge invocation token of a request to the app's remote back end.

    ::

        forge = atlassian_jwt.ForgeInvocationVerifier("8db8e2c8-1b2d-4f3e-9a6b-0c1d2e3f4a5b")

        try:
            invocation = forge.verify_request(request.headers)
        except atlassian_jwt.KeyFetchError:
            ...  # answer 503: the JWKS is unreachable
        except atlassian_jwt.DecodeError:
            ...  # answer 401

    :meth:`verify_request` returns a :class:`~atlassian_jwt.ForgeInvocation` (the context, the
    OAuth tokens, the trace ids); :meth:`verify` returns the bare claims.

    The key set is fetched with PyJWT's :class:`jwt.PyJWKClient` and cached by it (five
    minutes); a token whose ``kid`` is not in the cached set triggers a refresh at most once
    every :data:`REFRESH_INTERVAL` seconds. Requests that need the key set while it is being
    downloaded wait for that one download and share its result or its failure, so an
    unreachable JWKS costs each of them at most ``timeout``, however many arrive together. The
    download itself goes through the same capped transport as Atlassian's install keys: no
    redirects, at most ``max_jwks_bytes``, ``timeout`` for the whole download, headers
    included (not the DNS lookup; see :class:`~atlassian_jwt.keys.AtlassianKeyProvider`).

    :param app_id: the app's id, as in ``manifest.yml``: the bare id or the whole ARI
        (``ari:cloud:ecosystem::app/<id>``). The token's ``aud`` must be that ARI.
    :param environment: ``"production"`` or ``"staging"``; see :data:`FORGE_JWKS_URLS`.
    :param jwks_url: another JWKS URL, replacing the environment's: ``https://`` only, except
        plain ``http://`` to a loopback address (a test server).
    :param leeway: seconds of clock skew allowed for ``exp``, ``nbf`` and ``iat``.
    :param timeout: seconds allowed for the whole download of the key set, from connecting to
        the last byte, headers included.
    :param max_token_length: tokens longer than this many characters are refused before any
        decoding; see :data:`DEFAULT_MAX_FIT_LENGTH`. It also caps the ``x-forge-oauth-*``
        headers that :meth:`verify_request` reads.
    :param max_jwks_bytes: a key set larger than this is refused (a ``KeyFetchError``).
    :param transport: how the key set is downloaded (see :class:`atlassian_jwt.Transport`):
        the standard library by default, whatever else is installed.
    :raises ImportError: if ``cryptography`` is not installed.
    :raises ValueError: for an unusable ``app_id``, environment or ``jwks_url``.
    """

    def __init__(
        self,
        app_id: str,
        *,
        environment: str = "production",
        jwks_url: str | None = None,
        leeway: float = DEFAULT_FORGE_LEEWAY,
        timeout: float = DEFAULT_KEY_TIMEOUT,
        max_token_length: int = DEFAULT_MAX_FIT_LENGTH,
        max_jwks_bytes: int = DEFAULT_MAX_JWKS_BYTES,
        transport: Transport | None = None,
    ) -> None:
        require_crypto()
        if not isinstance(app_id, str):
            raise ValueError("app_id must be a string")
        bare_id = app_id[len(APP_ARI_PREFIX) :] if app_id.startswith(APP_ARI_PREFIX) else app_id
        if not _APP_ID.fullmatch(bare_id):
            raise ValueError(f"app_id is not a Forge app id or app ARI: {app_id!r}")
        if environment not in FORGE_JWKS_URLS:
            raise ValueError(f"environment must be one of {sorted(FORGE_JWKS_URLS)}")
        if not timeout > 0 or not math.isfinite(timeout):
            raise ValueError("timeout must be a positive number of seconds")
        if max_jwks_bytes <= 0:
            raise ValueError("max_jwks_bytes must be positive")
        self.app_ari = APP_ARI_PREFIX + bare_id
        self.jwks_url = (
            check_service_url(jwks_url, "jwks_url") if jwks_url else FORGE_JWKS_URLS[environment]
        )
        self.max_token_length = max_token_length
        self._jwks = _CappedJWKClient(self.jwks_url, timeout, max_jwks_bytes, transport)
        self._verifier = TokenVerifier(
            FORGE_ALGORITHMS,
            FORGE_REQUIRED_CLAIMS,
            leeway,
            audience=self.app_ari,
            issuer=FORGE_ISSUER,
        )
        self._refresh_lock = threading.Lock()
        self._last_refresh = -math.inf

    @property
    def leeway(self) -> float:
        """The clock skew allowed, in seconds."""
        return self._verifier.leeway

    def verify(self, headers_or_token: Headers | str | None) -> dict[str, Any]:
        """Verify an invocation token and return its claims.

        :param headers_or_token: the request headers (the token is taken from
            ``Authorization: Bearer <FIT>``, name and scheme case-insensitive), or the token
            itself, bare or as ``"Bearer <FIT>"``.
        :returns: the verified claims (``app``, ``context``, ``principal``, ...).
        :raises DecodeError: (a :class:`~atlassian_jwt.exceptions.TokenRejectedError`) for
            every rejection: no token, not RS256, no or unknown ``kid``, bad signature, wrong
            ``iss`` or ``aud``, expired.
        :raises KeyFetchError: if the key set cannot be fetched or read: answer 503.
        """
        token = parse_token(_token(headers_or_token), self.max_token_length)
        header = token.header
        if header.get("alg") not in FORGE_ALGORITHMS:
            raise exc.AlgorithmNotAllowedError("Forge invocation tokens must be signed with RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > _MAX_KID_LENGTH:
            raise exc.MalformedTokenError("The token has no usable kid header")
        return self._verifier.verify(token, self._key(kid))

    def verify_request(self, headers: Headers | None) -> ForgeInvocation:
        """Verify the invocation token of a request and return the whole invocation.

        Verifies the token as :meth:`verify` does, then requires the context the remote
        contract says every invocation carries (``app.id``, which must be this app,
        ``app.installationId`` and ``app.apiBaseUrl``, which must be ``https://``), and reads
        the ``x-forge-oauth-system``/``x-forge-oauth-user`` tokens and the ``x-b3-*`` ids from
        the same headers.

        :param headers: the request headers (a mapping, or ``(name, value)`` pairs as ASGI
            gives them): ``Authorization: Bearer <FIT>``, and the others Forge sends.
        :returns: the :class:`~atlassian_jwt.ForgeInvocation`.
        :raises DecodeError: (a :class:`~atlassian_jwt.exceptions.TokenRejectedError`) for
            every rejection of :meth:`verify`;
            :class:`~atlassian_jwt.exceptions.ForgeContextMissingError` and
            :class:`~atlassian_jwt.exceptions.ForgeContextInvalidError` for a genuine token
            without usable context, or an ``x-forge-oauth-*`` header that is not a bearer
            token.
        :raises KeyFetchError: if the key set cannot be fetched or read: answer 503.
        """
        if headers is None or isinstance(headers, str):
            # A bare token has no headers to read the OAuth tokens and trace ids from.
            raise exc.TokenMissingError("No request headers with Authorization: Bearer")
        claims = self.verify(headers)
        try:
            return ForgeInvocation.from_verified_claims(
                claims, headers, app_ari=self.app_ari, max_token_length=self.max_token_length
            )
        except exc.TokenRejectedError as error:
            error.signature_verified = True
            raise

    def _key(self, kid: str) -> Any:
        try:
            found = self._jwks.match_kid(self._jwks.get_signing_keys(), kid)
            if found is None and self._may_refresh():
                found = self._jwks.match_kid(self._jwks.get_signing_keys(refresh=True), kid)
        except exc.KeyFetchError:
            raise
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, jwt.PyJWKError):
            raise exc.KeyFetchError("Forge's key set is not a usable JWKS") from None
        if found is None:
            raise exc.UnknownKeyError("Forge's key set has no key with the token's kid")
        try:
            return load_rsa_public_key(found.key)
        except ValueError:
            raise exc.UnknownKeyError(
                "Forge's key set has no RSA key with the token's kid"
            ) from None

    def _may_refresh(self) -> bool:
        with self._refresh_lock:
            now = time.monotonic()
            if now - self._last_refresh < REFRESH_INTERVAL:
                return False
            self._last_refresh = now
            return True


class _CappedJWKClient(jwt.PyJWKClient):
    """PyJWT's JWKS client, downloading through :func:`atlassian_jwt.keys.fetch`, once at a time.

    PyJWT reads the whole answer, however large, and does not lock its cache; only
    :meth:`fetch_data` is replaced, so PyJWT's key set cache and key selection stay as they
    are. Callers of :meth:`fetch_data` while a download is under way wait for it and share its
    key set or its exception: one download, one ``timeout``, for all of them. As PyJWT's own
    does (2.10.1 and later), :meth:`fetch_data` stores the JSON object in the key set cache and
    returns it, but only once it reads as a key set: a broken answer neither replaces the
    cached set nor lets PyJWT 2.10.1's ``TypeError`` or ``AttributeError`` out.

    :raises KeyFetchError: (from :meth:`fetch_data`) when the download fails: unreachable,
        too slow, too large, a redirect, or any status but 200.
    :raises PyJWKClientError: when the answer is not a JSON key set.
    """

    def __init__(
        self, uri: str, timeout: float, max_bytes: int, transport: Transport | None = None
    ) -> None:
        super().__init__(uri, timeout=timeout)
        self.max_bytes = max_bytes
        self.transport = transport
        self._flight: Future[Any] | None = None
        self._flight_lock = threading.Lock()

    def fetch_data(self) -> Any:
        with self._flight_lock:
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = Future()
        if not leader:
            return flight.result()
        try:
            data = self._download()
        except BaseException as error:
            flight.set_exception(error)
            raise
        else:
            flight.set_result(data)
            return data
        finally:
            # After the result is set: a caller that comes now joins a finished flight rather
            # than starting a second download.
            with self._flight_lock:
                self._flight = None

    def _download(self) -> Any:
        status, body = fetch(self.uri, self.timeout, self.max_bytes, self.transport)
        if status != 200:
            raise exc.KeyFetchError(f"Forge's key set server answered HTTP {status}")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise jwt.PyJWKClientError("Forge's key set is not JSON") from None
        if not isinstance(data, dict):
            raise jwt.PyJWKClientError("Forge's key set is not a JSON object")
        try:
            jwt.PyJWKSet.from_dict(data)
        except Exception:  # PyJWT 2.10.1 lets TypeError and others out of malformed keys
            raise jwt.PyJWKClientError("Forge's key set is not a usable JWKS") from None
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(data)
        return data


def _token(headers_or_token: Headers | str | None) -> str:
    if isinstance(headers_or_token, str):
        parts = headers_or_token.split()
        if len(parts) == 2 and parts[0].lower() == "bearer":
            return parts[1]
        if len(parts) == 1:
            return parts[0]
        raise exc.MalformedTokenError("Expected a token or 'Bearer <token>'")
    token = token_from_headers(headers_or_token, scheme="bearer")
    if token is None:
        raise exc.TokenMissingError("No Authorization: Bearer header")
    return token
