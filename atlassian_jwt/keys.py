"""Atlassian's public keys for signed install and uninstall callbacks (RS256).

Since October 2021 Jira and Confluence sign the ``installed`` and ``uninstalled`` callbacks
with an RSA key of Atlassian's; the token's ``kid`` header names it, and the public key is a
PEM file at ``<key base>/<kid>``. A :class:`KeyProvider` turns a ``kid`` into that key:

* :class:`AtlassianKeyProvider` fetches it from Atlassian's key server (production or staging),
  caches it by ``kid`` and fetches each ``kid`` once, however many requests wait for it (a
  ``kid`` the server does not know is remembered for a minute);
* :class:`StaticKeyProvider` holds keys given up front, for tests and for apps that pin keys.

The RS256 path needs ``cryptography`` (the ``crypto`` extra). Keys are
downloaded with the standard library (see :class:`atlassian_jwt.UrllibTransport`) unless
another transport is passed, such as
:class:`~atlassian_jwt.integrations.requests_auth.RequestsTransport`.
"""

from __future__ import annotations

import collections
import concurrent.futures
import math
import re
import socket
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol, Union

import jwt.algorithms

from . import exceptions as exc
from ._extras import missing_extra
from ._http import Transport, default_transport, get_request
from .url_utils import check_service_url

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = [
    "DEFAULT_KEY_TIMEOUT",
    "DEFAULT_MAX_KEY_BYTES",
    "DEFAULT_MAX_UNKNOWN_KIDS",
    "DEFAULT_UNKNOWN_KID_TTL",
    "KEY_BASE_URLS",
    "KID_PATTERN",
    "AtlassianKeyProvider",
    "KeyProvider",
    "PublicKey",
    "StaticKeyProvider",
    "fetch",
    "is_valid_kid",
    "load_rsa_public_key",
    "require_crypto",
]

#: Where Atlassian publishes the install keys, by environment. The base is configuration: it is
#: never taken from a request or a token.
KEY_BASE_URLS: Mapping[str, str] = {
    "production": "https://connect-install-keys.atlassian.com",
    "staging": "https://cs-migrations--cdn.us-east-1.staging.public.atl-paas.net",
}

#: A ``kid`` that may go into a URL: one path segment of letters, digits, ``.``, ``_`` and
#: ``-``, starting with a letter or digit (so never ``.`` or ``..``), at most 256 characters.
#: Atlassian's key ids are UUIDs; nothing that could change the URL's path gets through.
KID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,255}")

#: Seconds allowed for the whole download of one key, from connecting to the last byte.
DEFAULT_KEY_TIMEOUT = 5.0

#: A PEM RSA public key is under 1 KiB even at 4096 bits; anything much larger is not a key.
DEFAULT_MAX_KEY_BYTES = 16 * 1024

#: Seconds a ``kid`` the key server answered 404 or 410 for is answered from memory. Atlassian
#: publishes a key before it signs with it, so a genuine ``kid`` is unknown only if a token
#: outruns the key's publication; a minute absorbs repeats of a made-up ``kid`` yet soon
#: notices a key that has since appeared.
DEFAULT_UNKNOWN_KID_TTL = 60.0

#: How many unknown ``kid`` values are remembered at most (the oldest is forgotten first).
DEFAULT_MAX_UNKNOWN_KIDS = 1024

#: Keys shorter than this are refused: no Atlassian key is, and they can be factored.
MIN_RSA_KEY_BITS = 2048

#: What a provider may return: a PEM public key (text or bytes) or a loaded RSA public key.
PublicKey = Union[str, bytes, "RSAPublicKey"]

_UNKNOWN_KID = "Atlassian's key server has no key with the token's kid"


class KeyProvider(Protocol):
    """Looks up the public key that signed a token, by the token's ``kid``."""

    def get_key(self, kid: str) -> PublicKey | None:
        """Return the public key named ``kid``.

        :returns: the key, or ``None`` if there is no key with that id (the token is then
            rejected with :class:`~atlassian_jwt.exceptions.UnknownKeyError`).
        :raises UnknownKeyError: may be raised instead of returning ``None``.
        :raises KeyFetchError: if the key cannot be found out right now (the app should answer
            503 so that Atlassian retries).
        """
        ...


def require_crypto() -> None:
    """Raise a clear :class:`ImportError` if ``cryptography`` (needed for RS256) is missing.

    :raises ImportError: naming the packages of the ``crypto`` extra to install.
    """
    # Read at call time (not imported by name) so that the check follows PyJWT's own.
    if not jwt.algorithms.has_crypto:
        raise missing_extra(
            "Verifying RS256 tokens (signed installs, Forge invocation tokens)",
            ("crypto", "cryptography"),
        )


def is_valid_kid(kid: object) -> bool:
    """Tell whether ``kid`` is a key id that may safely name a key (see :data:`KID_PATTERN`).

    >>> is_valid_kid('0e50fccb-239d-4991-a5db-dc850ba3f236')
    True
    >>> [is_valid_kid(kid) for kid in ('../x', 'a/b', '%2e%2e', '', 'x' * 257, 7)]
    [False, False, False, False, False, False]
    """
    return isinstance(kid, str) and KID_PATTERN.fullmatch(kid) is not None


def load_rsa_public_key(key: PublicKey) -> RSAPublicKey:
    """Return ``key`` as an RSA public key of at least 2048 bits.

    :param key: PEM text or bytes (``-----BEGIN PUBLIC KEY-----``), or a loaded key.
    :raises ImportError: if ``cryptography`` is not installed.
    :raises ValueError: if it is not such a key (a private key, a certificate, an EC key, a
        short RSA key, garbage).
    """
    require_crypto()
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if isinstance(key, str):
        if not key.isascii():
            raise ValueError("A PEM public key is ASCII text")
        key = key.encode("ascii")
    if isinstance(key, bytes):
        try:
            key = load_pem_public_key(key)  # type: ignore[assignment]
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise ValueError("Not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise ValueError("Not an RSA public key")
    if key.key_size < MIN_RSA_KEY_BITS:
        raise ValueError(f"The RSA key has {key.key_size} bits, fewer than {MIN_RSA_KEY_BITS}")
    return key


class StaticKeyProvider:
    """Keys given up front, by ``kid``: for tests, and for apps that pin Atlassian's keys.

    ::

        provider = StaticKeyProvider({"0e50fccb-239d-4991-a5db-dc850ba3f236": pem_text})

    :param keys: ``{kid: key}``, each key PEM text or bytes or a loaded RSA public key. Every
        key is checked here, so a bad one fails at start-up rather than on a request.
    :raises ImportError: if ``cryptography`` is not installed.
    :raises ValueError: for a ``kid`` that does not match :data:`KID_PATTERN` (it could never
        be looked up) or a key that is not an RSA public key of 2048 bits or more.
    """

    def __init__(self, keys: Mapping[str, PublicKey]) -> None:
        require_crypto()
        self._keys: dict[str, RSAPublicKey] = {}
        for kid, key in keys.items():
            if not is_valid_kid(kid):
                raise ValueError(f"Invalid key id {kid!r}: it must match {KID_PATTERN.pattern}")
            try:
                self._keys[kid] = load_rsa_public_key(key)
            except ValueError as error:
                raise ValueError(f"The key {kid!r} is not usable: {error}") from None

    def get_key(self, kid: str) -> RSAPublicKey | None:
        """Return the key named ``kid``, or ``None`` if there is none."""
        return self._keys.get(kid)


class AtlassianKeyProvider:
    """Fetch Atlassian's install keys from its key server, once per ``kid``.

    The key is the PEM file at ``<base>/<kid>``; the base is Atlassian's production or staging
    key server, or an explicit ``base_url``. Keys are cached by ``kid`` for the life of the
    provider (Atlassian gives a rotated key a new ``kid``); concurrent requests for a ``kid``
    not yet cached share one download.

    A ``kid`` the key server does not know (HTTP 404 or 410) is remembered for
    ``unknown_kid_ttl`` seconds and answered :class:`~atlassian_jwt.exceptions.UnknownKeyError`
    without a request, so that a token with a made-up ``kid`` sent again and again costs one
    fetch per ``unknown_kid_ttl``, not one per request. Other failures (timeouts, refused
    connections, HTTP 5xx and every other status, bodies that are not RSA public keys) are
    :class:`~atlassian_jwt.exceptions.KeyFetchError` and are never remembered: the next request
    tries again.

    HTTP 403 counts as a failure to fetch, not as an unknown ``kid``: a proxy, a firewall or a
    CDN that refuses the app answers 403 for keys that exist, and rejecting genuine installs
    for that is worse than answering 503 to a forged one. (An S3-backed CDN may also answer 403
    for a missing file; a forged token then gets 503 instead of 401, and is still refused.)

    :param environment: ``"production"`` or ``"staging"``; see :data:`KEY_BASE_URLS`.
    :param base_url: another key server, replacing the environment's: ``https://`` only,
        except plain ``http://`` to a loopback address (a test server on 127.0.0.1).
    :param timeout: seconds for the whole download of a key, from connecting to the last byte,
        headers included (a server that trickles its answer is cut off).
    :param max_bytes: responses larger than this are refused.
    :param unknown_kid_ttl: seconds an unknown ``kid`` is remembered; ``0`` remembers none.
    :param max_unknown_kids: at most this many unknown ``kid`` values are remembered; beyond it
        the oldest is forgotten first.
    :param transport: how keys are downloaded (see :class:`atlassian_jwt.Transport`): the
        standard library by default, whatever else is installed;
        :class:`~atlassian_jwt.integrations.requests_auth.RequestsTransport` or
        :class:`~atlassian_jwt.integrations.httpx_auth.HTTPXTransport` for a session's or
        client's proxies and certificates.
    :raises ImportError: if ``cryptography`` is not installed.
    :raises ValueError: for an unknown environment, an unacceptable ``base_url`` or a limit
        out of range.

    .. warning:: Never build ``base_url`` from anything in a request: whoever chooses the key
       server chooses which tokens verify.

    .. note:: ``timeout`` does not bound the DNS lookup of the key server's host name: Python
       has no timeout for :func:`socket.getaddrinfo`, so a name server that does not answer
       holds the request for as long as the system resolver waits before it gives up (and the
       fetch ends in :class:`~atlassian_jwt.exceptions.KeyFetchError`). With glibc that is set
       by ``options timeout:N attempts:N`` in ``/etc/resolv.conf`` or in ``RES_OPTIONS``; by
       default 5 seconds a try, 2 tries. Keys are fetched once per ``kid``, so this delays at
       most the first callbacks signed with a new key.
    """

    def __init__(
        self,
        environment: str = "production",
        *,
        base_url: str | None = None,
        timeout: float = DEFAULT_KEY_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_KEY_BYTES,
        unknown_kid_ttl: float = DEFAULT_UNKNOWN_KID_TTL,
        max_unknown_kids: int = DEFAULT_MAX_UNKNOWN_KIDS,
        transport: Transport | None = None,
    ) -> None:
        require_crypto()
        if environment not in KEY_BASE_URLS:
            raise ValueError(f"environment must be one of {sorted(KEY_BASE_URLS)}")
        if not 0 < timeout < math.inf:
            raise ValueError("timeout must be a positive number of seconds")
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if not 0 <= unknown_kid_ttl < math.inf:
            raise ValueError("unknown_kid_ttl must be a number of seconds, 0 or more")
        if max_unknown_kids <= 0:
            raise ValueError("max_unknown_kids must be positive")
        self.environment = environment
        self.base_url = (
            check_service_url(base_url, "A key server URL")
            if base_url
            else KEY_BASE_URLS[environment]
        )
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.unknown_kid_ttl = unknown_kid_ttl
        self.max_unknown_kids = max_unknown_kids
        self.transport = transport
        self._cache: dict[str, RSAPublicKey] = {}
        # kid -> when to forget it, oldest first; with one TTL that is also soonest to expire.
        self._unknown: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._in_flight: dict[str, concurrent.futures.Future[RSAPublicKey]] = {}
        self._lock = threading.Lock()

    def key_url(self, kid: str) -> str:
        """Return the URL of the key ``kid`` (which must match :data:`KID_PATTERN`)."""
        if not is_valid_kid(kid):
            raise exc.MalformedTokenError("The token's kid is not a valid key id")
        return f"{self.base_url.rstrip('/')}/{kid}"

    def get_key(self, kid: str) -> RSAPublicKey:
        """Return the key named ``kid``, from the cache or from the key server.

        :raises MalformedTokenError: if ``kid`` does not match :data:`KID_PATTERN` (nothing is
            fetched).
        :raises UnknownKeyError: if the key server has no such key (HTTP 404 or 410), now or
            within the last ``unknown_kid_ttl`` seconds.
        :raises KeyFetchError: if the key cannot be fetched or is not an RSA public key.
        """
        url = self.key_url(kid)
        with self._lock:
            key = self._cache.get(kid)
            if key is not None:
                return key
            if self._known_unknown(kid):
                raise exc.UnknownKeyError(_UNKNOWN_KID)
            future = self._in_flight.get(kid)
            leader = future is None
            if future is None:
                future = self._in_flight[kid] = concurrent.futures.Future()
        if not leader:
            return future.result()
        try:
            key = self._fetch(url)
        except BaseException as error:
            with self._lock:
                del self._in_flight[kid]
                if isinstance(error, exc.UnknownKeyError):
                    self._remember_unknown(kid)
            future.set_exception(error)
            raise
        with self._lock:
            del self._in_flight[kid]
            self._cache[kid] = key
        future.set_result(key)
        return key

    def _known_unknown(self, kid: str) -> bool:
        # Called with the lock held.
        forget_at = self._unknown.get(kid)
        if forget_at is None:
            return False
        if time.monotonic() < forget_at:
            return True
        del self._unknown[kid]
        return False

    def _remember_unknown(self, kid: str) -> None:
        # Called with the lock held.
        if not self.unknown_kid_ttl:
            return
        now = time.monotonic()
        while self._unknown and next(iter(self._unknown.values())) <= now:
            self._unknown.popitem(last=False)
        self._unknown.pop(kid, None)
        self._unknown[kid] = now + self.unknown_kid_ttl
        while len(self._unknown) > self.max_unknown_kids:
            self._unknown.popitem(last=False)

    def _fetch(self, url: str) -> RSAPublicKey:
        status, body = fetch(url, self.timeout, self.max_bytes, self.transport)
        if status in (404, 410):
            raise exc.UnknownKeyError(_UNKNOWN_KID)
        if status != 200:
            raise exc.KeyFetchError(f"The key server answered HTTP {status}")
        try:
            return load_rsa_public_key(body)
        except ValueError:
            raise exc.KeyFetchError("The key server's answer is not an RSA public key") from None


def fetch(
    url: str, timeout: float, max_bytes: int, transport: Transport | None = None
) -> tuple[int, bytes]:
    """GET ``url`` without following redirects; return the status and, for 200, the body.

    :param timeout: seconds for the whole download, from connecting to the last byte
        (headers included).
    :param max_bytes: a larger body is refused.
    :param transport: how to send it (see :class:`atlassian_jwt.Transport`); the standard
        library by default, whatever else is installed.
    :raises KeyFetchError: for a timeout, a connection failure or a body larger than
        ``max_bytes``. Its message says what failed, never the body or the URL.
    """
    request = get_request(url, _ACCEPT, timeout, max_bytes)
    try:
        response = (transport or default_transport())(request)
    except (TimeoutError, socket.timeout):  # socket.timeout: not TimeoutError on 3.9
        raise exc.KeyFetchError("Could not fetch the key: timed out") from None
    except OSError as error:
        # The exception's type says enough (refused, reset); its text may quote the URL.
        raise exc.KeyFetchError(f"Could not fetch the key: {type(error).__name__}") from None
    if response.status != 200:
        return response.status, b""
    if response.too_large or len(response.body) > max_bytes:
        raise exc.KeyFetchError(f"The key server's answer is larger than {max_bytes} bytes")
    return 200, response.body


_ACCEPT = "application/x-pem-file, application/json, */*"
