"""``atlassian_jwt.explain``: a typed explanation built from the verifiers' own rules.

The command line prints what :func:`explain_token` returns (``test_cli.py`` runs it through
``atlassian-jwt explain``); the tests here hold the library to the verifiers: the same
rules, the same verdict, the same order.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

import atlassian_jwt
from atlassian_jwt import authenticate, forge, install
from atlassian_jwt import exceptions as exc
from atlassian_jwt.explain import Explanation, explain_token, rules_for, token_kind
from atlassian_jwt.url_utils import hash_url
from tests.support import CLIENT_KEY, SECRET, StoreAuthenticator
from tests.test_cli import token_for, unsigned

NOW = int(time.time())
URL = "/page?b=2&a=1"
CANONICAL = "GET&/page&a=1&b=2"


def token(canonical: str | None = CANONICAL, **claims: Any) -> str:
    return token_for(canonical, **claims)


def checks(explanation: Explanation) -> dict[str, tuple[str, str | None]]:
    return {check.name: (check.status, check.code) for check in explanation.checks}


@pytest.fixture
def secret_authenticator() -> StoreAuthenticator:
    return StoreAuthenticator({CLIENT_KEY: {"sharedSecret": SECRET}})


# The rules are the verifiers' own.


def test_rules_are_read_from_the_verifiers() -> None:
    request = token_kind({"alg": "HS256"}, {"qsh": "0" * 64})
    installed = token_kind({"alg": "RS256", "kid": "k"}, {"qsh": "0" * 64})
    fit = token_kind({"alg": "RS256"}, {"iss": forge.FORGE_ISSUER})
    assert rules_for(request).required_claims is authenticate.REQUIRED_CLAIMS
    assert rules_for(request).leeway == authenticate.DEFAULT_LEEWAY
    assert rules_for(request).algorithms == authenticate.DEFAULT_ALGORITHMS
    assert rules_for(installed).required_claims is install.INSTALL_REQUIRED_CLAIMS
    assert rules_for(installed).leeway == install.DEFAULT_INSTALL_LEEWAY
    assert rules_for(fit).required_claims is forge.FORGE_REQUIRED_CLAIMS
    assert rules_for(fit).max_token_length == forge.DEFAULT_MAX_FIT_LENGTH
    custom = StoreAuthenticator({}, algorithms=("HS256", "HS512"), leeway=5, max_token_length=500)
    rules = rules_for(request, custom)
    assert (rules.algorithms, rules.leeway, rules.max_token_length) == (("HS256", "HS512"), 5, 500)


def test_a_leeway_set_on_the_authenticator_is_the_one_applied(
    secret_authenticator: StoreAuthenticator,
) -> None:
    expired = token(exp=NOW - 300)
    assert explain_token("GET", URL, expired).verdict.code == "token_expired"
    lenient = StoreAuthenticator({CLIENT_KEY: {"sharedSecret": SECRET}}, leeway=600)
    assert explain_token("GET", URL, expired, authenticator=lenient).verdict.valid


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"exp": NOW - 3600},
        {"iat": NOW + 3600},
        {"nbf": NOW + 3600},
        {"exp": None},
        {"qsh": None},
        {"iss": 7},
        {"iss": None, "exp": "soon"},
        {"iat": "1700000000"},
        {"exp": True, "iat": NOW + 3600},
        {"exp": NOW - 3600, "iat": NOW + 3600},
        {"alg": "HS384"},
        {"alg": "HS384", "iss": 7},
        {"alg": "HS384", "exp": NOW - 3600},
        {"qsh": "context-qsh"},
        {"qsh": hash_url("GET", "/elsewhere")},
        {"qsh": hash_url("GET", "/elsewhere"), "exp": NOW - 3600},
        {"aud": "someone"},
    ],
)
def test_without_a_secret_the_verdict_is_the_authenticators_but_for_the_signature(
    claims: dict[str, Any], secret_authenticator: StoreAuthenticator
) -> None:
    # Signed with the right secret, the Authenticator's verdict is the first failure after
    # the signature; explain without the secret must find the same one, in the same order.
    signed = token(**claims)
    try:
        secret_authenticator.authenticate("GET", URL, {"Authorization": f"JWT {signed}"})
    except exc.TokenRejectedError as error:
        expected: str | None = error.code
    else:
        expected = None
    assert explain_token("GET", URL, signed).verdict.code == expected
    with_secret = explain_token("GET", URL, signed, authenticator=secret_authenticator)
    assert with_secret.verdict.code == expected


# The signature, and whether a rejection came after it.


def test_the_signature_is_ok_when_a_later_check_fails(
    secret_authenticator: StoreAuthenticator,
) -> None:
    explanation = explain_token(
        "GET", URL, token(exp=NOW - 3600), authenticator=secret_authenticator
    )
    assert checks(explanation)["signature"] == ("ok", None)
    assert checks(explanation)["exp"] == ("fail", "token_expired")
    assert explanation.signature_verified and explanation.verdict.code == "token_expired"


def test_an_unknown_issuer_stops_before_the_signature() -> None:
    other = StoreAuthenticator({"someone-else": {"sharedSecret": SECRET}})
    explanation = explain_token("GET", URL, token(), authenticator=other)
    assert checks(explanation)["signature"] == ("skipped", "unknown_issuer")
    assert not explanation.signature_verified
    assert [cause.code for cause in explanation.causes] == ["issuer_not_given"]


@pytest.mark.parametrize(
    ("signed_with", "given", "cause"),
    [
        (SECRET, f"{SECRET}\n ", "secret_has_whitespace"),
        (SECRET, f'"{SECRET}"', "secret_quoted"),
        (f'"{SECRET}"', SECRET, "signer_secret_quoted"),
        (f"{SECRET}\n", SECRET, "signer_secret_has_line_end"),
        (b"\x8a" * 48, base64.b64encode(b"\x8a" * 48).decode(), "signer_decoded_secret"),
        ("another-secret-of-another-tenant-long-enough-for-hs256", SECRET, "another_secret"),
    ],
)
def test_a_wrong_secret_gets_its_likely_cause(
    signed_with: str | bytes, given: str, cause: str
) -> None:
    authenticator = StoreAuthenticator({CLIENT_KEY: {"sharedSecret": given}})
    explanation = explain_token("GET", URL, token(secret=signed_with), authenticator=authenticator)
    assert checks(explanation)["signature"] == ("fail", "invalid_signature")
    assert explanation.verdict.code == "invalid_signature"
    assert not explanation.signature_verified
    assert [c.code for c in explanation.causes] == [cause]


# Tokens a shared secret cannot verify.


def test_an_install_token_is_not_checked_with_a_shared_secret(
    secret_authenticator: StoreAuthenticator,
) -> None:
    now = int(time.time())  # not NOW: a loaded machine may reach this test minutes after import
    claims = {"iss": CLIENT_KEY, "iat": now, "exp": now + 600, "aud": "https://app.example.com"}
    installed = unsigned(
        {"alg": "RS256", "kid": "k"}, {**claims, "qsh": hash_url("POST", "/installed")}
    )
    for authenticator in (None, secret_authenticator):
        explanation = explain_token("POST", "/installed", installed, authenticator=authenticator)
        assert explanation.kind.name == "install"
        signature = next(c for c in explanation.checks if c.name == "signature")
        assert signature.status == "skipped"
        assert "a shared secret cannot verify" in signature.detail
        assert "InstallAuthenticator" in signature.detail
        assert explanation.verdict.valid
    without_aud = unsigned({"alg": "RS256", "kid": "k"}, {"qsh": "0" * 64, "iss": CLIENT_KEY})
    explanation = explain_token("POST", "/installed", without_aud)
    assert checks(explanation)["claims"] == ("fail", "missing_claim")
    assert "aud" in next(c for c in explanation.checks if c.name == "claims").detail


def test_a_forge_token_is_not_checked_with_a_shared_secret() -> None:
    fit = unsigned(
        {"alg": "RS256", "kid": "k"},
        {"iss": forge.FORGE_ISSUER, "aud": "ari:cloud:ecosystem::app/1", "exp": time.time() + 600},
    )
    explanation = explain_token("POST", "/run", fit)
    signature = next(c for c in explanation.checks if c.name == "signature")
    assert "a shared secret cannot verify" in signature.detail
    assert explanation.qsh is None and explanation.verdict.valid


def test_a_token_longer_than_its_verifier_allows_is_refused() -> None:
    long_token = token(note="x" * 9000)
    with pytest.raises(exc.TokenTooLargeError) as caught:
        explain_token("GET", URL, long_token)
    assert caught.value.max_length == atlassian_jwt.tokens.DEFAULT_MAX_TOKEN_LENGTH


# The qsh: the diagnoses, and a body the route hashes.


def test_a_body_the_route_hashes_is_part_of_the_request() -> None:
    body = "c=3"
    hashed = token("POST&/page&a=1&b=2&c=3")
    assert explain_token("POST", URL, hashed, body=body, body_hashed=True).verdict.valid
    left_out = explain_token("POST", URL, token("POST&/page&a=1&b=2"), body=body, body_hashed=True)
    assert left_out.qsh is not None
    assert [d.codes for d in left_out.qsh.diagnoses] == [("form_body_omitted",)]


def test_a_qsh_for_another_request_names_no_mistake_but_says_so() -> None:
    explanation = explain_token("GET", URL, token("GET&/elsewhere&z=9"))
    assert explanation.qsh is not None and explanation.qsh.diagnoses == ()
    assert [cause.code for cause in explanation.causes] == ["signed_for_another_request"]


def test_explanations_are_immutable() -> None:
    explanation = explain_token("GET", URL, token())
    with pytest.raises(AttributeError):
        explanation.verdict = explanation.verdict  # type: ignore[misc]
