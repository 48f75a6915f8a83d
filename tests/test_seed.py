"""The demo seed is idempotent, also when replicas run it at the same moment; an app prepares
the services it is given only when nobody has."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from ordergate import bootstrap
from ordergate.app import create_app
from ordergate.bootstrap import Sandboxes, build_services
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


async def test_an_app_prepares_only_services_not_prepared_yet(
    settings: Settings,
    services: Services,
    sandboxes: Sandboxes,
    database: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepared: list[Services] = []
    prepare = bootstrap.prepare

    async def counted(services: Services, settings: Settings) -> None:
        prepared.append(services)
        await prepare(services, settings)

    monkeypatch.setattr(bootstrap, "prepare", counted)
    assert services.prepared  # by bootstrap.opened, as the CLI's commands and the tests open them
    app = create_app(settings, services, sandboxes)
    async with app.router.lifespan_context(app):
        assert prepared == []

    store = Store(database[0], connect_args=database[1])
    async with bootstrap.opened(settings, store, Sandboxes(), prepared=False) as fresh:
        assert not fresh.prepared
        app = create_app(settings, fresh, Sandboxes())
        async with app.router.lifespan_context(app):
            assert prepared == [fresh]
            assert fresh.prepared
