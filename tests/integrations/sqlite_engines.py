"""SQLite engines for the SQLAlchemy store's tests, in a module light enough for the worker
processes of the multi-process tests to import quickly."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa

__all__ = ["sqlite_engine"]


def sqlite_engine(path: str | os.PathLike[str], *, immediate: bool) -> sa.Engine:
    """An engine on a SQLite file in WAL mode; with ``immediate``, every transaction takes the
    write lock when it begins, the locking that the store's SELECT ... FOR UPDATE path needs."""
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
