"""Forge invocation tokens, against a JWKS server on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import ForgeInvocationVerifier, HTTPRequest, HTTPResponse, Transport
from atlassian_jwt.forge import DEFAULT_MAX_JWKS_BYTES, FORGE_ISSUER
from atlassian_jwt.testing import FakeForgeJWKS, Reply, new_rsa_key, refused_url
from tests.httpx_libraries import TRANSPORT_NAMES, transport_named
from tests.trickle import TrickleServer

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# Needs cryptography, imported lazily so that the module is still collected without it.
pytestmark = pytest.mark.extras

APP_ID = "8db8e2c8-1b2d-4f3e-9a6b-0c1d2e3f4a5b"
APP_ARI = f"ari:cloud:ecosystem::app/{APP_ID}"
KID = "forge/invocation-token/2024-01"  # JWKS kids are only looked up, never put in a URL
JWKS_PATH = "/.well-known/jwks.json"
# A hang guard, not a speed check: a download that outlived its timeout (0.5 s) shows here,
# while the stalling faults below stall for 4 s or more.
HANG = 3.0


@pytest.fixture(scope="module")
def forge_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


def jwks(*keys: tuple[str, Any]) -> bytes:
    entries = []
    for kid, key in keys:
        entry = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        entries.append({**entry, "kid": kid, "use": "sig", "alg": "RS256"})
    return json.dumps({"keys": entries}).encode()


@pytest.fixture
def server(forge_key: Any) -> Iterator[FakeForgeJWKS]:
    """Forge's key set on 127.0.0.1, publishing ``forge_key`` as ``KID``."""
    with FakeForgeJWKS(APP_ID, private_key=forge_key, kid=KID) as key_set:
        assert key_set.jwks_url == key_set.url + JWKS_PATH
        yield key_set


@pytest.fixture
def forge(server: FakeForgeJWKS) -> ForgeInvocationVerifier:
    # Its key set downloads succeed (the faults below make verifiers of 0.5 s): a timeout far
    # beyond a local reply's, however loaded the machine.
    return ForgeInvocationVerifier(APP_ID, jwks_url=server.url + JWKS_PATH, timeout=10)


def fit(key: Any, *, kid: str | None = KID, algorithm: str = "RS256", **claims: Any) -> str:
    """An invocation token as Forge issues it; claims=None leaves a claim out."""
    now = int(time.time())
    payload = {
        "iss": FORGE_ISSUER,
        "aud": APP_ARI,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": "4b8e1c5a-0d7f-4a3b-8e2c-9f1a6b7c8d9e",
        "app": {"id": APP_ARI, "installationId": "ari:cloud:ecosystem::installation/1"},
        "context": {"cloudId": "c0ffee"},
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def test_valid_fit(forge: ForgeInvocationVerifier, forge_key: Any, server: FakeForgeJWKS) -> None:
    claims = forge.verify({"Authorization": f"Bearer {fit(forge_key)}"})
    assert claims["aud"] == APP_ARI and claims["context"] == {"cloudId": "c0ffee"}
    # The key set is cached: a second token costs no fetch.
    assert forge.verify(fit(forge_key))["iss"] == FORGE_ISSUER
    assert server.hits == {JWKS_PATH: 1}


@pytest.mark.parametrize(
    "given",
    [
        lambda token: token,
        lambda token: f"Bearer {token}",
        lambda token: [(b"authorization", f"bearer {token}".encode())],
        lambda token: {"AUTHORIZATION": f"BEARER {token}"},
    ],
    ids=["bare", "bearer-string", "asgi-pairs", "upper-case"],
)
def test_token_forms(forge: ForgeInvocationVerifier, forge_key: Any, given: Any) -> None:
    assert forge.verify(given(fit(forge_key)))["aud"] == APP_ARI


def test_app_id_given_as_ari(server: FakeForgeJWKS, forge_key: Any) -> None:
    forge = ForgeInvocationVerifier(APP_ARI, jwks_url=server.url + JWKS_PATH)
    assert forge.app_ari == APP_ARI
    assert forge.verify(fit(forge_key))


def rejected(
    forge: ForgeInvocationVerifier, token: Any, error: type[atlassian_jwt.DecodeError]
) -> Any:
    with pytest.raises(error) as info:
        forge.verify(token)
    assert isinstance(info.value, atlassian_jwt.DecodeError)
    return info.value


def test_wrong_aud(forge: ForgeInvocationVerifier, forge_key: Any) -> None:
    token = fit(forge_key, aud="ari:cloud:ecosystem::app/another-app")
    rejected(forge, token, atlassian_jwt.InvalidAudienceError)


def test_wrong_iss(forge: ForgeInvocationVerifier, forge_key: Any) -> None:
    rejected(
        forge, fit(forge_key, iss="forge/invocation-token-x"), atlassian_jwt.InvalidIssuerError
    )
    rejected(forge, fit(forge_key, iss="forge/"), atlassian_jwt.InvalidIssuerError)


def test_expired(forge: ForgeInvocationVerifier, forge_key: Any) -> None:
    now = int(time.time())
    token = fit(forge_key, iat=now - 900, nbf=now - 900, exp=now - 60)
    rejected(forge, token, atlassian_jwt.TokenExpiredError)


def test_missing_exp(forge: ForgeInvocationVerifier, forge_key: Any) -> None:
    assert rejected(forge, fit(forge_key, exp=None), atlassian_jwt.MissingClaimError).claim == "exp"


def test_unknown_kid(forge: ForgeInvocationVerifier, forge_key: Any, server: FakeForgeJWKS) -> None:
    rejected(forge, fit(forge_key, kid="rotated-away"), atlassian_jwt.UnknownKeyError)
    # One refresh looked for the new kid; further unknown kids within the interval cost none.
    rejected(forge, fit(forge_key, kid="made-up"), atlassian_jwt.UnknownKeyError)
    assert server.hits == {JWKS_PATH: 2}


def test_rotated_key_found_by_refresh(
    forge: ForgeInvocationVerifier, forge_key: Any, other_key: Any, server: FakeForgeJWKS
) -> None:
    assert forge.verify(fit(forge_key))
    server.rotate(other_key, kid="next")  # the new key joins the set
    assert forge.verify(fit(other_key, kid="next"))["aud"] == APP_ARI


def test_signed_by_another_key(forge: ForgeInvocationVerifier, other_key: Any) -> None:
    rejected(forge, fit(other_key), atlassian_jwt.InvalidSignatureError)


@pytest.mark.parametrize("algorithm", ["HS256", "RS512", "PS256"])
def test_other_algorithms(forge: ForgeInvocationVerifier, forge_key: Any, algorithm: str) -> None:
    key = "a-forge-secret-that-is-long-enough-for-hs256-hmac" if algorithm == "HS256" else forge_key
    rejected(forge, fit(key, algorithm=algorithm), atlassian_jwt.AlgorithmNotAllowedError)


def test_missing_kid(forge: ForgeInvocationVerifier, forge_key: Any, server: FakeForgeJWKS) -> None:
    rejected(forge, fit(forge_key, kid=None), atlassian_jwt.MalformedTokenError)
    assert server.hit_count() == 0


@pytest.mark.parametrize(
    "headers",
    [{}, None, {"Authorization": "JWT abc.def.ghi"}, {"X-Forge-Token": "abc.def.ghi"}],
)
def test_no_bearer_token(forge: ForgeInvocationVerifier, headers: Any) -> None:
    rejected(forge, headers, atlassian_jwt.TokenMissingError)


@pytest.mark.parametrize("token", ["", "Bearer", "Bearer a b", "not a token", "a.b"])
def test_malformed(forge: ForgeInvocationVerifier, token: str) -> None:
    rejected(forge, token, atlassian_jwt.MalformedTokenError)


# Key set faults: KeyFetchError, not a rejection, quickly.


def fetch_fails(forge: ForgeInvocationVerifier, token: str) -> None:
    started = time.monotonic()
    with pytest.raises(atlassian_jwt.KeyFetchError) as info:
        forge.verify(token)
    assert not isinstance(info.value, atlassian_jwt.DecodeError)
    assert time.monotonic() - started < HANG


@pytest.mark.parametrize(
    "response",
    [
        Reply(500),
        Reply(404),
        Reply(body=b"garbage"),
        Reply(body=b"[1, 2]"),
        Reply(body=b'{"keys": []}'),
        Reply(body=b'{"keys": [{"kty": "RSA", "kid": "x"}]}'),
        Reply(body=b"{}", delay=5),
        Reply(302),
        Reply(body=b"[" * 200_000),
        Reply(body=b"\xff\xfe{"),
        # Each of these escaped PyJWT 2.10.1 as AttributeError, TypeError or ValueError.
        Reply(body=b'{"keys": ["abc"]}'),
        Reply(body=b'{"keys": [{"kty": "RSA", "kid": "x", "n": 5, "e": "AQAB"}]}'),
        Reply(body=b'{"keys": [{"kty": "RSA", "kid": "x", "n": "!!!", "e": "AQAB"}]}'),
    ],
    ids=[
        "500",
        "404",
        "garbage",
        "not-an-object",
        "no-keys",
        "bad-key",
        "slow",
        "redirect",
        "deeply-nested",
        "not-utf8",
        "key-not-an-object",
        "n-not-a-string",
        "n-not-base64url",
    ],
)
def test_key_set_faults(server: FakeForgeJWKS, forge_key: Any, response: Reply) -> None:
    server.intercept("GET", JWKS_PATH, lambda request: response)
    forge = ForgeInvocationVerifier(APP_ID, jwks_url=server.url + JWKS_PATH, timeout=0.5)
    fetch_fails(forge, fit(forge_key))


@pytest.fixture(params=TRANSPORT_NAMES)
def transport(request: pytest.FixtureRequest) -> Transport | None:
    """Run a test with the default transport (None), then with each library's."""
    found: Transport | None = transport_named(request.param)
    return found


@pytest.mark.parametrize("send_length", [True, False], ids=["declared", "undeclared"])
def test_oversized_key_set(
    server: FakeForgeJWKS, forge_key: Any, send_length: bool, transport: Transport | None
) -> None:
    padding = " " * (DEFAULT_MAX_JWKS_BYTES + 1)
    body = jwks((KID, forge_key))[:-1] + padding.encode() + b"}"
    assert json.loads(body)["keys"]  # a valid key set, only too large
    server.respond("GET", JWKS_PATH, body=body, send_length=send_length)
    forge = ForgeInvocationVerifier(
        APP_ID, jwks_url=server.url + JWKS_PATH, timeout=0.5, transport=transport
    )
    with pytest.raises(atlassian_jwt.KeyFetchError, match="larger than"):
        forge.verify(fit(forge_key))


def test_max_jwks_bytes(server: FakeForgeJWKS, forge_key: Any) -> None:
    body = jwks((KID, forge_key))
    server.respond("GET", JWKS_PATH, body=body)
    size = len(body)
    small = ForgeInvocationVerifier(
        APP_ID, jwks_url=server.url + JWKS_PATH, max_jwks_bytes=size - 1
    )
    fetch_fails(small, fit(forge_key))
    exact = ForgeInvocationVerifier(APP_ID, jwks_url=server.url + JWKS_PATH, max_jwks_bytes=size)
    assert exact.verify(fit(forge_key))["aud"] == APP_ARI


def test_key_set_fetched_once_for_many_tokens(
    forge_key: Any, server: FakeForgeJWKS, transport: Transport | None
) -> None:
    forge = ForgeInvocationVerifier(
        APP_ID, jwks_url=server.url + JWKS_PATH, timeout=0.5, transport=transport
    )
    for _ in range(20):
        assert forge.verify(fit(forge_key))["iss"] == FORGE_ISSUER
    assert server.hits == {JWKS_PATH: 1}


def test_broken_refresh_keeps_the_cached_key_set(
    forge: ForgeInvocationVerifier, forge_key: Any, server: FakeForgeJWKS
) -> None:
    assert forge.verify(fit(forge_key))
    server.respond("GET", JWKS_PATH, body=b'{"keys": ["abc"]}')
    with pytest.raises(atlassian_jwt.KeyFetchError):
        forge.verify(fit(forge_key, kid="new-kid"))  # forces a refresh, which fails
    assert forge.verify(fit(forge_key))["aud"] == APP_ARI
    assert server.hits == {JWKS_PATH: 2}


def test_key_set_unreachable(forge_key: Any) -> None:
    forge = ForgeInvocationVerifier(APP_ID, jwks_url=refused_url() + JWKS_PATH, timeout=0.5)
    fetch_fails(forge, fit(forge_key))


# Configuration.


def test_pinned_jwks_urls() -> None:
    assert ForgeInvocationVerifier(APP_ID).jwks_url == (
        "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
    )
    assert ForgeInvocationVerifier(APP_ID, environment="staging").jwks_url == (
        "https://forge.cdn.stg.atlassian-dev.net/.well-known/jwks.json"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"app_id": ""},
        {"app_id": "ari:cloud:ecosystem::app/"},
        {"app_id": "a b"},
        {"app_id": "x/../y"},
        {"environment": "dev"},
        {"jwks_url": "http://forge.example.com/jwks.json"},
        {"jwks_url": "file:///etc/jwks.json"},
        {"timeout": 0},
        {"max_jwks_bytes": 0},
    ],
    ids=str,
)
def test_bad_configuration(kwargs: dict[str, Any]) -> None:
    arguments = {"app_id": APP_ID, **kwargs}
    with pytest.raises(ValueError):
        ForgeInvocationVerifier(**arguments)


def test_missing_cryptography_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jwt.algorithms, "has_crypto", False)
    with pytest.raises(
        ImportError,
        match=r"pip install 'cryptography>=3\.4'"
        r" \(the \[crypto\] extra of atlassian-jwt 4\)",
    ):
        ForgeInvocationVerifier(APP_ID)


def test_first_requests_at_once_fetch_the_key_set_once(
    forge: ForgeInvocationVerifier, forge_key: Any, server: FakeForgeJWKS
) -> None:
    # A slow key server, and 16 requests arriving before the key set is cached.
    server.respond("GET", JWKS_PATH, body=jwks((KID, forge_key)), delay=0.2)
    tokens = [fit(forge_key, jti=str(n)) for n in range(16)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(forge.verify, tokens))
    assert [claims["jti"] for claims in results] == [str(n) for n in range(16)]
    assert server.hits == {JWKS_PATH: 1}


def test_regression_concurrent_callers_share_one_failed_key_set_download(
    forge_key: Any,
) -> None:
    # 16.7: concurrent JWKS failures queued behind one lock, so the k-th caller waited
    # k x timeout and a JWKS outage held every worker thread. Now the callers that arrive
    # during a download wait for it and share its failure: one download, one timeout.
    arrived = threading.Barrier(8)
    downloads: list[float] = []

    def hanging(request: HTTPRequest) -> HTTPResponse:
        downloads.append(time.monotonic())
        time.sleep(request.timeout)  # the JWKS does not answer before the deadline
        raise TimeoutError("timed out")

    forge = ForgeInvocationVerifier(APP_ID, timeout=0.5, transport=hanging)
    token = fit(forge_key)

    def verify_once() -> tuple[str, float]:
        arrived.wait()
        started = time.monotonic()
        try:
            forge.verify(token)
        except atlassian_jwt.KeyFetchError as error:
            return str(error), time.monotonic() - started
        return "verified", time.monotonic() - started

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: verify_once(), range(8)))
    assert {message for message, _ in outcomes} == {"Could not fetch the key: timed out"}
    assert len(downloads) == 1  # one download, not eight queued one after another
    # Each waited for that one download (a hang guard, below the 8 x 0.5 s of a queue).
    assert max(waited for _, waited in outcomes) < HANG


def test_after_a_shared_failure_the_next_caller_tries_again(forge_key: Any) -> None:
    answers: list[OSError | HTTPResponse] = [
        OSError("down"),
        HTTPResponse(200, jwks((KID, forge_key))),
    ]

    def transport(request: HTTPRequest) -> HTTPResponse:
        answer = answers.pop(0)
        if isinstance(answer, OSError):
            raise answer
        return answer

    forge = ForgeInvocationVerifier(APP_ID, transport=transport)
    with pytest.raises(atlassian_jwt.KeyFetchError, match="OSError"):
        forge.verify(fit(forge_key))
    assert forge.verify(fit(forge_key))["aud"] == APP_ARI
    assert answers == []


def test_regression_trickled_key_set_headers_do_not_outlast_the_timeout(
    forge_key: Any, transport: Transport | None
) -> None:
    # 16.7: every read got a byte in time, so the download lasted as long as the server liked.
    trickler = TrickleServer(jwks((KID, forge_key)), content_type="application/json")
    with trickler.running():
        forge = ForgeInvocationVerifier(
            APP_ID, jwks_url=trickler.url + JWKS_PATH, timeout=0.5, transport=transport
        )
        fetch_fails(forge, fit(forge_key))
        assert trickler.completed == 0  # given up before the last header byte
