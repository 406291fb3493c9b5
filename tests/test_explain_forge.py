"""What :mod:`atlassian_jwt.explain` says of a Forge call: :class:`ForgeContext` read from the
claims as :class:`ForgeInvocation` reads them, :func:`forge_facts` on the ``x-forge-oauth-*``
tokens, and the context check ``explain_token`` makes when given the headers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import pytest

from atlassian_jwt import DecodeError, ForgeInvocationVerifier
from atlassian_jwt.explain import explain_token, forge_facts
from atlassian_jwt.forge import (
    DEFAULT_EXPIRY_MARGIN,
    DEFAULT_MAX_FIT_LENGTH,
    ForgeContext,
    ForgeInvocation,
)
from atlassian_jwt.testing import FakeForgeJWKS, FrozenClock, ProductStandIn
from atlassian_jwt.tokens import decode_unverified

pytestmark = pytest.mark.extras

ACCOUNT_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    with ProductStandIn(installation_id="ari:cloud:ecosystem::installation/1") as site:
        yield site


@pytest.fixture
def forge(jira: ProductStandIn) -> Iterator[FakeForgeJWKS]:
    with FakeForgeJWKS(product=jira) as fake:
        yield fake


def claims_of(token: str) -> dict[str, Any]:
    return decode_unverified(token.removeprefix("Bearer "), DEFAULT_MAX_FIT_LENGTH)[1]


@pytest.mark.parametrize(
    "options",
    [
        {"account_id": ACCOUNT_ID, "context": {"siteUrl": "https://example.atlassian.net"}},
        {"module_key": "hourly-sync", "app_claims": {"module": None}},  # context.moduleKey
        {"app_claims": {"environment": "not an object", "appVersion": ""}},
    ],
)
def test_the_context_is_what_the_verified_invocation_says(
    forge: FakeForgeJWKS, options: dict[str, Any]
) -> None:
    verifier = ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)
    headers = forge.invocation_headers(**options)
    invocation = verifier.verify_request(headers)
    context = ForgeContext.from_claims(claims_of(headers["authorization"]))
    for field in fields(ForgeContext):
        assert getattr(context, field.name) == getattr(invocation, field.name), field.name


def test_the_context_of_claims_without_it_is_none() -> None:
    context = ForgeContext.from_claims({"app": ["not", "an", "object"], "principal": 7})
    assert all(getattr(context, field.name) is None for field in fields(ForgeContext))


def test_forge_facts_read_each_oauth_token_without_holding_it(
    forge: FakeForgeJWKS, jira: ProductStandIn
) -> None:
    with FrozenClock() as clock:
        headers = forge.invocation_headers(account_id=ACCOUNT_ID, user_token=True)
        headers["x-forge-oauth-system"] = jira.issue_forge_token(lifetime=600)
        facts = forge_facts(claims_of(headers["authorization"]), headers)
        system, user = facts.tokens
        assert (system.header, system.present, system.sendable) == (
            "x-forge-oauth-system",
            True,
            True,
        )
        assert system.expiry is not None and system.expiry.seconds_from_now == 600
        assert user.expiry is not None and user.expiry.relative == "expires in 15 min"
        assert facts.context.account_id == ACCOUNT_ID
        for value in (headers["x-forge-oauth-system"], headers["x-forge-oauth-user"]):
            assert value not in repr(facts)

        # Within ForgeAuth's margin of its expiry, a token is one it will not send.
        clock.advance(600 - DEFAULT_EXPIRY_MARGIN)
        system = forge_facts({}, headers).tokens[0]
        assert (system.sendable, system.expiry and system.expiry.relative) == (
            False,
            f"expires in {DEFAULT_EXPIRY_MARGIN:g} s",
        )
        assert "ForgeAuth will not send it" in system.detail


def test_forge_facts_without_headers_or_tokens() -> None:
    assert forge_facts({}).tokens == ()
    absent, blank = forge_facts({}, {"x-forge-oauth-user": "  "}).tokens
    assert (absent.present, blank.present) == (False, False)
    assert "appSystemToken" in absent.detail and "appUserToken" in blank.detail
    [bad, _] = forge_facts({}, {"x-forge-oauth-system": "two words"}).tokens
    assert (bad.present, bad.sendable, bad.expiry) == (True, False, None)
    assert "two words" not in bad.detail and "not a bearer token" in bad.detail


def test_explain_with_headers_checks_the_context_as_verify_request_does(
    forge: FakeForgeJWKS,
) -> None:
    verifier = ForgeInvocationVerifier(forge.app_id, jwks_url=forge.jwks_url)
    cases: dict[str | None, dict[str, Any]] = {
        None: {},
        "forge_context_missing": {"app_claims": {"apiBaseUrl": None}},
        "forge_context_invalid": {"app_claims": {"id": "ari:cloud:ecosystem::app/another"}},
    }
    for code, options in cases.items():
        headers = forge.invocation_headers(**options)
        token = headers["authorization"].removeprefix("Bearer ")
        explanation = explain_token("POST", "/forge/summary", token, headers=headers)
        context = next(check for check in explanation.checks if check.name == "context")
        assert (context.status, context.code, explanation.verdict.code) == (
            "ok" if code is None else "fail",
            code,
            code,
        )
        # The verdict is the verifier's own.
        try:
            verifier.verify_request(headers)
        except DecodeError as error:
            assert getattr(error, "code", None) == code
        else:
            assert code is None
        # Without the headers there is no context check: verify() makes none.
        bare = explain_token("POST", "/forge/summary", token)
        assert "context" not in [check.name for check in bare.checks] and bare.verdict.valid
        assert bare.forge is not None and bare.forge.tokens == ()


def test_a_connect_token_has_no_forge_facts(jira: ProductStandIn) -> None:
    from atlassian_jwt.testing import sign_product_request

    token = sign_product_request("GET", "/page", jira.tenant, now=time.time())
    assert explain_token("GET", "/page", token, headers={}).forge is None
    assert ForgeInvocation.__dataclass_fields__.keys() >= {f.name for f in fields(ForgeContext)}
