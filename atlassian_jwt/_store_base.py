"""What every tenant store shares: the checks on what goes in, and one half of each method.

:class:`TenantStoreBase` implements the :class:`~atlassian_jwt.tenants.TenantStore` protocol
once, for the stores of :mod:`atlassian_jwt.tenants` and
:mod:`atlassian_jwt.integrations.sqlalchemy_store`: each public method checks and converts its
arguments here, then calls one storage hook (``_read_tenant``, ``_write_tenant``, ...) that the
store implements as one atomic step. So the rules (what a client key may be, when an event is
stale, what a stored app token looks like) are written once, and a store is only its storage.

Private to the package; users import the stores and :class:`StoredAppToken` from
:mod:`atlassian_jwt.tenants`.
"""

from __future__ import annotations

import abc
import json
import math
import os
import re
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple, Union

from .tokens import is_bearer_token
from .url_utils import check_service_url

__all__ = [
    "LEGACY_TENANT_COLUMNS",
    "TENANT_COLUMNS",
    "StoredAppToken",
    "TenantRow",
    "TenantStoreBase",
    "create_private_file",
    "is_stale",
    "legacy_row_keys",
    "migrate_sqlite_tenant_table",
    "sqlite_table_columns",
    "storable_text",
]

#: The columns of a tenant table: rows are keyed by (app key, client key).
TENANT_COLUMNS = frozenset({"app_key", "client_key", "tenant", "event_time", "installation_id"})
#: The columns of a tenant table made before stores were bound to an app: keyed by client key
#: alone. Such a table is migrated in place when a store opens it.
LEGACY_TENANT_COLUMNS = frozenset({"client_key", "tenant", "event_time"})

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# NUL, which PostgreSQL's text cannot hold (and a C string ends at), and the surrogates,
# which no encoding of Unicode text can carry alone.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

StrPath = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class StoredAppToken:
    """A Forge app system token kept for an installation, for work done outside a request.

    :ivar value: the token itself, a bearer credential; never shown by ``repr`` or ``str``.
    :ivar expires_at: when it stops working: an aware UTC :class:`~datetime.datetime`.
    :ivar api_base_url: where product API calls with it go (the invocation's ``apiBaseUrl``).

    >>> from datetime import datetime, timezone
    >>> StoredAppToken("eyJ.secret.token", datetime(2030, 1, 1, tzinfo=timezone.utc),
    ...                "https://api.atlassian.com/ex/jira/1")  # doctest: +NORMALIZE_WHITESPACE
    StoredAppToken(expires_at=datetime.datetime(2030, 1, 1, 0, 0, tzinfo=datetime.timezone.utc),
                   api_base_url='https://api.atlassian.com/ex/jira/1')
    """

    value: str = field(repr=False)
    expires_at: datetime
    api_base_url: str


class TenantRow(NamedTuple):
    """A tenant as a store keeps it, checked: what :meth:`TenantStoreBase.save` writes."""

    #: The tenant's ``clientKey``.
    client_key: str
    #: The tenant as compact JSON text (ASCII: non-ASCII characters are escaped); ``None``
    #: for a tombstone, which keeps only the client key and the event time.
    tenant_json: str | None
    #: The tenant's ``installationId`` (Connect on Forge), or ``None``.
    installation_id: str | None


class TenantStoreBase(abc.ABC):
    """The :class:`~atlassian_jwt.tenants.TenantStore` methods, minus the storage.

    A store subclasses it and implements the hooks, each one atomic on its own (safe against
    other threads and, for stores on a file or a server, other processes). The hooks get
    checked values only, and only text that every store can hold (:func:`storable_text`).

    :param app_key: the app whose tenants the store keeps, or ``None`` for a store that keeps
        any app's (one app's only, in practice).
    :raises ValueError: if ``app_key`` is not a non-empty string.
    """

    def __init__(self, app_key: str | None) -> None:
        self._app_key = None if app_key is None else _checked_text(app_key, "app_key")

    @property
    def app_key(self) -> str | None:
        """The app key this store is bound to (the descriptor's ``key``), or ``None``."""
        return self._app_key

    # The TenantStore protocol, documented there.

    def get(self, client_key: str) -> dict[str, Any] | None:
        """Return a copy of the tenant; see :meth:`~atlassian_jwt.tenants.TenantStore.get`."""
        key = _lookup_text(client_key, "clientKey")
        return None if key is None else _tenant_from_json(self._read_tenant(key))

    def get_by_installation_id(self, installation_id: str) -> dict[str, Any] | None:
        """Return a copy of the tenant of a Forge installation; see
        :meth:`~atlassian_jwt.tenants.TenantStore.get_by_installation_id`."""
        key = _lookup_text(installation_id, "installationId")
        return None if key is None else _tenant_from_json(self._read_tenant_by_installation(key))

    def save(self, tenant: Mapping[str, Any], *, event_time: float | None = None) -> None:
        """Store a tenant; see :meth:`~atlassian_jwt.tenants.TenantStore.save`."""
        row = self._tenant_row(tenant)
        self._write_tenant(row, _checked_time(event_time))

    def delete(self, client_key: str, *, event_time: float | None = None) -> None:
        """Erase a tenant; see :meth:`~atlassian_jwt.tenants.TenantStore.delete`."""
        key = _checked_text(client_key, "clientKey")
        checked_time = _checked_time(event_time)
        if checked_time is None:
            # No time to remember: just erase the tenant, creating no tombstone.
            self._erase_tenant(key)
        else:
            self._write_tenant(TenantRow(key, None, None), checked_time)

    def save_app_token(
        self,
        installation_id: str,
        token: str,
        *,
        expires_at: datetime | float,
        api_base_url: str,
    ) -> bool:
        """Keep a Forge app token unless a later one is kept; see
        :meth:`~atlassian_jwt.tenants.TenantStore.save_app_token`."""
        if not is_bearer_token(token):
            # Not even the type: the value is a credential.
            raise ValueError("token must be a bearer token (RFC 6750 b64token characters)")
        if not isinstance(api_base_url, str) or _UNSTORABLE.search(api_base_url):
            raise ValueError("api_base_url must be an absolute https:// URL")
        check_service_url(api_base_url, "api_base_url")
        return self._write_app_token(
            _checked_text(installation_id, "installationId"),
            token,
            _checked_expiry(expires_at),
            api_base_url,
        )

    def get_app_token(self, installation_id: str) -> StoredAppToken | None:
        """Return the kept Forge app token; see
        :meth:`~atlassian_jwt.tenants.TenantStore.get_app_token`."""
        key = _lookup_text(installation_id, "installationId")
        stored = None if key is None else self._read_app_token(key)
        if stored is None:
            return None
        value, expires_at, api_base_url = stored
        return StoredAppToken(value, datetime.fromtimestamp(expires_at, timezone.utc), api_base_url)

    def forget_app_token(self, installation_id: str) -> None:
        """Erase the kept Forge app token; see
        :meth:`~atlassian_jwt.tenants.TenantStore.forget_app_token`."""
        key = _lookup_text(installation_id, "installationId")
        if key is not None:
            self._erase_app_token(key)

    def remember_lifecycle_token(
        self, token_sha256: str, body_sha256: str, *, expires_at: float
    ) -> bool:
        """Remember an accepted lifecycle token; see
        :meth:`~atlassian_jwt.tenants.TenantStore.remember_lifecycle_token`."""
        _check_sha256(token_sha256, "token_sha256")
        _check_sha256(body_sha256, "body_sha256")
        return self._remember_lifecycle_token(
            token_sha256, body_sha256, _checked_expiry(expires_at), time.time()
        )

    def claim_event(self, event_sha256: str, *, expires_at: datetime | float) -> bool:
        """Claim a delivered Forge event; see
        :meth:`~atlassian_jwt.tenants.TenantStore.claim_event`."""
        _check_sha256(event_sha256, "event_sha256")
        return self._claim_event(event_sha256, _checked_expiry(expires_at), time.time())

    def release_event(self, event_sha256: str) -> None:
        """Forget a claimed Forge event; see
        :meth:`~atlassian_jwt.tenants.TenantStore.release_event`."""
        _check_sha256(event_sha256, "event_sha256")
        self._release_event(event_sha256)

    # The checks of a tenant.

    def _tenant_row(self, tenant: Mapping[str, Any]) -> TenantRow:
        """Check a tenant for :meth:`save` and return what is stored of it.

        :raises TypeError: if ``tenant`` is not a mapping.
        :raises ValueError: if it has no usable ``clientKey``, names another app in ``key``,
            has an ``installationId`` that is not a non-empty string, or is not JSON.
        """
        if not isinstance(tenant, Mapping):
            raise TypeError(f"tenant must be a mapping, not {type(tenant).__name__}")
        client_key = _checked_text(tenant.get("clientKey"), "clientKey")
        if self._app_key is not None and "key" in tenant and tenant["key"] != self._app_key:
            raise ValueError(f"The tenant belongs to another app: its key is not {self._app_key!r}")
        installation_id = tenant.get("installationId")
        if installation_id is not None:
            installation_id = _checked_text(installation_id, "installationId")
        return TenantRow(client_key, _to_json(tenant), installation_id)

    # The storage hooks.

    @abc.abstractmethod
    def _read_tenant(self, client_key: str) -> str | None:
        """Return the JSON of this app's tenant ``client_key``; ``None`` if unknown or deleted."""

    @abc.abstractmethod
    def _read_tenant_by_installation(self, installation_id: str) -> str | None:
        """Return the JSON of this app's tenant whose ``installationId`` is given, or ``None``.

        Should several name it (Atlassian never sends that), the one with the latest event
        time, then the first client key.
        """

    @abc.abstractmethod
    def _write_tenant(self, row: TenantRow, event_time: float | None) -> None:
        """Store ``row``, unless :func:`is_stale` says its event time is older than the row's.

        The event time becomes the row's when given; otherwise the row's stays.
        """

    @abc.abstractmethod
    def _erase_tenant(self, client_key: str) -> None:
        """Erase the tenant, keeping its event time; make no row if there is none."""

    @abc.abstractmethod
    def _write_app_token(
        self, installation_id: str, token: str, expires_at: float, api_base_url: str
    ) -> bool:
        """Keep the token unless the installation's kept one expires later; say if it was."""

    @abc.abstractmethod
    def _read_app_token(self, installation_id: str) -> tuple[str, float, str] | None:
        """Return the kept token, its expiry and its API base URL, or ``None``."""

    @abc.abstractmethod
    def _erase_app_token(self, installation_id: str) -> None:
        """Erase the kept token of the installation, if any."""

    @abc.abstractmethod
    def _remember_lifecycle_token(
        self, token_sha256: str, body_sha256: str, expires_at: float, now: float
    ) -> bool:
        """Forget the entries expired at ``now``; then remember the token with its body
        unless it is remembered already, and say whether the body remembered is this one."""


    @abc.abstractmethod
    def _claim_event(self, event_sha256: str, expires_at: float, now: float) -> bool:
        """Forget the claims expired at ``now``; then claim the event unless it is claimed
        already, and say whether this call claimed it."""

    @abc.abstractmethod
    def _release_event(self, event_sha256: str) -> None:
        """Forget the claim of the event, if any."""


def storable_text(value: object) -> bool:
    """Whether ``value`` is text that every store can keep and every log can write.

    :returns: ``False`` for a non-string, the empty string, and text with NUL or a lone
        surrogate (which a token's JSON can carry, as ``\\u0000`` or ``\\ud800``).
    """
    return isinstance(value, str) and bool(value) and not _UNSTORABLE.search(value)


def is_stale(event_time: float | None, latest: float | None) -> bool:
    """Whether a change at ``event_time`` is older than the latest one seen."""
    return event_time is not None and latest is not None and event_time < latest


def legacy_row_keys(tenant_json: str | None, app_key: str) -> tuple[str, str | None]:
    """The app key and installation id of a row of a legacy table (see
    :data:`LEGACY_TENANT_COLUMNS`), read from its tenant's JSON.

    A row that names no app (a tombstone, or a tenant without a usable ``key``) goes to
    ``app_key``, the app of the store that migrates the table.
    """
    try:
        tenant = json.loads(tenant_json) if tenant_json is not None else None
    except ValueError:
        tenant = None
    if not isinstance(tenant, dict):
        return app_key, None
    key = tenant.get("key")
    installation_id = tenant.get("installationId")
    return (
        key if isinstance(key, str) and storable_text(key) else app_key,
        installation_id
        if isinstance(installation_id, str) and storable_text(installation_id)
        else None,
    )


def create_private_file(path: StrPath) -> None:
    """Create ``path`` readable and writable by its owner only (0600) if it does not exist.

    SQLite creates its ``-wal`` and ``-shm`` files with the database file's permissions.

    :raises OSError: if the file cannot be created (a missing directory, say).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def sqlite_table_columns(connection: sqlite3.Connection, table: str) -> set[str]:
    """The column names of a SQLite table; empty if there is no such table."""
    return {row[1] for row in connection.execute(f'PRAGMA table_info("{table}")')}


def migrate_sqlite_tenant_table(
    connection: sqlite3.Connection, table: str, create_table: str, app_key: str
) -> None:
    """Migrate a legacy tenant table to rows keyed by app and client key, in place.

    SQLite cannot change a primary key, so the table is renamed, made anew with
    ``create_table`` (the store's own ``CREATE TABLE`` statement for ``table``), filled with
    each row's app key and installation id (see :func:`legacy_row_keys`), and the old one
    dropped: all in one ``BEGIN IMMEDIATE`` transaction, so a crash leaves the old table, and
    another process opening the store at the same time waits, then finds the new table.

    :param connection: a connection in autocommit mode (``isolation_level=None``).
    :raises sqlite3.Error: as raised; the transaction is rolled back.
    """
    legacy = f"{table}_before_app_key"
    connection.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have migrated the table while this one waited for the lock.
        if sqlite_table_columns(connection, table) == set(LEGACY_TENANT_COLUMNS):
            connection.execute(f'ALTER TABLE "{table}" RENAME TO "{legacy}"')
            connection.execute(create_table)
            rows = connection.execute(
                f'SELECT client_key, tenant, event_time FROM "{legacy}"'
            ).fetchall()
            migrated = []
            for client_key, tenant, event_time in rows:
                row_app_key, installation_id = legacy_row_keys(tenant, app_key)
                migrated.append((row_app_key, client_key, tenant, event_time, installation_id))
            connection.executemany(
                f'INSERT INTO "{table}" (app_key, client_key, tenant, event_time, '
                "installation_id) VALUES (?, ?, ?, ?, ?)",
                migrated,
            )
            connection.execute(f'DROP TABLE "{legacy}"')
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _checked_text(value: object, name: str) -> str:
    """Check a key to store: ``name`` (``clientKey``, ``app_key``...) says what it is."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    if not storable_text(value):
        raise ValueError(f"{name} must be text without NUL or lone surrogates")
    return value


def _lookup_text(value: object, name: str) -> str | None:
    """Check a key to look up; ``None`` for text no store can hold, so nothing it names."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value if storable_text(value) else None


def _check_sha256(digest: object, name: str) -> None:
    if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
        raise ValueError(f"{name} must be a SHA-256 hash in lower-case hex")


def _checked_time(event_time: object) -> float | None:
    if event_time is None:
        return None
    return _seconds(event_time, "event_time must be a finite number of seconds (a token's iat)")


def _checked_expiry(expires_at: object) -> float:
    if isinstance(expires_at, datetime):
        if expires_at.tzinfo is None or expires_at.utcoffset() is None:
            raise ValueError("expires_at must be an aware datetime (with its time zone)")
        return expires_at.timestamp()
    return _seconds(expires_at, "expires_at must be an aware datetime or seconds since the epoch")


def _seconds(value: object, message: str) -> float:
    """A finite number of seconds (``bool`` is not one), else ``ValueError(message)``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(message)
    return float(value)


def _to_json(tenant: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(tenant), separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        # The message would show the offending value, which could be the secret.
        raise ValueError("A tenant must be a JSON object of JSON values") from None


def _tenant_from_json(stored: str | None) -> dict[str, Any] | None:
    if stored is None:
        return None
    tenant: dict[str, Any] = json.loads(stored)
    return tenant
