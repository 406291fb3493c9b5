"""RSA key pairs made at run time for the fake key server and the fake Forge JWKS."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import jwt.algorithms

from ._requirements import require_cryptography

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["DEFAULT_KEY_BITS", "check_private_key", "new_rsa_key", "public_jwk", "public_pem"]

#: The size of the keys made here: the smallest the library's verifiers accept.
DEFAULT_KEY_BITS = 2048


def new_rsa_key(bits: int = DEFAULT_KEY_BITS) -> RSAPrivateKey:
    """Make a new RSA private key (public exponent 65537), to give the fakes one key to share.

    Making a key takes a moment; a test suite can make one per session and pass it as
    ``private_key=`` (the pytest plugin does).

    :raises ImportError: if ``cryptography`` is not installed.
    """
    require_cryptography("Making an RSA key")
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def check_private_key(key: object, what: str) -> RSAPrivateKey:
    """Return ``key`` if it is an RSA private key, else raise :class:`TypeError`."""
    require_cryptography(what)
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError(f"{what} needs an RSA private key from cryptography")
    return key


def public_pem(key: RSAPrivateKey) -> str:
    """Return the public half of ``key`` as PEM text, as Atlassian's key server serves it.

    :raises ImportError: if ``cryptography`` is not installed.
    """
    require_cryptography("Writing an RSA key")
    from cryptography.hazmat.primitives import serialization

    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def public_jwk(key: RSAPrivateKey, kid: str) -> dict[str, Any]:
    """Return the public half of ``key`` as a JWK for a signing key named ``kid``."""
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}
