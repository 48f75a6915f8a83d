"""An exhausted connection pool is load, not a bug: callers get STORE_BUSY with a retry hint
(a userError from a mutation), never an internal error, and nothing is half done."""

from __future__ import annotations

import asyncio

import pytest

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
