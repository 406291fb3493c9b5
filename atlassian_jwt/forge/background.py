"""Background work: the app token of each installation, kept for when no request is there.

A Forge invocation token lives for seconds, and the ``x-forge-oauth-system`` token that comes
with it for hours (four at the time of writing; scheduled triggers always bring one valid for at
least two). Work that runs after the request is gone (a queue worker, a nightly job) needs an
installation's app token later: :func:`keep_app_token` keeps the newest one of each
installation, with its API base URL, in the tenant store; :func:`load_app_token` gives it back,
or says that there is none that is still valid.

**Where tokens are saved.** The verifier does not touch any store: what it verifies is the same
whoever keeps what. The framework helpers (``require_forge(verifier, store=store)`` in
:mod:`~atlassian_jwt.integrations.flask_ext`, :mod:`~atlassian_jwt.integrations.django_ext` and
:mod:`~atlassian_jwt.integrations.starlette_ext`) and the
:class:`~atlassian_jwt.forge.ForgeEventDispatcher` call :func:`keep_app_token` for every verified
invocation when they are given a store; an app verifying invocations itself calls it after
:meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request`. Atlassian suggests subscribing to
the lifecycle events (installed, upgraded) and a scheduled trigger, so that every installation
brings a token soon and often.

.. warning:: The tokens are bearer credentials for the installation's product API. Every store
   of this library keeps them as it keeps shared secrets (an owner-only SQLite file, never in a
   message or ``repr``); a store of your own must do the same.
"""

from __future__ import annotations

from datetime import timezone
from typing import TYPE_CHECKING

from .. import exceptions as exc
from .invocation import DEFAULT_EXPIRY_MARGIN, ForgeInvocation, ForgeToken

if TYPE_CHECKING:
    from ..tenants import StoredAppToken, TenantStore

__all__ = ["keep_app_token", "load_app_token"]


def keep_app_token(invocation: ForgeInvocation, store: TenantStore) -> bool:
    """Keep the invocation's app token for its installation, unless the store has a newer one.

    Tokens that came in any order leave the one that expires last, across processes (see
    :meth:`~atlassian_jwt.tenants.TenantStore.save_app_token`). Nothing is kept when the
    invocation brings no app token, when its expiry cannot be read (it could not be ordered
    against the kept one), or when it has expired already.

    :param invocation: a verified invocation.
    :param store: the tenant store.
    :returns: whether the invocation's token is now the one kept.
    :raises TenantStoreError: if the store cannot be used.
    """
    token = invocation.app_token
    if token is None or token.expires_at is None or token.expired(margin=0):
        return False
    return store.save_app_token(
        invocation.installation_id,
        token.value,
        expires_at=token.expires_at,
        api_base_url=invocation.api_base_url,
    )


def load_app_token(
    installation_id: str,
    store: TenantStore,
    *,
    margin: float = DEFAULT_EXPIRY_MARGIN,
) -> StoredAppToken:
    """Return the app token kept for an installation, if it is still valid.

    ``ForgeAuth.for_installation(store, installation_id)`` (in
    :mod:`~atlassian_jwt.integrations.requests_auth` and
    :mod:`~atlassian_jwt.integrations.httpx_auth`) calls this and signs with the result.

    :param installation_id: the installation ARI (``invocation.installation_id``).
    :param store: the tenant store the token was kept in.
    :param margin: a token that expires within this many seconds counts as expired.
    :returns: the token, its expiry and the API base URL to send it to.
    :raises ForgeTokenUnavailableError: if no token is kept (``reason="missing"``) or the kept
        one has expired (``reason="expired"``): the next invocation from Forge brings a fresh
        one.
    :raises TenantStoreError: if the store cannot be used.
    :raises ValueError: if ``installation_id`` is not a non-empty string.
    """
    stored = store.get_app_token(installation_id)
    if stored is None:
        raise exc.ForgeTokenUnavailableError(
            f"No Forge app token is kept for the installation {installation_id!r}: the next "
            "invocation from Forge for it (a user's call, an event, a scheduled trigger) "
            "brings one",
            reason="missing",
            installation_id=installation_id,
        )
    if ForgeToken(stored.value, stored.expires_at).expired(margin=margin):
        raise exc.ForgeTokenUnavailableError(
            f"The Forge app token kept for the installation {installation_id!r} expired at "
            f"{stored.expires_at.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC: the next "
            "invocation from Forge for it brings a fresh one",
            reason="expired",
            installation_id=installation_id,
            expires_at=stored.expires_at,
        )
    return stored

