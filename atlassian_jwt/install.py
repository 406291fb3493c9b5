"""Authenticate Atlassian's signed ``installed`` and ``uninstalled`` callbacks (RS256).

The install callback is where an app receives a tenant's ``sharedSecret``, so it must not trust
it blindly: since October 2021 Jira and Confluence sign these callbacks with Atlassian's RSA
key (``kid`` in the header), address them to the app's base URL (``aud``), name the tenant in
``iss`` and bind them to the request with ``qsh``. :class:`InstallAuthenticator` checks all of
it before the caller may store anything from the body.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Union

from . import exceptions as exc
from .authenticate import REQUIRED_CLAIMS, AuthResult, check_qsh
from .keys import (
    AtlassianKeyProvider,
    KeyProvider,
    is_valid_kid,
    load_rsa_public_key,
    require_crypto,
)
from .tokens import (
    DEFAULT_MAX_TOKEN_LENGTH,
    Headers,
    TokenVerifier,
    parse_token,
    rejecting_malformed_url,
    token_from_headers,
)
from .url_utils import base_path, canonical_request, parse_params, split_url

__all__ = [
    "DEFAULT_INSTALL_LEEWAY",
    "INSTALL_ALGORITHMS",
    "INSTALL_REQUIRED_CLAIMS",
    "InstallAuthenticator",
    "LifecycleBody",
    "parse_lifecycle_body",
]

#: Seconds of clock skew allowed by default: what Atlassian's own Java reader allows.
DEFAULT_INSTALL_LEEWAY = 30

#: The body of a lifecycle callback: the raw JSON (bytes or text) or the parsed object.
LifecycleBody = Union[bytes, str, Mapping[str, Any]]

#: The algorithms of a signed install token: Atlassian's RSA key. (A lifecycle call signed
#: with the shared secret, HS256, is accepted only with the stored secret.)
INSTALL_ALGORITHMS = ("RS256",)

#: The claims a signed install token must carry: a Connect token's, and ``aud``, since it is
#: what stops a token that Atlassian issued to another app from being replayed to this one.
#: (A lifecycle call signed with the shared secret is bound to the tenant by the secret
#: itself, and needs only a Connect token's.)
INSTALL_REQUIRED_CLAIMS = (*REQUIRED_CLAIMS, "aud")


class InstallAuthenticator:
    """Verify ``installed`` and ``uninstalled`` callbacks before trusting their body.

    ::

        installs = atlassian_jwt.InstallAuthenticator("https://my-app.example.com")

        def installed(method, url, headers, body):
            try:
                client_key, claims = installs.authenticate(method, url, headers, body)
            except atlassian_jwt.KeyFetchError:
                return 503  # Atlassian's key server is unreachable: Atlassian will retry
            except atlassian_jwt.DecodeError:
                return 401
            tenants[client_key] = json.loads(body)  # only now: a reinstall replaces the secret
            return 204

    :param app_base_url: the ``baseUrl`` of the app's descriptor, or several of them for an app
        served from more than one. The token's ``aud`` must name one of them (a trailing slash
        either side does not matter); the path of that base is removed before hashing.
    :param key_provider: where Atlassian's public keys come from; by default
        ``AtlassianKeyProvider("production")``.
    :param leeway: seconds of clock skew allowed for ``exp``, ``nbf`` and ``iat``.
    :param max_token_length: tokens longer than this are refused before any decoding.
    :raises ImportError: if ``cryptography`` is not installed.
    :raises ValueError: if a base URL is not an absolute ``http(s)://`` URL.
    """

    def __init__(
        self,
        app_base_url: str | Iterable[str],
        *,
        key_provider: KeyProvider | None = None,
        leeway: float = DEFAULT_INSTALL_LEEWAY,
        max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
    ) -> None:
        require_crypto()
        bases = [app_base_url] if isinstance(app_base_url, str) else list(app_base_url)
        if not bases:
            raise ValueError("app_base_url must name at least one base URL")
        self.app_base_urls = tuple(dict.fromkeys(_normalised_base(base) for base in bases))
        self.key_provider = key_provider if key_provider is not None else AtlassianKeyProvider()
        self.max_token_length = max_token_length
        audiences = [url for base in self.app_base_urls for url in (base, base + "/")]
        # The path of each base, which the qsh of a callback to it is computed without.
        self._base_paths = {base: base_path(base) for base in self.app_base_urls}
        self._rs256 = TokenVerifier(
            INSTALL_ALGORITHMS, INSTALL_REQUIRED_CLAIMS, leeway, audience=audiences
        )
        self._hs256 = TokenVerifier(("HS256",), REQUIRED_CLAIMS, leeway)
        # The last key that load_rsa_public_key accepted. Loaded keys are immutable, so when
        # the provider returns that same object again (as the key providers do from their
        # caches), it needs no second check.
        self._checked_key: object = None

    @property
    def leeway(self) -> float:
        """The clock skew allowed, in seconds."""
        return self._rs256.leeway

    def authenticate(
        self,
        http_method: str,
        url: str,
        headers: Headers | None,
        body: LifecycleBody,
        *,
        shared_secret: str | bytes | None = None,
    ) -> AuthResult:
        """Verify a lifecycle callback; return the tenant's client key and the claims.

        In this order: the body must be a JSON object with a ``clientKey``; the token comes
        from ``Authorization: JWT <token>``; its ``alg`` must be RS256 (HS256 only with
        ``shared_secret``); its ``kid`` must match :data:`~atlassian_jwt.keys.KID_PATTERN`
        before the key provider sees it; the signature must verify with that key; ``iss``,
        ``iat``, ``exp``, ``qsh`` and ``aud`` are required and the times checked with the
        leeway; ``aud`` must name the app's base URL; ``iss`` must equal the body's
        ``clientKey``; ``qsh`` must be the hash of this request (never ``context-qsh``).

        :param http_method: the request's method.
        :param url: the request URL as received (raw path and query), absolute or relative.
        :param headers: the request headers: any mapping, or ``(name, value)`` pairs.
        :param body: the callback's JSON body: bytes, text, or the already parsed object.
        :param shared_secret: opt in to lifecycle calls signed with the shared secret
            (HS256): Bitbucket's, and those of instances signing installs the old way. Pass
            the secret you stored for the body's ``clientKey``; without it HS256 is refused.
        :returns: ``AuthResult(client_key, claims)``; ``client_key`` is the body's
            ``clientKey``, now proven to be the token's ``iss``.
        :raises DecodeError: (a :class:`~atlassian_jwt.exceptions.TokenRejectedError`) for
            every rejection, :class:`~atlassian_jwt.exceptions.UnknownKeyError` included.
        :raises KeyFetchError: if Atlassian's key cannot be fetched now: answer 503.
        :raises TypeError: if ``shared_secret`` is neither text nor bytes (a programming error,
            not a bad token).

        .. warning:: Store the body's ``sharedSecret`` only after this returns, and store the
           same body you passed here.
        """
        if shared_secret is not None and not isinstance(shared_secret, (str, bytes)):
            raise TypeError("shared_secret must be the stored secret, as str or bytes")
        with rejecting_malformed_url():
            path, query = split_url(url)
            params = parse_params(query)
        client_key = parse_lifecycle_body(body)["clientKey"]
        raw_token = token_from_headers(headers)
        if raw_token is None:
            raise exc.TokenMissingError("No Authorization: JWT header")

        token = parse_token(raw_token, self.max_token_length)
        header = token.header
        algorithm = header.get("alg")
        if algorithm in INSTALL_ALGORITHMS:
            claims = self._rs256.verify(token, self._key_for(header.get("kid")))
            audience = claims["aud"]
            named = {audience} if isinstance(audience, str) else set(audience)
            # The qsh is relative to the base URL the token was issued for.
            prefixes = [
                prefix
                for base, prefix in self._base_paths.items()
                if base in named or base + "/" in named
            ]
        elif algorithm == "HS256" and shared_secret:
            claims = self._hs256.verify(token, shared_secret)
            prefixes = list(self._base_paths.values())
        else:
            raise exc.AlgorithmNotAllowedError(
                "Lifecycle callbacks must be signed with RS256; HS256 is accepted only with "
                "the tenant's stored shared secret"
            )

        issuer = claims["iss"]
        if not isinstance(issuer, str) or issuer != client_key:
            raise exc.InvalidIssuerError(
                "The token's iss is not the clientKey of the body",
                client_key=client_key,
                signature_verified=True,
            )
        _check_qsh(claims["qsh"], http_method, path, params, prefixes)
        return AuthResult(client_key, claims)

    def _key_for(self, kid: object) -> Any:
        if kid is None:
            raise exc.MalformedTokenError("The token has no kid header")
        if not isinstance(kid, str) or not is_valid_kid(kid):
            raise exc.MalformedTokenError("The token's kid is not a valid key id")
        key = self.key_provider.get_key(kid)
        if key is None:
            raise exc.UnknownKeyError("No public key is known for the token's kid")
        if key is self._checked_key:
            return key
        try:
            checked = load_rsa_public_key(key)
        except ValueError:
            raise exc.KeyFetchError("The key provider returned no RSA public key") from None
        if checked is key:
            self._checked_key = key
        return checked


def _check_qsh(
    token_qsh: object, method: str, path: str, params: dict[str, list[str]], prefixes: list[str]
) -> None:
    """Accept a ``qsh`` computed without any of the base ``prefixes``; else raise the first
    mismatch."""
    first, *others = dict.fromkeys(prefixes)
    for prefix in others:
        try:
            check_qsh(token_qsh, canonical_request(method, path, params, prefix))
        except exc.QshMismatchError:
            continue
        return
    check_qsh(token_qsh, canonical_request(method, path, params, first), signature_verified=True)


def parse_lifecycle_body(body: LifecycleBody) -> dict[str, Any]:
    """Parse a lifecycle callback's body: one JSON object with a ``clientKey``, no name twice.

    JSON as RFC 8259 has it: ``NaN``, ``Infinity`` and numbers too large for a float (which
    Python's parser reads as an infinity) are refused, so that no store fails to write the
    body back as JSON. An already parsed mapping must hold only such JSON values too.

    :param body: the raw JSON (bytes or text) or an already parsed mapping.
    :returns: the body as a dict.
    :raises MalformedRequestError: if it is not valid JSON, not an object, repeats a name,
        holds ``NaN`` or an infinity, or has no non-empty ``clientKey``.
    """
    if isinstance(body, (bytes, str)):
        try:
            if isinstance(body, bytes):
                # What json.loads does with bytes: UTF-8, -16 or -32, by the first bytes.
                body = body.decode(json.detect_encoding(body), "surrogatepass")
            payload = _BODY_DECODER.decode(body)
        except (ValueError, RecursionError):
            raise exc.MalformedRequestError("The callback's body is not valid JSON") from None
    else:
        payload = body
    if not isinstance(payload, Mapping):
        raise exc.MalformedRequestError("The callback's body is not a JSON object")
    if not isinstance(body, (bytes, str)):
        try:
            json.dumps(dict(payload), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            raise exc.MalformedRequestError(
                "The callback's body holds a value that is not JSON (NaN, say)"
            ) from None
    client_key = payload.get("clientKey")
    if not isinstance(client_key, str) or not client_key:
        raise exc.MalformedRequestError("The callback's body has no clientKey")
    return dict(payload)


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two "clientKey"s (or "sharedSecret"s) would let this check read one and the app's own
    # parser, or the tenant store, the other.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate name")
    return result


def _no_constant(name: str) -> Any:
    # NaN, Infinity and -Infinity: JavaScript's, not JSON's.
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999, say: a float reads it as an infinity
        raise ValueError("a number too large")
    return value


# Made once: json.loads with a hook would make a decoder on every call.
_BODY_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_names, parse_constant=_no_constant, parse_float=_finite_float
)


def _normalised_base(url: object) -> str:
    if not isinstance(url, str):
        raise ValueError("app_base_url must be a string or strings")
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("http", "https") or not rest.split("/")[0]:
        raise ValueError(f"app_base_url must be an absolute http(s) URL, not {url!r}")
    return url.rstrip("/")
