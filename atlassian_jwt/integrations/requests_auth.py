"""Sign calls to an Atlassian product made with requests.

>>> from atlassian_jwt.integrations.requests_auth import AtlassianJWTAuth
>>> auth = AtlassianJWTAuth({"key": "com.example.app", "clientKey": "jira:1",
...                          "sharedSecret": "s" * 32, "baseUrl": "https://x.atlassian.net"})
>>> auth
AtlassianJWTAuth(key='com.example.app', clientKey='jira:1', baseUrl='https://x.atlassian.net')

Then ``requests.get(url, params=..., auth=auth)`` or ``session.auth = auth``.

:class:`ActAsUserAuth` calls the product as a user instead (``Authorization: Bearer …``, see
:mod:`atlassian_jwt.oauth2`), :class:`ForgeAuth` calls it from a Forge remote with the tokens
Forge sends, and :class:`RequestsTransport` lets the library's own calls (the
token exchange of a :class:`~atlassian_jwt.oauth2.TokenProvider`, the key downloads of
:class:`~atlassian_jwt.AtlassianKeyProvider` and :class:`~atlassian_jwt.ForgeInvocationVerifier`)
go through a requests session.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Optional, cast

from .._extras import missing_extra

try:
    import requests
    from requests.auth import AuthBase
except ImportError as error:  # pragma: no cover - tested with the extra missing
    raise missing_extra(
        "atlassian_jwt.integrations.requests_auth", ("requests", "requests")
    ) from error

from .._http import RequestsTransport
from ..forge import ForgeInvocation
from ..oauth2 import (
    DEFAULT_SCOPES,
    ScopesArg,
    TokenProvider,
    is_tenant_url,
    normalize_scopes,
)
from ._outbound import ForgeBearer, ForgeBearerAuth, TenantSigner

if TYPE_CHECKING:
    from ..tenants import TenantStore

__all__ = ["ActAsUserAuth", "AtlassianJWTAuth", "ForgeAuth", "RequestsTransport"]


class _OriginBoundAuth(AuthBase, abc.ABC):
    """An auth whose credentials go to one origin only, on the request and on each redirect.

    requests builds each redirect hop from a copy of the request it answered and does not call
    the auth again: a response hook puts the credentials for the hop's URL on that request
    before it is copied, or takes them off once the chain of redirects has left the origin (and
    never puts them back, even for a hop back: its URL was chosen elsewhere).
    """

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._authorization(r, str(r.method), str(r.url))
        # One hook per request, so that what it remembers belongs to this chain of redirects
        # (requests hands the same hooks to every hop it makes of the request).
        r.register_hook("response", self._redirect_signer())
        return r

    @abc.abstractmethod
    def _covers(self, url: str) -> bool:
        """Whether credentials may go to ``url``."""

    @abc.abstractmethod
    def _authorization(self, r: requests.PreparedRequest, method: str, url: str) -> str:
        """The ``Authorization`` value for ``r``, about to be sent as ``method url``."""

    def _redirect_signer(self) -> Callable[..., requests.Response]:
        """Return the response hook for one request's chain of redirects."""
        left_origin = False

        def sign_redirect(response: requests.Response, **kwargs: Any) -> requests.Response:
            nonlocal left_origin
            left_origin = self._sign_redirect(response, left_origin)
            return response

        return sign_redirect

    def _sign_redirect(self, response: requests.Response, left_origin: bool) -> bool:
        """Put the credentials for the redirect's target on the request requests copies for it.

        :returns: whether the chain has left the origin (then it is never signed again).
        """
        sent = response.request
        if not response.is_redirect or not isinstance(sent, requests.PreparedRequest):
            return left_origin
        # Let requests itself work out the next URL and method (relative Location, re-quoting,
        # 301/302/303 turning into GET), without sending anything.
        with requests.Session() as resolver:
            resolver.trust_env = False
            hops = resolver.resolve_redirects(response, sent, yield_requests=True)
            # With yield_requests=True the generator yields the prepared requests.
            next_hop = cast(Optional[requests.PreparedRequest], next(hops, None))
        left_origin = left_origin or next_hop is None or not self._covers(str(next_hop.url))
        if left_origin or next_hop is None:
            # requests keeps the header on some hops between origins (http to https on one
            # host): it goes, so that no URL another origin chose is sent with credentials.
            sent.headers.pop("Authorization", None)
        else:
            sent.headers["Authorization"] = self._authorization(
                next_hop, str(next_hop.method), str(next_hop.url)
            )
        return left_origin


class AtlassianJWTAuth(_OriginBoundAuth):
    """Sign each request to a tenant's product with ``Authorization: JWT <token>``.

    The token is made when requests prepares the request, from the final URL (``params=``
    already merged into it), with ``iss`` = the app key, ``aud`` = the ``clientKey`` and the
    ``qsh`` relative to the tenant's ``baseUrl`` (Confluence's ``/wiki``). Each request gets a
    fresh token, and so does each redirect hop that stays on the tenant's origin, before it is
    sent: the product never sees a token made for another URL, and nothing is sent twice. A hop
    to another origin carries no token, and once a chain of redirects has left the tenant's
    origin no later hop is signed, even one back to the tenant: its URL was chosen elsewhere.

    :param tenant_info: the ``installed`` payload or a stored tenant: ``key``, ``clientKey``,
        ``sharedSecret`` and ``baseUrl`` are used.
    :raises ValueError: if one of them is missing; when a request goes to another origin than
        the tenant's ``baseUrl`` (a token is never sent where it could be replayed).
    """

    def __init__(self, tenant_info: Mapping[str, Any]) -> None:
        self._signer = TenantSigner(tenant_info)

    def _covers(self, url: str) -> bool:
        return self._signer.covers(url)

    def _authorization(self, r: requests.PreparedRequest, method: str, url: str) -> str:
        body = r.body.encode("utf-8") if isinstance(r.body, str) else r.body
        content_type = r.headers.get("Content-Type")
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        return self._signer.authorization(
            method, url, content_type, body if isinstance(body, bytes) else None
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._signer!r})"


class ForgeAuth(ForgeBearerAuth, _OriginBoundAuth):
    """Call the product from a Forge remote: ``Authorization: Bearer <Forge OAuth token>``.

    ::

        invocation = verifier.verify_request(request.headers)
        requests.get(invocation.product_url("/rest/api/3/myself"), auth=ForgeAuth(invocation))

    The token is the invocation's app system token (``x-forge-oauth-system``: the app acts), or
    with ``as_user=True`` the invoking user's (``x-forge-oauth-user``). It is sent only to the
    origin of the invocation's ``api_base_url``: a request elsewhere raises ``ValueError``
    before anything is sent, and a redirect to another origin is followed without it (never
    with it again in that chain). A token that has expired (or expires within
    :data:`~atlassian_jwt.forge.invocation.DEFAULT_EXPIRY_MARGIN` seconds) raises
    :class:`~atlassian_jwt.ForgeTokenUnavailableError` instead of a request the product would
    refuse. For background work, :meth:`for_installation` signs with the app token kept in the
    tenant store.

    :param invocation: a verified invocation.
    :param as_user: send the user's token rather than the app's.
    :raises ForgeTokenUnavailableError: at once, if the invocation brought no such token (the
        manifest's endpoint must enable ``appSystemToken`` or ``appUserToken``).
    """

    def __init__(self, invocation: ForgeInvocation, *, as_user: bool = False) -> None:
        self._bearer = ForgeBearer.for_invocation(invocation, as_user=as_user)

    @classmethod
    def for_installation(cls, store: TenantStore, installation_id: str) -> ForgeAuth:
        """Sign with the app token kept for an installation, for work outside a request.

        ::

            auth = ForgeAuth.for_installation(store, installation_id)
            requests.get(auth.product_url("/rest/api/3/project/search"), auth=auth)

        :raises ForgeTokenUnavailableError: if the store keeps no unexpired token for it: the
            next invocation from Forge brings a fresh one.
        :raises TenantStoreError: if the store cannot be used.
        """
        auth = cls.__new__(cls)
        auth._bearer = ForgeBearer.for_installation(store, installation_id)
        return auth

    def _authorization(self, r: requests.PreparedRequest, method: str, url: str) -> str:
        return self._bearer.authorization(url)


class ActAsUserAuth(AuthBase):
    """Call the product as a user: adds ``Authorization: Bearer <access token>``.

    The access token comes from ``provider``, which caches it; the first request for a user
    exchanges an assertion for it. The token is only sent to the tenant's ``baseUrl`` (same
    scheme, host and port): a request elsewhere raises ``ValueError`` before any exchange.

    ::

        provider = TokenProvider()  # one per process: it holds the cache
        session.get(f"{tenant['baseUrl']}/rest/api/3/myself",
                    auth=ActAsUserAuth(provider, tenant, account_id, scopes=("READ",)))

    :param provider: the :class:`~atlassian_jwt.oauth2.TokenProvider` to take tokens from.
    :param tenant: the tenant information from the ``installed`` callback.
    :param account_id: the Atlassian account id of the user to act as.
    :param scopes: the scopes to request.
    :raises atlassian_jwt.TokenExchangeError: (when a request is sent) if no token was given.
    """

    def __init__(
        self,
        provider: TokenProvider,
        tenant: Mapping[str, Any],
        account_id: str,
        scopes: ScopesArg = DEFAULT_SCOPES,
    ) -> None:
        self.provider = provider
        self.tenant = tenant
        self.account_id = account_id
        self.scopes = normalize_scopes(scopes)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not is_tenant_url(self.tenant, request.url or ""):
            raise ValueError("Refusing to send a user's access token outside the tenant's baseUrl")
        token = self.provider.get_token(self.tenant, self.account_id, self.scopes)
        request.headers["Authorization"] = token.authorization
        return request
