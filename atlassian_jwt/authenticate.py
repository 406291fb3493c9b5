"""Authenticate a request that Atlassian signed with a tenant's shared secret (HS256).

Atlassian Connect products sign every request to an app (iframe loads with ``?jwt=``, webhooks,
``enabled``/``disabled`` callbacks) with the shared secret the app received at install time. The
token names the tenant in ``iss`` (its ``clientKey``) and binds itself to the request with
``qsh``. :class:`Authenticator` checks all of it in the order Atlassian prescribes.
"""

from __future__ import annotations

import abc
import hmac
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, SupportsIndex, overload

from . import exceptions as exc
from .tokens import (
    DEFAULT_MAX_TOKEN_LENGTH,
    Headers,
    TokenVerifier,
    parse_token,
    token_from_headers,
)
from .url_utils import (
    BodyParams,
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

__all__ = ["CONTEXT_QSH", "AuthResult", "Authenticator", "DecodeError"]

DecodeError = exc.DecodeError

#: The ``qsh`` of context tokens (``AP.context.getToken()``), which are bound to no request.
CONTEXT_QSH = "context-qsh"

#: The claims every Connect token must carry.
REQUIRED_CLAIMS = ("iss", "iat", "exp", "qsh")

_HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})


class AuthResult(str):
    """The outcome of a successful authentication: the tenant's client key, with the claims.

    It serves code written for either earlier release unchanged. It **is** the client key, as
    1.x returned it: a ``str`` equal to the ``clientKey``, hashing, comparing, formatting and
    concatenating as it does, so it looks the tenant up in a dict or a database as it is. It
    also **unpacks** as ``client_key, claims`` and indexes as that pair (``result[0]``,
    ``result[1]``), as 3.0.0's named tuple did, and it compares equal to that tuple::

        client_key = authenticator.authenticate(method, url, headers)  # 1.x
        tenant = tenants[client_key]

        client_key, claims = authenticator.authenticate(method, url, headers)  # 3.0.0

        result = authenticator.authenticate(method, url, headers)  # either
        result.client_key, result.claims, result.account_id

    What gives way, as a ``str`` cannot be a tuple too: iterating gives the pair, not the key's
    characters (``result.client_key`` is a plain ``str`` for that); ``len(result)`` is the
    key's length, not 2; a slice (``result[:8]``) slices the key; it is not a ``tuple`` for
    ``isinstance`` and has no ``_asdict`` or ``_replace``; ``json.dumps`` writes the key alone.
    Its ``repr`` names the claims but shows none of their values (``sub`` and ``context``
    describe a person); read them from :attr:`claims`. It pickles and copies.

    Type checkers see a ``str``: mypy types both names unpacked from it as ``str``, so typed
    code reads :attr:`client_key` and :attr:`claims`, which are typed exactly.

    :param client_key: the tenant's ``clientKey``.
    :param claims: the verified claims.
    :raises TypeError: if ``client_key`` is not a ``str`` or ``claims`` not a ``dict``.

    >>> result = AuthResult("jira:1234", {"iss": "jira:1234", "sub": "557058:f00d"})
    >>> client_key, claims = result
    >>> {"jira:1234": "the tenant"}[result], result == "jira:1234", claims["sub"]
    ('the tenant', True, '557058:f00d')
    >>> result.account_id, f"tenant {result}"
    ('557058:f00d', 'tenant jira:1234')
    >>> result
    AuthResult(client_key='jira:1234', claims={'iss': ..., 'sub': ...})
    """

    _client_key: str
    _claims: dict[str, Any]

    def __new__(cls, client_key: str, claims: dict[str, Any]) -> AuthResult:
        # Built on every authentication: the common case, a plain str, costs one test.
        if type(client_key) is not str:
            if not isinstance(client_key, str):
                raise TypeError(f"client_key must be a str, not {type(client_key).__name__}")
            # A plain str, also when client_key is itself an AuthResult.
            client_key = str.__str__(client_key)
        if not isinstance(claims, dict):
            raise TypeError(f"claims must be a dict, not {type(claims).__name__}")
        result = str.__new__(cls, client_key)
        result._client_key = client_key
        result._claims = claims
        return result

    @property
    def client_key(self) -> str:
        """The tenant's ``clientKey``, as a plain ``str``: the verified ``iss`` claim."""
        return self._client_key

    @property
    def claims(self) -> dict[str, Any]:
        """All verified claims of the token."""
        return self._claims

    @property
    def account_id(self) -> str | None:
        """The acting user's Atlassian account id (the ``sub`` claim); ``None`` if no user acts.

        Webhooks, lifecycle callbacks and calls a tenant makes on its own carry no user.
        """
        sub = self._claims.get("sub")
        return sub if isinstance(sub, str) and sub else None

    def __iter__(self) -> Iterator[Any]:
        return iter((self._client_key, self._claims))

    @overload
    def __getitem__(self, key: SupportsIndex) -> Any: ...

    @overload
    def __getitem__(self, key: slice) -> str: ...

    def __getitem__(self, key: SupportsIndex | slice) -> Any:
        if isinstance(key, slice):
            return self._client_key[key]
        try:
            return (self._client_key, self._claims)[key]
        except IndexError:
            raise IndexError(
                "AuthResult indexes as (client_key, claims); index result.client_key for the "
                "key's characters"
            ) from None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return (self._client_key, self._claims) == other
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__

    def __reduce__(self) -> tuple[type[AuthResult], tuple[str, dict[str, Any]]]:
        return (AuthResult, (self._client_key, self._claims))

    def __repr__(self) -> str:
        names = ", ".join(f"{name!r}: ..." for name in self._claims)
        return f"AuthResult(client_key={self._client_key!r}, claims={{{names}}})"


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

    def __init__(
        self,
        algorithms: Sequence[str] = ("HS256",),
        leeway: float = 90,
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
        tenant is unknown; the token is then rejected with :class:`UnknownIssuerError`.

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
        try:
            path, query = split_url(url)
            if body_params is None:
                # Raw values, which the canonical request mostly uses as they are; only the
                # token is decoded.
                params = parse_raw_params(query)
                jwt_values = {"jwt": [decode_component(value) for value in params.get("jwt", ())]}
            else:
                params = parse_params(query)
                merge_body_params(params, body_params)
                jwt_values = params
        except ValueError:
            raise exc.MalformedRequestError("The request URL is not valid text") from None

        # Decoded once: iss is read from it (unverified, only to find the secret), then the
        # same decoded token is verified.
        token = parse_token(self._get_token(headers, jwt_values), self.max_token_length)
        client_key = _issuer(token.claims)
        claims = self._verifier.verify(token, self._shared_secret(client_key))

        token_qsh = claims["qsh"]
        if not (allow_context_qsh and token_qsh == CONTEXT_QSH):
            if body_params is None:
                canonical = canonical_request_from_query(
                    http_method, path, query, self._base_path, params
                )
            else:
                canonical = canonical_request(http_method, path, params, self._base_path)
            check_qsh(token_qsh, canonical)
        return AuthResult(client_key, claims)

    @staticmethod
    def _get_token(
        headers: Headers | None = None,
        query_params: Mapping[str, str | Sequence[str]] | None = None,
    ) -> str:
        """Return the token from the ``Authorization`` header, else the ``jwt`` parameter.

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


def check_qsh(token_qsh: object, canonical: str) -> None:
    """Compare a token's ``qsh`` with the hash of ``canonical`` in constant time.

    :raises QshMismatchError: carrying the canonical request and both hashes.
    """
    expected = qsh_of(canonical)
    if not (
        isinstance(token_qsh, str)
        and token_qsh.isascii()
        and hmac.compare_digest(token_qsh.encode("ascii"), expected.encode("ascii"))
    ):
        raise exc.QshMismatchError(
            "The token's qsh does not match this request",
            canonical_request=canonical,
            expected_qsh=expected,
            token_qsh=token_qsh if isinstance(token_qsh, str) else repr(token_qsh),
        )


def _hmac_verifier(algorithms: Sequence[str], leeway: float) -> TokenVerifier:
    if isinstance(algorithms, str):
        algorithms = (algorithms,)
    if not algorithms or not set(algorithms) <= _HMAC_ALGORITHMS:
        raise ValueError(
            "Authenticator verifies shared-secret tokens: algorithms must be among "
            f"{sorted(_HMAC_ALGORITHMS)}"
        )
    return TokenVerifier(algorithms, REQUIRED_CLAIMS, leeway)


def _issuer(claims: Mapping[str, Any]) -> str:
    issuer = claims.get("iss")
    if issuer is None:
        raise exc.MissingClaimError("iss")
    if not isinstance(issuer, str) or not issuer:
        raise exc.InvalidClaimError('The "iss" claim is not a non-empty string', claim="iss")
    return issuer
