"""Connect on Forge: from a verified Forge invocation to the Connect tenant of its installation.

A Connect app moved under a Forge manifest (``connectModules``) keeps its Connect tenants,
stored under their ``clientKey`` from the ``installed`` callback. That callback's payload now
also carries ``installationId``, the Forge installation ARI, which every store indexes; a Forge
module served by the same back end is invoked with a FIT naming the same installation
(``app.installationId``). :func:`connect_tenant` joins the two, so that a Forge request can use
what the app keeps under the ``clientKey`` and can still sign Connect calls::

    invocation = verifier.verify_request(request.headers)
    tenant = connect_tenant(invocation, store)
    token = atlassian_jwt.encode_token("GET", tenant["baseUrl"] + "/rest/api/3/myself", **tenant)

(atlassian-connect-express calls this ``associateConnect``.) The Connect ``installed``
callback and Forge's own ``avi:forge:installed:app`` event arrive in no set order: until the
Connect one is stored there is no tenant to find, and
:class:`~atlassian_jwt.ConnectTenantNotFoundError` says so. An event handler that raises it is
run again on Forge's retry, a minute later (see
:class:`~atlassian_jwt.forge.ForgeEventDispatcher`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import exceptions as exc
from .invocation import ForgeInvocation

if TYPE_CHECKING:
    from ..tenants import TenantStore

__all__ = ["connect_tenant"]


def connect_tenant(invocation: ForgeInvocation, store: TenantStore) -> dict[str, Any]:
    """Return the Connect tenant of a verified invocation's installation.

    :param invocation: a verified invocation
        (:meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request`); its
        ``installation_id`` is looked up.
    :param store: the tenant store of the Connect app (bound to its app key), which stored the
        ``installed`` payloads.
    :returns: a copy of the tenant: ``clientKey``, ``sharedSecret``, ``baseUrl``, ``key`` and
        the rest of its ``installed`` payload, ready for
        :func:`~atlassian_jwt.encode_token` and
        :class:`~atlassian_jwt.integrations.requests_auth.AtlassianJWTAuth`.
    :raises ConnectTenantNotFoundError: if no installed tenant names the installation: its
        Connect ``installed`` callback has not been stored (yet), or it was uninstalled.
    :raises TenantStoreError: if the store cannot be used.

    .. warning:: The tenant holds the shared secret: never send it to the browser or log it.
    """
    tenant = store.get_by_installation_id(invocation.installation_id)
    if tenant is None:
        raise exc.ConnectTenantNotFoundError(
            f"No Connect tenant is stored for the installation {invocation.installation_id!r}: "
            "its Connect installed callback has not been stored yet, or it was uninstalled",
            installation_id=invocation.installation_id,
        )
    return tenant
