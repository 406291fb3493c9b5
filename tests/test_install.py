"""Signed install and uninstall callbacks: every check InstallAuthenticator makes, each rejection
on its own."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

import atlassian_jwt
from atlassian_jwt import InstallAuthenticator, StaticKeyProvider
from atlassian_jwt.keys import AtlassianKeyProvider
from atlassian_jwt.testing import FakeAtlassianKeyServer, new_rsa_key, public_pem
from atlassian_jwt.url_utils import hash_url
from tests.support import CLIENT_KEY, SECRET

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# Needs cryptography, imported lazily so that the module is still collected without it.
pytestmark = pytest.mark.extras

KID = "0e50fccb-239d-4991-a5db-dc850ba3f236"
APP_BASE = "https://apps.example.com/my-app"
INSTALLED_URL = f"{APP_BASE}/installed"
NEW_SECRET = "a-new-shared-secret-from-the-reinstall-that-is-long-enough-for-hmac"


@pytest.fixture(scope="module")
def atlassian_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def installs(atlassian_key: rsa.RSAPrivateKey) -> InstallAuthenticator:
    return InstallAuthenticator(
        APP_BASE, key_provider=StaticKeyProvider({KID: public_pem(atlassian_key)})
    )


@pytest.fixture
def server(atlassian_key: rsa.RSAPrivateKey) -> Iterator[FakeAtlassianKeyServer]:
    """Atlassian's key server, publishing ``atlassian_key`` as ``KID``."""
    with FakeAtlassianKeyServer(APP_BASE, private_key=atlassian_key, kid=KID) as keys:
        yield keys


def lifecycle_body(event: str = "installed", secret: str = SECRET, **changes: Any) -> bytes:
    body = {
        "key": "com.example.my-app",
        "clientKey": CLIENT_KEY,
        "sharedSecret": secret,
        "baseUrl": "https://example.atlassian.net",
        "productType": "jira",
        "eventType": event,
        **changes,
    }
    return json.dumps(body).encode()


def install_token(
    key: Any,
    *,
    path: str = "/installed",
    aud: Any = APP_BASE,
    algorithm: str = "RS256",
    header: dict[str, Any] | None = None,
    lifetime: int = 180,
    **claims: Any,
) -> str:
    """A token as Atlassian signs a lifecycle callback; claims=None leaves a claim out."""
    now = int(time.time())
    payload = {
        "iss": CLIENT_KEY,
        "aud": aud,
        "iat": now,
        "exp": now + lifetime,
        "qsh": hash_url("POST", path),
        "sub": "557058:f00d",
        "context": {},
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    headers = {"kid": KID} if header is None else header
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


# Accepted.


def test_genuine_install(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    result = installs.authenticate(
        "POST", INSTALLED_URL, auth(install_token(atlassian_key)), lifecycle_body()
    )
    assert result.client_key == CLIENT_KEY
    assert result.claims["aud"] == APP_BASE
    untyped: Any = result  # as 3.0.0's untyped callers hold it; mypy unpacks a str as str
    client_key, claims = untyped
    assert claims["iss"] == client_key and claims is result.claims


def test_genuine_uninstall(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    token = install_token(atlassian_key, path="/uninstalled")
    result = installs.authenticate(
        "POST", f"{APP_BASE}/uninstalled", auth(token), lifecycle_body("uninstalled")
    )
    assert result.client_key == CLIENT_KEY


def test_reinstall_carrying_a_new_secret_replaces_it(
    installs: InstallAuthenticator, atlassian_key: Any
) -> None:
    tenants: dict[str, dict[str, Any]] = {}
    for secret in (SECRET, NEW_SECRET):
        body = lifecycle_body(secret=secret)
        client_key, _ = installs.authenticate(
            "POST", INSTALLED_URL, auth(install_token(atlassian_key)), body
        )
        tenants[client_key] = json.loads(body)
    assert tenants == {CLIENT_KEY: json.loads(lifecycle_body(secret=NEW_SECRET))}


@pytest.mark.parametrize(
    "as_given",
    [lambda body: body, lambda body: body.decode(), json.loads],
    ids=["bytes", "str", "mapping"],
)
def test_body_as_bytes_text_or_mapping(
    installs: InstallAuthenticator, atlassian_key: Any, as_given: Any
) -> None:
    body = as_given(lifecycle_body())
    result = installs.authenticate("POST", INSTALLED_URL, auth(install_token(atlassian_key)), body)
    assert result.client_key == CLIENT_KEY


@pytest.mark.parametrize(
    "aud", [APP_BASE + "/", [APP_BASE], ["https://elsewhere.example.com", APP_BASE + "/"]]
)
def test_audience_forms(installs: InstallAuthenticator, atlassian_key: Any, aud: Any) -> None:
    token = install_token(atlassian_key, aud=aud)
    assert installs.authenticate("POST", INSTALLED_URL, auth(token), lifecycle_body())


def test_trailing_slash_of_the_configured_base_is_normalised(atlassian_key: Any) -> None:
    installs = InstallAuthenticator(
        APP_BASE + "/", key_provider=StaticKeyProvider({KID: public_pem(atlassian_key)})
    )
    assert installs.app_base_urls == (APP_BASE,)
    assert installs.authenticate(
        "POST", "/my-app/installed", auth(install_token(atlassian_key)), lifecycle_body()
    )


def test_several_base_urls_each_with_its_own_path(atlassian_key: Any) -> None:
    installs = InstallAuthenticator(
        [APP_BASE, "https://eu.apps.example.com/"],
        key_provider=StaticKeyProvider({KID: public_pem(atlassian_key)}),
    )
    for base in (APP_BASE, "https://eu.apps.example.com"):
        token = install_token(atlassian_key, aud=base)
        assert installs.authenticate("POST", f"{base}/installed", auth(token), lifecycle_body())


# Rejected, each its own test.


def rejected(
    installs: InstallAuthenticator,
    token: str,
    error: type[atlassian_jwt.DecodeError],
    *,
    url: str = INSTALLED_URL,
    body: Any = None,
    **kwargs: Any,
) -> Any:
    with pytest.raises(error) as info:
        installs.authenticate(
            "POST", url, auth(token), lifecycle_body() if body is None else body, **kwargs
        )
    assert isinstance(info.value, atlassian_jwt.DecodeError)
    assert SECRET not in str(info.value) and token not in str(info.value)
    return info.value


def test_another_apps_install_token_replayed(
    installs: InstallAuthenticator, atlassian_key: Any
) -> None:
    # Atlassian really signed it, for another vendor's app, which now replays it to us.
    token = install_token(atlassian_key, aud="https://evil.example.net")
    rejected(installs, token, atlassian_jwt.InvalidAudienceError)


def test_base_url_prefix_is_not_an_audience(
    installs: InstallAuthenticator, atlassian_key: Any
) -> None:
    rejected(
        installs,
        install_token(atlassian_key, aud=APP_BASE + "-evil"),
        atlassian_jwt.InvalidAudienceError,
    )


def test_missing_audience(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    error = rejected(
        installs, install_token(atlassian_key, aud=None), atlassian_jwt.MissingClaimError
    )
    assert error.claim == "aud"


def test_iss_is_not_the_bodys_client_key(
    installs: InstallAuthenticator, atlassian_key: Any
) -> None:
    body = lifecycle_body(clientKey="another-tenant")
    rejected(installs, install_token(atlassian_key), atlassian_jwt.InvalidIssuerError, body=body)


def test_qsh_of_another_path(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    token = install_token(atlassian_key, path="/uninstalled")
    error = rejected(installs, token, atlassian_jwt.QshMismatchError)
    assert error.canonical_request == "POST&/installed&"


def test_context_qsh_is_never_accepted(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    token = install_token(atlassian_key, qsh="context-qsh")
    rejected(installs, token, atlassian_jwt.QshMismatchError)


def test_expired(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    now = int(time.time())
    token = install_token(atlassian_key, iat=now - 600, exp=now - 60)
    rejected(installs, token, atlassian_jwt.TokenExpiredError)


def test_issued_in_the_future(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    now = int(time.time())
    token = install_token(atlassian_key, iat=now + 600, exp=now + 900)
    rejected(installs, token, atlassian_jwt.TokenNotYetValidError)


def test_hs256_header_on_an_install_token(installs: InstallAuthenticator) -> None:
    token = install_token(SECRET, algorithm="HS256")
    rejected(installs, token, atlassian_jwt.AlgorithmNotAllowedError)


def unsigned(payload: dict[str, Any], header: dict[str, Any]) -> str:
    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{segment(header)}.{segment(payload)}."


def test_none_algorithm(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    claims = jwt.decode(install_token(atlassian_key), options={"verify_signature": False})
    token = unsigned(claims, {"alg": "none", "kid": KID})
    rejected(installs, token, atlassian_jwt.AlgorithmNotAllowedError)
    # An opted-in shared secret does not open the door to "none" either.
    rejected(installs, token, atlassian_jwt.AlgorithmNotAllowedError, shared_secret=SECRET)


@pytest.mark.parametrize("algorithm", ["RS384", "RS512", "PS256", "HS512"])
def test_other_algorithms(
    installs: InstallAuthenticator, atlassian_key: Any, algorithm: str
) -> None:
    key = SECRET if algorithm.startswith("HS") else atlassian_key
    token = install_token(key, algorithm=algorithm)
    rejected(installs, token, atlassian_jwt.AlgorithmNotAllowedError, shared_secret=SECRET)


def test_signed_by_a_key_other_than_the_kids(
    installs: InstallAuthenticator, other_key: Any
) -> None:
    rejected(installs, install_token(other_key), atlassian_jwt.InvalidSignatureError)


def test_missing_kid(installs: InstallAuthenticator, atlassian_key: Any) -> None:
    error = rejected(
        installs, install_token(atlassian_key, header={}), atlassian_jwt.MalformedTokenError
    )
    assert "kid" in str(error)


def test_unknown_kid(atlassian_key: Any) -> None:
    installs = InstallAuthenticator(APP_BASE, key_provider=StaticKeyProvider({}))
    rejected(installs, install_token(atlassian_key), atlassian_jwt.UnknownKeyError)


@pytest.mark.parametrize("kid", ["../x", "a/b", "%2e%2e", "", 7, "k" * 10 * 1024])
def test_bad_kid_never_reaches_the_key_server(
    server: FakeAtlassianKeyServer, atlassian_key: Any, kid: Any
) -> None:
    installs = InstallAuthenticator(
        APP_BASE, key_provider=AtlassianKeyProvider(base_url=server.url, timeout=0.5)
    )
    if isinstance(kid, str):
        token = install_token(atlassian_key, header={"kid": kid})
    else:  # PyJWT will not sign with such a kid; the signature is never looked at anyway
        claims = jwt.decode(install_token(atlassian_key), options={"verify_signature": False})
        token = unsigned(claims, {"alg": "RS256", "kid": kid}) + "c2ln"
    # A 10 KiB kid makes the token too large to decode at all; either way: refused, no fetch.
    error = rejected(installs, token, atlassian_jwt.MalformedTokenError)
    assert isinstance(error, atlassian_jwt.TokenTooLargeError) == (len(str(kid)) > 8000)
    assert server.hit_count() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"clientKey"',
        b"42",
        b"null",
        b"not json",
        b"\xff\xfe{",
        b"",
        b'{"clientKey": "a", "clientKey": "' + CLIENT_KEY.encode() + b'"}',
        b"[" * 100_000,
        ["clientKey", CLIENT_KEY],
        12,
    ],
    ids=[
        "list",
        "string",
        "number",
        "null",
        "not-json",
        "bad-utf8",
        "empty",
        "duplicate-clientKey",
        "deep",
        "python-list",
        "python-int",
    ],
)
def test_body_that_is_not_a_json_object(
    installs: InstallAuthenticator, atlassian_key: Any, body: Any
) -> None:
    rejected(installs, install_token(atlassian_key), atlassian_jwt.MalformedRequestError, body=body)


@pytest.mark.parametrize("client_key", [None, "", 42, ["x"]])
def test_body_without_a_client_key(
    installs: InstallAuthenticator, atlassian_key: Any, client_key: Any
) -> None:
    body = json.loads(lifecycle_body())
    if client_key is None:
        del body["clientKey"]
    else:
        body["clientKey"] = client_key
    rejected(installs, install_token(atlassian_key), atlassian_jwt.MalformedRequestError, body=body)


@given(body=st.one_of(st.binary(max_size=64), st.text(max_size=64)))
def test_any_body_is_accepted_or_rejected_never_crashes(body: bytes | str) -> None:
    installs = InstallAuthenticator(APP_BASE, key_provider=StaticKeyProvider({}))
    with pytest.raises(atlassian_jwt.DecodeError):
        installs.authenticate("POST", INSTALLED_URL, auth("a.b.c"), body)


def test_no_token(installs: InstallAuthenticator) -> None:
    with pytest.raises(atlassian_jwt.TokenMissingError):
        installs.authenticate("POST", INSTALLED_URL, {}, lifecycle_body())


def test_token_in_query_string_is_not_enough(
    installs: InstallAuthenticator, atlassian_key: Any
) -> None:
    token = install_token(atlassian_key)
    with pytest.raises(atlassian_jwt.TokenMissingError):
        installs.authenticate("POST", f"{INSTALLED_URL}?jwt={token}", None, lifecycle_body())


# Lifecycle calls signed with the shared secret: only when the caller opts in.


def test_hs256_accepted_with_the_stored_secret(installs: InstallAuthenticator) -> None:
    token = install_token(SECRET, algorithm="HS256", header={}, aud=None)
    body = lifecycle_body(secret=NEW_SECRET)
    result = installs.authenticate("POST", INSTALLED_URL, auth(token), body, shared_secret=SECRET)
    assert result.client_key == CLIENT_KEY


def test_hs256_with_another_secret(installs: InstallAuthenticator) -> None:
    token = install_token(NEW_SECRET, algorithm="HS256", header={})
    rejected(installs, token, atlassian_jwt.InvalidSignatureError, shared_secret=SECRET)


def test_hs256_still_checks_iss_and_qsh(installs: InstallAuthenticator) -> None:
    token = install_token(SECRET, algorithm="HS256", header={}, path="/elsewhere")
    rejected(installs, token, atlassian_jwt.QshMismatchError, shared_secret=SECRET)
    token = install_token(SECRET, algorithm="HS256", header={}, iss="another-tenant")
    rejected(installs, token, atlassian_jwt.InvalidIssuerError, shared_secret=SECRET)


@pytest.mark.parametrize("secret", [{"sharedSecret": SECRET}, 42])
def test_shared_secret_of_the_wrong_type_is_a_programming_error(
    installs: InstallAuthenticator, secret: Any
) -> None:
    token = install_token(SECRET, algorithm="HS256", header={})
    with pytest.raises(TypeError):
        installs.authenticate(
            "POST", INSTALLED_URL, auth(token), lifecycle_body(), shared_secret=secret
        )


def test_empty_shared_secret_is_no_opt_in(installs: InstallAuthenticator) -> None:
    token = install_token(SECRET, algorithm="HS256", header={})
    rejected(installs, token, atlassian_jwt.AlgorithmNotAllowedError, shared_secret="")


def test_rs256_still_accepted_when_a_secret_is_passed(
    installs: InstallAuthenticator, atlassian_key: Any
) -> None:
    token = install_token(atlassian_key)
    assert installs.authenticate(
        "POST", INSTALLED_URL, auth(token), lifecycle_body(), shared_secret=SECRET
    )


# With Atlassian's key server (here on 127.0.0.1).


def test_key_fetch_failure_is_not_a_rejection(
    server: FakeAtlassianKeyServer, atlassian_key: Any
) -> None:
    server.respond("GET", f"/{KID}", status=503)
    installs = InstallAuthenticator(
        APP_BASE, key_provider=AtlassianKeyProvider(base_url=server.url, timeout=0.5)
    )
    with pytest.raises(atlassian_jwt.KeyFetchError) as info:
        installs.authenticate(
            "POST", INSTALLED_URL, auth(install_token(atlassian_key)), lifecycle_body()
        )
    assert not isinstance(info.value, atlassian_jwt.DecodeError)


def test_32_concurrent_installs_fetch_a_new_kid_once(
    server: FakeAtlassianKeyServer, atlassian_key: Any
) -> None:
    # The delay keeps the first download in flight while every other thread asks for the key.
    server.respond("GET", f"/{KID}", body=server.public_pem(), delay=0.2)
    installs = InstallAuthenticator(
        APP_BASE, key_provider=AtlassianKeyProvider(base_url=server.url, timeout=2)
    )
    token = install_token(atlassian_key)
    start = threading.Barrier(32)
    results: list[object] = []

    def install() -> None:
        start.wait()
        try:
            results.append(
                installs.authenticate("POST", INSTALLED_URL, auth(token), lifecycle_body())
            )
        except Exception as error:  # collected and asserted on below
            results.append(error)

    threads = [threading.Thread(target=install) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert [getattr(result, "client_key", result) for result in results] == [CLIENT_KEY] * 32
    assert server.hits == {f"/{KID}": 1}


# Configuration.


@pytest.mark.parametrize("base", ["", "apps.example.com", "ftp://apps.example.com", "https://"])
def test_bad_app_base_url(base: str) -> None:
    with pytest.raises(ValueError):
        InstallAuthenticator(base, key_provider=StaticKeyProvider({}))


def test_no_app_base_url() -> None:
    with pytest.raises(ValueError):
        InstallAuthenticator([], key_provider=StaticKeyProvider({}))


def test_default_key_provider_is_atlassians_production() -> None:
    installs = InstallAuthenticator(APP_BASE)
    assert isinstance(installs.key_provider, AtlassianKeyProvider)
    assert installs.key_provider.base_url == "https://connect-install-keys.atlassian.com"
    assert installs.leeway == 30


def test_missing_cryptography_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jwt.algorithms, "has_crypto", False)
    with pytest.raises(
        ImportError,
        match=r"pip install 'cryptography>=3\.4'"
        r" \(the \[crypto\] extra of atlassian-jwt 4\)",
    ):
        InstallAuthenticator(APP_BASE, key_provider=StaticKeyProvider({}))


def test_a_key_checked_once_is_not_trusted_for_another_key(
    atlassian_key: rsa.RSAPrivateKey,
) -> None:
    # The check of the provider's key is skipped only for the very object already checked.
    class Provider:
        key: Any = atlassian_key.public_key()

        def get_key(self, kid: str) -> Any:
            return self.key

    provider = Provider()
    installs = InstallAuthenticator(APP_BASE, key_provider=provider)
    for _ in range(2):
        assert installs.authenticate(
            "POST", INSTALLED_URL, auth(install_token(atlassian_key)), lifecycle_body()
        )
    for bad in ("garbage", new_rsa_key(1024).public_key()):
        provider.key = bad
        with pytest.raises(atlassian_jwt.KeyFetchError):
            installs.authenticate(
                "POST", INSTALLED_URL, auth(install_token(atlassian_key)), lifecycle_body()
            )


def test_a_rejection_says_whether_the_signature_had_verified(
    installs: InstallAuthenticator, atlassian_key: Any, other_key: Any
) -> None:
    cases: list[tuple[dict[str, Any], type[atlassian_jwt.DecodeError]]] = [
        ({"iss": "another"}, atlassian_jwt.InvalidIssuerError),
        ({"path": "/x"}, atlassian_jwt.QshMismatchError),
        ({"aud": "https://x.example.com"}, atlassian_jwt.InvalidAudienceError),
    ]
    after = [rejected(installs, install_token(atlassian_key, **claims), e) for claims, e in cases]
    assert [error.signature_verified for error in after] == [True, True, True]
    before = rejected(installs, install_token(other_key), atlassian_jwt.InvalidSignatureError)
    assert before.signature_verified is False
