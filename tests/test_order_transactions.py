"""How many write transactions placeOrder and the ERP's sales-order push take, and that the
fewer still keep what they kept: an order's number in its key's claim, an ERP reference in the
transaction that settles its push. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager

import httpx
import pytest
import sqlalchemy as sa

from ordergate.bootstrap import build_services
from ordergate.models.outbox import ERP_SALES_ORDER
from ordergate.settings import Settings
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services
from ordergate.workers.handlers import outbox_handlers
from ordergate.workers.relay import relay_once
from tests.builders import an_order_input
from tests.test_place_order import place


@contextmanager
def commits(services: Services) -> Iterator[list[str]]:
    """The store's write transactions opened while the block runs."""
    seen: list[str] = []
    store = services.store
    write = store.write

    def counted() -> AbstractAsyncContextManager[UnitOfWork]:
        seen.append("write")
        return write()

    store.write = counted  # type: ignore[method-assign, assignment]
    try:
        yield seen
    finally:
        del store.write


@pytest.mark.no_relay
async def test_an_order_with_a_key_is_placed_in_two_write_transactions(
    client: httpx.AsyncClient, services: Services
) -> None:
    await place(client, an_order_input())  # warm: the catalogue refreshed once
    with commits(services) as seen:
        first = await place(client, an_order_input())
    second = await place(client, an_order_input())
    repeat_input = an_order_input()
    repeated = await place(client, repeat_input)
    again = await place(client, repeat_input)
    after = await place(client, an_order_input())

    assert len(seen) == 2  # the key's claim with the order's number, then the order
    numbers = [int(p["order"]["number"].removeprefix("OG-")) for p in (first, second, repeated, again, after)]
    assert numbers[:3] == [numbers[0], numbers[0] + 1, numbers[0] + 2]
    assert numbers[3] == numbers[2]  # the repeat gets the first order, and takes no number
    assert numbers[4] == numbers[2] + 1


@pytest.mark.no_relay
async def test_a_sales_order_push_keeps_the_erp_reference_as_it_is_settled(
    client: httpx.AsyncClient, services: Services
) -> None:
    placed = await place(client, an_order_input(lines=[{"sku": "MUG-BLUE", "quantity": 1}]))
    handlers = {ERP_SALES_ORDER: outbox_handlers(services)[ERP_SALES_ORDER]}
    with commits(services) as seen:
        assert await relay_once(services, handlers) == 1

    assert len(seen) == 2  # the lease, then the settle with the reference
    async with services.store.read() as uow:
        rows = (
            await uow.session.execute(
                sa.text(
                    "SELECT r.key, r.erp_id, o.result FROM erp_sales_orders r"
                    " JOIN outbox o ON o.key = r.key AND o.kind = :kind WHERE r.order_id = :order"
                ),
                {"kind": ERP_SALES_ORDER, "order": placed["order"]["id"]},
            )
        ).all()
    assert len(rows) == 1
    _key, erp_id, result = rows[0]
    assert erp_id is not None
    assert result == erp_id


def test_a_gateway_process_holds_at_most_its_connections() -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test", "ORDERGATE_DATABASE_CONNECTIONS": "9"}
    )
    services = build_services(settings)
    engine = services.store.write_engine
    assert (engine.pool.size(), engine.pool._max_overflow) == (3, 6)  # type: ignore[attr-defined]
    assert Settings.from_env({}).database_connections == 30  # 10 kept + 20 under load, as before
