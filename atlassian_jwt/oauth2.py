"""Act as a user: the OAuth 2.0 JWT-bearer exchange of Atlassian Connect, with a token cache.

A Connect app calls the product *as a user* (so that the user's permissions apply and the audit
trail names the user) in three steps:

1. sign an assertion with the tenant's shared secret (:func:`build_assertion`);
2. POST it to Atlassian's authorization server, which answers with an access token;
3. call the product's REST API with ``Authorization: Bearer <access token>``.

:class:`TokenProvider` does steps 1 and 2 and caches the access token per app, tenant, user
and scopes until shortly before it expires; :class:`AsyncTokenProvider` is the same for asyncio.
The auth classes ``ActAsUserAuth`` in :mod:`atlassian_jwt.integrations.requests_auth` and
:mod:`atlassian_jwt.integrations.httpx_auth` do step 3::

    provider = TokenProvider()  # one per process: it holds the cache
    token = provider.get_token(tenant, account_id, scopes=("READ", "WRITE"))
    requests.get(tenant["baseUrl"] + "/rest/api/3/myself",
                 headers={"Authorization": token.authorization})

The tenant is the payload of the ``installed`` callback: ``clientKey``, ``sharedSecret``,
``baseUrl`` and ``oauthClientId`` are used. The core needs only PyJWT: both providers send the
exchange with the standard library (the async one from a worker thread) unless given another
transport (:class:`atlassian_jwt.Transport`, :class:`atlassian_jwt.AsyncTransport`), such as
``RequestsTransport``, ``HTTPXTransport`` or ``AsyncHTTPXTransport`` from the integrations.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Union

import jwt

from ._http import (
    AsyncHTTPXTransport,
    AsyncThreadTransport,
    AsyncTransport,
    HTTPRequest,
    HTTPResponse,
    Transport,
    default_transport,
    form_request,
)
from .exceptions import TokenExchangeError
from .url_utils import check_service_url, origin

__all__ = [
    "ASSERTION_LIFETIME",
    "AUTHORIZATION_SERVER",
    "DEFAULT_EXPIRY_MARGIN",
    "DEFAULT_MAX_ENTRIES",
    "DEFAULT_SCOPES",
    "DEFAULT_TIMEOUT",
    "GRANT_TYPE",
    "MAX_RESPONSE_BYTES",
    "AccessToken",
    "AsyncTokenProvider",
    "ScopesArg",
    "TokenProvider",
    "build_assertion",
    "is_tenant_url",
    "normalize_scopes",
]

#: Atlassian's authorization server; also the assertion's ``aud``.
AUTHORIZATION_SERVER = "https://oauth-2-authorization-server.services.atlassian.com"
#: The ``grant_type`` of the exchange (RFC 7523).
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Lifetime of an assertion in seconds; it is used once, right away.
ASSERTION_LIFETIME = 60
#: Scopes requested when the caller names none: the least privilege.
DEFAULT_SCOPES = ("READ",)
#: A cached access token is renewed this many seconds before it expires, so that a token
#: handed out is still valid when the product receives the request.
DEFAULT_EXPIRY_MARGIN = 60.0
#: Seconds the whole exchange may take, from connecting to the last byte of the answer.
DEFAULT_TIMEOUT = 10.0
#: Cached tokens kept at most (least recently used ones are dropped first).
DEFAULT_MAX_ENTRIES = 10_000
#: Responses of the authorization server longer than this are refused unread.
MAX_RESPONSE_BYTES = 64 * 1024

_ISS_PREFIX = "urn:atlassian:connect:clientid:"
_SUB_PREFIX = "urn:atlassian:connect:useraccountid:"
# RFC 6749 section 3.3: a scope token is printable ASCII except space, '"' and '\'.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# RFC 6750 section 2.1 b64token: what may follow "Bearer " in a header, nothing else.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6749 section 5.2: an error code; anything else the server sends is not echoed.
_OAUTH_ERROR = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}")
_DIGITS = re.compile(r"[0-9]+")

ScopesArg = Union[str, Iterable[str]]
# What decides whom a token was issued to: the authorization server, the tenant's OAuth client
# id, client key, app key and base URL, the user and the sorted scopes.
CacheKey = tuple[str, str, str, str, str, str, tuple[str, ...]]


@dataclass(frozen=True)
class AccessToken:
    """An access token to call the product as a user.

    :ivar access_token: the token itself; left out of ``repr`` so that it is not logged.
    :ivar expires_at: when it expires, on the provider's clock (seconds since the epoch).
    :ivar scopes: the scopes requested, upper-cased.
    """

    access_token: str = field(repr=False)
    expires_at: float
    scopes: tuple[str, ...]

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value: ``Bearer <access token>``."""
        return f"Bearer {self.access_token}"


def normalize_scopes(scopes: ScopesArg) -> tuple[str, ...]:
    """Upper-case the scopes and drop repeats, keeping their order.

    :param scopes: scope names, or one string of them separated by spaces.
    :raises ValueError: for no scope at all, or a name that is not an OAuth scope token.

    >>> normalize_scopes(["read", "act_as_user", "READ"])
    ('READ', 'ACT_AS_USER')
    >>> normalize_scopes("read write")
    ('READ', 'WRITE')
    """
    names = scopes.split() if isinstance(scopes, str) else list(scopes)
    result: list[str] = []
    for name in names:
        if not isinstance(name, str) or not _SCOPE_TOKEN.fullmatch(name):
            raise ValueError(f"{name!r} is not a scope name")
        if name.upper() not in result:
            result.append(name.upper())
    if not result:
        raise ValueError("At least one scope is needed, e.g. READ")
    return tuple(result)


def _tenant_str(tenant: Mapping[str, Any], name: str, hint: str = "") -> str:
    value = tenant.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"The tenant information has no {name!r}{hint}")
    return value


def build_assertion(
    tenant: Mapping[str, Any],
    account_id: str,
    *,
    authorization_server: str = AUTHORIZATION_SERVER,
    now: float | None = None,
) -> str:
    """Sign the assertion that the authorization server exchanges for an access token.

    The claims, signed with HS256 and the tenant's ``sharedSecret``: ``iss`` =
    ``urn:atlassian:connect:clientid:<oauthClientId>``, ``sub`` =
    ``urn:atlassian:connect:useraccountid:<account_id>``, ``tnt`` = the tenant's ``baseUrl``,
    ``aud`` = the authorization server, ``iat`` = now and ``exp`` = ``iat`` + 60 seconds.

    :param tenant: the tenant information from the ``installed`` callback.
    :param account_id: the Atlassian account id of the user to act as.
    :param authorization_server: the server the assertion is for (its ``aud``).
    :param now: the time to sign at (seconds since the epoch); the current time by default.
    :returns: the encoded assertion.
    :raises ValueError: when the tenant lacks ``oauthClientId``, ``sharedSecret`` or
        ``baseUrl``, or the account id is empty.

    .. warning:: The assertion is a credential for a minute: never log it.
    """
    client_id = _tenant_str(
        tenant,
        "oauthClientId",
        ": the product sends it in the installed callback; store it with the shared secret, "
        "and reinstall the app for tenants stored without it",
    )
    secret = _tenant_str(tenant, "sharedSecret")
    base_url = _tenant_str(tenant, "baseUrl")
    if not isinstance(account_id, str) or not account_id.strip():
        raise ValueError("account_id must be a non-empty Atlassian account id")
    issued_at = int(time.time() if now is None else now)
    claims = {
        "iss": _ISS_PREFIX + client_id,
        "sub": _SUB_PREFIX + account_id,
        "tnt": base_url,
        "aud": authorization_server,
        "iat": issued_at,
        "exp": issued_at + ASSERTION_LIFETIME,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def is_tenant_url(tenant: Mapping[str, Any], url: str) -> bool:
    """Whether ``url`` has the same scheme, host and port as the tenant's ``baseUrl``.

    An access token acts as a user of one tenant; the auth classes send it nowhere else.

    >>> tenant = {"baseUrl": "https://example.atlassian.net"}
    >>> is_tenant_url(tenant, "https://example.atlassian.net:443/rest/api/3/myself")
    True
    >>> is_tenant_url(tenant, "https://example.atlassian.net.evil.test/rest/api/3/myself")
    False
    """
    tenant_origin = origin(str(tenant.get("baseUrl") or ""))
    return tenant_origin is not None and tenant_origin == origin(url)


def _check_server(url: str) -> str:
    """Return the authorization server's address without a trailing slash, if it is safe."""
    # Anyone who reads an assertion on the wire can exchange it: plain HTTP only on loopback.
    check_service_url(url, "authorization_server")
    return url[:-1] if url.endswith("/") else url


class _Exchange:
    """One exchange's request and the reading of its response, shared by both providers."""

    def __init__(
        self,
        provider: _BaseProvider,
        tenant: Mapping[str, Any],
        account_id: str,
        scopes: tuple[str, ...],
    ) -> None:
        self.url = provider.token_url
        self.started = provider.clock()
        self.scopes = scopes
        self.assertion = build_assertion(
            tenant,
            account_id,
            authorization_server=provider.authorization_server,
            now=self.started,
        )
        self.secret: str = tenant["sharedSecret"]  # build_assertion checked it
        self.form = {
            "grant_type": GRANT_TYPE,
            "assertion": self.assertion,
            "scope": " ".join(scopes),
        }

    def scrub(self, text: str) -> str:
        """Remove the assertion and the secret from text a server or transport produced."""
        return text.replace(self.assertion, "[assertion]").replace(self.secret, "[secret]")

    def timed_out(self, timeout: float) -> TokenExchangeError:
        return TokenExchangeError(
            f"The token exchange at {self.url} timed out after {timeout:g} s", reason="timeout"
        )

    def unreachable(self, error: BaseException) -> TokenExchangeError:
        detail = self.scrub(str(error)) or type(error).__name__
        return TokenExchangeError(
            f"The token exchange at {self.url} failed: {detail}", reason="connection"
        )

    def invalid(self, status: int, what: str) -> TokenExchangeError:
        return TokenExchangeError(
            f"The token exchange at {self.url} answered HTTP {status} with {what}",
            reason="invalid_response",
            status=status,
        )

    def request(self, timeout: float) -> HTTPRequest:
        """The POST of the form, capped at :data:`MAX_RESPONSE_BYTES` and ``timeout``."""
        return form_request(self.url, self.form, timeout, MAX_RESPONSE_BYTES)

    def read(self, response: HTTPResponse) -> AccessToken:
        """Turn the response into an access token, or raise :class:`TokenExchangeError`."""
        status, body = response.status, response.body
        too_large = response.too_large or len(body) > MAX_RESPONSE_BYTES
        data: Any = None
        if not too_large:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                pass
        if not 200 <= status < 300:
            raise self.http_error(status, data)
        if too_large:
            raise self.invalid(status, f"a body over {MAX_RESPONSE_BYTES} bytes")
        if not isinstance(data, dict):
            raise self.invalid(status, "a body that is not a JSON object")
        token = data.get("access_token")
        if not isinstance(token, str) or not _B64TOKEN.fullmatch(token):
            raise self.invalid(status, "no usable access_token")
        token_type = data.get("token_type", "bearer")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise self.invalid(status, "a token_type that is not Bearer")
        expires_in = data.get("expires_in")
        if expires_in is None:
            lifetime = 0.0  # unknown: use the token for this request only, never cache it
        elif isinstance(expires_in, str) and _DIGITS.fullmatch(expires_in):
            lifetime = float(expires_in)
        elif isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
            lifetime = float(expires_in)
        else:
            lifetime = -1.0
        # json.loads reads NaN and Infinity: either would keep a token cached for ever.
        if not (math.isfinite(lifetime) and lifetime >= 0):
            raise self.invalid(status, "an expires_in that is not a number of seconds")
        return AccessToken(token, self.started + lifetime, self.scopes)

    def http_error(self, status: int, data: Any) -> TokenExchangeError:
        oauth_error = description = None
        if isinstance(data, dict):
            if isinstance(data.get("error"), str) and _OAUTH_ERROR.fullmatch(data["error"]):
                oauth_error = self.scrub(data["error"])
            if isinstance(data.get("error_description"), str):
                description = self.scrub(data["error_description"])[:500]
        detail = f" ({oauth_error})" if oauth_error else ""
        return TokenExchangeError(
            f"The token exchange at {self.url} failed: HTTP {status}{detail}",
            reason="http_status",
            status=status,
            oauth_error=oauth_error,
            error_description=description,
        )


def _cache_key(
    authorization_server: str, tenant: Mapping[str, Any], account_id: str, scopes: ScopesArg
) -> tuple[CacheKey, tuple[str, ...]]:
    """Return the cache key and the scopes to request, in the caller's order.

    The key holds everything that decides whom the token was issued to, not just the site:
    two apps installed on one site share its ``clientKey``, and one provider may serve both,
    so their tokens are told apart by the OAuth client id and the app key. Scopes are a set to
    OAuth, so the key holds them sorted: ``READ WRITE`` and ``write read`` share one token.
    """
    if not isinstance(account_id, str) or not account_id.strip():
        raise ValueError("account_id must be a non-empty Atlassian account id")
    requested = normalize_scopes(scopes)
    client_key = _tenant_str(tenant, "clientKey")
    # Checked by build_assertion, with their own messages, before any token is cached.
    client_id, app_key, base_url = (
        value if isinstance(value, str) else ""
        for value in (tenant.get("oauthClientId"), tenant.get("key"), tenant.get("baseUrl"))
    )
    key = (
        authorization_server,
        client_id,
        client_key,
        app_key,
        base_url,
        account_id,
        tuple(sorted(requested)),
    )
    return key, requested


class _BaseProvider:
    """Configuration and the token cache that both providers share."""

    def __init__(
        self,
        *,
        authorization_server: str = AUTHORIZATION_SERVER,
        expiry_margin: float = DEFAULT_EXPIRY_MARGIN,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        if expiry_margin < 0 or timeout <= 0 or max_entries < 1:
            raise ValueError("expiry_margin must be >= 0, timeout > 0 and max_entries >= 1")
        self.authorization_server = _check_server(authorization_server)
        self.token_url = self.authorization_server + "/oauth2/token"
        self.expiry_margin = expiry_margin
        self.timeout = timeout
        self.clock = clock
        self.max_entries = max_entries
        # Keys are those of _cache_key, least recently used first.
        self._cache: OrderedDict[CacheKey, AccessToken] = OrderedDict()
        # Guards the cache, which the async provider may share between event loop threads.
        self._lock = threading.Lock()

    def _cached(self, key: CacheKey) -> AccessToken | None:
        """Return the cached token if it is still fresh enough; the caller holds the lock."""
        token = self._cache.get(key)
        if token is None:
            return None
        if self.clock() >= token.expires_at - self.expiry_margin:
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return token

    def _store(self, key: CacheKey, token: AccessToken) -> None:
        if self.clock() >= token.expires_at - self.expiry_margin:
            return  # too short-lived to hand out twice
        with self._lock:
            self._cache[key] = token
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)

    def invalidate(
        self, tenant: Mapping[str, Any], account_id: str, scopes: ScopesArg = DEFAULT_SCOPES
    ) -> None:
        """Forget the cached token, e.g. after the product answered 401 with it."""
        key, _ = _cache_key(self.authorization_server, tenant, account_id, scopes)
        with self._lock:
            self._cache.pop(key, None)

    def clear(self) -> None:
        """Forget every cached token."""
        with self._lock:
            self._cache.clear()


class TokenProvider(_BaseProvider):
    """Access tokens to act as users, cached and safe to share between threads.

    A token is cached per app and tenant (the tenant's ``oauthClientId``, ``clientKey``,
    ``key`` and ``baseUrl``), account id and set of scopes until ``expiry_margin`` seconds
    before it expires: one provider may serve several apps, even on the same site. When many
    threads need the same missing token at once, one of them exchanges an assertion for it and
    the others wait for its result (or its error): one exchange per key, however many requests
    arrive together.

    :param authorization_server: the authorization server's address. Configuration only: never
        take it from a request. ``https`` is required except for loopback addresses (tests).
    :param expiry_margin: seconds before expiry at which a cached token is renewed.
    :param timeout: seconds the whole exchange may take (connecting, sending, the answer's
        headers and body); threads waiting for the same token wait for that one exchange.
    :param clock: the time in seconds since the epoch; tests inject their own.
    :param max_entries: the most tokens cached; the least recently used go first.
    :param transport: how the form is POSTed (see :class:`atlassian_jwt.Transport`): the
        standard library by default;
        :class:`~atlassian_jwt.integrations.requests_auth.RequestsTransport` or
        :class:`~atlassian_jwt.integrations.httpx_auth.HTTPXTransport` for a session's or
        client's proxies and certificates.
    """

    def __init__(
        self,
        *,
        authorization_server: str = AUTHORIZATION_SERVER,
        expiry_margin: float = DEFAULT_EXPIRY_MARGIN,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(
            authorization_server=authorization_server,
            expiry_margin=expiry_margin,
            timeout=timeout,
            clock=clock,
            max_entries=max_entries,
        )
        self.transport: Transport = transport if transport is not None else default_transport()
        self._flights: dict[CacheKey, Future[AccessToken]] = {}

    def get_token(
        self, tenant: Mapping[str, Any], account_id: str, scopes: ScopesArg = DEFAULT_SCOPES
    ) -> AccessToken:
        """Return an access token to act as ``account_id``, cached while it is fresh enough.

        :param tenant: the tenant information from the ``installed`` callback, with
            ``clientKey``, ``sharedSecret``, ``baseUrl`` and ``oauthClientId``.
        :param account_id: the Atlassian account id of the user.
        :param scopes: the scopes to request, e.g. ``("READ", "WRITE")``; case does not matter.
        :returns: the token; ``token.authorization`` is the ``Authorization`` header value.
        :raises TokenExchangeError: when the authorization server gives no token.
        :raises ValueError: for tenant information without ``oauthClientId`` (or another
            needed field), an empty account id, or invalid scopes.
        """
        key, requested = _cache_key(self.authorization_server, tenant, account_id, scopes)
        # The cache and the exchanges in flight are looked at together: a leader stores its
        # token before it leaves _flights, so no thread can miss both and exchange again.
        with self._lock:
            token = self._cached(key)
            if token is not None:
                return token
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = Future()
        if not leader:
            return flight.result()
        try:
            token = self._exchange(tenant, account_id, requested)
            self._store(key, token)
        except BaseException as error:
            flight.set_exception(error)
            raise
        else:
            flight.set_result(token)
            return token
        finally:
            with self._lock:
                del self._flights[key]

    def _exchange(
        self, tenant: Mapping[str, Any], account_id: str, scopes: tuple[str, ...]
    ) -> AccessToken:
        exchange = _Exchange(self, tenant, account_id, scopes)
        try:
            response = self.transport(exchange.request(self.timeout))
        except (TimeoutError, socket.timeout):  # socket.timeout: not TimeoutError on 3.9
            raise exchange.timed_out(self.timeout) from None
        except OSError as error:
            raise exchange.unreachable(error) from None
        return exchange.read(response)


class AsyncTokenProvider(_BaseProvider):
    """:class:`TokenProvider` for asyncio.

    Concurrent ``get_token`` calls for the same key share one exchange. The exchange runs as
    its own task, so a caller that is cancelled does not cancel it for the others, and it ends
    within ``timeout`` whatever the transport does. Use one provider per event loop.

    :param transport: how the form is POSTed (see :class:`atlassian_jwt.AsyncTransport`): by
        default the standard library from a worker thread
        (:class:`atlassian_jwt.AsyncThreadTransport`), so that no HTTP client package is
        needed; :class:`~atlassian_jwt.integrations.httpx_auth.AsyncHTTPXTransport` for an
        ``httpx`` or ``httpx2`` client's proxies and certificates.
    :param client: an ``httpx.AsyncClient`` or ``httpx2.AsyncClient`` to send the exchange
        with: short for ``transport=AsyncHTTPXTransport(client)``.
    :raises ValueError: for both a ``transport`` and a ``client``.

    The other parameters are those of :class:`TokenProvider`.
    """

    def __init__(
        self,
        *,
        authorization_server: str = AUTHORIZATION_SERVER,
        expiry_margin: float = DEFAULT_EXPIRY_MARGIN,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        transport: AsyncTransport | None = None,
        client: Any = None,
    ) -> None:
        super().__init__(
            authorization_server=authorization_server,
            expiry_margin=expiry_margin,
            timeout=timeout,
            clock=clock,
            max_entries=max_entries,
        )
        if transport is not None and client is not None:
            raise ValueError("Pass a transport or a client, not both")
        if client is not None:
            transport = AsyncHTTPXTransport(client)
        self.transport: AsyncTransport = (
            transport if transport is not None else AsyncThreadTransport()
        )
        self._flights: dict[CacheKey, asyncio.Task[AccessToken]] = {}

    async def get_token(
        self, tenant: Mapping[str, Any], account_id: str, scopes: ScopesArg = DEFAULT_SCOPES
    ) -> AccessToken:
        """Return an access token to act as ``account_id``; see :meth:`TokenProvider.get_token`."""
        key, requested = _cache_key(self.authorization_server, tenant, account_id, scopes)
        # No await between the lookups and the insertion, so no other task can slip in.
        with self._lock:
            token = self._cached(key)
        if token is not None:
            return token
        task = self._flights.get(key)
        if task is None:
            task = asyncio.ensure_future(
                self._exchange_and_store(key, tenant, account_id, requested)
            )
            self._flights[key] = task
            # Mark a failure as seen even if every caller was cancelled before it came.
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
        return await asyncio.shield(task)

    async def _exchange_and_store(
        self,
        key: CacheKey,
        tenant: Mapping[str, Any],
        account_id: str,
        requested: tuple[str, ...],
    ) -> AccessToken:
        try:
            token = await self._exchange(tenant, account_id, requested)
            self._store(key, token)
            return token
        finally:
            del self._flights[key]

    async def _exchange(
        self, tenant: Mapping[str, Any], account_id: str, scopes: tuple[str, ...]
    ) -> AccessToken:
        exchange = _Exchange(self, tenant, account_id, scopes)
        try:
            # The transport keeps to the deadline; wait_for holds it to it all the same.
            response = await asyncio.wait_for(
                self.transport(exchange.request(self.timeout)), self.timeout
            )
        except (TimeoutError, asyncio.TimeoutError, socket.timeout):
            raise exchange.timed_out(self.timeout) from None
        except OSError as error:
            raise exchange.unreachable(error) from None
        return exchange.read(response)
