"""One ERP read per SKU at a time: a sale's first second, when every order in flight finds the
snapshot past its TTL, costs the ERP one stock read, not one per order (Katana allows 60 a
minute, shared with the sales orders the gateway pushes), and takes the positions' row locks
for a refresh once, not once per order. A read the ERP has since said is out of date is not
joined, and a request that goes away does not take the read with it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import build_services
from ordergate.broker.redis import RedisBroker
from ordergate.connectors.erp.base import StockLevel
from ordergate.connectors.errors import UpstreamUnavailable
from ordergate.settings import Settings
from ordergate.store import migrate
from ordergate.store.unit_of_work import Store
from ordergate.usecases.inventory import forget_stock, refresh_stock
from ordergate.usecases.services import Services
from tests.builders import a_line, an_order_input
from tests.contract import operation
from tests.graphql_client import execute
from tests.services import REDIS_URL, require_redis
from tests.test_backorders import ADDRESS, AGENT


class CountedReads:
    """The ERP connector's stock read, counted; the first `held` reads wait for `release`."""

    def __init__(self, services: Services, held: int = 0, fail: bool = False) -> None:
        assert services.erp is not None
        self.real = services.erp.stock_levels
        self.calls: list[list[str]] = []
        self.held = held
        self.fail = fail
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def __call__(self, skus: Sequence[str]) -> list[StockLevel]:
        self.calls.append(list(skus))
        self.started.set()
        if len(self.calls) <= self.held:
            await self.release.wait()
        if self.fail:
            raise UpstreamUnavailable("katana", "down for the test")
        return await self.real(skus)


@pytest.fixture
def reads(services: Services, monkeypatch: pytest.MonkeyPatch) -> CountedReads:
    counted = CountedReads(services)
    assert services.erp is not None
    monkeypatch.setattr(services.erp, "stock_levels", counted)
    services.freshness.stock_read_at.clear()  # every snapshot past its TTL
    return counted


async def under_way(services: Services, reads: CountedReads, *skus: str) -> asyncio.Future[set[str]]:
    """A refresh of `skus` whose ERP read has started and waits for `reads.release`."""
    reads.held = 1
    read = asyncio.ensure_future(refresh_stock(services, list(skus)))
    await reads.started.wait()
    return read


async def place(client: httpx.AsyncClient, *skus: str) -> dict[str, Any]:
    body = await execute(
        client,
        operation("PlaceOrder"),
        {"input": an_order_input(lines=[a_line(sku, 1) for sku in skus], shippingAddress=ADDRESS)},
        token=AGENT,
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["placeOrder"]
    return payload


async def test_orders_in_flight_when_the_snapshot_expires_share_one_erp_read(
    client: httpx.AsyncClient, services: Services, reads: CountedReads
) -> None:
    reads.held = 1  # the first read waits until every order has asked

    orders = [asyncio.ensure_future(place(client, "MUG-BLUE")) for _ in range(12)]
    await reads.started.wait()
    await asyncio.sleep(0.05)
    reads.release.set()
    placed = await asyncio.gather(*orders)

    assert [p["userErrors"] for p in placed] == [[]] * 12
    assert reads.calls == [["MUG-BLUE"]]
    assert "MUG-BLUE" in services.freshness.stock_read_at
    assert services.freshness.reading == {}


async def test_a_sku_not_being_read_is_read_while_another_one_is(
    services: Services, reads: CountedReads
) -> None:
    first = await under_way(services, reads, "MUG-BLUE")

    second = asyncio.ensure_future(refresh_stock(services, ["MUG-BLUE", "LAMP-DESK"]))
    await asyncio.sleep(0.05)
    reads.release.set()

    assert list(await asyncio.gather(first, second)) == [set(), set()]
    assert reads.calls == [["MUG-BLUE"], ["LAMP-DESK"]]


async def test_a_read_under_way_when_the_erp_says_the_sku_changed_is_not_joined_nor_trusted(
    services: Services, reads: CountedReads
) -> None:
    before = await under_way(services, reads, "MUG-BLUE")

    services.freshness.forget(["MUG-BLUE"])  # what the ERP's stock webhook and the pass do
    after = await refresh_stock(services, ["MUG-BLUE"])  # a read of its own, not the one under way
    read_at = services.freshness.stock_read_at["MUG-BLUE"]
    reads.release.set()
    await before

    assert after == set()
    assert reads.calls == [["MUG-BLUE"], ["MUG-BLUE"]]
    # the older read, done last, does not stamp the SKU with its own (earlier) time
    assert services.freshness.stock_read_at["MUG-BLUE"] == read_at


async def test_a_read_forgotten_while_under_way_leaves_the_sku_to_be_read_again(
    services: Services, reads: CountedReads
) -> None:
    before = await under_way(services, reads, "MUG-BLUE")

    services.freshness.forget(["MUG-BLUE"])
    reads.release.set()
    await before

    assert "MUG-BLUE" not in services.freshness.stock_read_at
    assert "MUG-BLUE" not in services.freshness.incoming_read_at


async def test_a_request_that_goes_away_does_not_cancel_the_read_others_wait_for(
    services: Services, reads: CountedReads
) -> None:
    gone = await under_way(services, reads, "MUG-BLUE")
    waiting = asyncio.ensure_future(refresh_stock(services, ["MUG-BLUE"]))
    await asyncio.sleep(0.05)

    gone.cancel()
    reads.release.set()

    assert await waiting == set()
    assert gone.cancelled()
    assert reads.calls == [["MUG-BLUE"]]
    assert "MUG-BLUE" in services.freshness.stock_read_at


async def test_a_failed_read_is_stale_for_everyone_who_waited_and_read_again_next_time(
    services: Services, reads: CountedReads
) -> None:
    reads.held, reads.fail = 1, True
    waiting = [asyncio.ensure_future(refresh_stock(services, ["MUG-BLUE"])) for _ in range(3)]
    await reads.started.wait()
    await asyncio.sleep(0.05)
    reads.release.set()

    assert await asyncio.gather(*waiting) == [{"MUG-BLUE"}] * 3
    assert len(reads.calls) == 1
    assert "MUG-BLUE" not in services.freshness.stock_read_at

    reads.fail = False
    assert await refresh_stock(services, ["MUG-BLUE"]) == set()
    assert len(reads.calls) == 2


# --- two replicas: one database, one Redis ------------------------------------------------------


@contextlib.asynccontextmanager
async def replicas(
    services: Services, settings: Settings, database: tuple[str, dict[str, Any]], url: str = REDIS_URL
) -> AsyncIterator[Services]:
    """`services` and another replica over its database, sharing reads through one Redis (their
    own channel, so tests beside this one do not meet) and one ERP connector (so one count)."""
    require_redis()
    channel = f"ordergate:test:{uuid.uuid4().hex}"
    other = build_services(
        dataclasses.replace(settings, outbox_relay=False), Store(database[0], connect_args=database[1])
    )
    other.erp = services.erp
    mine, theirs = RedisBroker(url, channel=channel), RedisBroker(url, channel=channel)
    services.broker, other.broker = mine, theirs
    try:
        yield other
    finally:
        await mine.stop()
        await theirs.stop()
        await other.aclose()


@pytest.fixture
async def other(
    services: Services, settings: Settings, database: tuple[str, dict[str, Any]]
) -> AsyncIterator[Services]:
    """Another replica of `services` (`replicas`)."""
    async with replicas(services, settings, database) as replica:
        yield replica


@pytest.mark.redis
async def test_a_replica_waits_for_the_read_another_one_has_under_way(
    services: Services, other: Services, reads: CountedReads
) -> None:
    here = await under_way(services, reads, "MUG-BLUE")
    there = asyncio.ensure_future(refresh_stock(other, ["MUG-BLUE"]))
    await asyncio.sleep(0.1)
    assert not there.done()  # waiting for the read under way on the first replica

    reads.release.set()

    assert list(await asyncio.gather(here, there)) == [set(), set()]
    assert reads.calls == [["MUG-BLUE"]]
    assert "MUG-BLUE" in other.freshness.stock_read_at


@pytest.mark.redis
async def test_a_sku_another_replica_read_within_its_ttl_is_not_read_again_and_expires_with_it(
    services: Services, other: Services, reads: CountedReads
) -> None:
    assert await refresh_stock(services, ["MUG-BLUE", "LAMP-DESK"]) == set()
    read_at = services.freshness.stock_read_at["MUG-BLUE"]

    assert await refresh_stock(other, ["MUG-BLUE", "LAMP-DESK", "KNIFE-CHEF-8"]) == set()

    assert reads.calls == [["LAMP-DESK", "MUG-BLUE"], ["KNIFE-CHEF-8"]]
    there = other.freshness.stock_read_at["MUG-BLUE"]
    assert read_at - timedelta(seconds=1) <= there <= read_at + timedelta(seconds=1)


@pytest.mark.redis
async def test_a_slow_read_is_fresh_on_the_other_replica_for_what_is_left_of_its_ttl(
    services: Services, other: Services, reads: CountedReads
) -> None:
    """A read that took seconds to answer and store (a slow ERP, a busy machine) is shared as
    fresh from when it was made, not for a whole TTL from when it was stored: the other
    replica's snapshot expires with this one's. (Seen under CI's load: the other replica's
    stamp came 1.07 s after the read's.)"""
    start, late = services.clock(), [timedelta(0)]
    services.clock = other.clock = lambda: start + late[0]
    answer = reads.real

    async def slow(skus: Sequence[str]) -> list[StockLevel]:
        late[0] += timedelta(seconds=5)
        return await answer(skus)

    reads.real = slow

    assert await refresh_stock(services, ["MUG-BLUE"]) == set()
    assert await refresh_stock(other, ["MUG-BLUE"]) == set()

    assert reads.calls == [["MUG-BLUE"]]
    assert services.freshness.stock_read_at["MUG-BLUE"] == start
    there = other.freshness.stock_read_at["MUG-BLUE"]
    # Redis counts what is left in real milliseconds, which pass meanwhile
    assert start - timedelta(seconds=0.5) <= there <= start, there - start


@pytest.mark.redis
async def test_a_read_that_fails_on_one_replica_is_stale_on_the_other_and_read_again_there(
    services: Services, other: Services, reads: CountedReads
) -> None:
    reads.fail = True
    here = await under_way(services, reads, "MUG-BLUE")
    there = asyncio.ensure_future(refresh_stock(other, ["MUG-BLUE"]))
    await asyncio.sleep(0.1)
    reads.release.set()

    assert list(await asyncio.gather(here, there)) == [{"MUG-BLUE"}, {"MUG-BLUE"}]
    assert len(reads.calls) == 1

    reads.fail = False
    assert await refresh_stock(other, ["MUG-BLUE"]) == set()
    assert len(reads.calls) == 2


@pytest.mark.redis
async def test_when_the_erp_says_a_sku_changed_no_replica_trusts_a_read_from_before(
    services: Services, other: Services, reads: CountedReads
) -> None:
    before = await under_way(services, reads, "MUG-BLUE")

    await forget_stock(other, ["MUG-BLUE"])  # the ERP's webhook, taken by the other replica
    reads.release.set()
    await before  # done after the change: not a read the other replica may take
    assert await refresh_stock(other, ["MUG-BLUE"]) == set()  # so it reads for itself

    assert reads.calls == [["MUG-BLUE"], ["MUG-BLUE"]]
    services.freshness.stock_read_at.clear()
    assert await refresh_stock(services, ["MUG-BLUE"]) == set()  # the other's read holds
    assert len(reads.calls) == 2
    await forget_stock(services, ["MUG-BLUE"])
    other.freshness.stock_read_at.clear()  # its own snapshot past the TTL: it asks Redis
    assert await refresh_stock(other, ["MUG-BLUE"]) == set()  # and no earlier read holds
    assert len(reads.calls) == 3


@pytest.mark.redis
async def test_with_redis_unreachable_each_replica_reads_for_itself(
    services: Services, settings: Settings, database: tuple[str, dict[str, Any]], reads: CountedReads
) -> None:
    async with replicas(services, settings, database, url="redis://127.0.0.1:1/0") as other:
        assert await refresh_stock(services, ["MUG-BLUE"]) == set()
        assert await refresh_stock(other, ["MUG-BLUE"]) == set()
        await forget_stock(services, ["MUG-BLUE"])

        assert reads.calls == [["MUG-BLUE"], ["MUG-BLUE"]]


@pytest.mark.redis
async def test_incoming_supply_another_replica_read_within_its_ttl_is_not_read_again(
    services: Services, other: Services, reads: CountedReads, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert services.erp is not None
    supply_reads: list[list[str]] = []
    real = services.erp.incoming_supply

    async def counted(skus: Sequence[str]) -> Any:
        supply_reads.append(list(skus))
        return await real(skus)

    monkeypatch.setattr(services.erp, "incoming_supply", counted)
    for replica in (services, other):  # stock goes stale within the test; supply in minutes
        replica.policy = dataclasses.replace(replica.policy, stock_ttl=timedelta(milliseconds=300))
        replica.freshness.incoming_read_at.clear()
    assert await refresh_stock(services, ["THROW-WOOL"]) == set()
    await asyncio.sleep(0.4)  # the first replica's stock read has lapsed everywhere

    assert await refresh_stock(other, ["THROW-WOOL"]) == set()

    assert reads.calls == [["THROW-WOOL"], ["THROW-WOOL"]]
    assert supply_reads == [["THROW-WOOL"]]
    assert "THROW-WOOL" in other.freshness.incoming_read_at


@pytest.mark.redis
async def test_deployments_that_share_a_redis_share_no_reads_across_their_databases(
    services: Services, tmp_path: Path
) -> None:
    require_redis()
    async with services.store.write() as uow:
        ours_id = await uow.events.database_id()
    async with services.store.write() as uow:
        assert await uow.events.database_id() == ours_id  # kept: every replica finds the same
    made_again = Store(f"sqlite+aiosqlite:///{tmp_path / 'again.db'}")  # another database
    await migrate.upgrade(made_again)
    async with made_again.write() as uow:
        theirs_id = await uow.events.database_id()
    await made_again.dispose()
    assert theirs_id != ours_id
    channel = f"ordergate:test:{uuid.uuid4().hex}"
    ours, same, theirs = (RedisBroker(REDIS_URL, channel=channel) for _ in range(3))
    ours.keep_reads_for(str(ours_id))
    same.keep_reads_for(str(ours_id))
    theirs.keep_reads_for(str(theirs_id))
    try:
        assert await ours.claim_reads(["MUG-BLUE"], "ours", 2.0) == {}
        await ours.reads_settled("ours", {"MUG-BLUE": 15.0}, {})

        assert await theirs.claim_reads(["MUG-BLUE"], "theirs", 2.0) == {}  # a database of its own
        held = await same.claim_reads(["MUG-BLUE"], "same", 2.0)  # another replica of ours
        assert set(held) == {"MUG-BLUE"}
        assert not held["MUG-BLUE"].reading
        assert 14.0 < held["MUG-BLUE"].fresh_for <= 15.0
    finally:
        await ours.forget_reads(["MUG-BLUE"])
        await theirs.forget_reads(["MUG-BLUE"])
        for broker in (ours, same, theirs):
            await broker.stop()
