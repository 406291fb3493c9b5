"""Tenant stores: one suite for every store, then what only SQLite has, then the authenticator."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import exceptions as exc
from atlassian_jwt.tenants import (
    MemoryTenantStore,
    SQLiteTenantStore,
    TenantStore,
    TenantStoreAuthenticator,
    TenantStoreError,
)
from atlassian_jwt.url_utils import hash_url
from tests.conftest import CLIENT_KEY, SECRET
from tests.readme import run_example

ROOT = Path(__file__).parent.parent
OTHER_SECRET = "another-shared-secret-after-a-reinstall-also-long-enough-for-hs512-keys"

StoreFactory = Callable[[], TenantStore]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A factory, so a test can open a second store on the same data (SQLite) or not."""
    if request.param == "memory":
        store = MemoryTenantStore()
        return lambda: store
    return lambda: SQLiteTenantStore(tmp_path / "tenants.db")


@pytest.fixture
def store(make_store: StoreFactory) -> TenantStore:
    return make_store()


def with_secret(tenant: dict[str, Any], secret: str) -> dict[str, Any]:
    return {**tenant, "sharedSecret": secret}


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
    assert SECRET not in repr(store)
    assert SECRET not in repr(TenantStoreAuthenticator(store))


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


# SQLite: persistence, processes, start-up errors.


def test_sqlite_keeps_tenants_across_instances(tmp_path: Path, tenant: dict[str, Any]) -> None:
    SQLiteTenantStore(tmp_path / "t.db").save(tenant, event_time=200)
    reopened = SQLiteTenantStore(tmp_path / "t.db")
    assert reopened.get(CLIENT_KEY) == tenant
    reopened.save(with_secret(tenant, OTHER_SECRET), event_time=100)  # the time persisted too
    assert reopened.get(CLIENT_KEY) == tenant


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    SQLiteTenantStore(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


WRITER = """
import sys
from atlassian_jwt.tenants import SQLiteTenantStore
path, number, writes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = SQLiteTenantStore(path, timeout=30)
for i in range(writes):
    event_time = i * 2 + number
    store.save({"clientKey": "shared", "sharedSecret": f"s{event_time}"}, event_time=event_time)
    store.save({"clientKey": f"own-{number}", "sharedSecret": f"s{i}"})
"""


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
    store = SQLiteTenantStore(path)
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
    store = SQLiteTenantStore(line.rstrip("\\n"), timeout=10)
    store.save({"clientKey": key, "sharedSecret": line})
    assert store.get(key) == {"clientKey": key, "sharedSecret": line}
    print("ok", flush=True)
"""


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
            store = SQLiteTenantStore(path)
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
        store = SQLiteTenantStore(path, timeout=10)
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
            SQLiteTenantStore(path, timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 3
        holder.rollback()
        # Nothing half-made: the file is as the holder left it, and opens later as usual.
        assert holder.execute("SELECT name FROM sqlite_master").fetchall() == []
        assert holder.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        holder.close()
    SQLiteTenantStore(path, timeout=0.3).save({"clientKey": CLIENT_KEY})
    assert SQLiteTenantStore(path).get(CLIENT_KEY) == {"clientKey": CLIENT_KEY}


def test_sqlite_missing_directory_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(TenantStoreError, match="does not exist"):
        SQLiteTenantStore(tmp_path / "missing" / "tenants.db")
    assert not (tmp_path / "missing").exists()


def test_sqlite_corrupt_file_fails_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.write_bytes(b"this is no SQLite database, just bytes " * 100)
    with pytest.raises(TenantStoreError, match="not a database"):
        SQLiteTenantStore(path)


def test_sqlite_damaged_pages_fail_at_start_up(tmp_path: Path, tenant: dict[str, Any]) -> None:
    path = tmp_path / "t.db"
    store = SQLiteTenantStore(path)
    for number in range(50):
        store.save({**tenant, "clientKey": f"jira:{number}", "padding": "x" * 500})

    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page_size = 4096
    data[page_size + 8 : page_size * 3] = b"\xff" * (page_size * 2 - 8)  # scribble on pages
    path.write_bytes(bytes(data))
    with pytest.raises(TenantStoreError, match="corrupt|malformed"):
        SQLiteTenantStore(path)


def test_sqlite_a_table_of_another_shape_fails_at_start_up(tmp_path: Path) -> None:

    path = tmp_path / "t.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.execute(f"CREATE TABLE {SQLiteTenantStore.TABLE} (id INTEGER, secret TEXT)")
    with pytest.raises(TenantStoreError, match="another shape"):
        SQLiteTenantStore(path)


@pytest.mark.parametrize("path", ["", ":memory:", "file:t.db?mode=memory"])
def test_sqlite_needs_a_file(path: str) -> None:
    with pytest.raises(ValueError, match="MemoryTenantStore"):
        SQLiteTenantStore(path)


def test_sqlite_a_lock_held_too_long_is_a_store_error(
    tmp_path: Path, tenant: dict[str, Any]
) -> None:

    path = tmp_path / "t.db"
    store = SQLiteTenantStore(path, timeout=0.05)
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


# The authenticator, end to end.


def product_token(url: str, secret: str = SECRET, method: str = "GET") -> str:
    """A token as the product signs a call to the app."""
    now = int(time.time())
    claims = {"iss": CLIENT_KEY, "iat": now, "exp": now + 60, "qsh": hash_url(method, url)}
    return jwt.encode(claims, secret, algorithm="HS256")


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
    store = SQLiteTenantStore(os.fspath(tmp_path / "t.db"))
    store.save(tenant)
    assert SQLiteTenantStore(tmp_path / "t.db").get(CLIENT_KEY) == tenant


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
    assert SQLiteTenantStore("tenants.db").get(CLIENT_KEY) is None
