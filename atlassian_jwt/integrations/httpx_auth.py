"""Sign calls to an Atlassian product made with httpx or httpx2, sync or async.

>>> from atlassian_jwt.integrations.httpx_auth import AtlassianJWTAuth
>>> auth = AtlassianJWTAuth({"key": "com.example.app", "clientKey": "jira:1",
...                          "sharedSecret": "s" * 32, "baseUrl": "https://x.atlassian.net"})
>>> auth
AtlassianJWTAuth(key='com.example.app', clientKey='jira:1', baseUrl='https://x.atlassian.net')

Then ``httpx2.Client(auth=auth)``, ``httpx2.AsyncClient(auth=auth)`` or ``client.get(url,
auth=auth)``; the same with ``httpx``. The auth classes here are auth classes of both libraries
(of whichever is installed), so one object serves clients of either.

:class:`ActAsUserAuth` calls the product as a user instead (``Authorization: Bearer …``, see
:mod:`atlassian_jwt.oauth2`), and :class:`ForgeAuth` calls it from a Forge remote with the
tokens Forge sends. :class:`HTTPXTransport` and :class:`AsyncHTTPXTransport` let the
library's own calls (the token exchange, the key downloads) go through an httpx or httpx2
client.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import AsyncGenerator, Generator, Mapping
from typing import TYPE_CHECKING, Any

from .._extras import missing_extra


def _libraries() -> tuple[Any, ...]:
    found: list[Any] = []
    for name in ("httpx2", "httpx"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        # httpx2.alias_httpx() makes "httpx" the httpx2 module: one library, not two.
        if all(module is not other for other in found):
            found.append(module)
    if not found:
        raise missing_extra(
            "atlassian_jwt.integrations.httpx_auth", ("httpx2", "httpx2"), ("httpx", "httpx")
        )
    return tuple(found)


#: The client libraries installed: ``httpx2``, ``httpx``, or both.
_LIBRARIES = _libraries()

from .._http import AsyncHTTPXTransport, HTTPXTransport  # noqa: E402 - after the check above
from ..forge import ForgeInvocation  # noqa: E402
from ..oauth2 import (  # noqa: E402
    DEFAULT_SCOPES,
    AccessToken,
    AsyncTokenProvider,
    ScopesArg,
    TokenProvider,
    is_tenant_url,
    normalize_scopes,
)
from ._outbound import ForgeBearer, ForgeBearerAuth, TenantSigner  # noqa: E402

# The base of every auth class here: a subclass of the Auth of each installed library, so that
# clients of either accept it (they check isinstance). Subclasses override auth_flow, or
# sync_auth_flow and async_auth_flow, taking and yielding the client's own Request objects.
if TYPE_CHECKING:
    import httpx
    import httpx2

    from ..tenants import TenantStore

    class _Auth(httpx.Auth, httpx2.Auth):  # type: ignore[misc]  # the same API, twice
        """An auth class of both libraries."""

else:
    _Auth = type("_Auth", tuple(library.Auth for library in _LIBRARIES), {})

# A streamed upload cannot be read to be signed: it is not a form, so it is not hashed.
_REQUEST_NOT_READ = tuple(library.RequestNotRead for library in _LIBRARIES)

__all__ = [
    "ActAsUserAuth",
    "AsyncHTTPXTransport",
    "AtlassianJWTAuth",
    "ForgeAuth",
    "HTTPXTransport",
]


class _OriginBoundAuth(_Auth, abc.ABC):  # type: ignore[misc]  # as _Auth: one API, twice
    """An auth whose credentials go to one origin only, on the request and on each redirect.

    httpx runs an auth flow once per request, not once per hop. With ``follow_redirects=True``
    the flow follows redirects itself (the client's left at its default, ``False``), putting
    the credentials for each hop's URL on it before it is sent; a hop to another origin goes
    without them, and once the chain has left the origin no later hop gets them, even one back:
    its URL was chosen elsewhere. The client's ``max_redirects`` still applies. With
    ``follow_redirects=False`` a redirect is answered as it is, its ``next_request`` already
    carrying the credentials for its own URL (or none, by the same rules).
    """

    follow_redirects: bool

    def auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        """Authorize the request, then each redirect hop on its origin (httpx's hook)."""
        body = _content(request)
        authorization = self._authorization(request, body)
        request.headers["Authorization"] = authorization
        response = yield request
        self._check_response(request, authorization, response)
        left_origin = False
        method = request.method
        while response.next_request is not None:
            hop = response.next_request
            # The hop keeps the body only when it keeps the method (307, 308).
            hop_body = body if hop.method == method else None
            left_origin = left_origin or not self._covers(str(hop.url))
            if left_origin:
                hop.headers.pop("Authorization", None)
            else:
                hop.headers["Authorization"] = self._authorization(hop, hop_body)
            if not self.follow_redirects:
                return
            method, body = hop.method, hop_body
            response = yield hop

    @abc.abstractmethod
    def _covers(self, url: str) -> bool:
        """Whether credentials may go to ``url``."""

    @abc.abstractmethod
    def _authorization(self, request: Any, body: bytes | None) -> str:
        """The ``Authorization`` value for ``request`` (whose content is ``body``)."""

    def _check_response(self, request: Any, authorization: str, response: Any) -> None:
        """Look at the response to the first request; nothing to see by default."""


class AtlassianJWTAuth(_OriginBoundAuth):
    """Sign each request to a tenant's product with ``Authorization: JWT <token>``.

    The token is made from the final URL (``params=`` already merged into it), with ``iss`` =
    the app key, ``aud`` = the ``clientKey`` and the ``qsh`` relative to the tenant's
    ``baseUrl`` (Confluence's ``/wiki``), fresh for every request. It works for ``Client`` and
    ``AsyncClient`` of httpx and httpx2 alike: signing does no I/O.

    Redirects: httpx runs an auth flow once per request, not once per hop, so a client that
    follows redirects itself would send a hop with the token made for the first URL. Let the
    auth follow them instead: ``follow_redirects=True`` here and the client's left at its
    default, ``False``. Then each hop is signed for its own URL before it is sent, so the
    product never sees a token made for another URL and nothing is sent twice. A hop to
    another origin is followed without a token, and once the chain has left the tenant's
    origin no later hop is signed, even one back to the tenant: its URL was chosen elsewhere.
    The client's ``max_redirects`` still applies. With ``follow_redirects=False`` a redirect
    is answered as it is, and its ``next_request`` is already signed for its own URL (or
    carries no token, by the same rules).

    :param tenant_info: the ``installed`` payload or a stored tenant: ``key``, ``clientKey``,
        ``sharedSecret`` and ``baseUrl`` are used.
    :param follow_redirects: follow redirects, signing each hop before it is sent.
    :raises ValueError: if one of them is missing; when a request goes to another origin than
        the tenant's ``baseUrl`` (a token is never sent where it could be replayed).
    :raises RuntimeError: (when a request is sent) if the client followed a redirect on the
        tenant's origin itself, sending the first URL's token, and the product refused it:
        the message says how to let the auth follow instead. Nothing is sent again.
    """

    def __init__(self, tenant_info: Mapping[str, Any], *, follow_redirects: bool = False) -> None:
        self._signer = TenantSigner(tenant_info)
        self.follow_redirects = follow_redirects

    def _covers(self, url: str) -> bool:
        return self._signer.covers(url)

    def _authorization(self, request: Any, body: bytes | None) -> str:
        return self._signer.authorization(
            request.method, str(request.url), request.headers.get("Content-Type"), body
        )

    def _check_response(self, request: Any, authorization: str, response: Any) -> None:
        """Raise if the client sent this request's token on a hop to another URL, refused."""
        if not response.history or response.status_code != 401:
            return
        hops = [earlier.request for earlier in response.history[1:]] + [response.request]
        if any(
            hop.headers.get("Authorization") == authorization and hop.url != request.url
            for hop in hops
        ):
            raise RuntimeError(
                "The client followed a redirect on the tenant's origin with the token made for "
                "the first URL, and the product refused it. Let the auth follow redirects: "
                "AtlassianJWTAuth(tenant, follow_redirects=True), with the client's "
                "follow_redirects=False"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._signer!r})"


class ForgeAuth(ForgeBearerAuth, _OriginBoundAuth):  # type: ignore[misc]  # as _Auth
    """Call the product from a Forge remote: ``Authorization: Bearer <Forge OAuth token>``.

    ::

        invocation = verifier.verify_request(request.headers)
        async with httpx2.AsyncClient(auth=ForgeAuth(invocation)) as client:
            await client.get(invocation.product_url("/rest/api/3/myself"))

    An auth class of httpx and httpx2, for ``Client`` and ``AsyncClient`` alike (it does no
    I/O). The token is the invocation's app system token (``x-forge-oauth-system``: the app
    acts), or with ``as_user=True`` the invoking user's (``x-forge-oauth-user``). It is sent
    only to the origin of the invocation's ``api_base_url``: a request elsewhere raises
    ``ValueError`` before anything is sent. Redirects are followed by the auth with
    ``follow_redirects=True`` (the client's left at ``False``), the token going only to hops
    on that origin, never again once the chain has left it. A token that has expired (or
    expires within :data:`~atlassian_jwt.forge.invocation.DEFAULT_EXPIRY_MARGIN` seconds)
    raises :class:`~atlassian_jwt.ForgeTokenUnavailableError` instead of a request the product
    would refuse. For background work, :meth:`for_installation` signs with the app token kept
    in the tenant store.

    :param invocation: a verified invocation.
    :param as_user: send the user's token rather than the app's.
    :param follow_redirects: follow redirects, the token only on the API's origin.
    :raises ForgeTokenUnavailableError: at once, if the invocation brought no such token (the
        manifest's endpoint must enable ``appSystemToken`` or ``appUserToken``).
    """

    def __init__(
        self, invocation: ForgeInvocation, *, as_user: bool = False, follow_redirects: bool = False
    ) -> None:
        self._bearer = ForgeBearer.for_invocation(invocation, as_user=as_user)
        self.follow_redirects = follow_redirects

    @classmethod
    def for_installation(
        cls, store: TenantStore, installation_id: str, *, follow_redirects: bool = False
    ) -> ForgeAuth:
        """Sign with the app token kept for an installation, for work outside a request.

        ::

            auth = ForgeAuth.for_installation(store, installation_id)
            with httpx2.Client(auth=auth) as client:
                client.get(auth.product_url("/rest/api/3/project/search"))

        :raises ForgeTokenUnavailableError: if the store keeps no unexpired token for it: the
            next invocation from Forge brings a fresh one.
        :raises TenantStoreError: if the store cannot be used.
        """
        auth = cls.__new__(cls)
        auth._bearer = ForgeBearer.for_installation(store, installation_id)
        auth.follow_redirects = follow_redirects
        return auth

    def _authorization(self, request: Any, body: bytes | None) -> str:
        return self._bearer.authorization(str(request.url))


def _content(request: Any) -> bytes | None:
    try:
        content: bytes = request.content
    except _REQUEST_NOT_READ:
        return None
    return content


class ActAsUserAuth(_Auth):
    """Call the product as a user: adds ``Authorization: Bearer <access token>``.

    With a :class:`~atlassian_jwt.oauth2.TokenProvider` it works with ``httpx2.Client`` and
    ``httpx.Client``; with an :class:`~atlassian_jwt.oauth2.AsyncTokenProvider`, with their
    ``AsyncClient``. The token is only sent to the tenant's ``baseUrl`` (same scheme, host and
    port): a request elsewhere raises ``ValueError`` before any exchange.

    ::

        provider = AsyncTokenProvider()  # one per event loop: it holds the cache
        auth = ActAsUserAuth(provider, tenant, account_id, scopes=("READ", "WRITE"))
        async with httpx2.AsyncClient(base_url=tenant["baseUrl"], auth=auth) as client:
            await client.get("/rest/api/3/myself")

    :param provider: where the access tokens come from; it caches them.
    :param tenant: the tenant information from the ``installed`` callback.
    :param account_id: the Atlassian account id of the user to act as.
    :param scopes: the scopes to request.
    :raises atlassian_jwt.TokenExchangeError: (when a request is sent) if no token was given.
    """

    def __init__(
        self,
        provider: TokenProvider | AsyncTokenProvider,
        tenant: Mapping[str, Any],
        account_id: str,
        scopes: ScopesArg = DEFAULT_SCOPES,
    ) -> None:
        self.provider = provider
        self.tenant = tenant
        self.account_id = account_id
        self.scopes = normalize_scopes(scopes)

    def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
        """Sign a request of a ``Client`` with a token from the ``TokenProvider``.

        :raises TypeError: if the provider is an ``AsyncTokenProvider``.
        :raises ValueError: for a request outside the tenant's ``baseUrl``.
        """
        if not isinstance(self.provider, TokenProvider):
            raise TypeError("A sync Client needs a TokenProvider; AsyncTokenProvider is for async")
        self._check(request)
        self._sign(request, self.provider.get_token(self.tenant, self.account_id, self.scopes))
        yield request

    async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
        """Sign a request of an ``AsyncClient`` with a token from the ``AsyncTokenProvider``.

        :raises TypeError: if the provider is a (sync) ``TokenProvider``.
        :raises ValueError: for a request outside the tenant's ``baseUrl``.
        """
        if not isinstance(self.provider, AsyncTokenProvider):
            raise TypeError("An AsyncClient needs an AsyncTokenProvider, not a TokenProvider")
        self._check(request)
        token = await self.provider.get_token(self.tenant, self.account_id, self.scopes)
        self._sign(request, token)
        yield request

    def _check(self, request: Any) -> None:
        if not is_tenant_url(self.tenant, str(request.url)):
            raise ValueError("Refusing to send a user's access token outside the tenant's baseUrl")

    @staticmethod
    def _sign(request: Any, token: AccessToken) -> None:
        request.headers["Authorization"] = token.authorization
