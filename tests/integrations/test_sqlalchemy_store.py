"""SQLAlchemyTenantStore: the tenant store suite against SQLite, and PostgreSQL when configured.

Set ATLASSIAN_JWT_TEST_POSTGRES_URL (``postgresql+psycopg://user:password@127.0.0.1:port/db``)
to run every test against that server too; ``.ci/run`` starts one and sets it. Each test uses
its own table, dropped afterwards, so several runs can share one database.
"""

from __future__ import annotations

import importlib
import inspect
import os
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
from tests.conftest import CLIENT_KEY, SECRET
from tests.test_tenants import THREADS, StoreFactory

pytestmark = pytest.mark.extras

POSTGRES_URL = os.environ.get("ATLASSIAN_JWT_TEST_POSTGRES_URL")

# Every backend the store is tested on: SQLite always, PostgreSQL when a server is configured;
# each both with its one-statement upsert and with the SELECT ... FOR UPDATE path that other
# databases take.
BACKENDS = ["sqlite", "sqlite-locked"] + (
    ["postgresql", "postgresql-locked"] if POSTGRES_URL else []
)


def sqlite_engine(path: Path, *, immediate: bool) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _wal(connection: Any, _: Any) -> None:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")

    if immediate:
        # SQLite has no SELECT ... FOR UPDATE: take the write lock when the transaction
        # begins instead, as SQLAlchemy's documentation shows for pysqlite.
        @sa.event.listens_for(engine, "connect")
        def _no_implicit_begin(connection: Any, _: Any) -> None:
            connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin_immediate(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


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

    def make() -> TenantStore:
        store = SQLAlchemyTenantStore(engine, table_name=table_name)
        if locked:
            store._upsert_insert = None  # the path of databases without ON CONFLICT
        return store

    yield make
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table_name}")
    if engine.dialect.name == "sqlite":
        engine.dispose()


@pytest.fixture
def store(make_store: StoreFactory) -> TenantStore:
    return make_store()


authenticator_and_store = suite.authenticator_and_store

# The protocol suite of tests/test_tenants.py, run here with this module's stores: every test
# there that takes a store.
for _name, _test in vars(suite).items():
    if _name.startswith("test_") and {"store", "authenticator_and_store"} & set(
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
    store = SQLAlchemyTenantStore(f"sqlite:///{tmp_path / 't.db'}")
    store.save(tenant, event_time=100)
    store.engine.dispose()
    reopened = SQLAlchemyTenantStore(f"sqlite:///{tmp_path / 't.db'}")
    assert reopened.get(CLIENT_KEY) == tenant
    reopened.engine.dispose()


def test_an_unreachable_database_fails_at_start_up() -> None:
    # A port nothing listens on; nothing leaves 127.0.0.1.
    url = "postgresql+psycopg://user:hunter2-password@127.0.0.1:9/db?connect_timeout=2"
    with pytest.raises(TenantStoreError, match="OperationalError") as info:
        SQLAlchemyTenantStore(url)
    # The message names the database, with the password masked.
    assert "hunter2" not in str(info.value) and "user:***@127.0.0.1:9/db" in str(info.value)


def test_a_table_of_another_shape_fails_at_start_up(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 't.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE atlassian_jwt_tenants (id INTEGER, secret TEXT)")
    with pytest.raises(TenantStoreError, match="another shape"):
        SQLAlchemyTenantStore(engine)
    engine.dispose()


def test_errors_never_quote_the_secret(tmp_path: Path, tenant: dict[str, Any]) -> None:
    store = SQLAlchemyTenantStore(f"sqlite:///{tmp_path / 't.db'}")
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE atlassian_jwt_tenants")
    with pytest.raises(TenantStoreError, match="no such table") as info:
        store.save(tenant)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    store.engine.dispose()


def test_without_sqlalchemy_the_import_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    monkeypatch.delitem(sys.modules, "atlassian_jwt.integrations.sqlalchemy_store")
    with pytest.raises(ImportError, match=r"pip install 'atlassian-jwt\[sqlalchemy\]'"):
        importlib.import_module("atlassian_jwt.integrations.sqlalchemy_store")


def test_readme_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tenant: Any) -> None:
    from tests.readme import run_example

    monkeypatch.chdir(tmp_path)
    namespace = run_example("tenant-storage-sqlalchemy", {"tenant": tenant})
    assert namespace["store"].get(CLIENT_KEY) == tenant
    namespace["store"].engine.dispose()
