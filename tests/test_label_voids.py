"""Shipping labels no work took are voided at the carrier for their refund: work cancelled
while its label was being bought, and a concurrent repeat that bought a second label (UPS has no
purchase to look up). Return labels' voids are in tests/test_return_labels.py."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import Sandboxes
from ordergate.connectors.carriers.base import Carrier, Label
from ordergate.models.outbox import LABEL_VOID
from ordergate.usecases import labels
from ordergate.usecases.services import Services
from tests.test_cancel import cancel
from tests.test_return_labels import Meanwhile, relay
from tests.test_shipping import AGENT, packed, ship

pytestmark = pytest.mark.no_relay


class Together(Meanwhile):
    """A carrier that sells nothing until `callers` purchases are in flight at once."""

    def __init__(self, carrier: Carrier, callers: int) -> None:
        super().__init__(carrier, self._all_in)
        self._callers, self._in = callers, 0
        self._ready = asyncio.Event()

    async def _all_in(self) -> None:
        self._in += 1
        if self._in >= self._callers:
            self._ready.set()
        await asyncio.wait_for(self._ready.wait(), timeout=10)


async def void_tasks(services: Services) -> list[Any]:
    async with services.store.read() as uow:
        return await uow.outbox.by_kind(LABEL_VOID)


async def test_a_label_bought_while_its_work_was_cancelled_is_voided(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order, fo_id = await packed(client)

    async def cancelled() -> None:
        assert (await cancel(client, AGENT, orderId=order["id"]))["userErrors"] == []

    services.carriers["shipengine"] = Meanwhile(services.carriers["shipengine"], cancelled)
    shipped = await ship(client, fo_id)
    await relay(services)
    await relay(services)  # voided once

    assert [e["code"] for e in shipped["userErrors"]] == ["INVALID_TRANSITION"]
    assert sandboxes.shipengine is not None
    [label] = sandboxes.shipengine.labels.values()
    assert label.voided_at is not None
    [task] = await void_tasks(services)
    assert (task.result, task.payload["carrier"]) == (f"voided {label.tracking_number}", "shipengine")
    assert task.done_at is not None


async def test_two_ships_at_once_with_ups_record_one_shipment_and_void_the_other_label(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    _, fo_id = await packed(client)
    services.carriers["ups"] = Together(services.carriers["ups"], callers=2)

    first, second = await asyncio.gather(
        ship(client, fo_id, carrier="ups"), ship(client, fo_id, carrier="ups")
    )
    await relay(services)

    assert first["userErrors"] == second["userErrors"] == []
    assert first["shipment"]["trackingNumber"] == second["shipment"]["trackingNumber"]  # one shipment
    assert sandboxes.ups is not None
    assert sandboxes.ups.labels_purchased == 2
    kept = sandboxes.ups.parcels[first["shipment"]["trackingNumber"]]
    [other] = [parcel for parcel in sandboxes.ups.parcels.values() if parcel is not kept]
    assert (kept.voided, other.voided) == (False, True)
    [task] = await void_tasks(services)
    assert task.result == f"voided {other.tracking_number}"


async def test_a_label_a_parcel_travelled_on_is_not_voided_and_the_task_says_why(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    order, fo_id = await packed(client)
    assert sandboxes.shipengine is not None
    carrier = sandboxes.shipengine

    async def cancelled_after_pickup() -> None:
        await cancel(client, AGENT, orderId=order["id"])

    services.carriers["shipengine"] = Meanwhile(services.carriers["shipengine"], cancelled_after_pickup)
    await ship(client, fo_id)
    [label] = carrier.labels.values()
    label.step = 1  # the parcel went out with the label before anyone saw the cancellation
    await relay(services)

    assert label.voided_at is None
    [task] = await void_tasks(services)
    assert task.result == "kept: the carrier tracks it as ACCEPTED"


async def test_a_void_that_cannot_be_queued_is_logged_with_what_voids_it_by_hand(
    services: Services, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    label = Label(
        carrier="ups",
        service="03",
        tracking_number="1ZA1B2C30300000099",
        label_url="https://labels.example/1.gif",
        cost=Decimal("9.00"),
        currency="USD",
        carrier_shipment_id="1ZA1B2C30300000099",
        carrier_label_id="1ZA1B2C30300000099",
    )

    def down() -> Any:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(services.store, "write", down)
    await labels.promise_void_now(services, label, why="the work moved on")  # does not raise

    [record] = [r for r in caplog.records if r.name == "ordergate.labels"]
    assert "1ZA1B2C30300000099" in record.getMessage()
    assert record.exc_info is not None
