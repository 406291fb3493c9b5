"""Every error this library raises, in one tree.

Rejections of a token are all :class:`DecodeError` (PyJWT's own ``jwt.DecodeError``, exported
unchanged), so the contract of the original package holds: ``except atlassian_jwt.DecodeError``
catches every failed authentication. Each rejection also subclasses the matching PyJWT exception,
so code written against PyJWT keeps working, and carries a stable :attr:`~TokenRejectedError.code`
for logs and metrics::

    Exception
     ├── jwt.PyJWTError
     │    ├── jwt.InvalidTokenError
     │    │    └── jwt.DecodeError ............ atlassian_jwt.DecodeError
     │    │         └── TokenRejectedError .... "rejected"
     │    │              ├── TokenMissingError ......... "token_missing"
     │    │              ├── MalformedTokenError ....... "token_malformed"
     │    │              │    └── TokenTooLargeError ... "token_too_large"
     │    │              ├── MalformedRequestError ..... "request_malformed"
     │    │              ├── UnknownIssuerError ........ "unknown_issuer"
     │    │              ├── UnknownKeyError ........... "unknown_key"
     │    │              ├── AlgorithmNotAllowedError .. "algorithm_not_allowed"  [1]
     │    │              ├── InvalidSignatureError ..... "invalid_signature"      [2]
     │    │              ├── MissingClaimError ......... "missing_claim"          [3]
     │    │              │    └── ForgeContextMissingError ... "forge_context_missing"
     │    │              ├── InvalidClaimError ......... "invalid_claim"
     │    │              │    └── ForgeContextInvalidError ... "forge_context_invalid"
     │    │              ├── TokenExpiredError ......... "token_expired"          [4]
     │    │              ├── TokenNotYetValidError ..... "token_not_yet_valid"    [5]
     │    │              ├── InvalidAudienceError ...... "invalid_audience"       [6]
     │    │              ├── InvalidIssuerError ........ "invalid_issuer"         [7]
     │    │              ├── QshMismatchError .......... "qsh_mismatch"
     │    │              └── TokenReplayedError ........ "token_replayed"
     │    └── jwt.PyJWKClientError
     │         └── KeyFetchError ....................... "key_fetch_failed" (not a rejection)
     ├── TenantStoreError .............................. "store_unavailable" (not a rejection)
     ├── TokenExchangeError ............................ "token_exchange_failed" (not a rejection)
     ├── ForgeTokenUnavailableError .................... "forge_token_unavailable" (not either)
     └── ConnectTenantNotFoundError .................... "connect_tenant_not_found" (not either)

Each marked class also subclasses PyJWT's own: [1] ``jwt.InvalidAlgorithmError``,
[2] ``jwt.InvalidSignatureError``, [3] ``jwt.MissingRequiredClaimError``,
[4] ``jwt.ExpiredSignatureError``, [5] ``jwt.ImmatureSignatureError``,
[6] ``jwt.InvalidAudienceError``, [7] ``jwt.InvalidIssuerError``.

The first three that are not rejections say nothing about a token, so the app answers 503 (and
the product retries) rather than 401:

* :class:`KeyFetchError`: Atlassian's key server or key set cannot be reached or read, so the
  token may well be genuine. It subclasses ``jwt.PyJWKClientError`` because it stands for what
  PyJWT's own ``PyJWKClient`` raises in the same situation.
* :class:`TenantStoreError`: the tenant store cannot be used (a lock held too long, a missing
  database).
* :class:`TokenExchangeError`: the app's own request for an access token (acting as a user)
  failed. It is deliberately *not* a ``jwt.PyJWTError``: nothing in PyJWT failed and no token
  the app received is in question, and an app whose ``except jwt.PyJWTError`` answers 401 would
  otherwise turn an authorization server's outage into a rejection of its own caller.

The last two are about the app's own next step, after a request was verified:

* :class:`ForgeTokenUnavailableError`: there is no Forge OAuth token to call the product with
  (the invocation brought none, or the one kept for background work has expired).
* :class:`ConnectTenantNotFoundError`: a verified Forge invocation names an installation whose
  Connect tenant the store does not know (yet).

Context (the claim at fault, the canonical request we computed) is given to each exception as
explicit keyword arguments and kept as attributes, documented on each class. No message or
``repr`` of these exceptions contains a secret or a whole token: ``args`` (what ``repr`` shows)
holds only the message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt
from jwt import DecodeError

__all__ = [
    "AlgorithmNotAllowedError",
    "ConnectTenantNotFoundError",
    "DecodeError",
    "ForgeContextInvalidError",
    "ForgeContextMissingError",
    "ForgeTokenUnavailableError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidIssuerError",
    "InvalidSignatureError",
    "KeyFetchError",
    "MalformedRequestError",
    "MalformedTokenError",
    "MissingClaimError",
    "QshMismatchError",
    "TenantStoreError",
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

    :param message: what failed, in words; also ``str(error)``. Never a secret or a token.
    :param signature_verified: whether the token's signature had been verified when it was
        rejected; the verifiers set it.
    """

    #: A stable, machine-readable reason, e.g. ``"token_expired"``.
    code = "rejected"
    #: What failed, in words; ``str(error)`` is this.
    message: str
    #: Whether the token's signature had verified before the token was rejected: ``True``
    #: when a genuine token failed a later check (it expired, its ``qsh`` is another
    #: request's), ``False`` when the rejection came first (no token, a malformed one, an
    #: unknown issuer, a bad signature).
    signature_verified: bool

    def __init__(self, message: str, *, signature_verified: bool = False) -> None:
        # Only the message goes into ``args``: ``repr`` shows ``args``, and context values
        # (claims, canonical requests) stay attributes that callers log deliberately.
        Exception.__init__(self, message)
        self.message = message
        self.signature_verified = signature_verified

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (type(self), self.__dict__.copy())


def _restore(cls: type[Exception], state: dict[str, Any]) -> Exception:
    """Rebuild a pickled exception whose context is keyword-only (``args`` holds the message)."""
    error = cls.__new__(cls)
    Exception.__init__(error, state["message"])
    error.__dict__.update(state)
    return error


class TokenMissingError(TokenRejectedError):
    """Neither an ``Authorization: JWT …`` header nor a ``jwt`` query parameter was found."""

    code = "token_missing"


class MalformedTokenError(TokenRejectedError):
    """The token is not a well-formed JWT (segments, base64url, JSON, claim object)."""

    code = "token_malformed"


class TokenTooLargeError(MalformedTokenError):
    """The token is longer than the configured cap; it was refused before any decoding.

    :param length: the token's length, in characters.
    :param max_length: the cap it exceeds.
    """

    code = "token_too_large"
    #: The token's length, in characters.
    length: int
    #: The most characters allowed.
    max_length: int

    def __init__(self, message: str, *, length: int, max_length: int) -> None:
        super().__init__(message)
        self.length = length
        self.max_length = max_length


class MalformedRequestError(TokenRejectedError):
    """The request's URL cannot be canonicalised (for example, it is not valid text)."""

    code = "request_malformed"


class UnknownIssuerError(TokenRejectedError):
    """No shared secret is known for the token's ``iss`` (the tenant's ``clientKey``).

    :param client_key: the token's unverified ``iss``.
    """

    code = "unknown_issuer"
    #: The token's ``iss``, **unverified**: the tenant it claims to come from.
    client_key: str

    def __init__(self, message: str, *, client_key: str) -> None:
        super().__init__(message)
        self.client_key = client_key


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
    """A required claim is absent (or ``null``).

    :param claim: the name of the missing claim.
    """

    code = "missing_claim"
    #: The name of the missing claim.
    claim: str

    def __init__(self, claim: str, *, signature_verified: bool = False) -> None:
        super().__init__(
            f'Token is missing the "{claim}" claim', signature_verified=signature_verified
        )
        self.claim = claim


class InvalidClaimError(TokenRejectedError):
    """A claim is present but has the wrong type or form (an ``exp`` that is text, say).

    :param claim: the name of the offending claim.
    """

    code = "invalid_claim"
    #: The name of the offending claim. Every rejection this library raises names it, but
    #: for PyJWT's claim checks failing in a way that names none (no supported PyJWT release
    #: is known to); then, and for an app's own ``InvalidClaimError("...")``, it is ``None``.
    claim: str | None

    def __init__(
        self, message: str, *, claim: str | None = None, signature_verified: bool = False
    ) -> None:
        super().__init__(message, signature_verified=signature_verified)
        self.claim = claim


class ForgeContextMissingError(MissingClaimError):
    """A Forge invocation token lacks context that the remote contract says every invocation
    carries: ``app.id``, ``app.installationId`` or ``app.apiBaseUrl``.

    Raised by :meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request` once the signature
    has verified. :attr:`~MissingClaimError.claim` names the missing member, dotted
    (``"app.installationId"``).
    """

    code = "forge_context_missing"

    def __init__(self, claim: str, *, signature_verified: bool = False) -> None:
        TokenRejectedError.__init__(
            self,
            f'The Forge invocation token has no "{claim}"',
            signature_verified=signature_verified,
        )
        self.claim = claim


class ForgeContextInvalidError(InvalidClaimError):
    """A Forge invocation's context is present but unusable: an ``app.apiBaseUrl`` that is not
    ``https://`` (plain ``http://`` only to a loopback address), an ``app.id`` that is not the
    token's audience, an ``app.installationId`` that is not short printable text, or an
    ``x-forge-oauth-system``/``x-forge-oauth-user`` header that is not a bearer token.

    Raised by :meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request`;
    :attr:`~InvalidClaimError.claim` names the member (``"app.apiBaseUrl"``) or the header.
    The API base URL decides where the app sends its tokens, so it is checked rather than
    trusted because the token is genuine.
    """

    code = "forge_context_invalid"


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
    """``iss`` is not the issuer this kind of token must have.

    :param client_key: the ``clientKey`` that ``iss`` had to equal (a lifecycle callback's
        body names it), or ``None`` where ``iss`` has one fixed value (Forge's).
    """

    code = "invalid_issuer"
    #: The ``clientKey`` the token's ``iss`` had to equal, or ``None``.
    client_key: str | None

    def __init__(
        self, message: str, *, client_key: str | None = None, signature_verified: bool = False
    ) -> None:
        super().__init__(message, signature_verified=signature_verified)
        self.client_key = client_key


class QshMismatchError(TokenRejectedError):
    """The token's ``qsh`` is not the hash of this request's canonical request.

    :param canonical_request: the canonical request computed for this request.
    :param expected_qsh: its SHA-256 hash.
    :param token_qsh: the token's ``qsh`` (its ``repr`` if it is not text).
    """

    code = "qsh_mismatch"
    #: The canonical request computed for this request.
    canonical_request: str
    #: Its SHA-256 hash, the ``qsh`` the token should carry.
    expected_qsh: str
    #: The ``qsh`` the token carries.
    token_qsh: str

    def __init__(
        self,
        message: str,
        *,
        canonical_request: str,
        expected_qsh: str,
        token_qsh: str,
        signature_verified: bool = False,
    ) -> None:
        super().__init__(message, signature_verified=signature_verified)
        self.canonical_request = canonical_request
        self.expected_qsh = expected_qsh
        self.token_qsh = token_qsh


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

    def __init__(self, message: str, *, client_key: str, signature_verified: bool = False) -> None:
        super().__init__(message, signature_verified=signature_verified)
        self.client_key = client_key


class KeyFetchError(jwt.PyJWKClientError):
    """A public key could not be fetched or read (timeout, HTTP 5xx, a body that is no key).

    This says nothing about the token, so it is not a :class:`DecodeError`: answer 503 and let
    Atlassian retry.
    """

    #: Always ``"key_fetch_failed"``.
    code = "key_fetch_failed"


class TenantStoreError(Exception):
    """A tenant store cannot be opened or used: a missing directory, a corrupt file, a lock
    held too long. It says nothing about a token, so it is not a :class:`DecodeError`: answer
    503.

    Messages name the store, never a tenant's secret.
    """

    #: Always ``"store_unavailable"``.
    code = "store_unavailable"


class TokenExchangeError(Exception):
    """The authorization server did not give the app an access token to act as a user.

    Raised by :mod:`atlassian_jwt.oauth2` when the JWT-bearer exchange fails: an HTTP error
    status, a timeout, a connection that could not be made, or a response that is not JSON or
    carries no usable ``access_token``. The message names the failure and the token endpoint;
    it never contains the assertion, the shared secret or an access token.

    :param reason: what went wrong (see :attr:`reason`).
    :param status: the HTTP status of the response, if there was one.
    :param oauth_error: the OAuth 2.0 ``error`` code of a well-formed error response.
    :param error_description: the server's ``error_description``.
    """

    #: Always ``"token_exchange_failed"``.
    code = "token_exchange_failed"
    #: What went wrong: ``"http_status"``, ``"timeout"``, ``"connection"`` or
    #: ``"invalid_response"``.
    reason: str
    #: The HTTP status of the response, or ``None`` when there was none.
    status: int | None
    #: The OAuth 2.0 ``error`` code of an error response (``"invalid_grant"``), when the server
    #: sent a well-formed one; otherwise ``None``.
    oauth_error: str | None
    #: The server's ``error_description``, for logs; ``None`` if absent.
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

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (type(self), self.__dict__.copy())

    @property
    def retryable(self) -> bool:
        """Whether trying again later may succeed: a timeout, no connection, HTTP 429 or 5xx
        (answer 503 rather than 500 then)."""
        if self.reason in ("timeout", "connection"):
            return True
        return self.status is not None and (self.status == 429 or self.status >= 500)

    def __str__(self) -> str:
        return self.message


class ForgeTokenUnavailableError(Exception):
    """There is no usable Forge OAuth token to call the product with.

    Raised before anything is sent:

    * ``reason="missing"``: the invocation carries no ``x-forge-oauth-system`` (or, for
      ``as_user=True``, no ``x-forge-oauth-user``) header: the manifest's endpoint must ask
      for ``appSystemToken`` (``appUserToken``); or the store keeps no app token for the
      installation;
    * ``reason="expired"``: the token has expired, or expires within the safety margin: a
      request sent with it would get 401. For background work, the next invocation from Forge
      (a user's, an event, a scheduled trigger) brings a fresh token.

    It is not a ``jwt.PyJWTError``: no token the app received is in question. Messages name
    the installation, never a token.

    :param reason: ``"missing"`` or ``"expired"``.
    :param kind: ``"app"`` (the app system token) or ``"user"`` (the user's token).
    :param installation_id: the installation the token is for, if known.
    :param expires_at: when an expired token expired, if known.
    """

    #: Always ``"forge_token_unavailable"``.
    code = "forge_token_unavailable"
    #: ``"missing"`` or ``"expired"``.
    reason: str
    #: ``"app"`` or ``"user"``.
    kind: str
    #: The installation ARI, or ``None``.
    installation_id: str | None
    #: When the token expired (an aware UTC datetime), or ``None``.
    expires_at: datetime | None

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        kind: str = "app",
        installation_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        Exception.__init__(self, message)
        self.message = message
        self.reason = reason
        self.kind = kind
        self.installation_id = installation_id
        self.expires_at = expires_at

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (type(self), self.__dict__.copy())

    def __str__(self) -> str:
        return self.message


class ConnectTenantNotFoundError(Exception):
    """A verified Forge invocation's installation has no Connect tenant in the store.

    A Connect-on-Forge app learns which Connect tenant (``clientKey``) an installation is from
    the Connect ``installed`` callback, whose payload carries the Forge ``installationId``.
    Until that callback has been stored (it may arrive after Forge's own
    ``avi:forge:installed:app`` event), or once the tenant was uninstalled, there is none.

    :param installation_id: the installation ARI looked up.
    """

    #: Always ``"connect_tenant_not_found"``.
    code = "connect_tenant_not_found"
    #: The installation ARI that names no tenant.
    installation_id: str

    def __init__(self, message: str, *, installation_id: str) -> None:
        Exception.__init__(self, message)
        self.message = message
        self.installation_id = installation_id

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (type(self), self.__dict__.copy())

    def __str__(self) -> str:
        return self.message
