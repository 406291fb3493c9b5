"""Authenticate a request that Atlassian signed with a tenant's shared secret (HS256).

Atlassian Connect products sign every request to an app (iframe loads with ``?jwt=``, webhooks,
``enabled``/``disabled`` callbacks) with the shared secret the app received at install time. The
token names the tenant in ``iss`` (its ``clientKey``) and binds itself to the request with
``qsh``. :class:`Authenticator` checks all of it in the order Atlassian prescribes.
"""

from __future__ import annotations

import abc
import hmac
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from . import exceptions as exc
from ._fast_query import one_pass_canonical_query
from .tokens import (
    DEFAULT_MAX_TOKEN_LENGTH,
    Headers,
    TokenVerifier,
    parse_token,
    rejecting_malformed_url,
    token_from_headers,
)
from .url_utils import (
    BodyParams,
    Params,
    base_path,
    canonical_request,
    canonical_request_from_query,
    decode_component,
    merge_body_params,
    parse_params,
    parse_raw_params,
    qsh_of,
    split_url,
)

__all__ = [
    "CONTEXT_QSH",
    "DEFAULT_ALGORITHMS",
    "DEFAULT_LEEWAY",
    "HMAC_ALGORITHMS",
    "REQUIRED_CLAIMS",
    "AuthResult",
    "Authenticator",
    "DecodeError",
    "check_qsh",
    "request_token",
    "unverified_client_key",
]

DecodeError = exc.DecodeError

#: The ``qsh`` of context tokens (``AP.context.getToken()``), which are bound to no request.
CONTEXT_QSH = "context-qsh"

#: The claims every Connect token must carry.
REQUIRED_CLAIMS = ("iss", "iat", "exp", "qsh")

#: The algorithms an :class:`Authenticator` may be pinned to: the shared-secret ones.
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")

#: The algorithms an :class:`Authenticator` accepts by default: what Atlassian signs with.
DEFAULT_ALGORITHMS = ("HS256",)

#: Seconds of clock skew an :class:`Authenticator` allows by default: 3.0.0's 90 (Atlassian's
#: Java reader allows 30).
DEFAULT_LEEWAY = 90

# Control characters (C0, DEL, C1) and surrogates, which a token's JSON can carry as escapes.
_UNSAFE_ISSUER = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")



if TYPE_CHECKING:

    class AuthResult(NamedTuple):
        """What type checkers see of :class:`AuthResult`: 3.0.0's named tuple, plus
        ``account_id``. At run time it is also the client key itself (a ``str``)."""

        client_key: str
        claims: dict[str, Any]

        @property
        def account_id(self) -> str | None: ...

else:
    from ._auth_result import AuthResult


class Authenticator(abc.ABC):
    """Base class for verifying requests signed with a tenant's shared secret.

    Subclass it and implement :meth:`get_shared_secret` to look the secret up in your tenant
    store::

        class MyAddon(atlassian_jwt.Authenticator):
            def __init__(self, tenants):
                super().__init__()
                self.tenants = tenants

            def get_shared_secret(self, client_key):
                tenant = self.tenants.get(client_key)
                return tenant["sharedSecret"] if tenant else None

        try:
            client_key, claims = MyAddon(tenants).authenticate(method, url, headers)
        except atlassian_jwt.DecodeError:
            ...  # answer 401

    :param algorithms: the HMAC algorithms accepted; pinned here, never read from the token.
    :param leeway: seconds of clock skew allowed for ``exp``, ``nbf`` and ``iat`` (Atlassian's
        Java reader allows 30; 90 is the 3.0.0 default, kept for compatibility).
    :param base_url: the app's own base URL (or its path); its path is removed from the request
        path before hashing, for apps mounted under a prefix.
    :param max_token_length: tokens longer than this are refused before any decoding.
    """

    #: Whether :meth:`get_shared_secret` may block: a database, a network. Async helpers (the
    #: Starlette and FastAPI helpers) then run :meth:`authenticate` in a worker thread, so
    #: that the event loop is not held up; set it to ``False`` (on the class or the instance)
    #: for an in-memory lookup, which they then run inline, saving the thread hop.
    #:
    #: .. warning:: ``False`` with a lookup that does block stalls every request the event
    #:    loop serves until the lookup returns.
    lookup_blocks: bool = True

    def __init__(
        self,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        leeway: float = DEFAULT_LEEWAY,
        *,
        base_url: str | None = None,
        max_token_length: int = DEFAULT_MAX_TOKEN_LENGTH,
    ) -> None:
        self._verifier = _hmac_verifier(algorithms, leeway)
        self.base_url = base_url
        self.max_token_length = max_token_length
        self._base_path = base_path(base_url)

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The pinned algorithms (settable, as in 3.0.0)."""
        return tuple(self._verifier.algorithms)

    @algorithms.setter
    def algorithms(self, algorithms: Sequence[str]) -> None:
        self._verifier = _hmac_verifier(algorithms, self._verifier.leeway)

    @property
    def leeway(self) -> float:
        """The clock skew allowed, in seconds (settable, as in 3.0.0)."""
        return self._verifier.leeway

    @leeway.setter
    def leeway(self, leeway: float) -> None:
        self._verifier = _hmac_verifier(self._verifier.algorithms, leeway)

    @abc.abstractmethod
    def get_shared_secret(self, client_key: str) -> str | bytes | None:
        """Return the shared secret of the tenant ``client_key``.

        Return ``None`` (or raise :class:`LookupError`, such as :class:`KeyError`) when the
        tenant is unknown; the token is then rejected with
        :class:`~atlassian_jwt.exceptions.UnknownIssuerError`.

        .. warning:: ``client_key`` comes from the token before its signature is checked: use
           it only as a lookup key.
        """

    def authenticate(
        self,
        http_method: str,
        url: str,
        headers: Headers | None = None,
        *,
        allow_context_qsh: bool = False,
        body_params: BodyParams | None = None,
    ) -> AuthResult:
        """Verify the request's token and return the tenant's client key and the claims.

        The token is taken from an ``Authorization: JWT <token>`` header (name and scheme
        case-insensitive), else from the ``jwt`` query (or form) parameter. Then, in this order:
        the unverified ``iss`` is read only to look the secret up; the signature is checked with
        the pinned algorithms; ``iss``, ``iat``, ``exp`` and ``qsh`` are required and the time
        claims checked with the leeway; ``qsh`` is compared in constant time with the hash of
        this request's canonical request.

        :param http_method: the request's method.
        :param url: the request URL as received (raw path and raw query string), absolute or
            relative.
        :param headers: the request headers: any mapping, or ``(name, value)`` pairs.
        :param allow_context_qsh: also accept context tokens (``qsh`` = ``context-qsh``). Only
            for routes that the app's own front end calls with ``AP.context.getToken()``; never
            for lifecycle callbacks, webhooks or iframe loads.
        :param body_params: form parameters of an ``application/x-www-form-urlencoded`` body,
            for routes whose signer hashed them; see
            :func:`~atlassian_jwt.url_utils.canonicalize_request`.
        :returns: ``AuthResult(client_key, claims)``.
        :raises DecodeError: (a :class:`~atlassian_jwt.exceptions.TokenRejectedError`) for every
            rejection.
        """
        params: Params | None = None
        query_text: str | None = None
        # (rejecting_malformed_url, without a context manager's two calls on every request)
        try:
            path, query = split_url(url)
            if body_params is not None:
                params = parse_params(query)
                merge_body_params(params, body_params)
        except ValueError:
            raise rejecting_malformed_url.error() from None

        raw_token: str | None = None
        if body_params is not None:
            raw_token = self._get_token(headers, params)
        else:
            if type(self)._get_token is Authenticator._get_token:
                # The header first, as request_token reads it: the query's jwt parameter is
                # only looked for without one.
                raw_token = token_from_headers(headers)
            if raw_token is None:
                # The canonical query, and the jwt parameter it drops, in one pass; the query
                # parsed (its raw values kept for the canonical request) when it declines.
                values: list[str] = []
                query_text = one_pass_canonical_query(query, values) if query else ""
                if query_text is None:
                    params = parse_raw_params(query)
                    values = [decode_component(value) for value in params.get("jwt", ())]
                raw_token = self._get_token(headers, {"jwt": values})

        # Decoded once: iss is read from it (unverified, only to find the secret), then the
        # same decoded token is verified.
        token = parse_token(raw_token, self.max_token_length)
        client_key = unverified_client_key(token.claims)
        claims = self._verifier.verify(token, self._shared_secret(client_key))

        token_qsh = claims["qsh"]
        if not (allow_context_qsh and token_qsh == CONTEXT_QSH):
            if body_params is None:
                canonical = canonical_request_from_query(
                    http_method, path, query, self._base_path, params, query_text=query_text
                )
            else:
                assert params is not None
                canonical = canonical_request(http_method, path, params, self._base_path)
            check_qsh(token_qsh, canonical, signature_verified=True)
        return AuthResult(client_key, claims)

    @staticmethod
    def _get_token(
        headers: Headers | None = None,
        query_params: Mapping[str, str | Sequence[str]] | None = None,
    ) -> str:
        """Return the token from the ``Authorization`` header, else the ``jwt`` parameter.

        Kept from 3.0.0 for code that calls it; see :func:`request_token`.
        """
        return request_token(headers, query_params)

    def _shared_secret(self, client_key: str) -> str | bytes:
        try:
            secret = self.get_shared_secret(client_key)
        except (LookupError, TypeError) as error:
            # TypeError too: the 1.x README's ``store.get(key)['sharedSecret']`` raises it for
            # an unknown tenant, and an unknown tenant is a rejection, not a crash.
            raise exc.UnknownIssuerError(
                "No shared secret is known for this issuer", client_key=client_key
            ) from error
        if not secret or not isinstance(secret, (str, bytes)):
            raise exc.UnknownIssuerError(
                "No shared secret is known for this issuer", client_key=client_key
            )
        return secret


def request_token(
    headers: Headers | None = None,
    query_params: Mapping[str, str | Sequence[str]] | None = None,
) -> str:
    """Return a Connect request's token: ``Authorization: JWT``, else the ``jwt`` parameter.

    :param headers: the request headers: any mapping, or ``(name, value)`` pairs.
    :param query_params: the request's parameters (decoded), of which only ``jwt`` is read.
    :raises TokenMissingError: if there is neither.
    :raises MalformedTokenError: if there is more than one ``jwt`` parameter.
    """
    token = token_from_headers(headers)
    if token is not None:
        return token
    values = query_params.get("jwt") if query_params else None
    if isinstance(values, str):
        return values
    if values:
        if len(values) > 1:
            raise exc.MalformedTokenError("The request carries more than one jwt parameter")
        return values[0]
    raise exc.TokenMissingError("JWT token not found")


def check_qsh(token_qsh: object, canonical: str, *, signature_verified: bool = False) -> None:
    """Compare a token's ``qsh`` with the hash of ``canonical`` in constant time.

    :param signature_verified: whether the token's signature has verified; the rejection
        says so.
    :raises QshMismatchError: carrying the canonical request and both hashes.
    """
    expected = qsh_of(canonical)
    if not (
        isinstance(token_qsh, str)
        and token_qsh.isascii()  # compare_digest compares ASCII text only
        and hmac.compare_digest(token_qsh, expected)
    ):
        raise exc.QshMismatchError(
            "The token's qsh does not match this request",
            canonical_request=canonical,
            expected_qsh=expected,
            token_qsh=token_qsh if isinstance(token_qsh, str) else repr(token_qsh),
            signature_verified=signature_verified,
        )


def _hmac_verifier(algorithms: Sequence[str], leeway: float) -> TokenVerifier:
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    if not algorithms or not set(algorithms) <= set(HMAC_ALGORITHMS):
        raise ValueError(
            "Authenticator verifies shared-secret tokens: algorithms must be among "
            f"{list(HMAC_ALGORITHMS)}"
        )
    return TokenVerifier(algorithms, REQUIRED_CLAIMS, leeway)


def unverified_client_key(claims: Mapping[str, Any]) -> str:
    """Return a Connect token's ``iss``, the tenant's ``clientKey``, read **unverified**.

    The :class:`Authenticator` reads it before the signature is checked, only to look up the
    shared secret that checks it.

    :raises MissingClaimError: if there is no ``iss``.
    :raises InvalidClaimError: if ``iss`` is not a non-empty string.
    """
    issuer = claims.get("iss")
    # The usual clientKey: printable ASCII (so none of _UNSAFE_ISSUER), and not empty.
    if type(issuer) is str and issuer.isascii() and issuer.isprintable() and issuer:
        return issuer
    if issuer is None:
        raise exc.MissingClaimError("iss")
    if not isinstance(issuer, str) or not issuer:
        raise exc.InvalidClaimError('The "iss" claim is not a non-empty string', claim="iss")
    if _UNSAFE_ISSUER.search(issuer):
        # Unverified, and no clientKey: text that a tenant store or a log may fail on (a lone
        # surrogate, NUL, a newline) never reaches get_shared_secret, nor the error unescaped.
        raise exc.UnknownIssuerError(
            "No shared secret is known for this issuer",
            client_key=issuer.encode("unicode_escape").decode("ascii"),
        )
    return issuer
