"""Tenant stores: one suite for every store, then what only SQLite has, then the authenticator.

The suite (every test here that takes ``store`` or ``make_store``) also runs against the
SQLAlchemy store, on SQLite and PostgreSQL, from ``tests/integrations/test_sqlalchemy_store.py``.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import pytest
import time_machine

import atlassian_jwt
from atlassian_jwt import exceptions as exc
from atlassian_jwt.tenants import (
    MemoryTenantStore,
    SQLiteTenantStore,
    StoredAppToken,
    TenantStore,
    TenantStoreAuthenticator,
    TenantStoreError,
)
from atlassian_jwt.testing import sign_product_request
from tests.readme import run_example
from tests.support import APP_KEY, CLIENT_KEY, SECRET

ROOT = Path(__file__).parent.parent
OTHER_SECRET = "another-shared-secret-after-a-reinstall-also-long-enough-for-hs512-keys"
OTHER_APP = "com.example.other-app"
INSTALLATION = "ari:cloud:ecosystem::installation/5d5f3c1a-8d1e-4c8e-9a57-2f3c1a9d8e01"
OTHER_INSTALLATION = "ari:cloud:ecosystem::installation/9e3a0b44-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
API_BASE_URL = "https://api.atlassian.com/ex/jira/8c1f4a0e-2d3b-4c5d-9e6f-7a8b9c0d1e2f"
# Text no store can hold, as a token's JSON can carry it: a lone surrogate, NUL.
UNSTORABLE = ["\ud800", "jira:\udfff", "jira:\x00"]


class StoreFactory(Protocol):
    """Opens a store of ``app_key`` on the test's data (the same data on every call)."""

    def __call__(self, app_key: str = APP_KEY) -> TenantStore: ...


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A factory, so a test can open a second store on the same data, or another app's."""
    if request.param == "memory":
        stores: dict[str, TenantStore] = {}

        def memory(app_key: str = APP_KEY) -> TenantStore:
            return stores.setdefault(app_key, MemoryTenantStore(app_key=app_key))

        return memory

    def sqlite(app_key: str = APP_KEY) -> TenantStore:
        return SQLiteTenantStore(tmp_path / "tenants.db", app_key=app_key)

    return sqlite


@pytest.fixture
def store(make_store: StoreFactory) -> TenantStore:
    return make_store()


def with_secret(tenant: dict[str, Any], secret: str) -> dict[str, Any]:
    return {**tenant, "sharedSecret": secret}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def app_token(name: str) -> str:
    """An app system token as Forge sends it (a JWT; its content does not matter here)."""
    return f"eyJhbGciOiJSUzI1NiJ9.eyJ{name}.c2lnbmF0dXJl"


# The protocol, for every store.


def test_save_then_get_returns_the_tenant(store: TenantStore, tenant: dict[str, Any]) -> None:
    assert store.get(CLIENT_KEY) is None
    store.save(tenant)
    assert store.get(CLIENT_KEY) == tenant
    assert store.get("jira:someone-else") is None


def test_get_returns_a_copy_and_save_keeps_one(store: TenantStore, tenant: dict[str, Any]) -> None:
    tenant["nested"] = {"a": [1]}
    store.save(tenant)
    tenant["sharedSecret"] = "changed by the caller after saving"
    got = store.get(CLIENT_KEY)
    assert got is not None
    got["nested"]["a"].append(2)
    again = store.get(CLIENT_KEY)
    assert again is not None
    assert again["sharedSecret"] == SECRET and again["nested"] == {"a": [1]}


def test_save_replaces_the_whole_tenant(store: TenantStore, tenant: dict[str, Any]) -> None:
    store.save({**tenant, "oauthClientId": "old"})
    store.save(with_secret(tenant, OTHER_SECRET))
    assert store.get(CLIENT_KEY) == with_secret(tenant, OTHER_SECRET)


def test_delete_erases_the_tenant(store: TenantStore, tenant: dict[str, Any]) -> None:
    store.save(tenant)
    store.delete(CLIENT_KEY)
    assert store.get(CLIENT_KEY) is None
    store.delete(CLIENT_KEY)
    store.delete("jira:never-installed")
    assert store.get("jira:never-installed") is None
    store.save(tenant)
    assert store.get(CLIENT_KEY) == tenant


def test_an_older_event_is_ignored(store: TenantStore, tenant: dict[str, Any]) -> None:
    store.save(tenant, event_time=100)
    store.save(with_secret(tenant, OTHER_SECRET), event_time=99)
    assert store.get(CLIENT_KEY) == tenant
    store.delete(CLIENT_KEY, event_time=99.5)
    assert store.get(CLIENT_KEY) == tenant
    # The same second: the later write wins (iat has whole seconds).
    store.save(with_secret(tenant, OTHER_SECRET), event_time=100)
    assert store.get(CLIENT_KEY) == with_secret(tenant, OTHER_SECRET)


def test_an_installed_older_than_the_uninstall_stays_uninstalled(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    store.save(tenant, event_time=100)
    store.delete(CLIENT_KEY, event_time=200)
    store.save(tenant, event_time=150)  # a retry of an earlier install, delivered late
    assert store.get(CLIENT_KEY) is None
    store.save(with_secret(tenant, OTHER_SECRET), event_time=201)  # a real reinstall
    assert store.get(CLIENT_KEY) == with_secret(tenant, OTHER_SECRET)


def test_an_uninstall_arriving_before_any_install_is_remembered(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    store.delete(CLIENT_KEY, event_time=200)
    store.save(tenant, event_time=150)
    assert store.get(CLIENT_KEY) is None


def test_a_change_without_event_time_applies_and_keeps_the_latest_time(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    store.delete(CLIENT_KEY, event_time=200)
    store.save(tenant)  # an administrator restores the tenant
    assert store.get(CLIENT_KEY) == tenant
    store.delete(CLIENT_KEY, event_time=150)  # still older than the remembered 200
    assert store.get(CLIENT_KEY) == tenant


@pytest.mark.parametrize(
    "bad",
    [{}, {"clientKey": ""}, {"clientKey": 7}, {"clientKey": None}],
    ids=["missing", "empty", "number", "null"],
)
def test_a_tenant_needs_a_client_key(store: TenantStore, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="clientKey"):
        store.save(bad)


@pytest.mark.parametrize("client_key", ["", 7, None])
def test_client_keys_are_non_empty_strings(store: TenantStore, client_key: Any) -> None:
    with pytest.raises(ValueError, match="clientKey"):
        store.get(client_key)
    with pytest.raises(ValueError, match="clientKey"):
        store.delete(client_key)


@pytest.mark.parametrize("event_time", [True, float("nan"), float("inf"), "100"])
def test_event_time_must_be_a_finite_number(
    store: TenantStore, tenant: dict[str, Any], event_time: Any
) -> None:
    with pytest.raises(ValueError, match="event_time"):
        store.save(tenant, event_time=event_time)
    with pytest.raises(ValueError, match="event_time"):
        store.delete(CLIENT_KEY, event_time=event_time)
    assert store.get(CLIENT_KEY) is None


def test_a_tenant_must_be_json_and_the_error_shows_no_value(store: TenantStore) -> None:
    secret_object = object()
    with pytest.raises(ValueError) as info:
        store.save({"clientKey": CLIENT_KEY, "sharedSecret": secret_object})
    assert repr(secret_object) not in str(info.value)
    assert store.get(CLIENT_KEY) is None


def test_repr_shows_no_secret(store: TenantStore, tenant: dict[str, Any]) -> None:
    store.save(tenant)
    store.save_app_token(
        INSTALLATION, app_token("secret"), expires_at=2e9, api_base_url=API_BASE_URL
    )
    for shown in (repr(store), repr(TenantStoreAuthenticator(store))):
        assert SECRET not in shown and app_token("secret") not in shown
    assert APP_KEY in repr(store)


# One app per store.


def test_regression_two_apps_sharing_a_store_overwrite_each_others_tenant(
    make_store: StoreFactory, tenant: dict[str, Any]
) -> None:
    """Issue 16.3: keyed by clientKey alone, which names the site and not the app, app Y's
    install replaced app X's tenant, its uninstall erased it, and X's routes then took tokens
    signed with Y's secret."""
    store_x, store_y = make_store(APP_KEY), make_store(OTHER_APP)
    tenant_y = {**tenant, "key": OTHER_APP, "sharedSecret": OTHER_SECRET}
    store_x.save(tenant, event_time=100)
    store_y.save(tenant_y, event_time=200)
    assert store_x.get(CLIENT_KEY) == tenant
    assert store_y.get(CLIENT_KEY) == tenant_y

    url = "/page"
    authenticator = TenantStoreAuthenticator(store_x)
    signed_by_y = {"Authorization": f"JWT {product_token(url, OTHER_SECRET)}"}
    with pytest.raises(exc.InvalidSignatureError):
        authenticator.authenticate("GET", url, signed_by_y)
    assert authenticator.authenticate("GET", url, {"Authorization": f"JWT {product_token(url)}"})

    store_y.delete(CLIENT_KEY, event_time=300)
    assert store_y.get(CLIENT_KEY) is None
    assert store_x.get(CLIENT_KEY) == tenant
    # Y's tombstone is Y's: X's own later events still apply.
    store_x.save(with_secret(tenant, OTHER_SECRET), event_time=250)
    assert store_x.get(CLIENT_KEY) == with_secret(tenant, OTHER_SECRET)


def test_a_store_refuses_another_apps_tenant(store: TenantStore, tenant: dict[str, Any]) -> None:
    store.save(tenant)
    for key in (OTHER_APP, "", None, 42):
        with pytest.raises(ValueError, match="another app"):
            store.save({**tenant, "key": key, "sharedSecret": OTHER_SECRET})
    assert store.get(CLIENT_KEY) == tenant
    assert store.app_key == APP_KEY


def test_a_tenant_without_a_key_is_the_stores_apps(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    del tenant["key"]  # an administrator's save, say
    store.save(tenant)
    assert store.get(CLIENT_KEY) == tenant


@pytest.mark.parametrize("app_key", ["", 42, b"com.example.my-app", "app\x00"])
def test_the_app_key_must_be_text(tmp_path: Path, app_key: Any) -> None:
    with pytest.raises(ValueError, match="app_key"):
        MemoryTenantStore(app_key=app_key)
    with pytest.raises(ValueError, match="app_key"):
        SQLiteTenantStore(tmp_path / "t.db", app_key=app_key)


def test_an_unbound_memory_store_takes_any_apps_tenant(tenant: dict[str, Any]) -> None:
    store = MemoryTenantStore()
    store.save({**tenant, "key": OTHER_APP})
    assert store.app_key is None
    assert store.get(CLIENT_KEY) == {**tenant, "key": OTHER_APP}


# Keys from unverified tokens.


def test_regression_a_forged_issuer_with_a_lone_surrogate_crashes_the_store(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    """Issue 16.5: a token whose unverified iss was "\\ud800" (a JSON escape, no secret
    needed) made the SQL stores raise UnicodeEncodeError: HTTP 500 on every URL. Text no store
    can hold names no tenant."""
    store.save(tenant)
    authenticator = TenantStoreAuthenticator(store)
    for issuer in UNSTORABLE:
        assert store.get(issuer) is None
        assert store.get_by_installation_id(issuer) is None
        assert store.get_app_token(issuer) is None
        token = product_token("/page", issuer=issuer)
        with pytest.raises(exc.UnknownIssuerError) as caught:
            authenticator.authenticate("GET", "/page", {"Authorization": f"JWT {token}"})
        assert vars(caught.value)["client_key"].isprintable()
        for bad in ({**tenant, "clientKey": issuer}, {**tenant, "installationId": issuer}):
            with pytest.raises(ValueError, match="NUL or lone surrogates"):
                store.save(bad)
        with pytest.raises(ValueError, match="NUL or lone surrogates"):
            store.delete(issuer, event_time=1)
    assert store.get(CLIENT_KEY) == tenant


# Connect on Forge: the installation of a tenant.


def test_a_tenant_is_found_by_its_installation_id(
    make_store: StoreFactory, tenant: dict[str, Any]
) -> None:
    store = make_store()
    installed = {**tenant, "installationId": INSTALLATION}
    assert store.get_by_installation_id(INSTALLATION) is None
    store.save(installed, event_time=100)
    assert store.get_by_installation_id(INSTALLATION) == installed
    assert store.get_by_installation_id(OTHER_INSTALLATION) is None
    assert make_store(OTHER_APP).get_by_installation_id(INSTALLATION) is None

    reinstalled = {**installed, "installationId": OTHER_INSTALLATION}
    store.save(reinstalled, event_time=200)
    assert store.get_by_installation_id(INSTALLATION) is None
    assert store.get_by_installation_id(OTHER_INSTALLATION) == reinstalled

    store.save(installed, event_time=150)  # older: ignored, the index with it
    assert store.get_by_installation_id(INSTALLATION) is None
    store.delete(CLIENT_KEY, event_time=300)
    assert store.get_by_installation_id(OTHER_INSTALLATION) is None
    store.save(reinstalled)
    store.delete(CLIENT_KEY)
    assert store.get_by_installation_id(OTHER_INSTALLATION) is None


def test_of_two_tenants_naming_one_installation_the_newest_is_found(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    first = {**tenant, "installationId": INSTALLATION}
    second = {**first, "clientKey": "jira:second"}
    store.save(second, event_time=100)
    store.save(first, event_time=200)
    assert store.get_by_installation_id(INSTALLATION) == first
    store.save(second, event_time=300)
    assert store.get_by_installation_id(INSTALLATION) == second


@pytest.mark.parametrize("installation_id", ["", 42, ["ari"]])
def test_an_installation_id_must_be_text(
    store: TenantStore, tenant: dict[str, Any], installation_id: Any
) -> None:
    with pytest.raises(ValueError, match="installationId"):
        store.save({**tenant, "installationId": installation_id})
    with pytest.raises(ValueError, match="installationId"):
        store.get_by_installation_id(installation_id)
    assert store.get(CLIENT_KEY) is None
    store.save({**tenant, "installationId": None})  # null: as if absent
    assert store.get(CLIENT_KEY) == {**tenant, "installationId": None}


# Connect on Forge: the app system token of each installation.


def test_app_tokens_are_kept_newest_first(store: TenantStore) -> None:
    expiry = datetime(2030, 1, 1, 12, 0, 0, 500000, tzinfo=timezone.utc)
    assert store.get_app_token(INSTALLATION) is None
    assert store.save_app_token(
        INSTALLATION, app_token("a"), expires_at=expiry, api_base_url=API_BASE_URL
    )
    kept = store.get_app_token(INSTALLATION)
    assert kept == StoredAppToken(app_token("a"), expiry, API_BASE_URL)
    assert kept is not None and kept.expires_at.tzinfo == timezone.utc

    earlier = expiry - timedelta(minutes=5)
    assert not store.save_app_token(
        INSTALLATION, app_token("older"), expires_at=earlier, api_base_url=API_BASE_URL
    )
    assert store.get_app_token(INSTALLATION) == kept

    # The same expiry: the later write wins (a token's exp has whole seconds).
    moved = API_BASE_URL.replace("jira", "confluence")
    assert store.save_app_token(INSTALLATION, app_token("b"), expires_at=expiry, api_base_url=moved)
    assert store.get_app_token(INSTALLATION) == StoredAppToken(app_token("b"), expiry, moved)

    # Seconds since the epoch, as a token's exp, and another time zone say the same.
    later = expiry + timedelta(hours=1)
    assert store.save_app_token(
        INSTALLATION, app_token("c"), expires_at=later.timestamp(), api_base_url=API_BASE_URL
    )
    in_paris = later.astimezone(timezone(timedelta(hours=1)))
    assert store.get_app_token(INSTALLATION) == StoredAppToken(
        app_token("c"), in_paris, API_BASE_URL
    )


def test_app_tokens_are_per_installation_and_app(make_store: StoreFactory) -> None:
    store, other_app = make_store(), make_store(OTHER_APP)
    store.save_app_token(INSTALLATION, app_token("a"), expires_at=2e9, api_base_url=API_BASE_URL)
    other_app.save_app_token(
        INSTALLATION, app_token("y"), expires_at=1e9, api_base_url=API_BASE_URL
    )
    assert store.get_app_token(OTHER_INSTALLATION) is None
    kept, kept_by_other = store.get_app_token(INSTALLATION), other_app.get_app_token(INSTALLATION)
    assert kept is not None and kept.value == app_token("a")
    assert kept_by_other is not None and kept_by_other.value == app_token("y")
    assert make_store().get_app_token(INSTALLATION) == kept


def test_an_app_token_is_forgotten_for_its_installation_and_app_alone(
    make_store: StoreFactory,
) -> None:
    store, other_app = make_store(), make_store(OTHER_APP)
    for kept_by, installation in ((store, INSTALLATION), (store, OTHER_INSTALLATION)):
        kept_by.save_app_token(
            installation, app_token(installation[-1]), expires_at=2e9, api_base_url=API_BASE_URL
        )
    other_app.save_app_token(
        INSTALLATION, app_token("y"), expires_at=2e9, api_base_url=API_BASE_URL
    )
    store.forget_app_token(INSTALLATION)
    assert store.get_app_token(INSTALLATION) is None
    assert make_store().get_app_token(INSTALLATION) is None  # for every handle on the data
    assert store.get_app_token(OTHER_INSTALLATION) is not None
    assert other_app.get_app_token(INSTALLATION) is not None
    store.forget_app_token(INSTALLATION)  # nothing kept: nothing to do
    for unstorable in UNSTORABLE:
        store.forget_app_token(unstorable)  # text no store holds names nothing
    with pytest.raises(ValueError, match="installationId"):
        store.forget_app_token("")
    # A token may be kept again afterwards, by the next invocation.
    assert store.save_app_token(
        INSTALLATION, app_token("b"), expires_at=1e9, api_base_url=API_BASE_URL
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"token": "eyJ.a b.c"}, "bearer token"),
        ({"token": "eyJ.a\r\nX-Injected: 1.c"}, "bearer token"),
        ({"token": ""}, "bearer token"),
        ({"installation_id": ""}, "installationId"),
        ({"installation_id": "ari:\ud800"}, "installationId"),
        ({"expires_at": datetime(2030, 1, 1)}, "aware"),
        ({"expires_at": float("nan")}, "expires_at"),
        ({"expires_at": True}, "expires_at"),
        ({"expires_at": "2030-01-01"}, "expires_at"),
        ({"api_base_url": "http://api.example.com/ex/jira/1"}, "api_base_url"),
        ({"api_base_url": "https://user:pw@api.example.com/ex/jira/1"}, "api_base_url"),
        ({"api_base_url": "api.atlassian.com/ex/jira/1"}, "api_base_url"),
    ],
)
def test_app_token_arguments_are_checked(
    store: TenantStore, arguments: dict[str, Any], message: str
) -> None:
    call: dict[str, Any] = {
        "installation_id": INSTALLATION,
        "token": app_token("a"),
        "expires_at": 2e9,
        "api_base_url": API_BASE_URL,
        **arguments,
    }
    with pytest.raises(ValueError, match=message) as caught:
        store.save_app_token(
            call["installation_id"],
            call["token"],
            expires_at=call["expires_at"],
            api_base_url=call["api_base_url"],
        )
    assert call["token"] not in str(caught.value) or not call["token"]
    assert store.get_app_token(INSTALLATION) is None


def test_an_app_token_to_a_loopback_api_is_kept(store: TenantStore) -> None:
    # Plain http only to a loopback address: a stand-in product API in tests.
    url = "http://127.0.0.1:8080/ex/jira/1"
    assert store.save_app_token(INSTALLATION, app_token("a"), expires_at=2e9, api_base_url=url)
    kept = store.get_app_token(INSTALLATION)
    assert kept is not None and kept.api_base_url == url


def test_a_stored_app_token_never_shows_its_value() -> None:
    kept = StoredAppToken(app_token("hidden"), datetime.now(timezone.utc), API_BASE_URL)
    assert app_token("hidden") not in repr(kept) and app_token("hidden") not in str(kept)
    assert API_BASE_URL in repr(kept)
    with pytest.raises(AttributeError):
        kept.value = "changed"  # type: ignore[misc]


# Lifecycle tokens: replays.


def test_a_lifecycle_token_again_with_the_same_body_is_a_repeat_with_another_refused(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    expires_at = time.time() + 180
    token, body, other_body = sha256("token"), sha256("body"), sha256("another body")
    assert store.remember_lifecycle_token(token, body, expires_at=expires_at)
    assert store.remember_lifecycle_token(token, body, expires_at=expires_at)
    assert not store.remember_lifecycle_token(token, other_body, expires_at=expires_at)
    # Remembered in the data, not in the object: another store on the same data refuses too.
    assert not make_store().remember_lifecycle_token(token, other_body, expires_at=expires_at)
    assert store.remember_lifecycle_token(token, body, expires_at=expires_at)
    # Another app's store keeps its own memory.
    assert make_store(OTHER_APP).remember_lifecycle_token(token, other_body, expires_at=expires_at)
    assert store.remember_lifecycle_token(sha256("token 2"), other_body, expires_at=expires_at)


def test_a_lifecycle_token_is_forgotten_once_it_has_expired(store: TenantStore) -> None:
    now = time.time()
    token = sha256("token")
    assert store.remember_lifecycle_token(token, sha256("body"), expires_at=now + 180)
    with time_machine.travel(now + 179, tick=False):
        assert not store.remember_lifecycle_token(token, sha256("other"), expires_at=now + 180)
    with time_machine.travel(now + 181, tick=False):
        assert store.remember_lifecycle_token(token, sha256("other"), expires_at=now + 360)
        assert not store.remember_lifecycle_token(token, sha256("body"), expires_at=now + 360)


@pytest.mark.parametrize(
    ("token", "body", "expires_at"),
    [
        ("token", sha256("body"), 2e9),
        (sha256("token").upper(), sha256("body"), 2e9),
        (sha256("token"), sha256("body")[:-1], 2e9),
        (sha256("token"), None, 2e9),
        (sha256("token"), sha256("body"), float("inf")),
    ],
)
def test_lifecycle_token_arguments_are_checked(
    store: TenantStore, token: Any, body: Any, expires_at: Any
) -> None:
    with pytest.raises(ValueError):
        store.remember_lifecycle_token(token, body, expires_at=expires_at)


# Forge events: claims.


def test_a_forge_event_is_claimed_once_until_released_or_forgotten(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    now = time.time()
    event, other_event = sha256("event"), sha256("another event")
    assert store.claim_event(event, expires_at=now + 900)
    assert not store.claim_event(event, expires_at=now + 900)
    # In the data, not in the object: another store on the same data sees the claim.
    assert not make_store().claim_event(event, expires_at=now + 900)
    # Another app's store has claims of its own; another event is another claim.
    assert make_store(OTHER_APP).claim_event(event, expires_at=now + 900)
    in_15_minutes = datetime.fromtimestamp(now + 900, timezone.utc)
    assert store.claim_event(other_event, expires_at=in_15_minutes)
    store.release_event(event)
    assert store.claim_event(event, expires_at=now + 900)
    store.release_event(sha256("never claimed"))  # nothing to forget: no error
    with time_machine.travel(now + 899, tick=False):
        assert not store.claim_event(event, expires_at=now + 1800)
    with time_machine.travel(now + 901, tick=False):
        assert store.claim_event(event, expires_at=now + 1800)
        assert store.claim_event(other_event, expires_at=now + 1800)


@pytest.mark.parametrize(
    ("event", "expires_at"),
    [
        ("event", 2e9),
        (sha256("event").upper(), 2e9),
        (sha256("event")[:-1], 2e9),
        (None, 2e9),
        (sha256("event"), float("nan")),
        (sha256("event"), "2e9"),
        (sha256("event"), datetime(2030, 1, 1)),
    ],
)
def test_event_claim_arguments_are_checked(store: TenantStore, event: Any, expires_at: Any) -> None:
    with pytest.raises(ValueError):
        store.claim_event(event, expires_at=expires_at)
    if not isinstance(event, str) or len(event) != 64 or event != event.lower():
        with pytest.raises(ValueError):
            store.release_event(event)


# Concurrency, for every store: threads.

THREADS = 8
WRITES = 25


def run_threads(target: Callable[[int], None]) -> None:
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        start.wait()
        try:
            target(number)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.slow
def test_threads_writing_the_same_tenant_leave_the_newest(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    # Event times interleave between threads, so most writes are stale when they arrive.
    def write(number: int) -> None:
        for i in range(WRITES):
            event_time = i * THREADS + number
            store.save(with_secret(tenant, f"{SECRET}-{event_time}"), event_time=event_time)
            assert store.get(CLIENT_KEY) is not None

    run_threads(write)
    newest = WRITES * THREADS - 1
    assert store.get(CLIENT_KEY) == with_secret(tenant, f"{SECRET}-{newest}")


@pytest.mark.slow
def test_threads_installing_and_uninstalling_agree_on_the_last_event(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    # Even threads install, odd threads uninstall; the newest event is an uninstall.
    def write(number: int) -> None:
        for i in range(WRITES):
            event_time = i * THREADS + number
            if number % 2:
                store.delete(CLIENT_KEY, event_time=event_time)
            else:
                store.save(tenant, event_time=event_time)

    run_threads(write)
    assert store.get(CLIENT_KEY) is None


@pytest.mark.slow
def test_threads_writing_different_tenants_lose_nothing(
    store: TenantStore, tenant: dict[str, Any]
) -> None:
    def write(number: int) -> None:
        for i in range(WRITES):
            store.save({**tenant, "clientKey": f"jira:{number}", "sharedSecret": f"{SECRET}{i}"})

    run_threads(write)
    for number in range(THREADS):
        assert store.get(f"jira:{number}") == {
            **tenant,
            "clientKey": f"jira:{number}",
            "sharedSecret": f"{SECRET}{WRITES - 1}",
        }


@pytest.mark.slow
def test_threads_saving_app_tokens_keep_the_latest_expiry(store: TenantStore) -> None:
    def write(number: int) -> None:
        for i in range(WRITES):
            expiry = 2e9 + i * THREADS + number
            store.save_app_token(
                INSTALLATION,
                app_token(f"x{expiry:.0f}"),
                expires_at=expiry,
                api_base_url=API_BASE_URL,
            )

    run_threads(write)
    kept = store.get_app_token(INSTALLATION)
    newest = 2e9 + WRITES * THREADS - 1
    assert kept is not None and kept.value == app_token(f"x{newest:.0f}")
    assert kept.expires_at.timestamp() == newest


@pytest.mark.slow
def test_threads_racing_to_claim_one_event_claim_it_once(store: TenantStore) -> None:
    claimed: list[bool] = []
    event = sha256("one event, delivered again while it was being claimed")

    def claim(number: int) -> None:
        claimed.append(store.claim_event(event, expires_at=time.time() + 900))

    run_threads(claim)
    assert sorted(claimed) == [False] * (THREADS - 1) + [True]


@pytest.mark.slow
def test_threads_racing_one_lifecycle_token_agree_on_one_body(store: TenantStore) -> None:
    # Each thread sends the same token with its own body, many times: exactly one body wins,
    # and every attempt agrees which.
    token, expires_at = sha256("token"), time.time() + 180
    accepted: dict[int, set[bool]] = {}

    def remember(number: int) -> None:
        accepted[number] = {
            store.remember_lifecycle_token(token, sha256(f"body {number}"), expires_at=expires_at)
            for _ in range(WRITES)
        }

    run_threads(remember)
    assert sorted(tuple(answers) for answers in accepted.values()) == [(False,)] * (THREADS - 1) + [
        (True,)
    ]


# SQLite: persistence, processes, start-up errors, migration.


def test_sqlite_keeps_tenants_across_instances(tmp_path: Path, tenant: dict[str, Any]) -> None:
    SQLiteTenantStore(tmp_path / "t.db", app_key=APP_KEY).save(tenant, event_time=200)
    reopened = SQLiteTenantStore(tmp_path / "t.db", app_key=APP_KEY)
    assert reopened.get(CLIENT_KEY) == tenant
    reopened.save(with_secret(tenant, OTHER_SECRET), event_time=100)  # the time persisted too
    assert reopened.get(CLIENT_KEY) == tenant


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    SQLiteTenantStore(path, app_key=APP_KEY).save_app_token(
        INSTALLATION, app_token("a"), expires_at=2e9, api_base_url=API_BASE_URL
    )
    for file in tmp_path.iterdir():  # the -wal and -shm files too
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file

    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


WRITER = """
import sys
from atlassian_jwt.tenants import SQLiteTenantStore
path, number, writes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = SQLiteTenantStore(path, app_key="com.example.my-app", timeout=30)
for i in range(writes):
    event_time = i * 2 + number
    store.save({"clientKey": "shared", "sharedSecret": f"s{event_time}"}, event_time=event_time)
    store.save({"clientKey": f"own-{number}", "sharedSecret": f"s{i}"})
"""


@pytest.mark.slow
def test_sqlite_two_processes_writing_at_once(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    writes = 100
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(number), str(writes)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in (0, 1)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
    store = SQLiteTenantStore(path, app_key=APP_KEY)
    assert store.get("shared") == {"clientKey": "shared", "sharedSecret": f"s{writes * 2 - 1}"}
    for number in (0, 1):
        assert store.get(f"own-{number}") == {
            "clientKey": f"own-{number}",
            "sharedSecret": f"s{writes - 1}",
        }


OPENER = """
import sys
from atlassian_jwt.tenants import SQLiteTenantStore
key = "own-" + sys.argv[1]
for line in iter(sys.stdin.readline, ""):
    store = SQLiteTenantStore(line.rstrip("\\n"), app_key="com.example.my-app", timeout=10)
    store.save({"clientKey": key, "sharedSecret": line})
    assert store.get(key) == {"clientKey": key, "sharedSecret": line}
    print("ok", flush=True)
"""


@pytest.mark.slow
def test_sqlite_processes_opening_a_new_file_at_once(tmp_path: Path) -> None:
    """Workers that boot together: each round, every process opens the same new file at once.

    Before start-up was retried, one round in twenty or so failed at once with "database is
    locked": two processes switching the new file to WAL, where SQLite does not wait.
    """
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(number)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for number in range(8)
    ]
    try:
        for round_ in range(25):
            path = tmp_path / f"{round_}.db"
            for process in processes:  # each waits on stdin: this starts them all together
                assert process.stdin is not None
                process.stdin.write(f"{path}\n")
                process.stdin.flush()
            answers = [process.stdout.readline() for process in processes if process.stdout]
            if answers != ["ok\n"] * len(processes):
                break
            store = SQLiteTenantStore(path, app_key=APP_KEY)
            assert [store.get(f"own-{number}") for number in range(8)] == [
                {"clientKey": f"own-{number}", "sharedSecret": f"{path}\n"} for number in range(8)
            ]
    finally:
        errors = [process.communicate(timeout=60)[1] for process in processes]  # closes stdin
    assert answers == ["ok\n"] * len(processes), f"round {round_}: " + "".join(errors)
    assert [process.returncode for process in processes] == [0] * len(processes)


def test_sqlite_start_up_waits_for_a_writer_on_a_new_file(tmp_path: Path) -> None:
    """Regression: switching a new file to WAL while another connection was writing to it
    failed at once, not after ``timeout``, since SQLite's busy handler is not used there."""
    path = tmp_path / "t.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.2, writer.rollback)
    release.start()
    try:
        started = time.monotonic()
        store = SQLiteTenantStore(path, app_key=APP_KEY, timeout=10)
        assert time.monotonic() - started >= 0.2
    finally:
        release.cancel()
        release.join()
        writer.close()
    store.save({"clientKey": CLIENT_KEY})
    assert store.get(CLIENT_KEY) == {"clientKey": CLIENT_KEY}


def test_sqlite_start_up_locked_longer_than_timeout_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        with pytest.raises(TenantStoreError, match="locked by another connection for 0.3 s"):
            SQLiteTenantStore(path, app_key=APP_KEY, timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 3
        holder.rollback()
        # Nothing half-made: the file is as the holder left it, and opens later as usual.
        assert holder.execute("SELECT name FROM sqlite_master").fetchall() == []
        assert holder.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        holder.close()
    SQLiteTenantStore(path, app_key=APP_KEY, timeout=0.3).save({"clientKey": CLIENT_KEY})
    assert SQLiteTenantStore(path, app_key=APP_KEY).get(CLIENT_KEY) == {"clientKey": CLIENT_KEY}


def test_sqlite_missing_directory_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(TenantStoreError, match="does not exist"):
        SQLiteTenantStore(tmp_path / "missing" / "tenants.db", app_key=APP_KEY)
    assert not (tmp_path / "missing").exists()


def test_sqlite_corrupt_file_fails_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.write_bytes(b"this is no SQLite database, just bytes " * 100)
    with pytest.raises(TenantStoreError, match="not a database"):
        SQLiteTenantStore(path, app_key=APP_KEY)


def test_sqlite_damaged_pages_fail_at_start_up(tmp_path: Path, tenant: dict[str, Any]) -> None:
    path = tmp_path / "t.db"
    store = SQLiteTenantStore(path, app_key=APP_KEY)
    for number in range(50):
        store.save({**tenant, "clientKey": f"jira:{number}", "padding": "x" * 500})

    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page_size = 4096
    data[page_size + 8 : page_size * 3] = b"\xff" * (page_size * 2 - 8)  # scribble on pages
    path.write_bytes(bytes(data))
    with pytest.raises(TenantStoreError, match="corrupt|malformed"):
        SQLiteTenantStore(path, app_key=APP_KEY)


def test_sqlite_a_table_of_another_shape_fails_at_start_up(tmp_path: Path) -> None:

    path = tmp_path / "t.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute(f"CREATE TABLE {SQLiteTenantStore.TABLE} (id INTEGER, secret TEXT)")
    with pytest.raises(TenantStoreError, match="another shape"):
        SQLiteTenantStore(path, app_key=APP_KEY)


@pytest.mark.parametrize("path", ["", ":memory:", "file:t.db?mode=memory"])
def test_sqlite_needs_a_file(path: str) -> None:
    with pytest.raises(ValueError, match="MemoryTenantStore"):
        SQLiteTenantStore(path, app_key=APP_KEY)


def test_sqlite_a_lock_held_too_long_is_a_store_error(
    tmp_path: Path, tenant: dict[str, Any]
) -> None:

    path = tmp_path / "t.db"
    store = SQLiteTenantStore(path, app_key=APP_KEY, timeout=0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(TenantStoreError, match="locked") as info:
            store.save(tenant)
        assert SECRET not in str(info.value)
        assert store.get(CLIENT_KEY) is None  # WAL: readers don't wait for the writer
    finally:
        holder.close()
    store.save(tenant)
    assert store.get(CLIENT_KEY) == tenant


def test_sqlite_needs_the_app_key(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="app_key"):
        SQLiteTenantStore(tmp_path / "t.db")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="app_key"):
        SQLiteTenantStore(tmp_path / "t.db", app_key=None)  # type: ignore[arg-type]
    assert not (tmp_path / "t.db").exists()


def test_sqlite_expired_lifecycle_tokens_are_deleted(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = SQLiteTenantStore(path, app_key=APP_KEY)
    now = time.time()
    for name in ("a", "b", "c"):
        store.remember_lifecycle_token(sha256(name), sha256("body"), expires_at=now + 10)
    SQLiteTenantStore(path, app_key=OTHER_APP).remember_lifecycle_token(
        sha256("y"), sha256("body"), expires_at=now + 10
    )
    with time_machine.travel(now + 11, tick=False):
        store.remember_lifecycle_token(sha256("d"), sha256("body"), expires_at=now + 100)
    with closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(
            f"SELECT app_key, token_sha256 FROM {SQLiteTenantStore.LIFECYCLE_TOKENS_TABLE}"
        ).fetchall()
    # This app's expired entries are gone; another app's are its own to purge.
    assert sorted(rows) == [(APP_KEY, sha256("d")), (OTHER_APP, sha256("y"))]
    assert all(len(token) == 64 and "body" not in token for _, token in rows)


# Migrating a table made before stores were bound to an app.

LEGACY_SQL = Path(__file__).parent / "legacy_tenants.sql"
LEGACY_INSTALLATION = "ari:cloud:ecosystem::installation/0b7d5b1e-3f7a-4c4e-9a57-2f3c1a9d8e01"


def legacy_rows() -> list[tuple[str, str | None, float | None]]:
    """The rows of ``legacy_tenants.sql``: (client_key, tenant, event_time)."""
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.executescript(LEGACY_SQL.read_text(encoding="utf-8"))
        return connection.execute(
            "SELECT client_key, tenant, event_time FROM atlassian_jwt_tenants ORDER BY client_key"
        ).fetchall()


def make_legacy_sqlite_file(path: Path) -> None:
    """The tenant file as 4.0.0.dev0's SQLiteTenantStore left it."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.executescript(LEGACY_SQL.read_text(encoding="utf-8"))


def assert_legacy_rows_migrated(store: TenantStore, other_app: TenantStore) -> None:
    """The rows of ``legacy_tenants.sql`` after the migration, as the stores of its two apps
    see them: ``store`` (com.example.my-app) opened the table first."""
    site_a = store.get("site-a")
    assert site_a is not None and site_a["sharedSecret"].startswith("site-a-secret")
    assert store.get_by_installation_id(LEGACY_INSTALLATION) == site_a
    assert other_app.get("site-a") is None
    assert other_app.get_by_installation_id(LEGACY_INSTALLATION) is None
    site_b = other_app.get("site-b")
    assert site_b is not None and site_b["sharedSecret"].startswith("site-b-secret")
    assert store.get("site-b") is None
    # No app named: the migrating store's. Tombstones keep their time, tenants theirs.
    for client_key in ("site-d", "site-e"):
        tenant = store.get(client_key)
        assert tenant is not None and tenant["sharedSecret"].startswith(f"{client_key}-secret")
        assert other_app.get(client_key) is None
    site_c = {"key": APP_KEY, "clientKey": "site-c", "sharedSecret": OTHER_SECRET}
    store.save(site_c, event_time=299)
    assert store.get("site-c") is None
    other_app.save({**site_c, "key": OTHER_APP}, event_time=299)
    assert other_app.get("site-c") == {**site_c, "key": OTHER_APP}
    store.save({**site_a, "sharedSecret": OTHER_SECRET}, event_time=99)
    assert store.get("site-a") == site_a


def test_sqlite_migrates_a_table_made_before_stores_were_bound_to_an_app(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.db"
    make_legacy_sqlite_file(path)
    store = SQLiteTenantStore(path, app_key=APP_KEY)
    assert_legacy_rows_migrated(store, SQLiteTenantStore(path, app_key=OTHER_APP))
    with closing(sqlite3.connect(path)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert not any("before" in table for table in tables)
        assert connection.execute("PRAGMA quick_check").fetchone() == ("ok",)
    # Opened again: nothing more to do, and nothing lost.
    assert SQLiteTenantStore(path, app_key=APP_KEY).get("site-a") == store.get("site-a")


MIGRATOR = """
import sys
from atlassian_jwt.tenants import SQLiteTenantStore
path, app_key, writes = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.stdin.readline()  # every process opens the file at once
store = SQLiteTenantStore(path, app_key=app_key, timeout=30)
for i in range(writes):
    tenant = {"key": app_key, "clientKey": "shared", "sharedSecret": f"{app_key}-{i}"}
    store.save(tenant, event_time=i)
    store.save({**tenant, "clientKey": f"own-{i}"})
"""


@pytest.mark.slow
def test_sqlite_two_apps_open_a_legacy_file_at_once(tmp_path: Path) -> None:
    """Two apps' workers boot together on a file made before stores were bound to an app:
    one migrates it, the other waits; then both write to it, each its own rows."""
    path = tmp_path / "t.db"
    make_legacy_sqlite_file(path)
    writes = 50
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATOR, str(path), app_key, str(writes)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for app_key in (APP_KEY, OTHER_APP, APP_KEY, OTHER_APP)
    ]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
    stores = {key: SQLiteTenantStore(path, app_key=key) for key in (APP_KEY, OTHER_APP)}
    for key, store in stores.items():
        assert store.get("shared") == {
            "key": key,
            "clientKey": "shared",
            "sharedSecret": f"{key}-{writes - 1}",
        }
        assert all(store.get(f"own-{i}") is not None for i in range(writes))
    assert stores[APP_KEY].get("site-a") is not None and stores[OTHER_APP].get("site-b")
    # The tombstone of site-c went to whichever app migrated first: to exactly one.
    site_c = {"clientKey": "site-c", "sharedSecret": OTHER_SECRET}
    for store in stores.values():
        store.save(site_c, event_time=299)
    assert sorted(store.get("site-c") is None for store in stores.values()) == [False, True]


# The authenticator, end to end.


def product_token(
    url: str, secret: str = SECRET, method: str = "GET", *, issuer: str = CLIENT_KEY
) -> str:
    """A token as the product signs a call to the app."""
    return sign_product_request(method, url, {"clientKey": issuer, "sharedSecret": secret})


@pytest.fixture
def authenticator_and_store(
    store: TenantStore,
) -> Iterator[tuple[TenantStoreAuthenticator, TenantStore]]:
    yield TenantStoreAuthenticator(store, leeway=30), store


def test_authenticator_follows_the_store(
    authenticator_and_store: tuple[TenantStoreAuthenticator, TenantStore],
    tenant: dict[str, Any],
) -> None:
    authenticator, store = authenticator_and_store
    url = "/webhook?issue=DEMO-1"
    headers = {"Authorization": f"JWT {product_token(url)}"}

    with pytest.raises(exc.UnknownIssuerError):
        authenticator.authenticate("GET", url, headers)

    store.save(tenant)
    assert authenticator.authenticate("GET", url, headers).client_key == CLIENT_KEY
    with pytest.raises(exc.QshMismatchError):
        authenticator.authenticate("GET", "/webhook?issue=DEMO-2", headers)

    store.save(with_secret(tenant, OTHER_SECRET))  # reinstalled with a new secret
    with pytest.raises(exc.InvalidSignatureError):
        authenticator.authenticate("GET", url, headers)
    fresh = {"Authorization": f"JWT {product_token(url, OTHER_SECRET)}"}
    result = authenticator.authenticate("GET", url, fresh)
    assert result.client_key == CLIENT_KEY and result.claims["iss"] == CLIENT_KEY

    store.delete(CLIENT_KEY)
    with pytest.raises(atlassian_jwt.DecodeError):
        authenticator.authenticate("GET", url, fresh)


@pytest.mark.parametrize("secret", [None, "", 42, ["list"]])
def test_authenticator_treats_a_tenant_without_a_usable_secret_as_unknown(
    store: TenantStore, tenant: dict[str, Any], secret: Any
) -> None:
    store.save({**tenant, "sharedSecret": secret})
    authenticator = TenantStoreAuthenticator(store)
    url = "/page"
    with pytest.raises(exc.UnknownIssuerError):
        authenticator.authenticate("GET", url, {"Authorization": f"JWT {product_token(url)}"})


def test_authenticator_passes_its_options_on(store: TenantStore) -> None:
    authenticator = TenantStoreAuthenticator(
        store, algorithms=["HS512"], leeway=5, base_url="https://app.example.com/prefix"
    )
    assert authenticator.algorithms == ("HS512",)
    assert authenticator.leeway == 5
    assert authenticator.base_url == "https://app.example.com/prefix"
    assert authenticator.store is store


def test_os_fspath_paths_are_accepted(tmp_path: Path, tenant: dict[str, Any]) -> None:
    store = SQLiteTenantStore(os.fspath(tmp_path / "t.db"), app_key=APP_KEY)
    store.save(tenant)
    assert SQLiteTenantStore(tmp_path / "t.db", app_key=APP_KEY).get(CLIENT_KEY) == tenant


def test_readme_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tenant: dict[str, Any]
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "/issue-updated?issue=DEMO-1"
    headers = {"Authorization": f"JWT {product_token(url, method='POST')}"}
    namespace = run_example(
        "tenant-storage", {"tenant": tenant, "method": "POST", "url": url, "headers": headers}
    )
    assert namespace["client_key"] == CLIENT_KEY and namespace["claims"]["iss"] == CLIENT_KEY
    assert (tmp_path / "tenants.db").exists()
    assert SQLiteTenantStore("tenants.db", app_key=APP_KEY).get(CLIENT_KEY) is None
