"""verify_request: the whole invocation, typed and immutable, against Forge's JWKS on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime, timezone
from typing import Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import ForgeInvocation, ForgeInvocationVerifier, ForgeToken
from atlassian_jwt import exceptions as exc
from atlassian_jwt.forge import (
    DEFAULT_MAX_FIT_LENGTH,
    FORGE_REQUIRED_CONTEXT,
    build_product_url,
)
from atlassian_jwt.testing import FORGE_OAUTH_TOKEN_LIFETIME, FakeForgeJWKS, ProductStandIn
from tests.forge.conftest import ACCOUNT

pytestmark = pytest.mark.extras

TRACE_ID = "80f198ee56343ba864fe8b2a57d3eff7"
SPAN_ID = "e457b5a2e4d86bd1"


def exp_of(token: str) -> datetime:
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(claims["exp"], timezone.utc)


def bearer(headers: dict[str, str]) -> str:
    return headers["authorization"].split()[1]


# What the invocation holds.


def test_a_user_invocation_has_its_whole_context(
    forge: FakeForgeJWKS, product: ProductStandIn, verifier: ForgeInvocationVerifier
) -> None:
    headers = forge.invocation_headers(
        account_id=ACCOUNT,
        user_token=True,
        module_key="issue-panel",
        module_type="jira:issuePanel",
        context={"extension": {"issue": {"key": "SP-1"}}, "siteUrl": "https://x.atlassian.net"},
        license=True,
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
    )
    invocation = verifier.verify_request(headers)
    assert isinstance(invocation, ForgeInvocation)
    assert invocation.app_id == forge.app_ari
    assert invocation.installation_id == product.installation_id
    assert invocation.api_base_url == product.forge_api_base_url
    assert invocation.environment_type == "DEVELOPMENT"
    assert invocation.environment_id == forge.environment_id
    assert (invocation.module_key, invocation.module_type) == ("issue-panel", "jira:issuePanel")
    assert invocation.cloud_id == product.cloud_id
    assert invocation.account_id == ACCOUNT
    assert (invocation.trace_id, invocation.span_id) == (TRACE_ID, SPAN_ID)
    assert invocation.app_version == "1.0.0"
    assert invocation.site_url == "https://x.atlassian.net"
    assert invocation.license == {"isActive": True}
    assert invocation.context["extension"] == {"issue": {"key": "SP-1"}}
    assert invocation.claims == verifier.verify(headers)
    fit_exp = datetime.fromtimestamp(invocation.claims["exp"], timezone.utc)
    assert invocation.expires_at == fit_exp
    assert invocation.app_token is not None and invocation.user_token is not None
    assert invocation.app_token.value == headers["x-forge-oauth-system"]
    assert invocation.user_token.value == headers["x-forge-oauth-user"]
    assert invocation.app_token.expires_at == exp_of(headers["x-forge-oauth-system"])
    assert invocation.user_token.expires_at == exp_of(headers["x-forge-oauth-user"])


def test_an_event_has_no_principal_and_tokens_only_when_sent(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    invocation = verifier.verify_request(
        forge.invocation_headers(app_token=False, module_type="core:endpoint")
    )
    assert invocation.account_id is None
    assert invocation.app_token is None and invocation.user_token is None
    assert invocation.module_type == "core:endpoint"


def test_headers_as_asgi_pairs(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> None:
    headers = forge.invocation_headers(trace_id=TRACE_ID)
    pairs = [(name.title().encode(), value.encode()) for name, value in headers.items()]
    invocation = verifier.verify_request(pairs)
    assert invocation.trace_id == TRACE_ID
    assert invocation.app_token is not None
    assert invocation.app_token.value == headers["x-forge-oauth-system"]


@pytest.mark.parametrize("trace_id", ["not-hex", "0" * 31, "0" * 33, "0" * 16 + "\n"])
def test_a_trace_id_that_is_no_b3_id_is_left_out(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, trace_id: str
) -> None:
    headers = forge.invocation_headers(trace_id=trace_id)
    assert verifier.verify_request(headers).trace_id is None


def test_a_token_whose_expiry_cannot_be_read_has_none(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    invocation = verifier.verify_request(forge.invocation_headers(app_token="opaque-token"))
    assert invocation.app_token == ForgeToken("opaque-token", None)


def test_module_key_falls_back_to_the_context(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    headers = forge.invocation_headers(module_key="from-context", app_claims={"module": None})
    invocation = verifier.verify_request(headers)
    assert invocation.module_key == "from-context" and invocation.module_type is None


def test_a_bare_token_has_no_headers_to_read(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    token = forge.sign_invocation()
    for given in (token, f"Bearer {token}", None):
        with pytest.raises(exc.TokenMissingError):
            verifier.verify_request(given)  # type: ignore[arg-type]


# Immutable, and no token in sight.


def test_the_invocation_and_its_claims_are_read_only(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    headers = forge.invocation_headers(context={"list": [1, {"a": 2}]})
    invocation = verifier.verify_request(headers)
    with pytest.raises(dataclasses.FrozenInstanceError):
        invocation.installation_id = "ari:cloud:ecosystem::installation/other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        invocation.claims["app"]["apiBaseUrl"] = "https://evil.example.com"
    with pytest.raises(TypeError):
        invocation.context["list"][1]["a"] = 3
    with pytest.raises(TypeError):
        invocation.claims.update({"principal": "someone-else"})  # type: ignore[attr-defined]
    # Still JSON, the very claims verified; a copy is an ordinary dict to change.
    assert json.loads(json.dumps(invocation.claims)) == verifier.verify(headers)
    copy = dict(invocation.claims)
    copy["principal"] = "changed"
    assert "principal" not in invocation.claims


def test_no_token_in_repr_or_str(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> None:
    headers = forge.invocation_headers(account_id=ACCOUNT, user_token=True)
    invocation = verifier.verify_request(headers)
    secrets = [bearer(headers), headers["x-forge-oauth-system"], headers["x-forge-oauth-user"]]
    assert invocation.app_token is not None and invocation.user_token is not None
    shown = [repr(invocation), str(invocation), repr(invocation.app_token)]
    shown += [str(invocation.user_token), f"{invocation.app_token}"]
    for text in shown:
        for secret in secrets:
            assert secret not in text and secret.rpartition(".")[2] not in text
    assert invocation.installation_id in repr(invocation)
    assert "expires_at=datetime.datetime(" in repr(invocation.app_token)


# The required context.


@pytest.mark.parametrize("member", ["id", "installationId", "apiBaseUrl"])
def test_required_context_missing_is_its_own_rejection(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, member: str
) -> None:
    headers = forge.invocation_headers(app_claims={member: None})
    with pytest.raises(exc.ForgeContextMissingError) as caught:
        verifier.verify_request(headers)
    error = caught.value
    assert isinstance(error, atlassian_jwt.DecodeError)
    assert isinstance(error, jwt.MissingRequiredClaimError)
    assert (error.code, error.claim) == ("forge_context_missing", f"app.{member}")
    assert error.signature_verified is True
    assert f"app.{member}" in FORGE_REQUIRED_CONTEXT
    # verify() keeps accepting what it accepted.
    assert verifier.verify(headers)["iss"] == "forge/invocation-token"


def test_a_token_without_app_misses_app_id(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    with pytest.raises(exc.ForgeContextMissingError) as caught:
        verifier.verify_request(forge.invocation_headers(claims={"app": None}))
    assert caught.value.claim == "app.id"


API = "https://api.atlassian.com/ex/jira/8c1f4a0e-2d3b-4c5d-9e6f-7a8b9c0d1e2f"
# 256 characters: one more than the SQL stores index.
TOO_LONG_INSTALLATION = "ari:cloud:ecosystem::installation/" + "a" * 222


@pytest.mark.parametrize(
    ("app_claims", "claim"),
    [
        ({"apiBaseUrl": API.replace("https:", "http:")}, "app.apiBaseUrl"),
        ({"apiBaseUrl": "ftp://api.atlassian.com/ex/jira/1"}, "app.apiBaseUrl"),
        ({"apiBaseUrl": "https://user:pw@api.atlassian.com/ex/jira/1"}, "app.apiBaseUrl"),
        ({"apiBaseUrl": API + "?x=1"}, "app.apiBaseUrl"),
        ({"apiBaseUrl": API + "#x"}, "app.apiBaseUrl"),
        ({"apiBaseUrl": "/ex/jira/1"}, "app.apiBaseUrl"),
        ({"apiBaseUrl": "https://api.atlassian.com /ex"}, "app.apiBaseUrl"),
        ({"apiBaseUrl": "https://api.atlassian.com\t/ex"}, "app.apiBaseUrl"),
        ({"apiBaseUrl": "http://10.0.0.1/ex/jira/1"}, "app.apiBaseUrl"),
        ({"apiBaseUrl": ["https://api.atlassian.com"]}, "app.apiBaseUrl"),
        ({"apiBaseUrl": ""}, "app.apiBaseUrl"),
        ({"id": "ari:cloud:ecosystem::app/another-app"}, "app.id"),
        ({"id": 42}, "app.id"),
        ({"installationId": TOO_LONG_INSTALLATION}, "app.installationId"),
        ({"installationId": "ari:cloud:ecosystem::installation/a b"}, "app.installationId"),
        ({"installationId": "ari:cloud:ecosystem::installation/\u00e9"}, "app.installationId"),
        ({"installationId": {"id": 1}}, "app.installationId"),
    ],
    ids=repr,
)
def test_unusable_context_is_its_own_rejection(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    app_claims: dict[str, Any],
    claim: str,
) -> None:
    with pytest.raises(exc.ForgeContextInvalidError) as caught:
        verifier.verify_request(forge.invocation_headers(app_claims=app_claims))
    error = caught.value
    assert isinstance(error, atlassian_jwt.DecodeError)
    assert (error.code, error.claim, error.signature_verified) == (
        "forge_context_invalid",
        claim,
        True,
    )


def test_app_that_is_not_an_object_is_unusable(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    with pytest.raises(exc.ForgeContextInvalidError) as caught:
        verifier.verify_request(forge.invocation_headers(claims={"app": "x"}))
    assert caught.value.claim == "app"


def test_plain_http_to_loopback_is_accepted_for_tests(
    forge: FakeForgeJWKS, product: ProductStandIn, verifier: ForgeInvocationVerifier
) -> None:
    assert product.forge_api_base_url.startswith("http://127.0.0.1:")
    assert verifier.verify_request(forge.invocation_headers()).api_base_url.startswith("http://")
    localhost = "http://localhost:8080/ex/jira/1"
    headers = forge.invocation_headers(api_base_url=localhost)
    assert verifier.verify_request(headers).api_base_url == localhost


@pytest.mark.parametrize("header", ["x-forge-oauth-system", "x-forge-oauth-user"])
@pytest.mark.parametrize("value", ["two words", "tok\r\nX-Injected: 1", "ünïcode", "a,b"])
def test_a_token_header_that_is_no_bearer_token_is_refused(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, header: str, value: str
) -> None:
    headers = forge.invocation_headers(account_id=ACCOUNT)
    headers[header] = value
    with pytest.raises(exc.ForgeContextInvalidError) as caught:
        verifier.verify_request(headers)
    assert caught.value.claim == header
    assert value not in str(caught.value) and value not in repr(caught.value)


def test_an_empty_token_header_is_no_token(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    headers = forge.invocation_headers()
    headers["x-forge-oauth-system"] = "  "
    assert verifier.verify_request(headers).app_token is None


def test_a_token_header_longer_than_the_cap_is_refused(forge: FakeForgeJWKS) -> None:
    verifier = ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url, max_token_length=8000)
    headers = forge.invocation_headers(app_token="a" * 8001)
    with pytest.raises(exc.ForgeContextInvalidError) as caught:
        verifier.verify_request(headers)
    assert caught.value.claim == "x-forge-oauth-system"


# Size: large invocation contexts are real.


def fit_of_length(forge: FakeForgeJWKS, length: int) -> str:
    """A genuine FIT of exactly ``length`` characters (or one or two fewer: base64 steps)."""
    base = len(forge.sign_invocation(context={"pad": ""}, now=1e9))
    pad = (length - base) * 3 // 4
    token = forge.sign_invocation(context={"pad": "x" * pad})
    while len(token) < length - 2:
        pad += 1
        token = forge.sign_invocation(context={"pad": "x" * pad})
    while len(token) > length:
        pad -= 1
        token = forge.sign_invocation(context={"pad": "x" * pad})
    return token


def test_a_16_kib_invocation_is_accepted_and_a_longer_one_refused_before_decoding(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    assert DEFAULT_MAX_FIT_LENGTH == 16 * 1024
    token = fit_of_length(forge, 16 * 1024)
    assert 16 * 1024 - 2 <= len(token) <= 16 * 1024
    headers = {**forge.invocation_headers(), "authorization": f"Bearer {token}"}
    assert len(verifier.verify_request(headers).context["pad"]) > 11_000
    longer = fit_of_length(forge, 16 * 1024 + 40)
    assert len(longer) > 16 * 1024
    with pytest.raises(exc.TokenTooLargeError) as caught:
        verifier.verify_request({**headers, "authorization": f"Bearer {longer}"})
    assert caught.value.max_length == 16 * 1024 and caught.value.code == "token_too_large"


def test_the_cap_is_configurable(forge: FakeForgeJWKS) -> None:
    verifier = ForgeInvocationVerifier(
        forge.app_id, jwks_url=forge.jwks_url, max_token_length=64 * 1024
    )
    token = fit_of_length(forge, 40 * 1024)
    invocation = verifier.verify_request({"Authorization": f"Bearer {token}"})
    assert len(json.dumps(invocation.context)) > 28_000


# Product URLs.


@pytest.mark.parametrize(
    ("path", "params", "url"),
    [
        ("/rest/api/3/myself", None, f"{API}/rest/api/3/myself"),
        ("/wiki/rest/api/space", {"limit": 10}, f"{API}/wiki/rest/api/space?limit=10"),
        ("/rest/api/3/search?jql=a", {"f": ["x", "y"]}, f"{API}/rest/api/3/search?jql=a&f=x&f=y"),
        ("/rest/api/3/issue/A-1", {"q": "a b&c"}, f"{API}/rest/api/3/issue/A-1?q=a+b%26c"),
        ("/rest/api/3/issue/a%2Fb", None, f"{API}/rest/api/3/issue/a%2Fb"),
        ("/rest/...x/..y", None, f"{API}/rest/...x/..y"),
        ("/", None, f"{API}/"),
    ],
)
def test_product_url(path: str, params: Any, url: str) -> None:
    assert build_product_url(API, path, params) == url
    assert build_product_url(API + "/", path, params) == url


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example.com/rest/api/3/myself",
        "//evil.example.com/rest",
        "rest/api/3/myself",
        "",
        "/../ex/jira/another-cloud/rest/api/3/myself",
        "/rest/../../ex/jira/x",
        "/rest/./api",
        "/rest/%2e%2e/%2E%2E/ex",
        "/rest/..;/x",
        "/rest/%2e%2e;jsessionid=1/x",
        "/rest\\..\\x",
        "/rest/api 3",
        "/rest/\t",
        "/rest/api#frag",
        "/rest/\x00",
        "/..",
    ],
)
def test_product_url_refuses_what_would_leave_the_api_base_url(path: str) -> None:
    with pytest.raises(ValueError):
        build_product_url(API, path)


def test_the_invocations_product_url_is_its_api_base_url_and_the_path(
    forge: FakeForgeJWKS, product: ProductStandIn, verifier: ForgeInvocationVerifier
) -> None:
    invocation = verifier.verify_request(forge.invocation_headers())
    assert invocation.product_url("/rest/api/3/myself") == (
        product.forge_api_base_url + "/rest/api/3/myself"
    )
    with pytest.raises(ValueError):
        invocation.product_url(product.url + "/rest/api/3/myself")


# ForgeToken.


def test_forge_token_expiry_with_a_margin() -> None:
    now = float(int(time.time()))  # whole seconds: exact through a datetime
    token = ForgeToken("t", datetime.fromtimestamp(now + 60, timezone.utc))
    assert not token.expired(now=now) and not token.expired(margin=59, now=now)
    assert token.expired(margin=60, now=now) and token.expired(margin=0, now=now + 60)
    assert not ForgeToken("t", None).expired(now=now + 10**9)


def test_forge_token_from_a_header() -> None:
    value = jwt.encode({"exp": 2_000_000_000}, "k" * 32, algorithm="HS256")
    assert ForgeToken.from_header(value).expires_at == datetime(
        2033, 5, 18, 3, 33, 20, tzinfo=timezone.utc
    )
    assert ForgeToken.from_header("not.a.jwt").expires_at is None
    big_exp = jwt.encode({"exp": 10**20}, "k" * 32, algorithm="HS256")
    assert ForgeToken.from_header(big_exp).expires_at is None
    text_exp = jwt.encode({"exp": "2000000000"}, "k" * 32, algorithm="HS256")
    assert ForgeToken.from_header(text_exp).expires_at is None
    with pytest.raises(ValueError) as caught:
        ForgeToken.from_header("secret value")
    assert "secret value" not in str(caught.value)
    with pytest.raises(ValueError):
        ForgeToken.from_header(value, max_length=len(value) - 1)


def test_the_kit_tokens_last_as_long_as_it_says(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier
) -> None:
    before = time.time()
    invocation = verifier.verify_request(forge.invocation_headers())
    assert invocation.app_token is not None and invocation.app_token.expires_at is not None
    left = invocation.app_token.expires_at.timestamp() - before
    assert FORGE_OAUTH_TOKEN_LIFETIME - 2 <= left <= FORGE_OAUTH_TOKEN_LIFETIME + 1
