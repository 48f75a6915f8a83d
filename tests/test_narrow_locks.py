"""placeOrder locks only the positions its plan takes units from (issue 17, item 3), and only for
its last writes: routing reads every source unlocked, the order, its lines and its fulfilment
orders are written, then the chosen rows are locked and read again, allocated, and committed. An
order overtaken in between (another transaction took those units first) is routed again with
every source locked, never allocated against units that are gone. PostgreSQL only: SQLite has
one writer, so nothing can come in between there."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from ordergate.bootstrap import Sandboxes, build_services
from ordergate.models.address import Address
from ordergate.models.commands import CustomerDetails, LineRequest, PlaceOrder, ReserveInventory
from ordergate.models.identity import Principal, Role
from ordergate.models.order import DeliveryMethod
from ordergate.settings import Settings
from ordergate.store.inventory import InventoryRepository, Key
from ordergate.store.unit_of_work import Store
from ordergate.usecases import erp_sync, orders, reservations
from ordergate.usecases.services import Services
from tests.services import POSTGRES_URL

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database", ["postgres"], indirect=True)]

SKU = "LAMP-DESK"
NEAR, FAR = "DC-DFW", "DC-EWR"  # from Austin
STOREFRONT = Principal("storefront", Role.STOREFRONT)
LOCK_NOW = "SELECT 1 FROM inventory_positions WHERE sku = $1 AND location_id = $2 FOR UPDATE NOWAIT"


async def stock(services: Services, sandboxes: Sandboxes, units: dict[str, int]) -> None:
    """`units` of SKU at these locations and none elsewhere, as the ERP will report it."""
    katana = sandboxes.katana
    assert katana is not None
    variant = katana.variant_for(SKU)
    for code, location in katana.locations.items():
        katana.inventory[(variant.id, location)] = Decimal(units.get(code, 0))
    services.freshness.stock_read_at.pop(SKU, None)


def an_order(quantity: int, email: str = "ann@example.com") -> PlaceOrder:
    return PlaceOrder(
        idempotency_key=uuid4().hex,
        channel="web",
        customer=CustomerDetails(email=email),
        lines=(LineRequest(SKU, quantity),),
        delivery_method=DeliveryMethod.SHIP,
        shipping_address=Address("Ann", "500 Congress Ave", "Austin", "78701", "US", region="TX"),
    )


async def shipped_from(services: Services, order_id: str) -> list[str]:
    async with services.store.read() as uow:
        fos = (await uow.orders.fulfillment_orders_by_order_ids([order_id])).get(order_id, [])
        locations = await uow.catalog.locations_by_ids([fo.location_id for fo in fos])
    return sorted(locations[fo.location_id].code for fo in fos)


def before_locking(
    monkeypatch: pytest.MonkeyPatch, step: Callable[[Sequence[Key]], Awaitable[None]], *, after: bool = False
) -> list[Sequence[Key]]:
    """Run `step` when placeOrder locks its plan's positions (before the locks, or after)."""
    calls: list[Sequence[Key]] = []
    real = InventoryRepository.lock_positions

    async def lock_positions(self: InventoryRepository, keys: Sequence[Key]) -> None:
        calls.append(keys)
        if not after:
            await step(keys)
        await real(self, keys)
        if after:
            await step(keys)

    monkeypatch.setattr(InventoryRepository, "lock_positions", lock_positions)
    return calls


async def test_an_order_overtaken_between_routing_and_locking_is_routed_again_to_where_the_units_are(
    services: Services,
    sandboxes: Sandboxes,
    settings: Settings,
    database: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})
    other = build_services(
        dataclasses.replace(settings, outbox_relay=False), Store(database[0], connect_args=database[1])
    )
    other.erp = None  # it shares our database; the ERP is read by us

    async def another_shopper_holds_two_near_by(_: Sequence[Key]) -> None:
        await reservations.reserve_inventory(
            other,
            STOREFRONT,
            ReserveInventory(
                idempotency_key=uuid4().hex,
                lines=(LineRequest(SKU, 2),),
                destination_country="US",
                destination_postal_code="78701",
            ),
        )

    calls = before_locking(monkeypatch, another_shopper_holds_two_near_by)
    try:
        order = await orders.place_order(services, STOREFRONT, an_order(3))
    finally:
        await other.aclose()

    assert [sorted({loc for _, loc in keys}) for keys in calls] == [[await location_id(services, NEAR)]]
    assert await shipped_from(services, order.id) == [FAR]  # routed again, with every source locked
    async with services.store.read() as uow:
        positions = {p.location_id: p for p in await uow.inventory.positions([SKU])}
        held = await uow.inventory.held([SKU], services.clock())
    near, far = await location_id(services, NEAR), await location_id(services, FAR)
    assert (positions[near].allocated, held.get((SKU, near))) == (0, 2)  # the hold kept its units
    assert positions[far].allocated == 3


async def test_while_an_order_is_being_taken_only_the_positions_it_takes_units_from_are_locked(
    services: Services,
    sandboxes: Sandboxes,
    database: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})
    near, far = await location_id(services, NEAR), await location_id(services, FAR)
    seen: dict[str, bool] = {}

    async def try_both_rows(_: Sequence[Key]) -> None:
        connection = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""), **database[1])
        try:
            for name, location in (("near", near), ("far", far)):
                async with connection.transaction():
                    try:
                        await connection.execute(LOCK_NOW, SKU, location)
                        seen[name] = False
                    except asyncpg.LockNotAvailableError:
                        seen[name] = True
        finally:
            await connection.close()

    before_locking(monkeypatch, try_both_rows, after=True)
    order = await orders.place_order(services, STOREFRONT, an_order(2))

    assert await shipped_from(services, order.id) == [NEAR]
    assert seen == {"near": True, "far": False}


async def test_an_order_s_rows_are_locked_for_its_allocation_and_commit_only(
    services: Services,
    sandboxes: Sandboxes,
    database: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its order, lines and fulfilment orders written, its sales orders promised to the ERP, the
    position it takes units from is not locked yet: another order of the SKU at that node does
    not wait for those writes."""
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})
    near = await location_id(services, NEAR)
    free: list[bool] = []
    real = erp_sync.promise_sales_orders

    async def promise_then_try_the_row(uow: Any, order: Any, locations: Any, now: Any) -> None:
        await real(uow, order, locations, now)
        assert (await uow.orders.fulfillment_orders_by_order_ids([order.id]))[order.id]  # written
        connection = await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""), **database[1])
        try:
            async with connection.transaction():
                try:
                    await connection.execute(LOCK_NOW, SKU, near)
                    free.append(True)
                except asyncpg.LockNotAvailableError:
                    free.append(False)
        finally:
            await connection.close()

    monkeypatch.setattr("ordergate.usecases.allocation.promise_sales_orders", promise_then_try_the_row)
    order = await orders.place_order(services, STOREFRONT, an_order(2))

    assert await shipped_from(services, order.id) == [NEAR]
    assert free == [True]
    async with services.store.read() as uow:
        positions = {p.location_id: p for p in await uow.inventory.positions([SKU])}
    assert positions[near].allocated == 2


async def location_id(services: Services, code: str) -> str:
    async with services.store.read() as uow:
        return next(loc.id for loc in await uow.catalog.locations() if loc.code == code)


async def test_an_order_overtaken_by_another_order_is_routed_again_not_refused(
    services: Services,
    sandboxes: Sandboxes,
    settings: Settings,
    database: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other transaction allocates (it changes the position row itself, which this
    transaction has already read once): the figures read again under the lock are the row's
    committed ones, not what the first read left in the session."""
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})
    other = build_services(
        dataclasses.replace(settings, outbox_relay=False), Store(database[0], connect_args=database[1])
    )
    other.erp = None  # it shares our database; the ERP is read by us
    first: list[str] = []

    async def another_shopper_buys_two_near_by(_: Sequence[Key]) -> None:
        if not first:  # once: the other order locks through this same method
            first.append("")
            # another shopper: the same new customer's row, inserted by this transaction and
            # not committed, would have the other order wait for this one (as it waits for it)
            first[0] = (await orders.place_order(other, STOREFRONT, an_order(2, "bo@example.com"))).id

    calls = before_locking(monkeypatch, another_shopper_buys_two_near_by)
    try:
        order = await orders.place_order(services, STOREFRONT, an_order(3))
    finally:
        await other.aclose()

    near, far = await location_id(services, NEAR), await location_id(services, FAR)
    assert sorted({loc for _, loc in calls[0]}) == [near]  # the first try took its units near by
    assert sorted({loc for _, loc in calls[1]}) == [near]  # (the other order's)
    assert await shipped_from(services, first[0]) == [NEAR]
    assert await shipped_from(services, order.id) == [FAR]  # routed again, with every source locked
    async with services.store.read() as uow:
        positions = {p.location_id: p for p in await uow.inventory.positions([SKU])}
    assert (positions[near].allocated, positions[far].allocated) == (2, 3)
