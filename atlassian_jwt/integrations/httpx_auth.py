"""Auth classes for httpx: ``httpx.Client(auth=ActAsUserAuth(...))``, sync and async.

Needs the ``httpx`` extra: ``pip install 'atlassian-jwt[httpx]'``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any

try:
    import httpx
except ImportError as error:
    raise ImportError(
        "atlassian_jwt.integrations.httpx_auth needs httpx: pip install 'atlassian-jwt[httpx]'"
    ) from error

from ..oauth2 import (
    DEFAULT_SCOPES,
    AccessToken,
    AsyncTokenProvider,
    ScopesArg,
    TokenProvider,
    is_tenant_url,
    normalize_scopes,
)

__all__ = ["ActAsUserAuth"]


class ActAsUserAuth(httpx.Auth):
    """Call the product as a user: adds ``Authorization: Bearer <access token>``.

    With a :class:`~atlassian_jwt.oauth2.TokenProvider` it works with ``httpx.Client``; with an
    :class:`~atlassian_jwt.oauth2.AsyncTokenProvider`, with ``httpx.AsyncClient``. The token is
    only sent to the tenant's ``baseUrl`` (same scheme, host and port): a request elsewhere
    raises ``ValueError`` before any exchange.

    ::

        provider = AsyncTokenProvider()  # one per event loop: it holds the cache
        auth = ActAsUserAuth(provider, tenant, account_id, scopes=("READ", "WRITE"))
        async with httpx.AsyncClient(base_url=tenant["baseUrl"], auth=auth) as client:
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

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if not isinstance(self.provider, TokenProvider):
            raise TypeError("httpx.Client needs a TokenProvider; AsyncTokenProvider is for async")
        self._check(request)
        self._sign(request, self.provider.get_token(self.tenant, self.account_id, self.scopes))
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if not isinstance(self.provider, AsyncTokenProvider):
            raise TypeError("httpx.AsyncClient needs an AsyncTokenProvider, not a TokenProvider")
        self._check(request)
        token = await self.provider.get_token(self.tenant, self.account_id, self.scopes)
        self._sign(request, token)
        yield request

    def _check(self, request: httpx.Request) -> None:
        if not is_tenant_url(self.tenant, str(request.url)):
            raise ValueError("Refusing to send a user's access token outside the tenant's baseUrl")

    @staticmethod
    def _sign(request: httpx.Request, token: AccessToken) -> None:
        request.headers["Authorization"] = token.authorization
