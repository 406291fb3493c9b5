"""Sign calls to an Atlassian product made with requests.

>>> from atlassian_jwt.integrations.requests_auth import AtlassianJWTAuth
>>> auth = AtlassianJWTAuth({"key": "com.example.app", "clientKey": "jira:1",
...                          "sharedSecret": "s" * 32, "baseUrl": "https://x.atlassian.net"})
>>> auth
AtlassianJWTAuth(key='com.example.app', clientKey='jira:1', baseUrl='https://x.atlassian.net')

Then ``requests.get(url, params=..., auth=auth)`` or ``session.auth = auth``.

:class:`ActAsUserAuth` calls the product as a user instead (``Authorization: Bearer …``, see
:mod:`atlassian_jwt.oauth2`), and :class:`RequestsTransport` lets the library's own calls (the
token exchange of a :class:`~atlassian_jwt.oauth2.TokenProvider`, the key downloads of
:class:`~atlassian_jwt.AtlassianKeyProvider` and :class:`~atlassian_jwt.ForgeInvocationVerifier`)
go through a requests session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Optional, cast

from .._extras import missing_extra

try:
    import requests
    from requests.auth import AuthBase
except ImportError as error:  # pragma: no cover - tested with the extra missing
    raise missing_extra(
        "atlassian_jwt.integrations.requests_auth", ("requests", "requests")
    ) from error

from .._http import RequestsTransport
from ..oauth2 import (
    DEFAULT_SCOPES,
    ScopesArg,
    TokenProvider,
    is_tenant_url,
    normalize_scopes,
)
from ._outbound import TenantSigner

__all__ = ["ActAsUserAuth", "AtlassianJWTAuth", "RequestsTransport"]


class AtlassianJWTAuth(AuthBase):
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

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._authorization(r, str(r.method), str(r.url))
        # One hook per request, so that what it remembers belongs to this chain of redirects
        # (requests hands the same hooks to every hop it makes of the request).
        r.register_hook("response", self._redirect_signer())
        return r

    def _authorization(self, r: requests.PreparedRequest, method: str, url: str) -> str:
        body = r.body.encode("utf-8") if isinstance(r.body, str) else r.body
        content_type = r.headers.get("Content-Type")
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        return self._signer.authorization(
            method, url, content_type, body if isinstance(body, bytes) else None
        )

    def _redirect_signer(self) -> Callable[..., requests.Response]:
        """Return the response hook for one request's chain of redirects."""
        left_origin = False

        def sign_redirect(response: requests.Response, **kwargs: Any) -> requests.Response:
            nonlocal left_origin
            left_origin = self._sign_redirect(response, left_origin)
            return response

        return sign_redirect

    def _sign_redirect(self, response: requests.Response, left_origin: bool) -> bool:
        """Put a token for the redirect's target on the request requests copies for it.

        requests builds the next hop from a copy of ``response.request`` and does not call the
        auth again, so without this the next hop would carry a token for the previous URL.

        :returns: whether the chain has left the tenant's origin (then it is never signed
            again).
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
        left_origin = left_origin or next_hop is None or not self._signer.covers(str(next_hop.url))
        if left_origin or next_hop is None:
            # requests keeps the header on some hops between origins (http to https on one
            # host): it goes, so that no URL another origin chose is sent with a token.
            sent.headers.pop("Authorization", None)
        else:
            sent.headers["Authorization"] = self._authorization(
                next_hop, str(next_hop.method), str(next_hop.url)
            )
        return left_origin

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._signer!r})"


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
