"""Ready-made handling of the Connect lifecycle callbacks, for any web framework.

The product calls the app's ``installed``, ``uninstalled``, ``enabled`` and ``disabled`` routes
(named in the descriptor's ``lifecycle``). :class:`LifecycleHandler` verifies each call the way
it must be verified and only then changes the tenant store; a framework's view hands it the
method, the URL as received, the headers and the raw body, and answers from what it returns or
raises::

    lifecycle = LifecycleHandler(store, InstallAuthenticator("https://app.example.com"))

    def installed(method, url, headers, body):
        try:
            lifecycle.installed(method, url, headers, body)
        except atlassian_jwt.KeyFetchError:
            return 503  # Atlassian's key server is unreachable; Atlassian retries
        except atlassian_jwt.DecodeError:
            return 401
        except TenantStoreError:
            return 503
        return 204

**Ordering.** Every change is saved with the ``iat`` of the verified token as its event time,
so a store ignores an ``installed`` older than the last ``uninstalled`` (or than a later
install) of the same tenant, whatever order the calls arrive in and however many run at once;
see :mod:`atlassian_jwt.tenants`.

**Replays.** Atlassian's install token signs the request line, not the body. So the store
remembers each accepted ``installed``/``uninstalled`` token (as its SHA-256) with the SHA-256
of its body until the token expires: Atlassian's retry of the same request is accepted again,
and the same token with another body (another ``sharedSecret``, say) is refused with
:class:`~atlassian_jwt.exceptions.TokenReplayedError`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from . import exceptions as exc
from ._store_base import storable_text
from .authenticate import Authenticator, AuthResult
from .install import parse_lifecycle_body
from .tenants import TenantStore, TenantStoreAuthenticator
from .tokens import Headers, token_from_headers

if TYPE_CHECKING:
    from .install import InstallAuthenticator, LifecycleBody

__all__ = ["LIFECYCLE_EVENTS", "LifecycleHandler", "OnEvent"]

#: The Connect lifecycle callbacks: each a method of :class:`LifecycleHandler` and, in the
#: framework helpers, a ``POST`` route of the same name unless the app says otherwise.
LIFECYCLE_EVENTS = ("installed", "uninstalled", "enabled", "disabled")

#: ``on_event(event, result)``: what an app does once a lifecycle callback has been verified
#: (and the store updated); the framework helpers call it with the event's name.
OnEvent = Callable[[str, AuthResult], None]


class LifecycleHandler:
    """Verify lifecycle callbacks, then keep the tenant store up to date.

    - ``installed``: verified by ``install_authenticator`` (RS256, Atlassian's key, ``aud`` the
      app's base URL, ``iss`` the body's ``clientKey``, ``qsh``); then the body is saved as
      the tenant, replacing any earlier one whole, so a reinstall's new secret replaces the
      old one in one atomic write.
    - ``uninstalled``: verified the same way; then the tenant and its secret are erased.
    - Both: a body whose ``key`` names another app than the store's is refused
      (:class:`~atlassian_jwt.exceptions.InvalidAudienceError`: two apps served from one base
      URL get each other's signed callbacks), and so is a token already accepted with another
      body (:class:`~atlassian_jwt.exceptions.TokenReplayedError`); the same token with the
      same body, as Atlassian retries it, is applied again.
    - ``enabled``, ``disabled``: verified with the tenant's stored shared secret (HS256, no
      context tokens); the body's ``clientKey`` must be the token's ``iss``. The store is not
      changed: act on the returned result in your view.

    :param store: where tenants are kept.
    :param install_authenticator: an :class:`~atlassian_jwt.InstallAuthenticator` for the
        app's base URL.
    :param authenticator: verifies ``enabled``/``disabled``; by default a
        :class:`~atlassian_jwt.tenants.TenantStoreAuthenticator` on ``store`` with the install
        authenticator's base URL and leeway. Pass one for an app with several base URLs.
    :param allow_hs256: also accept ``installed``/``uninstalled`` calls signed with the
        tenant's stored shared secret (HS256), as Bitbucket and instances that predate signed
        installs send them. Such a call can only come from whoever holds that secret, and a
        first install (no stored secret) is still refused.
    :raises ValueError: if ``authenticator`` is missing for an app with several base URLs.
    """

    def __init__(
        self,
        store: TenantStore,
        install_authenticator: InstallAuthenticator,
        *,
        authenticator: Authenticator | None = None,
        allow_hs256: bool = False,
    ) -> None:
        self.store = store
        self.install_authenticator = install_authenticator
        if authenticator is None:
            bases = install_authenticator.app_base_urls
            if len(bases) != 1:
                raise ValueError(
                    "The app has several base URLs: pass the authenticator for enabled and "
                    "disabled, with the base_url they are called on"
                )
            authenticator = TenantStoreAuthenticator(
                store, leeway=install_authenticator.leeway, base_url=bases[0]
            )
        self.authenticator = authenticator
        self.allow_hs256 = allow_hs256

    def installed(
        self, http_method: str, url: str, headers: Headers | None, body: LifecycleBody
    ) -> AuthResult:
        """Verify an ``installed`` call, then save its body as the tenant.

        :param http_method: the request's method.
        :param url: the request URL as received (raw path and query), absolute or relative.
        :param headers: the request headers: any mapping, or ``(name, value)`` pairs.
        :param body: the JSON body, as bytes or text (or already parsed).
        :returns: ``AuthResult(client_key, claims)``.
        :raises DecodeError: for every rejection; the store is not touched (but for the
            token's memory, when the rejection is a replay).
        :raises KeyFetchError: if Atlassian's key cannot be fetched now (answer 503).
        :raises TenantStoreError: if the store fails (answer 503).
        """
        payload = parse_lifecycle_body(body)
        secret = payload.get("sharedSecret")
        if not isinstance(secret, str) or not secret:
            raise exc.MalformedRequestError("The installed body has no sharedSecret")
        installation_id = payload.get("installationId")
        if installation_id is not None and not storable_text(installation_id):
            raise exc.MalformedRequestError("The installed body's installationId is not text")
        body_sha256 = _body_sha256(payload)
        result = self._verify_signed(http_method, url, headers, body, payload)
        self._accept(headers, payload, body_sha256, result)
        self.store.save(payload, event_time=result.claims["iat"])
        return result

    def uninstalled(
        self, http_method: str, url: str, headers: Headers | None, body: LifecycleBody
    ) -> AuthResult:
        """Verify an ``uninstalled`` call, then erase the tenant.

        For a Connect-on-Forge tenant, the Forge app token kept for its installation
        (:func:`~atlassian_jwt.forge.keep_app_token`) is erased too, once the tenant is gone: a
        credential for an installation that no longer exists is of no use to keep.

        Takes, returns and raises what :meth:`installed` does.
        """
        payload = parse_lifecycle_body(body)
        body_sha256 = _body_sha256(payload)
        result = self._verify_signed(http_method, url, headers, body, payload)
        self._accept(headers, payload, body_sha256, result)
        tenant = self.store.get(result.client_key)
        self.store.delete(result.client_key, event_time=result.claims["iat"])
        installation_id = tenant.get("installationId") if tenant else None
        # Not when the delete was stale (a reinstall came first): the tenant is still there.
        if installation_id and self.store.get(result.client_key) is None:
            self.store.forget_app_token(installation_id)
        return result

    def enabled(
        self, http_method: str, url: str, headers: Headers | None, body: LifecycleBody
    ) -> AuthResult:
        """Verify an ``enabled`` call with the tenant's shared secret; the store is unchanged.

        :raises DecodeError: for every rejection (an unknown tenant, a context token, a body
            naming another ``clientKey``).
        """
        return self._verify_shared_secret(http_method, url, headers, body)

    def disabled(
        self, http_method: str, url: str, headers: Headers | None, body: LifecycleBody
    ) -> AuthResult:
        """Verify a ``disabled`` call; see :meth:`enabled`."""
        return self._verify_shared_secret(http_method, url, headers, body)

    def _verify_signed(
        self,
        http_method: str,
        url: str,
        headers: Headers | None,
        body: LifecycleBody,
        payload: Mapping[str, Any],
    ) -> AuthResult:
        shared_secret = None
        if self.allow_hs256:
            # The body's clientKey is unverified here: it only picks the secret to try.
            tenant = self.store.get(payload["clientKey"])
            shared_secret = tenant.get("sharedSecret") if tenant else None
        return self.install_authenticator.authenticate(
            http_method, url, headers, body, shared_secret=shared_secret
        )

    def _accept(
        self,
        headers: Headers | None,
        payload: Mapping[str, Any],
        body_sha256: str,
        result: AuthResult,
    ) -> None:
        """Refuse a verified ``installed``/``uninstalled`` call for another app, or whose token
        was accepted before with another body; remember the token otherwise.

        :raises InvalidAudienceError: if the body's ``key`` is not the store's app key.
        :raises TokenReplayedError: if the token came before with another body.
        """
        app_key = self.store.app_key
        if app_key is not None and "key" in payload and payload["key"] != app_key:
            raise exc.InvalidAudienceError(
                "The lifecycle callback is for another app: the body's key is not the app key "
                "of the tenant store",
                signature_verified=True,
            )
        # The token the install authenticator has just verified, read the same way: so it is
        # there.
        token = cast(str, token_from_headers(headers))
        # Refused after exp + leeway anyway: remembered until then.
        expires_at = float(result.claims["exp"]) + self.install_authenticator.leeway
        if not self.store.remember_lifecycle_token(
            hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest(),
            body_sha256,
            expires_at=expires_at,
        ):
            raise exc.TokenReplayedError(
                "The lifecycle token was accepted before with another body",
                client_key=result.client_key,
                signature_verified=True,
            )

    def _verify_shared_secret(
        self, http_method: str, url: str, headers: Headers | None, body: LifecycleBody
    ) -> AuthResult:
        payload = parse_lifecycle_body(body)
        result = self.authenticator.authenticate(http_method, url, headers)
        if payload["clientKey"] != result.client_key:
            raise exc.InvalidIssuerError(
                "The token's iss is not the clientKey of the body",
                client_key=result.client_key,
                signature_verified=True,
            )
        return result

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r}, {self.install_authenticator!r})"


def _body_sha256(payload: Mapping[str, Any]) -> str:
    """The SHA-256 of what a lifecycle body installs: its JSON with sorted names, so the same
    object hashes alike as bytes, text or a mapping, whatever its spacing and order.

    :raises MalformedRequestError: for a number JSON has no place for (``NaN``, ``Infinity``).
    """
    try:
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise exc.MalformedRequestError("The callback's body is not valid JSON") from None
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
