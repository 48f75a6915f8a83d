"""The write path's statements built once per process do what the statements they replace did,
on SQLite and PostgreSQL: a task settled done in one UPDATE, a follower's position read with the
log's head, order counts per node since each node's own start of day, a conditional allocation
that refuses what is not there, and the same statement object serving every call."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from ordergate.models.allocation import PlanLine
from ordergate.models.inventory import LedgerKind
from ordergate.models.outbox import OutboxTask
from ordergate.store import inventory, orders, tables
from ordergate.store.inventory import NotEnoughStock
from ordergate.usecases.orders import EVERYTHING
from ordergate.usecases.services import Services
from ordergate.workers.relay import settle
from tests.builders import a_line, a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.test_limits import counting_statements

ADMIN = a_token("admin")


def a_task(services: Services, key: str) -> OutboxTask:
    now = services.clock()
    return OutboxTask(kind="test.kind", key=key, payload={}, created_at=now, available_at=now)


async def place(client: httpx.AsyncClient, email: str) -> dict[str, object]:
    order = an_order_input(customer={"email": email, "firstName": "Ann"}, lines=[a_line("MUG-BLUE", 1)])
    body = await execute(client, operation("PlaceOrder"), {"input": order}, token=ADMIN)
    payload = body["data"]["placeOrder"]
    assert payload["userErrors"] == [], payload
    placed: dict[str, object] = payload["order"]
    return placed


@pytest.mark.no_relay
async def test_a_task_settled_done_keeps_its_result_counts_the_attempt_and_forgets_the_last_error(
    services: Services,
) -> None:
    task = a_task(services, "done-1")
    task.attempts, task.last_error = 2, "TimeoutError: once"
    async with services.store.write() as uow:
        uow.outbox.add(task)

    await settle(services, task.id, result="erp 42")

    async with services.store.read() as uow:
        settled = await uow.outbox.by_id(task.id)
    assert settled is not None
    assert (settled.attempts, settled.result, settled.last_error) == (3, "erp 42", None)
    assert settled.done_at is not None


@pytest.mark.no_relay
async def test_a_task_that_failed_waits_with_its_error_and_is_not_done(services: Services) -> None:
    task = a_task(services, "failed-1")
    async with services.store.write() as uow:
        uow.outbox.add(task)

    await settle(services, task.id, error="UpstreamUnavailable: katana")

    async with services.store.read() as uow:
        settled = await uow.outbox.by_id(task.id)
    assert settled is not None
    assert (settled.attempts, settled.done_at, settled.last_error) == (1, None, "UpstreamUnavailable: katana")
    assert settled.available_at > task.available_at


@pytest.mark.no_relay
async def test_a_follower_reads_its_position_and_the_head_of_the_log_together(
    services: Services, client: httpx.AsyncClient
) -> None:
    async with services.store.read() as uow:
        before = await uow.positions.with_head("test_follower")
    await place(client, "head@example.com")
    async with services.store.write() as uow:
        claimed = await uow.positions.claim("test_follower")
        await uow.positions.advance("test_follower", claimed - 1)
    async with services.store.read() as uow:
        after = await uow.positions.with_head("test_follower")
        head = await uow.events.head()

    assert before[0] is None  # never claimed
    assert after == (head - 1, head)
    assert head > before[1]


@pytest.mark.no_relay
async def test_capacity_used_counts_each_node_from_its_own_day(
    services: Services, client: httpx.AsyncClient
) -> None:
    await place(client, "cap-1@example.com")
    await place(client, "cap-2@example.com")
    async with services.store.read() as uow:
        rows = (
            await uow.session.execute(
                sa.select(tables.fulfillment_orders.c.location_id, tables.fulfillment_orders.c.starts_on)
            )
        ).all()
        [(node, today)] = set(rows)
        others = [loc.id for loc in await uow.catalog.locations() if loc.id != node]
        day = timedelta(days=1)
        from_yesterday = await uow.orders.capacity_used({node: today - day, others[0]: today})
        from_today = await uow.orders.capacity_used({node: today})
        from_tomorrow = await uow.orders.capacity_used({others[0]: today, node: today + day})

    assert from_yesterday == from_today == {node: 2}
    assert from_tomorrow == {}
    assert orders._capacity_used(2) is orders._capacity_used(2)  # built once per number of nodes


@pytest.mark.no_relay
async def test_the_conditional_allocation_takes_what_is_there_and_refuses_the_rest(
    services: Services, client: httpx.AsyncClient
) -> None:
    placed = await place(client, "alloc@example.com")
    async with services.store.read() as uow:
        [position] = [p for p in await uow.inventory.positions(["MUG-BLUE"]) if p.allocated > 0]
    free = position.on_hand - position.allocated
    now = services.clock()
    line = PlanLine(sku="MUG-BLUE", location_id=position.location_id, quantity=free)
    too_many = PlanLine(sku="MUG-BLUE", location_id=position.location_id, quantity=free + 1)

    with pytest.raises(NotEnoughStock):
        async with services.store.write() as uow:
            await uow.inventory.allocate(
                [too_many], held={}, unavailable={}, order_id=str(placed["id"]), actor="test", now=now
            )
    key = (line.sku, line.location_id)
    with pytest.raises(NotEnoughStock):  # what is held counts against it
        async with services.store.write() as uow:
            await uow.inventory.allocate(
                [line], held={key: 1}, unavailable={}, order_id=str(placed["id"]), actor="test", now=now
            )
    async with services.store.write() as uow:
        await uow.inventory.allocate(
            [line], held={}, unavailable={}, order_id=str(placed["id"]), actor="test", now=now
        )
    async with services.store.read() as uow:
        [after] = [
            p for p in await uow.inventory.positions(["MUG-BLUE"]) if p.location_id == position.location_id
        ]

    assert after.allocated == after.on_hand
    assert inventory._positions_of_skus() is inventory._positions_of_skus()
    assert inventory._stock_at(by_keys=True, held=True) is inventory._stock_at(by_keys=True, held=True)


async def test_an_allocation_and_a_release_of_several_lines_write_their_ledger_in_one_insert(
    services: Services, client: httpx.AsyncClient
) -> None:
    placed = await place(client, "ledger@example.com")
    async with services.store.read() as uow:
        free = [
            p for p in await uow.inventory.positions(["MUG-BLUE", "MUG-WHITE"]) if p.on_hand - p.allocated > 2
        ]
    lines = [PlanLine(sku=p.sku, location_id=p.location_id, quantity=1) for p in free[:3]]
    assert len(lines) == 3
    now = services.clock()

    with counting_statements(services) as statements:
        async with services.store.write() as uow:
            await uow.inventory.allocate(
                lines, held={}, unavailable={}, order_id=str(placed["id"]), actor="test", now=now
            )
        async with services.store.write() as uow:
            await uow.inventory.settle(
                lines, LedgerKind.RELEASE, order_id=str(placed["id"]), actor="test", now=now
            )

    ledger = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO INVENTORY_LEDGER")]
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE INVENTORY_POSITIONS")]
    assert (len(ledger), len(updates)) == (2, 6)  # one insert for each call's three lines
    async with services.store.read() as uow:
        entries = await uow.session.execute(
            sa.select(tables.inventory_ledger.c.kind).where(
                tables.inventory_ledger.c.order_id == str(placed["id"]),
                tables.inventory_ledger.c.actor == "test",
            )
        )
    assert sorted(str(k) for k in entries.scalars()) == sorted(["ALLOCATE"] * 3 + ["RELEASE"] * 3)


async def test_a_placed_order_s_row_is_written_once_and_confirmed_once(
    services: Services, client: httpx.AsyncClient
) -> None:
    """Its first event's number and its promised day go in with the INSERT; only its
    confirmation (status and the second event) is an UPDATE."""
    with counting_statements(services) as statements:
        placed = await place(client, "one.write@example.com")
    writes = [
        s.split("(")[0].split(" WHERE")[0] for s in statements if " orders " in f" {s} " or "orders (" in s
    ]
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO ORDERS ")]
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE ORDERS ")]
    assert len(inserts) == 1, writes
    assert len(updates) == 1, writes
    assert "promised_on" not in updates[0]
    async with services.store.read() as uow:
        [order] = (await uow.orders.by_ids([str(placed["id"])], EVERYTHING)).values()
    assert order.promised_on is not None
    assert order.event_seq >= 2  # placed, then confirmed
