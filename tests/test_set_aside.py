"""What placeOrder reads again once its plan's rows are locked: one statement
(`InventoryRepository.set_aside_at`) says, per position, what the five reads of a stock view say
(the row, units in live holds but the order's own, safety stock set there, units backordered
there and waiting), on both backends."""

from __future__ import annotations

from uuid import uuid4

import httpx

from ordergate.bootstrap import Sandboxes
from ordergate.models.commands import LineRequest, ReserveInventory
from ordergate.models.identity import Principal, Role
from ordergate.usecases import reservations
from ordergate.usecases.inventory import stock_inputs
from ordergate.usecases.services import Services
from tests.clock import moving
from tests.test_backorders import WOOL, place
from tests.test_inventory import only_at

LAMP = "LAMP-DESK"
STOREFRONT = Principal("storefront", Role.STOREFRONT)


async def hold(services: Services, sku: str, quantity: int, ttl: int = 600) -> str:
    held = await reservations.reserve_inventory(
        services,
        STOREFRONT,
        ReserveInventory(
            idempotency_key=uuid4().hex,
            lines=(LineRequest(sku, quantity),),
            ttl_seconds=ttl,
            destination_country="US",
            destination_postal_code="78701",
        ),
    )
    return held.reservation.id


async def test_one_statement_reads_what_a_stock_view_reads_position_by_position(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    await only_at(services, sandboxes, WOOL, "DC-EWR", 3)
    assert (await place(client, WOOL, 5))["userErrors"] == []  # 2 wait at DC-DFW for supply
    with moving(services) as clock:
        await hold(services, LAMP, 1, ttl=60)  # expires below: no longer counted
        clock.advance(120)
        mine = await hold(services, LAMP, 2)  # the order's own: not counted for it
        await hold(services, LAMP, 3)
        released = await hold(services, LAMP, 1)
        await reservations.release_inventory_hold(services, STOREFRONT, released)
        now = clock()
        async with services.store.write() as uow:
            locations = await uow.catalog.locations()
            await uow.inventory.set_safety_stock(LAMP, locations[0].id, 4, by="test", at=now)
            await uow.inventory.set_safety_stock(WOOL, locations[-1].id, 0, by="test", at=now)
        skus = [LAMP, WOOL]
        async with services.store.write() as uow:
            inputs = await stock_inputs(uow, skus, now, excluding_hold=mine)
            keys = [(p.sku, p.location_id) for p in inputs.positions]
            await uow.inventory.lock_positions(keys)
            rows = await uow.inventory.set_aside_at(keys, now, excluding=mine)

    assert len(keys) >= 2 * len(locations) - 1
    assert [(r.position.sku, r.position.location_id) for r in rows] == sorted(keys)
    by_key = {(p.sku, p.location_id): p for p in inputs.positions}
    for row in rows:
        key = (row.position.sku, row.position.location_id)
        read = by_key[key]
        assert (row.position.on_hand, row.position.allocated, row.position.as_of) == (
            read.on_hand,
            read.allocated,
            read.as_of,
        )
        assert (row.held, row.safety, row.waiting) == (
            inputs.held.get(key, 0),
            inputs.safety.get(key),
            inputs.waiting.get(key, 0),
        ), key
    # what the comparison covers: each kind of figure is there, not only zeros
    assert sum(r.held for r in rows) == 3
    assert sorted(r.safety for r in rows if r.safety is not None) == [0, 4]
    assert sum(r.waiting for r in rows) == 2
