"""Tenant storage: where an app keeps what each product instance sent to ``installed``.

A tenant is the JSON object of the ``installed`` callback (``key``, ``clientKey``,
``sharedSecret``, ``baseUrl``, ...), stored under its ``clientKey``. :class:`TenantStore` is the
small protocol the lifecycle handling and :class:`TenantStoreAuthenticator` need; two stores come
with the core: :class:`MemoryTenantStore` for tests and examples, :class:`SQLiteTenantStore` on
the standard library's ``sqlite3`` for a real app on one machine. A store on SQLAlchemy, for
PostgreSQL and apps on several machines, is in
:mod:`atlassian_jwt.integrations.sqlalchemy_store`.

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
"""

from __future__ import annotations

import copy
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Protocol, Union

from .authenticate import Authenticator
from .exceptions import TenantStoreError

__all__ = [
    "MemoryTenantStore",
    "SQLiteTenantStore",
    "TenantStore",
    "TenantStoreAuthenticator",
    "TenantStoreError",
]

StrPath = Union[str, "os.PathLike[str]"]


class TenantStore(Protocol):
    """Where tenants are kept, by ``clientKey``.

    Implementations must be safe to call from several threads; each call is atomic.
    """

    def get(self, client_key: str) -> dict[str, Any] | None:
        """Return a copy of the tenant ``client_key``, or ``None`` if it is unknown or was
        deleted."""

    def save(self, tenant: Mapping[str, Any], *, event_time: float | None = None) -> None:
        """Store ``tenant`` under ``tenant["clientKey"]``, replacing any earlier one whole.

        :param tenant: a JSON object with a non-empty string ``clientKey``.
        :param event_time: the ``iat`` of the verified lifecycle token behind this change; the
            change is ignored if the client key saw a newer event.
        :raises ValueError: if ``clientKey`` is missing or ``event_time`` is not a number.
        """

    def delete(self, client_key: str, *, event_time: float | None = None) -> None:
        """Erase the tenant ``client_key`` (a no-op if unknown), unless it saw a newer event.

        :param event_time: as for :meth:`save`; remembered, so that an older ``installed``
            delivered later is ignored.
        """


class TenantStoreAuthenticator(Authenticator):
    """An :class:`~atlassian_jwt.Authenticator` that looks shared secrets up in a tenant store.

    >>> store = MemoryTenantStore()
    >>> store.save({"clientKey": "jira:1", "sharedSecret": "s" * 32})
    >>> authenticator = TenantStoreAuthenticator(store, leeway=30)
    >>> authenticator.get_shared_secret("jira:1") == "s" * 32
    True

    :param store: any :class:`TenantStore`.
    :param authenticator_kwargs: passed to :class:`~atlassian_jwt.Authenticator`
        (``algorithms``, ``leeway``, ``base_url``, ``max_token_length``).
    """

    def __init__(self, store: TenantStore, **authenticator_kwargs: Any) -> None:
        super().__init__(**authenticator_kwargs)
        self.store = store

    def get_shared_secret(self, client_key: str) -> str | bytes | None:
        tenant = self.store.get(client_key)
        if tenant is None:
            return None
        secret = tenant.get("sharedSecret")
        return secret if isinstance(secret, (str, bytes)) else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"


class MemoryTenantStore:
    """A :class:`TenantStore` in a dict, for tests and examples; lost when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # client key -> (tenant, or None once deleted; the latest event time)
        self._rows: dict[str, tuple[dict[str, Any] | None, float | None]] = {}

    def get(self, client_key: str) -> dict[str, Any] | None:
        client_key = _checked_key(client_key)
        with self._lock:
            tenant = self._rows.get(client_key, (None, None))[0]
            return copy.deepcopy(tenant)

    def save(self, tenant: Mapping[str, Any], *, event_time: float | None = None) -> None:
        client_key = _client_key_of(tenant)
        # Through JSON, as a database stores it: the same values come back from either store,
        # and later changes to the caller's dict don't reach the stored one.
        stored = json.loads(_to_json(tenant))
        self._write(client_key, stored, _checked_time(event_time))

    def delete(self, client_key: str, *, event_time: float | None = None) -> None:
        self._write(_checked_key(client_key), None, _checked_time(event_time))

    def _write(
        self, client_key: str, tenant: dict[str, Any] | None, event_time: float | None
    ) -> None:
        with self._lock:
            old_tenant, old_time = self._rows.get(client_key, (None, None))
            if tenant is None and old_tenant is None and event_time is None:
                return
            if _is_stale(event_time, old_time):
                return
            self._rows[client_key] = (tenant, old_time if event_time is None else event_time)

    def __repr__(self) -> str:
        with self._lock:
            count = sum(1 for tenant, _ in self._rows.values() if tenant is not None)
        return f"{type(self).__name__}(<{count} tenants>)"


class SQLiteTenantStore:
    """A :class:`TenantStore` in a SQLite file, safe for several threads and processes.

    The file is created (readable by its owner only, since it holds secrets) with its table
    on first use; the directory must exist. Writers are serialised by SQLite: the database is
    in WAL mode (readers never wait for writers), a writer waits up to ``timeout`` seconds for
    a lock, and every change is one conditional ``INSERT ... ON CONFLICT`` statement, atomic on
    its own. Several processes may open the same new file at once (workers that boot together):
    start-up waits for the others, up to ``timeout`` seconds in all. On a filesystem that cannot
    do WAL (some network filesystems) SQLite keeps its rollback journal without a word: still
    safe, but readers then wait for writers.

    :param path: the database file.
    :param timeout: seconds to wait for another connection's lock before giving up, at start-up
        and in each call.
    :raises TenantStoreError: at once, if the directory is missing or the file is not a usable
        tenant database (corrupt, another program's, not readable); after ``timeout`` seconds,
        if other connections keep the file locked all that time.
    """

    TABLE = "atlassian_jwt_tenants"

    def __init__(self, path: StrPath, *, timeout: float = 10.0) -> None:
        text = os.fspath(path)
        if not text or text == ":memory:" or text.startswith("file:"):
            raise ValueError("path must name a database file; use MemoryTenantStore for tests")
        self.path = Path(text)
        self.timeout = timeout
        if not self.path.parent.is_dir():
            raise TenantStoreError(
                f"Cannot open the tenant store {str(self.path)!r}: "
                f"the directory {str(self.path.parent)!r} does not exist"
            )
        self._create_private_file()
        self._open()

    def get(self, client_key: str) -> dict[str, Any] | None:
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT tenant FROM {self.TABLE} WHERE client_key = ?",
                (_checked_key(client_key),),
            ).fetchone()
        if row is None or row[0] is None:
            return None
        tenant: dict[str, Any] = json.loads(row[0])
        return tenant

    def save(self, tenant: Mapping[str, Any], *, event_time: float | None = None) -> None:
        self._write(_client_key_of(tenant), _to_json(tenant), _checked_time(event_time))

    def delete(self, client_key: str, *, event_time: float | None = None) -> None:
        event_time = _checked_time(event_time)
        client_key = _checked_key(client_key)
        if event_time is None:
            # No time to remember: just erase the tenant, creating no tombstone.
            with self._connect() as connection:
                connection.execute(
                    f"UPDATE {self.TABLE} SET tenant = NULL WHERE client_key = ?", (client_key,)
                )
            return
        self._write(client_key, None, event_time)

    def _write(self, client_key: str, tenant_json: str | None, event_time: float | None) -> None:
        # One statement: the comparison with the stored event time and the write happen under
        # the same lock, so concurrent callbacks cannot interleave between them.
        with self._connect() as connection:
            connection.execute(
                f"""
                INSERT INTO {self.TABLE} (client_key, tenant, event_time)
                VALUES (:client_key, :tenant, :event_time)
                ON CONFLICT (client_key) DO UPDATE SET
                    tenant = excluded.tenant,
                    event_time = coalesce(excluded.event_time, {self.TABLE}.event_time)
                WHERE excluded.event_time IS NULL
                    OR {self.TABLE}.event_time IS NULL
                    OR excluded.event_time >= {self.TABLE}.event_time
                """,
                {"client_key": client_key, "tenant": tenant_json, "event_time": event_time},
            )

    def _create_private_file(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        except OSError as error:
            raise TenantStoreError(
                f"Cannot create the tenant store {str(self.path)!r}: {error.strerror}"
            ) from None
        os.close(fd)

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
        if columns != {"client_key", "tenant", "event_time"}:
            raise TenantStoreError(
                f"The tenant store {str(self.path)!r} has a table {self.TABLE} of another shape"
            )
        if check != "ok":
            raise TenantStoreError(f"The tenant store {str(self.path)!r} is corrupt")

    def _set_up(self, timeout: float) -> tuple[set[str], str]:
        """Put the file in WAL mode and create the table if need be, in one connection.

        :returns: the table's column names and the result of ``PRAGMA quick_check``.
        :raises sqlite3.Error: as raised, for :meth:`_open` to retry or report.
        """
        with closing(self._new_connection(timeout)) as connection:
            # WAL is a property of the file: set once here, it holds for every connection.
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {self.TABLE} (
                    client_key TEXT PRIMARY KEY NOT NULL,
                    tenant TEXT,
                    event_time REAL
                )
                """
            )
            columns = {row[1] for row in connection.execute(f"PRAGMA table_info({self.TABLE})")}
            (check,) = connection.execute("PRAGMA quick_check").fetchone()
        return columns, check

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
        return f"{type(self).__name__}({str(self.path)!r})"


def _checked_key(client_key: object) -> str:
    if not isinstance(client_key, str) or not client_key:
        raise ValueError("A tenant's clientKey must be a non-empty string")
    return client_key


def _client_key_of(tenant: Mapping[str, Any]) -> str:
    if not isinstance(tenant, Mapping):
        raise TypeError(f"tenant must be a mapping, not {type(tenant).__name__}")
    return _checked_key(tenant.get("clientKey"))


def _checked_time(event_time: object) -> float | None:
    if event_time is None:
        return None
    if (
        isinstance(event_time, bool)
        or not isinstance(event_time, (int, float))
        or not math.isfinite(event_time)
    ):
        raise ValueError("event_time must be a finite number of seconds (a token's iat)")
    return float(event_time)


def _is_locked(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite gave up waiting for another connection's lock (``SQLITE_BUSY``)."""
    return "database is locked" in str(error)


def _is_stale(event_time: float | None, latest: float | None) -> bool:
    """Whether a change at ``event_time`` is older than the latest one seen."""
    return event_time is not None and latest is not None and event_time < latest


def _to_json(tenant: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(tenant), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        # The message would show the offending value, which could be the secret.
        raise ValueError("A tenant must be a JSON object of JSON values") from None
