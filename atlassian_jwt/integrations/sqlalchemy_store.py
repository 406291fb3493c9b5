"""A tenant store on SQLAlchemy: PostgreSQL (or another server) for apps on several machines.

::

    from atlassian_jwt.integrations.sqlalchemy_store import SQLAlchemyTenantStore

    store = SQLAlchemyTenantStore("postgresql+psycopg://app:secret@db.example.com/app")

It keeps the :class:`~atlassian_jwt.tenants.TenantStore` contract, ordering by event time and
tombstones included (see :mod:`atlassian_jwt.tenants`). Every change is one transaction: on
PostgreSQL and SQLite a single ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement, on
other databases a ``SELECT ... FOR UPDATE`` of the row followed by its update (or its insert,
retried once if another writer inserted the same client key first).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Callable

try:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql, sqlite
except ImportError as error:  # pragma: no cover - tested with the extra missing
    raise ImportError(
        "atlassian_jwt.integrations.sqlalchemy_store needs SQLAlchemy: "
        "pip install 'atlassian-jwt[sqlalchemy]' (or 'atlassian-jwt[postgres]' for PostgreSQL)"
    ) from error

from ..tenants import TenantStoreError, _checked_key, _checked_time, _client_key_of, _to_json

__all__ = ["SQLAlchemyTenantStore"]

# Dialects whose INSERT has ON CONFLICT ... DO UPDATE ... WHERE: one atomic statement.
_UPSERT_INSERTS: dict[str, Callable[[sa.Table], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}
_COLUMNS = {"client_key", "tenant", "event_time"}


class SQLAlchemyTenantStore:
    """A :class:`~atlassian_jwt.tenants.TenantStore` in a table of any SQLAlchemy database.

    The table is created if it does not exist; the database must.

    :param url_or_engine: a database URL (``postgresql+psycopg://user:password@host/db``) or
        an :class:`~sqlalchemy.engine.Engine` you configured yourself.
    :param table_name: the table to use.
    :raises TenantStoreError: at once, if the database cannot be reached or the table has
        another shape.
    """

    def __init__(
        self,
        url_or_engine: str | sa.URL | sa.Engine,
        *,
        table_name: str = "atlassian_jwt_tenants",
    ) -> None:
        if isinstance(url_or_engine, sa.Engine):
            self.engine = url_or_engine
        else:
            try:
                self.engine = sa.create_engine(url_or_engine, pool_pre_ping=True)
            except ImportError as error:
                raise ImportError(
                    f"The database driver for this URL is missing ({error}); for PostgreSQL: "
                    "pip install 'atlassian-jwt[postgres]'"
                ) from error
        self.table = sa.Table(
            table_name,
            sa.MetaData(),
            sa.Column("client_key", sa.String(255), primary_key=True),
            sa.Column("tenant", sa.Text, nullable=True),  # NULL: uninstalled (a tombstone)
            sa.Column("event_time", sa.Double, nullable=True),
        )
        self._upsert_insert = _UPSERT_INSERTS.get(self.engine.dialect.name)
        self._open()

    def get(self, client_key: str) -> dict[str, Any] | None:
        query = sa.select(self.table.c.tenant).where(
            self.table.c.client_key == _checked_key(client_key)
        )
        with self._errors(), self.engine.connect() as connection:
            stored = connection.execute(query).scalar_one_or_none()
        if stored is None:
            return None
        tenant: dict[str, Any] = json.loads(stored)
        return tenant

    def save(self, tenant: Mapping[str, Any], *, event_time: float | None = None) -> None:
        self._write(_client_key_of(tenant), _to_json(tenant), _checked_time(event_time))

    def delete(self, client_key: str, *, event_time: float | None = None) -> None:
        event_time = _checked_time(event_time)
        client_key = _checked_key(client_key)
        if event_time is None:
            # No time to remember: just erase the tenant, creating no tombstone.
            erase = (
                sa.update(self.table)
                .where(self.table.c.client_key == client_key)
                .values(tenant=None)
            )
            with self._errors(), self.engine.begin() as connection:
                connection.execute(erase)
            return
        self._write(client_key, None, event_time)

    def _write(self, client_key: str, tenant_json: str | None, event_time: float | None) -> None:
        with self._errors():
            if self._upsert_insert is not None:
                self._upsert(client_key, tenant_json, event_time)
            else:
                self._locked_write(client_key, tenant_json, event_time)

    def _upsert(self, client_key: str, tenant_json: str | None, event_time: float | None) -> None:
        assert self._upsert_insert is not None
        columns = self.table.c
        insert = self._upsert_insert(self.table).values(
            client_key=client_key, tenant=tenant_json, event_time=event_time
        )
        new = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=[columns.client_key],
            set_={
                "tenant": new.tenant,
                "event_time": sa.func.coalesce(new.event_time, columns.event_time),
            },
            # The stale check and the write are one statement, under the row's lock.
            where=sa.or_(
                new.event_time.is_(None),
                columns.event_time.is_(None),
                new.event_time >= columns.event_time,
            ),
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def _locked_write(
        self, client_key: str, tenant_json: str | None, event_time: float | None
    ) -> None:
        columns = self.table.c
        row = columns.client_key == client_key
        for attempt in (1, 2):
            try:
                with self.engine.begin() as connection:
                    latest = connection.execute(
                        sa.select(columns.event_time).where(row).with_for_update()
                    ).one_or_none()
                    if latest is None:
                        connection.execute(
                            sa.insert(self.table).values(
                                client_key=client_key, tenant=tenant_json, event_time=event_time
                            )
                        )
                        return
                    stored_time = latest[0]
                    if event_time is not None and stored_time is not None:
                        if event_time < stored_time:
                            return
                    values: dict[str, Any] = {"tenant": tenant_json}
                    if event_time is not None:
                        values["event_time"] = event_time
                    connection.execute(sa.update(self.table).where(row).values(**values))
                    return
            except sa.exc.IntegrityError:
                # Another writer inserted this client key between our SELECT and INSERT: the
                # row exists now, so the second attempt locks and updates it.
                if attempt == 2:
                    raise

    def _open(self) -> None:
        with self._errors():
            self.table.metadata.create_all(self.engine, checkfirst=True)
            columns = {
                column["name"] for column in sa.inspect(self.engine).get_columns(self.table.name)
            }
        if columns != _COLUMNS:
            raise TenantStoreError(
                f"The tenant store {self!r} has a table {self.table.name} of another shape"
            )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn SQLAlchemy's errors into :class:`TenantStoreError`, without their parameters.

        SQLAlchemy's messages quote the statement's parameters, which hold the tenant's secret;
        only the driver's first line, which names the problem, is kept.
        """
        try:
            yield
        except sa.exc.SQLAlchemyError as error:
            reason = type(error).__name__
            if isinstance(error, sa.exc.DBAPIError) and error.orig is not None:
                first_line = (str(error.orig).strip().splitlines() or [""])[0]
                reason = f"{type(error.orig).__name__}: {first_line}"
            raise TenantStoreError(f"The tenant store {self!r} failed: {reason}") from None

    def __repr__(self) -> str:
        url = self.engine.url.render_as_string(hide_password=True)
        return f"{type(self).__name__}({url!r}, table_name={self.table.name!r})"
