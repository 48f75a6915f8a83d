"""The Store and its units of work: one short transaction each, reads and writes apart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ordergate.models.errors import StoreBusy
from ordergate.store import changes
from ordergate.store.appeasements import AppeasementRepository
from ordergate.store.audit import AuditRepository
from ordergate.store.catalog import CatalogRepository
from ordergate.store.customers import CustomerRepository
from ordergate.store.engine import create_engine, is_sqlite
from ordergate.store.erp import ErpRepository
from ordergate.store.events import EventRepository, next_value
from ordergate.store.idempotency import IdempotencyRepository
from ordergate.store.inventory import InventoryRepository
from ordergate.store.loyalty import LoyaltyRepository
from ordergate.store.mapping import start_mappers
from ordergate.store.metrics import MetricsRepository
from ordergate.store.network import NetworkRepository
from ordergate.store.notes import NoteRepository
from ordergate.store.orders import OrderRepository
from ordergate.store.outbox import OutboxRepository
from ordergate.store.payments import PaymentRepository
from ordergate.store.positions import PositionRepository
from ordergate.store.records import READ_ONLY
from ordergate.store.returns import ReturnRepository
from ordergate.store.short_spells import ShortSpellRepository
from ordergate.store.sync import SyncRepository
from ordergate.store.webhooks import WebhookRepository

log = logging.getLogger("ordergate.store")


class UnitOfWork:
    """One transaction's repositories, and the verbs for records a use case changed itself:
    `save` (a new or changed record is kept), `remove`, `flush` (write what is kept so far, so
    the transaction's queries see it), `next_value` (bump a named counter). Only the store
    touches `session`; use cases do not."""

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
        self.positions = PositionRepository(session)
        self.sync = SyncRepository(session)
        self.returns = ReturnRepository(session)
        self.payments = PaymentRepository(session)
        self.erp = ErpRepository(session)
        self.loyalty = LoyaltyRepository(session)
        self.appeasements = AppeasementRepository(session)
        self.notes = NoteRepository(session)
        self.network = NetworkRepository(session)
        self.audit = AuditRepository(session)
        self.metrics = MetricsRepository(session)
        self.short_spells = ShortSpellRepository(session)

    def save(self, *records: object) -> None:
        self.session.add_all(records)

    async def remove(self, record: object) -> None:
        await self.session.delete(record)

    async def flush(self) -> None:
        await self.session.flush()

    async def next_value(self, counter: str, *, start: int = 1) -> int:
        """The counter's next value, under its row lock until this transaction ends."""
        return await next_value(self.session, counter, start)


@dataclass(frozen=True)
class Committed:
    """What a committed write transaction promised the world: events to publish (subscribers,
    other replicas) and outbox work now due (this process's relay)."""

    events: int
    queued: frozenset[str]  # the kinds of outbox work it made due
    stock: frozenset[str] = frozenset()  # SKUs whose stock figures it moved (`store.changes`)
    catalog: bool = False  # it changed products or locations

    @property
    def changed_views(self) -> bool:
        return bool(self.stock) or self.catalog


AfterCommit = Callable[[Committed], Awaitable[None]]


async def _nobody_listens(_: Committed) -> None:
    return None


# PostgreSQL's answers to concurrent writers that it resolves by rolling one of them back:
# deadlock_detected, serialization_failure, lock_not_available.
CONFLICTS = frozenset({"40P01", "40001", "55P03"})


@asynccontextmanager
async def _transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session in one transaction: committed when the block ends, rolled back when it raises,
    and closed. Ending it runs to its end even when the task is cancelled meanwhile (a gateway
    stopping its workers cancels whatever round they are in): a cancel that landed inside the
    commit, while the pool reset the connection it was returning (a ROLLBACK), made SQLAlchemy
    log a traceback ("Exception during reset or similar") and drop the connection. The
    cancellation is raised once the session is closed."""
    session = sessions()
    try:
        await session.begin()
        yield session
    except BaseException:
        await _to_the_end(session.close())  # which rolls back what is open
        raise
    await _to_the_end(_committed(session))


async def _committed(session: AsyncSession) -> None:
    try:
        await session.commit()
    finally:
        await session.close()


async def _to_the_end(step: Coroutine[Any, Any, None]) -> None:
    """Await `step` to its end; a cancellation meanwhile is raised after it, not inside it (one
    task per unit of work: ~25 us of CPU, measured alone)."""
    task = asyncio.ensure_future(step)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await task
        raise


@contextmanager
def _busy_when_exhausted() -> Iterator[None]:
    """A connection pool that stays exhausted past its timeout is load, not a bug: the caller
    gets STORE_BUSY (retry shortly; nothing was changed) instead of an internal error. So does a
    transaction the database rolled back to resolve a conflict with a concurrent one (writers
    take their locks in one order, so this is not expected; when it happens, nothing was kept)."""
    try:
        yield
    except sa.exc.TimeoutError:
        raise StoreBusy("the order store is busy: send the request again in a moment") from None
    except sa.exc.DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) not in CONFLICTS:
            raise
        log.warning("a transaction was rolled back by the database: %s", str(error.orig).splitlines()[0])
        raise StoreBusy("a concurrent change got in the way: send the request again") from None


async def _changes(uow: UnitOfWork) -> tuple[frozenset[str], bool]:
    """What the transaction changed that read views hold (`store.changes`), its last records
    flushed first so that none is missed."""
    await uow.flush()
    holds = changes.holds_changed(uow.session)
    stock = changes.changed_stock(uow.session)
    if holds:
        stock |= await uow.inventory.skus_of_holds(sorted(holds))
    return stock, changes.changed_catalog(uow.session)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Engines:
    """A store's two engines: reads and writes (one and the same but on SQLite). An engine
    outlives `dispose`, which closes its connections only: the statements it has compiled
    are kept, and its next connection is opened afresh."""

    read: AsyncEngine
    write: AsyncEngine

    @classmethod
    def create(
        cls,
        url: str,
        *,
        echo: bool = False,
        connect_args: dict[str, Any] | None = None,
        engine_options: dict[str, Any] | None = None,
    ) -> Engines:
        options: dict[str, Any] = {"echo": echo, **(engine_options or {})}
        if connect_args is not None:
            options["connect_args"] = connect_args
        if not is_sqlite(url):
            engine = create_engine(url, **options)
            return cls(engine, engine)
        # On SQLite, reads run on the loop's thread (see `engine.InlineConnection`), and one
        # writer is allowed: a separate engine whose transactions take the write lock at BEGIN.
        return cls(create_engine(url, inline=True, **options), create_engine(url, immediate=True, **options))


class Store:
    """Owns the engines. `read()` for queries; `write()` for changes, committed on exit, after
    which the store itself tells whoever listens (`after_commit`) what the transaction promised:
    no use case notifies the broker or wakes the relay by hand, so none can forget to.

    `engines` are made for the store unless given (the tests give every test of a worker the
    same ones, so that a statement is compiled once per worker, as once per served process)."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        connect_args: dict[str, Any] | None = None,
        engine_options: dict[str, Any] | None = None,
        engines: Engines | None = None,
    ) -> None:
        start_mappers()
        self.url = url
        self.sqlite = is_sqlite(url)
        engines = engines or Engines.create(
            url, echo=echo, connect_args=connect_args, engine_options=engine_options
        )
        self.read_engine: AsyncEngine = engines.read
        self.write_engine: AsyncEngine = engines.write
        # SQLite's one writer: this process queues its own writers politely.
        self._write_lock = asyncio.Lock() if self.sqlite else None
        self._read_sessions = async_sessionmaker(
            self.read_engine, expire_on_commit=False, info={READ_ONLY: True}
        )
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self.after_commit: AfterCommit = _nobody_listens
        self.clock: Callable[[], datetime] = _utc_now  # the services' clock (the audit trail's times)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[UnitOfWork]:
        with _busy_when_exhausted():
            async with _transaction(self._read_sessions) as session:
                yield UnitOfWork(session)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[UnitOfWork]:
        with _busy_when_exhausted():
            async with self._writer() as uow:
                yield uow
                await uow.audit.record(self.clock())  # the request's changes, diffed, in this transaction
                stock, catalog = await _changes(uow)
                await uow.events.stamp()
        committed = Committed(uow.events.stamped, frozenset(uow.outbox.queued), stock, catalog)
        if committed.events or committed.queued or committed.changed_views:
            await self.after_commit(committed)  # committed: the lock (SQLite) is released

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[UnitOfWork]:
        """One write transaction, in this process's writer queue on SQLite (one writer there)."""
        async with AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            session = await stack.enter_async_context(_transaction(self._write_sessions))
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
