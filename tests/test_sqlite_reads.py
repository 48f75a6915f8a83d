"""SQLite reads on the event loop's thread (`store.engine.InlineConnection`): no worker thread
per connection, and no way for a read to turn into a write that would wait for the write lock
on the loop's thread."""

from __future__ import annotations

import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordergate.models.catalog import Product
from ordergate.store.engine import InlineConnection
from ordergate.store.unit_of_work import Store


@pytest.fixture
async def store(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Store]:
    path = tmp_path / "reads.db"
    shutil.copyfile(sqlite_template, path)
    made = Store(f"sqlite+aiosqlite:///{path}")
    yield made
    await made.dispose()


async def test_a_read_runs_on_the_callers_thread_and_starts_none(store: Store) -> None:
    threads = threading.active_count()
    async with store.read() as uow:
        await uow.session.execute(sa.select(sa.literal(1)))
        connection = await uow.session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, InlineConnection)
    assert threading.active_count() == threads


async def test_a_write_sent_through_a_read_fails_at_once_and_changes_nothing(store: Store) -> None:
    async with store.write() as uow:
        before = (await uow.session.execute(sa.select(sa.func.count()).select_from(Product))).scalar_one()
    with pytest.raises(sa.exc.OperationalError, match="readonly"):
        async with store.read() as uow:
            await uow.session.execute(sa.text("DELETE FROM products"))
    async with store.read() as uow:
        after = (await uow.session.execute(sa.select(sa.func.count()).select_from(Product))).scalar_one()
    assert after == before


async def test_a_read_sees_what_the_writer_committed(store: Store) -> None:
    async with store.write() as uow:
        await uow.session.execute(sa.text("DELETE FROM inventory_positions"))
    async with store.read() as uow:
        left = (await uow.session.execute(sa.text("SELECT count(*) FROM inventory_positions"))).scalar_one()
    assert left == 0
