"""Tokens signed as the product signs its calls into the app, checked by the app's verifier.

Only PyJWT is needed: not marked ``extras``, so this runs in the ``noextras`` environment too.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import exceptions as exc
from atlassian_jwt.tenants import MemoryTenantStore, TenantStoreAuthenticator
from atlassian_jwt.testing import (
    PRODUCT_TOKEN_LIFETIME,
    make_tenant,
    product_request_headers,
    product_request_url,
    sign_product_request,
)
from tests.support import ACCOUNT, OFFICIAL

APP_BASE = "https://apps.example.com/my-app"


@pytest.fixture
def tenant() -> dict[str, Any]:
    return make_tenant()


def app_verifier(tenant: dict[str, Any], **options: Any) -> TenantStoreAuthenticator:
    """What an app runs: its tenants in a store, Atlassian's 30 seconds of leeway."""
    store = MemoryTenantStore()
    store.save(tenant)
    return TenantStoreAuthenticator(store, leeway=30, **options)


def test_claims_are_those_the_product_signs(tenant: dict[str, Any]) -> None:
    token = sign_product_request("GET", "/panel?issueKey=ABC-1", tenant, account_id=ACCOUNT)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, tenant["sharedSecret"], algorithms=["HS256"])
    assert set(claims) == {"iss", "iat", "exp", "qsh", "sub", "context"}
    assert claims["iss"] == tenant["clientKey"] and claims["sub"] == ACCOUNT
    assert claims["context"] == {}
    assert claims["exp"] - claims["iat"] == PRODUCT_TOKEN_LIFETIME
    assert abs(claims["iat"] - time.time()) < 5
    assert claims["qsh"] == atlassian_jwt.hash_url("GET", "/panel?issueKey=ABC-1")


def test_no_sub_when_no_user_acts(tenant: dict[str, Any]) -> None:
    claims = jwt.decode(
        sign_product_request("POST", "/webhook", tenant), tenant["sharedSecret"], ["HS256"]
    )
    assert "sub" not in claims and "aud" not in claims


@pytest.mark.parametrize("vector", OFFICIAL["tests"], ids=lambda vector: vector["name"])
def test_qsh_is_atlassians_own_for_every_official_vector(
    vector: dict[str, Any], tenant: dict[str, Any]
) -> None:
    # The vectors' qsh values were computed by Atlassian's Java implementation.
    token = sign_product_request(
        vector["method"], vector["url"], tenant, app_base_url=vector.get("baseUrl")
    )
    claims = jwt.decode(token, tenant["sharedSecret"], algorithms=["HS256"])
    assert claims["qsh"] == vector["qsh"]


@pytest.mark.parametrize(
    "url",
    [
        "/panel",
        "/panel?issueKey=ABC-1&projectKey=ABC",
        "/p/caf%C3%A9?name=%C3%A9t%C3%A9&name=abc&q=a+b",
        "https://apps.example.com/panel/?z=1&a=",
        "/semi;p=1/x?jwt-like=1",
    ],
)
def test_the_apps_authenticator_accepts_them(tenant: dict[str, Any], url: str) -> None:
    headers = product_request_headers("GET", url, tenant, account_id=ACCOUNT)
    client_key, claims = app_verifier(tenant).authenticate("GET", url, headers)
    assert client_key == tenant["clientKey"] and claims["sub"] == ACCOUNT


def test_each_token_is_bound_to_its_request(tenant: dict[str, Any]) -> None:
    headers = product_request_headers("GET", "/panel?issueKey=ABC-1", tenant)
    with pytest.raises(exc.QshMismatchError):
        app_verifier(tenant).authenticate("GET", "/panel?issueKey=ABC-2", headers)
    with pytest.raises(exc.QshMismatchError):
        app_verifier(tenant).authenticate("POST", "/panel?issueKey=ABC-1", headers)


def test_another_tenants_secret_does_not_verify(tenant: dict[str, Any]) -> None:
    impostor = {**make_tenant(), "clientKey": tenant["clientKey"]}
    headers = product_request_headers("GET", "/panel", impostor)
    with pytest.raises(exc.InvalidSignatureError):
        app_verifier(tenant).authenticate("GET", "/panel", headers)


def test_app_served_under_a_path(tenant: dict[str, Any]) -> None:
    url = "/my-app/panel?x=1"
    headers = product_request_headers("GET", url, tenant, app_base_url=APP_BASE)
    assert app_verifier(tenant, base_url=APP_BASE).authenticate("GET", url, headers)
    # An app that forgets its base path computes another qsh, as it would in production.
    with pytest.raises(exc.QshMismatchError):
        app_verifier(tenant).authenticate("GET", url, headers)


def test_iframe_url_carries_the_token(tenant: dict[str, Any]) -> None:
    url = product_request_url("GET", "/panel?issueKey=ABC-1", tenant, account_id=ACCOUNT)
    assert url.startswith("/panel?issueKey=ABC-1&jwt=")
    assert app_verifier(tenant).authenticate("GET", url).claims["sub"] == ACCOUNT


@pytest.mark.parametrize(
    ("url", "expected_start"),
    [
        ("/panel", "/panel?jwt="),
        ("https://apps.example.com/panel?a=1#top", "https://apps.example.com/panel?a=1&jwt="),
    ],
)
def test_iframe_url_forms(tenant: dict[str, Any], url: str, expected_start: str) -> None:
    signed = product_request_url("GET", url, tenant)
    assert signed.startswith(expected_start)
    assert signed.endswith("#top") == url.endswith("#top")
    assert app_verifier(tenant).authenticate("GET", signed.partition("#")[0])


def test_context_token_only_where_allowed(tenant: dict[str, Any]) -> None:
    headers = product_request_headers("GET", "ignored", tenant, context_qsh=True)
    verifier = app_verifier(tenant)
    assert verifier.authenticate("POST", "/api/data", headers, allow_context_qsh=True)
    with pytest.raises(exc.QshMismatchError):
        verifier.authenticate("POST", "/api/data", headers)


def test_form_body_in_the_qsh(tenant: dict[str, Any]) -> None:
    form = "comment=hello+world&issue=ABC-1"
    headers = product_request_headers("POST", "/submit", tenant, body_params=form)
    verifier = app_verifier(tenant)
    assert verifier.authenticate("POST", "/submit", headers, body_params=form)
    with pytest.raises(exc.QshMismatchError):
        verifier.authenticate("POST", "/submit", headers)


def test_lifetime_and_signing_time(tenant: dict[str, Any]) -> None:
    signed_at = time.time() - 3600
    headers = product_request_headers("GET", "/panel", tenant, lifetime=60, now=signed_at)
    with pytest.raises(exc.TokenExpiredError):
        app_verifier(tenant).authenticate("GET", "/panel", headers)
    claims = jwt.decode(
        headers["Authorization"][4:],
        tenant["sharedSecret"],
        ["HS256"],
        options={"verify_exp": False},
    )
    assert (claims["iat"], claims["exp"]) == (int(signed_at), int(signed_at) + 60)


def test_claims_can_be_replaced_or_removed_for_negative_tests(tenant: dict[str, Any]) -> None:
    verifier = app_verifier(tenant)
    bad_qsh = product_request_headers("GET", "/panel", tenant, claims={"qsh": "0" * 64})
    with pytest.raises(exc.QshMismatchError):
        verifier.authenticate("GET", "/panel", bad_qsh)
    no_exp = product_request_headers("GET", "/panel", tenant, claims={"exp": None})
    with pytest.raises(exc.MissingClaimError):
        verifier.authenticate("GET", "/panel", no_exp)
    audience = product_request_headers("GET", "/panel", tenant, claims={"aud": ["x", "y"]})
    assert verifier.authenticate("GET", "/panel", audience).claims["aud"] == ["x", "y"]


def test_encode_token_cannot_play_the_product(tenant: dict[str, Any]) -> None:
    # 3.0.0 suites signed test requests with encode_token; its iss is now the app key, as it
    # must be for calls to the product, so the app rightly refuses such a token.
    url = "/panel?issueKey=ABC-1"
    outbound = atlassian_jwt.encode_token("GET", url, **{**tenant, "baseUrl": "https://x.test"})
    with pytest.raises(exc.UnknownIssuerError):
        app_verifier(tenant).authenticate("GET", url, {"Authorization": f"JWT {outbound}"})
    assert app_verifier(tenant).authenticate(
        "GET", url, product_request_headers("GET", url, tenant)
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"clientKey": ""}, "clientKey"), ({"sharedSecret": None}, "sharedSecret")],
)
def test_tenant_without_key_or_secret(
    tenant: dict[str, Any], changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        sign_product_request("GET", "/panel", {**tenant, **changes})


@pytest.mark.parametrize("lifetime", [0, -5, True, 1.5])
def test_lifetime_must_be_whole_positive_seconds(tenant: dict[str, Any], lifetime: Any) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        sign_product_request("GET", "/panel", tenant, lifetime=lifetime)


def test_every_tenant_gets_fresh_secrets() -> None:
    first, second = make_tenant(), make_tenant()
    for name in ("clientKey", "sharedSecret", "oauthClientId"):
        assert first[name] != second[name]
    # At least 256 bits: PyJWT warns about shorter HMAC keys, and warnings are errors here.
    assert len(first["sharedSecret"].encode()) >= 32
    assert first["eventType"] == "installed" and "installationId" not in first


def test_tenant_fields() -> None:
    confluence = make_tenant(
        base_url="https://example.atlassian.net/wiki",
        app_key="com.example.other",
        installation_id="ari:cloud:ecosystem::installation/1",
        serverVersion="100",
    )
    assert confluence["productType"] == "confluence" and confluence["key"] == "com.example.other"
    assert confluence["installationId"] == "ari:cloud:ecosystem::installation/1"
    assert confluence["serverVersion"] == "100"
    assert make_tenant(shared_secret="s" * 40, client_key="jira:1")["sharedSecret"] == "s" * 40
    assert make_tenant()["productType"] == "jira"
