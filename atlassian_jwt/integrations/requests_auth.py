"""Sign calls to an Atlassian product made with requests.

>>> from atlassian_jwt.integrations.requests_auth import AtlassianJWTAuth
>>> auth = AtlassianJWTAuth({"key": "com.example.app", "clientKey": "jira:1",
...                          "sharedSecret": "s" * 32, "baseUrl": "https://x.atlassian.net"})
>>> auth
AtlassianJWTAuth(key='com.example.app', clientKey='jira:1', baseUrl='https://x.atlassian.net')

Then ``requests.get(url, params=..., auth=auth)`` or ``session.auth = auth``.

:class:`ActAsUserAuth` calls the product as a user instead (``Authorization: Bearer …``, see
:mod:`atlassian_jwt.oauth2`), and :class:`RequestsTransport` lets a
:class:`~atlassian_jwt.oauth2.TokenProvider` send its token exchange with requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, cast

try:
    import requests
    from requests.auth import AuthBase
except ImportError as error:  # pragma: no cover - tested with the extra missing
    raise ImportError(
        "atlassian_jwt.integrations.requests_auth needs requests: "
        "pip install 'atlassian-jwt[requests]'"
    ) from error

from ..oauth2 import (
    DEFAULT_SCOPES,
    MAX_RESPONSE_BYTES,
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
    fresh token, and so does each redirect that stays on the tenant's origin; a redirect to
    another origin carries no token.

    :param tenant_info: the ``installed`` payload or a stored tenant: ``key``, ``clientKey``,
        ``sharedSecret`` and ``baseUrl`` are used.
    :raises ValueError: if one of them is missing; when a request goes to another origin than
        the tenant's ``baseUrl`` (a token is never sent where it could be replayed).
    """

    def __init__(self, tenant_info: Mapping[str, Any]) -> None:
        self._signer = TenantSigner(tenant_info)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = self._authorization(r, str(r.method), str(r.url))
        r.register_hook("response", self._sign_redirect)
        return r

    def _authorization(self, r: requests.PreparedRequest, method: str, url: str) -> str:
        body = r.body.encode("utf-8") if isinstance(r.body, str) else r.body
        content_type = r.headers.get("Content-Type")
        if isinstance(content_type, bytes):
            content_type = content_type.decode("latin-1")
        return self._signer.authorization(
            method, url, content_type, body if isinstance(body, bytes) else None
        )

    def _sign_redirect(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """Put a token for the redirect's target on the request requests copies for it.

        requests builds the next hop from a copy of ``response.request`` and does not call the
        auth again, so without this the next hop would carry a token for the previous URL.
        """
        sent = response.request
        if not response.is_redirect or not isinstance(sent, requests.PreparedRequest):
            return response
        # Let requests itself work out the next URL and method (relative Location, re-quoting,
        # 301/302/303 turning into GET), without sending anything.
        with requests.Session() as resolver:
            resolver.trust_env = False
            hops = resolver.resolve_redirects(response, sent, yield_requests=True)
            # With yield_requests=True the generator yields the prepared requests.
            next_hop = cast(Optional[requests.PreparedRequest], next(hops, None))
        if next_hop is None or not self._signer.covers(str(next_hop.url)):
            sent.headers.pop("Authorization", None)
        else:
            sent.headers["Authorization"] = self._authorization(
                next_hop, str(next_hop.method), str(next_hop.url)
            )
        return response

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


class RequestsTransport:
    """Send a :class:`~atlassian_jwt.oauth2.TokenProvider`'s exchange with requests.

    ``TokenProvider(transport=RequestsTransport(session))`` uses the session's proxies, client
    certificates and certificate bundle (requests uses certifi's, where urllib uses the
    system's). Redirects are not followed.

    :param session: the session to send with; a new one by default.
    """

    def __init__(self, session: requests.Session | None = None) -> None:
        self.session = session if session is not None else requests.Session()

    def __call__(self, url: str, form: Mapping[str, str], timeout: float) -> tuple[int, bytes]:
        """POST the form; see :class:`~atlassian_jwt.oauth2.Transport`."""
        try:
            with self.session.post(
                url,
                data=dict(form),
                headers={"Accept": "application/json"},
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            ) as response:
                body = bytearray()
                for chunk in response.iter_content(chunk_size=8192):
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        break
                return response.status_code, bytes(body)
        except requests.Timeout as error:
            raise TimeoutError(str(error)) from error
        except requests.RequestException as error:
            raise ConnectionError(str(error)) from error
