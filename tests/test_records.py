"""Records a read unit of work builds from rows are the records the ORM would load."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
from sqlalchemy import inspect

from ordergate.models.criteria import OrderCriteria
from ordergate.models.order import Order
from ordergate.models.scope import OrderScope
from ordergate.usecases.services import Services
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

ADMIN = a_token("admin")


def fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


async def test_a_read_builds_the_records_a_write_session_loads(
    client: httpx.AsyncClient, services: Services
) -> None:
    await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=ADMIN)
    async with services.store.write() as uow:
        [loaded] = (await uow.orders.page(everything(), criteria(), 5, None))[0]
        loaded_lines = (await uow.orders.lines_by_order_ids([loaded.id]))[loaded.id]
        loaded_fields = fields(loaded)
        loaded_line_fields = [fields(line) for line in loaded_lines]
        loaded_customer = fields((await uow.customers.by_ids([loaded.customer_id]))[loaded.customer_id])

    async with services.store.read() as uow:
        [read] = (await uow.orders.page(everything(), criteria(), 5, None))[0]
        read_lines = (await uow.orders.lines_by_order_ids([read.id]))[read.id]
        read_customer = fields((await uow.customers.by_ids([read.customer_id]))[read.customer_id])

    assert fields(read) == loaded_fields
    assert read.shipping_address is not None
    assert read.shipping_address == loaded_fields["shipping_address"]
    assert [fields(line) for line in read_lines] == loaded_line_fields
    assert read_customer == loaded_customer
    assert inspect(read).detached
    assert inspect(read).identity == (read.id,)


async def test_a_record_read_is_kept_as_a_known_row_when_a_write_saves_it(
    client: httpx.AsyncClient, services: Services
) -> None:
    await execute(client, operation("PlaceOrder"), {"input": an_order_input()}, token=ADMIN)
    async with services.store.read() as uow:
        [read] = (await uow.orders.page(everything(), criteria(), 5, None))[0]

    async with services.store.write() as uow:
        read.channel = "phone"
        uow.save(read)

    async with services.store.read() as uow:
        [again] = (await uow.orders.page(everything(), criteria(), 5, None))[0]
        total = await uow.orders.count(everything(), criteria())
    assert total == 1
    assert isinstance(again, Order)
    assert again.channel == "phone"


def everything() -> OrderScope:
    return OrderScope(everything=True)


def criteria() -> OrderCriteria:
    return OrderCriteria()
