"""The fake install-key server: callbacks signed as Atlassian signs them, verified by the app."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import AtlassianKeyProvider, InstallAuthenticator
from atlassian_jwt import exceptions as exc
from atlassian_jwt.lifecycle import LIFECYCLE_EVENTS, LifecycleHandler
from atlassian_jwt.tenants import MemoryTenantStore
from atlassian_jwt.testing import (
    FakeAtlassianKeyServer,
    LifecycleRequest,
    make_tenant,
    new_rsa_key,
    public_pem,
    refused_url,
)
from atlassian_jwt.testing.key_server import LIFECYCLE_ALGORITHMS
from atlassian_jwt.url_utils import hash_url

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

# Needs cryptography, imported by the kit only when a key is made.
pytestmark = pytest.mark.extras

APP_BASE = "https://apps.example.com/my-app"


@pytest.fixture(scope="module")
def rsa_key() -> RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def keys(rsa_key: RSAPrivateKey) -> Iterator[FakeAtlassianKeyServer]:
    with FakeAtlassianKeyServer(APP_BASE, private_key=rsa_key) as server:
        yield server


@pytest.fixture
def tenant() -> dict[str, Any]:
    return make_tenant()


def verify(installs: InstallAuthenticator, request: LifecycleRequest) -> atlassian_jwt.AuthResult:
    return installs.authenticate(request.method, request.path, request.headers, request.body)


def test_installed_verifies_with_the_server_as_key_provider(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any]
) -> None:
    request = keys.lifecycle_request("installed", tenant)
    result = verify(InstallAuthenticator(APP_BASE, key_provider=keys), request)
    assert result.client_key == tenant["clientKey"]
    assert keys.hit_count() == 0  # no HTTP needed for a key provider


def test_installed_verifies_over_http(keys: FakeAtlassianKeyServer, tenant: dict[str, Any]) -> None:
    provider = AtlassianKeyProvider(base_url=keys.url)
    installs = InstallAuthenticator(APP_BASE, key_provider=provider)
    for event in ("installed", "uninstalled", "installed"):
        assert verify(installs, keys.lifecycle_request(event, tenant)).client_key
    assert keys.hits == {f"/{keys.kid}": 1}  # the provider caches the key by kid


def test_the_request_is_what_atlassian_sends(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any]
) -> None:
    request = keys.lifecycle_request("installed", tenant, account_id="557058:admin")
    assert (request.method, request.url) == ("POST", f"{APP_BASE}/installed")
    assert request.path == "/my-app/installed"
    assert request.payload == {**tenant, "eventType": "installed"}
    assert request.headers == {
        "Authorization": f"JWT {request.token}",
        "Content-Type": "application/json",
    }
    assert jwt.get_unverified_header(request.token) == {
        "alg": "RS256",
        "kid": keys.kid,
        "typ": "JWT",
    }
    claims = jwt.decode(request.token, keys.public_pem(), ["RS256"], audience=APP_BASE)
    assert claims["iss"] == tenant["clientKey"] and claims["aud"] == [APP_BASE]
    assert claims["qsh"] == hash_url("POST", "/installed")  # relative to the base URL
    assert claims["sub"] == "557058:admin" and claims["context"] == {}
    assert claims["exp"] > time.time() > claims["iat"] - 5


def test_served_key_is_the_pem_text(keys: FakeAtlassianKeyServer, rsa_key: RSAPrivateKey) -> None:
    with urllib.request.urlopen(f"{keys.url}/{keys.kid}") as response:
        assert response.headers["Content-Type"] == "application/x-pem-file"
        assert response.read().decode() == keys.public_pem() == public_pem(rsa_key)
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{keys.url}/no-such-kid")
    with missing.value:
        assert missing.value.code == 404


def test_whole_lifecycle_through_the_handler(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any]
) -> None:
    store = MemoryTenantStore()
    handler = LifecycleHandler(store, InstallAuthenticator(APP_BASE, key_provider=keys))
    for event in ("installed", "enabled", "disabled"):
        request = keys.lifecycle_request(event, tenant)
        getattr(handler, event)(request.method, request.path, request.headers, request.body)
    assert store.get(tenant["clientKey"]) == {**tenant, "eventType": "installed"}
    request = keys.lifecycle_request("uninstalled", tenant, now=time.time() + 1)
    handler.uninstalled(request.method, request.path, request.headers, request.body)
    assert store.get(tenant["clientKey"]) is None


def test_enabled_and_disabled_are_signed_with_the_shared_secret(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any]
) -> None:
    token = keys.lifecycle_request("enabled", tenant).token
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, tenant["sharedSecret"], ["HS256"])
    assert claims["iss"] == tenant["clientKey"]
    assert claims["qsh"] == hash_url("POST", "/enabled")


def test_descriptor_paths_and_another_base(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any]
) -> None:
    base = "https://other.example.com"
    request = keys.lifecycle_request(
        "installed", tenant, app_base_url=base + "/", path="/lifecycle/installed?v=2"
    )
    assert request.url == base + "/lifecycle/installed?v=2"
    assert request.path == "/lifecycle/installed?v=2"
    assert verify(InstallAuthenticator(base, key_provider=keys), request)


def test_rotation_keeps_old_keys_served(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any], rsa_key: RSAPrivateKey
) -> None:
    installs = InstallAuthenticator(APP_BASE, key_provider=AtlassianKeyProvider(base_url=keys.url))
    old = keys.kid
    new = keys.rotate(rsa_key, kid="2024-rotation")
    assert (new, keys.kid, keys.kids) == ("2024-rotation", "2024-rotation", (old, new))
    assert verify(installs, keys.lifecycle_request("installed", tenant))
    assert verify(installs, keys.lifecycle_request("installed", tenant, kid=old))
    assert (
        jwt.get_unverified_header(keys.lifecycle_request("installed", tenant).token)["kid"] == new
    )


def test_a_removed_key_is_unknown(keys: FakeAtlassianKeyServer, tenant: dict[str, Any]) -> None:
    installs = InstallAuthenticator(APP_BASE, key_provider=AtlassianKeyProvider(base_url=keys.url))
    request = keys.lifecycle_request("installed", tenant)
    keys.remove_key(keys.kid)
    with pytest.raises(exc.UnknownKeyError):
        verify(installs, request)
    with pytest.raises(exc.UnknownKeyError):
        verify(InstallAuthenticator(APP_BASE, key_provider=keys), request)


def test_a_token_for_another_app_is_refused(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any]
) -> None:
    request = keys.lifecycle_request(
        "installed", tenant, claims={"aud": ["https://another-app.example.com"]}
    )
    with pytest.raises(exc.InvalidAudienceError):
        verify(InstallAuthenticator(APP_BASE, key_provider=keys), request)


def test_another_key_servers_signature_is_refused(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any], rsa_key: RSAPrivateKey
) -> None:
    # Same kid, another key: only the signature tells them apart.
    forger = FakeAtlassianKeyServer(APP_BASE, private_key=new_rsa_key(), kid=keys.kid)
    request = forger.lifecycle_request("installed", tenant)
    with pytest.raises(exc.InvalidSignatureError):
        verify(InstallAuthenticator(APP_BASE, key_provider=keys), request)


def test_expired_callback(keys: FakeAtlassianKeyServer, tenant: dict[str, Any]) -> None:
    request = keys.lifecycle_request("installed", tenant, lifetime=60, now=time.time() - 600)
    with pytest.raises(exc.TokenExpiredError):
        verify(InstallAuthenticator(APP_BASE, key_provider=keys), request)


@pytest.mark.parametrize("status", [500, 503, 403])
def test_key_server_failures_are_fetch_errors(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any], status: int
) -> None:
    keys.respond("GET", f"/{keys.kid}", status=status)
    installs = InstallAuthenticator(APP_BASE, key_provider=AtlassianKeyProvider(base_url=keys.url))
    with pytest.raises(exc.KeyFetchError):
        verify(installs, keys.lifecycle_request("installed", tenant))


def test_an_unreachable_key_server(keys: FakeAtlassianKeyServer, tenant: dict[str, Any]) -> None:
    provider = AtlassianKeyProvider(base_url=refused_url(), timeout=5)
    installs = InstallAuthenticator(APP_BASE, key_provider=provider)
    with pytest.raises(exc.KeyFetchError, match="Could not fetch the key"):
        verify(installs, keys.lifecycle_request("installed", tenant))


def test_a_slow_key_server_times_out(keys: FakeAtlassianKeyServer, tenant: dict[str, Any]) -> None:
    keys.respond("GET", f"/{keys.kid}", body=keys.public_pem(), delay=30)
    provider = AtlassianKeyProvider(base_url=keys.url, timeout=0.2)
    started = time.monotonic()
    request = keys.lifecycle_request("installed", tenant)
    with pytest.raises(exc.KeyFetchError, match="timed out"):
        verify(InstallAuthenticator(APP_BASE, key_provider=provider), request)
    assert time.monotonic() - started < 10  # a hang would be caught here, not a speed check


def test_stopping_cuts_a_delayed_reply_short(rsa_key: RSAPrivateKey) -> None:
    server = FakeAtlassianKeyServer(APP_BASE, private_key=rsa_key).start()
    server.respond("GET", "/slow", delay=60)
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1]))) as client:
        client.sendall(b"GET /slow HTTP/1.0\r\n\r\n")
        while server.hit_count() == 0:
            time.sleep(0.01)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 10
        assert client.recv(100) == b""  # closed unanswered


def test_the_port_is_closed_after_the_block(rsa_key: RSAPrivateKey) -> None:
    with FakeAtlassianKeyServer(APP_BASE, private_key=rsa_key) as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert not server.errors
    assert not server.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    with pytest.raises(RuntimeError, match="started already"):
        server.start()


def test_url_before_start(rsa_key: RSAPrivateKey) -> None:
    server = FakeAtlassianKeyServer(APP_BASE, private_key=rsa_key)
    with pytest.raises(RuntimeError, match="with block"):
        server.url  # noqa: B018
    server.stop()  # a server never started stops quietly


def test_localhost_is_another_origin(rsa_key: RSAPrivateKey) -> None:
    with FakeAtlassianKeyServer(private_key=rsa_key, host="localhost") as server:
        assert server.url.startswith("http://localhost:")
        with urllib.request.urlopen(f"{server.url}/{server.kid}") as response:
            assert response.status == 200


def test_misuse_is_a_clear_error(
    keys: FakeAtlassianKeyServer, tenant: dict[str, Any], rsa_key: RSAPrivateKey
) -> None:
    with pytest.raises(ValueError, match="event"):
        keys.lifecycle_request("deleted", tenant)
    with pytest.raises(ValueError, match="app base URL"):
        FakeAtlassianKeyServer(private_key=rsa_key).lifecycle_request("installed", tenant)
    with pytest.raises(ValueError, match="clientKey"):
        keys.lifecycle_request("installed", {**tenant, "clientKey": None})
    with pytest.raises(ValueError, match="kid"):
        keys.rotate(kid="../escape")
    with pytest.raises(ValueError, match="exists"):
        keys.rotate(kid=keys.kid)
    with pytest.raises(TypeError, match="RSA private key"):
        FakeAtlassianKeyServer(private_key="not a key")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="host"):
        FakeAtlassianKeyServer(private_key=rsa_key, host="0.0.0.0")


def test_body_is_json_text(keys: FakeAtlassianKeyServer, tenant: dict[str, Any]) -> None:
    body = keys.lifecycle_request("uninstalled", tenant).body
    assert json.loads(body.decode("utf-8"))["eventType"] == "uninstalled"


def test_reprs_show_no_credentials(keys: FakeAtlassianKeyServer, tenant: dict[str, Any]) -> None:
    request = keys.lifecycle_request("installed", tenant)
    assert repr(request) == (
        f"LifecycleRequest(event='installed', method='POST', url='{APP_BASE}/installed')"
    )
    assert repr(keys) == f"<FakeAtlassianKeyServer {keys.url}>"
    keys.stop()
    assert repr(keys).endswith(" stopped>")


def test_the_fake_signs_every_lifecycle_event_the_library_handles() -> None:
    # One list of events (atlassian_jwt.lifecycle); the fake only says how each is signed.
    assert tuple(LIFECYCLE_ALGORITHMS) == LIFECYCLE_EVENTS
    assert {LIFECYCLE_ALGORITHMS[event] for event in ("installed", "uninstalled")} == {"RS256"}
