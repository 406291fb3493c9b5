"""A fake of Forge's key set, and invocation tokens (FIT) signed as Forge signs them.

Forge calls an app's remote back end with ``authorization: Bearer <FIT>``: an RS256 token from a
key in Forge's JWKS, with the call's context in its claims, and the headers of the remote
contract, which :class:`~atlassian_jwt.ForgeInvocationVerifier` checks. :class:`FakeForgeJWKS`
makes its own RSA key at run time, serves the key set on 127.0.0.1 and signs invocations, so a
remote route can be tested with the verifier it uses in production and no patching::

    with FakeForgeJWKS() as forge:
        verifier = ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)
        headers = forge.invocation_headers(account_id="557058:f58131cb-b67d-43c7-b30d")
        response = client.post("/forge/resolver", headers=headers, json={})
        headers, body = forge.event_delivery("avi:jira:created:issue", {"issue": {...}})
        response = client.post("/forge/events", headers=headers, data=body)

Needs ``cryptography`` (the ``testing`` extra).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

import jwt

from ..forge import APP_ARI_PREFIX, FORGE_ISSUER
from ..forge.events import EVENT_WRAPPER, RETRY_CONTEXT
from ._requirements import require_cryptography
from ._rsa import KeyRing, public_jwk
from ._server import LocalServer, ReceivedRequest, Reply
from ._tokens import apply_claims, check_lifetime, forge_oauth_token, issued_at
from .product import FORGE_OAUTH_TOKEN_LIFETIME, ProductStandIn

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = [
    "ENVIRONMENT_TYPES",
    "FORGE_API_BASE_URL",
    "FORGE_INVOCATION_LIFETIME",
    "JWKS_PATH",
    "RETRY_REASON",
    "FakeForgeJWKS",
    "License",
]

#: Where the key set is served, as on Forge's CDN.
JWKS_PATH = "/.well-known/jwks.json"

#: Seconds an invocation token is valid, by default: a few minutes, the life of one call.
FORGE_INVOCATION_LIFETIME = 5 * 60

#: The environments a Forge app runs in (``app.environment.type``).
ENVIRONMENT_TYPES = ("DEVELOPMENT", "STAGING", "PRODUCTION")

#: Where product API calls go for a site, by default: Atlassian's API gateway.
FORGE_API_BASE_URL = "https://api.atlassian.com/ex/{product}/{cloud_id}"

#: The ``retryReason`` of a delivery Forge makes again after a status other than 2xx.
RETRY_REASON = "INVALID_REMOTE_INVOCATION_ERROR"

_INSTALLATION_ARI_PREFIX = "ari:cloud:ecosystem::installation/"
_ENVIRONMENT_ARI_PREFIX = "ari:cloud:ecosystem::environment/"

#: ``license`` of :meth:`FakeForgeJWKS.sign_invocation`: ``None`` (no ``app.license``: a free
#: app, or not in production), ``True``/``False`` (``{"isActive": ...}``), or the whole claim.
License = Union[bool, Mapping[str, Any], None]


class FakeForgeJWKS(KeyRing, LocalServer):
    """Forge's JWKS on 127.0.0.1 and the signer of invocation tokens, in one fake.

    In a ``with`` block it serves its public keys as a JWKS at :attr:`jwks_url`, for
    ``ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)``; any other path is 404.
    :meth:`~LocalServer.respond` makes the key set fail (``forge.respond("GET", JWKS_PATH,
    status=503)``); :attr:`~atlassian_jwt.testing.LocalServer.hits` counts the downloads.
    :meth:`rotate`
    starts signing with a new key (the older ones stay in the set, as during Forge's key
    rotation), :meth:`remove_key` retires one.

    Each invocation it signs is from one installation of the app on one site
    (:attr:`installation_id`, :attr:`cloud_id`) unless a call names others. Give it a
    :class:`~atlassian_jwt.testing.ProductStandIn` (here or per call) and the invocations name
    that site: its cloud id, its Forge API base URL, its tenant's ``installationId`` (a
    Connect-on-Forge app), and ``x-forge-oauth-*`` tokens that the stand-in accepts.

    :param app_id: the app's id (bare, or its ARI); a new UUID by default.
    :param product: the site the invocations come from, if it is a stand-in.
    :param environment_type: ``DEVELOPMENT``, ``STAGING`` or ``PRODUCTION``.
    :param installation_id: the installation ARI; a new one by default.
    :param cloud_id: the site's cloud id when there is no ``product``; a new UUID by default.
    :param app_version: ``app.appVersion``.
    :param private_key: the RSA private key to sign with; a new 2048-bit key by default.
    :param kid: the key's id in the JWKS; a new UUID by default.
    :param host: the host name in :attr:`url` (``"127.0.0.1"`` or ``"localhost"``).
    :raises ImportError: if ``cryptography`` is not installed.
    :raises TypeError: if ``private_key`` is not an RSA private key.
    :raises ValueError: for an unknown environment type.
    """

    def __init__(
        self,
        app_id: str | None = None,
        *,
        product: ProductStandIn | None = None,
        environment_type: str = "DEVELOPMENT",
        installation_id: str | None = None,
        cloud_id: str | None = None,
        app_version: str = "1.0.0",
        private_key: RSAPrivateKey | None = None,
        kid: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        require_cryptography("FakeForgeJWKS")
        LocalServer.__init__(self, host=host)
        KeyRing.__init__(self, private_key, kid=kid)
        app_id = app_id or str(uuid.uuid4())
        #: The app's bare id, as ``ForgeInvocationVerifier`` takes it.
        self.app_id = app_id[len(APP_ARI_PREFIX) :] if app_id.startswith(APP_ARI_PREFIX) else app_id
        #: The app's ARI: the tokens' ``aud`` and ``app.id``.
        self.app_ari = APP_ARI_PREFIX + self.app_id
        self.environment_type = _environment_type(environment_type)
        #: The environment's ARI (``app.environment.id``).
        self.environment_id = f"{_ENVIRONMENT_ARI_PREFIX}{self.app_id}/{uuid.uuid4()}"
        #: The installation ARI the tokens name (``app.installationId``) by default.
        self.installation_id = installation_id or f"{_INSTALLATION_ARI_PREFIX}{uuid.uuid4()}"
        #: The site's cloud id the tokens name (``context.cloudId``) by default.
        self.cloud_id = cloud_id or str(uuid.uuid4())
        self.app_version = app_version
        self.product = product
        # Signs the x-forge-oauth-* tokens when no stand-in issues them: nobody accepts those.
        self._oauth_secret = secrets.token_bytes(32)

    @property
    def jwks_url(self) -> str:
        """The key set's URL, for ``ForgeInvocationVerifier(jwks_url=...)``.

        :raises RuntimeError: before the server is started.
        """
        return self.url + JWKS_PATH

    def jwks(self) -> dict[str, Any]:
        """The key set as served: ``{"keys": [<public JWK>, ...]}``."""
        return {"keys": [public_jwk(key, kid) for kid, key in self.signing_keys()]}

    def answer(self, request: ReceivedRequest) -> Reply:
        """Serve ``GET /.well-known/jwks.json``; anything else is 404."""
        reply = self.override(request)
        if reply is not None:
            return reply
        if request.method in ("GET", "HEAD") and request.path == JWKS_PATH:
            return Reply.json(self.jwks())
        return Reply(404, b"Not found")

    def sign_invocation(
        self,
        *,
        account_id: str | None = None,
        module_key: str = "remote-endpoint",
        module_type: str = "core:endpoint",
        context: Mapping[str, Any] | None = None,
        license: License = None,  # noqa: A002 - the claim's name
        product: ProductStandIn | None = None,
        installation_id: str | None = None,
        api_base_url: str | None = None,
        environment_type: str | None = None,
        lifetime: int = FORGE_INVOCATION_LIFETIME,
        now: float | None = None,
        kid: str | None = None,
        claims: Mapping[str, Any] | None = None,
        app_claims: Mapping[str, Any] | None = None,
    ) -> str:
        """Sign an invocation token (FIT) as Forge does: RS256, ``kid`` in the header.

        The claims: ``iss`` = ``forge/invocation-token``; ``aud`` = the app's ARI;
        ``iat``/``nbf`` = now, ``exp`` = now + ``lifetime``; a ``jti``; ``app`` = {``id``,
        ``installationId``, ``apiBaseUrl``, ``appVersion``, ``environment`` {``type``,
        ``id``}, ``module`` {``key``, ``type``}, and ``license`` when given}; ``context`` =
        {``cloudId``, ``moduleKey``, and ``context``}; ``principal`` = the acting user's account
        id, left out when no user acts (events, scheduled triggers).

        :param account_id: the user who invoked the app, if any.
        :param module_key: the module's key in the manifest (``app.module.key``,
            ``context.moduleKey``).
        :param module_type: ``app.module.type``: ``core:endpoint`` for a remote resolver, or
            the UI module's type.
        :param context: more product context (``extension``, ``localId``, ...), added to
            ``context``; a large one makes a large token, as in production.
        :param license: see :data:`License`.
        :param product: the stand-in site the call comes from; by default the one given to the
            constructor.
        :param installation_id: the installation ARI; by default the product tenant's
            ``installationId``, else this fake's own.
        :param api_base_url: ``app.apiBaseUrl``; by default the stand-in's Forge API base URL,
            else ``https://api.atlassian.com/ex/jira/<cloudId>``.
        :param environment_type: by default the one given to the constructor.
        :param lifetime: seconds until the token expires.
        :param now: the time to sign at; by default the current (or the kit clock's) time.
        :param kid: sign with an older key of the set.
        :param claims: claims to add or replace, last (``None`` removes one): for tokens the app
            must refuse, such as ``{"aud": "ari:cloud:ecosystem::app/another-app"}``.
        :param app_claims: the same for the claims inside ``app``, such as
            ``{"installationId": None}``.
        :returns: the encoded token.
        :raises ValueError: for an unknown environment type or a bad lifetime.
        :raises KeyError: for a ``kid`` not in the set.
        """
        product = product or self.product
        cloud_id = product.cloud_id if product else self.cloud_id
        if installation_id is None:
            installation_id = self._installation_id(product)
        if api_base_url is None:
            api_base_url = (
                product.forge_api_base_url
                if product
                else FORGE_API_BASE_URL.format(product="jira", cloud_id=cloud_id)
            )
        signed_at = issued_at(now)
        app: dict[str, Any] = {
            "id": self.app_ari,
            "installationId": installation_id,
            "apiBaseUrl": api_base_url,
            "appVersion": self.app_version,
            "environment": {
                "type": _environment_type(environment_type or self.environment_type),
                "id": self.environment_id,
            },
            "module": {"key": module_key, "type": module_type},
        }
        if license is not None:
            app["license"] = {"isActive": license} if isinstance(license, bool) else dict(license)
        apply_claims(app, app_claims)
        payload: dict[str, Any] = {
            "iss": FORGE_ISSUER,
            "aud": self.app_ari,
            "iat": signed_at,
            "nbf": signed_at,
            "exp": signed_at + check_lifetime(lifetime),
            "jti": str(uuid.uuid4()),
            "app": app,
            "context": {"cloudId": cloud_id, "moduleKey": module_key, **(context or {})},
        }
        if account_id is not None:
            payload["principal"] = account_id
        kid = kid or self.kid
        return jwt.encode(
            apply_claims(payload, claims),
            self.signing_key(kid),
            algorithm="RS256",
            headers={"kid": kid},
        )

    def invocation_headers(
        self,
        *,
        app_token: bool | str = True,
        user_token: bool | str = False,
        token_lifetime: int = FORGE_OAUTH_TOKEN_LIFETIME,
        trace_id: str | None = None,
        span_id: str | None = None,
        **options: Any,
    ) -> dict[str, str]:
        """Return the headers of a Forge call to the remote: the whole remote contract.

        ``authorization: Bearer <FIT>`` (see :meth:`sign_invocation`, whose keyword arguments
        this takes too), ``x-b3-traceid`` and ``x-b3-spanid``, and the OAuth tokens the
        manifest's endpoint asks for: ``x-forge-oauth-system`` (``appSystemToken``) and
        ``x-forge-oauth-user`` (``appUserToken``). The tokens are JWTs whose ``exp`` is
        ``token_lifetime`` seconds away; a stand-in product accepts them if it issued them.

        :param app_token: send ``x-forge-oauth-system``: ``True`` for a new token, or the token.
        :param user_token: send ``x-forge-oauth-user`` (for the ``account_id`` user): ``True``
            for a new token, or the token.
        :param token_lifetime: seconds until new tokens expire.
        :param trace_id: ``x-b3-traceid`` (32 hex digits); new by default.
        :param span_id: ``x-b3-spanid`` (16 hex digits); new by default.
        :raises ValueError: for ``user_token=True`` without ``account_id``.
        """
        account_id = options.get("account_id")
        if user_token is True and not account_id:
            raise ValueError("A user token needs account_id: the user the call is made for")
        product: ProductStandIn | None = options.get("product") or self.product
        headers = {
            "authorization": f"Bearer {self.sign_invocation(**options)}",
            "x-b3-traceid": trace_id or secrets.token_hex(16),
            "x-b3-spanid": span_id or secrets.token_hex(8),
        }
        for header, kind, token in (
            ("x-forge-oauth-system", "system", app_token),
            ("x-forge-oauth-user", "user", user_token),
        ):
            if isinstance(token, str):
                headers[header] = token
            elif token:
                headers[header] = self._oauth_token(
                    product, kind, account_id, token_lifetime, options.get("now")
                )
        return headers

    def event_delivery(
        self,
        event_type: str,
        payload: Mapping[str, Any] | None = None,
        *,
        retry_count: int = 0,
        retry_reason: str = RETRY_REASON,
        wrapped: bool = True,
        **options: Any,
    ) -> tuple[dict[str, str], bytes]:
        """Deliver a product or lifecycle event as Forge delivers it to a remote endpoint.

        :param event_type: the ``eventType``, such as ``avi:jira:created:issue`` or
            ``avi:forge:installed:app``.
        :param payload: the rest of the event (``issue``, ``atlassianId``...).
        :param retry_count: for a retry, its number (1 to 4): Forge adds ``retryContext``.
        :param retry_reason: the retry's ``retryReason``.
        :param wrapped: put the event in ``{"payload": ...}``, as Forge's documentation of
            remote retries shows the body; ``False`` sends the event as the whole body.
        :param options: for :meth:`invocation_headers` (and :meth:`sign_invocation`); no user
            acts in an event, so there is no ``x-forge-oauth-user``.
        :returns: ``(headers, body)`` of the ``POST``.
        """
        event = {"eventType": event_type, **(payload or {})}
        return self._delivery(event, retry_count, retry_reason, wrapped, options)

    def scheduled_trigger_delivery(
        self,
        trigger_key: str,
        *,
        retry_count: int = 0,
        retry_reason: str = RETRY_REASON,
        wrapped: bool = True,
        **options: Any,
    ) -> tuple[dict[str, str], bytes]:
        """Deliver a scheduled trigger's invocation as Forge makes it to a remote endpoint.

        The body names the trigger in ``context.moduleKey`` and the site in
        ``context.cloudId``, with a ``contextToken`` that means nothing to the app.

        :param trigger_key: the ``scheduledTrigger`` module's key.
        :returns: ``(headers, body)`` of the ``POST``; see :meth:`event_delivery`.
        """
        product: ProductStandIn | None = options.get("product") or self.product
        event = {
            "context": {
                "cloudId": product.cloud_id if product else self.cloud_id,
                "moduleKey": trigger_key,
            },
            "contextToken": secrets.token_urlsafe(24),
        }
        return self._delivery(event, retry_count, retry_reason, wrapped, options)

    def _delivery(
        self,
        event: dict[str, Any],
        retry_count: int,
        retry_reason: str,
        wrapped: bool,
        options: dict[str, Any],
    ) -> tuple[dict[str, str], bytes]:
        if retry_count:
            event[RETRY_CONTEXT] = {
                "retryCount": retry_count,
                "retryReason": retry_reason,
                "retryData": None,
            }
        headers = self.invocation_headers(**options)
        headers["content-type"] = "application/json"
        body = {EVENT_WRAPPER: event} if wrapped else event
        return headers, json.dumps(body).encode("utf-8")

    def _installation_id(self, product: ProductStandIn | None) -> str:
        if product is not None:
            from_tenant = product.tenant.get("installationId")
            if isinstance(from_tenant, str) and from_tenant:
                return from_tenant
        return self.installation_id

    def _oauth_token(
        self,
        product: ProductStandIn | None,
        kind: str,
        account_id: str | None,
        lifetime: int,
        now: float | None,
    ) -> str:
        if product is not None:
            return product.issue_forge_token(
                kind, account_id=account_id, lifetime=lifetime, now=now
            )
        return forge_oauth_token(
            self._oauth_secret,
            kind,
            cloud_id=self.cloud_id,
            account_id=account_id,
            lifetime=lifetime,
            now=now,
        )


def _environment_type(environment_type: str) -> str:
    if environment_type not in ENVIRONMENT_TYPES:
        raise ValueError(f"environment_type must be one of {ENVIRONMENT_TYPES}")
    return environment_type
