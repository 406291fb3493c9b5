"""What the requests and httpx adapters share: signing one outbound request for one tenant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..encode import encode_token
from ..url_utils import is_form, origin, split_url

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

