"""An exhausted connection pool is load, not a bug: callers get STORE_BUSY with a retry hint
(a userError from a mutation), never an internal error, and nothing is half done."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from ordergate.models.errors import StoreBusy
from ordergate.store.unit_of_work import Store
from tests.services import POSTGRES_URL, require_postgres

pytestmark = pytest.mark.postgres


async def test_a_request_that_cannot_get_a_connection_in_time_is_told_to_retry() -> None:
    require_postgres()
    store = Store(POSTGRES_URL, engine_options={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2})
    holding = asyncio.Event()
    done = asyncio.Event()

    async def hold_the_only_connection() -> None:
        async with store.read() as uow:
            await uow.session.connection()
            holding.set()
            await done.wait()

    holder = asyncio.create_task(hold_the_only_connection())
    try:
        await holding.wait()
        with pytest.raises(StoreBusy) as busy:
            async with store.write() as uow:
                await uow.session.connection()
        assert busy.value.code == "STORE_BUSY"
        assert busy.value.extensions == {"retryAfter": 1}
    finally:
        done.set()
        await holder
        await store.dispose()

    async with store.read() as uow:  # once the pool frees up, work goes on
        assert (await uow.session.connection()) is not None
    await store.dispose()


async def test_a_transaction_the_database_rolls_back_for_a_deadlock_is_told_to_retry() -> None:
    """Two writers locking two rows in opposite orders: PostgreSQL rolls one back. Writers here
    take their locks in one order, so this is a guard: that one gets STORE_BUSY, not INTERNAL,
    and the other commits."""
    require_postgres()
    store = Store(POSTGRES_URL)
    rows = sa.Table(
        f"deadlock_{uuid.uuid4().hex[:8]}",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    async with store.write() as uow:
        await uow.session.run_sync(lambda session: rows.create(session.connection()))
        await uow.session.execute(sa.insert(rows), [{"id": 1, "n": 0}, {"id": 2, "n": 0}])
    both_hold_one = asyncio.Barrier(2)

    async def writer(first: int, second: int) -> str:
        try:
            async with store.write() as uow:
                await uow.session.execute(sa.update(rows).where(rows.c.id == first).values(n=rows.c.n + 1))
                await both_hold_one.wait()
                await uow.session.execute(sa.update(rows).where(rows.c.id == second).values(n=rows.c.n + 1))
        except StoreBusy as busy:
            return f"{busy.code} {busy.extensions}"
        return "committed"

    try:
        outcomes = await asyncio.gather(writer(1, 2), writer(2, 1))
        async with store.read() as uow:
            counts = (await uow.session.execute(sa.select(sa.func.sum(rows.c.n)))).scalar_one()
    finally:
        async with store.write() as uow:
            await uow.session.run_sync(lambda session: rows.drop(session.connection()))
        await store.dispose()

    assert sorted(outcomes) == ["STORE_BUSY {'retryAfter': 1}", "committed"]
    assert counts == 2  # the rolled-back writer kept nothing
