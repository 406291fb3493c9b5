"""Sign a request from the app to an Atlassian product (an outbound token).

The app signs each REST call to Jira or Confluence with the tenant's shared secret: ``iss`` is
the app key, ``qsh`` the hash of the request relative to the tenant's ``baseUrl``, and the token
is short-lived. The request then carries ``Authorization: JWT <token>``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from typing import Any

from .tokens import sign_hs256, sign_hs256_payload
from .url_utils import BodyParams, hash_url

__all__ = ["DEFAULT_LIFETIME", "encode_token"]

#: Default token lifetime in seconds: three minutes, as Atlassian's own tooling uses.
DEFAULT_LIFETIME = 3 * 60

# Claims computed here so that the token is valid for the request; payload_kwargs may not
# replace them (use the url, timeout_secs and the tenant's key instead).
_COMPUTED_CLAIMS = frozenset({"qsh", "iat", "exp"})


def encode_token(
    http_method: str,
    url: str,
    clientKey: str,  # noqa: N803 - the installed payload's names, so **tenant_info works
    sharedSecret: str | bytes,  # noqa: N803
    timeout_secs: int = DEFAULT_LIFETIME,
    payload_kwargs: Mapping[str, Any] | None = None,
    *,
    body_params: BodyParams | None = None,
    **tenant_info: Any,
) -> str:
    """Encode a token for a call from the app to the product, ``qsh`` included.

    Pass the tenant information from the ``installed`` callback as keyword arguments::

        token = encode_token("GET", "/rest/api/3/myself", **tenant_info)
        headers = {"Authorization": f"JWT {token}"}

    A form-encoded ``POST`` signs its fields too::

        body = "name=Sprint+7&goal=ship"
        token = encode_token("POST", "/rest/agile/1.0/sprint", body_params=body, **tenant_info)

    :param http_method: the method of the request to sign.
    :param url: the URL of the request: absolute, or relative to the tenant's ``baseUrl``. With
        ``baseUrl`` in the tenant information, its path (Confluence's ``/wiki``) is removed
        before hashing, so ``/wiki/rest/api/space`` and ``/rest/api/space`` sign alike.
    :param clientKey: the tenant's client key; the token's ``aud``.
    :param sharedSecret: the tenant's shared secret, the HS256 key.
    :param timeout_secs: lifetime of the token in seconds (default three minutes).
    :param payload_kwargs: extra claims, such as ``sub`` or ``context``. They may replace
        ``iss`` and ``aud`` but not ``qsh``, ``iat`` or ``exp``, which this function computes.
    :param body_params: the fields of an ``application/x-www-form-urlencoded`` body (the raw
        body, or a mapping of names to a value or a list of values), hashed with the query
        parameters as the product's servlet side merges them. Pass them for a form ``POST``;
        leave them out for any other body, which the ``qsh`` does not cover.
    :param tenant_info: the rest of the tenant information. ``key`` (the app key) becomes
        ``iss``, which is what the product checks; without it ``iss`` is ``clientKey``, as in
        3.0.0. ``baseUrl`` is the base the ``qsh`` is computed relative to. Other keys are
        ignored.
    :returns: the encoded token.
    :raises ValueError: for an empty key or secret, a lifetime that is not a positive number of
        seconds, ``payload_kwargs`` that try to replace a computed claim, or a URL or body that
        is not valid text.

    .. warning:: ``sharedSecret`` is the tenant's secret: never log it or the token.
    """
    if not isinstance(clientKey, str) or not clientKey:
        raise ValueError("clientKey must be a non-empty string")
    if not isinstance(sharedSecret, (str, bytes)) or not sharedSecret:
        raise ValueError("sharedSecret must be a non-empty string")
    if isinstance(timeout_secs, bool) or not isinstance(timeout_secs, int) or timeout_secs <= 0:
        raise ValueError("timeout_secs must be a positive number of seconds")
    extra = dict(payload_kwargs) if payload_kwargs else None
    if extra:
        overridden = _COMPUTED_CLAIMS.intersection(extra)
        if overridden:
            raise ValueError(
                f"payload_kwargs cannot replace {sorted(overridden)}: they are computed from "
                "the request and timeout_secs"
            )

    now = int(time.time())
    issuer = tenant_info.get("key") or clientKey
    qsh = hash_url(http_method, url, tenant_info.get("baseUrl"), body_params=body_params)
    # What jwt.encode(payload, sharedSecret, algorithm="HS256") returns, with the secret
    # prepared by PyJWT once per tenant rather than on every call.
    if extra or type(issuer) is not str or type(clientKey) is not str:
        payload = {
            "iss": issuer,
            "iat": now,
            "exp": now + timeout_secs,
            "qsh": qsh,
            "aud": clientKey,
            **(extra or {}),
        }
        return sign_hs256(payload, sharedSecret)
    # The usual five claims, written as json.dumps(payload, separators=(",", ":")) writes
    # them (tests/test_encode.py holds the two to each other), without its encoder.
    return sign_hs256_payload(
        (
            f'{{"iss":{encode_basestring_ascii(issuer)},"iat":{now},"exp":{now + timeout_secs},'
            f'"qsh":"{qsh}","aud":{encode_basestring_ascii(clientKey)}}}'
        ).encode("ascii"),
        sharedSecret,
    )
