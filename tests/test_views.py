"""The per-process read views (`usecases.views`): what they keep, when they let go of it, and
that no figure they serve is older than the README's bound: a change committed here is seen by
the next answer, a change committed by another replica as soon as Redis carries the news, and
nothing kept is served after `max_age` whatever the broker does."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import event

from ordergate.bootstrap import build_services
from ordergate.broker.redis import RedisBroker
from ordergate.models.commands import LineRequest, ReserveInventory
from ordergate.models.identity import Principal, Role
from ordergate.settings import Settings
from ordergate.store.unit_of_work import Store
from ordergate.usecases import catalog, inventory, reservations
from ordergate.usecases.inventory import Destination
from ordergate.usecases.services import Services
from ordergate.usecases.views import ReadViews
from tests.services import REDIS_URL, require_redis

STOREFRONT = Principal("storefront", Role.STOREFRONT)
AUSTIN = Destination("US", "78701")
SKU = "MUG-BLUE"


@contextmanager
def statements(services: Services) -> Iterator[list[str]]:
    """SQL sent on either engine while the block runs."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engines = {services.store.read_engine.sync_engine, services.store.write_engine.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def ats(services: Services, sku: str = SKU) -> int:
    [answer] = await inventory.availability(services, STOREFRONT, [sku], AUSTIN)
    return answer.available


async def hold(services: Services, quantity: int, sku: str = SKU) -> str:
    held = await reservations.reserve_inventory(
        services,
        STOREFRONT,
        ReserveInventory(idempotency_key=uuid4().hex, lines=(LineRequest(sku, quantity),), ttl_seconds=600),
    )
    return held.reservation.id


async def test_a_warm_catalogue_page_and_availability_answer_without_the_store(services: Services) -> None:
    await catalog.products(services, STOREFRONT, 5, None)
    await ats(services)
    with statements(services) as sent:
        page = await catalog.products(services, STOREFRONT, 5, None)
        again = await ats(services)
    assert sent == []
    assert len(page.items) == 5
    assert again > 0


async def test_a_hold_committed_here_is_in_the_very_next_answer(services: Services) -> None:
    before = await ats(services)
    hold_id = await hold(services, 2)
    assert await ats(services) == before - 2
    await reservations.release_inventory_hold(services, STOREFRONT, hold_id)
    assert await ats(services) == before


async def test_a_held_unit_counts_until_its_hold_expires_with_nothing_announced(services: Services) -> None:
    start = datetime.now(UTC)
    services.clock = lambda: start
    before = await ats(services)
    await hold(services, 1)
    assert await ats(services) == before - 1
    services.clock = lambda: start + timedelta(minutes=11)  # past the hold's ten minutes
    services.freshness.stock_read_at.clear()  # and no ERP re-read needed to see it: nothing is written
    services.erp = None
    with statements(services) as sent:
        assert await ats(services) == before
    assert sent == []  # answered from the view, the expiry applied at answer time


@pytest.mark.warmed  # the view is of stock already read
async def test_a_read_overtaken_by_a_change_is_answered_but_not_kept(services: Services) -> None:
    views = services.views
    real = services.store

    class Racing:
        """The store, with another replica's change announced while a read is under way."""

        @asynccontextmanager
        async def read(self) -> AsyncIterator[Any]:
            async with real.read() as uow:
                yield uow
                views.changed([SKU], catalog=False)

    now = datetime.now(UTC)
    first = await views.stock(Racing(), [SKU], now)  # type: ignore[arg-type]
    assert first.positions  # answered
    with statements(services) as sent:
        await views.stock(real, [SKU], now)
    assert sent, "the overtaken read was kept and served"


async def test_nothing_is_served_from_a_view_older_than_its_maximum_age(services: Services) -> None:
    ticks = [0.0]
    services.views = ReadViews(max_age=1.0, timer=lambda: ticks[0])
    await ats(services)
    with statements(services) as sent:
        ticks[0] = 0.99
        await ats(services)
    assert sent == []
    with statements(services) as sent:
        ticks[0] = 1.0
        await ats(services)
    assert sent


async def test_views_turned_off_read_the_store_for_every_answer(services: Services) -> None:
    services.views = ReadViews(max_age=0)
    await ats(services)
    with statements(services) as sent:
        await ats(services)
        await catalog.products(services, STOREFRONT, 5, None)
    assert len(sent) >= 3


async def test_a_client_asking_for_many_skus_cannot_grow_the_view_past_its_cap(services: Services) -> None:
    services.views = ReadViews(max_skus=3)
    skus = [f"NOPE-{n}" for n in range(10)]
    answers = await inventory.availability(services, STOREFRONT, [SKU, *skus])
    assert [a.available for a in answers[1:]] == [0] * 10
    assert len(services.views._stock) <= 3


# --- two replicas: one database, one Redis ------------------------------------------------


@asynccontextmanager
async def replica(
    settings: Settings, database: tuple[str, dict[str, Any]], channel: str
) -> AsyncIterator[Services]:
    services = build_services(
        dataclasses.replace(settings, outbox_relay=False), Store(database[0], connect_args=database[1])
    )
    broker = RedisBroker(REDIS_URL, channel=channel, reconnect_seconds=0.2)
    services.broker = broker
    broker.on_change(services.views.changed, services.views.drop_all)
    await broker.start()
    await broker.wait_subscribed()
    try:
        yield services
    finally:
        await broker.stop()
        await services.aclose()


async def eventually(check: Any, what: str) -> None:
    """Wait for the broker's message (a wait, not a timing claim: the deadline only ends a hang)."""
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.mark.redis
async def test_a_change_on_one_replica_is_dropped_from_the_others_view_when_redis_says_so(
    services: Services, settings: Settings, database: tuple[str, dict[str, Any]]
) -> None:
    """`services` has seeded the database the two replicas share."""
    require_redis()
    channel = f"ordergate-test-{uuid4().hex}"
    async with replica(settings, database, channel) as a, replica(settings, database, channel) as b:
        b.views.max_age = 3600  # only the announcement can make B read again
        before = await ats(b)
        assert SKU in b.views._stock
        await hold(a, 3)
        await eventually(lambda: SKU not in b.views._stock, "B dropped the SKU A changed")
        assert await ats(b) == before - 3

        await catalog.products(b, STOREFRONT, 5, None)
        async with a.store.write() as uow:
            [product] = (await uow.catalog.products_by_skus([SKU])).values()
            product.name = "Blue mug, renamed"
            uow.save(product)
        await eventually(lambda: not b.views._pages, "B dropped its catalogue pages")
        page = await catalog.products(b, STOREFRONT, 250, None)
        assert "Blue mug, renamed" in [p.name for p in page.items]


@pytest.mark.redis
async def test_a_replica_whose_subscription_restarts_forgets_everything_it_kept(
    settings: Settings, database: tuple[str, dict[str, Any]]
) -> None:
    require_redis()
    channel = f"ordergate-test-{uuid4().hex}"
    async with replica(settings, database, channel) as b:
        await ats(b)
        assert b.views._stock
        broker = b.broker
        assert isinstance(broker, RedisBroker)
        await broker.stop()  # as a lost connection would: messages may be missed meanwhile
        await broker.start()
        await broker.wait_subscribed()
        await eventually(lambda: not b.views._stock, "B forgot its view on resubscribing")
