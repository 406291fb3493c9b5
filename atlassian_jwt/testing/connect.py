"""Connect tenants and the tokens a product signs for its calls into the app.

Jira and Confluence sign every call into an app (an iframe load with ``?jwt=``, a webhook, the
``enabled`` and ``disabled`` callbacks) with the tenant's shared secret: ``iss`` is the tenant's
``clientKey`` and ``qsh`` the hash of the request relative to the app's base URL
(:mod:`atlassian_jwt.url_utils` states the rules). :func:`sign_product_request` makes such a
token; it is what :func:`atlassian_jwt.encode_token` cannot make, since that signs the other
direction (``iss`` the app key, ``qsh`` relative to the product's ``baseUrl``)::

    tenant = make_tenant()
    headers = product_request_headers("GET", "/issue-panel?issueKey=ABC-1", tenant)
    response = client.get("/issue-panel?issueKey=ABC-1", headers=headers)

Only PyJWT is needed here.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from typing import Any

import jwt

from ..authenticate import CONTEXT_QSH
from ..url_utils import BodyParams, base_path, hash_url
from ._tokens import apply_claims, check_lifetime, issued_at

__all__ = [
    "DEFAULT_APP_KEY",
    "PRODUCT_BASE_PATHS",
    "PRODUCT_TOKEN_LIFETIME",
    "make_tenant",
    "product_request_headers",
    "product_request_url",
    "sign_product_request",
]

#: Seconds a token the product signs stays valid: 15 minutes, what Jira's own tokens to apps
#: carry (``exp`` - ``iat`` = 900 in the tokens it sends).
PRODUCT_TOKEN_LIFETIME = 15 * 60

#: The ``productType`` of each product's tenants and the path of its site's ``baseUrl``.
PRODUCT_BASE_PATHS: Mapping[str, str] = {"jira": "", "confluence": "/wiki"}

#: The app key the kit's tenants name when the caller names none.
DEFAULT_APP_KEY = "com.example.my-app"


def make_tenant(
    *,
    base_url: str = "https://example.atlassian.net",
    product_type: str | None = None,
    app_key: str = DEFAULT_APP_KEY,
    client_key: str | None = None,
    shared_secret: str | None = None,
    oauth_client_id: str | None = None,
    installation_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Return a tenant: the payload of an ``installed`` callback, as the product sends it.

    Every call makes a new ``clientKey``, ``sharedSecret`` (43 random URL-safe characters,
    256 bits) and ``oauthClientId`` unless they are given, so that nothing secret is ever
    written into a test.

    >>> tenant = make_tenant(base_url="https://example.atlassian.net/wiki")
    >>> tenant["productType"], tenant["key"], len(tenant["sharedSecret"]) >= 32
    ('confluence', 'com.example.my-app', True)

    :param base_url: the site's ``baseUrl`` (Confluence's ends in ``/wiki``).
    :param product_type: ``"jira"`` or ``"confluence"``; by default ``"confluence"`` for a
        ``baseUrl`` ending in ``/wiki``, else ``"jira"``.
    :param app_key: the app's key (``key``), which the app's outbound tokens carry in ``iss``.
    :param client_key: the tenant's ``clientKey``; a new UUID by default.
    :param shared_secret: the ``sharedSecret``; a new random one by default.
    :param oauth_client_id: the ``oauthClientId`` used to act as a user; new by default.
    :param installation_id: the Forge installation ARI that a Connect-on-Forge app's
        ``installed`` payload carries (``installationId``); left out when ``None``.
    :param fields: more fields, added last (they may replace the ones above).
    :returns: a new dict.
    """
    if product_type is None:
        product_type = "confluence" if base_path(base_url) == "/wiki" else "jira"
    tenant: dict[str, Any] = {
        "key": app_key,
        "clientKey": client_key or str(uuid.uuid4()),
        "sharedSecret": shared_secret or secrets.token_urlsafe(32),
        "baseUrl": base_url,
        "displayUrl": base_url,
        "productType": product_type,
        "description": f"Atlassian {product_type.capitalize()} at {base_url}",
        "eventType": "installed",
        "oauthClientId": oauth_client_id or secrets.token_urlsafe(24),
    }
    if installation_id is not None:
        tenant["installationId"] = installation_id
    tenant.update(fields)
    return tenant


def sign_product_request(
    method: str,
    url: str,
    tenant: Mapping[str, Any],
    *,
    app_base_url: str | None = None,
    account_id: str | None = None,
    context_qsh: bool = False,
    lifetime: int = PRODUCT_TOKEN_LIFETIME,
    body_params: BodyParams | None = None,
    now: float | None = None,
    claims: Mapping[str, Any] | None = None,
) -> str:
    """Sign a call into the app exactly as the product does (HS256, the shared secret).

    The claims: ``iss`` = the tenant's ``clientKey``; ``iat`` = now and ``exp`` = ``iat`` +
    ``lifetime``; ``qsh`` = the hash of ``method url`` relative to the app's base URL (or
    ``context-qsh``); ``sub`` = the acting user's account id, if a user acts; ``context`` =
    ``{}``. What :class:`atlassian_jwt.Authenticator` verifies, and Atlassian's JS library
    (the one atlassian-connect-express uses) too.

    :param method: the request's method.
    :param url: the URL the product calls: absolute (``https://app.example.com/page?x=1``) or
        the path and query as the app receives them (``/page?x=1``). Hashed as it is written:
        write it as the product would send it (``%20``, not a raw space).
    :param tenant: the tenant (``clientKey`` and ``sharedSecret`` are used), e.g. from
        :func:`make_tenant`.
    :param app_base_url: the app's base URL, from its descriptor; its path (an app served
        under ``/my-app``) is removed from the request path before hashing, as the product
        removes it. ``None``: the app is served at the root.
    :param account_id: the Atlassian account id of the user the call is made for (``sub``);
        ``None`` for calls no user makes (webhooks from automation, lifecycle callbacks).
    :param context_qsh: make a context token (``qsh`` = ``context-qsh``), as
        ``AP.context.getToken()`` returns to the app's own front end; ``method`` and ``url``
        are then not hashed.
    :param lifetime: seconds until the token expires.
    :param body_params: form parameters of an ``application/x-www-form-urlencoded`` body to
        include in the ``qsh``, as the product's servlet side does.
    :param now: the time to sign at, in seconds since the epoch; the current time (frozen by
        the kit's clock, if one runs) by default.
    :param claims: claims to add or replace, last (``None`` as a value removes a claim): for
        tokens the app must refuse, such as ``{"qsh": "0" * 64}``.
    :returns: the encoded token.
    :raises ValueError: if the tenant has no ``clientKey`` or ``sharedSecret``, or
        ``lifetime`` is not a positive whole number of seconds.

    .. warning:: A test helper. In an app, tokens from the product are verified, never made.
    """
    client_key = _tenant_text(tenant, "clientKey")
    secret = _tenant_text(tenant, "sharedSecret")
    signed_at = issued_at(now)
    payload: dict[str, Any] = {
        "iss": client_key,
        "iat": signed_at,
        "exp": signed_at + check_lifetime(lifetime),
        "qsh": (
            CONTEXT_QSH
            if context_qsh
            else hash_url(method, url, app_base_url, body_params=body_params)
        ),
        "context": {},
    }
    if account_id is not None:
        payload["sub"] = account_id
    return jwt.encode(apply_claims(payload, claims), secret, algorithm="HS256")


def product_request_headers(
    method: str, url: str, tenant: Mapping[str, Any], **options: Any
) -> dict[str, str]:
    """Return the headers of a signed call into the app: ``{"Authorization": "JWT <token>"}``.

    Takes the arguments of :func:`sign_product_request`; webhooks and the ``enabled`` and
    ``disabled`` callbacks carry their token this way.
    """
    return {"Authorization": f"JWT {sign_product_request(method, url, tenant, **options)}"}


def product_request_url(method: str, url: str, tenant: Mapping[str, Any], **options: Any) -> str:
    """Return ``url`` with the token appended as the ``jwt`` query parameter (iframe loads).

    Takes the arguments of :func:`sign_product_request`. The ``qsh`` covers every parameter
    but ``jwt``, as the product computes it.

    >>> tenant = make_tenant()
    >>> product_request_url("GET", "/panel?issueKey=ABC-1", tenant).startswith(
    ...     "/panel?issueKey=ABC-1&jwt=ey")
    True
    """
    token = sign_product_request(method, url, tenant, **options)
    path, hash_mark, fragment = url.partition("#")
    separator = "&" if "?" in path else "?"
    return f"{path}{separator}jwt={token}{hash_mark}{fragment}"


def _tenant_text(tenant: Mapping[str, Any], name: str) -> str:
    value = tenant.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"The tenant has no {name!r}")
    return value
