"""Finding a token in a request, reading it unverified, and verifying it with PyJWT.

The steps every kind of token shares live here, so that the Connect request authenticator, the
signed-install authenticator and the Forge verifier make the same decisions the same way:

* :func:`token_from_headers` finds ``Authorization: <scheme> <token>``;
* :func:`decode_unverified` reads header and claims *without* checking anything, for routing
  (which secret or key to use) and for diagnostics only;
* :class:`TokenVerifier` checks signature and claims with PyJWT, with the algorithms pinned, the
  required claims listed and the leeway explicit, and turns every failure into a
  :class:`~atlassian_jwt.exceptions.TokenRejectedError`.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Union

import jwt

from . import exceptions as exc

__all__ = [
    "DEFAULT_MAX_TOKEN_LENGTH",
    "Headers",
    "TokenVerifier",
    "decode_unverified",
    "token_from_headers",
]

#: Tokens longer than this (in characters) are refused before any decoding. Connect tokens are
#: a few hundred bytes; Forge invocation tokens a few kilobytes.
DEFAULT_MAX_TOKEN_LENGTH = 8192

#: Request headers: any mapping (a dict, a case-insensitive dict, a framework's header object)
#: or an iterable of ``(name, value)`` pairs, as ASGI gives them.
Headers = Union[Mapping[str, str], Iterable[tuple[Union[str, bytes], Union[str, bytes]]]]


def token_from_headers(headers: Headers | None, scheme: str = "jwt") -> str | None:
    """Return the token of the first ``Authorization: <scheme> <token>`` header, if any.

    The header name and the scheme are case-insensitive. Headers with another scheme are
    ignored, so that the caller can fall back to the ``jwt`` query parameter.

    >>> token_from_headers({'authorization': 'JWT abc.def.ghi'})
    'abc.def.ghi'
    >>> token_from_headers({'Authorization': 'Basic dXNlcjpwYXNz'}) is None
    True
    """
    if not headers:
        return None
    # Anything with items() counts as a mapping: werkzeug's Headers, for one, is not registered
    # as a collections.abc.Mapping.
    items = getattr(headers, "items", None)
    pairs: Iterable[Any] = items() if callable(items) else headers
    for pair in pairs:
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        if name.lower() != "authorization":
            continue
        parts = value.split()
        if len(parts) == 2 and parts[0].lower() == scheme:
            return parts[1]
    return None


def decode_unverified(
    token: str, max_length: int = DEFAULT_MAX_TOKEN_LENGTH
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a token's header and claims **without verifying anything**.

    Use the result only to decide how to verify the token (which issuer, which key) or to
    explain it; never trust it.

    :returns: ``(header, claims)``, both JSON objects.
    :raises TokenTooLargeError: if the token is longer than ``max_length``.
    :raises MalformedTokenError: if it is not three base64url segments of which the first two
        are JSON objects.
    """
    header_segment, payload_segment = _segments(token, max_length)[:2]
    return _json_object(header_segment, "header"), _json_object(payload_segment, "payload")


def unverified_claims(token: str, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> dict[str, Any]:
    """Read only the claims of a token, **unverified**; see :func:`decode_unverified`."""
    return _json_object(_segments(token, max_length)[1], "payload")


def unverified_header(token: str, max_length: int = DEFAULT_MAX_TOKEN_LENGTH) -> dict[str, Any]:
    """Read only the header of a token, **unverified**; see :func:`decode_unverified`."""
    return _json_object(_segments(token, max_length)[0], "header")


def _segments(token: object, max_length: int) -> list[str]:
    if not isinstance(token, str):
        raise exc.MalformedTokenError("The token is not a string")
    if len(token) > max_length:
        raise exc.TokenTooLargeError(
            f"The token is {len(token)} characters long, more than the {max_length} allowed",
            length=len(token),
            max_length=max_length,
        )
    segments = token.split(".")
    if len(segments) != 3 or not token.isascii():
        raise exc.MalformedTokenError("The token is not three base64url segments")
    return segments


# base64url to base64, for binascii; the segments are ASCII (checked in _segments).
_FROM_BASE64URL = bytes.maketrans(b"-_", b"+/")


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        # What jwt.utils.base64url_decode does (pad, translate, lenient decode), in one call.
        padded = segment.encode("ascii").translate(_FROM_BASE64URL) + b"=" * (-len(segment) % 4)
        value = json.loads(binascii.a2b_base64(padded))
    except (binascii.Error, ValueError, RecursionError):
        # ValueError covers invalid JSON and invalid UTF-8; RecursionError, deeply nested JSON.
        raise exc.MalformedTokenError(f"The token {what} is not base64url-encoded JSON") from None
    if not isinstance(value, dict):
        raise exc.MalformedTokenError(f"The token {what} is not a JSON object")
    return value


# PyJWT's exceptions, most specific first, and the rejection each becomes.
_TRANSLATIONS: tuple[tuple[type[Exception], type[exc.TokenRejectedError], str], ...] = (
    (
        jwt.InvalidAlgorithmError,
        exc.AlgorithmNotAllowedError,
        "The token's algorithm is not allowed",
    ),
    (jwt.InvalidSignatureError, exc.InvalidSignatureError, "The token's signature is invalid"),
    (jwt.ExpiredSignatureError, exc.TokenExpiredError, "The token has expired"),
    (jwt.ImmatureSignatureError, exc.TokenNotYetValidError, "The token is not yet valid"),
    (jwt.InvalidAudienceError, exc.InvalidAudienceError, "The token's audience is not this app"),
    (jwt.InvalidIssuerError, exc.InvalidIssuerError, "The token's issuer is not the expected one"),
    (jwt.InvalidIssuedAtError, exc.InvalidClaimError, 'The "iat" claim is not an integer'),
    (jwt.exceptions.InvalidSubjectError, exc.InvalidClaimError, 'The "sub" claim is not a string'),
    (jwt.exceptions.InvalidJTIError, exc.InvalidClaimError, 'The "jti" claim is not a string'),
    (jwt.InvalidKeyError, exc.TokenRejectedError, "The key for this token is not usable"),
)


class TokenVerifier:
    """Verify signature and claims of a token with PyJWT, with everything pinned up front.

    :param algorithms: the only algorithms accepted; never read from the token.
    :param required: claims that must be present (and not ``null``).
    :param leeway: seconds of clock skew allowed for ``exp``, ``nbf`` and ``iat``.
    :param audience: if given, ``aud`` must equal or contain it (or one of them).
    :param issuer: if given, ``iss`` must equal it.
    """

    def __init__(
        self,
        algorithms: Collection[str],
        required: Iterable[str],
        leeway: float,
        *,
        audience: str | Iterable[str] | None = None,
        issuer: str | None = None,
    ) -> None:
        if isinstance(algorithms, str) or not algorithms or "none" in algorithms:
            raise ValueError("algorithms must be a non-empty collection of names, never 'none'")
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        self.algorithms = list(algorithms)
        self.leeway = leeway
        self.audience = (
            audience if audience is None or isinstance(audience, str) else list(audience)
        )
        self.issuer = issuer
        # Options merged once here rather than on every decode.
        self._jwt = jwt.PyJWT(
            options={"require": list(required), "verify_aud": audience is not None}
        )

    def verify(self, token: str, key: Any) -> dict[str, Any]:
        """Return the claims of ``token`` once its signature and claims check out.

        :raises TokenRejectedError: (a subclass of it) for every failure.
        """
        try:
            return self._jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
            )
        except jwt.MissingRequiredClaimError as error:
            raise exc.MissingClaimError(error.claim) from None
        except jwt.PyJWTError as error:
            raise _translate(error) from None
        except (TypeError, ValueError, OverflowError):
            # Claims of the wrong type (an "exp" that is a list, say) can surface from PyJWT's
            # claim checks as these; to the caller they are one more invalid token.
            raise exc.InvalidClaimError("A claim has a value of the wrong type") from None


def _translate(error: jwt.PyJWTError) -> exc.TokenRejectedError:
    for pyjwt_type, our_type, message in _TRANSLATIONS:
        if isinstance(error, pyjwt_type):
            return our_type(message)
    return exc.MalformedTokenError("The token could not be decoded")
