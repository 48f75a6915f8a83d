"""A stock view's figures in one statement (`InventoryRepository.stock_at`; `set_aside_at` for
the positions an order takes units from, read again once they are locked): per position, the
row, units in live holds but the order's own, safety stock set there and units backordered there
and waiting, as the separate reads say them, on both backends."""

from __future__ import annotations

from uuid import uuid4

import httpx
import sqlalchemy as sa

from ordergate.bootstrap import Sandboxes
from ordergate.models.commands import LineRequest, ReserveInventory
from ordergate.models.identity import Principal, Role
from ordergate.store import tables
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
            dfw = next(loc.id for loc in locations if loc.code == "DC-DFW")
            # units wait at a node that has no position for them: the read still sees them
            await uow.session.execute(
                sa.delete(tables.inventory_positions).where(
                    tables.inventory_positions.c.sku == WOOL, tables.inventory_positions.c.location_id == dfw
                )
            )
        async with services.store.write() as uow:
            inputs = await stock_inputs(uow, skus, now, excluding_hold=mine)
            positions = await uow.inventory.positions(skus)
            held = await uow.inventory.held(skus, now, excluding=mine)
            waiting = await uow.inventory.waiting(skus)
            safety = await uow.inventory.safety_stock(skus)
            keys = [(p.sku, p.location_id) for p in positions]
            await uow.inventory.lock_positions(keys)
            rows = await uow.inventory.set_aside_at(keys, now, excluding=mine)
            everyones = await uow.inventory.held(skus, now)
        kept = await services.views.stock(services.store, skus, now)  # the read views' own read

    # two reads (the positions with what is set aside at each, incoming supply) say what five say
    assert [(p.sku, p.location_id, p.on_hand, p.allocated, p.as_of) for p in inputs.positions] == [
        (p.sku, p.location_id, p.on_hand, p.allocated, p.as_of) for p in positions
    ]
    assert (inputs.held, inputs.waiting, inputs.safety) == (held, waiting, safety)
    assert (WOOL, dfw) in waiting
    assert [(p.sku, p.location_id, p.on_hand, p.allocated) for p in kept.positions] == [
        (p.sku, p.location_id, p.on_hand, p.allocated) for p in positions
    ]
    assert (kept.held, kept.waiting, kept.safety) == (everyones, waiting, safety)
    assert everyones != held  # the order's own hold counts for everyone else
    assert (WOOL, dfw) not in keys
    # and for the positions an order takes units from, once they are locked
    assert len(keys) >= 2 * len(locations) - 1
    assert [row.key for row in rows] == sorted(keys)
    for row in rows:
        assert row.position is not None
        assert (row.position.on_hand, row.position.allocated) == next(
            (p.on_hand, p.allocated) for p in positions if (p.sku, p.location_id) == row.key
        )
        assert (row.held, row.safety, row.waiting) == (
            held.get(row.key, 0),
            safety.get(row.key),
            waiting.get(row.key, 0),
        ), row.key
    # what the comparison covers: each kind of figure is there, not only zeros
    assert sum(held.values()) == 3
    assert sorted(safety.values()) == [0, 4]
    assert sum(waiting.values()) == 2
