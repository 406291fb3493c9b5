"""What the requests and httpx adapters share: the credentials of one outbound request, bound
to one origin (a Connect tenant's ``baseUrl``, a Forge installation's API base URL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import exceptions as exc
from ..encode import encode_token
from ..forge import DEFAULT_EXPIRY_MARGIN, ForgeInvocation, ForgeToken, load_app_token
from ..forge.invocation import QueryParams, build_product_url
from ..url_utils import is_form, origin, split_url

if TYPE_CHECKING:
    from ..tenants import TenantStore

# The installed payload's fields that signing needs.
_REQUIRED = ("key", "clientKey", "sharedSecret", "baseUrl")


class TenantSigner:
    """Sign requests to one tenant's product: ``Authorization: JWT <token>``, fresh each time.

    :param tenant_info: the ``installed`` payload (or a stored tenant); ``key``, ``clientKey``,
        ``sharedSecret`` and ``baseUrl`` are required, the rest is ignored.
    :raises ValueError: if one of them is missing or not a non-empty string, or ``baseUrl`` is
        not an absolute http(s) URL.
    """

    def __init__(self, tenant_info: Mapping[str, Any]) -> None:
        missing = [
            name
            for name in _REQUIRED
            if not isinstance(tenant_info.get(name), str) or not tenant_info[name]
        ]
        if missing:
            raise ValueError(
                f"tenant_info needs non-empty strings for {', '.join(missing)} "
                "(the installed callback's payload has them)"
            )
        self._tenant = {name: tenant_info[name] for name in _REQUIRED}
        tenant_origin = origin(self._tenant["baseUrl"])
        if tenant_origin is None:
            raise ValueError("tenant_info['baseUrl'] must be an absolute http or https URL")
        #: ``(scheme, host, port)`` of ``baseUrl``: the only origin requests are signed for.
        self.origin: tuple[str, str, int] = tenant_origin

    @property
    def client_key(self) -> str:
        return str(self._tenant["clientKey"])

    def covers(self, url: str) -> bool:
        """Whether ``url`` is on the tenant's origin (scheme, host and port of ``baseUrl``)."""
        return origin(url) == self.origin

    def authorization(
        self, method: str, url: str, content_type: str | None = None, body: bytes | None = None
    ) -> str:
        """Return the ``Authorization`` header value for a request about to be sent.

        A form-encoded ``POST`` body counts as parameters for the product, as its servlet
        container merges them into the query parameters it hashes; other bodies do not.

        :raises ValueError: if ``url`` is not on the tenant's origin: a token signed with the
            tenant's secret is never sent anywhere else, where it could be replayed.
        """
        if not self.covers(url):
            raise ValueError(
                "Refusing to sign a request to another origin than the tenant's baseUrl "
                f"({self.origin[0]}://{self.origin[1]}:{self.origin[2]})"
            )
        if method.upper() == "POST" and body and is_form(content_type):
            # Hashing the body's parameters as extra query parameters gives the same canonical
            # request as the product's merge of both: values are sorted per name anyway.
            path, query = split_url(url)
            # A raw "#" is an ordinary character in a form body but would end the URL's query
            # here, leaving the rest unhashed; "%23" decodes to the same "#" the product reads.
            form = body.decode("utf-8", "replace").replace("#", "%23")
            url = f"{path}?{query}&{form}" if query else f"{path}?{form}"
        return f"JWT {encode_token(method, url, **self._tenant)}"

    def __repr__(self) -> str:
        return f"key={self._tenant['key']!r}, clientKey={self.client_key!r}, " + (
            f"baseUrl={self._tenant['baseUrl']!r}"
        )



class ForgeBearer:
    """``Authorization: Bearer <Forge OAuth token>`` for requests to one installation's API.

    :param token: the app system token or a user's token.
    :param api_base_url: the installation's API base URL (``app.apiBaseUrl``): the token is
        only ever sent to its origin.
    :param kind: ``"app"`` or ``"user"``, for messages.
    :param installation_id: the installation, for messages.
    :param margin: a token that expires within this many seconds counts as expired.
    :raises ValueError: if ``api_base_url`` is not an absolute http(s) URL.
    """

    def __init__(
        self,
        token: ForgeToken,
        api_base_url: str,
        *,
        kind: str = "app",
        installation_id: str | None = None,
        margin: float = DEFAULT_EXPIRY_MARGIN,
    ) -> None:
        api_origin = origin(api_base_url)
        if api_origin is None:
            raise ValueError("api_base_url must be an absolute https URL")
        self.token = token
        self.api_base_url = api_base_url
        self.kind = kind
        self.installation_id = installation_id
        self.margin = margin
        #: ``(scheme, host, port)`` of the API base URL: the only origin the token goes to.
        self.origin: tuple[str, str, int] = api_origin

    @classmethod
    def for_invocation(cls, invocation: ForgeInvocation, *, as_user: bool) -> ForgeBearer:
        """The invocation's app token, or its user's token with ``as_user``.

        :raises ForgeTokenUnavailableError: if the invocation brought no such token.
        """
        kind, token = ("user", invocation.user_token) if as_user else ("app", invocation.app_token)
        if token is None:
            header, setting = (
                ("x-forge-oauth-user", "appUserToken")
                if as_user
                else ("x-forge-oauth-system", "appSystemToken")
            )
            raise exc.ForgeTokenUnavailableError(
                f"The invocation brought no {header} header: the manifest's endpoint (or "
                f"remote) must enable auth.{setting}",
                reason="missing",
                kind=kind,
                installation_id=invocation.installation_id,
            )
        return cls(
            token, invocation.api_base_url, kind=kind, installation_id=invocation.installation_id
        )

    @classmethod
    def for_installation(cls, store: TenantStore, installation_id: str) -> ForgeBearer:
        """The app token kept in ``store`` for an installation (see
        :func:`~atlassian_jwt.forge.load_app_token`).

        :raises ForgeTokenUnavailableError: if none is kept, or it has expired.
        """
        stored = load_app_token(installation_id, store)
        return cls(
            ForgeToken(stored.value, stored.expires_at),
            stored.api_base_url,
            installation_id=installation_id,
        )

    def covers(self, url: str) -> bool:
        """Whether ``url`` is on the API base URL's origin (scheme, host and port)."""
        return origin(url) == self.origin

    def authorization(self, url: str) -> str:
        """Return the ``Authorization`` header value for a request about to be sent to ``url``.

        :raises ValueError: if ``url`` is not on the API base URL's origin: the token is a
            bearer credential, usable by whoever receives it.
        :raises ForgeTokenUnavailableError: if the token has expired, or expires within the
            margin: the request would be refused.
        """
        if not self.covers(url):
            raise ValueError(
                "Refusing to send a Forge token to another origin than the API base URL "
                f"({self.origin[0]}://{self.origin[1]}:{self.origin[2]})"
            )
        if self.token.expired(margin=self.margin):
            raise exc.ForgeTokenUnavailableError(
                f"The Forge {self.kind} token has expired"
                + (f" (installation {self.installation_id!r})" if self.installation_id else "")
                + ": the next invocation from Forge brings a fresh one",
                reason="expired",
                kind=self.kind,
                installation_id=self.installation_id,
                expires_at=self.token.expires_at,
            )
        return f"Bearer {self.token.value}"

    def product_url(self, path: str, params: QueryParams | None = None) -> str:
        """The URL of a product API call (see
        :func:`~atlassian_jwt.forge.build_product_url`)."""
        return build_product_url(self.api_base_url, path, params)

    def __repr__(self) -> str:
        return f"api_base_url={self.api_base_url!r}, {self.kind}_token={self.token!r}"


class ForgeBearerAuth:
    """What the ``ForgeAuth`` of requests and of httpx share: their :class:`ForgeBearer`."""

    _bearer: ForgeBearer

    @property
    def api_base_url(self) -> str:
        """The installation's API base URL: the token's only destination."""
        return self._bearer.api_base_url

    def product_url(self, path: str, params: QueryParams | None = None) -> str:
        """The URL of a product API call: :attr:`api_base_url` and ``path`` (see
        :func:`~atlassian_jwt.forge.build_product_url`)."""
        return self._bearer.product_url(path, params)

    def _covers(self, url: str) -> bool:
        return self._bearer.covers(url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._bearer!r})"
