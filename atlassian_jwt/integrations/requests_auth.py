"""Auth classes for requests: ``requests.get(url, auth=ActAsUserAuth(...))``.

:class:`RequestsTransport` also lets a :class:`~atlassian_jwt.oauth2.TokenProvider` send its
token exchange with requests instead of urllib.

Needs the ``requests`` extra: ``pip install 'atlassian-jwt[requests]'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    import requests
    from requests.auth import AuthBase
except ImportError as error:
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

__all__ = ["ActAsUserAuth", "RequestsTransport"]


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
