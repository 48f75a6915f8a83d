"""The Store and its units of work: one short transaction each, reads and writes apart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ordergate.store.catalog import CatalogRepository
from ordergate.store.customers import CustomerRepository
from ordergate.store.engine import create_engine, is_sqlite
from ordergate.store.events import EventRepository
from ordergate.store.idempotency import IdempotencyRepository
from ordergate.store.inventory import InventoryRepository
from ordergate.store.orders import OrderRepository
from ordergate.store.outbox import OutboxRepository
from ordergate.store.payments import PaymentRepository
from ordergate.store.returns import ReturnRepository
from ordergate.store.sync import SyncRepository
from ordergate.store.webhooks import WebhookRepository


class UnitOfWork:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.catalog = CatalogRepository(session)
        self.customers = CustomerRepository(session)
        self.orders = OrderRepository(session)
        self.events = EventRepository(session)
        self.idempotency = IdempotencyRepository(session)
        self.inventory = InventoryRepository(session)
        self.outbox = OutboxRepository(session)
        self.webhooks = WebhookRepository(session)
        self.sync = SyncRepository(session)
        self.returns = ReturnRepository(session)
        self.payments = PaymentRepository(session)


class Store:
    """Owns the engines. `read()` for queries; `write()` for changes, committed on exit."""

    def __init__(self, url: str, *, echo: bool = False, connect_args: dict[str, Any] | None = None) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        options: dict[str, Any] = {"echo": echo}
        if connect_args is not None:
            options["connect_args"] = connect_args
        self.read_engine: AsyncEngine = create_engine(url, **options)
        # SQLite allows one writer: a separate engine whose transactions take the write
        # lock at BEGIN, plus a lock so this process queues its own writers politely.
        self.write_engine: AsyncEngine = (
            create_engine(url, immediate=True, **options) if self.sqlite else self.read_engine
        )
        self._write_lock = asyncio.Lock() if self.sqlite else None
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        async with self._read_sessions() as session, session.begin():
            yield UnitOfWork(session)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        if self._write_lock is None:
            async with self._write_sessions() as session, session.begin():
                yield UnitOfWork(session)
            return
        async with self._write_lock, self._write_sessions() as session, session.begin():
            yield UnitOfWork(session)

    async def ping(self) -> bool:
        try:
            async with self.read_engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        except (OSError, sa.exc.SQLAlchemyError):
            return False
        return True

    async def dispose(self) -> None:
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
