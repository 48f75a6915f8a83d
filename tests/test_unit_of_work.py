"""The unit of work keeps its promises: after a write transaction commits, the store itself says
what it promised (events to publish, outbox work now due), so that the relay wakes and
subscribers hear at once, and no use case does it by hand."""

from __future__ import annotations

import ast
import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from ordergate.models.outbox import PAYMENT_CAPTURE, OutboxTask
from ordergate.store.unit_of_work import Committed
from ordergate.usecases.services import Services
from tests.builders import a_token, an_order_input
from tests.contract import operation
from tests.graphql_client import execute

ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Committed] = []

    async def __call__(self, committed: Committed) -> None:
        self.seen.append(committed)


def a_task(services: Services, key: str, kind: str = "test.kind") -> OutboxTask:
    now = services.clock()
    return OutboxTask(kind=kind, key=key, payload={}, created_at=now, available_at=now + timedelta(days=1))


async def test_a_commit_that_queued_work_wakes_the_relay(services: Services) -> None:
    payments, erp = services.wakeups.lane("payments"), services.wakeups.lane("erp")
    payments.clear()
    erp.clear()

    async with services.store.write() as uow:
        uow.outbox.add(a_task(services, "wake-1", PAYMENT_CAPTURE))
        assert not payments.is_set()  # not before the commit

    assert payments.is_set()
    assert not erp.is_set()  # only the lane that has work


async def test_the_store_says_what_each_commit_promised_and_nothing_else(services: Services) -> None:
    recorder = Recorder()
    services.store.after_commit = recorder

    async with services.store.write() as uow:
        pass  # nothing promised
    async with services.store.read() as uow:
        await uow.outbox.backlog(services.clock())
    async with services.store.write() as uow:
        await uow.outbox.add_once(a_task(services, "once-1"))
    async with services.store.write() as uow:
        await uow.outbox.add_once(a_task(services, "once-1"))  # already there: nothing new

    assert recorder.seen == [Committed(events=0, queued=frozenset({"test.kind"}))]


async def test_a_transaction_that_fails_promises_nothing(services: Services) -> None:
    recorder = Recorder()
    services.store.after_commit = recorder

    async def failing_use_case() -> None:
        async with services.store.write() as uow:
            uow.outbox.add(a_task(services, "rolled-back"))
            raise RuntimeError("the use case failed after queueing")

    with pytest.raises(RuntimeError):
        await failing_use_case()

    assert recorder.seen == []


async def test_a_unit_cancelled_while_it_returns_its_connection_ends_whole_and_logs_nothing(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway stopping cancels its workers wherever they are. A cancel that landed while a
    committed unit's connection was being reset for the pool (SQLite: a ROLLBACK in aiosqlite's
    thread) made SQLAlchemy log "Exception during reset or similar" with a traceback; seen in a
    gateway's log at shutdown, about one stop in eight. Here the cancel is sent from inside the
    reset itself. (On PostgreSQL asyncpg's reset after a commit does not wait, so there the test
    is a guard.)"""
    pool = services.store.write_engine.sync_engine.pool
    assert isinstance(pool, QueuePool)  # AsyncAdaptedQueuePool, on both backends
    unit: list[asyncio.Task[None]] = []

    def cancel_the_unit(*_: object) -> None:
        if unit:
            unit.pop().cancel()

    async def a_write() -> None:
        task = asyncio.current_task()
        assert task is not None
        unit.append(task)
        async with services.store.write() as uow:
            uow.outbox.add(a_task(services, "cancelled-as-it-ends"))

    sa.event.listen(pool, "reset", cancel_the_unit)
    try:
        with caplog.at_level(logging.WARNING, logger="sqlalchemy"), pytest.raises(asyncio.CancelledError):
            await asyncio.create_task(a_write())
    finally:
        sa.event.remove(pool, "reset", cancel_the_unit)

    assert not unit  # the cancel was sent
    assert [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy")] == []
    assert pool.checkedout() == 0  # the connection is back in the pool
    async with services.store.read() as uow:  # committed: the cancel came after COMMIT
        assert await uow.outbox.by_key("test.kind", "cancelled-as-it-ends") is not None


@pytest.mark.no_relay
async def test_an_order_placed_publishes_its_events_and_wakes_the_relay_once_committed(
    services: Services, client: httpx.AsyncClient
) -> None:
    recorder = Recorder()
    services.store.after_commit = recorder

    body = await execute(
        client, operation("PlaceOrder"), {"input": an_order_input()}, token=a_token("storefront")
    )

    assert body["data"]["placeOrder"]["userErrors"] == []
    placed = [c for c in recorder.seen if c.events]
    assert placed, recorder.seen
    assert any(c.queued for c in placed)  # the ERP's sales orders, promised with it


def calls_in(path: Path, attribute: str) -> list[int]:
    """Lines of `path` that touch `attribute` (as `x.attribute`)."""
    tree = ast.parse(path.read_text())
    return [
        node.lineno for node in ast.walk(tree) if isinstance(node, ast.Attribute) and node.attr == attribute
    ]


@pytest.mark.parametrize("attribute", ["wakeups", "notify"])
def test_no_use_case_notifies_the_broker_or_wakes_the_relay_by_hand(attribute: str) -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "ordergate" / "usecases").glob("*.py"))
        if path.name != "services.py" and (lines := calls_in(path, attribute))
    }

    assert found == {}, "the unit of work does this after its commit"


def test_only_the_store_touches_a_session() -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "ordergate").rglob("*.py"))
        if "store" not in path.relative_to(ROOT / "ordergate").parts[:1]
        and (lines := calls_in(path, "session"))
    }

    assert found == {}, "use the unit of work's verbs (save, remove, flush) or a repository's"
