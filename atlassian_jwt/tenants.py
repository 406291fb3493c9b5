"""Tenant storage: where an app keeps what each product instance sent to ``installed``.

A tenant is the JSON object of the ``installed`` callback (``key``, ``clientKey``,
``sharedSecret``, ``baseUrl``, ...), stored under its ``clientKey``. :class:`TenantStore` is the
small protocol the lifecycle handling and :class:`TenantStoreAuthenticator` need; two stores come
with the core: :class:`MemoryTenantStore` for tests and examples, :class:`SQLiteTenantStore` on
the standard library's ``sqlite3`` for a real app on one machine. A store on SQLAlchemy, for
PostgreSQL and apps on several machines, is in
:mod:`atlassian_jwt.integrations.sqlalchemy_store`.

**One app per store.** A ``clientKey`` names a product instance (a site), not an app: two apps
installed on the same site get the same ``clientKey``. So a store is bound to one app key (the
descriptor's ``key``, which the ``installed`` payload carries as ``key``) and keeps its rows
under (app key, client key): several apps may share one database file or table, and a store
never sees, replaces or erases another app's tenant. :meth:`TenantStore.save` refuses a tenant
whose ``key`` names another app. Tables made before stores were bound to an app (keyed by
``clientKey`` alone) are migrated in place when a store opens them: each row goes to the app its
tenant's ``key`` names; a row that names none (a tombstone) goes to the app of the store that
migrates the table.

**Ordering.** Lifecycle callbacks can arrive out of order or at the same time (an ``installed``
retried by Atlassian after a newer ``uninstalled``, say). So :meth:`TenantStore.save` and
:meth:`TenantStore.delete` take an optional ``event_time``: the ``iat`` of the verified token
that caused the change. A store remembers the latest event time of each client key and ignores
a change whose event time is older; with equal times the later write wins (``iat`` has whole
seconds). A change without an event time (an administrator's) always applies and keeps the
remembered time.

**Uninstall.** :meth:`TenantStore.delete` erases the tenant, its shared secret included, so
:meth:`TenantStore.get` returns ``None`` at once; the stores keep only the client key and the
event time (a tombstone), so that an older ``installed`` delivered late cannot bring the
tenant back.

**Replayed lifecycle calls.** Atlassian's install token does not sign the body. So that a
genuine ``installed`` request, seen in a proxy log, cannot be sent again with another
``sharedSecret``, :class:`~atlassian_jwt.lifecycle.LifecycleHandler` has the store remember
each accepted lifecycle token (its SHA-256, never the token) with the SHA-256 of its body until
the token expires (:meth:`TenantStore.remember_lifecycle_token`): in the database, so the
memory holds across processes.

**Forge.** For Connect on Forge, a store finds a tenant by the ``installationId`` of its
``installed`` payload (:meth:`TenantStore.get_by_installation_id`), and keeps the newest Forge
app system token of each installation for work done outside a request
(:meth:`TenantStore.save_app_token`, :meth:`TenantStore.get_app_token`). Those tokens are
bearer credentials, kept with the same care as shared secrets. It also remembers which Forge
events were delivered, by the hash of their identity, until Forge can no longer deliver them
again (:meth:`TenantStore.claim_event`), so that a retried event is handled once.

**Unverified keys.** A client key read from a token before its signature is checked can be any
text; text no store can hold (NUL, a lone surrogate) names no tenant: :meth:`TenantStore.get`
returns ``None`` for it rather than fail.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, Union

from ._store_base import (
    LEGACY_TENANT_COLUMNS,
    TENANT_COLUMNS,
    StoredAppToken,
    TenantRow,
    TenantStoreBase,
    create_private_file,
    is_stale,
    migrate_sqlite_tenant_table,
    sqlite_table_columns,
)
from .authenticate import Authenticator
from .exceptions import TenantStoreError

__all__ = [
    "MemoryTenantStore",
    "SQLiteTenantStore",
    "StoredAppToken",
    "TenantStore",
    "TenantStoreAuthenticator",
    "TenantStoreError",
]

StrPath = Union[str, "os.PathLike[str]"]


class TenantStore(Protocol):
    """Where one app's tenants are kept, by ``clientKey``.

    Implementations must be safe to call from several threads; each call is atomic. One suite
    of tests (``tests/test_tenants.py``) holds every store of this library to this contract.
    """

    @property
    def app_key(self) -> str | None:
        """The app whose tenants the store keeps (the descriptor's ``key``); ``None`` for a
        store that is not bound to an app (:class:`MemoryTenantStore` only)."""

    def get(self, client_key: str) -> dict[str, Any] | None:
        """Return a copy of the tenant ``client_key``, or ``None`` if it is unknown or was
        deleted.

        :param client_key: may come from an unverified token: text that no store can hold (NUL,
            a lone surrogate) gives ``None``.
        :raises ValueError: if ``client_key`` is not a non-empty string.
        """

    def get_by_installation_id(self, installation_id: str) -> dict[str, Any] | None:
        """Return a copy of the tenant whose ``installationId`` (the Forge installation ARI of
        a Connect-on-Forge app) is ``installation_id``, or ``None``.

        :raises ValueError: if ``installation_id`` is not a non-empty string.
        """

    def save(self, tenant: Mapping[str, Any], *, event_time: float | None = None) -> None:
        """Store ``tenant`` under ``tenant["clientKey"]``, replacing any earlier one whole.

        :param tenant: a JSON object with a non-empty string ``clientKey``; its
            ``installationId``, if present, is indexed for :meth:`get_by_installation_id`.
        :param event_time: the ``iat`` of the verified lifecycle token behind this change; the
            change is ignored if the client key saw a newer event.
        :raises ValueError: if ``clientKey`` is missing, ``key`` is present and is not the
            store's :attr:`app_key`, ``installationId`` is present and not a non-empty
            string, or ``event_time`` is not a number.
        """

    def delete(self, client_key: str, *, event_time: float | None = None) -> None:
        """Erase the tenant ``client_key`` (a no-op if unknown), unless it saw a newer event.

        :param event_time: as for :meth:`save`; remembered, so that an older ``installed``
            delivered later is ignored.
        """

    def save_app_token(
        self,
        installation_id: str,
        token: str,
        *,
        expires_at: datetime | float,
        api_base_url: str,
    ) -> bool:
        """Keep the Forge app system token of an installation, unless a later one is kept.

        Atomic, across processes too: a token never replaces one that expires later, so
        requests that bring tokens in any order leave the newest.

        :param installation_id: the installation ARI (the invocation's
            ``app.installationId``).
        :param token: the app system token (the ``x-forge-oauth-system`` header).
        :param expires_at: when it expires: an aware :class:`~datetime.datetime`, or seconds
            since the epoch (the token's ``exp``).
        :param api_base_url: where product API calls with it go (``app.apiBaseUrl``):
            ``https://``, or ``http://`` to a loopback address.
        :returns: whether the token is now the one kept.
        :raises ValueError: for an empty installation id, a token that is not a bearer token,
            a naive datetime, or an API base URL that is not ``https://``. Messages never show
            the token.

        .. warning:: The token is a bearer credential for the installation's product API: a
           store keeps it as it keeps shared secrets (an owner-only file, never in a
           message).
        """

    def get_app_token(self, installation_id: str) -> StoredAppToken | None:
        """Return the app token kept for ``installation_id`` (expired or not), or ``None``.

        :raises ValueError: if ``installation_id`` is not a non-empty string.
        """

    def forget_app_token(self, installation_id: str) -> None:
        """Erase the app token kept for ``installation_id``, if any.

        :class:`~atlassian_jwt.lifecycle.LifecycleHandler` calls it when the tenant of that
        installation is uninstalled: a bearer credential is kept no longer than it is of use.

        :raises ValueError: if ``installation_id`` is not a non-empty string.
        """

    def remember_lifecycle_token(
        self, token_sha256: str, body_sha256: str, *, expires_at: float
    ) -> bool:
        """Remember that a lifecycle token was accepted with a body, until ``expires_at``.

        Atomic, across processes too. Entries whose time has passed are forgotten.

        :param token_sha256: the SHA-256 of the token, in lower-case hex (never the token).
        :param body_sha256: the SHA-256 of what the body installed, in lower-case hex.
        :param expires_at: seconds since the epoch after which the token is refused anyway
            (its ``exp`` plus the leeway).
        :returns: ``True`` the first time, and again for the same token with the same body (a
            harmless repeat: Atlassian retries); ``False`` for the same token with another
            body, which must be refused.
        :raises ValueError: if a hash is not 64 lower-case hex digits.
        """


    def claim_event(self, event_sha256: str, *, expires_at: datetime | float) -> bool:
        """Claim a delivered Forge event, so that its retries are recognised, until
        ``expires_at``.

        Atomic, across processes too: of several calls for one event, one gets ``True``.
        Claims whose time has passed are forgotten.
        :class:`~atlassian_jwt.forge.ForgeEventDispatcher` claims each event before running
        its handler (see there what identifies an event).

        :param event_sha256: the SHA-256 of the event's identity, in lower-case hex.
        :param expires_at: when the claim may be forgotten: after the last time Forge could
            deliver the event again (an aware datetime, or seconds since the epoch).
        :returns: ``True`` if this call claimed the event; ``False`` if it was claimed already
            (and not released since).
        :raises ValueError: if the hash is not 64 lower-case hex digits.
        """

    def release_event(self, event_sha256: str) -> None:
        """Forget the claim of an event (its handler failed), so that a retry runs it again.

        :raises ValueError: if the hash is not 64 lower-case hex digits.
        """


class TenantStoreAuthenticator(Authenticator):
    """An :class:`~atlassian_jwt.Authenticator` that looks shared secrets up in a tenant store.

    >>> store = MemoryTenantStore()
    >>> store.save({"clientKey": "jira:1", "sharedSecret": "s" * 32})
    >>> authenticator = TenantStoreAuthenticator(store, leeway=30)
    >>> authenticator.get_shared_secret("jira:1") == "s" * 32
    True

    Its :attr:`~atlassian_jwt.authenticate.Authenticator.lookup_blocks` follows the store:
    ``False`` for a :class:`MemoryTenantStore`, whose lookups never block, ``True`` for any
    other.

    :param store: any :class:`TenantStore`.
    :param authenticator_kwargs: passed to :class:`~atlassian_jwt.Authenticator`
        (``algorithms``, ``leeway``, ``base_url``, ``max_token_length``).
    """

    def __init__(self, store: TenantStore, **authenticator_kwargs: Any) -> None:
        super().__init__(**authenticator_kwargs)
        self.store = store
        self.lookup_blocks = not isinstance(store, MemoryTenantStore)

    def get_shared_secret(self, client_key: str) -> str | bytes | None:
        tenant = self.store.get(client_key)
        if tenant is None:
            return None
        secret = tenant.get("sharedSecret")
        return secret if isinstance(secret, (str, bytes)) else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"


class MemoryTenantStore(TenantStoreBase):
    """A :class:`TenantStore` in a dict, for tests and examples; lost when the process ends.

    Its memory of lifecycle tokens and of delivered Forge events is this process's only: an
    app with several processes needs a shared store for those protections
    (:class:`SQLiteTenantStore`, or the SQLAlchemy store).

    :param app_key: the app whose tenants it keeps; by default any app's, for an app that is
        alone in its process. Bind it when one process serves several apps.
    :raises ValueError: if ``app_key`` is given and is not a non-empty string.

    >>> store = MemoryTenantStore(app_key="com.example.my-app")
    >>> store.save({"key": "com.example.my-app", "clientKey": "jira:1", "sharedSecret": "s"})
    >>> store.get("jira:1")["sharedSecret"]
    's'
    >>> store.save({"key": "com.example.other-app", "clientKey": "jira:1"})
    Traceback (most recent call last):
    ...
    ValueError: The tenant belongs to another app: its key is not 'com.example.my-app'
    """

    def __init__(self, app_key: str | None = None) -> None:
        super().__init__(app_key)
        self._lock = threading.Lock()
        # Rows are kept as the databases keep them, as JSON: the same values come back from
        # every store, and later changes to the caller's dict don't reach the stored one.
        # client key -> (the tenant row, its tenant_json None once deleted; latest event time)
        self._tenants: dict[str, tuple[TenantRow, float | None]] = {}
        # installation id -> (token, expires_at, api_base_url)
        self._app_tokens: dict[str, tuple[str, float, str]] = {}
        # token hash -> (body hash, expires_at)
        self._lifecycle_tokens: dict[str, tuple[str, float]] = {}
        # event hash -> expires_at
        self._events: dict[str, float] = {}

    def _read_tenant(self, client_key: str) -> str | None:
        with self._lock:
            row = self._tenants.get(client_key)
        return None if row is None else row[0].tenant_json

    def _read_tenant_by_installation(self, installation_id: str) -> str | None:
        with self._lock:
            found = [
                (row, latest)
                for row, latest in self._tenants.values()
                if row.installation_id == installation_id and row.tenant_json is not None
            ]
        if not found:
            return None
        # As the SQL stores order them: the latest event time first, no time last.
        found.sort(key=lambda item: (item[1] is None, -(item[1] or 0.0), item[0].client_key))
        return found[0][0].tenant_json

    def _write_tenant(self, row: TenantRow, event_time: float | None) -> None:
        with self._lock:
            latest = self._tenants.get(row.client_key, (None, None))[1]
            if is_stale(event_time, latest):
                return
            self._tenants[row.client_key] = (row, latest if event_time is None else event_time)

    def _erase_tenant(self, client_key: str) -> None:
        with self._lock:
            if client_key in self._tenants:
                latest = self._tenants[client_key][1]
                self._tenants[client_key] = (TenantRow(client_key, None, None), latest)

    def _write_app_token(
        self, installation_id: str, token: str, expires_at: float, api_base_url: str
    ) -> bool:
        with self._lock:
            kept = self._app_tokens.get(installation_id)
            if kept is not None and expires_at < kept[1]:
                return False
            self._app_tokens[installation_id] = (token, expires_at, api_base_url)
            return True

    def _read_app_token(self, installation_id: str) -> tuple[str, float, str] | None:
        with self._lock:
            return self._app_tokens.get(installation_id)

    def _erase_app_token(self, installation_id: str) -> None:
        with self._lock:
            self._app_tokens.pop(installation_id, None)

    def _remember_lifecycle_token(
        self, token_sha256: str, body_sha256: str, expires_at: float, now: float
    ) -> bool:
        with self._lock:
            for expired in [
                token for token, (_, until) in self._lifecycle_tokens.items() if until < now
            ]:
                del self._lifecycle_tokens[expired]
            remembered, _ = self._lifecycle_tokens.setdefault(
                token_sha256, (body_sha256, expires_at)
            )
            return remembered == body_sha256

    def _claim_event(self, event_sha256: str, expires_at: float, now: float) -> bool:
        with self._lock:
            for expired in [event for event, until in self._events.items() if until < now]:
                del self._events[expired]
            if event_sha256 in self._events:
                return False
            self._events[event_sha256] = expires_at
            return True

    def _release_event(self, event_sha256: str) -> None:
        with self._lock:
            self._events.pop(event_sha256, None)

    def __repr__(self) -> str:
        with self._lock:
            count = sum(1 for row, _ in self._tenants.values() if row.tenant_json is not None)
        return f"{type(self).__name__}(app_key={self.app_key!r}, <{count} tenants>)"


class SQLiteTenantStore(TenantStoreBase):
    """A :class:`TenantStore` in a SQLite file, safe for several threads and processes.

    The file is created (readable by its owner only, since it holds secrets) with its tables
    on first use; the directory must exist. Writers are serialised by SQLite: the database is
    in WAL mode (readers never wait for writers), a writer waits up to ``timeout`` seconds for
    a lock, and every change is one conditional ``INSERT ... ON CONFLICT`` statement, atomic on
    its own. Several processes may open the same new file at once (workers that boot together):
    start-up waits for the others, up to ``timeout`` seconds in all. On a filesystem that cannot
    do WAL (some network filesystems) SQLite keeps its rollback journal without a word: still
    safe, but readers then wait for writers.

    Several apps may share the file, each with its own store: rows are kept under (app key,
    client key). A file made before stores were bound to an app is migrated when it is opened,
    in one transaction (see :mod:`atlassian_jwt.tenants`); its rows that name no app go to
    ``app_key``.

    :param path: the database file.
    :param app_key: the app whose tenants this store keeps: the descriptor's ``key``.
    :param timeout: seconds to wait for another connection's lock before giving up, at start-up
        and in each call.
    :raises ValueError: if ``path`` names no file or ``app_key`` is not a non-empty string.
    :raises TenantStoreError: at once, if the directory is missing or the file is not a usable
        tenant database (corrupt, another program's, not readable); after ``timeout`` seconds,
        if other connections keep the file locked all that time.
    """

    #: The table of tenants.
    TABLE = "atlassian_jwt_tenants"
    #: The table of the Forge app tokens kept per installation.
    APP_TOKENS_TABLE = "atlassian_jwt_tenants_app_tokens"
    #: The table of the lifecycle tokens remembered until they expire.
    LIFECYCLE_TOKENS_TABLE = "atlassian_jwt_tenants_lifecycle_tokens"
    #: The table of the Forge events claimed, until Forge can no longer deliver them again.
    FORGE_EVENTS_TABLE = "atlassian_jwt_tenants_forge_events"

    def __init__(self, path: StrPath, *, app_key: str, timeout: float = 10.0) -> None:
        text = os.fspath(path)
        if not text or text == ":memory:" or text.startswith("file:"):
            raise ValueError("path must name a database file; use MemoryTenantStore for tests")
        if app_key is None:
            raise ValueError("app_key must be the app's key (the descriptor's key)")
        super().__init__(app_key)
        self._bound_app_key: str = app_key
        self.path = Path(text)
        self.timeout = timeout
        if not self.path.parent.is_dir():
            raise TenantStoreError(
                f"Cannot open the tenant store {str(self.path)!r}: "
                f"the directory {str(self.path.parent)!r} does not exist"
            )
        try:
            create_private_file(self.path)
        except OSError as error:
            raise TenantStoreError(
                f"Cannot create the tenant store {str(self.path)!r}: {error.strerror}"
            ) from None
        self._open()

    def _read_tenant(self, client_key: str) -> str | None:
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT tenant FROM {self.TABLE} WHERE app_key = ? AND client_key = ?",
                (self._bound_app_key, client_key),
            ).fetchone()
        return None if row is None else row[0]

    def _read_tenant_by_installation(self, installation_id: str) -> str | None:
        with self._connect() as connection:
            row = connection.execute(
                f"""
                SELECT tenant FROM {self.TABLE}
                WHERE app_key = ? AND installation_id = ? AND tenant IS NOT NULL
                ORDER BY event_time IS NULL, event_time DESC, client_key
                LIMIT 1
                """,
                (self._bound_app_key, installation_id),
            ).fetchone()
        return None if row is None else row[0]

    def _write_tenant(self, row: TenantRow, event_time: float | None) -> None:
        # One statement: the comparison with the stored event time and the write happen under
        # the same lock, so concurrent callbacks cannot interleave between them.
        with self._connect() as connection:
            connection.execute(
                f"""
                INSERT INTO {self.TABLE}
                    (app_key, client_key, tenant, event_time, installation_id)
                VALUES (:app_key, :client_key, :tenant, :event_time, :installation_id)
                ON CONFLICT (app_key, client_key) DO UPDATE SET
                    tenant = excluded.tenant,
                    installation_id = excluded.installation_id,
                    event_time = coalesce(excluded.event_time, {self.TABLE}.event_time)
                WHERE excluded.event_time IS NULL
                    OR {self.TABLE}.event_time IS NULL
                    OR excluded.event_time >= {self.TABLE}.event_time
                """,
                {
                    "app_key": self._bound_app_key,
                    "client_key": row.client_key,
                    "tenant": row.tenant_json,
                    "event_time": event_time,
                    "installation_id": row.installation_id,
                },
            )

    def _erase_tenant(self, client_key: str) -> None:
        with self._connect() as connection:
            connection.execute(
                f"UPDATE {self.TABLE} SET tenant = NULL, installation_id = NULL "
                "WHERE app_key = ? AND client_key = ?",
                (self._bound_app_key, client_key),
            )

    def _write_app_token(
        self, installation_id: str, token: str, expires_at: float, api_base_url: str
    ) -> bool:
        table = self.APP_TOKENS_TABLE
        with self._connect() as connection:
            cursor = connection.execute(
                f"""
                INSERT INTO {table} (app_key, installation_id, token, expires_at, api_base_url)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (app_key, installation_id) DO UPDATE SET
                    token = excluded.token,
                    expires_at = excluded.expires_at,
                    api_base_url = excluded.api_base_url
                WHERE excluded.expires_at >= {table}.expires_at
                """,
                (self._bound_app_key, installation_id, token, expires_at, api_base_url),
            )
            return cursor.rowcount == 1

    def _read_app_token(self, installation_id: str) -> tuple[str, float, str] | None:
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT token, expires_at, api_base_url FROM {self.APP_TOKENS_TABLE} "
                "WHERE app_key = ? AND installation_id = ?",
                (self._bound_app_key, installation_id),
            ).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def _erase_app_token(self, installation_id: str) -> None:
        with self._connect() as connection:
            connection.execute(
                f"DELETE FROM {self.APP_TOKENS_TABLE} WHERE app_key = ? AND installation_id = ?",
                (self._bound_app_key, installation_id),
            )

    def _remember_lifecycle_token(
        self, token_sha256: str, body_sha256: str, expires_at: float, now: float
    ) -> bool:
        table = self.LIFECYCLE_TOKENS_TABLE
        with self._purging(table, now) as connection:
            connection.execute(
                f"INSERT INTO {table} (app_key, token_sha256, body_sha256, expires_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (app_key, token_sha256) DO NOTHING",
                (self._bound_app_key, token_sha256, body_sha256, expires_at),
            )
            (remembered,) = connection.execute(
                f"SELECT body_sha256 FROM {table} WHERE app_key = ? AND token_sha256 = ?",
                (self._bound_app_key, token_sha256),
            ).fetchone()
        return bool(remembered == body_sha256)

    def _claim_event(self, event_sha256: str, expires_at: float, now: float) -> bool:
        table = self.FORGE_EVENTS_TABLE
        with self._purging(table, now) as connection:
            cursor = connection.execute(
                f"INSERT INTO {table} (app_key, event_sha256, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (app_key, event_sha256) DO NOTHING",
                (self._bound_app_key, event_sha256, expires_at),
            )
        return cursor.rowcount == 1

    def _release_event(self, event_sha256: str) -> None:
        with self._connect() as connection:
            connection.execute(
                f"DELETE FROM {self.FORGE_EVENTS_TABLE} WHERE app_key = ? AND event_sha256 = ?",
                (self._bound_app_key, event_sha256),
            )

    def _open(self) -> None:
        # Workers that boot together open the store at the same instant. Switching a new file
        # to WAL upgrades a read lock to a write lock, and SQLite fails that upgrade at once,
        # without its busy handler, while another connection holds the write lock: so the whole
        # start-up (each step idempotent) is retried while the database is locked, until
        # ``timeout`` has passed since the first try.
        deadline = time.monotonic() + self.timeout
        pause = 0.001
        while True:
            try:
                columns, check = self._set_up(max(deadline - time.monotonic(), 0.0))
                break
            except sqlite3.OperationalError as error:
                if not _is_locked(error):
                    raise self._error(error) from None
                if time.monotonic() + pause > deadline:
                    raise TenantStoreError(
                        f"Cannot open the tenant store {str(self.path)!r}: the database stayed "
                        f"locked by another connection for {self.timeout:g} s"
                    ) from None
            except sqlite3.Error as error:
                raise self._error(error) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        if columns != TENANT_COLUMNS:
            raise TenantStoreError(
                f"The tenant store {str(self.path)!r} has a table {self.TABLE} of another shape"
            )
        if check != "ok":
            raise TenantStoreError(f"The tenant store {str(self.path)!r} is corrupt")

    def _set_up(self, timeout: float) -> tuple[set[str], str]:
        """Put the file in WAL mode, migrate a legacy table and create the missing tables, in
        one connection.

        :returns: the tenant table's column names and the result of ``PRAGMA quick_check``.
        :raises sqlite3.Error: as raised, for :meth:`_open` to retry or report.
        """
        with closing(self._new_connection(timeout)) as connection:
            # WAL is a property of the file: set once here, it holds for every connection.
            connection.execute("PRAGMA journal_mode = WAL")
            columns = sqlite_table_columns(connection, self.TABLE)
            if columns == LEGACY_TENANT_COLUMNS:
                migrate_sqlite_tenant_table(
                    connection, self.TABLE, self._create_tenants_table(), self._bound_app_key
                )
            elif columns and columns != TENANT_COLUMNS:
                return columns, "not checked"
            connection.execute(self._create_tenants_table(if_not_exists=True))
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS {self.TABLE}_installation "
                f"ON {self.TABLE} (app_key, installation_id)"
            )
            connection.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {self.APP_TOKENS_TABLE} (
                    app_key TEXT NOT NULL,
                    installation_id TEXT NOT NULL,
                    token TEXT NOT NULL,
                    expires_at REAL NOT NULL,
                    api_base_url TEXT NOT NULL,
                    PRIMARY KEY (app_key, installation_id)
                )
                """
            )
            connection.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {self.LIFECYCLE_TOKENS_TABLE} (
                    app_key TEXT NOT NULL,
                    token_sha256 TEXT NOT NULL,
                    body_sha256 TEXT NOT NULL,
                    expires_at REAL NOT NULL,
                    PRIMARY KEY (app_key, token_sha256)
                )
                """
            )
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS {self.LIFECYCLE_TOKENS_TABLE}_expiry "
                f"ON {self.LIFECYCLE_TOKENS_TABLE} (expires_at)"
            )
            connection.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {self.FORGE_EVENTS_TABLE} (
                    app_key TEXT NOT NULL,
                    event_sha256 TEXT NOT NULL,
                    expires_at REAL NOT NULL,
                    PRIMARY KEY (app_key, event_sha256)
                )
                """
            )
            connection.execute(
                f"CREATE INDEX IF NOT EXISTS {self.FORGE_EVENTS_TABLE}_expiry "
                f"ON {self.FORGE_EVENTS_TABLE} (expires_at)"
            )
            columns = sqlite_table_columns(connection, self.TABLE)
            (check,) = connection.execute("PRAGMA quick_check").fetchone()
        return columns, check

    def _create_tenants_table(self, *, if_not_exists: bool = False) -> str:
        return f"""
            CREATE TABLE {"IF NOT EXISTS " if if_not_exists else ""}{self.TABLE} (
                app_key TEXT NOT NULL,
                client_key TEXT NOT NULL,
                tenant TEXT,
                event_time REAL,
                installation_id TEXT,
                PRIMARY KEY (app_key, client_key)
            )
            """

    @contextmanager
    def _purging(self, table: str, now: float) -> Iterator[sqlite3.Connection]:
        """One write transaction on ``table`` that starts by deleting its rows of this app that
        expired before ``now``; committed if the block ends, rolled back if it raises."""
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute(
                    f"DELETE FROM {table} WHERE app_key = ? AND expires_at < ?",
                    (self._bound_app_key, now),
                )
                yield connection
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            connection = self._new_connection(self.timeout)
        except sqlite3.Error as error:
            raise self._error(error) from None
        try:
            yield connection
        except sqlite3.Error as error:
            raise self._error(error) from None
        finally:
            connection.close()

    def _new_connection(self, timeout: float) -> sqlite3.Connection:
        # A connection per call: nothing is shared between threads or survives a fork, and
        # isolation_level=None leaves each statement to commit on its own.
        return sqlite3.connect(self.path, timeout=timeout, isolation_level=None)

    def _error(self, error: sqlite3.Error) -> TenantStoreError:
        # sqlite3's messages name the problem ("file is not a database", "database is
        # locked"), never the statement's parameters.
        return TenantStoreError(f"The tenant store {str(self.path)!r} failed: {error}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, app_key={self.app_key!r})"


def _is_locked(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock (``SQLITE_BUSY``)."""
    return "database is locked" in str(error)
