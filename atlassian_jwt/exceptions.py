"""Every error this library raises, in one tree.

Rejections of a token are all :class:`DecodeError` (PyJWT's own ``jwt.DecodeError``, exported
unchanged), so the contract of the original package holds: ``except atlassian_jwt.DecodeError``
catches every failed authentication. Each rejection also subclasses the matching PyJWT exception,
so code written against PyJWT keeps working, and carries a stable :attr:`~TokenRejectedError.code`
for logs and metrics::

    Exception
     └── jwt.PyJWTError
          ├── jwt.InvalidTokenError
          │    └── jwt.DecodeError ............ atlassian_jwt.DecodeError
          │         └── TokenRejectedError .... "rejected"
          │              ├── TokenMissingError ......... "token_missing"
          │              ├── MalformedTokenError ....... "token_malformed"
          │              │    └── TokenTooLargeError ... "token_too_large"
          │              ├── MalformedRequestError ..... "request_malformed"
          │              ├── UnknownIssuerError ........ "unknown_issuer"
          │              ├── UnknownKeyError ........... "unknown_key"
          │              ├── AlgorithmNotAllowedError .. "algorithm_not_allowed"  [1]
          │              ├── InvalidSignatureError ..... "invalid_signature"      [2]
          │              ├── MissingClaimError ......... "missing_claim"          [3]
          │              ├── InvalidClaimError ......... "invalid_claim"
          │              ├── TokenExpiredError ......... "token_expired"          [4]
          │              ├── TokenNotYetValidError ..... "token_not_yet_valid"    [5]
          │              ├── InvalidAudienceError ...... "invalid_audience"       [6]
          │              ├── InvalidIssuerError ........ "invalid_issuer"         [7]
          │              ├── QshMismatchError .......... "qsh_mismatch"
          │              └── TokenReplayedError ........ "token_replayed"
          ├── jwt.PyJWKClientError
          │    └── KeyFetchError ....................... "key_fetch_failed" (not a rejection)
          └── TokenExchangeError ....................... "token_exchange_failed" (not a rejection)

Each marked class also subclasses PyJWT's own: [1] ``jwt.InvalidAlgorithmError``,
[2] ``jwt.InvalidSignatureError``, [3] ``jwt.MissingRequiredClaimError``,
[4] ``jwt.ExpiredSignatureError``, [5] ``jwt.ImmatureSignatureError``,
[6] ``jwt.InvalidAudienceError``, [7] ``jwt.InvalidIssuerError``.

:class:`KeyFetchError` is deliberately *not* a :class:`DecodeError`: when Atlassian's key server
cannot be reached the token may well be genuine, so the app should answer 503 and let Atlassian
retry rather than answer 401. :class:`TokenExchangeError` is not one either: it is about the
app's own request for an access token (acting as a user), not about a token the app received.

No message or ``repr`` of these exceptions contains a secret or a whole token; diagnostics such
as the canonical request we computed are attributes.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt import DecodeError

__all__ = [
    "AlgorithmNotAllowedError",
    "DecodeError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidIssuerError",
    "InvalidSignatureError",
    "KeyFetchError",
    "MalformedRequestError",
    "MalformedTokenError",
    "MissingClaimError",
    "QshMismatchError",
    "TokenExchangeError",
    "TokenExpiredError",
    "TokenMissingError",
    "TokenNotYetValidError",
    "TokenRejectedError",
    "TokenReplayedError",
    "TokenTooLargeError",
    "UnknownIssuerError",
    "UnknownKeyError",
]


class TokenRejectedError(DecodeError):
    """A token, or the request it came with, failed authentication.

    :ivar code: a stable, machine-readable reason, e.g. ``"token_expired"``.
    """

    code = "rejected"

    def __init__(self, message: str, **context: Any) -> None:
        # Only the message goes into ``args``: ``repr`` shows ``args``, and context values
        # (claims, canonical requests) stay attributes that callers log deliberately.
        Exception.__init__(self, message)
        self.message = message
        for name, value in context.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        return self.message


class TokenMissingError(TokenRejectedError):
    """Neither an ``Authorization: JWT …`` header nor a ``jwt`` query parameter was found."""

    code = "token_missing"


class MalformedTokenError(TokenRejectedError):
    """The token is not a well-formed JWT (segments, base64url, JSON, claim object)."""

    code = "token_malformed"


class TokenTooLargeError(MalformedTokenError):
    """The token is longer than the configured cap; it was refused before any decoding."""

    code = "token_too_large"


class MalformedRequestError(TokenRejectedError):
    """The request's URL cannot be canonicalised (for example, it is not valid text)."""

    code = "request_malformed"


class UnknownIssuerError(TokenRejectedError):
    """No shared secret is known for the token's ``iss`` (the tenant's ``clientKey``)."""

    code = "unknown_issuer"


class UnknownKeyError(TokenRejectedError):
    """No public key is known for the token's ``kid``: it was not signed by Atlassian.

    Atlassian's key server answered 404 for the ``kid``, or the key set holds no such key.
    """

    code = "unknown_key"


class AlgorithmNotAllowedError(TokenRejectedError, jwt.InvalidAlgorithmError):
    """The token's ``alg`` header is not one of the pinned algorithms."""

    code = "algorithm_not_allowed"


class InvalidSignatureError(TokenRejectedError, jwt.InvalidSignatureError):
    """The signature does not verify with the key for this issuer."""

    code = "invalid_signature"


class MissingClaimError(TokenRejectedError, jwt.MissingRequiredClaimError):
    """A required claim is absent.

    :ivar claim: the name of the missing claim.
    """

    code = "missing_claim"

    def __init__(self, claim: str) -> None:
        super().__init__(f'Token is missing the "{claim}" claim', claim=claim)


class InvalidClaimError(TokenRejectedError):
    """A claim is present but has the wrong type or form.

    :ivar claim: the name of the offending claim.
    """

    code = "invalid_claim"


class TokenExpiredError(TokenRejectedError, jwt.ExpiredSignatureError):
    """``exp`` is in the past, beyond the leeway."""

    code = "token_expired"


class TokenNotYetValidError(TokenRejectedError, jwt.ImmatureSignatureError):
    """``iat`` or ``nbf`` is in the future, beyond the leeway."""

    code = "token_not_yet_valid"


class InvalidAudienceError(TokenRejectedError, jwt.InvalidAudienceError):
    """``aud`` does not name this app."""

    code = "invalid_audience"


class InvalidIssuerError(TokenRejectedError, jwt.InvalidIssuerError):
    """``iss`` is not the issuer this kind of token must have."""

    code = "invalid_issuer"


class QshMismatchError(TokenRejectedError):
    """The token's ``qsh`` is not the hash of this request's canonical request.

    :ivar canonical_request: the canonical request computed for this request.
    :ivar expected_qsh: its SHA-256 hash, the ``qsh`` the token should carry.
    :ivar token_qsh: the ``qsh`` the token carries.
    """

    code = "qsh_mismatch"
    canonical_request: str
    expected_qsh: str
    token_qsh: str


class TokenReplayedError(TokenRejectedError):
    """A lifecycle token that was already accepted came again with another body.

    Atlassian's install token does not sign the body, so a genuine ``installed`` request seen
    on its way (a proxy's log, say) could be sent again, within the token's lifetime, with
    another ``sharedSecret``. The tenant store remembers each accepted token with what its
    body installed: the same token with the same body is a retry and is accepted again; with
    any other body it is refused with this error, and nothing is stored.
    """

    code = "token_replayed"
    #: The ``clientKey`` the token names (its verified ``iss``).
    client_key: str

    def __init__(self, message: str, *, client_key: str) -> None:
        super().__init__(message)
        self.client_key = client_key


class KeyFetchError(jwt.PyJWKClientError):
    """A public key could not be fetched or read (timeout, HTTP 5xx, a body that is no key).

    This says nothing about the token, so it is not a :class:`DecodeError`: answer 503 and let
    Atlassian retry.
    """

    code = "key_fetch_failed"


class TokenExchangeError(jwt.PyJWTError):
    """The authorization server did not give the app an access token to act as a user.

    Raised by :mod:`atlassian_jwt.oauth2` when the JWT-bearer exchange fails: an HTTP error
    status, a timeout, a connection that could not be made, or a response that is not JSON or
    carries no usable ``access_token``. The message names the failure and the token endpoint;
    it never contains the assertion, the shared secret or an access token.

    :ivar reason: what went wrong: ``"http_status"``, ``"timeout"``, ``"connection"`` or
        ``"invalid_response"``.
    :ivar status: the HTTP status of the response, or ``None`` when there was none.
    :ivar oauth_error: the OAuth 2.0 ``error`` code of an error response (``"invalid_grant"``),
        when the server sent a well-formed one; otherwise ``None``.
    :ivar error_description: the server's ``error_description``, for logs; ``None`` if absent.
    :ivar retryable: whether trying again later may succeed (timeouts, connection failures,
        HTTP 429 and 5xx); answer 503 rather than 500 then.
    """

    code = "token_exchange_failed"
    reason: str
    status: int | None
    oauth_error: str | None
    error_description: str | None

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int | None = None,
        oauth_error: str | None = None,
        error_description: str | None = None,
    ) -> None:
        # As for rejections, only the message goes into ``args`` (and so into ``repr``).
        Exception.__init__(self, message)
        self.message = message
        self.reason = reason
        self.status = status
        self.oauth_error = oauth_error
        self.error_description = error_description

    @property
    def retryable(self) -> bool:
        """Whether the failure is transient: a timeout, no connection, HTTP 429 or 5xx."""
        if self.reason in ("timeout", "connection"):
            return True
        return self.status is not None and (self.status == 429 or self.status >= 500)

    def __str__(self) -> str:
        return self.message
