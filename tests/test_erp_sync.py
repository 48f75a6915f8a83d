"""Confirmed orders become ERP sales orders through the outbox: never lost, never doubled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.http import UpstreamPolicy
from ordergate.models.outbox import ERP_SALES_ORDER
from ordergate.usecases import erp_sync
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

pytestmark = pytest.mark.no_relay


async def place(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input(**overrides)}, token=a_token("agent")
    )
    order: dict[str, Any] = body["data"]["placeOrder"]["order"]
    return order


async def relay(services: Services) -> int:
    return await relay_once(services, outbox_handlers(services))


async def tasks(services: Services) -> list[Any]:
    async with services.store.read() as uow:
        return await uow.outbox.by_kind(ERP_SALES_ORDER)


async def test_a_confirmed_order_becomes_one_sales_order_per_location(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await place(client, lines=[a_line("MUG-BLUE", 2), a_line("KNIFE-CHEF-8", 1)])

    await relay(services)

    assert sandboxes.katana is not None
    [pushed] = sandboxes.katana.sales_orders_for(f"{order['number']}-DC-DFW")
    assert sorted(
        (row["variant_id"], float(row["quantity"])) for row in pushed["sales_order_rows"]
    ) == sorted(
        (sandboxes.katana.variant_for(sku).id, qty) for sku, qty in (("MUG-BLUE", 2.0), ("KNIFE-CHEF-8", 1.0))
    )
    [task] = await tasks(services)
    assert (task.done_at is not None, task.attempts, task.result) == (True, 1, str(pushed["id"]))


async def test_an_unreachable_erp_is_retried_later_and_nothing_is_lost(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await place(client)
    working = services.erp
    down = KatanaErp.create(
        "http://katana.down",
        "token",
        transport=httpx.MockTransport(lambda _: httpx.Response(503)),
        policy=UpstreamPolicy(name="katana-down", base_url="http://katana.down", attempts=1),
    )
    services.erp = down
    try:
        await relay(services)
    finally:
        services.erp = working
        await down.aclose()
    [failed] = await tasks(services)
    assert failed.done_at is None
    assert failed.attempts == 1
    assert failed.last_error
    assert 'ordergate_outbox_lane_failing{lane="erp"} 1.0' in (await client.get("/metrics")).text

    assert await relay(services) == 0  # not due yet: it backs off
    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(minutes=1)
    try:
        await relay(services)
    finally:
        services.clock = real_clock

    [done] = await tasks(services)
    assert done.done_at is not None
    assert sandboxes.katana is not None
    assert len(sandboxes.katana.sales_orders_for(f"{order['number']}-DC-DFW")) == 1
    assert 'ordergate_outbox_lane_failing{lane="erp"} 0.0' in (await client.get("/metrics")).text


async def test_pushing_again_never_makes_a_second_sales_order(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await place(client)
    await relay(services)
    async with services.store.write() as uow:
        [task] = await uow.outbox.by_kind(ERP_SALES_ORDER)
        task.done_at = None  # as if the relay died after the ERP answered, before settling
        task.available_at = services.clock()
        uow.session.add(task)

    await relay(services)

    assert sandboxes.katana is not None
    assert len(sandboxes.katana.sales_orders_for(f"{order['number']}-DC-DFW")) == 1


@pytest.fixture
def looked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The order ids the Katana connector looked for before pushing."""
    seen: list[str] = []
    find = KatanaErp._find_sales_order

    async def counted(self: KatanaErp, order_id: str) -> str | None:
        seen.append(order_id)
        return await find(self, order_id)

    monkeypatch.setattr(KatanaErp, "_find_sales_order", counted)
    return seen


async def test_a_first_push_does_not_look_and_one_after_a_lease_ran_out_looks_and_makes_no_second(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, looked: list[str]
) -> None:
    """Katana allows 60 requests a minute: a task's first lease creates the sales order without
    looking for it first. A task taken again after a relay died holding it (its lease ran out,
    no attempt counted) may have pushed already: that push looks first."""
    order = await place(client)
    key = f"{order['number']}-DC-DFW"
    async with services.store.write() as uow:  # a relay takes the task ...
        [task] = await uow.outbox.by_kind(ERP_SALES_ORDER)
        task.leases += 1
        uow.session.add(task)
    await erp_sync.push_sales_order(services, task)  # ... pushes it, and dies before settling
    assert looked == []
    assert isinstance(services.erp, KatanaErp)
    services.erp._pushed.clear()  # the gateway started again: it remembers no push

    await relay(services)  # the lease ran out (it was due at once): another relay takes it

    assert looked == [key]
    assert sandboxes.katana is not None
    assert len(sandboxes.katana.sales_orders_for(key)) == 1
    [settled] = await tasks(services)
    assert (settled.leases, settled.attempts, settled.done_at is not None) == (2, 1, True)


async def test_a_replayed_push_looks_first(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes, looked: list[str]
) -> None:
    order = await place(client)
    await relay(services)
    async with services.store.write() as uow:
        [task] = await uow.outbox.by_kind(ERP_SALES_ORDER)
        uow.outbox.requeue(task, services.clock())
    assert isinstance(services.erp, KatanaErp)
    services.erp._pushed.clear()

    await relay(services)

    key = f"{order['number']}-DC-DFW"
    assert looked == [key]
    assert sandboxes.katana is not None
    assert len(sandboxes.katana.sales_orders_for(key)) == 1
