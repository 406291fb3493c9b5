"""Key providers: kid checking, Atlassian's key server (cache, faults, transports), static keys."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import HTTPRequest, HTTPResponse, Transport, keys
from atlassian_jwt.testing import (
    FakeAtlassianKeyServer,
    Reply,
    new_rsa_key,
    public_pem,
    refused_url,
)
from tests.httpx_libraries import TRANSPORT_NAMES, transport_named
from tests.trickle import TrickleServer

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

# Needs cryptography (and tries requests, httpx and httpx2 transports).
pytestmark = pytest.mark.extras

KID = "0e50fccb-239d-4991-a5db-dc850ba3f236"
UNPUBLISHED = "a-kid-the-key-server-never-had"
FAST = 0.5  # seconds: the timeout of the providers that meet a fault
# A hang guard, not a speed check: a fetch that outlived its timeout shows here, while every
# stalling fault below stalls for 4 s or more.
HANG = 3.0


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def server(rsa_key: rsa.RSAPrivateKey) -> Iterator[FakeAtlassianKeyServer]:
    """Atlassian's key server, publishing ``rsa_key`` as ``KID``; 404 for any other kid."""
    with FakeAtlassianKeyServer(private_key=rsa_key, kid=KID) as keys:
        yield keys


@pytest.fixture(params=TRANSPORT_NAMES)
def transport(request: pytest.FixtureRequest) -> Transport | None:
    """Run a test with the default transport (None), then with each library's."""
    found: Transport | None = transport_named(request.param)
    return found


def provider_for(
    server: FakeAtlassianKeyServer, transport: Transport | None = None, **kwargs: float
) -> keys.AtlassianKeyProvider:
    return keys.AtlassianKeyProvider(
        base_url=server.url,
        timeout=FAST,
        transport=transport,
        **kwargs,  # type: ignore[arg-type]
    )


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
def test_bad_kid_is_refused_before_any_request(kid: str, server: FakeAtlassianKeyServer) -> None:
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
    [
        {"environment": "prod"},
        {"timeout": 0},
        {"timeout": float("inf")},
        {"max_bytes": 0},
        {"unknown_kid_ttl": -1},
        {"unknown_kid_ttl": float("inf")},
        {"unknown_kid_ttl": float("nan")},
        {"max_unknown_kids": 0},
    ],
    ids=str,
)
def test_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        keys.AtlassianKeyProvider(**kwargs)  # type: ignore[arg-type]


# Fetching and caching.


def test_key_fetched_once_then_cached(
    server: FakeAtlassianKeyServer, rsa_key: rsa.RSAPrivateKey, transport: Transport | None
) -> None:
    provider = provider_for(server, transport=transport)
    first = provider.get_key(KID)
    assert first.public_numbers() == rsa_key.public_key().public_numbers()
    assert provider.get_key(KID) is first
    assert server.hits == {f"/{KID}": 1}


@pytest.mark.parametrize("status", [404, 410])
def test_unknown_kid_is_a_rejection(
    server: FakeAtlassianKeyServer, status: int, transport: Transport | None
) -> None:
    server.respond("GET", f"/{KID}", status=status)
    with pytest.raises(atlassian_jwt.UnknownKeyError) as info:
        provider_for(server, transport=transport).get_key(KID)
    assert isinstance(info.value, atlassian_jwt.DecodeError)
    assert info.value.code == "unknown_key"


# Unknown kids are remembered for a while.


class Clock:
    """Moves ``time.monotonic`` forward on demand (never back: the fetch deadlines use it too)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.monotonic
        monkeypatch.setattr(time, "monotonic", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def unknown(provider: keys.AtlassianKeyProvider, kid: str = KID) -> None:
    with pytest.raises(atlassian_jwt.UnknownKeyError):
        provider.get_key(kid)


@pytest.mark.parametrize("status", [404, 410])
def test_unknown_kid_is_remembered_for_the_ttl(
    server: FakeAtlassianKeyServer, clock: Clock, status: int, transport: Transport | None
) -> None:
    server.respond("GET", f"/{KID}", status=status)
    provider = provider_for(server, transport=transport, unknown_kid_ttl=60)
    for _ in range(5):
        unknown(provider)
    clock.advance(59)
    unknown(provider)
    assert server.hits == {f"/{KID}": 1}
    clock.advance(2)
    unknown(provider)
    assert server.hits == {f"/{KID}": 2}


def test_default_ttl_is_short(server: FakeAtlassianKeyServer, clock: Clock) -> None:
    provider = provider_for(server)
    assert provider.unknown_kid_ttl == keys.DEFAULT_UNKNOWN_KID_TTL <= 300
    unknown(provider, UNPUBLISHED)
    unknown(provider, UNPUBLISHED)
    assert server.hit_count() == 1


def test_a_kid_published_later_is_found_after_the_ttl(
    server: FakeAtlassianKeyServer, clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    provider = provider_for(server, unknown_kid_ttl=10)
    unknown(provider, UNPUBLISHED)
    server.rotate(rsa_key, kid=UNPUBLISHED)  # Atlassian publishes it
    unknown(provider, UNPUBLISHED)  # still remembered as unknown
    clock.advance(11)
    found = provider.get_key(UNPUBLISHED)
    assert found.public_numbers() == rsa_key.public_key().public_numbers()
    assert server.hits == {f"/{UNPUBLISHED}": 2}


def test_zero_ttl_remembers_nothing(server: FakeAtlassianKeyServer) -> None:
    provider = provider_for(server, unknown_kid_ttl=0)
    unknown(provider, UNPUBLISHED)
    unknown(provider, UNPUBLISHED)
    assert server.hits == {f"/{UNPUBLISHED}": 2}


def test_unknown_kids_are_bounded_oldest_forgotten_first(
    server: FakeAtlassianKeyServer, clock: Clock
) -> None:
    provider = provider_for(server, max_unknown_kids=3)
    kids = [f"kid-{n}" for n in range(5)]
    for kid in kids:
        unknown(provider, kid)
    assert len(provider._unknown) == 3
    for kid in kids[2:]:  # the three newest are remembered
        unknown(provider, kid)
    assert server.hit_count() == 5
    unknown(provider, kids[0])  # the oldest was forgotten: fetched again
    assert server.hits[f"/{kids[0]}"] == 2
    assert len(provider._unknown) == 3


def test_expired_unknown_kids_are_dropped(server: FakeAtlassianKeyServer, clock: Clock) -> None:
    provider = provider_for(server, unknown_kid_ttl=10)
    for n in range(50):
        unknown(provider, f"kid-{n}")
    clock.advance(11)
    unknown(provider, "one-more")
    assert list(provider._unknown) == ["one-more"]


def test_concurrent_requests_for_an_unknown_kid_fetch_once(server: FakeAtlassianKeyServer) -> None:
    server.respond("GET", f"/{KID}", status=404, delay=0.2)
    provider = provider_for(server)
    errors: list[BaseException] = []
    start = threading.Barrier(32)

    def ask() -> None:
        start.wait()
        try:
            provider.get_key(KID)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(errors) == 32
    assert all(isinstance(error, atlassian_jwt.UnknownKeyError) for error in errors)
    assert server.hits == {f"/{KID}": 1}
    unknown(provider)
    assert server.hits == {f"/{KID}": 1}


@pytest.mark.parametrize("status", [503, 500, 403])
def test_fetch_failures_are_not_remembered(server: FakeAtlassianKeyServer, status: int) -> None:
    server.respond("GET", f"/{KID}", status=status)
    provider = provider_for(server)
    for _ in range(2):
        with pytest.raises(atlassian_jwt.KeyFetchError):
            provider.get_key(KID)
    assert server.hits == {f"/{KID}": 2}
    assert not provider._unknown


def test_timeouts_are_not_remembered(server: FakeAtlassianKeyServer) -> None:
    server.respond("GET", f"/{KID}", status=404, delay=5)
    provider = keys.AtlassianKeyProvider(base_url=server.url, timeout=0.2)
    for _ in range(2):
        with pytest.raises(atlassian_jwt.KeyFetchError, match="timed out"):
            provider.get_key(KID)
    assert server.hits == {f"/{KID}": 2}


def test_403_is_a_fetch_failure_not_a_rejection(
    server: FakeAtlassianKeyServer, transport: Transport | None
) -> None:
    # An S3-backed CDN may answer 403 for a missing file, but so does a proxy or firewall that
    # refuses us: a genuine install must get 503 (Atlassian retries), not 401.
    server.respond("GET", f"/{KID}", status=403)
    error = fetch_fails(provider_for(server, transport=transport))
    assert "403" in str(error)


def test_failures_are_not_cached(
    server: FakeAtlassianKeyServer, rsa_key: rsa.RSAPrivateKey
) -> None:
    provider = provider_for(server)
    failures = iter([Reply(500)])  # one failure, then the key as usual
    server.intercept("GET", f"/{KID}", lambda request: next(failures, None))
    with pytest.raises(atlassian_jwt.KeyFetchError):
        provider.get_key(KID)
    assert provider.get_key(KID).key_size == 2048
    assert server.hits[f"/{KID}"] == 2


# Key server faults: each a KeyFetchError (never a DecodeError), quickly.


def fetch_fails(provider: keys.AtlassianKeyProvider) -> atlassian_jwt.KeyFetchError:
    started = time.monotonic()
    with pytest.raises(atlassian_jwt.KeyFetchError) as info:
        provider.get_key(KID)
    assert time.monotonic() - started < HANG
    assert not isinstance(info.value, atlassian_jwt.DecodeError)
    assert info.value.code == "key_fetch_failed"
    return info.value


def test_slow_key_server(
    server: FakeAtlassianKeyServer, rsa_key: rsa.RSAPrivateKey, transport: Transport | None
) -> None:
    server.respond("GET", f"/{KID}", body=public_pem(rsa_key), delay=5)
    assert "timed out" in str(fetch_fails(provider_for(server, transport=transport)))


@pytest.mark.parametrize("status", [500, 502, 503, 403, 302])
def test_key_server_error_status(
    server: FakeAtlassianKeyServer, status: int, transport: Transport | None
) -> None:
    server.respond("GET", f"/{KID}", status=status)
    assert str(status) in str(fetch_fails(provider_for(server, transport=transport)))


def test_refused_connection(transport: Transport | None) -> None:
    provider = keys.AtlassianKeyProvider(base_url=refused_url(), timeout=FAST, transport=transport)
    fetch_fails(provider)


def test_garbage_instead_of_pem(
    server: FakeAtlassianKeyServer, transport: Transport | None
) -> None:
    server.respond("GET", f"/{KID}", body=b"<html>secret-looking garbage</html>")
    error = fetch_fails(provider_for(server, transport=transport))
    assert "garbage" not in str(error)


@pytest.mark.parametrize("send_length", [True, False], ids=["declared", "undeclared"])
def test_five_megabyte_answer(
    server: FakeAtlassianKeyServer, send_length: bool, transport: Transport | None
) -> None:
    server.respond("GET", f"/{KID}", body=b"A" * 5_000_000, send_length=send_length)
    assert "larger than" in str(fetch_fails(provider_for(server, transport=transport)))


def test_regression_trickled_headers_do_not_outlast_the_timeout(
    rsa_key: rsa.RSAPrivateKey, transport: Transport | None
) -> None:
    # 16.7: a key server trickling its headers held a key fetch 20 s at timeout=2, as every
    # read got its byte in time. The answer here is a valid key, sent whole after 4 s.
    trickler = TrickleServer(public_pem(rsa_key).encode())
    with trickler.running():
        provider = keys.AtlassianKeyProvider(
            base_url=trickler.url, timeout=FAST, transport=transport
        )
        error = fetch_fails(provider)
        assert "timed out" in str(error)
        # The client gave up before the last header byte: the server never finished.
        assert trickler.connections == 1 and trickler.completed == 0


def test_a_transport_of_ones_own_gets_a_capped_get(rsa_key: rsa.RSAPrivateKey) -> None:
    requests_seen: list[HTTPRequest] = []

    def transport(request: HTTPRequest) -> HTTPResponse:
        requests_seen.append(request)
        return HTTPResponse(200, public_pem(rsa_key).encode())

    provider = keys.AtlassianKeyProvider(
        base_url="https://keys.example", timeout=3, max_bytes=2048, transport=transport
    )
    assert provider.get_key(KID).public_numbers() == rsa_key.public_key().public_numbers()
    [request] = requests_seen
    assert (request.method, request.url) == ("GET", f"https://keys.example/{KID}")
    assert request.body is None
    assert (request.timeout, request.max_bytes) == (3, 2048)
    assert request.headers["Accept-Encoding"] == "identity"


def test_an_answer_the_transport_found_too_large_is_refused() -> None:
    provider = keys.AtlassianKeyProvider(
        base_url="https://keys.example",
        transport=lambda request: HTTPResponse(200, b"-----BEGIN", too_large=True),
    )
    assert "larger than" in str(fetch_fails(provider))


def test_the_default_transport_is_the_standard_library_even_with_requests_installed(
    server: FakeAtlassianKeyServer, rsa_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    def no_requests(*args: object, **kwargs: object) -> None:
        raise AssertionError("the key fetch went through requests")

    # Before 4.0 keys.fetch used requests whenever it was importable (its CA bundle, its
    # proxies): a choice made by an unrelated extra.
    monkeypatch.setattr(requests.Session, "request", no_requests)
    monkeypatch.setattr(requests, "get", no_requests)
    assert provider_for(server).get_key(KID).key_size == 2048
    assert server.hit_count() == 1


def test_other_key_types_are_refused(
    server: FakeAtlassianKeyServer, rsa_key: rsa.RSAPrivateKey
) -> None:
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
        server.respond("GET", f"/{KID}", body=body)
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
        with pytest.raises(
            ImportError,
            match=r"pip install 'cryptography>=3\.4'"
            r" \(the \[crypto\] extra of atlassian-jwt 4\)",
        ):
            make()
