"""Lifecycle handling: verified before stored, the attacks refused, any order ends consistent."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from jwt.utils import base64url_encode

import atlassian_jwt
from atlassian_jwt import InstallAuthenticator, StaticKeyProvider
from atlassian_jwt import exceptions as exc
from atlassian_jwt.lifecycle import LifecycleHandler
from atlassian_jwt.tenants import (
    MemoryTenantStore,
    SQLiteTenantStore,
    TenantStore,
    TenantStoreError,
)
from atlassian_jwt.testing import FakeAtlassianKeyServer, product_request_headers
from atlassian_jwt.url_utils import hash_url
from tests.readme import run_example
from tests.support import APP_KEY, CLIENT_KEY, SECRET

# Needs cryptography (RS256), imported lazily so that the module is still collected without it.
pytestmark = pytest.mark.extras

KID = "7f1a6a4e-0a2b-4c34-9d5e-6f7a8b9c0d1e"
APP_BASE = "https://apps.example.com/my-app"
NEW_SECRET = "a-new-shared-secret-from-the-reinstall-that-is-long-enough-for-hmac"
ATTACKER_SECRET = "an-attackers-own-secret-that-is-long-enough-for-hmac-sha256-keys!"
#: The tenant as Atlassian signs for it: its client key, and the secret of its calls.
TENANT = {"clientKey": CLIENT_KEY, "sharedSecret": SECRET}


@pytest.fixture(scope="module")
def atlassian() -> FakeAtlassianKeyServer:
    """Atlassian's signer of lifecycle callbacks, and the key provider for its key."""
    return FakeAtlassianKeyServer(APP_BASE, kid=KID)


@pytest.fixture(params=["memory", "sqlite"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], TenantStore]:
    """Opens the test's store; for SQLite, a new store on the same file each time, as
    another process would."""
    if request.param == "memory":
        store = MemoryTenantStore(app_key=APP_KEY)
        return lambda: store
    return lambda: SQLiteTenantStore(tmp_path / "tenants.db", app_key=APP_KEY)


@pytest.fixture
def store(open_store: Callable[[], TenantStore]) -> TenantStore:
    return open_store()


@pytest.fixture
def installs(atlassian: FakeAtlassianKeyServer) -> InstallAuthenticator:
    # The public key as PEM text, as the key server serves it.
    return InstallAuthenticator(
        APP_BASE, key_provider=StaticKeyProvider({KID: atlassian.public_pem()})
    )


@pytest.fixture
def lifecycle(store: TenantStore, installs: InstallAuthenticator) -> LifecycleHandler:
    return LifecycleHandler(store, installs)


def body(event: str, secret: str | None = SECRET, **changes: Any) -> bytes:
    payload: dict[str, Any] = {
        "key": APP_KEY,
        "clientKey": CLIENT_KEY,
        "baseUrl": "https://example.atlassian.net",
        "productType": "jira",
        "eventType": event,
        **changes,
    }
    if secret is not None and event == "installed":
        payload["sharedSecret"] = secret
    return json.dumps(payload).encode()


def signed(
    atlassian: FakeAtlassianKeyServer, path: str, *, iat: int | None = None, **claims: Any
) -> dict[str, str]:
    """Headers of a lifecycle call (``/installed`` or ``/uninstalled``) as Atlassian signs it,
    RS256 with its key, valid 180 seconds from ``iat``."""
    event = path.lstrip("/")
    request = atlassian.lifecycle_request(event, TENANT, now=iat, lifetime=180, claims=claims)
    return {"Authorization": request.headers["Authorization"]}


def shared(secret: str, method: str, path: str, **claims: Any) -> dict[str, str]:
    """Headers of a call signed with a shared secret (HS256), as enabled/disabled are."""
    tenant = {**TENANT, "sharedSecret": secret}
    return product_request_headers(method, path, tenant, lifetime=180, claims=claims)


def install(
    lifecycle: LifecycleHandler, key: Any, secret: str = SECRET, *, iat: int | None = None
) -> atlassian_jwt.AuthResult:
    url = f"{APP_BASE}/installed"
    return lifecycle.installed(
        "POST", url, signed(key, "/installed", iat=iat), body("installed", secret)
    )


def secret_of(store: TenantStore) -> str | None:
    tenant = store.get(CLIENT_KEY)
    return None if tenant is None else tenant["sharedSecret"]


# The genuine flow.


def test_install_enable_disable_uninstall(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    result = install(lifecycle, atlassian)
    assert result.client_key == CLIENT_KEY
    assert store.get(CLIENT_KEY) == json.loads(body("installed"))

    for event in ("enabled", "disabled"):
        handle = getattr(lifecycle, event)
        headers = shared(SECRET, "POST", f"/{event}")
        assert handle("POST", f"{APP_BASE}/{event}", headers, body(event)).client_key == CLIENT_KEY
    assert secret_of(store) == SECRET  # enabled/disabled change nothing

    lifecycle.uninstalled(
        "POST",
        f"{APP_BASE}/uninstalled",
        signed(atlassian, "/uninstalled"),
        body("uninstalled"),
    )
    assert store.get(CLIENT_KEY) is None
    with pytest.raises(exc.UnknownIssuerError):  # its secret is gone with it
        lifecycle.enabled(
            "POST", f"{APP_BASE}/enabled", shared(SECRET, "POST", "/enabled"), body("enabled")
        )


def test_reinstall_replaces_the_secret(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    now = int(time.time())
    install(lifecycle, atlassian, iat=now - 5)
    install(lifecycle, atlassian, NEW_SECRET, iat=now)
    assert secret_of(store) == NEW_SECRET
    with pytest.raises(exc.InvalidSignatureError):
        lifecycle.enabled(
            "POST", f"{APP_BASE}/enabled", shared(SECRET, "POST", "/enabled"), body("enabled")
        )


def test_body_as_text_or_mapping(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    now = int(time.time())
    headers = signed(atlassian, "/installed", iat=now - 1)
    lifecycle.installed("POST", "/my-app/installed", headers, json.loads(body("installed")))
    assert secret_of(store) == SECRET
    headers = signed(atlassian, "/installed", iat=now)
    lifecycle.installed(
        "POST", "/my-app/installed", headers, body("installed", NEW_SECRET).decode()
    )
    assert secret_of(store) == NEW_SECRET


# The attacks: nothing but a genuine, current install may change a tenant's secret.


def assert_untouched(store: TenantStore) -> None:
    assert secret_of(store) == SECRET


@pytest.fixture
def installed(
    lifecycle: LifecycleHandler, atlassian: FakeAtlassianKeyServer, store: TenantStore
) -> None:
    install(lifecycle, atlassian, iat=int(time.time()) - 10)


@pytest.mark.usefixtures("installed")
def test_unsigned_installed_cannot_overwrite_a_secret(
    lifecycle: LifecycleHandler, store: TenantStore
) -> None:
    with pytest.raises(exc.TokenMissingError):
        lifecycle.installed("POST", "/my-app/installed", {}, body("installed", ATTACKER_SECRET))
    assert_untouched(store)


@pytest.mark.usefixtures("installed")
@pytest.mark.parametrize("allow_hs256", [False, True])
def test_hs256_installed_with_the_attackers_secret_cannot_overwrite(
    store: TenantStore, installs: InstallAuthenticator, allow_hs256: bool
) -> None:
    lifecycle = LifecycleHandler(store, installs, allow_hs256=allow_hs256)
    headers = shared(ATTACKER_SECRET, "POST", "/installed", aud=APP_BASE)
    with pytest.raises(atlassian_jwt.DecodeError):
        lifecycle.installed(
            "POST", "/my-app/installed", headers, body("installed", ATTACKER_SECRET)
        )
    assert_untouched(store)


@pytest.mark.usefixtures("installed")
def test_alg_none_installed_cannot_overwrite(
    lifecycle: LifecycleHandler, store: TenantStore
) -> None:
    now = int(time.time())
    claims = {"iss": CLIENT_KEY, "aud": APP_BASE, "iat": now, "exp": now + 60}
    token = (
        ".".join(
            base64url_encode(json.dumps(part).encode()).decode()
            for part in (
                {"alg": "none", "typ": "JWT"},
                {**claims, "qsh": hash_url("POST", "/installed")},
            )
        )
        + "."
    )
    with pytest.raises(exc.AlgorithmNotAllowedError):
        lifecycle.installed(
            "POST", "/my-app/installed", {"Authorization": f"JWT {token}"}, body("installed", "x")
        )
    assert_untouched(store)


@pytest.mark.usefixtures("installed")
def test_hs256_lifecycle_with_the_stored_secret_only_when_allowed(
    store: TenantStore, installs: InstallAuthenticator
) -> None:
    headers = shared(SECRET, "POST", "/installed")
    new_body = body("installed", NEW_SECRET)
    with pytest.raises(exc.AlgorithmNotAllowedError):
        LifecycleHandler(store, installs).installed("POST", "/my-app/installed", headers, new_body)
    assert_untouched(store)
    LifecycleHandler(store, installs, allow_hs256=True).installed(
        "POST", "/my-app/installed", headers, new_body
    )
    assert secret_of(store) == NEW_SECRET


@pytest.mark.usefixtures("installed")
@pytest.mark.parametrize("event", ["installed", "uninstalled", "enabled", "disabled"])
def test_a_context_token_is_refused_on_every_lifecycle_route(
    store: TenantStore, installs: InstallAuthenticator, event: str
) -> None:
    lifecycle = LifecycleHandler(store, installs, allow_hs256=True)
    headers = shared(SECRET, "POST", "/x", qsh=atlassian_jwt.CONTEXT_QSH)
    with pytest.raises(exc.QshMismatchError):
        getattr(lifecycle, event)("POST", f"/my-app/{event}", headers, body(event, NEW_SECRET))
    assert_untouched(store)


@pytest.mark.usefixtures("installed")
def test_an_install_token_replayed_on_uninstalled(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    headers = signed(atlassian, "/installed")
    with pytest.raises(exc.QshMismatchError):
        lifecycle.uninstalled("POST", "/my-app/uninstalled", headers, body("uninstalled"))
    assert_untouched(store)


@pytest.mark.usefixtures("installed")
def test_another_apps_install_token(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    headers = signed(atlassian, "/installed", aud="https://other-vendor.example.com")
    with pytest.raises(exc.InvalidAudienceError):
        lifecycle.installed("POST", "/my-app/installed", headers, body("installed", NEW_SECRET))
    assert_untouched(store)


@pytest.mark.usefixtures("installed")
def test_enabled_body_naming_another_tenant(lifecycle: LifecycleHandler) -> None:
    headers = shared(SECRET, "POST", "/enabled")
    with pytest.raises(exc.InvalidIssuerError):
        lifecycle.enabled("POST", "/my-app/enabled", headers, body("enabled", clientKey="jira:x"))


@pytest.mark.usefixtures("installed")
@pytest.mark.parametrize(
    "bad_body",
    [
        b"not json",
        b"[1, 2]",
        b'{"clientKey": "a", "clientKey": "b", "sharedSecret": "s"}',
        body("installed", None),
        body("installed", ""),
    ],
    ids=["not-json", "not-object", "duplicate-name", "no-secret", "empty-secret"],
)
def test_malformed_installed_bodies(
    lifecycle: LifecycleHandler,
    store: TenantStore,
    atlassian: FakeAtlassianKeyServer,
    bad_body: bytes,
) -> None:
    with pytest.raises(exc.MalformedRequestError):
        lifecycle.installed("POST", "/my-app/installed", signed(atlassian, "/installed"), bad_body)
    assert_untouched(store)


@pytest.mark.usefixtures("installed")
def test_key_fetch_failure_is_not_a_rejection(
    store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    class Unreachable:
        def get_key(self, kid: str) -> Any:
            raise exc.KeyFetchError("Atlassian's key server did not answer")

    lifecycle = LifecycleHandler(store, InstallAuthenticator(APP_BASE, key_provider=Unreachable()))
    with pytest.raises(exc.KeyFetchError) as info:
        lifecycle.installed(
            "POST", "/my-app/installed", signed(atlassian, "/installed"), body("installed", "x")
        )
    assert not isinstance(info.value, atlassian_jwt.DecodeError)
    assert_untouched(store)


def test_store_failure_propagates(
    tmp_path: Path, installs: InstallAuthenticator, atlassian: FakeAtlassianKeyServer
) -> None:
    import sqlite3

    store = SQLiteTenantStore(tmp_path / "t.db", app_key=APP_KEY, timeout=0.05)
    holder = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(TenantStoreError):
            install(LifecycleHandler(store, installs), atlassian)
    finally:
        holder.close()


# Replays: the install token does not sign the body.


def token_sha256(headers: dict[str, str]) -> str:
    return hashlib.sha256(headers["Authorization"].split()[1].encode()).hexdigest()


def test_regression_a_replayed_install_token_installs_another_secret(
    open_store: Callable[[], TenantStore],
    installs: InstallAuthenticator,
    atlassian: FakeAtlassianKeyServer,
) -> None:
    """Issue 16.8: a genuine installed request seen in a proxy's log was accepted again,
    within its token's lifetime, with the attacker's sharedSecret in the body."""
    store = open_store()
    headers = signed(atlassian, "/installed")
    genuine = body("installed")
    LifecycleHandler(store, installs).installed("POST", "/my-app/installed", headers, genuine)

    # Another worker (for SQLite another store on the file, as in another process).
    elsewhere = LifecycleHandler(open_store(), installs)
    with pytest.raises(exc.TokenReplayedError) as caught:
        elsewhere.installed("POST", "/my-app/installed", headers, body("installed", NEW_SECRET))
    assert caught.value.code == "token_replayed" and caught.value.client_key == CLIENT_KEY
    assert isinstance(caught.value, atlassian_jwt.DecodeError)
    assert_untouched(store)

    # Atlassian's retry of the same request, however the app passes the body, is applied.
    respaced = json.dumps(dict(reversed(list(json.loads(genuine).items()))), indent=2)
    for again in (genuine, genuine.decode(), json.loads(genuine), respaced):
        result = elsewhere.installed("POST", "/my-app/installed", headers, again)
        assert result.client_key == CLIENT_KEY
        assert_untouched(store)


def test_a_replayed_uninstall_token_with_another_body_is_refused(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    now = int(time.time())
    install(lifecycle, atlassian, iat=now - 10)
    headers = signed(atlassian, "/uninstalled", iat=now - 5)
    lifecycle.uninstalled("POST", "/my-app/uninstalled", headers, body("uninstalled"))
    install(lifecycle, atlassian, NEW_SECRET, iat=now)
    with pytest.raises(exc.TokenReplayedError):
        lifecycle.uninstalled(
            "POST", "/my-app/uninstalled", headers, body("uninstalled", baseUrl="https://x.test")
        )
    assert secret_of(store) == NEW_SECRET


def test_a_lifecycle_token_is_remembered_until_it_expires_with_the_leeway(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    now = int(time.time())
    headers = signed(atlassian, "/installed", iat=now)  # exp: now + 180
    lifecycle.installed("POST", "/my-app/installed", headers, body("installed"))
    other = hashlib.sha256(b"another body").hexdigest()
    until = now + 180 + lifecycle.install_authenticator.leeway
    with time_machine.travel(until - 1, tick=False):
        assert not store.remember_lifecycle_token(
            token_sha256(headers), other, expires_at=until + 60
        )
    with time_machine.travel(until + 1, tick=False):
        assert store.remember_lifecycle_token(token_sha256(headers), other, expires_at=until + 60)


def test_a_retry_after_a_failed_save_is_applied(
    store: TenantStore, installs: InstallAuthenticator, atlassian: FakeAtlassianKeyServer
) -> None:
    # The token is remembered before the tenant is saved: when the save fails (503),
    # Atlassian's retry of the same request must still install the tenant.
    class FailingOnce:
        def __init__(self, store: TenantStore) -> None:
            self.store = store
            self.failed = False

        def __getattr__(self, name: str) -> Any:
            return getattr(self.store, name)

        def save(self, tenant: Any, *, event_time: float | None = None) -> None:
            if not self.failed:
                self.failed = True
                raise TenantStoreError("the tenant database is locked")
            self.store.save(tenant, event_time=event_time)

    lifecycle = LifecycleHandler(FailingOnce(store), installs)
    headers = signed(atlassian, "/installed")
    with pytest.raises(TenantStoreError):
        lifecycle.installed("POST", "/my-app/installed", headers, body("installed"))
    assert store.get(CLIENT_KEY) is None
    lifecycle.installed("POST", "/my-app/installed", headers, body("installed"))
    assert_untouched(store)


# One app per store.


@pytest.mark.usefixtures("installed")
@pytest.mark.parametrize("key", ["com.example.other-app", "", None])
def test_a_callback_for_another_app_is_refused(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer, key: Any
) -> None:
    # Two apps served from one base URL: app Y's genuine callbacks reach app X's routes.
    headers = signed(atlassian, "/installed")
    with pytest.raises(exc.InvalidAudienceError, match="another app"):
        lifecycle.installed(
            "POST", "/my-app/installed", headers, body("installed", NEW_SECRET, key=key)
        )
    headers = signed(atlassian, "/uninstalled")
    with pytest.raises(exc.InvalidAudienceError, match="another app"):
        lifecycle.uninstalled("POST", "/my-app/uninstalled", headers, body("uninstalled", key=key))
    assert_untouched(store)


def test_an_unbound_store_takes_any_apps_callbacks(
    installs: InstallAuthenticator, atlassian: FakeAtlassianKeyServer
) -> None:
    store = MemoryTenantStore()
    lifecycle = LifecycleHandler(store, installs)
    headers = signed(atlassian, "/installed")
    lifecycle.installed("POST", "/my-app/installed", headers, body("installed", key="other"))
    assert secret_of(store) == SECRET


@pytest.mark.parametrize(
    "bad_body",
    [
        body("installed", installationId=""),
        body("installed", installationId=42),
        body("installed", installationId="ari:\ud800"),
        body("installed").replace(b'"productType": "jira"', b'"productType": NaN'),
    ],
    ids=["empty-installation", "number-installation", "surrogate-installation", "nan"],
)
def test_bodies_no_store_can_keep_are_malformed(
    lifecycle: LifecycleHandler,
    store: TenantStore,
    atlassian: FakeAtlassianKeyServer,
    bad_body: bytes,
) -> None:
    with pytest.raises(exc.MalformedRequestError):
        lifecycle.installed("POST", "/my-app/installed", signed(atlassian, "/installed"), bad_body)
    assert store.get(CLIENT_KEY) is None


def test_a_connect_on_forge_install_is_found_by_its_installation(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    installation = "ari:cloud:ecosystem::installation/5d5f3c1a-8d1e-4c8e-9a57-2f3c1a9d8e01"
    lifecycle.installed(
        "POST",
        "/my-app/installed",
        signed(atlassian, "/installed"),
        body("installed", installationId=installation),
    )
    assert store.get_by_installation_id(installation) == store.get(CLIENT_KEY)


INSTALLATION = "ari:cloud:ecosystem::installation/5d5f3c1a-8d1e-4c8e-9a57-2f3c1a9d8e01"
#: An app system token as Forge sends it (its value is not read here).
APP_TOKEN = "eyJhbGciOiJub25lIn0.eyJleHAiOjIwMDAwMDAwMDB9.c2ln"


def install_on_forge(
    lifecycle: LifecycleHandler, atlassian: FakeAtlassianKeyServer, *, iat: int
) -> None:
    """A Connect-on-Forge install, and the Forge app token kept for its installation."""
    lifecycle.installed(
        "POST",
        "/my-app/installed",
        signed(atlassian, "/installed", iat=iat),
        body("installed", installationId=INSTALLATION),
    )
    lifecycle.store.save_app_token(
        INSTALLATION, APP_TOKEN, expires_at=2e9, api_base_url="https://api.atlassian.com/ex/jira/1"
    )


def test_an_uninstall_forgets_the_installations_forge_app_token(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    # A bearer credential for an installation that is gone is kept no longer.
    now = int(time.time())
    install_on_forge(lifecycle, atlassian, iat=now - 10)
    assert store.get_app_token(INSTALLATION) is not None
    lifecycle.uninstalled(
        "POST",
        "/my-app/uninstalled",
        signed(atlassian, "/uninstalled", iat=now),
        body("uninstalled"),
    )
    assert store.get(CLIENT_KEY) is None
    assert store.get_app_token(INSTALLATION) is None


def test_an_uninstall_older_than_a_reinstall_keeps_the_app_token(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    now = int(time.time())
    install_on_forge(lifecycle, atlassian, iat=now)
    lifecycle.uninstalled(
        "POST",
        "/my-app/uninstalled",
        signed(atlassian, "/uninstalled", iat=now - 30),
        body("uninstalled"),
    )
    assert store.get_by_installation_id(INSTALLATION) is not None
    kept = store.get_app_token(INSTALLATION)
    assert kept is not None and kept.value == APP_TOKEN


# Out of order and at once.


def test_an_install_older_than_the_uninstall_is_ignored(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    now = int(time.time())
    install(lifecycle, atlassian, iat=now - 20)
    lifecycle.uninstalled(
        "POST",
        "/my-app/uninstalled",
        signed(atlassian, "/uninstalled", iat=now - 5),
        body("uninstalled"),
    )
    install(lifecycle, atlassian, NEW_SECRET, iat=now - 10)  # a retry, delivered late
    assert store.get(CLIENT_KEY) is None
    install(lifecycle, atlassian, NEW_SECRET, iat=now)  # a real reinstall
    assert secret_of(store) == NEW_SECRET


def test_an_uninstall_older_than_a_reinstall_is_ignored(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    now = int(time.time())
    install(lifecycle, atlassian, NEW_SECRET, iat=now)
    lifecycle.uninstalled(
        "POST",
        "/my-app/uninstalled",
        signed(atlassian, "/uninstalled", iat=now - 30),
        body("uninstalled"),
    )
    assert secret_of(store) == NEW_SECRET


@pytest.mark.slow
def test_concurrent_installs_and_uninstalls_end_with_the_newest(
    lifecycle: LifecycleHandler, store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    now = int(time.time())
    # Twelve callbacks over twelve seconds, sent at once in reverse order: the newest, an
    # install with its own secret, must win.
    calls = []
    for age in range(12):
        iat = now - age
        if age % 3 == 1:
            calls.append(
                lambda iat=iat: lifecycle.uninstalled(
                    "POST",
                    "/my-app/uninstalled",
                    signed(atlassian, "/uninstalled", iat=iat),
                    body("uninstalled"),
                )
            )
        else:
            calls.append(lambda iat=iat: install(lifecycle, atlassian, f"{SECRET}-{iat}", iat=iat))
    start = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Any) -> None:
        start.wait()
        try:
            call()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert secret_of(store) == f"{SECRET}-{now}"


# Configuration.


def test_several_base_urls_need_an_explicit_authenticator(
    store: TenantStore, atlassian: FakeAtlassianKeyServer
) -> None:
    installs = InstallAuthenticator(
        ["https://a.example.com", "https://b.example.com"],
        key_provider=StaticKeyProvider({KID: atlassian.public_pem()}),
    )
    with pytest.raises(ValueError, match="several base URLs"):
        LifecycleHandler(store, installs)


def test_enabled_is_verified_relative_to_the_app_base_path(
    lifecycle: LifecycleHandler, atlassian: FakeAtlassianKeyServer
) -> None:
    install(lifecycle, atlassian)
    # The product hashes /enabled: the path relative to https://apps.example.com/my-app.
    headers = shared(SECRET, "POST", "/enabled")
    assert lifecycle.enabled("POST", "/my-app/enabled", headers, body("enabled")).claims["iss"]


def test_repr_shows_no_secret(
    lifecycle: LifecycleHandler, atlassian: FakeAtlassianKeyServer
) -> None:
    install(lifecycle, atlassian)
    assert SECRET not in repr(lifecycle)


def test_readme_example(
    store: TenantStore, atlassian: FakeAtlassianKeyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The example's InstallAuthenticator gets Atlassian's keys by default: here, ours.
    keys = StaticKeyProvider({KID: atlassian.public_pem()})
    monkeypatch.setattr("atlassian_jwt.install.AtlassianKeyProvider", lambda: keys)
    namespace = run_example(
        "lifecycle",
        {
            "store": store,
            "method": "POST",
            "url": f"{APP_BASE}/installed",
            "headers": signed(atlassian, "/installed"),
            "body": body("installed"),
        },
    )
    assert namespace["status"] == 204
    assert secret_of(store) == SECRET
    namespace.update(headers={})
    exec("status = handle_installed(method, url, headers, body)", namespace)
    assert namespace["status"] == 401
