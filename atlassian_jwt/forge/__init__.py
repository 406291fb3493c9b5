"""Forge Remote: verify Forge's calls to the app's back end, call the product back, handle events.

* :mod:`~atlassian_jwt.forge.verify`: :class:`ForgeInvocationVerifier` verifies the Forge
  invocation token (FIT) against Atlassian's key set;
* :mod:`~atlassian_jwt.forge.invocation`: :class:`ForgeInvocation`, what a verified call says
  (installation, API base URL, environment, module, user, tokens), :class:`ForgeToken`, and
  :class:`ForgeContext`, the context a token's claims name, read without checking anything;
* :mod:`~atlassian_jwt.forge.background`: the app token of each installation kept in the tenant
  store for work done after the request (:func:`keep_app_token`, :func:`load_app_token`);
* :mod:`~atlassian_jwt.forge.connect`: Connect on Forge, the Connect tenant of an invocation's
  installation (:func:`connect_tenant`);
* :mod:`~atlassian_jwt.forge.events`: :class:`ForgeEventDispatcher`, product and lifecycle
  events and scheduled triggers, each handled once however often Forge delivers it.

The verifier and the invocation know nothing of stores; the rest take the app's
:class:`~atlassian_jwt.tenants.TenantStore`. The framework helpers
(:mod:`~atlassian_jwt.integrations.flask_ext`, :mod:`~atlassian_jwt.integrations.django_ext`,
:mod:`~atlassian_jwt.integrations.starlette_ext`) bring them together, beside the Connect ones.
"""

from __future__ import annotations

from .background import keep_app_token, load_app_token
from .connect import connect_tenant
from .events import (
    DEFAULT_ANSWER_WITHIN,
    DEFAULT_EVENT_RETENTION,
    DEFAULT_MAX_EVENT_BYTES,
    FORGE_EVENT_RETRIES,
    FORGE_EVENT_RETRY_DELAY,
    FORGE_EVENT_TIMEOUT,
    FORGE_INSTALLED_EVENT,
    FORGE_LIFECYCLE_EVENTS,
    FORGE_UPGRADED_EVENT,
    EventResponse,
    ForgeEvent,
    ForgeEventDispatcher,
)
from .invocation import (
    DEFAULT_EXPIRY_MARGIN,
    FORGE_REQUIRED_CONTEXT,
    SYSTEM_TOKEN_HEADER,
    USER_TOKEN_HEADER,
    ForgeContext,
    ForgeInvocation,
    ForgeToken,
    build_product_url,
)
from .verify import (
    APP_ARI_PREFIX,
    DEFAULT_FORGE_LEEWAY,
    DEFAULT_MAX_FIT_LENGTH,
    DEFAULT_MAX_JWKS_BYTES,
    FORGE_ALGORITHMS,
    FORGE_ISSUER,
    FORGE_JWKS_URLS,
    FORGE_REQUIRED_CLAIMS,
    REFRESH_INTERVAL,
    ForgeInvocationVerifier,
)

__all__ = [
    "APP_ARI_PREFIX",
    "DEFAULT_ANSWER_WITHIN",
    "DEFAULT_EVENT_RETENTION",
    "DEFAULT_EXPIRY_MARGIN",
    "DEFAULT_FORGE_LEEWAY",
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MAX_FIT_LENGTH",
    "DEFAULT_MAX_JWKS_BYTES",
    "FORGE_ALGORITHMS",
    "FORGE_EVENT_RETRIES",
    "FORGE_EVENT_RETRY_DELAY",
    "FORGE_EVENT_TIMEOUT",
    "FORGE_INSTALLED_EVENT",
    "FORGE_ISSUER",
    "FORGE_JWKS_URLS",
    "FORGE_LIFECYCLE_EVENTS",
    "FORGE_REQUIRED_CLAIMS",
    "FORGE_REQUIRED_CONTEXT",
    "FORGE_UPGRADED_EVENT",
    "REFRESH_INTERVAL",
    "SYSTEM_TOKEN_HEADER",
    "USER_TOKEN_HEADER",
    "EventResponse",
    "ForgeContext",
    "ForgeEvent",
    "ForgeEventDispatcher",
    "ForgeInvocation",
    "ForgeInvocationVerifier",
    "ForgeToken",
    "build_product_url",
    "connect_tenant",
    "keep_app_token",
    "load_app_token",
]
