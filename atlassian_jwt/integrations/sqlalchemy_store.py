"""A tenant store on SQLAlchemy: PostgreSQL (or another server) for apps on several machines.

::

    from atlassian_jwt.integrations.sqlalchemy_store import SQLAlchemyTenantStore

    store = SQLAlchemyTenantStore(
        "postgresql+psycopg://app:secret@db.example.com/app", app_key="com.example.my-app"
    )

It keeps the :class:`~atlassian_jwt.tenants.TenantStore` contract, app binding, ordering by
event time, tombstones, remembered lifecycle tokens, Forge app tokens and claimed Forge events
included (see
:mod:`atlassian_jwt.tenants`). Every change is one transaction: on PostgreSQL and SQLite a
single ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement, on other databases a
``SELECT ... FOR UPDATE`` of the row followed by its update (or its insert, retried once if
another writer inserted the same row first).

Four tables: ``table_name`` for the tenants, ``<table_name>_app_tokens``,
``<table_name>_lifecycle_tokens`` and ``<table_name>_forge_events``, created if missing. A
tenant table made before stores were bound to an app (keyed by ``client_key`` alone) is migrated
in place on PostgreSQL and SQLite when the store opens it, in one transaction, while other
processes opening it wait; on other databases the store refuses to open it and says so.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any, Callable, TypeVar

from .._extras import install_hint, missing_extra

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql, sqlite
except ImportError as error:  # pragma: no cover - tested with the extra missing
    raise missing_extra(
        "atlassian_jwt.integrations.sqlalchemy_store",
        ("sqlalchemy", "SQLAlchemy"),
        ("postgres", "SQLAlchemy"),
    ) from error

from .._store_base import (
    LEGACY_TENANT_COLUMNS,
    TENANT_COLUMNS,
    TenantRow,
    TenantStoreBase,
    create_private_file,
    is_stale,
    legacy_row_keys,
    migrate_sqlite_tenant_table,
    sqlite_table_columns,
)
from ..tenants import TenantStoreError

__all__ = ["SQLAlchemyTenantStore"]

# Dialects whose INSERT has ON CONFLICT ... DO UPDATE ... WHERE: one atomic statement.
_UPSERT_INSERTS: dict[str, Callable[[sa.Table], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}
# Names of URL query parameters whose values may be credentials (psycopg's ``password``,
# ``sslpassword``, ...): taken out of every error message.
_SECRET_PARAMETER = re.compile(r"pass|secret|token|key|cred|auth", re.IGNORECASE)

_T = TypeVar("_T")


class SQLAlchemyTenantStore(TenantStoreBase):
    """A :class:`~atlassian_jwt.tenants.TenantStore` in tables of any SQLAlchemy database.

    The tables are created if they do not exist; the database must. For a ``sqlite:`` URL the
    database file is created readable by its owner only, as it holds secrets.

    :param url_or_engine: a database URL (``postgresql+psycopg://user:password@host/db``) or
        an :class:`~sqlalchemy.engine.Engine` you configured yourself.
    :param app_key: the app whose tenants this store keeps: the descriptor's ``key``. Several
        apps may share the tables, each with its own store.
    :param table_name: the tenant table; the three others are named after it.
    :raises ValueError: if ``app_key`` is not a non-empty string or the URL cannot be read.
    :raises TenantStoreError: at once, if the database cannot be reached or a table has
        another shape.

    Neither the ``repr`` nor an error message shows the URL's password, or any value of its
    query string (``?password=`` is a password too).
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | sa.Engine,
        *,
        app_key: str,
        table_name: str = "atlassian_jwt_tenants",
    ) -> None:
        if app_key is None:
            raise ValueError("app_key must be the app's key (the descriptor's key)")
        super().__init__(app_key)
        self._bound_app_key: str = app_key
        if isinstance(url_or_engine, sa.Engine):
            url = url_or_engine.url
        else:
            try:
                url = sa.make_url(url_or_engine)
            except (sa.exc.ArgumentError, ValueError, TypeError):
                # SQLAlchemy's message quotes the whole URL, password included.
                raise ValueError("url_or_engine is not a database URL SQLAlchemy reads") from None
        self._secrets = _url_secrets(url)
        self._display_url = _display_url(url)
        if url.get_backend_name() == "sqlite":
            self._create_sqlite_file(url)
        if isinstance(url_or_engine, sa.Engine):
            self.engine = url_or_engine
        else:
            try:
                self.engine = sa.create_engine(url, pool_pre_ping=True)
            except ImportError as error:
                hint = install_hint("postgres", "psycopg[binary]")
                raise ImportError(
                    f"The database driver for this URL is missing ({error}); for PostgreSQL: "
                    f"{hint}"
                ) from error
        metadata = sa.MetaData()
        self.table = sa.Table(
            table_name,
            metadata,
            sa.Column("app_key", sa.String(255), primary_key=True),
            sa.Column("client_key", sa.String(255), primary_key=True),
            sa.Column("tenant", sa.Text, nullable=True),  # NULL: uninstalled (a tombstone)
            sa.Column("event_time", sa.Double, nullable=True),
            sa.Column("installation_id", sa.String(255), nullable=True),
            sa.Index(f"{table_name}_installation", "app_key", "installation_id"),
        )
        self.app_tokens_table = sa.Table(
            f"{table_name}_app_tokens",
            metadata,
            sa.Column("app_key", sa.String(255), primary_key=True),
            sa.Column("installation_id", sa.String(255), primary_key=True),
            sa.Column("token", sa.Text, nullable=False),
            sa.Column("expires_at", sa.Double, nullable=False),
            sa.Column("api_base_url", sa.Text, nullable=False),
        )
        self.lifecycle_tokens_table = sa.Table(
            f"{table_name}_lifecycle_tokens",
            metadata,
            sa.Column("app_key", sa.String(255), primary_key=True),
            sa.Column("token_sha256", sa.String(64), primary_key=True),
            sa.Column("body_sha256", sa.String(64), nullable=False),
            sa.Column("expires_at", sa.Double, nullable=False),
            sa.Index(f"{table_name}_lifecycle_tokens_expiry", "expires_at"),
        )
        self.forge_events_table = sa.Table(
            f"{table_name}_forge_events",
            metadata,
            sa.Column("app_key", sa.String(255), primary_key=True),
            sa.Column("event_sha256", sa.String(64), primary_key=True),
            # Who claimed it: read back to tell whether this call's insert won.
            sa.Column("claim", sa.String(32), nullable=False),
            sa.Column("expires_at", sa.Double, nullable=False),
            sa.Index(f"{table_name}_forge_events_expiry", "expires_at"),
        )
        self._upsert_insert = _UPSERT_INSERTS.get(self.engine.dialect.name)
        self._open()

    # Reads.

    def _read_tenant(self, client_key: str) -> str | None:
        query = sa.select(self.table.c.tenant).where(self._tenant_is(client_key))
        with self._errors(), self.engine.connect() as connection:
            stored: str | None = connection.execute(query).scalar_one_or_none()
        return stored

    def _read_tenant_by_installation(self, installation_id: str) -> str | None:
        columns = self.table.c
        query = (
            sa.select(columns.tenant)
            .where(
                columns.app_key == self._bound_app_key,
                columns.installation_id == installation_id,
                columns.tenant.is_not(None),
            )
            .order_by(columns.event_time.is_(None), columns.event_time.desc(), columns.client_key)
            .limit(1)
        )
        with self._errors(), self.engine.connect() as connection:
            stored: str | None = connection.execute(query).scalar_one_or_none()
        return stored

    def _read_app_token(self, installation_id: str) -> tuple[str, float, str] | None:
        columns = self.app_tokens_table.c
        query = sa.select(columns.token, columns.expires_at, columns.api_base_url).where(
            self._app_token_is(installation_id)
        )
        with self._errors(), self.engine.connect() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else (row[0], float(row[1]), row[2])

    # Writes.

    def _write_tenant(self, row: TenantRow, event_time: float | None) -> None:
        values: dict[str, Any] = {
            "tenant": row.tenant_json,
            "installation_id": row.installation_id,
        }
        if self._upsert_insert is not None:
            columns = self.table.c
            insert = self._upsert_insert(self.table).values(
                app_key=self._bound_app_key,
                client_key=row.client_key,
                event_time=event_time,
                **values,
            )
            new = insert.excluded
            statement = insert.on_conflict_do_update(
                index_elements=[columns.app_key, columns.client_key],
                set_={
                    "tenant": new.tenant,
                    "installation_id": new.installation_id,
                    "event_time": sa.func.coalesce(new.event_time, columns.event_time),
                },
                # The stale check and the write are one statement, under the row's lock.
                where=sa.or_(
                    new.event_time.is_(None),
                    columns.event_time.is_(None),
                    new.event_time >= columns.event_time,
                ),
            )
            with self._errors(), self.engine.begin() as connection:
                connection.execute(statement)
            return

        def write(connection: sa.Connection) -> None:
            where = self._tenant_is(row.client_key)
            latest = connection.execute(
                sa.select(self.table.c.event_time).where(where).with_for_update()
            ).one_or_none()
            if latest is None:
                connection.execute(
                    sa.insert(self.table).values(
                        app_key=self._bound_app_key,
                        client_key=row.client_key,
                        event_time=event_time,
                        **values,
                    )
                )
            elif not is_stale(event_time, latest[0]):
                if event_time is not None:
                    values["event_time"] = event_time
                connection.execute(sa.update(self.table).where(where).values(**values))

        self._locked(write)

    def _erase_tenant(self, client_key: str) -> None:
        erase = (
            sa.update(self.table)
            .where(self._tenant_is(client_key))
            .values(tenant=None, installation_id=None)
        )
        with self._errors(), self.engine.begin() as connection:
            connection.execute(erase)

    def _erase_app_token(self, installation_id: str) -> None:
        erase = sa.delete(self.app_tokens_table).where(self._app_token_is(installation_id))
        with self._errors(), self.engine.begin() as connection:
            connection.execute(erase)

    def _write_app_token(
        self, installation_id: str, token: str, expires_at: float, api_base_url: str
    ) -> bool:
        table = self.app_tokens_table
        values = {"token": token, "expires_at": expires_at, "api_base_url": api_base_url}
        if self._upsert_insert is not None:
            insert = self._upsert_insert(table).values(
                app_key=self._bound_app_key, installation_id=installation_id, **values
            )
            new = insert.excluded
            statement = insert.on_conflict_do_update(
                index_elements=[table.c.app_key, table.c.installation_id],
                set_={name: new[name] for name in values},
                where=new.expires_at >= table.c.expires_at,
            )
            kept = sa.select(table.c.token, table.c.expires_at).where(
                self._app_token_is(installation_id)
            )
            # Whether the statement wrote, read back under the row lock it took (an INSERT's
            # rowcount is not reported by every driver).
            with self._errors(), self.engine.begin() as connection:
                connection.execute(statement)
                return tuple(connection.execute(kept).one()) == (token, expires_at)

        def write(connection: sa.Connection) -> bool:
            where = self._app_token_is(installation_id)
            kept = connection.execute(
                sa.select(table.c.expires_at).where(where).with_for_update()
            ).one_or_none()
            if kept is None:
                connection.execute(
                    sa.insert(table).values(
                        app_key=self._bound_app_key, installation_id=installation_id, **values
                    )
                )
            elif expires_at >= kept[0]:
                connection.execute(sa.update(table).where(where).values(**values))
            else:
                return False
            return True

        return self._locked(write)

    def _remember_lifecycle_token(
        self, token_sha256: str, body_sha256: str, expires_at: float, now: float
    ) -> bool:
        table = self.lifecycle_tokens_table
        columns = table.c
        entry = sa.and_(
            columns.app_key == self._bound_app_key, columns.token_sha256 == token_sha256
        )
        purge = sa.delete(table).where(
            columns.app_key == self._bound_app_key, columns.expires_at < now
        )
        values = {
            "app_key": self._bound_app_key,
            "token_sha256": token_sha256,
            "body_sha256": body_sha256,
            "expires_at": expires_at,
        }

        def remember(connection: sa.Connection) -> bool:
            connection.execute(purge)
            if self._upsert_insert is not None:
                connection.execute(
                    self._upsert_insert(table)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=[columns.app_key, columns.token_sha256])
                )
                remembered = connection.execute(
                    sa.select(columns.body_sha256).where(entry)
                ).scalar_one()
            else:
                remembered = connection.execute(
                    sa.select(columns.body_sha256).where(entry).with_for_update()
                ).scalar_one_or_none()
                if remembered is None:
                    connection.execute(sa.insert(table).values(**values))
                    remembered = body_sha256
            return bool(remembered == body_sha256)

        return self._locked(remember)

    def _claim_event(self, event_sha256: str, expires_at: float, now: float) -> bool:
        table = self.forge_events_table
        columns = table.c
        this_event = sa.and_(
            columns.app_key == self._bound_app_key, columns.event_sha256 == event_sha256
        )
        purge = sa.delete(table).where(
            columns.app_key == self._bound_app_key, columns.expires_at < now
        )
        claim = secrets.token_hex(16)
        values = {
            "app_key": self._bound_app_key,
            "event_sha256": event_sha256,
            "claim": claim,
            "expires_at": expires_at,
        }

        def claim_event(connection: sa.Connection) -> bool:
            connection.execute(purge)
            if self._upsert_insert is not None:
                connection.execute(
                    self._upsert_insert(table)
                    .values(**values)
                    .on_conflict_do_nothing(index_elements=[columns.app_key, columns.event_sha256])
                )
                # Whether the insert won, read back (not every driver reports its rowcount).
                holder = connection.execute(sa.select(columns.claim).where(this_event)).scalar_one()
                return bool(holder == claim)
            held = connection.execute(
                sa.select(columns.claim).where(this_event).with_for_update()
            ).scalar_one_or_none()
            if held is not None:
                return False
            connection.execute(sa.insert(table).values(**values))
            return True

        return self._locked(claim_event)

    def _release_event(self, event_sha256: str) -> None:
        columns = self.forge_events_table.c
        release = sa.delete(self.forge_events_table).where(
            columns.app_key == self._bound_app_key, columns.event_sha256 == event_sha256
        )
        with self._errors(), self.engine.begin() as connection:
            connection.execute(release)

    def _locked(self, write: Callable[[sa.Connection], _T]) -> _T:
        """Run ``write`` in a transaction; once more if another writer inserted the same row
        first (its ``SELECT ... FOR UPDATE`` found nothing to lock, so its ``INSERT`` failed)."""
        with self._errors():
            try:
                with self.engine.begin() as connection:
                    return write(connection)
            except sa.exc.IntegrityError:
                with self.engine.begin() as connection:
                    return write(connection)

    def _tenant_is(self, client_key: str) -> sa.ColumnElement[bool]:
        columns = self.table.c
        return sa.and_(columns.app_key == self._bound_app_key, columns.client_key == client_key)

    def _app_token_is(self, installation_id: str) -> sa.ColumnElement[bool]:
        columns = self.app_tokens_table.c
        return sa.and_(
            columns.app_key == self._bound_app_key, columns.installation_id == installation_id
        )

    # Start-up.

    def _open(self) -> None:
        with self._errors():
            if self.engine.dialect.name == "sqlite":
                self._migrate_sqlite()
            # Another process may create a table or an index between our check and our CREATE
            # (SQLite; PostgreSQL start-ups are serialised by a lock): it exists then, and the
            # next try finds it. Each failed try lost its race for an object another process
            # made, so one try more than there are tables and indexes is always enough.
            tables = self.table.metadata.tables.values()
            tries = 1 + sum(1 + len(table.indexes) for table in tables)
            for attempt in range(1, tries + 1):
                try:
                    columns = self._set_up()
                    break
                except sa.exc.OperationalError as error:
                    if "already exists" not in str(error.orig) or attempt == tries:
                        raise
        if columns != TENANT_COLUMNS:
            raise TenantStoreError(
                f"The tenant store {self!r} has a table {self.table.name} of another shape"
            )

    def _set_up(self) -> set[str]:
        """Create the missing tables and indexes, migrating a legacy PostgreSQL tenant table.

        :returns: the tenant table's column names (another shape is left alone).
        """
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # One start-up at a time per table, whichever app's: no two processes create
                # or migrate it at once. Released at the end of the transaction.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self._lock_key()}
                )
            columns = self._columns(connection)
            if columns == LEGACY_TENANT_COLUMNS:
                if connection.dialect.name != "postgresql":
                    raise TenantStoreError(
                        f"The tenant store {self!r} has a table {self.table.name} made before "
                        "stores were bound to an app; add the columns app_key (filled from "
                        "each tenant's key) and installation_id, and make (app_key, "
                        "client_key) its primary key"
                    )
                self._migrate_postgresql(connection)
            elif columns and columns != TENANT_COLUMNS:
                return columns
            self.table.metadata.create_all(connection, checkfirst=True)
            for table in self.table.metadata.tables.values():
                for index in table.indexes:
                    index.create(connection, checkfirst=True)
            return self._columns(connection)

    def _columns(self, connection: sa.Connection) -> set[str]:
        inspector = sa.inspect(connection)
        if not inspector.has_table(self.table.name):
            return set()
        return {column["name"] for column in inspector.get_columns(self.table.name)}

    def _migrate_postgresql(self, connection: sa.Connection) -> None:
        """Bind a legacy tenant table's rows to their apps and re-key it, in the caller's
        transaction (PostgreSQL's DDL is transactional: all of it or nothing)."""
        quote = connection.dialect.identifier_preparer.quote
        table = quote(self.table.name)
        columns = self.table.c
        connection.exec_driver_sql(
            f"ALTER TABLE {table} ADD COLUMN app_key VARCHAR(255), "
            "ADD COLUMN installation_id VARCHAR(255)"
        )
        rows = connection.execute(sa.select(columns.client_key, columns.tenant)).all()
        if rows:
            connection.execute(
                sa.update(self.table)
                .where(columns.client_key == sa.bindparam("row_client_key"))
                .values(
                    app_key=sa.bindparam("row_app_key"),
                    installation_id=sa.bindparam("row_installation_id"),
                ),
                [
                    dict(
                        zip(
                            ("row_app_key", "row_installation_id"),
                            legacy_row_keys(tenant, self._bound_app_key),
                        ),
                        row_client_key=client_key,
                    )
                    for client_key, tenant in rows
                ],
            )
        # A legacy table's primary key is (client_key), under PostgreSQL's name for it.
        primary_key = sa.inspect(connection).get_pk_constraint(self.table.name)["name"] or (
            f"{self.table.name}_pkey"
        )
        connection.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN app_key SET NOT NULL")
        connection.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {quote(primary_key)}")
        connection.exec_driver_sql(f"ALTER TABLE {table} ADD PRIMARY KEY (app_key, client_key)")

    def _migrate_sqlite(self) -> None:
        """Migrate a legacy SQLite tenant table with the SQLite store's own procedure, on the
        driver's connection (it takes the write lock first, which SQLAlchemy's pysqlite
        transactions do not)."""
        create_table = str(sa.schema.CreateTable(self.table).compile(dialect=self.engine.dialect))
        with closing(self.engine.raw_connection()) as pooled:
            driver = pooled.driver_connection
            if not isinstance(driver, sqlite3.Connection):  # pragma: no cover - other drivers
                return
            try:
                if sqlite_table_columns(driver, self.table.name) != LEGACY_TENANT_COLUMNS:
                    return
                saved = driver.isolation_level
                driver.isolation_level = None
                try:
                    migrate_sqlite_tenant_table(
                        driver, self.table.name, create_table, self._bound_app_key
                    )
                finally:
                    driver.isolation_level = saved
            except sqlite3.Error as error:
                raise TenantStoreError(f"The tenant store {self!r} failed: {error}") from None

    def _lock_key(self) -> int:
        digest = hashlib.sha256(f"atlassian_jwt:{self.table.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _create_sqlite_file(self, url: sa.URL) -> None:
        database = url.database
        if not database or database == ":memory:" or url.query.get("uri"):
            return
        try:
            create_private_file(database)
        except OSError as error:
            raise TenantStoreError(
                f"Cannot create the tenant store {self._display_url!r}: {error.strerror}"
            ) from None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn SQLAlchemy's errors into :class:`TenantStoreError`, without their parameters.

        SQLAlchemy's messages quote the statement's parameters, which hold the tenant's secret;
        only the driver's first line, which names the problem, is kept, with the URL's
        credentials taken out.
        """
        try:
            yield
        except sa.exc.SQLAlchemyError as error:
            reason = type(error).__name__
            if isinstance(error, sa.exc.DBAPIError) and error.orig is not None:
                first_line = (str(error.orig).strip().splitlines() or [""])[0]
                reason = f"{type(error.orig).__name__}: {self._scrub(first_line)}"
            raise TenantStoreError(f"The tenant store {self!r} failed: {reason}") from None

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._display_url!r}, app_key={self.app_key!r}, "
            f"table_name={self.table.name!r})"
        )


def _display_url(url: sa.URL) -> str:
    """The URL without its password and with every query value masked."""
    masked = url.set(query={name: "***" for name in url.query})
    return masked.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def _url_secrets(url: sa.URL) -> list[str]:
    """The URL's password and the values of query parameters that may be credentials."""
    secrets = [url.password] if url.password else []
    for name, value in url.query.items():
        values = (value,) if isinstance(value, str) else value
        if _SECRET_PARAMETER.search(name):
            secrets.extend(text for text in values if text)
    # Longest first, so that a secret containing another is taken out whole.
    return sorted(set(secrets), key=len, reverse=True)
