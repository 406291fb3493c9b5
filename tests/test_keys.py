"""Key providers: kid checking, Atlassian's key server (cache, faults, transports), static keys."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import keys
from tests.rsa_support import KeyServer, Response, new_rsa_key, public_pem, refused_url, serve

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# Needs cryptography (and uses requests when installed); imported lazily so that the module can
# still be collected, and deselected, without them.
pytestmark = pytest.mark.extras

KID = "0e50fccb-239d-4991-a5db-dc850ba3f236"
FAST = 0.5  # seconds: every fault below must be reported within about this long


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def server() -> Iterator[KeyServer]:
    yield from serve()


@pytest.fixture(params=["requests", "urllib"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with requests, then with the standard library (requests made unimportable)."""
    if request.param == "urllib":
        monkeypatch.setitem(sys.modules, "requests", None)
    return str(request.param)


def provider_for(server: KeyServer, **kwargs: float) -> keys.AtlassianKeyProvider:
    return keys.AtlassianKeyProvider(base_url=server.url, timeout=FAST, **kwargs)  # type: ignore[arg-type]


# Key ids.


@pytest.mark.parametrize("kid", [KID, "abc", "a.b_c-D9", "9" * 256, "connect-install-key-2021.pem"])
def test_valid_kids(kid: str) -> None:
    assert keys.is_valid_kid(kid)


BAD_KIDS = [
    "../x",
    "a/b",
    "%2e%2e",
    "",
    ".",
    "..",
    ".hidden",
    "x" * 257,
    "x" * 10 * 1024,
    "a b",
    "a\nb",
    "a?b",
    "a#b",
    "a\\b",
    "k\u00e9y",
    "http://evil.example/key",
]


@pytest.mark.parametrize("kid", BAD_KIDS, ids=lambda kid: repr(kid)[:20])
def test_bad_kid_is_refused_before_any_request(kid: str, server: KeyServer) -> None:
    assert not keys.is_valid_kid(kid)
    with pytest.raises(atlassian_jwt.MalformedTokenError):
        provider_for(server).get_key(kid)
    assert server.hit_count() == 0


@pytest.mark.parametrize("kid", [None, 7, ["a"], b"abc"])
def test_non_string_kid_is_invalid(kid: object) -> None:
    assert not keys.is_valid_kid(kid)


# Where keys come from.


def test_pinned_environments() -> None:
    assert keys.AtlassianKeyProvider().key_url(KID) == (
        f"https://connect-install-keys.atlassian.com/{KID}"
    )
    assert keys.AtlassianKeyProvider("staging").key_url(KID) == (
        f"https://cs-migrations--cdn.us-east-1.staging.public.atl-paas.net/{KID}"
    )


def test_base_url_override() -> None:
    provider = keys.AtlassianKeyProvider(base_url="https://keys.example.com/mirror/")
    assert provider.key_url(KID) == f"https://keys.example.com/mirror/{KID}"


@pytest.mark.parametrize(
    "base_url",
    [
        "http://keys.example.com",  # plain http off loopback
        "http://10.0.0.1",
        "ftp://keys.example.com",
        "file:///etc/keys",
        "keys.example.com",
        "https://",
        "https://user:pass@keys.example.com",
        "https://keys.example.com/?kid=",
        "https://keys.example.com/#x",
    ],
)
def test_unacceptable_base_urls(base_url: str) -> None:
    with pytest.raises(ValueError):
        keys.AtlassianKeyProvider(base_url=base_url)


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]"])
def test_plain_http_only_to_loopback(base_url: str) -> None:
    assert keys.AtlassianKeyProvider(base_url=base_url).base_url == base_url


@pytest.mark.parametrize(
    "kwargs",
    [{"environment": "prod"}, {"timeout": 0}, {"timeout": float("inf")}, {"max_bytes": 0}],
    ids=str,
)
def test_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        keys.AtlassianKeyProvider(**kwargs)  # type: ignore[arg-type]


# Fetching and caching.


def test_key_fetched_once_then_cached(
    server: KeyServer, rsa_key: rsa.RSAPrivateKey, transport: str
) -> None:
    server.responses[f"/{KID}"] = Response(body=public_pem(rsa_key).encode())
    provider = provider_for(server)
    first = provider.get_key(KID)
    assert first.public_numbers() == rsa_key.public_key().public_numbers()
    assert provider.get_key(KID) is first
    assert server.hits == {f"/{KID}": 1}


@pytest.mark.parametrize("status", [404, 410])
def test_unknown_kid_is_a_rejection(server: KeyServer, status: int, transport: str) -> None:
    server.responses[f"/{KID}"] = Response(status)
    with pytest.raises(atlassian_jwt.UnknownKeyError) as info:
        provider_for(server).get_key(KID)
    assert isinstance(info.value, atlassian_jwt.DecodeError)
    assert info.value.code == "unknown_key"


def test_failures_are_not_cached(server: KeyServer, rsa_key: rsa.RSAPrivateKey) -> None:
    provider = provider_for(server)
    server.responses[f"/{KID}"] = Response(500)
    with pytest.raises(atlassian_jwt.KeyFetchError):
        provider.get_key(KID)
    server.responses[f"/{KID}"] = Response(body=public_pem(rsa_key).encode())
    assert provider.get_key(KID).key_size == 2048
    assert server.hits[f"/{KID}"] == 2


# Key server faults: each a KeyFetchError (never a DecodeError), quickly.


def fetch_fails(provider: keys.AtlassianKeyProvider) -> atlassian_jwt.KeyFetchError:
    started = time.monotonic()
    with pytest.raises(atlassian_jwt.KeyFetchError) as info:
        provider.get_key(KID)
    assert time.monotonic() - started < FAST + 1.0
    assert not isinstance(info.value, atlassian_jwt.DecodeError)
    assert info.value.code == "key_fetch_failed"
    return info.value


def test_slow_key_server(server: KeyServer, rsa_key: rsa.RSAPrivateKey, transport: str) -> None:
    server.responses[f"/{KID}"] = Response(body=public_pem(rsa_key).encode(), delay=5)
    assert "timed out" in str(fetch_fails(provider_for(server)))


@pytest.mark.parametrize("status", [500, 502, 503, 403, 302])
def test_key_server_error_status(server: KeyServer, status: int, transport: str) -> None:
    server.responses[f"/{KID}"] = Response(status)
    assert str(status) in str(fetch_fails(provider_for(server)))


def test_refused_connection(transport: str) -> None:
    fetch_fails(keys.AtlassianKeyProvider(base_url=refused_url(), timeout=FAST))


def test_garbage_instead_of_pem(server: KeyServer, transport: str) -> None:
    server.responses[f"/{KID}"] = Response(body=b"<html>secret-looking garbage</html>")
    error = fetch_fails(provider_for(server))
    assert "garbage" not in str(error)


@pytest.mark.parametrize("send_length", [True, False], ids=["declared", "undeclared"])
def test_five_megabyte_answer(server: KeyServer, send_length: bool, transport: str) -> None:
    server.responses[f"/{KID}"] = Response(body=b"A" * 5_000_000, send_length=send_length)
    assert "larger than" in str(fetch_fails(provider_for(server)))


def test_other_key_types_are_refused(server: KeyServer, rsa_key: rsa.RSAPrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private_pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    short_pem = public_pem(new_rsa_key(1024)).encode()
    for body in (private_pem, ec_pem, short_pem):
        server.responses[f"/{KID}"] = Response(body=body)
        fetch_fails(provider_for(server))


# Static keys.


def test_static_provider(rsa_key: rsa.RSAPrivateKey) -> None:
    provider = keys.StaticKeyProvider({KID: public_pem(rsa_key)})
    key = provider.get_key(KID)
    assert key is not None and key.public_numbers() == rsa_key.public_key().public_numbers()
    assert provider.get_key("another-kid") is None


@pytest.mark.parametrize("kid", ["../x", "", "a/b"])
def test_static_provider_refuses_bad_kids(kid: str, rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="Invalid key id"):
        keys.StaticKeyProvider({kid: public_pem(rsa_key)})


def test_static_provider_refuses_bad_keys() -> None:
    with pytest.raises(ValueError, match="not usable"):
        keys.StaticKeyProvider({KID: "-----BEGIN PUBLIC KEY-----\nnope\n"})


# Without cryptography: a clear error, not a rejected token.


def test_missing_cryptography_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jwt.algorithms, "has_crypto", False)
    for make in (keys.AtlassianKeyProvider, lambda: keys.StaticKeyProvider({})):
        with pytest.raises(ImportError, match=r"pip install 'atlassian-jwt\[crypto\]'"):
            make()
