"""The demo seed is idempotent, also when replicas run it at the same moment."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from ordergate.bootstrap import build_services
from ordergate.sandbox.seed import CATALOGUE, NETWORK, demo_locations, demo_products
from ordergate.settings import Settings
from ordergate.store.unit_of_work import Store
from ordergate.usecases import catalog
from ordergate.usecases.services import Services, utc_now


async def counts(services: Services) -> tuple[int, int]:
    async with services.store.read() as uow:
        products = (await uow.session.execute(sa.text("SELECT count(*) FROM products"))).scalar_one()
        locations = (await uow.session.execute(sa.text("SELECT count(*) FROM locations"))).scalar_one()
    return int(products), int(locations)


async def test_seeding_again_adds_nothing(services: Services) -> None:
    added = await catalog.seed(services, demo_products(utc_now()), demo_locations())

    assert added == 0
    assert await counts(services) == (len(CATALOGUE), len(NETWORK))


async def test_replicas_seeding_together_neither_fails_nor_duplicates(
    services: Services, settings: Settings, database: tuple[str, dict[str, Any]]
) -> None:
    async with services.store.write() as uow:
        for table in ("inventory_positions", "incoming_supply", "products", "locations"):
            await uow.session.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608
    replicas = [build_services(settings, Store(database[0], connect_args=database[1])) for _ in range(3)]
    try:
        added = await asyncio.gather(
            *(catalog.seed(r, demo_products(utc_now()), demo_locations()) for r in replicas)
        )
    finally:
        for replica in replicas:
            await replica.store.dispose()

    assert sum(added) == len(CATALOGUE) + len(NETWORK)
    assert await counts(services) == (len(CATALOGUE), len(NETWORK))
