"""RSA key pairs made at run time for the fake key server and the fake Forge JWKS."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import jwt.algorithms

from ._requirements import require_cryptography

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = [
    "DEFAULT_KEY_BITS",
    "KeyRing",
    "check_private_key",
    "new_rsa_key",
    "public_jwk",
    "public_pem",
]

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


class KeyRing:
    """The signing keys of a fake: RSA private keys by ``kid``, the newest one signing.

    :param private_key: the first key; a new one by default.
    :param kid: its id; a new UUID by default.
    :raises ValueError: for a ``kid`` :meth:`check_kid` refuses.
    """

    def __init__(self, private_key: RSAPrivateKey | None = None, *, kid: str | None = None) -> None:
        self._keys: dict[str, RSAPrivateKey] = {}
        # Each public key made once, so that a verifier sees the same object every time.
        self._public: dict[str, RSAPublicKey] = {}
        #: The id of the key that signs.
        self.kid = ""
        self.rotate(private_key, kid=kid)

    @property
    def kids(self) -> tuple[str, ...]:
        """The ids of every key published, oldest first; the last is :attr:`kid`."""
        return tuple(self._keys)

    def rotate(self, private_key: RSAPrivateKey | None = None, *, kid: str | None = None) -> str:
        """Start signing with a new key under a new ``kid``; the older keys stay published.

        :param private_key: the new key; a new 2048-bit key by default.
        :param kid: its id; a new UUID by default.
        :returns: the new ``kid``.
        :raises ValueError: if ``kid`` is not a usable key id or is taken.
        :raises TypeError: if ``private_key`` is not an RSA private key.
        """
        kid = kid if kid is not None else str(uuid.uuid4())
        self.check_kid(kid)
        if kid in self._keys:
            raise ValueError(f"The key {kid!r} exists already")
        name = type(self).__name__
        key = new_rsa_key() if private_key is None else check_private_key(private_key, name)
        self._keys[kid] = key
        self._public[kid] = key.public_key()
        self.kid = kid
        return kid

    def remove_key(self, kid: str) -> None:
        """Stop publishing the key ``kid``, as for a retired key.

        :raises KeyError: if there is no such key.
        """
        del self._keys[kid]
        del self._public[kid]

    def check_kid(self, kid: str) -> None:
        """Refuse a key id that could not be published (here: an empty one).

        :raises ValueError: for such a ``kid``.
        """
        if not kid:
            raise ValueError("A kid may not be empty")

    def signing_key(self, kid: str | None = None) -> RSAPrivateKey:
        """The private key ``kid``, by default the one that signs.

        :raises KeyError: if there is no such key.
        """
        return self._keys[kid or self.kid]

    def public_key(self, kid: str) -> RSAPublicKey | None:
        """The public key ``kid``, or ``None`` if there is none."""
        return self._public.get(kid)

    def signing_keys(self) -> list[tuple[str, RSAPrivateKey]]:
        """Every key with its id, oldest first."""
        return list(self._keys.items())
