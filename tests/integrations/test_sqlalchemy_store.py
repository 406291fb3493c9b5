"""SQLAlchemyTenantStore: the tenant store suite against SQLite, and PostgreSQL when configured.

Set ATLASSIAN_JWT_TEST_POSTGRES_URL (``postgresql+psycopg://user:password@127.0.0.1:port/db``)
to run every test against that server too; ``.ci/run`` starts one and sets it. Each test uses
its own table, dropped afterwards, so several runs can share one database.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import random
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import tests.test_tenants as suite
from atlassian_jwt.integrations.sqlalchemy_store import SQLAlchemyTenantStore
from atlassian_jwt.tenants import TenantStore, TenantStoreError
from tests.integrations.sqlite_engines import sqlite_engine
from tests.support import APP_KEY, CLIENT_KEY, SECRET
from tests.test_tenants import (
    OTHER_APP,
    THREADS,
    StoreFactory,
    assert_legacy_rows_migrated,
    legacy_rows,
    make_legacy_sqlite_file,
    sha256,
)

ROOT = Path(__file__).parent.parent.parent

pytestmark = pytest.mark.extras

POSTGRES_URL = os.environ.get("ATLASSIAN_JWT_TEST_POSTGRES_URL")

# Every backend the store is tested on: SQLite always, PostgreSQL when a server is configured;
# each both with its one-statement upsert and with the SELECT ... FOR UPDATE path that other
# databases take.
BACKENDS = ["sqlite", "sqlite-locked"] + (
    ["postgresql", "postgresql-locked"] if POSTGRES_URL else []
)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[sa.Engine]:
    """One pool for the module: connecting (with SCRAM) costs more than the tests."""
    assert POSTGRES_URL is not None
    engine = sa.create_engine(POSTGRES_URL, pool_size=THREADS)
    yield engine
    engine.dispose()


@pytest.fixture
def make_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[StoreFactory]:
    locked = backend.endswith("-locked")
    if backend.startswith("sqlite"):
        engine = sqlite_engine(tmp_path / "tenants.db", immediate=locked)
    else:
        engine = request.getfixturevalue("postgres_engine")
    table_name = f"tenants_{uuid.uuid4().hex[:12]}"

    def make(app_key: str = APP_KEY) -> TenantStore:
        store = SQLAlchemyTenantStore(engine, app_key=app_key, table_name=table_name)
        if locked:
            store._upsert_insert = None  # the path of databases without ON CONFLICT
        return store

    yield make
    drop_tables(engine, table_name)
    if engine.dialect.name == "sqlite":
        engine.dispose()


def drop_tables(engine: sa.Engine, table_name: str) -> None:
    with engine.begin() as connection:
        for suffix in ("", "_app_tokens", "_lifecycle_tokens", "_forge_events"):
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table_name}{suffix}")


@pytest.fixture
def store(make_store: StoreFactory) -> TenantStore:
    return make_store()


authenticator_and_store = suite.authenticator_and_store

# The protocol suite of tests/test_tenants.py, run here with this module's stores: every test
# there that takes a store.
for _name, _test in vars(suite).items():
    if _name.startswith("test_") and {"store", "make_store", "authenticator_and_store"} & set(
        inspect.signature(_test).parameters
    ):
        globals()[_name] = _test


def test_the_backend_is_the_one_asked_for(backend: str, make_store: StoreFactory) -> None:
    store = make_store()
    assert isinstance(store, SQLAlchemyTenantStore)
    assert store.engine.dialect.name == backend.partition("-")[0]
    with store.engine.connect() as connection:
        if store.engine.dialect.name == "postgresql":
            version = connection.exec_driver_sql("SELECT version()").scalar_one()
            assert str(version).startswith("PostgreSQL")
        else:
            version = connection.exec_driver_sql("SELECT sqlite_version()").scalar_one()
            assert str(version).startswith("3.")


def test_ci_tests_postgresql() -> None:
    # .ci/run starts a PostgreSQL server and sets the variable; without it CI would quietly
    # test SQLite alone.
    if os.environ.get("CI"):
        assert POSTGRES_URL, "CI must set ATLASSIAN_JWT_TEST_POSTGRES_URL"
    assert ("postgresql" in BACKENDS) == bool(POSTGRES_URL)


def test_a_url_is_enough(tmp_path: Path, tenant: dict[str, Any]) -> None:
    store = SQLAlchemyTenantStore(f"sqlite:///{tmp_path / 't.db'}", app_key=APP_KEY)
    store.save(tenant, event_time=100)
    store.engine.dispose()
    reopened = SQLAlchemyTenantStore(f"sqlite:///{tmp_path / 't.db'}", app_key=APP_KEY)
    assert reopened.get(CLIENT_KEY) == tenant
    reopened.engine.dispose()


def test_the_app_key_is_needed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    with pytest.raises(TypeError, match="app_key"):
        SQLAlchemyTenantStore(url)  # type: ignore[call-arg]
    app_key: Any
    for app_key in (None, "", 42):
        with pytest.raises(ValueError, match="app_key"):
            SQLAlchemyTenantStore(url, app_key=app_key)
    assert not (tmp_path / "t.db").exists()


def test_an_unreachable_database_fails_at_start_up() -> None:
    # A port nothing listens on; nothing leaves 127.0.0.1.
    url = "postgresql+psycopg://user:hunter2-password@127.0.0.1:9/db?connect_timeout=2"
    with pytest.raises(TenantStoreError, match="OperationalError") as info:
        SQLAlchemyTenantStore(url, app_key=APP_KEY)
    # The message names the database, with the password masked.
    assert "hunter2" not in str(info.value) and "user:***@127.0.0.1:9/db" in str(info.value)


def test_regression_a_password_in_the_url_query_shows_in_repr_and_errors() -> None:
    """Issue 16.9: ``?password=`` (which psycopg reads as the password) was shown in the
    store's repr and so in every error message."""
    url = (
        "postgresql+psycopg://user@127.0.0.1:9/db"
        "?password=hunter2-query-password&sslpassword=hunter3-key-password&connect_timeout=2"
    )
    with pytest.raises(TenantStoreError, match="OperationalError") as info:
        SQLAlchemyTenantStore(url, app_key=APP_KEY)
    shown = str(info.value) + repr(info.value)
    assert "hunter2" not in shown and "hunter3" not in shown
    assert "user@127.0.0.1:9/db?" in shown and "password=***" in shown


def test_an_unreadable_url_is_a_value_error_without_the_password() -> None:
    for url in ("postgresql+psycopg://user:hunter2-password@host:port/db", "hunter2 no url"):
        with pytest.raises(ValueError, match="not a database URL") as info:
            SQLAlchemyTenantStore(url, app_key=APP_KEY)
        assert "hunter2" not in str(info.value) and info.value.__cause__ is None


@pytest.mark.skipif(not POSTGRES_URL, reason="needs ATLASSIAN_JWT_TEST_POSTGRES_URL")
def test_a_store_with_its_password_in_the_query_never_shows_it(tenant: dict[str, Any]) -> None:
    assert POSTGRES_URL is not None
    url = sa.make_url(POSTGRES_URL)
    assert url.password
    in_query = url.set(password=None, query={"password": url.password})
    table_name = f"tenants_{uuid.uuid4().hex[:12]}"
    store = SQLAlchemyTenantStore(in_query, app_key=APP_KEY, table_name=table_name)
    try:
        store.save(tenant)
        assert store.get(CLIENT_KEY) == tenant
        assert url.password not in repr(store) and "password=***" in repr(store)
    finally:
        drop_tables(store.engine, table_name)
        store.engine.dispose()


def test_regression_a_sqlite_url_creates_a_world_readable_file(
    tmp_path: Path, tenant: dict[str, Any]
) -> None:
    """Issue 16.9: for ``sqlite:`` URLs the database file, which holds the shared secrets, was
    created with the process's umask (world-readable), unlike SQLiteTenantStore's."""
    path = tmp_path / "t.db"
    store = SQLAlchemyTenantStore(f"sqlite:///{path}", app_key=APP_KEY)
    store.save(tenant)
    store.engine.dispose()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'engine.db'}")
    SQLAlchemyTenantStore(engine, app_key=APP_KEY).save(tenant)
    engine.dispose()
    assert sorted(file.name for file in tmp_path.iterdir()) == ["engine.db", "t.db"]
    for file in tmp_path.iterdir():
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


def test_a_sqlite_url_in_a_missing_directory_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(TenantStoreError, match="No such file or directory"):
        SQLAlchemyTenantStore(f"sqlite:///{tmp_path / 'missing' / 't.db'}", app_key=APP_KEY)


def test_a_table_of_another_shape_fails_at_start_up(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 't.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE atlassian_jwt_tenants (id INTEGER, secret TEXT)")
    with pytest.raises(TenantStoreError, match="another shape"):
        SQLAlchemyTenantStore(engine, app_key=APP_KEY)
    engine.dispose()


def test_errors_never_quote_the_secret(tmp_path: Path, tenant: dict[str, Any]) -> None:
    store = SQLAlchemyTenantStore(f"sqlite:///{tmp_path / 't.db'}", app_key=APP_KEY)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE atlassian_jwt_tenants")
    with pytest.raises(TenantStoreError, match="no such table") as info:
        store.save(tenant)
    with pytest.raises(TenantStoreError, match="no such table"):
        store.get(CLIENT_KEY)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    store.engine.dispose()


# Migrating a table made before stores were bound to an app.


def make_legacy_table(engine: sa.Engine, table_name: str) -> None:
    """The tenant table as 4.0.0.dev0's SQLAlchemyTenantStore created it (keyed by client_key
    alone), holding the rows of ``tests/legacy_tenants.sql``."""
    table = sa.Table(
        table_name,
        sa.MetaData(),
        sa.Column("client_key", sa.String(255), primary_key=True),
        sa.Column("tenant", sa.Text, nullable=True),
        sa.Column("event_time", sa.Double, nullable=True),
    )
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(table),
            [
                {"client_key": client_key, "tenant": tenant, "event_time": event_time}
                for client_key, tenant, event_time in legacy_rows()
            ],
        )


def test_a_legacy_table_is_migrated_in_place(backend: str, make_store: StoreFactory) -> None:
    store = make_store()  # a table of the current shape: dropped, made again the old way
    assert isinstance(store, SQLAlchemyTenantStore)
    table_name = store.table.name
    drop_tables(store.engine, table_name)
    make_legacy_table(store.engine, table_name)

    assert_legacy_rows_migrated(make_store(APP_KEY), make_store(OTHER_APP))
    inspector = sa.inspect(store.engine)
    assert set(inspector.get_pk_constraint(table_name)["constrained_columns"]) == {
        "app_key",
        "client_key",
    }
    assert any(
        index["column_names"] == ["app_key", "installation_id"]
        for index in inspector.get_indexes(table_name)
    )


def test_a_legacy_sqlite_store_file_is_migrated(tmp_path: Path) -> None:
    """A file that SQLiteTenantStore made before stores were bound to an app, opened with
    SQLAlchemy (the examples switch between the two with DATABASE_URL)."""
    path = tmp_path / "t.db"
    make_legacy_sqlite_file(path)
    stores = [
        SQLAlchemyTenantStore(f"sqlite:///{path}", app_key=app_key)
        for app_key in (APP_KEY, OTHER_APP)
    ]
    assert_legacy_rows_migrated(*stores)
    for store in stores:
        store.engine.dispose()


def test_a_legacy_table_elsewhere_than_postgresql_and_sqlite_is_refused(tmp_path: Path) -> None:
    # Another database (MySQL, say) seen through SQLite: the store says what to do instead of
    # guessing at that database's DDL.
    engine = sa.create_engine(f"sqlite:///{tmp_path / 't.db'}")
    make_legacy_table(engine, "atlassian_jwt_tenants")
    engine.dialect.name = "otherdb"
    with pytest.raises(TenantStoreError, match="made before stores were bound to an app"):
        SQLAlchemyTenantStore(engine, app_key=APP_KEY)
    engine.dialect.name = "sqlite"
    with engine.connect() as connection:
        assert connection.exec_driver_sql(
            "SELECT count(*) FROM atlassian_jwt_tenants"
        ).scalar_one() == len(legacy_rows())
    engine.dispose()


# Many workers, one database.

RACER = """
import json, sys
import sqlalchemy as sa
from atlassian_jwt.integrations.sqlalchemy_store import SQLAlchemyTenantStore
from tests.integrations.sqlite_engines import sqlite_engine

backend, database, table_name, app_key, number, plan = sys.argv[1:7]
events = json.loads(plan)
if backend.startswith("sqlite"):
    engine = sqlite_engine(database, immediate=backend.endswith("-locked"))
else:
    engine = sa.create_engine(database, pool_size=1)
sys.stdin.readline()  # every process starts at once
store = SQLAlchemyTenantStore(engine, app_key=app_key, table_name=table_name)
if backend.endswith("-locked"):
    store._upsert_insert = None
answers = []
for kind, key, when, value in events:
    if kind == "install":
        store.save(
            {"key": app_key, "clientKey": key, "sharedSecret": value, "installationId": key},
            event_time=when,
        )
    elif kind == "uninstall":
        store.delete(key, event_time=when)
    elif kind == "own":
        store.save({"key": app_key, "clientKey": key, "sharedSecret": value})
    elif kind == "token":
        store.save_app_token(key, value, expires_at=when, api_base_url="https://api.example.com")
    else:
        answers.append(store.remember_lifecycle_token(key, value, expires_at=when))
print(json.dumps(answers))
"""


def test_regression_a_store_starts_when_other_workers_create_each_table_first(
    tmp_path: Path,
) -> None:
    """Workers that boot together create the same tables at once (SQLite has no lock for it):
    here another "worker" creates each of the store's tables just before the store's own
    CREATE, every time. The store must find each made and start."""
    url = f"sqlite:///{tmp_path / 'tenants.db'}"
    other_worker = sa.create_engine(url)
    raced: list[str] = []

    def create_it_first(table: sa.Table, connection: sa.Connection, **_: Any) -> None:
        if connection.engine is other_worker:  # the other worker's own CREATE
            return
        raced.append(table.name)
        with other_worker.begin() as other:
            table.create(other)

    sa.event.listen(sa.Table, "before_create", create_it_first)
    try:
        store = SQLAlchemyTenantStore(url, app_key=APP_KEY)
    finally:
        sa.event.remove(sa.Table, "before_create", create_it_first)
        other_worker.dispose()
    assert sorted(raced) == sorted(store.table.metadata.tables)  # each table's race, lost
    store.save({"key": APP_KEY, "clientKey": CLIENT_KEY, "sharedSecret": SECRET})
    assert store.get(CLIENT_KEY) == {
        "key": APP_KEY,
        "clientKey": CLIENT_KEY,
        "sharedSecret": SECRET,
    }
    store.engine.dispose()  # else its pooled sqlite3 connection warns when collected (3.13)


@pytest.mark.slow
def test_processes_racing_lifecycle_events_end_in_the_newest_state(
    backend: str, make_store: StoreFactory, tmp_path: Path
) -> None:
    """Issue 16.13: several worker processes, two apps, one table (made the old way, so they
    also race to migrate it): installs, reinstalls, uninstalls and out-of-order callbacks of
    the same tenants, app tokens and replayed lifecycle tokens, all at once."""
    store = make_store()
    assert isinstance(store, SQLAlchemyTenantStore)
    table_name = store.table.name
    drop_tables(store.engine, table_name)
    make_legacy_table(store.engine, table_name)
    database = str(tmp_path / "tenants.db") if backend.startswith("sqlite") else str(POSTGRES_URL)

    chooser = random.Random(16_13)
    apps, processes_per_app, tenants, times = (APP_KEY, OTHER_APP), 3, 3, 16
    plans: dict[tuple[str, int], list[tuple[str, str, float, str]]] = {
        (app, number): [] for app in apps for number in range(processes_per_app)
    }
    newest: dict[tuple[str, str], tuple[str, str]] = {}
    for app in apps:
        for tenant in range(tenants):
            client_key = f"jira:{tenant}"
            for when in range(1, times + 1):
                kind = "uninstall" if chooser.random() < 0.35 else "install"
                secret = f"{app}-{client_key}-{when}-{SECRET}"
                # Every process a share of each tenant's events, each share out of order.
                plans[app, chooser.randrange(processes_per_app)].append(
                    (kind, client_key, when, secret)
                )
                newest[app, client_key] = (kind, secret)
                plans[app, chooser.randrange(processes_per_app)].append(
                    ("token", f"installation/{tenant}", 2e9 + when, f"t.{app}.{tenant}.{when}")
                )
        for number in range(processes_per_app):
            owned = [("own", f"own:{number}:{i}", 0.0, f"{SECRET}-{i}") for i in range(10)]
            replays = [("claim", sha256("token"), 4e9, sha256(f"body {number}"))] * 5
            shuffled = chooser.sample(plans[app, number], len(plans[app, number]))
            plans[app, number] = owned[:5] + replays + owned[5:] + shuffled
    processes = {
        key: subprocess.Popen(
            [
                sys.executable,
                "-c",
                RACER,
                backend,
                database,
                table_name,
                key[0],
                str(key[1]),
                json.dumps(plan),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for key, plan in plans.items()
    }
    for process in processes.values():
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    # Every process is waited for (and its pipes closed) before any is judged.
    outputs = {key: process.communicate(timeout=120) for key, process in processes.items()}
    answers = {}
    for key, (stdout, stderr) in outputs.items():
        assert processes[key].returncode == 0, stderr  # no error at all, documented or not
        answers[key] = json.loads(stdout)

    for app in apps:
        app_store = make_store(app)
        for (owner, client_key), (kind, secret) in newest.items():
            if owner != app:
                continue
            stored = app_store.get(client_key)
            if kind == "uninstall":
                assert stored is None, (app, client_key)
            else:
                assert stored is not None and stored["sharedSecret"] == secret, (app, client_key)
                assert app_store.get_by_installation_id(client_key) == stored
        for number in range(processes_per_app):  # no lost row
            for i in range(10):
                own = app_store.get(f"own:{number}:{i}")
                assert own is not None and own["sharedSecret"] == f"{SECRET}-{i}"
        for tenant in range(tenants):
            kept = app_store.get_app_token(f"installation/{tenant}")
            assert kept is not None and kept.value == f"t.{app}.{tenant}.{times}"
        # One body per app won the lifecycle token, and every attempt agreed which.
        agreed = sorted(tuple(set(answers[app, number])) for number in range(processes_per_app))
        assert agreed == [(False,)] * (processes_per_app - 1) + [(True,)]
    # The legacy rows were migrated once, to the app their tenants name.
    assert make_store(OTHER_APP).get("site-b") is not None
    assert make_store(APP_KEY).get("site-a") is not None


def test_without_sqlalchemy_the_import_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    monkeypatch.delitem(sys.modules, "atlassian_jwt.integrations.sqlalchemy_store")
    with pytest.raises(
        ImportError,
        match=r"pip install 'SQLAlchemy>=2\.0'"
        r" \(the \[sqlalchemy\] extra of atlassian-jwt 4\)",
    ):
        importlib.import_module("atlassian_jwt.integrations.sqlalchemy_store")


def test_readme_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tenant: Any) -> None:
    from tests.readme import run_example

    monkeypatch.chdir(tmp_path)
    namespace = run_example("tenant-storage-sqlalchemy", {"tenant": tenant})
    assert namespace["store"].get(CLIENT_KEY) == tenant
    namespace["store"].engine.dispose()
