"""Engines for SQLite (embedded default) and PostgreSQL, with the right transaction modes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def shown(url: str) -> str:
    """A database URL fit to print: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def create_engine(url: str, *, immediate: bool = False, **kwargs: Any) -> AsyncEngine:
    """An async engine. On SQLite `immediate` makes every transaction take the write lock
    up front (BEGIN IMMEDIATE), so two writers never deadlock upgrading a read lock. A failed
    statement's parameters (customers' emails, addresses) stay out of its error's text, and so
    out of every log line that carries it."""
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(url, **kwargs)

    kwargs.setdefault("connect_args", {"timeout": 30})
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
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


def insert_for(session: AsyncSession) -> Any:
    """The session's dialect's INSERT construct, which has `on_conflict_do_nothing` and
    `on_conflict_do_update` (both SQLite and PostgreSQL speak ON CONFLICT)."""
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
