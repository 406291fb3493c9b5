"""Sign calls to an Atlassian product made with httpx, sync or async.

>>> from atlassian_jwt.integrations.httpx_auth import AtlassianJWTAuth
>>> auth = AtlassianJWTAuth({"key": "com.example.app", "clientKey": "jira:1",
...                          "sharedSecret": "s" * 32, "baseUrl": "https://x.atlassian.net"})
>>> auth
AtlassianJWTAuth(key='com.example.app', clientKey='jira:1', baseUrl='https://x.atlassian.net')

Then ``httpx.Client(auth=auth)``, ``httpx.AsyncClient(auth=auth)`` or ``client.get(url,
auth=auth)``.

:class:`ActAsUserAuth` calls the product as a user instead (``Authorization: Bearer …``, see
:mod:`atlassian_jwt.oauth2`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping
from typing import Any

try:
    import httpx
except ImportError as error:  # pragma: no cover - tested with the extra missing
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
from ._outbound import TenantSigner

__all__ = ["ActAsUserAuth", "AtlassianJWTAuth"]


class AtlassianJWTAuth(httpx.Auth):
    """Sign each request to a tenant's product with ``Authorization: JWT <token>``.

    The token is made from the final URL (``params=`` already merged into it), with ``iss`` =
    the app key, ``aud`` = the ``clientKey`` and the ``qsh`` relative to the tenant's
    ``baseUrl`` (Confluence's ``/wiki``), fresh for every request. It works for
    :class:`httpx.Client` and :class:`httpx.AsyncClient` alike: signing does no I/O.

    Redirects: httpx runs an auth flow once per request, not once per redirect hop, and keeps
    the ``Authorization`` header on a same-origin hop (it drops it on a cross-origin one). So
    with ``follow_redirects=True`` a hop carries the token of the first URL, which the product
    refuses; when the final response is that 401, this auth signs the final URL afresh and
    sends it once more. With ``follow_redirects=False``, sending ``response.next_request``
    through the client signs it afresh.

    :param tenant_info: the ``installed`` payload or a stored tenant: ``key``, ``clientKey``,
        ``sharedSecret`` and ``baseUrl`` are used.
    :raises ValueError: if one of them is missing; when a request goes to another origin than
        the tenant's ``baseUrl`` (a token is never sent where it could be replayed).
    """

    def __init__(self, tenant_info: Mapping[str, Any]) -> None:
        self._signer = TenantSigner(tenant_info)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._authorization(request)
        response = yield request
        final = response.request
        if (
            response.status_code == 401
            and response.history
            and final is not request
            and self._signer.covers(str(final.url))
        ):
            # The 401 answered a redirect hop that carried the first URL's token.
            final.headers["Authorization"] = self._authorization(final)
            yield final

    def _authorization(self, request: httpx.Request) -> str:
        try:
            body: bytes | None = request.content
        except httpx.RequestNotRead:
            body = None  # a streamed upload: not a form, and not ours to read
        return self._signer.authorization(
            request.method, str(request.url), request.headers.get("Content-Type"), body
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._signer!r})"


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
