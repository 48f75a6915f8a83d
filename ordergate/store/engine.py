"""Engines for SQLite (embedded default) and PostgreSQL, with the right transaction modes."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiosqlite
import sqlalchemy as sa
from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite database lives in; None for in-memory SQLite and other databases."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None  # SQLite's URI filenames: too many forms (memory, shared cache) to place a file by
    return Path(database)


def shown(url: str) -> str:
    """A database URL fit to print: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


class _InlineQueue:
    """Where aiosqlite (and SQLAlchemy's adapter, for the isolation level) queue work for the
    connection's thread: here the work is done at once, on the caller's thread."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Any]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as error:
            if future is None:
                raise
            future.set_exception(error)
        else:
            if future is not None:
                future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's connection, its calls made on the event loop's thread instead of handed to
    a thread of its own. For SQLite reads only: in WAL mode a reader never waits for a lock, and
    a read of an indexed page takes microseconds, far less than the two thread hops (and the
    contention for the GIL) that aiosqlite spends on every statement, commit and rollback. A
    writer may wait for the write lock, which must not stall the loop: writers keep aiosqlite.
    The connection is `query_only`, so a write sent through it fails at once instead of waiting
    for the lock on the loop's thread."""

    def __init__(self, connector: Any) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _InlineQueue()  # type: ignore[assignment]

    def __await__(self) -> Any:  # no worker thread to start
        return self._connect().__await__()

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _inline_reader(database: str, timeout: float) -> Any:
    async def connect() -> InlineConnection:
        def connector() -> sqlite3.Connection:
            return sqlite3.connect(database, timeout=timeout, check_same_thread=False)

        connection: InlineConnection = await InlineConnection(connector)
        return connection

    return connect


IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """A pooled connection that sat unused for `idle_seconds` is pinged as it is handed out, and
    replaced when the server has gone (restarted, or the connection cut while idle): what
    `pool_pre_ping` does, without a round trip to the server for every transaction of a busy
    pool, whose connections were in use a moment ago. A connection lost while in use fails its
    transaction, and SQLAlchemy then invalidates the pool's older connections."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _handed_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise sa.exc.DisconnectionError("the pooled connection is gone") from error
            raise


def create_engine(url: str, *, immediate: bool = False, inline: bool = False, **kwargs: Any) -> AsyncEngine:
    """An async engine. On SQLite `immediate` makes every transaction take the write lock
    up front (BEGIN IMMEDIATE), so two writers never deadlock upgrading a read lock, and
    `inline` makes a read-only engine whose statements run on the event loop's thread
    (`InlineConnection`). A failed statement's parameters (customers' emails, addresses) stay
    out of its error's text, and so out of every log line that carries it."""
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        engine = create_async_engine(url, **kwargs)
        _ping_when_idle(engine, IDLE_PING_SECONDS)
        return engine

    kwargs.setdefault("connect_args", {"timeout": 30})
    database = make_url(url).database
    if inline and database and database != ":memory:":
        kwargs["async_creator"] = _inline_reader(database, kwargs.pop("connect_args").get("timeout", 30))
    engine = create_async_engine(url, **kwargs)
    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if inline:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def insert_for(session: AsyncSession) -> Any:
    """The session's dialect's INSERT construct, which has `on_conflict_do_nothing` and
    `on_conflict_do_update` (both SQLite and PostgreSQL speak ON CONFLICT)."""
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert


@functools.cache
def by_keys(record: Any, key: Any, *order_by: Any) -> Any:
    """`SELECT record WHERE key IN (:ids) ORDER BY ...`, built once per process (after the
    records are mapped) instead of once per request: building and coercing a 100-key IN cost
    more than running it. The keys are given at execution, as `ids`."""
    return select(record).where(key.in_(sa.bindparam("ids", expanding=True))).order_by(*order_by)
