"""A node deactivated while an order is being routed there. `deactivateLocation` locks the
node's row, counts its open work and refuses when there is any; a placement reads the network
(the node active), routes, and opens its work there. Without a lock both take, a placement that
routed to the node before the deactivation committed opened a fulfilment order at a closed
node, which the deactivation had counted as idle. Now the placement, before it commits, locks
the nodes it gives work to and finds them still active (`allocation.ensure_open`): routed
elsewhere when the node closed first, or counted as the node's open work when it got there
first. PostgreSQL only: SQLite has one writer, so nothing can come in between there."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Collection
from typing import Any, TypeVar

import asyncpg
import pytest
import sqlalchemy as sa

from ordergate.bootstrap import Sandboxes, build_services
from ordergate.models.commands import ReleaseOrderHold
from ordergate.models.errors import ValidationFailed
from ordergate.models.fraud import FraudPolicy
from ordergate.models.fulfillment import FulfillmentAction, FulfillmentOrderStatus
from ordergate.models.identity import Principal, Role
from ordergate.models.order import OrderStatus
from ordergate.settings import Settings
from ordergate.store.catalog import CatalogRepository
from ordergate.store.unit_of_work import Store
from ordergate.usecases import fulfillment, holds, network, orders, rerouting
from ordergate.usecases.allocation import NodeClosed, ensure_open
from ordergate.usecases.inventory import refresh_stock
from ordergate.usecases.services import Services
from tests.services import POSTGRES_URL
from tests.test_narrow_locks import (
    FAR,
    NEAR,
    SKU,
    STOREFRONT,
    an_order,
    location_id,
    shipped_from,
    stock,
)
from tests.waiting import until

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database", ["postgres"], indirect=True)]

ADMIN = Principal("admin-test", Role.ADMIN)
AGENT = Principal("agent-test", Role.AGENT)
T = TypeVar("T")


@pytest.fixture
async def other(settings: Settings, database: tuple[str, dict[str, Any]]) -> AsyncIterator[Services]:
    """An admin's replica over the same database (its own connections and read views)."""
    replica = build_services(
        dataclasses.replace(settings, outbox_relay=False), Store(database[0], connect_args=database[1])
    )
    replica.erp = None  # it shares our database; the ERP is read by us
    try:
        yield replica
    finally:
        await replica.aclose()


async def connect(database: tuple[str, dict[str, Any]]) -> asyncpg.Connection:
    return await asyncpg.connect(POSTGRES_URL.replace("+asyncpg", ""), **database[1])


async def waiting_on_a_lock(database: tuple[str, dict[str, Any]], blocker: int | None = None) -> bool:
    """Whether a backend of the test database waits for a row lock (held by `blocker`)."""
    connection = await connect(database)
    try:
        waiting = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
            "wait_event_type = 'Lock' AND ($1::int IS NULL OR $1 = ANY(pg_blocking_pids(pid)))",
            blocker,
        )
    finally:
        await connection.close()
    return bool(waiting)


async def active(services: Services, code: str) -> bool:
    async with services.store.read() as uow:
        return next(loc.active for loc in await uow.catalog.locations() if loc.code == code)


async def allocated(services: Services) -> dict[str, int]:
    async with services.store.read() as uow:
        codes = {loc.id: loc.code for loc in await uow.catalog.locations()}
        return {codes[p.location_id]: p.allocated for p in await uow.inventory.positions([SKU])}


async def test_a_node_closed_after_the_order_was_routed_there_gets_none_of_it(
    services: Services, sandboxes: Sandboxes, other: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deactivation commits between routing's read of the network and the order's lock on
    the node (`ensure_open`, before it writes any work there): it counted no open work at the
    node, so the order may not open any there. It is routed again, among the nodes open now."""
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})
    real = CatalogRepository.lock_open
    asked: list[set[str]] = []

    async def an_admin_closes_the_near_node_first(self: CatalogRepository, ids: Collection[str]) -> set[str]:
        asked.append(set(ids))
        if await active(other, NEAR):
            await network.set_location_active(other, ADMIN, NEAR, False)
        return await real(self, ids)

    monkeypatch.setattr(CatalogRepository, "lock_open", an_admin_closes_the_near_node_first)
    order = await orders.place_order(services, STOREFRONT, an_order(2))

    near = await location_id(services, NEAR)
    assert asked[0] == {near}  # routing had chosen the near node
    assert not await active(services, NEAR)
    assert await shipped_from(services, order.id) == [FAR]
    assert (await allocated(services)).get(NEAR, 0) == 0


async def closed_meanwhile(database: tuple[str, dict[str, Any]], code: str, work: Awaitable[T]) -> T:
    """`work` run while an admin's transaction has locked node `code`'s row (as a deactivation
    does before it counts the node's work); once `work` waits for that lock, the node is
    deactivated and the admin's transaction commits."""
    admin = await connect(database)
    try:
        deactivation = admin.transaction()
        await deactivation.start()
        node = await admin.fetchval("SELECT id FROM locations WHERE code = $1 FOR UPDATE", code)
        running = asyncio.ensure_future(work)
        await until(lambda: waiting_on_a_lock(database, admin.get_server_pid()), "the work waits")
        await admin.execute("UPDATE locations SET active = false WHERE id = $1", node)
        await deactivation.commit()
        return await running
    finally:
        await admin.close()


async def test_an_order_routed_while_a_deactivation_is_under_way_waits_for_it_and_goes_elsewhere(
    services: Services, sandboxes: Sandboxes, database: tuple[str, dict[str, Any]]
) -> None:
    """The deactivation has locked the node's row and counted no work there; the order, routed
    to the node in the meantime (its row read active, the change not committed), waits for the
    deactivation to commit, then finds the node closed and is routed again."""
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})

    order = await closed_meanwhile(database, NEAR, orders.place_order(services, STOREFRONT, an_order(2)))

    assert await shipped_from(services, order.id) == [FAR]
    assert (await allocated(services)).get(NEAR, 0) == 0


async def test_a_node_an_order_is_being_given_work_at_is_not_deactivated_meanwhile(
    services: Services,
    sandboxes: Sandboxes,
    other: Services,
    database: tuple[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The order has found the node open (and holds it so): the deactivation that starts now
    waits for the order to commit, then counts its fulfilment order as open work."""
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})
    real = CatalogRepository.lock_open
    closing: list[asyncio.Task[Any]] = []

    async def lock_open(self: CatalogRepository, ids: Collection[str]) -> set[str]:
        found = await real(self, ids)
        if not closing:
            ours = (await self.session.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            closing.append(asyncio.create_task(network.set_location_active(other, ADMIN, NEAR, False)))

            async def waits_or_is_done() -> bool:  # waits for this transaction, not another test's
                return closing[0].done() or await waiting_on_a_lock(database, ours)

            await until(waits_or_is_done, "the deactivation waits or is done")
            assert not closing[0].done(), "the deactivation did not wait for the order"
        return found

    monkeypatch.setattr(CatalogRepository, "lock_open", lock_open)
    order = await orders.place_order(services, STOREFRONT, an_order(2))
    with pytest.raises(ValidationFailed) as refused:
        await closing[0]

    assert [p.code for p in refused.value.problems] == ["LOCATION_HAS_OPEN_WORK"]
    assert await active(services, NEAR)
    assert await shipped_from(services, order.id) == [NEAR]
    assert (await allocated(services))[NEAR] == 2


async def test_work_routed_to_a_closed_node_is_refused_as_busy_naming_the_node(services: Services) -> None:
    """What work routed to a node closed meanwhile answers when it was routed again and found its
    node closed once more: STORE_BUSY (send it again), the node named by its code."""
    await network.set_location_active(services, ADMIN, NEAR, False)
    near, far = await location_id(services, NEAR), await location_id(services, FAR)

    with pytest.raises(NodeClosed) as closed:
        async with services.store.write() as uow:
            await ensure_open(uow, [far, near])
    async with services.store.write() as uow:
        await ensure_open(uow, [far])  # an open node passes

    assert closed.value.code == "STORE_BUSY"
    assert (
        closed.value.message
        == f"{NEAR} was deactivated while this was being routed there: send the request again"
    )


MIDDLE = "DC-ONT"  # from Austin: farther than DC-DFW, nearer than DC-EWR


async def fulfilment_orders(services: Services, order_id: str) -> dict[str, tuple[str, str]]:
    """The order's fulfilment orders by node code: (id, status)."""
    async with services.store.read() as uow:
        fos = (await uow.orders.fulfillment_orders_by_order_ids([order_id])).get(order_id, [])
        codes = await uow.catalog.locations_by_ids([fo.location_id for fo in fos])
    return {codes[fo.location_id].code: (fo.id, fo.status.value) for fo in fos}


async def test_an_agents_route_order_routes_again_by_itself_when_its_node_closes_meanwhile(
    services: Services, sandboxes: Sandboxes, database: tuple[str, dict[str, Any]]
) -> None:
    """`routeOrder` moves the order's work to a nearer node that is being deactivated: rolled
    back, and routed once more among the nodes open then, where it already is (the agent's check
    kept on the record). Not STORE_BUSY, which would ask the agent to do what the gateway can."""
    await stock(services, sandboxes, {FAR: 5})
    order = await orders.place_order(services, STOREFRONT, an_order(2))
    assert await shipped_from(services, order.id) == [FAR]
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})
    await refresh_stock(services, [SKU])
    preview = await rerouting.route_order(services, AGENT, order.id, dry_run=True)
    assert preview.changed  # the nearer node is where it would go now

    outcome = await closed_meanwhile(
        database, NEAR, rerouting.route_order(services, AGENT, order.id, dry_run=False)
    )

    assert not outcome.changed
    assert await shipped_from(services, order.id) == [FAR]
    assert (await allocated(services)).get(NEAR, 0) == 0
    assert (await allocated(services))[FAR] == 2


async def test_a_released_hold_routes_again_by_itself_when_its_node_closes_meanwhile(
    services: Services, sandboxes: Sandboxes, database: tuple[str, dict[str, Any]]
) -> None:
    """An order held before it was routed (the fraud screen) is routed as its hold is released;
    the node it was routed to closes meanwhile: routed once more, elsewhere."""
    await stock(services, sandboxes, {NEAR: 3, FAR: 5})
    services.policy = dataclasses.replace(
        services.policy, fraud=FraudPolicy(blocklist=frozenset({"@example.com"}))
    )
    order = await orders.place_order(services, STOREFRONT, an_order(2))
    assert order.status is OrderStatus.ON_HOLD
    assert await shipped_from(services, order.id) == []

    released = await closed_meanwhile(
        database, NEAR, holds.release_order_hold(services, AGENT, ReleaseOrderHold(order.id))
    )

    assert released.status is OrderStatus.CONFIRMED
    assert await shipped_from(services, order.id) == [FAR]
    assert (await allocated(services)).get(NEAR, 0) == 0


async def test_a_rejection_routed_again_routes_once_more_when_its_node_closes_meanwhile(
    services: Services, sandboxes: Sandboxes, database: tuple[str, dict[str, Any]]
) -> None:
    """The node that rejects the work sends it to the next nearest, which closes meanwhile: the
    rejection is taken, and the work goes to the one after."""
    await stock(services, sandboxes, {NEAR: 3, MIDDLE: 5, FAR: 5})
    order = await orders.place_order(services, STOREFRONT, an_order(2))
    ((near_work, _),) = (await fulfilment_orders(services, order.id)).values()

    rejected = await closed_meanwhile(
        database,
        MIDDLE,
        fulfillment.move(services, AGENT, near_work, FulfillmentAction.REJECT, reason="no one to pick"),
    )

    assert rejected.status is FulfillmentOrderStatus.REJECTED
    work = await fulfilment_orders(services, order.id)
    assert {code: status for code, (_, status) in work.items()} == {NEAR: "REJECTED", FAR: "OPEN"}
    assert (await allocated(services)).get(MIDDLE, 0) == 0
    assert (await allocated(services)).get(NEAR, 0) == 0
