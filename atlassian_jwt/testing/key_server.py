"""A fake of Atlassian's install-key server, and lifecycle callbacks signed as Atlassian signs them.

Jira and Confluence sign the ``installed`` and ``uninstalled`` callbacks with an RSA key of
Atlassian's (RS256, the key named by ``kid``), address them to the app's base URL (``aud``),
name the tenant in ``iss`` and bind them to the request with ``qsh``, as
:class:`~atlassian_jwt.InstallAuthenticator` checks; the public key is PEM text at
``<key server>/<kid>``. :class:`FakeAtlassianKeyServer` makes its own RSA key at run time and
plays both parts, so an app's lifecycle routes can be tested with the verifier they use in
production and no patching::

    keys = FakeAtlassianKeyServer("https://my-app.example.com")
    installs = InstallAuthenticator("https://my-app.example.com", key_provider=keys)
    request = keys.lifecycle_request("installed", make_tenant())
    response = client.post(request.path, data=request.body, headers=request.headers)

or, to go through :class:`~atlassian_jwt.AtlassianKeyProvider` and HTTP as well::

    with FakeAtlassianKeyServer("https://my-app.example.com") as keys:
        provider = AtlassianKeyProvider(base_url=keys.url)

Needs ``cryptography`` (the ``testing`` extra).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import jwt

from ..keys import KID_PATTERN, is_valid_kid
from ..url_utils import hash_url, split_url
from ._requirements import require_cryptography
from ._rsa import KeyRing, public_pem
from ._server import LocalServer, ReceivedRequest, Reply
from ._tokens import apply_claims, check_lifetime, issued_at
from .connect import PRODUCT_TOKEN_LIFETIME, sign_product_request

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = ["LIFECYCLE_ALGORITHMS", "FakeAtlassianKeyServer", "LifecycleRequest"]

#: How the product signs each lifecycle callback: ``installed`` and ``uninstalled`` with
#: Atlassian's RSA key, ``enabled`` and ``disabled`` with the tenant's shared secret.
LIFECYCLE_ALGORITHMS: Mapping[str, str] = {
    "installed": "RS256",
    "uninstalled": "RS256",
    "enabled": "HS256",
    "disabled": "HS256",
}


class LifecycleRequest(NamedTuple):
    """A lifecycle callback as the product sends it, ready for a test client.

    ::

        client.post(request.path, data=request.body, headers=request.headers)

    :ivar event: ``installed``, ``uninstalled``, ``enabled`` or ``disabled``.
    :ivar method: ``POST``.
    :ivar url: the absolute URL called: the app's base URL and the callback's path.
    :ivar path: the path and query of :attr:`url`: what a framework's test client requests.
    :ivar headers: ``Authorization: JWT <token>`` and ``Content-Type: application/json``.
    :ivar body: the JSON body: the tenant, with ``eventType`` the event.
    :ivar token: the token in the ``Authorization`` header.
    """

    event: str
    method: str
    url: str
    path: str
    headers: dict[str, str]
    body: bytes
    token: str

    @property
    def payload(self) -> dict[str, Any]:
        """The body, parsed."""
        data: dict[str, Any] = json.loads(self.body)
        return data

    def __repr__(self) -> str:
        # The token and the body (with the shared secret) stay out of test reports.
        return f"LifecycleRequest(event={self.event!r}, method={self.method!r}, url={self.url!r})"


class FakeAtlassianKeyServer(KeyRing, LocalServer):
    """Atlassian's install-key server and the signer of lifecycle callbacks, in one fake.

    It is a :class:`~atlassian_jwt.KeyProvider` (``InstallAuthenticator(key_provider=keys)``)
    and, in a ``with`` block, an HTTP server on 127.0.0.1 that serves each public key as PEM
    text at ``/<kid>`` (``AtlassianKeyProvider(base_url=keys.url)``), 404 for any other path.
    :meth:`~LocalServer.respond` makes a path fail (``keys.respond("GET", "/" + keys.kid,
    status=503)``); :attr:`~atlassian_jwt.testing.LocalServer.hits` counts the downloads.
    :meth:`rotate`
    starts signing with a new key, :meth:`remove_key` retires one.

    :param app_base_url: the app's base URL (its descriptor's ``baseUrl``), the ``aud`` of the
        tokens it signs unless a call names another.
    :param private_key: the RSA private key to sign with; a new 2048-bit key by default
        (making one takes a moment: a test suite can make one and share it).
    :param kid: the key's id; a new UUID by default, as Atlassian's are.
    :param host: the host name in :attr:`url` (``"127.0.0.1"`` or ``"localhost"``).
    :raises ImportError: if ``cryptography`` is not installed.
    :raises TypeError: if ``private_key`` is not an RSA private key.
    :raises ValueError: for a ``kid`` that a key server could not serve.
    """

    def __init__(
        self,
        app_base_url: str | None = None,
        *,
        private_key: RSAPrivateKey | None = None,
        kid: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        require_cryptography("FakeAtlassianKeyServer")
        LocalServer.__init__(self, host=host)
        KeyRing.__init__(self, private_key, kid=kid)
        self.app_base_url = app_base_url

    def check_kid(self, kid: str) -> None:
        """Refuse a ``kid`` that a key server could not serve (see
        :data:`~atlassian_jwt.keys.KID_PATTERN`).

        :raises ValueError: for such a ``kid``.
        """
        if not is_valid_kid(kid):
            raise ValueError(f"kid must match {KID_PATTERN.pattern}")

    def public_pem(self, kid: str | None = None) -> str:
        """The public key ``kid`` (by default the current one) as PEM text."""
        return public_pem(self.signing_key(kid))

    def get_key(self, kid: str) -> RSAPublicKey | None:
        """Return the public key named ``kid``, or ``None``.

        The :class:`~atlassian_jwt.KeyProvider` method.
        """
        return self.public_key(kid)

    def answer(self, request: ReceivedRequest) -> Reply:
        """Serve ``GET /<kid>`` as PEM text; anything else is 404."""
        reply = self.override(request)
        if reply is not None:
            return reply
        kid = request.path[1:]
        if request.method in ("GET", "HEAD") and kid in self.kids:
            pem = self.public_pem(kid).encode("ascii")
            return Reply(200, pem, (("Content-Type", "application/x-pem-file"),))
        return Reply(404, b"No such key")

    def lifecycle_request(
        self,
        event: str,
        tenant: Mapping[str, Any],
        *,
        app_base_url: str | None = None,
        path: str | None = None,
        account_id: str | None = None,
        lifetime: int = PRODUCT_TOKEN_LIFETIME,
        now: float | None = None,
        kid: str | None = None,
        claims: Mapping[str, Any] | None = None,
    ) -> LifecycleRequest:
        """Make the request the product sends to the app's lifecycle route for ``event``.

        ``installed`` and ``uninstalled`` are signed with this server's RSA key (RS256,
        ``kid`` in the header): ``iss`` = the tenant's ``clientKey``, ``aud`` = ``[app base
        URL]``, ``qsh`` of ``POST <path>`` relative to the app's base URL, ``iat``/``exp``,
        ``context`` = ``{}``. ``enabled`` and ``disabled`` are signed with the tenant's
        shared secret (HS256), as the product signs them. The body is the tenant as JSON,
        with ``eventType`` = ``event``.

        :param event: ``installed``, ``uninstalled``, ``enabled`` or ``disabled``.
        :param tenant: the tenant, e.g. from :func:`~atlassian_jwt.testing.make_tenant`.
        :param app_base_url: the app's base URL; by default the one the server was made with.
        :param path: the callback's path, as the descriptor's ``lifecycle`` names it; by
            default ``/<event>``.
        :param account_id: the installing user's account id (``sub``), if any.
        :param lifetime: seconds until the token expires.
        :param now: the time to sign at; by default the current (or the kit clock's) time.
        :param kid: sign with an older key of this server (``installed``/``uninstalled``).
        :param claims: claims to add or replace, last (``None`` removes one): for tokens the
            app must refuse, such as ``{"aud": ["https://another-app.example.com"]}``.
        :raises ValueError: for an unknown event, no app base URL, or a tenant without a
            ``clientKey`` (or, for ``enabled``/``disabled``, a ``sharedSecret``).
        :raises KeyError: for a ``kid`` this server does not have.
        """
        if event not in LIFECYCLE_ALGORITHMS:
            raise ValueError(f"event must be one of {sorted(LIFECYCLE_ALGORITHMS)}")
        base = app_base_url or self.app_base_url
        if not base:
            raise ValueError(
                "No app base URL: give FakeAtlassianKeyServer(app_base_url) or app_base_url="
            )
        url = base.rstrip("/") + (path if path is not None else f"/{event}")
        if LIFECYCLE_ALGORITHMS[event] == "HS256":
            token = sign_product_request(
                "POST",
                url,
                tenant,
                app_base_url=base,
                account_id=account_id,
                lifetime=lifetime,
                now=now,
                claims=claims,
            )
        else:
            token = self._sign_rs256(url, base, tenant, account_id, lifetime, now, kid, claims)
        target, query = split_url(url)
        return LifecycleRequest(
            event=event,
            method="POST",
            url=url,
            path=f"{target}?{query}" if query else target,
            headers={"Authorization": f"JWT {token}", "Content-Type": "application/json"},
            body=json.dumps({**tenant, "eventType": event}).encode("utf-8"),
            token=token,
        )

    def _sign_rs256(
        self,
        url: str,
        base: str,
        tenant: Mapping[str, Any],
        account_id: str | None,
        lifetime: int,
        now: float | None,
        kid: str | None,
        claims: Mapping[str, Any] | None,
    ) -> str:
        client_key = tenant.get("clientKey")
        if not isinstance(client_key, str) or not client_key:
            raise ValueError("The tenant has no 'clientKey'")
        kid = kid or self.kid
        signed_at = issued_at(now)
        payload: dict[str, Any] = {
            "iss": client_key,
            "iat": signed_at,
            "exp": signed_at + check_lifetime(lifetime),
            "aud": [base],
            "qsh": hash_url("POST", url, base),
            "context": {},
        }
        if account_id is not None:
            payload["sub"] = account_id
        return jwt.encode(
            apply_claims(payload, claims),
            self.signing_key(kid),
            algorithm="RS256",
            headers={"kid": kid},
        )
