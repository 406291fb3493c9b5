"""The fake Forge JWKS: invocation tokens and headers as Forge sends them, verified by the app."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jwt
import pytest

from atlassian_jwt import ForgeInvocationVerifier
from atlassian_jwt import exceptions as exc
from atlassian_jwt.forge import FORGE_ISSUER
from atlassian_jwt.testing import (
    FORGE_INVOCATION_LIFETIME,
    FORGE_OAUTH_TOKEN_LIFETIME,
    FakeForgeJWKS,
    ProductStandIn,
    new_rsa_key,
)
from tests.support import ACCOUNT

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

# Needs cryptography, imported by the kit only when a key is made.
pytestmark = pytest.mark.extras


@pytest.fixture(scope="module")
def rsa_key() -> RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def forge(rsa_key: RSAPrivateKey) -> Iterator[FakeForgeJWKS]:
    with FakeForgeJWKS(private_key=rsa_key) as server:
        yield server


@pytest.fixture
def verifier(forge: FakeForgeJWKS) -> ForgeInvocationVerifier:
    return ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url, timeout=2)


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    with ProductStandIn() as product:
        yield product


def unverified(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def call(url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_user_invocation_verifies(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> None:
    claims = verifier.verify(forge.invocation_headers(account_id=ACCOUNT))
    assert claims["iss"] == FORGE_ISSUER and claims["aud"] == forge.app_ari
    assert claims["principal"] == ACCOUNT
    assert claims["exp"] - claims["iat"] == FORGE_INVOCATION_LIFETIME
    assert claims["nbf"] == claims["iat"] and claims["jti"]
    assert claims["app"] == {
        "id": forge.app_ari,
        "installationId": forge.installation_id,
        "apiBaseUrl": f"https://api.atlassian.com/ex/jira/{forge.cloud_id}",
        "appVersion": "1.0.0",
        "environment": {"type": "DEVELOPMENT", "id": forge.environment_id},
        "module": {"key": "remote-endpoint", "type": "core:endpoint"},
    }
    assert claims["context"] == {"cloudId": forge.cloud_id, "moduleKey": "remote-endpoint"}


def test_identifiers_have_atlassians_shapes(forge: FakeForgeJWKS) -> None:
    uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(f"ari:cloud:ecosystem::app/{uuid}", forge.app_ari)
    assert re.fullmatch(f"ari:cloud:ecosystem::installation/{uuid}", forge.installation_id)
    assert (
        forge.environment_id
        == f"ari:cloud:ecosystem::environment/{forge.app_id}/"
        + (forge.environment_id.rsplit("/", 1)[1])
    )
    assert re.fullmatch(uuid, forge.cloud_id)


def test_event_invocation_has_no_principal(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    claims = verifier.verify(forge.invocation_headers(module_key="issue-created-handler"))
    assert "principal" not in claims
    assert claims["app"]["module"]["key"] == claims["context"]["moduleKey"]


def test_remote_contract_headers(forge: FakeForgeJWKS) -> None:
    headers = forge.invocation_headers(account_id=ACCOUNT, user_token=True)
    assert set(headers) == {
        "authorization",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-forge-oauth-system",
        "x-forge-oauth-user",
    }
    assert headers["authorization"].startswith("Bearer ey")
    assert re.fullmatch("[0-9a-f]{32}", headers["x-b3-traceid"])
    assert re.fullmatch("[0-9a-f]{16}", headers["x-b3-spanid"])
    for name in ("x-forge-oauth-system", "x-forge-oauth-user"):
        claims = unverified(headers[name])
        assert claims["exp"] - claims["iat"] == FORGE_OAUTH_TOKEN_LIFETIME
        assert abs(claims["iat"] - time.time()) < 5
    assert unverified(headers["x-forge-oauth-user"])["sub"] == ACCOUNT
    assert headers["x-forge-oauth-system"] != headers["x-forge-oauth-user"]


def test_tokens_only_when_asked(forge: FakeForgeJWKS) -> None:
    assert "x-forge-oauth-system" not in forge.invocation_headers(app_token=False)
    assert "x-forge-oauth-user" not in forge.invocation_headers(account_id=ACCOUNT)
    given = forge.invocation_headers(
        app_token="given-app-token", trace_id="a" * 32, span_id="b" * 16
    )
    assert given["x-forge-oauth-system"] == "given-app-token"
    assert (given["x-b3-traceid"], given["x-b3-spanid"]) == ("a" * 32, "b" * 16)
    with pytest.raises(ValueError, match="account_id"):
        forge.invocation_headers(user_token=True)


def test_token_lifetimes_follow_the_signing_time(forge: FakeForgeJWKS) -> None:
    signed_at = 1_700_000_000
    headers = forge.invocation_headers(
        account_id=ACCOUNT, user_token=True, now=signed_at, token_lifetime=60, lifetime=30
    )
    assert unverified(headers["authorization"][7:])["exp"] == signed_at + 30
    assert unverified(headers["x-forge-oauth-user"])["exp"] == signed_at + 60


def test_license_environment_module_and_context(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    big = {"extension": {"type": "jira:issuePanel", "issue": {"key": "ABC-1"}}, "x": "y" * 8000}
    token = forge.sign_invocation(
        license=True,
        environment_type="PRODUCTION",
        module_key="issue-panel",
        module_type="jira:issuePanel",
        context=big,
    )
    assert len(token) > 8192  # large contexts are real; the verifier takes up to 16 KiB
    claims = verifier.verify(token)
    assert claims["app"]["license"] == {"isActive": True}
    assert claims["app"]["environment"]["type"] == "PRODUCTION"
    assert claims["app"]["module"] == {"key": "issue-panel", "type": "jira:issuePanel"}
    assert claims["context"]["extension"]["issue"] == {"key": "ABC-1"}
    inactive = verifier.verify(forge.sign_invocation(license={"isActive": False, "type": "x"}))
    assert inactive["app"]["license"] == {"isActive": False, "type": "x"}


def test_invocations_from_a_stand_in_site(rsa_key: RSAPrivateKey, jira: ProductStandIn) -> None:
    with FakeForgeJWKS(product=jira, private_key=rsa_key) as forge:
        verifier = ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)
        headers = forge.invocation_headers(account_id=ACCOUNT, user_token=True)
        claims = verifier.verify(headers)
    api = claims["app"]["apiBaseUrl"]
    assert api == jira.forge_api_base_url and claims["context"]["cloudId"] == jira.cloud_id
    assert call(f"{api}/rest/api/3/myself", headers["x-forge-oauth-user"])[1]["accountId"] == (
        ACCOUNT
    )
    status, answer = call(f"{api}/rest/api/3/project", headers["x-forge-oauth-system"])
    assert (status, answer["auth"]) == (200, "forge-system")
    assert [request.auth for request in jira.requests] == ["forge-user", "forge-system"]


def test_tokens_the_site_did_not_issue_are_refused(
    forge: FakeForgeJWKS, jira: ProductStandIn
) -> None:
    headers = forge.invocation_headers()  # no stand-in: the fake's own tokens
    status, answer = call(
        f"{jira.forge_api_base_url}/rest/api/3/myself", headers["x-forge-oauth-system"]
    )
    assert (status, answer["code"]) == (401, "unknown_bearer_token")


def test_connect_on_forge_installation_id(rsa_key: RSAPrivateKey) -> None:
    installation = "ari:cloud:ecosystem::installation/5f1c7e7e-1111-4222-8333-944455556666"
    with ProductStandIn(installation_id=installation) as jira:
        assert jira.tenant["installationId"] == installation
        forge = FakeForgeJWKS(product=jira, private_key=rsa_key)
        assert unverified(forge.sign_invocation())["app"]["installationId"] == installation


def test_rotation_is_picked_up_by_the_verifier(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, rsa_key: RSAPrivateKey
) -> None:
    old = forge.kid
    assert verifier.verify(forge.sign_invocation())
    new = forge.rotate(new_rsa_key())
    assert [key["kid"] for key in forge.jwks()["keys"]] == [old, new]
    assert verifier.verify(forge.sign_invocation())  # an unknown kid refreshes the key set
    assert verifier.verify(forge.sign_invocation(kid=old))
    assert forge.hits == {"/.well-known/jwks.json": 2}
    forge.remove_key(old)
    assert [key["kid"] for key in forge.jwks()["keys"]] == [new]


def test_served_key_set(forge: FakeForgeJWKS) -> None:
    with urllib.request.urlopen(forge.jwks_url) as response:
        assert response.headers["Content-Type"] == "application/json"
        served = json.loads(response.read())
    assert served == forge.jwks()
    (key,) = served["keys"]
    assert (key["kty"], key["kid"], key["alg"], key["use"]) == ("RSA", forge.kid, "RS256", "sig")
    assert "d" not in key  # the public half only


def test_another_apps_token_is_refused(
    rsa_key: RSAPrivateKey, forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    other_app = FakeForgeJWKS(private_key=rsa_key, kid=forge.kid)  # same key, another app
    with pytest.raises(exc.InvalidAudienceError):
        verifier.verify(other_app.sign_invocation())


def test_another_key_is_refused(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> None:
    forger = FakeForgeJWKS(forge.app_ari, private_key=new_rsa_key(), kid=forge.kid)
    assert forger.app_id == forge.app_id
    with pytest.raises(exc.InvalidSignatureError):
        verifier.verify(forger.sign_invocation())


def test_expired_invocation(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> None:
    with pytest.raises(exc.TokenExpiredError):
        verifier.verify(forge.sign_invocation(now=time.time() - 3600))


def test_claims_can_be_replaced_or_removed(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    with pytest.raises(exc.InvalidIssuerError):
        verifier.verify(forge.sign_invocation(claims={"iss": "someone-else"}))
    with pytest.raises(exc.MissingClaimError):
        verifier.verify(forge.sign_invocation(claims={"exp": None}))
    app = verifier.verify(
        forge.sign_invocation(app_claims={"installationId": None, "appVersion": "2.0.0"})
    )["app"]
    assert "installationId" not in app and app["appVersion"] == "2.0.0"
    assert app["apiBaseUrl"] and app["id"] == forge.app_ari


def test_key_set_outage(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> None:
    forge.respond("GET", "/.well-known/jwks.json", status=503)
    with pytest.raises(exc.KeyFetchError):
        verifier.verify(forge.sign_invocation())


def test_misuse_is_a_clear_error(forge: FakeForgeJWKS, rsa_key: RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="environment_type"):
        FakeForgeJWKS(private_key=rsa_key, environment_type="production")
    with pytest.raises(ValueError, match="environment_type"):
        forge.sign_invocation(environment_type="TEST")
    with pytest.raises(ValueError, match="exists already"):
        forge.rotate(rsa_key, kid=forge.kid)
    with pytest.raises(ValueError, match="empty"):
        forge.rotate(rsa_key, kid="")
    with pytest.raises(KeyError):
        forge.sign_invocation(kid="no-such-kid")
    with pytest.raises(ValueError, match="lifetime"):
        forge.sign_invocation(lifetime=0)
    with pytest.raises(RuntimeError, match="with block"):
        FakeForgeJWKS(private_key=rsa_key).jwks_url  # noqa: B018


def test_event_deliveries_as_forge_posts_them(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    headers, body = forge.event_delivery("avi:jira:created:issue", {"issue": {"key": "A-1"}})
    assert headers["content-type"] == "application/json"
    claims = verifier.verify(headers)
    assert "principal" not in claims and claims["app"]["module"]["type"] == "core:endpoint"
    assert "x-forge-oauth-user" not in headers and headers["x-forge-oauth-system"]
    assert json.loads(body) == {
        "payload": {"eventType": "avi:jira:created:issue", "issue": {"key": "A-1"}}
    }
    _, retried = forge.event_delivery(
        "avi:jira:created:issue", retry_count=2, retry_reason="TIMEOUT_ERROR", wrapped=False
    )
    assert json.loads(retried) == {
        "eventType": "avi:jira:created:issue",
        "retryContext": {"retryCount": 2, "retryReason": "TIMEOUT_ERROR", "retryData": None},
    }


def test_scheduled_trigger_deliveries_name_the_trigger_and_the_site(
    rsa_key: RSAPrivateKey, jira: ProductStandIn
) -> None:
    with FakeForgeJWKS(product=jira, private_key=rsa_key) as forge:
        headers, body = forge.scheduled_trigger_delivery("hourly")
        first = json.loads(body)["payload"]
        second = json.loads(forge.scheduled_trigger_delivery("hourly")[1])["payload"]
    assert first["context"] == {"cloudId": jira.cloud_id, "moduleKey": "hourly"}
    assert first["contextToken"] != second["contextToken"]
    assert unverified(headers["authorization"].split()[1])["context"]["cloudId"] == jira.cloud_id
