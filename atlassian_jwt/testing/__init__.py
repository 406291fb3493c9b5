"""Test an Atlassian app as Jira, Confluence and Forge call it: the testing kit.

It needs the ``testing`` extra (``cryptography`` for the RSA keys, ``time-machine`` for the
clock, ``pytest`` for the plugin; :data:`INSTALL_HINT` says how to install them).
``import atlassian_jwt`` never imports it, and it imports no test framework: only the opt-in
pytest plugin, :mod:`atlassian_jwt.testing.pytest_plugin`, does.

Calls into the app
    :func:`sign_product_request` signs a request as the product does (``iss`` the tenant's
    ``clientKey``, ``qsh`` relative to the app's base URL, ``sub`` when a user acts, or a
    context token); :func:`product_request_headers` and :func:`product_request_url` put the
    token where webhooks and iframe loads carry it; :func:`make_tenant` makes a tenant with
    fresh secrets.
Lifecycle callbacks
    :class:`FakeAtlassianKeyServer` signs ``installed``/``uninstalled`` with an RSA key of its
    own as Atlassian does and serves its public key, as a
    :class:`~atlassian_jwt.KeyProvider` or over HTTP on 127.0.0.1.
Forge Remote
    :class:`FakeForgeJWKS` signs invocation tokens with the claims and headers of the remote
    contract, makes the ``POST`` of an event or a scheduled trigger as Forge delivers it (and
    retries it), and serves its JWKS on 127.0.0.1.
Calls from the app
    :class:`ProductStandIn` is a site on 127.0.0.1 that verifies the app's signed calls as the
    product does, serves the act-as-user token exchange and the Forge API path, answers what
    the test tells it to, and records every call.
Time
    :class:`FrozenClock` freezes and moves the process's clock for signers and verifiers at
    once.

Every server binds 127.0.0.1 on a free port, serves from a thread and stops at the end of its
``with`` block. Nothing secret is written anywhere: keys and secrets are made at run time.
"""

from __future__ import annotations

from ._requirements import INSTALL_HINT
from ._rsa import new_rsa_key, public_pem
from ._server import LocalServer, ReceivedRequest, Reply, refused_url
from .clock import FrozenClock
from .connect import (
    PRODUCT_TOKEN_LIFETIME,
    make_tenant,
    product_request_headers,
    product_request_url,
    sign_product_request,
)
from .forge_jwks import FORGE_INVOCATION_LIFETIME, FakeForgeJWKS
from .key_server import FakeAtlassianKeyServer, LifecycleRequest
from .product import (
    ACCESS_TOKEN_LIFETIME,
    FORGE_OAUTH_TOKEN_LIFETIME,
    ProductRequest,
    ProductStandIn,
    TokenExchange,
)

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "FORGE_INVOCATION_LIFETIME",
    "FORGE_OAUTH_TOKEN_LIFETIME",
    "INSTALL_HINT",
    "PRODUCT_TOKEN_LIFETIME",
    "FakeAtlassianKeyServer",
    "FakeForgeJWKS",
    "FrozenClock",
    "LifecycleRequest",
    "LocalServer",
    "ProductRequest",
    "ProductStandIn",
    "ReceivedRequest",
    "Reply",
    "TokenExchange",
    "make_tenant",
    "new_rsa_key",
    "product_request_headers",
    "product_request_url",
    "public_pem",
    "refused_url",
    "sign_product_request",
]
