"""Cancelled or re-routed units leave the ERP's sales orders through the outbox: amended after
the push they amend, whatever order the relay meets them in, and never lost while Katana is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.http import UpstreamPolicy
from ordergate.models.outbox import ERP_SALES_ORDER, ERP_SALES_ORDER_AMEND, OutboxTask
from ordergate.sandbox.katana import KatanaSandbox
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import a_line
from tests.test_cancel import ANN, cancel, detail, placed
from tests.test_erp_closed_sales_orders import answers_lost
from tests.test_fulfillment import DALLAS, place, step
from tests.test_route_order import close, route

pytestmark = pytest.mark.no_relay


async def relay(services: Services) -> int:
    return await relay_once(services, outbox_handlers(services))


async def tasks(services: Services, kind: str) -> list[OutboxTask]:
    async with services.store.read() as uow:
        return await uow.outbox.by_kind(kind)


def katana(sandboxes: Sandboxes) -> KatanaSandbox:
    assert sandboxes.katana is not None
    return sandboxes.katana


def rows(sandbox: KatanaSandbox, key: str) -> list[tuple[str, Any]]:
    [order] = sandbox.sales_orders_for(key)
    sku_of = {variant.id: variant.sku for variant in sandbox.variants.values()}
    return sorted((sku_of[row["variant_id"]], row["quantity"]) for row in order["sales_order_rows"])


@asynccontextmanager
async def katana_down(services: Services) -> AsyncIterator[None]:
    working = services.erp
    down = KatanaErp.create(
        "http://katana.down",
        "token",
        transport=httpx.MockTransport(lambda _: httpx.Response(503)),
        policy=UpstreamPolicy(name="katana-down", base_url="http://katana.down", attempts=1),
    )
    services.erp = down
    try:
        yield
    finally:
        services.erp = working
        await down.aclose()


async def relay_later(services: Services, minutes: int) -> None:
    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(minutes=minutes)
    try:
        await relay(services)
    finally:
        services.clock = real_clock


async def test_a_whole_cancel_deletes_the_sales_order_in_katana(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await placed(client)
    await relay(services)
    key = f"{order['number']}-DC-DFW"
    [pushed] = katana(sandboxes).sales_orders_for(key)

    assert (await cancel(client, ANN, orderId=order["id"]))["userErrors"] == []
    await relay(services)

    assert katana(sandboxes).sales_orders_for(key) == []
    [deleted] = katana(sandboxes).sales_orders_for(key, include_deleted=True)
    assert (deleted["id"], deleted["deleted_at"] is not None) == (pushed["id"], True)
    [amended] = await tasks(services, ERP_SALES_ORDER_AMEND)
    assert (amended.done_at is not None, amended.result) == (True, f"deleted {pushed['id']}")
    async with services.store.read() as uow:
        ref = await uow.erp.sales_order(key)
    assert ref is not None
    assert ref.erp_id is None


async def test_a_partial_cancel_reduces_the_row_and_leaves_the_rest(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await placed(client, lines=[a_line("MUG-BLUE", 3), a_line("KNIFE-CHEF-8", 1)])
    await relay(services)
    key = f"{order['number']}-DC-DFW"
    lines = {line["sku"]: line["id"] for line in (await detail(client, order["id"]))["lines"]}

    payload = await cancel(
        client,
        ANN,
        orderId=order["id"],
        lines=[
            {"lineId": lines["MUG-BLUE"], "quantity": 2},
            {"lineId": lines["KNIFE-CHEF-8"], "quantity": 1},
        ],
    )
    await relay(services)

    assert payload["userErrors"] == []
    assert rows(katana(sandboxes), key) == [("MUG-BLUE", 1)]


async def test_an_amendment_retried_changes_nothing_more(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await placed(client, lines=[a_line("MUG-BLUE", 3)])
    await relay(services)
    key = f"{order['number']}-DC-DFW"
    mug = (await detail(client, order["id"]))["lines"][0]["id"]
    await cancel(client, ANN, orderId=order["id"], lines=[{"lineId": mug, "quantity": 1}])
    await relay(services)
    before = [dict(o) for o in katana(sandboxes).sales_orders_for(key)]
    async with services.store.write() as uow:
        [task] = await uow.outbox.by_kind(ERP_SALES_ORDER_AMEND)
        task.done_at = None  # as if the relay died after Katana answered, before settling
        task.available_at = services.clock()
        uow.session.add(task)

    await relay(services)

    assert rows(katana(sandboxes), key) == [("MUG-BLUE", 2)]
    assert katana(sandboxes).sales_orders_for(key) == before
    [again] = await tasks(services, ERP_SALES_ORDER_AMEND)
    assert (again.done_at is not None, again.attempts) == (True, 2)


async def test_an_amendment_due_before_its_push_waits_for_it_and_nothing_is_lost(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await placed(client, lines=[a_line("MUG-BLUE", 3), a_line("KNIFE-CHEF-8", 1)])
    key = f"{order['number']}-DC-DFW"
    async with katana_down(services):
        await relay(services)  # the push fails and backs off
    lines = {line["sku"]: line["id"] for line in (await detail(client, order["id"]))["lines"]}
    await cancel(client, ANN, orderId=order["id"], lines=[{"lineId": lines["KNIFE-CHEF-8"], "quantity": 1}])

    await relay(services)  # only the amendment is due: it must not run ahead of the push
    [waiting] = await tasks(services, ERP_SALES_ORDER_AMEND)
    assert waiting.done_at is None
    assert "not pushed yet" in (waiting.last_error or "")
    assert katana(sandboxes).sales_orders_for(key) == []

    await relay_later(services, 1)  # the push (now due) ...
    await relay_later(services, 5)  # ... then the amendment

    assert rows(katana(sandboxes), key) == [("MUG-BLUE", 3)]
    assert all(task.done_at is not None for task in await tasks(services, ERP_SALES_ORDER))
    assert all(task.done_at is not None for task in await tasks(services, ERP_SALES_ORDER_AMEND))


async def test_a_push_whose_answer_was_lost_then_cancelled_whole_leaves_no_sales_order_at_katana(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    sandbox = katana(sandboxes)
    order = await placed(client, lines=[a_line("MUG-BLUE", 2)])
    key = f"{order['number']}-DC-DFW"
    async with answers_lost(services, sandbox, "POST /sales_orders"):
        await relay(services)  # Katana made it; we never heard, and retry later
    [made] = sandbox.sales_orders_for(key)
    assert (await cancel(client, ANN, orderId=order["id"]))["userErrors"] == []

    await relay_later(services, 5)  # the push again, with nothing left to push; its amendment
    await relay_later(services, 10)

    assert sandbox.sales_orders_for(key) == []  # not left showing 2 mugs to deliver
    [deleted] = sandbox.sales_orders_for(key, include_deleted=True)
    assert deleted["id"] == made["id"]
    [push] = await tasks(services, ERP_SALES_ORDER)
    assert push.done_at is not None
    assert push.result == f"nothing left to push: deleted {made['id']}, made by an earlier try"
    assert all(task.done_at is not None for task in await tasks(services, ERP_SALES_ORDER_AMEND))


async def test_katana_down_during_an_amendment_retries_it_later(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await placed(client)
    await relay(services)
    key = f"{order['number']}-DC-DFW"
    await cancel(client, ANN, orderId=order["id"])

    async with katana_down(services):
        await relay(services)
    [failed] = await tasks(services, ERP_SALES_ORDER_AMEND)
    assert (failed.done_at, failed.attempts) == (None, 1)
    assert failed.last_error
    assert len(katana(sandboxes).sales_orders_for(key)) == 1

    assert await relay(services) == 0  # not due yet: it backs off
    await relay_later(services, 1)

    assert katana(sandboxes).sales_orders_for(key) == []
    [done] = await tasks(services, ERP_SALES_ORDER_AMEND)
    assert done.done_at is not None


async def test_a_whole_cancel_before_the_push_pushes_nothing(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await placed(client)
    await cancel(client, ANN, orderId=order["id"])

    await relay(services)
    await relay_later(services, 1)

    key = f"{order['number']}-DC-DFW"
    assert katana(sandboxes).sales_orders_for(key, include_deleted=True) == []
    [push] = await tasks(services, ERP_SALES_ORDER)
    [amendment] = await tasks(services, ERP_SALES_ORDER_AMEND)
    assert (push.result, amendment.result) == ("nothing left to push", "nothing to amend")


async def test_a_reroute_deletes_the_old_node_s_sales_order_and_the_new_node_gets_one(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await placed(client, lines=[a_line("MUG-BLUE", 2)])
    await relay(services)
    old_key = f"{order['number']}-DC-DFW"
    assert rows(katana(sandboxes), old_key) == [("MUG-BLUE", 2)]
    await close(services, "DC-DFW")

    moved = await route(client, order["id"], dry_run=False)
    await relay(services)

    assert moved["changed"] is True
    [new_home] = moved["decision"]["chosen"]
    assert katana(sandboxes).sales_orders_for(old_key) == []
    assert rows(katana(sandboxes), f"{order['number']}-{new_home}") == [("MUG-BLUE", 2)]
    [amendment] = await tasks(services, ERP_SALES_ORDER_AMEND)
    assert amendment.payload["sales_order"] == old_key
    assert amendment.done_at is not None


async def test_a_node_s_rejection_deletes_its_sales_order_and_the_next_node_gets_one(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order = await place(client, lines=[a_line("KETTLE-STEEL", 1)])
    await relay(services)
    old_key = f"{order['number']}-DC-DFW"
    assert rows(katana(sandboxes), old_key) == [("KETTLE-STEEL", 1)]

    await step(client, "Reject", DALLAS, id=order["fulfillmentOrders"][0]["id"], reason="shelf is empty")
    await relay(services)

    assert katana(sandboxes).sales_orders_for(old_key) == []
    pushed = [t.key for t in await tasks(services, ERP_SALES_ORDER) if t.key != old_key]
    assert len(pushed) == 1
    assert rows(katana(sandboxes), pushed[0]) == [("KETTLE-STEEL", 1)]
