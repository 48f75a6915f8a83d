"""Inventory webhooks from Katana: verified over the raw body, retries taken once, nothing lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from ordergate.bootstrap import SANDBOX_WEBHOOK_SECRET, Sandboxes
from ordergate.connectors.erp.katana import KatanaErp
from ordergate.connectors.http import UpstreamPolicy
from ordergate.sandbox.katana import sign
from ordergate.usecases.inventory import WEBHOOK_RETRY_WINDOW, already_taken, take_erp_webhook
from ordergate.usecases.services import Services


def delivery(sandboxes: Sandboxes, sku: str) -> bytes:
    assert sandboxes.katana is not None
    variant = sandboxes.katana.variant_for(sku)
    payload = {
        "resource_type": "current_inventory",
        "action": "current_inventory.product_updated",
        "webhook_id": 1,
        "object": {
            "id": str(variant.id),
            "status": "UPDATED",
            "href": f"https://api.katanamrp.com/v1/variants/{variant.id}",
        },
    }
    return json.dumps(payload, separators=(",", ":")).encode()


async def post(
    client: httpx.AsyncClient, body: bytes, signature: str | None = None, retry: int = 0
) -> httpx.Response:
    headers = {
        "content-type": "application/json",
        "x-sha2-signature": signature or sign(body, SANDBOX_WEBHOOK_SECRET),
    }
    if retry:
        headers["x-katana-retry-num"] = str(retry)
    return await client.post("/webhooks/katana", content=body, headers=headers)


async def on_hand(services: Services, sku: str, code: str) -> int:
    async with services.store.read() as uow:
        location = next(loc for loc in await uow.catalog.locations() if loc.code == code)
        positions = await uow.inventory.positions([sku])
    return next(p.on_hand for p in positions if p.location_id == location.id)


def change_quietly(sandboxes: Sandboxes, sku: str, code: str, units: int) -> None:
    """Change the ERP's count without it telling us (so only our own deliveries do)."""
    sandbox = sandboxes.katana
    assert sandbox is not None
    sandbox.inventory[(sandbox.variant_for(sku).id, sandbox.locations[code])] = Decimal(units)


async def test_a_signed_notice_re_reads_the_stock(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    change_quietly(sandboxes, "KETTLE-STEEL", "DC-EWR", 3)

    response = await post(client, delivery(sandboxes, "KETTLE-STEEL"))

    assert response.status_code == 200
    assert response.json() == {"status": "processed", "skus": ["KETTLE-STEEL"]}
    assert await on_hand(services, "KETTLE-STEEL", "DC-EWR") == 3


@pytest.mark.warmed  # nothing stored may change: stock read at start, not meanwhile
async def test_a_tampered_or_foreign_signature_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    body = delivery(sandboxes, "KETTLE-STEEL")
    before = await on_hand(services, "KETTLE-STEEL", "DC-EWR")
    change_quietly(sandboxes, "KETTLE-STEEL", "DC-EWR", 1)

    tampered = await post(
        client, body.replace(b"UPDATED", b"UPDATEX"), signature=sign(body, SANDBOX_WEBHOOK_SECRET)
    )
    foreign = await post(client, body, signature=sign(body, "someone-elses-secret"))
    reserialised = await post(
        client, json.dumps(json.loads(body)).encode(), signature=sign(body, SANDBOX_WEBHOOK_SECRET)
    )

    assert [r.status_code for r in (tampered, foreign, reserialised)] == [401, 401, 401]
    assert tampered.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert await on_hand(services, "KETTLE-STEEL", "DC-EWR") == before


async def test_a_signed_body_that_is_not_a_notice_is_a_400(client: httpx.AsyncClient) -> None:
    body = b"not json at all"

    response = await post(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MALFORMED_PAYLOAD"


async def test_a_retry_of_a_delivery_already_taken_in_is_a_duplicate(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    body = delivery(sandboxes, "KETTLE-STEEL")
    first = await post(client, body)
    change_quietly(sandboxes, "KETTLE-STEEL", "DC-EWR", 2)

    retried = await post(client, body, retry=1)

    assert first.json()["status"] == "processed"
    assert retried.json() == {"status": "duplicate", "skus": []}


async def test_a_later_change_with_identical_bytes_is_still_taken_in(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    body = delivery(sandboxes, "KETTLE-STEEL")
    await post(client, body)
    change_quietly(sandboxes, "KETTLE-STEEL", "DC-EWR", 9)

    again = await post(client, body)  # Katana's notices carry no id: same variant, same bytes

    assert again.json()["status"] == "processed"
    assert await on_hand(services, "KETTLE-STEEL", "DC-EWR") == 9


async def test_the_same_delivery_three_times_at_once_has_one_outcome(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    change_quietly(sandboxes, "KETTLE-STEEL", "DC-EWR", 4)
    body = delivery(sandboxes, "KETTLE-STEEL")

    responses = await asyncio.gather(*(post(client, body, retry=n) for n in range(3)))

    assert all(r.status_code == 200 for r in responses)
    assert await on_hand(services, "KETTLE-STEEL", "DC-EWR") == 4


async def test_the_retry_of_a_refused_delivery_is_taken_though_identical_bytes_were_taken_before(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    """Katana's notices carry no id, so a change to a variant announced twice sends the same
    bytes twice. The first was taken in; the second came while the ERP could not be read and was
    answered 503. Its retry announces a change nobody has read: it is not a duplicate."""
    body = delivery(sandboxes, "KETTLE-STEEL")
    taken = await post(client, body)
    change_quietly(sandboxes, "KETTLE-STEEL", "DC-EWR", 5)
    refused = await while_the_erp_is_down(services, post(client, body))

    retried = await post(client, body, retry=1)

    assert (taken.status_code, refused.status_code) == (200, 503)
    assert retried.json()["status"] == "processed"
    assert await on_hand(services, "KETTLE-STEEL", "DC-EWR") == 5


def test_a_retry_repeats_a_taken_delivery_unless_one_with_its_bytes_came_after_it() -> None:
    """The race seen live: a notice is being read when an identical one (a later change) comes,
    finds the ERP over its rate limit and is refused; the first commits its record after. The
    refused one's retry is read: the first's read began before its change."""
    t = datetime(2026, 12, 8, 2, 18, 51, tzinfo=UTC)
    later = t + timedelta(minutes=1)
    assert not already_taken(None, t, later)  # never taken
    assert already_taken(t, t, later)  # taken; its answer lost
    assert not already_taken(t, t + timedelta(seconds=0.1), later)  # one came after, not taken
    assert already_taken(t + timedelta(seconds=0.1), t, later)  # taken after the last came
    assert not already_taken(t, t, t + WEBHOOK_RETRY_WINDOW + timedelta(seconds=1))


async def test_the_retry_of_a_delivery_whose_processing_broke_off_is_read(
    services: Services, sandboxes: Sandboxes
) -> None:
    """Not a 503 this time: the process handling it stopped (a deploy) or failed in a way the
    endpoint did not expect. An identical notice taken in earlier does not make its retry a
    duplicate."""
    body = delivery(sandboxes, "KETTLE-STEEL")
    headers = {"x-sha2-signature": sign(body, SANDBOX_WEBHOOK_SECRET)}
    await take_erp_webhook(services, body, headers)
    erp = services.erp
    assert erp is not None
    change_quietly(sandboxes, "KETTLE-STEEL", "DC-EWR", 7)

    async def broken(skus: object) -> list[object]:
        raise RuntimeError("the process stopped here")

    erp.stock_levels = broken  # type: ignore[method-assign,assignment]
    try:
        with pytest.raises(RuntimeError):
            await take_erp_webhook(services, body, headers)
    finally:
        del erp.stock_levels
    retried = await take_erp_webhook(services, body, headers | {"x-katana-retry-num": "1"})

    assert (retried.duplicate, retried.skus) == (False, ("KETTLE-STEEL",))
    assert await on_hand(services, "KETTLE-STEEL", "DC-EWR") == 7


async def while_the_erp_is_down(services: Services, posting: Awaitable[httpx.Response]) -> httpx.Response:
    working = services.erp
    assert working is not None
    down = KatanaErp.create(
        "http://katana.down",
        "token",
        SANDBOX_WEBHOOK_SECRET,
        transport=httpx.MockTransport(lambda _: httpx.Response(503)),
        policy=UpstreamPolicy(name="katana-down", base_url="http://katana.down", attempts=1),
    )
    await down.resolve_skus([])  # nothing cached, nothing asked
    services.erp = down
    try:
        return await posting
    finally:
        services.erp = working
        await down.aclose()


async def test_when_the_erp_cannot_be_read_the_delivery_is_not_acknowledged(
    client: httpx.AsyncClient, services: Services, sandboxes: Sandboxes
) -> None:
    body = delivery(sandboxes, "KETTLE-STEEL")
    refused = await while_the_erp_is_down(services, post(client, body))
    change_quietly(sandboxes, "KETTLE-STEEL", "DC-EWR", 6)

    retried = await post(client, body, retry=1)

    assert refused.status_code == 503
    assert retried.json()["status"] == "processed"  # not mistaken for a duplicate
    assert await on_hand(services, "KETTLE-STEEL", "DC-EWR") == 6
