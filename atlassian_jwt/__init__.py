"""Sign and verify the JWTs of Atlassian Connect, with Atlassian's exact query string hash.

A drop-in replacement for the ``atlassian-jwt`` package: :func:`encode_token` signs calls from
the app to the product, :class:`Authenticator` verifies calls from the product to the app, and
:mod:`atlassian_jwt.url_utils` computes the ``qsh`` claim as Jira and Confluence do.
"""

from __future__ import annotations

from ._http import (
    AsyncThreadTransport,
    AsyncTransport,
    HTTPRequest,
    HTTPResponse,
    Transport,
    UrllibTransport,
)
from .authenticate import CONTEXT_QSH, Authenticator, AuthResult
from .encode import DEFAULT_LIFETIME, encode_token
from .exceptions import (
    AlgorithmNotAllowedError,
    ConnectTenantNotFoundError,
    DecodeError,
    ForgeContextInvalidError,
    ForgeContextMissingError,
    ForgeTokenUnavailableError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSignatureError,
    KeyFetchError,
    MalformedRequestError,
    MalformedTokenError,
    MissingClaimError,
    QshMismatchError,
    TenantStoreError,
    TokenExchangeError,
    TokenExpiredError,
    TokenMissingError,
    TokenNotYetValidError,
    TokenRejectedError,
    TokenReplayedError,
    TokenTooLargeError,
    UnknownIssuerError,
    UnknownKeyError,
)
from .forge import (
    ForgeEvent,
    ForgeEventDispatcher,
    ForgeInvocation,
    ForgeInvocationVerifier,
    ForgeToken,
)
from .install import InstallAuthenticator
from .keys import AtlassianKeyProvider, KeyProvider, StaticKeyProvider
from .url_utils import canonicalize_request, hash_url

__version__ = "4.0.0.dev0"

__all__ = [
    "CONTEXT_QSH",
    "DEFAULT_LIFETIME",
    "AlgorithmNotAllowedError",
    "AsyncThreadTransport",
    "AsyncTransport",
    "AtlassianKeyProvider",
    "AuthResult",
    "Authenticator",
    "ConnectTenantNotFoundError",
    "DecodeError",
    "ForgeContextInvalidError",
    "ForgeContextMissingError",
    "ForgeEvent",
    "ForgeEventDispatcher",
    "ForgeInvocation",
    "ForgeInvocationVerifier",
    "ForgeToken",
    "ForgeTokenUnavailableError",
    "HTTPRequest",
    "HTTPResponse",
    "InstallAuthenticator",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidIssuerError",
    "InvalidSignatureError",
    "KeyFetchError",
    "KeyProvider",
    "MalformedRequestError",
    "MalformedTokenError",
    "MissingClaimError",
    "QshMismatchError",
    "StaticKeyProvider",
    "TenantStoreError",
    "TokenExchangeError",
    "TokenExpiredError",
    "TokenMissingError",
    "TokenNotYetValidError",
    "TokenRejectedError",
    "TokenReplayedError",
    "TokenTooLargeError",
    "Transport",
    "UnknownIssuerError",
    "UnknownKeyError",
    "UrllibTransport",
    "__version__",
    "canonicalize_request",
    "encode_token",
    "hash_url",
]
