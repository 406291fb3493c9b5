"""Steps every signing helper of the kit shares."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import jwt

__all__ = [
    "FORGE_OAUTH_TOKEN_ISSUER",
    "FORGE_OAUTH_TOKEN_KINDS",
    "apply_claims",
    "check_lifetime",
    "forge_oauth_token",
    "issued_at",
]


def issued_at(now: float | None) -> int:
    """The ``iat`` of a token signed at ``now`` (seconds since the epoch), else at the current
    time, which the kit's clock may have frozen."""
    return int(time.time() if now is None else now)


def check_lifetime(lifetime: object) -> int:
    """Return ``lifetime`` if it is a positive whole number of seconds.

    :raises ValueError: otherwise.
    """
    if isinstance(lifetime, bool) or not isinstance(lifetime, int) or lifetime <= 0:
        raise ValueError("lifetime must be a positive whole number of seconds")
    return lifetime


def apply_claims(payload: dict[str, Any], changes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Add or replace claims in ``payload``, a ``None`` value removing one; return ``payload``.

    >>> apply_claims({"iss": "a", "sub": "b"}, {"sub": None, "aud": "c"})
    {'iss': 'a', 'aud': 'c'}
    """
    for name, value in (changes or {}).items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return payload


#: The ``iss`` of the fake ``x-forge-oauth-*`` tokens: they come from this kit, not Atlassian.
FORGE_OAUTH_TOKEN_ISSUER = "atlassian_jwt.testing"

#: The kinds of fake Forge OAuth token: the app's own (``x-forge-oauth-system``) and a user's
#: (``x-forge-oauth-user``).
FORGE_OAUTH_TOKEN_KINDS = ("system", "user")


def forge_oauth_token(
    secret: bytes,
    kind: str,
    *,
    cloud_id: str,
    account_id: str | None,
    lifetime: int,
    now: float | None,
) -> str:
    """Make a fake Forge OAuth token: a JWT (HS256 with ``secret``) whose ``exp`` says when it
    stops working, like the tokens Forge sends in ``x-forge-oauth-system`` and
    ``x-forge-oauth-user``.

    :raises ValueError: for an unknown kind, a user token without an account id, or a bad
        lifetime.
    """
    if kind not in FORGE_OAUTH_TOKEN_KINDS:
        raise ValueError(f"kind must be one of {FORGE_OAUTH_TOKEN_KINDS}")
    if kind == "user" and not account_id:
        raise ValueError("A user token needs the account id of the user it acts for")
    signed_at = issued_at(now)
    claims: dict[str, Any] = {
        "iss": FORGE_OAUTH_TOKEN_ISSUER,
        "kind": kind,
        "cloudId": cloud_id,
        "iat": signed_at,
        "exp": signed_at + check_lifetime(lifetime),
        "jti": str(uuid.uuid4()),
    }
    if kind == "user":
        claims["sub"] = account_id
    return jwt.encode(claims, secret, algorithm="HS256")
